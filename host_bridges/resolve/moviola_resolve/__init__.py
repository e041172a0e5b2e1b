"""Moviola inside DaVinci Resolve: read the selected clips, run a job on the local engine,
bring the result back as Resolve items (sequences in a "Moviola" bin on a new track aligned
to their source, markers, a review timeline).

Imports only the standard library and ``moviola.plugin`` (pyzmq, msgpack, OTIO): it runs in
the Python Resolve scripts with. Entry points: :func:`run_job` (from a script given a live
``resolve``), :func:`connect_external` (from outside Resolve, Studio only).
"""

from __future__ import annotations

from .connect import INSTEAD, Capabilities, capabilities, connect_external, current_timeline
from .errors import HostWriteError, NothingSelectedError, ResolveUnavailableError
from .run import JOBS, Report, run_job
from .selection import PICKS, SelectedItem, pick

__all__ = ["INSTEAD", "JOBS", "PICKS", "Capabilities", "HostWriteError", "NothingSelectedError",
           "Report", "ResolveUnavailableError", "SelectedItem", "capabilities", "connect_external",
           "current_timeline", "pick", "run_job"]
