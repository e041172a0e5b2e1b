"""Moviola's client side: what every host bridge, the panel and the command line load.

Depends only on pyzmq, msgpack and OpenTimelineIO, and runs on Python 3.9+, so it imports
inside a host's own Python without a GPU stack. The engine lives in ``moviola.engine``.
"""

from ._version import PROTOCOL_VERSION, __version__
from .client import EngineClient, Event, JobHandle
from .errors import MoviolaError

__all__ = ["EngineClient", "Event", "JobHandle", "MoviolaError", "PROTOCOL_VERSION", "__version__"]
