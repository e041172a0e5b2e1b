"""Fill the holes of a sparse map from its trusted neighbours (push-pull).

Used where a backend could not measure a pixel (occlusions, no texture, the epipole): the
map and its confidence are averaged down a pyramid, and coarse averages fill in only where
the fine level has too little confidence. Trusted pixels keep their own values.
"""

from __future__ import annotations

import cv2
import numpy as np

__all__ = ["fill"]

# A pixel whose confidence reaches 1/SATURATION keeps its own value.
SATURATION = 4.0


def fill(values: np.ndarray, confidence: np.ndarray) -> np.ndarray:
    """``values`` (HxW float) with low-confidence pixels replaced by a confidence-weighted
    average of their surroundings, from as far away as needed. ``confidence`` is 0..1."""
    v = np.where(confidence > 0, values, 0).astype(np.float32)
    w = np.clip(confidence, 0.0, 1.0).astype(np.float32)
    if not np.any(w > 0):
        return np.zeros_like(v)
    return _push_pull(v * w, w)


def _push_pull(vw: np.ndarray, w: np.ndarray) -> np.ndarray:
    h, wd = w.shape
    here = vw / np.maximum(w, 1e-12)
    if min(h, wd) <= 2:
        total = float(w.sum())
        return np.full_like(vw, float(vw.sum()) / total if total > 0 else 0.0)
    size = ((wd + 1) // 2, (h + 1) // 2)
    coarse = _push_pull(cv2.resize(vw, size, interpolation=cv2.INTER_AREA),
                        cv2.resize(w, size, interpolation=cv2.INTER_AREA))
    up = cv2.resize(coarse, (wd, h), interpolation=cv2.INTER_LINEAR)
    alpha = np.clip(w * SATURATION, 0.0, 1.0)
    return alpha * here + (1.0 - alpha) * up
