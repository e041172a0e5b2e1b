"""Scale frames: working resolutions for models, smaller proxies. The one resize of the engine.

OpenCV does the work: area averaging when shrinking (no aliasing; an exact 2x shrink is the
mean of each 2x2 block), bilinear when enlarging (no overshoot, so mattes stay in 0..1 and
integers do not clip). A shrink along one axis and a stretch along the other is done as two
passes. For a 1080p RGB frame to 960x540, ``cv2.resize`` took 0.9 ms (8-bit) and 1.3 ms
(16-bit) where swscale took 20 and 29 ms, and 5.8 ms for float where OpenImageIO took
309 ms (benchmarks/resize_bench.py, one process, a busy 2-core machine).

uint8, uint16, float16, float32 and float64 frames keep their type; any number of channels.
Channels are scaled independently, which is right for premultiplied (associated) alpha, the
EXR convention; pass ``straight_alpha=True`` for unassociated alpha (PNG) so that colour
under transparent pixels does not bleed into the edges.
"""

from __future__ import annotations

import cv2
import numpy as np

__all__ = ["fit_width", "resize"]

_NATIVE = (np.dtype(np.uint8), np.dtype(np.uint16), np.dtype(np.float32), np.dtype(np.float64))
_CV_MAX_CHANNELS = 4          # scale wider stacks in groups of four


def fit_width(image: np.ndarray, max_width: int) -> np.ndarray:
    """Scale down (never up) so the width is at most ``max_width``, keeping the aspect ratio.

    Heights are rounded to even numbers, which video encoders of these frames need.
    """
    height, width = image.shape[:2]
    if max_width <= 0 or width <= max_width:
        return image
    new_w = int(max_width)
    new_h = max(2, int(round(height * new_w / width / 2)) * 2)
    return resize(image, new_w, new_h)


def resize(image: np.ndarray, width: int, height: int, *,
           straight_alpha: bool = False) -> np.ndarray:
    """``image`` (HxW or HxWxC) at ``width`` x ``height``, same dtype and channel layout.

    ``straight_alpha``: the last of 2 or 4 channels is unassociated alpha; colour is
    premultiplied before scaling and divided back after.
    """
    if width <= 0 or height <= 0:
        raise ValueError(f"resize to {width}x{height}: both sides must be positive")
    a = np.asarray(image)
    if a.ndim not in (2, 3):
        raise ValueError(f"resize takes HxW or HxWxC arrays, not shape {a.shape}")
    if a.dtype not in _NATIVE and a.dtype != np.float16:
        raise ValueError(f"resize takes uint8, uint16 or float frames, not {a.dtype}")
    if a.shape[1] == width and a.shape[0] == height:
        return a
    if straight_alpha and a.ndim == 3 and a.shape[2] in (2, 4):
        return _straight_alpha(a, width, height)
    work = a.astype(np.float32) if a.dtype == np.float16 else a
    if work.ndim == 3 and work.shape[2] > _CV_MAX_CHANNELS:
        out = np.concatenate([_scale(work[..., i:i + _CV_MAX_CHANNELS], width, height)
                              for i in range(0, work.shape[2], _CV_MAX_CHANNELS)], axis=2)
    else:
        out = _scale(work, width, height)
    return out.astype(a.dtype) if out.dtype != a.dtype else out


def _scale(a: np.ndarray, width: int, height: int) -> np.ndarray:
    """cv2.resize, area when shrinking and linear when enlarging, keeping the channel axis."""
    src_h, src_w = a.shape[:2]
    a = np.ascontiguousarray(a)
    shrink_w, shrink_h = width <= src_w, height <= src_h
    if shrink_w and shrink_h:
        out = cv2.resize(a, (width, height), interpolation=cv2.INTER_AREA)
    elif not shrink_w and not shrink_h:
        out = cv2.resize(a, (width, height), interpolation=cv2.INTER_LINEAR)
    else:
        # Shrink one axis by area first, then stretch the other.
        mid = (width, src_h) if shrink_w else (src_w, height)
        out = cv2.resize(a, mid, interpolation=cv2.INTER_AREA)
        out = cv2.resize(np.ascontiguousarray(_channels_like(out, a)), (width, height),
                         interpolation=cv2.INTER_LINEAR)
    return _channels_like(out, a)


def _channels_like(out: np.ndarray, like: np.ndarray) -> np.ndarray:
    """OpenCV drops a channel axis of length 1: put it back."""
    return out[..., None] if like.ndim == 3 and out.ndim == 2 else out


def _straight_alpha(a: np.ndarray, width: int, height: int) -> np.ndarray:
    scale = {np.dtype(np.uint8): 255.0, np.dtype(np.uint16): 65535.0}.get(a.dtype, 1.0)
    f = a.astype(np.float32) / scale
    alpha = f[..., -1:]
    f[..., :-1] *= alpha
    out = _scale(f, width, height)
    covered = out[..., -1:]
    with np.errstate(divide="ignore", invalid="ignore"):
        out[..., :-1] = np.where(covered > 0, out[..., :-1] / covered, 0.0)
    if scale != 1.0:
        return np.clip(np.round(out * scale), 0, scale).astype(a.dtype)
    return out.astype(a.dtype)
