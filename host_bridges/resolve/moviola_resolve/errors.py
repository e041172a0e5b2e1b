"""Errors the Resolve bridge raises. They share Moviola's root, so a caller catches one type.

None of them travels on the wire: they describe the host, not the engine.
"""

from __future__ import annotations

from moviola.plugin.errors import InvalidParamsError, MoviolaError

__all__ = ["ResolveUnavailableError", "HostWriteError", "NothingSelectedError"]


class ResolveUnavailableError(MoviolaError, ConnectionError):
    """No Resolve to script: the module is not importable, external scripting is off or not in
    this edition, or no project or timeline is open. The message says what to do instead."""
    code = "host_unavailable"


class HostWriteError(MoviolaError, RuntimeError):
    """Resolve answered a write but reading it back shows it did not take; the message names
    the write."""
    code = "host_write_not_applied"


class NothingSelectedError(InvalidParamsError):
    """The chosen selection holds no clip with media."""
