"""Shot detection through the per-media cache: a media file (and range) already scanned with
the same backend and thresholds is not decoded again."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..media.cache import MediaCache
from ..media.frame_source import FrameSource
from ..media.identity import media_key
from .detect import Detection, choose_backend, detect_shots

__all__ = ["detect_cached"]

VERSION = 3   # bump when the detectors change what they find


def detect_cached(source: FrameSource, cache: MediaCache, backend: str = "auto", *,
                  settings: dict[str, Any] | None = None, start: int | None = None,
                  stop: int | None = None,
                  progress: Callable[[int, int], None] | None = None) -> tuple[Detection, bool]:
    """``(detection, came from the cache)``; counts a hit or a miss on ``cache``."""
    name, reason = choose_backend(backend)
    info = source.info
    first = info.start_frame if start is None else max(start, info.start_frame)
    stop = info.last_frame + 1 if stop is None else min(stop, info.last_frame + 1)
    key = media_key(info)
    entry = {"backend": name, "settings": settings or {}, "range": [first, stop], "version": VERSION}
    stored = cache.load_json(key, "shots", entry)
    if stored is not None:
        cache.hits += 1
        detection = Detection.from_wire(stored)
        detection.reason = f"{reason} (cached)"
        return detection, True
    cache.misses += 1
    detection = detect_shots(source, name, settings=settings, start=first, stop=stop,
                             progress=progress)
    detection.reason = reason
    cache.save_json(key, "shots", entry, detection.to_wire())
    return detection, False
