"""Frames at a small working size, streamed in bounded memory.

Shot detection and match-cut features look at tiny frames (48x27 to 128x72). For a video the
decoder's own frame is scaled by swscale straight from YUV, which skips the full-size RGB
conversion that :meth:`FrameSource.read` does and is several times faster; image sequences
go through :meth:`FrameSource.read` and :func:`moviola.engine.imaging.display.display_rgb8`. Rotation
metadata is applied as the media readers do.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import numpy as np

from ..imaging.display import at_size, display_rgb8
from ..media.frame_source import FrameSource
from ..media.video import VideoReader

__all__ = ["small_frames", "small_frame"]


def small_frame(source: FrameSource, n: int, size: tuple[int, int]) -> np.ndarray:
    """Frame ``n`` as an HxWx3 uint8 RGB array of ``size`` (width, height), display-oriented."""
    width, height = size
    if isinstance(source, VideoReader):
        quarter_turns = (source.info.rotation // 90) % 4
        # Scale to the stored orientation, then turn: the result has the display size.
        w, h = (height, width) if quarter_turns % 2 else (width, height)
        rgb = source.read_frame(n).reformat(width=w, height=h, format="rgb24",
                                            interpolation="AREA").to_ndarray()
        return np.ascontiguousarray(np.rot90(rgb, quarter_turns)) if quarter_turns else rgb
    return at_size(display_rgb8(source.read(n)), (width, height))


def small_frames(source: FrameSource, size: tuple[int, int], frames: Iterable[int] | None = None
                 ) -> Iterator[tuple[int, np.ndarray]]:
    """Yield ``(n, small RGB frame)`` for ``frames`` (increasing numbers; default: all).

    Increasing numbers let the video reader keep its decoder running and seek only across
    gaps larger than a GOP, so sparse samples cost little more than the frames themselves.
    """
    numbers = range(source.first_frame, source.last_frame + 1) if frames is None else frames
    for n in numbers:
        yield n, small_frame(source, n, size)
