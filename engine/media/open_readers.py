"""Readers kept open between interactive requests, so a click or a scrub on the same clip
neither probes nor re-indexes the media again."""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from typing import Any

from .frame_source import FrameSource
from .source import open_source

__all__ = ["OpenReaders", "OPEN_READERS", "media_stamp"]


class OpenReaders:
    """Open readers by media path (a reader decodes for one thread at a time: each has a lock)."""

    def __init__(self, capacity: int = 4) -> None:
        self.capacity = capacity
        self._items: OrderedDict[tuple, tuple[FrameSource, threading.Lock]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, path: str, stamp: Any) -> tuple[FrameSource, threading.Lock]:
        """An open reader of ``path`` and the lock to hold while reading from it."""
        key = (path, stamp)
        with self._lock:
            entry = self._items.get(key)
            if entry is None:
                entry = (open_source(path), threading.Lock())
                self._items[key] = entry
                while len(self._items) > self.capacity:
                    _, (old, old_lock) = self._items.popitem(last=False)
                    with old_lock:
                        old.close()
            self._items.move_to_end(key)
        return entry


def media_stamp(path: str) -> Any:
    """Changes when the file (or a sequence's folder) changes: part of an open reader's key."""
    probe = path
    if not os.path.exists(probe):
        probe = os.path.dirname(path)  # a sequence pattern: its folder changes when files do
    try:
        return os.stat(probe).st_mtime_ns
    except OSError:
        return None


# One per engine: interactive requests (matte previews, frame views) share open readers.
OPEN_READERS = OpenReaders()
