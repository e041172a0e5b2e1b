"""Plates as the depth code sees them: 8-bit display RGB, at full and working resolution.

Models and optical flow want display-referred 8-bit RGB; plates arrive as 8/16-bit video or
image-sequence frames, or scene-linear floats (EXR). This is the one conversion.
"""

from __future__ import annotations

import numpy as np

from ..media.resize import resize

__all__ = ["to_rgb8", "working_frame"]


def to_rgb8(plate: np.ndarray) -> np.ndarray:
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


def working_frame(rgb8: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """The frame at working resolution ``shape`` = (width, height), area-filtered."""
    width, height = shape
    if rgb8.shape[1] == width and rgb8.shape[0] == height:
        return rgb8
    return np.ascontiguousarray(resize(rgb8, width, height))
