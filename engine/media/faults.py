"""A fault-injection hook for output writes, off unless ``$MOVIOLA_FAULT_WRITE`` is set.

Some failures cannot be made on demand (an I/O error from a disk, a codec library that fails
half-way). Tests and support set ``MOVIOLA_FAULT_WRITE`` in the engine's environment:

- ``ENOSPC``, ``EDQUOT``, ``EFBIG``, ``EIO`` (any errno name): every output file write fails
  with that error, as the operating system would report it;
- ``codec``: every image encode fails, as if the codec library had reported an error;
- ``<fault>:<n>``: the first ``n`` writes (or encodes) succeed, the later ones fail.

The variable is read once per process. Writes of caches and timelines are not affected.
"""

from __future__ import annotations

import errno
import os
import threading

__all__ = ["check_write", "check_encode", "FaultError"]

_VARIABLE = "MOVIOLA_FAULT_WRITE"


class FaultError(RuntimeError):
    """An injected codec failure."""


class _Plan:
    def __init__(self, text: str) -> None:
        name, _, after = text.strip().partition(":")
        self.kind = name.strip()
        self.after = int(after) if after.strip().isdigit() else 0
        self.errno = getattr(errno, self.kind.upper(), None) if self.kind != "codec" else None
        self.count = 0
        self.lock = threading.Lock()

    def due(self) -> bool:
        with self.lock:
            self.count += 1
            return self.count > self.after


_plan: _Plan | None = None
_loaded = False


def _current() -> _Plan | None:
    global _plan, _loaded
    if not _loaded:
        text = os.environ.get(_VARIABLE, "").strip()
        _plan = _Plan(text) if text else None
        _loaded = True
    return _plan


def check_write(path: str) -> None:
    """Raise the injected ``OSError`` for a write of ``path``, when one is planned."""
    plan = _current()
    if plan is not None and plan.errno is not None and plan.due():
        raise OSError(plan.errno, os.strerror(plan.errno), path)


def check_encode(name: str) -> None:
    """Raise :class:`FaultError` for an encode of ``name``, when one is planned."""
    plan = _current()
    if plan is not None and plan.kind == "codec" and plan.due():
        raise FaultError(f"injected codec failure ({_VARIABLE}) while encoding {name}")
