"""Frames at a small working size, streamed in bounded memory.

Shot detection and match-cut features look at tiny frames (48x27 to 128x72). For a video the
decoder's own frame is scaled by swscale straight from YUV, which skips the full-size RGB
conversion that :meth:`FrameSource.read` does and is several times faster; image sequences
go through :meth:`FrameSource.read` and :func:`moviola.engine.media.resize.resize`. Rotation
metadata is applied as the media readers do.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import numpy as np

from ..media.frame_source import FrameSource
from ..media.resize import resize
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
    image = source.read(n)
    if image.ndim == 2:
        image = np.repeat(image[..., None], 3, axis=2)
    image = image[..., :3]
    if image.dtype != np.uint8:
        # Float (EXR) and 16-bit frames: display-referred 0..1 or 0..65535 to 8 bits.
        scale = 255.0 if image.dtype.kind == "f" else 255.0 / np.iinfo(image.dtype).max
        image = np.clip(image.astype(np.float32) * scale + 0.5, 0, 255).astype(np.uint8)
    return resize(np.ascontiguousarray(image), width, height)


def small_frames(source: FrameSource, size: tuple[int, int], frames: Iterable[int] | None = None
                 ) -> Iterator[tuple[int, np.ndarray]]:
    """Yield ``(n, small RGB frame)`` for ``frames`` (increasing numbers; default: all).

    Increasing numbers let the video reader keep its decoder running and seek only across
    gaps larger than a GOP, so sparse samples cost little more than the frames themselves.
    """
    numbers = range(source.first_frame, source.last_frame + 1) if frames is None else frames
    for n in numbers:
        yield n, small_frame(source, n, size)
