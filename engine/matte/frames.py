"""Plates as the matte code needs them: display-referred 8-bit RGB at a working resolution,
a grey guide at full resolution, and frames read backwards in bounded memory.

Models run on a working resolution (the longest side at most ``max_side``); mattes are
refined and written at the plate's full resolution.
"""

from __future__ import annotations

from collections.abc import Iterator

import cv2
import numpy as np

from ..imaging.display import at_size, display_rgb8, working_size
from ..media.frame_source import FrameSource

__all__ = ["to_working", "guide_gray", "reverse_frames"]


def to_working(image: np.ndarray, max_side: int) -> np.ndarray:
    """The plate as 8-bit RGB at the working resolution."""
    rgb = display_rgb8(image)
    h, w = rgb.shape[:2]
    return at_size(rgb, working_size(w, h, max_side))


def guide_gray(image: np.ndarray) -> np.ndarray:
    """Full-resolution luminance 0..1 (float32), the guide for edge refinement."""
    rgb = display_rgb8(image)
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float32) * (1.0 / 255.0)


def reverse_frames(source: FrameSource, first: int, last: int, max_side: int,
                   chunk: int = 24) -> Iterator[tuple[int, np.ndarray]]:
    """Working-resolution frames ``last, last-1, ..., first``.

    Decoding runs forward, so frames are read in chunks of ``chunk`` (one seek each) and handed
    out backwards: memory holds one chunk of working-resolution frames, whatever the length.
    """
    stop = last + 1
    while stop > first:
        start = max(first, stop - chunk)
        block = [(n, to_working(img, max_side)) for n, img in source.frames(start, stop)]
        yield from reversed(block)
        stop = start


def forward_frames(source: FrameSource, first: int, last: int,
                   max_side: int) -> Iterator[tuple[int, np.ndarray]]:
    """Working-resolution frames ``first .. last``, streamed."""
    for n, img in source.frames(first, last + 1):
        yield n, to_working(img, max_side)
