"""What a parallax map measured, and how its holes are filled.

A pixel is *observable* when its translational parallax is at least
``MIN_PIXEL_PARALLAX_PX`` (its expected relative error is ``FLOW_NOISE_PX`` over that):
near the focus of expansion of a forward move, or far away, it is less. Holes are filled from
the neighbours weighted by :func:`fill_weight`, and a filled value is kept within the error of
any measurement there (:func:`within_measurement`).
"""

from __future__ import annotations

import numpy as np

from .epipolar import FLOW_NOISE_PX

__all__ = ["observable", "within_measurement", "fill_weight", "MIN_PIXEL_PARALLAX_PX"]

RELATIVE_ERROR = 0.05          # expected error (share of the median) where the weight is 1/2
FILL_BOUND_SIGMAS = 1.0        # a filled value stays within this many errors of a measurement
MIN_PIXEL_PARALLAX_PX = 2.0    # translational parallax a pixel needs for its depth to count


def observable(q: np.ndarray, precision: np.ndarray) -> np.ndarray:
    """Pixels whose depth the camera's translation shows: measured, with at least
    ``MIN_PIXEL_PARALLAX_PX`` of translational parallax (the expected relative error of q is
    FLOW_NOISE_PX over that parallax). Near the focus of expansion, and far away, it is less."""
    measured = precision > 0
    error = np.where(measured, 1.0 / np.sqrt(np.maximum(precision, 1e-30)), np.inf)
    return measured & (error <= np.maximum(q, 0.0) * (FLOW_NOISE_PX / MIN_PIXEL_PARALLAX_PX))


def within_measurement(filled: np.ndarray, q: np.ndarray, precision: np.ndarray) -> np.ndarray:
    """A filled map kept within the measurement wherever there is one: a pixel with too little
    parallax to trust still bounds its depth (far points near the focus of expansion are not
    as near as the objects around them)."""
    measured = precision > 0
    sigma = FILL_BOUND_SIGMAS / np.sqrt(np.maximum(precision, 1e-30))
    bounded = np.clip(filled, q - sigma, q + sigma)
    return np.where(measured, bounded, filled).astype(np.float32)


def fill_weight(q: np.ndarray, precision: np.ndarray) -> np.ndarray:
    """0..1 from the expected error as a share of the map's median (5 % gives 1/2)."""
    measured = precision > 0
    median = float(np.median(q[measured])) if np.any(measured) else 0.0
    if median <= 0:
        return np.zeros(q.shape, np.float32)
    error = np.minimum(1.0 / np.sqrt(np.maximum(precision, 1e-30)) / median, 1e6)
    return np.where(measured, 1.0 / (1.0 + (error / RELATIVE_ERROR) ** 2), 0.0).astype(np.float32)
