"""What a parallax map measured, how its holes are filled, and how far each pixel is trusted.

A pixel is *observable* when its translational parallax is at least
``MIN_PIXEL_PARALLAX_PX`` (its expected relative error is ``FLOW_NOISE_PX`` over that):
near the focus of expansion of a forward move, or far away, it is less. Holes are filled
from a dominant plane where the measured pixels around them lie on one (:mod:`.plane`), else
from the neighbours weighted by :func:`fill_weight`; a filled value is kept within the error
of any measurement there (:func:`within_measurement`).

The confidence is graded (:func:`fill_and_grade`): ``MEASURED_FLOOR`` to 1 on measured
pixels by :func:`measurement_quality`, below ``MEASURED_FLOOR`` on filled ones by what
filled them, 0 on what moves on its own. Ranked by it, the lowest-confidence quarter of a
clip's pixels has 1.8 to 4.5 times the error of the highest on the ray-cast test scenes.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .epipolar import EPIPOLAR_PX, FLOW_NOISE_PX
from .fill import fill
from .plane import PlaneFill, fill_from_planes

__all__ = ["observable", "within_measurement", "fill_weight", "fill_and_grade", "Filled",
           "measurement_quality", "MIN_PIXEL_PARALLAX_PX", "MEASURED_FLOOR"]

RELATIVE_ERROR = 0.05          # expected error (share of the median) where the weight is 1/2
FILL_BOUND_SIGMAS = 1.0        # a filled value stays within this many errors of a measurement
MIN_PIXEL_PARALLAX_PX = 2.0    # translational parallax a pixel needs for its depth to count

# Graded confidence: a measured pixel gets MEASURED_FLOOR..1 by how well it was measured, a
# filled one less than MEASURED_FLOOR by what it was filled from.
MEASURED_FLOOR = 0.5
SPREAD_HALF = 0.05             # estimates of a pixel disagreeing by 5 % halve its confidence
PLANE_FILLED_MAX = 0.4         # filled from a plane its measured neighbours lie on
NEIGHBOUR_FILLED_MAX = 0.25    # filled from its neighbours, next to them
SUPPORT_REACH = 0.05           # share of the short side over which that falls to about 1/3


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


def measurement_quality(q: np.ndarray, precision: np.ndarray, off_line: np.ndarray | None,
                        spread: np.ndarray) -> np.ndarray:
    """0..1 per pixel: how well its depth was measured. The product of its parallax margin
    (``1 - threshold / parallax``: 0 at ``MIN_PIXEL_PARALLAX_PX``, 1/2 at twice that), how close
    its flow lies to its epipolar line (1 on it, 0 at ``EPIPOLAR_PX``; ``off_line`` None: not
    known, counted as on it) and how well the frame's estimates of it agree (1/2 at
    ``SPREAD_HALF``)."""
    sigma = 1.0 / np.sqrt(np.maximum(precision, 1e-30))
    parallax_px = FLOW_NOISE_PX * np.maximum(q, 0.0) / sigma
    margin = np.clip(1.0 - MIN_PIXEL_PARALLAX_PX / np.maximum(parallax_px, 1e-9), 0.0, 1.0)
    on_line = (np.ones(q.shape) if off_line is None
               else np.clip(1.0 - off_line / EPIPOLAR_PX, 0.0, 1.0))
    agree = 1.0 / (1.0 + (spread / SPREAD_HALF) ** 2)
    return np.where(precision > 0, margin * on_line * agree, 0.0).astype(np.float32)


@dataclass
class Filled:
    values: np.ndarray        # the map, measured pixels kept and the rest filled
    confidence: np.ndarray    # 0..1: MEASURED_FLOOR and above where measured, below where filled
    from_plane: np.ndarray    # the filled pixels that took a plane's depth


def fill_and_grade(q: np.ndarray, precision: np.ndarray, sure: np.ndarray,
                   independent: np.ndarray, quality: np.ndarray, planes: bool = True) -> Filled:
    """The frame's map with its holes filled, and its graded confidence.

    ``sure``: the observable pixels not moving on their own (kept as measured). The others are
    filled from their neighbours, weighted by how well each was measured (a low-parallax pixel
    weighs little, an independently moving one nothing), and, where the measured pixels around
    them lie on one of the frame's dominant planes, from that plane instead (unless not
    ``planes``). A filled value stays within the error of any measurement there.
    """
    weight = np.where(independent, 0.0, fill_weight(q, precision))
    neighbours = fill(q, weight)
    from_planes = (fill_from_planes(q, sure, ~sure & ~independent) if planes
                   else PlaneFill.nothing(q.shape))
    values = np.where(from_planes.used, from_planes.values, neighbours)
    values = within_measurement(values, q, np.where(independent, 0, precision))
    # Filled pixels: from a plane, by how many measured pixels around lie on it and how well it
    # fits them; from the neighbours, lower, and the lower the further they are; nothing for a
    # moving object.
    distance = cv2.distanceTransform((~sure).astype(np.uint8), cv2.DIST_L2, 3)
    near = np.exp(-distance / max(1.0, SUPPORT_REACH * min(q.shape)))
    filled = np.where(from_planes.used, PLANE_FILLED_MAX * from_planes.support * from_planes.fit,
                      NEIGHBOUR_FILLED_MAX * near)
    filled = np.where(independent, 0.0, filled)
    confidence = np.where(sure, MEASURED_FLOOR + (1.0 - MEASURED_FLOOR) * quality, filled)
    return Filled(values, confidence.astype(np.float32), from_planes.used)

