"""Hidden temp names owned by one process: ``.<name>.<tmp|staging|old>-<pid>-<8 hex>[.<ext>]``.

Every atomic write (the engine's frames and caches, the result timelines written here) names
its temp file this way, so a sweep of a folder can tell a dead process's leftovers (remove
them) from a live one's (leave them). Pure Python 3.9+: the client writes timelines too.
"""

from __future__ import annotations

import os
import re
import uuid

__all__ = ["TEMP_NAME", "temp_name"]

#: Matches a name made by :func:`temp_name`; groups ``name``, ``what`` and ``pid``.
TEMP_NAME = re.compile(r"^\.(?P<name>.+)\.(?P<what>tmp|staging|old)-(?P<pid>\d+)-[0-9a-f]{8}"
                       r"(?:\.[A-Za-z0-9]+)?$")


def temp_name(name: str, what: str = "tmp", suffix: str = "") -> str:
    """A hidden name beside ``name`` owned by this process (``what``: tmp, staging, old);
    ``suffix`` (e.g. ``.exr``) keeps writers that pick a format by extension happy."""
    return f".{name}.{what}-{os.getpid()}-{uuid.uuid4().hex[:8]}{suffix}"
