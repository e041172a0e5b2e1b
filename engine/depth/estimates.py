"""One frame's inverse depth from several estimates of it, each in its own unit.

A frame's own pair measures it in the unit of that pair's camera travel; pairs of earlier
frames measure it too, in theirs. :func:`combine` weighs them by precision into one map in
the unit of the first, and records a :class:`~.links.Link` from each estimate's unit to the
frame's: an exact geometric tie for the stabiliser, since both measure the same pixels.
"""

from __future__ import annotations

import numpy as np

from .epipolar import MIN_POINTS
from .links import Link, measure_link

__all__ = ["combine", "unit_link", "good_common"]


def good_common(px: np.ndarray, py: np.ndarray) -> np.ndarray:
    """The better-measured half of the pixels two estimates both measured."""
    both = (px > 0) & (py > 0)
    if np.count_nonzero(both) < 2:
        return np.zeros(px.shape, bool)
    joint = np.where(both, np.minimum(px, py), 0.0)
    return both & (joint >= np.median(joint[both]))


def unit_link(a: int, b: int, x: np.ndarray, px: np.ndarray, y: np.ndarray, py: np.ndarray,
          pixels: int) -> Link | None:
    """Frame ``b``'s pixels as estimated in ``a``'s unit (``x``) and in ``b``'s own (``y``)."""
    good = good_common(px, py)
    return measure_link(a, b, x[good], y[good], pixels)


def combine(number: int, estimates: list[tuple[int, np.ndarray, np.ndarray]],
            pixels: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[Link]]:
    """One map from several estimates of a frame, in the unit of the first; each estimate's
    unit is linked to the frame's (an exact link: both measure the same pixels). Returns the
    map, its precision, how far the estimates disagree at each pixel (their precision-weighted
    RMS spread around the map, a share of it; 0 where fewer than two measured it) and the
    links."""
    ref_owner, ref_q, ref_p = estimates[0]
    scaled = [(ref_q.astype(np.float64), ref_p.astype(np.float64))]
    links = []
    if ref_owner != number:  # no pair of its own: the frame takes the first estimate's unit
        tie = unit_link(ref_owner, number, ref_q, ref_p, ref_q, ref_p, pixels)
        if tie is not None:
            links.append(tie)
    for owner, q, p in estimates[1:]:
        good = good_common(p, ref_p) & (q > 0) & (ref_q > 0)
        if np.count_nonzero(good) < MIN_POINTS:
            continue
        ratio = float(np.median(ref_q[good] / q[good]))
        # q * ratio is in the reference unit; its variance grows by ratio^2.
        scaled.append((q * ratio, p / (ratio * ratio)))
        tie = unit_link(owner, number, q, p, ref_q, ref_p, pixels)
        if tie is not None:
            links.append(tie)
    total_p = sum(p for _, p in scaled)
    q = np.where(total_p > 0, sum(v * p for v, p in scaled) / np.maximum(total_p, 1e-30), 0.0)
    spread = np.zeros(q.shape)
    if len(scaled) > 1:
        deviation = sum(p * (v - q) ** 2 for v, p in scaled)
        several = sum((p > 0).astype(int) for _, p in scaled) >= 2
        spread = np.where(several & (q > 0), np.sqrt(deviation / np.maximum(total_p, 1e-30))
                          / np.maximum(q, 1e-30), 0.0)
    return (q.astype(np.float32), np.asarray(total_p, np.float32), spread.astype(np.float32),
            links)
