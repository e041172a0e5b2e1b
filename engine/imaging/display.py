"""Plates as analysis code sees them: display-referred 8-bit RGB, at a working size.

Models, optical flow and detectors want 8-bit RGB roughly as the artist sees it; plates
arrive as 8/16-bit video or image-sequence frames, or scene-linear floats (EXR). This is the
one conversion; outputs are still written at the plate's full resolution and precision.
"""

from __future__ import annotations

import numpy as np

from ..media.resize import resize

__all__ = ["display_rgb8", "working_size", "at_size"]


def display_rgb8(plate: np.ndarray) -> np.ndarray:
    """HxWx3 uint8 RGB from an HxW or HxWxC uint8/uint16/float plate (alpha dropped, grey
    repeated; floats are taken as scene-linear and encoded with a 1/2.2 gamma)."""
    a = np.asarray(plate)
    if a.ndim == 2:
        a = a[..., None]
    a = a[..., :3] if a.shape[2] >= 3 else np.repeat(a[..., :1], 3, axis=2)
    if a.dtype == np.uint8:
        return np.ascontiguousarray(a)
    if a.dtype == np.uint16:
        return np.ascontiguousarray((a >> 8).astype(np.uint8))
    linear = np.clip(np.nan_to_num(a.astype(np.float32)), 0.0, 1.0)
    return np.round(linear ** (1 / 2.2) * 255.0).astype(np.uint8)


def working_size(width: int, height: int, max_side: int) -> tuple[int, int]:
    """(w, h) with the longest side at most ``max_side`` (never upscaled); 0 keeps full size."""
    longest = max(width, height)
    if max_side <= 0 or longest <= max_side:
        return width, height
    scale = max_side / longest
    return max(8, int(round(width * scale))), max(8, int(round(height * scale)))


def at_size(rgb8: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """The frame at ``size`` = (width, height), area-filtered; unchanged when it already is."""
    width, height = size
    if rgb8.shape[1] == width and rgb8.shape[0] == height:
        return rgb8
    return np.ascontiguousarray(resize(rgb8, width, height))
