"""The dominant plane of a frame's measured inverse depth, to fill what parallax cannot show.

Under a pinhole camera, the inverse depth of a plane is an affine function of the image
coordinates: ``q = a x + b y + c``, exactly (``q`` is ``n . K^-1 (x, y, 1) / d`` for a plane
``n . X = d``). So the ground or a wall that is measured in part of the frame predicts its own
depth where it is not: near the focus of expansion of a forward move, or far away, where the
parallax is too small to measure.

:func:`fit_plane` finds that plane among the confidently measured pixels (RANSAC on a sample,
then a least-squares refit on its inliers). :func:`plane_support` says, for every pixel, how
much of the measured surface around it lies on that plane (0..1, from the push-pull
:func:`~.fill.fill`): a pixel is filled from the plane only where its measured neighbours
agree with it, so a sphere or a wall in front of the ground keeps its neighbours' depth.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .fill import fill

__all__ = ["Plane", "PlaneFill", "fit_plane", "plane_support", "fill_from_planes"]

SAMPLES = 3000            # measured pixels the RANSAC draws from
TRIALS = 200              # plane hypotheses tried
INLIER_RELATIVE = 0.05    # a pixel within 5 % of the plane's inverse depth lies on it
MIN_INLIER_SHARE = 0.15   # a plane must explain this share of the measured pixels ...
MIN_INLIERS = 200         # ... and at least this many of the sample
MAX_PLANES = 3            # planes looked for, each among the pixels the others leave
MIN_SUPPORT = 0.5         # share of the measured pixels around a hole that must lie on a plane


@dataclass(frozen=True)
class Plane:
    """Inverse depth ``a x + b y + c`` over pixel indices."""

    a: float
    b: float
    c: float
    inlier_share: float      # share of the measured pixels on the plane
    residual: float          # median relative misfit of the inliers

    def values(self, shape: tuple[int, int]) -> np.ndarray:
        h, w = shape
        ys, xs = np.mgrid[0:h, 0:w].astype(np.float64)
        return (self.a * xs + self.b * ys + self.c).astype(np.float32)


def fit_plane(q: np.ndarray, measured: np.ndarray, seed: int = 0) -> Plane | None:
    """The plane that explains the most of ``q`` where ``measured``, or None when none
    explains at least ``MIN_INLIER_SHARE`` of it."""
    all_ys, all_xs = np.nonzero(measured & (q > 0))
    if len(all_xs) < MIN_INLIERS:
        return None
    rng = np.random.default_rng(seed)
    ys, xs = all_ys, all_xs
    if len(xs) > SAMPLES:
        keep = rng.choice(len(xs), SAMPLES, replace=False)
        ys, xs = ys[keep], xs[keep]
    design = np.stack([xs, ys, np.ones(len(xs))], axis=1).astype(np.float64)
    target = q[ys, xs].astype(np.float64)
    triples = rng.integers(0, len(xs), (TRIALS, 3))
    best, best_count = None, 0
    for triple in triples:
        try:
            coef = np.linalg.solve(design[triple], target[triple])
        except np.linalg.LinAlgError:
            continue
        inliers = np.abs(design @ coef - target) <= INLIER_RELATIVE * target
        count = int(np.count_nonzero(inliers))
        if count > best_count:
            best, best_count = inliers, count
    if best is None or best_count < max(MIN_INLIERS, MIN_INLIER_SHARE * len(xs)):
        return None
    # Refit on every measured pixel near the plane, in relative terms (far pixels, whose
    # inverse depth is small, count as much as near ones): a steadier plane from frame to frame.
    coef, *_ = np.linalg.lstsq(design[best], target[best], rcond=None)
    design = np.stack([all_xs, all_ys, np.ones(len(all_xs))], axis=1).astype(np.float64)
    target = q[all_ys, all_xs].astype(np.float64)
    for _ in range(2):
        best = np.abs(design @ coef - target) <= INLIER_RELATIVE * target
        if np.count_nonzero(best) < 3:
            return None
        coef, *_ = np.linalg.lstsq(design[best] / target[best, None], np.ones(np.count_nonzero(best)),
                                   rcond=None)
    best = np.abs(design @ coef - target) <= INLIER_RELATIVE * target
    misfit = np.abs(design @ coef - target)[best] / target[best]
    return Plane(float(coef[0]), float(coef[1]), float(coef[2]),
                 float(np.mean(best)), float(np.median(misfit)))


def plane_support(q: np.ndarray, weight: np.ndarray, plane_q: np.ndarray) -> np.ndarray:
    """0..1 per pixel: the ``weight``-averaged share of the measured pixels around it (as far
    as the fill reaches) that lie on the plane ``plane_q``."""
    on_plane = (np.abs(q - plane_q) <= INLIER_RELATIVE * np.maximum(q, 1e-12)) & (q > 0)
    return np.clip(fill(on_plane.astype(np.float32), weight), 0.0, 1.0)


@dataclass
class PlaneFill:
    values: np.ndarray     # each hole's depth on its plane (where ``used``)
    used: np.ndarray       # the holes a plane fills
    support: np.ndarray    # 0..1: share of the measured pixels around each that lie on it
    fit: np.ndarray        # 0..1: how closely its plane fits its inliers (1/2 at INLIER_RELATIVE)

    @classmethod
    def nothing(cls, shape: tuple[int, int]) -> PlaneFill:
        """No hole filled from a plane."""
        zeros = np.zeros(shape, np.float32)
        return cls(zeros, np.zeros(shape, bool), zeros, zeros)


def fill_from_planes(q: np.ndarray, measured: np.ndarray, holes: np.ndarray) -> PlaneFill:
    """Up to ``MAX_PLANES`` dominant planes of ``q`` (each fitted among the ``measured`` pixels
    the earlier ones do not explain); each of the ``holes`` takes the plane the measured pixels
    around it agree with most, where at least ``MIN_SUPPORT`` of them do and the plane lies in
    front of the camera there."""
    remaining = measured.copy()
    best = np.zeros(q.shape, np.float32)
    values = np.zeros(q.shape, np.float32)
    fit = np.zeros(q.shape, np.float32)
    for _ in range(MAX_PLANES):
        plane = fit_plane(q, remaining)
        if plane is None:
            break
        plane_q = plane.values(q.shape)
        support = np.where(plane_q > 0, plane_support(q, measured.astype(np.float32), plane_q), 0.0)
        better = support > best
        best = np.where(better, support, best).astype(np.float32)
        values = np.where(better, plane_q, values)
        fit = np.where(better, 1.0 / (1.0 + (plane.residual / INLIER_RELATIVE) ** 2), fit)
        remaining &= ~(np.abs(q - plane_q) <= INLIER_RELATIVE * q)
    used = holes & (best >= MIN_SUPPORT)
    return PlaneFill(values, used, np.where(used, best, 0.0).astype(np.float32),
                     np.where(used, fit, 0.0).astype(np.float32))
