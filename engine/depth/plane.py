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

import cv2
import numpy as np

from .fill import fill

__all__ = ["Plane", "PlaneFill", "fit_plane", "plane_support", "fill_from_planes"]

SAMPLES = 2000            # measured pixels the RANSAC draws from
REFIT_SAMPLES = 10000     # measured pixels the plane is refitted on
TRIALS = 300              # plane hypotheses tried
INLIER_RELATIVE = 0.05    # a pixel within 5 % of the plane's inverse depth lies on it
MIN_INLIER_SHARE = 0.15   # a plane must explain this share of the measured pixels ...
MIN_INLIERS = 200         # ... and at least this many of the sample
MAX_PLANES = 3            # planes looked for, each among the pixels the others leave
MIN_SUPPORT = 0.5         # share of the measured pixels around a hole that must lie on a plane
SEARCH_SIDE = 120         # short side of the grid the planes are looked for on (at least)


@dataclass(frozen=True)
class Plane:
    """Inverse depth ``a x + b y + c`` over pixel indices."""

    a: float
    b: float
    c: float
    inlier_share: float      # share of the measured pixels on the plane
    residual: float          # median relative misfit of the inliers

    def scaled(self, step: int) -> Plane:
        """The plane over pixel indices ``step`` times finer (found on every step-th pixel)."""
        return Plane(self.a / step, self.b / step, self.c, self.inlier_share, self.residual)

    def values(self, shape: tuple[int, int]) -> np.ndarray:
        h, w = shape
        xs = np.arange(w, dtype=np.float32)[None, :]
        ys = np.arange(h, dtype=np.float32)[:, None]
        return (np.float32(self.a) * xs + np.float32(self.b) * ys + np.float32(self.c)
                ).astype(np.float32)


def fit_plane(q: np.ndarray, measured: np.ndarray, seed: int = 0) -> Plane | None:
    """The plane that explains the most of ``q`` where ``measured``, or None when none
    explains at least ``MIN_INLIER_SHARE`` of it."""
    all_ys, all_xs = np.nonzero(measured & (q > 0))
    if len(all_xs) < MIN_INLIERS:
        return None
    rng = np.random.default_rng(seed)
    # Evenly spread samples (every k-th measured pixel): cheaper than a random draw, as fair.
    ys, xs = all_ys[::_stride(len(all_xs), SAMPLES)], all_xs[::_stride(len(all_xs), SAMPLES)]
    design = np.stack([xs, ys, np.ones(len(xs))], axis=1).astype(np.float64)
    target = q[ys, xs].astype(np.float64)
    triples = rng.integers(0, len(xs), (TRIALS, 3))
    systems = design[triples]                                   # TRIALS x 3 x 3
    solvable = np.abs(np.linalg.det(systems)) > 1e-9
    if not np.any(solvable):
        return None
    coefs = np.linalg.solve(systems[solvable], target[triples[solvable]][..., None])[..., 0]
    # Written out rather than a matrix product: as fast, and no BLAS threads to wait for.
    predicted = (xs[:, None] * coefs[:, 0] + ys[:, None] * coefs[:, 1] + coefs[:, 2])
    inliers = np.abs(predicted - target[:, None]) <= INLIER_RELATIVE * target[:, None]
    counts = np.count_nonzero(inliers, axis=0)
    best_trial = int(np.argmax(counts))
    if counts[best_trial] < max(MIN_INLIERS, MIN_INLIER_SHARE * len(xs)):
        return None
    best = inliers[:, best_trial]
    # Refit on the measured pixels near the plane (up to REFIT_SAMPLES of them), in relative
    # terms (far pixels, whose inverse depth is small, count as much as near ones): a steadier
    # plane from frame to frame.
    coef, *_ = np.linalg.lstsq(design[best], target[best], rcond=None)
    step = _stride(len(all_xs), REFIT_SAMPLES)
    all_ys, all_xs = all_ys[::step], all_xs[::step]
    design = np.stack([all_xs, all_ys, np.ones(len(all_xs))], axis=1).astype(np.float64)
    target = q[all_ys, all_xs].astype(np.float64)
    for _ in range(2):
        best = np.abs(_at(all_xs, all_ys, coef) - target) <= INLIER_RELATIVE * target
        if np.count_nonzero(best) < 3:
            return None
        coef, *_ = np.linalg.lstsq(design[best] / target[best, None], np.ones(np.count_nonzero(best)),
                                   rcond=None)
    misfit = np.abs(_at(all_xs, all_ys, coef) - target) / target
    best = misfit <= INLIER_RELATIVE
    misfit = misfit[best]
    return Plane(float(coef[0]), float(coef[1]), float(coef[2]),
                 float(np.mean(best)), float(np.median(misfit)))


def _at(xs: np.ndarray, ys: np.ndarray, coef: np.ndarray) -> np.ndarray:
    """The plane ``coef`` at pixels ``xs, ys`` (written out: no BLAS threads to wait for)."""
    return xs * coef[0] + ys * coef[1] + coef[2]


def _stride(count: int, wanted: int) -> int:
    return max(1, -(-count // wanted))


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
    front of the camera there.

    The planes and their support are found on every ``step``-th pixel (a grid whose short side
    is about ``SEARCH_SIDE``): a plane is a few numbers, and the support is smooth, so the
    working resolution would only cost time. The depths are then taken at every pixel."""
    h, w = q.shape
    step = max(1, min(h, w) // SEARCH_SIDE)
    q_grid, measured_grid = q[::step, ::step], measured[::step, ::step]
    remaining = measured_grid.copy()
    best = np.zeros(q_grid.shape, np.float32)
    chosen = np.full(q_grid.shape, -1, np.int32)
    planes: list[Plane] = []
    for _ in range(MAX_PLANES):
        plane = fit_plane(q_grid, remaining)
        if plane is None:
            break
        plane_q = plane.values(q_grid.shape)
        support = np.where(plane_q > 0, plane_support(q_grid, measured_grid.astype(np.float32),
                                                      plane_q), 0.0)
        better = support > best
        best = np.where(better, support, best).astype(np.float32)
        chosen = np.where(better, len(planes), chosen)
        planes.append(plane)
        remaining &= ~(np.abs(q_grid - plane_q) <= INLIER_RELATIVE * q_grid)
    if not planes:
        return PlaneFill.nothing(q.shape)
    if step > 1:
        best = np.asarray(cv2.resize(best, (w, h), interpolation=cv2.INTER_LINEAR), np.float32)
        chosen = np.asarray(cv2.resize(chosen, (w, h), interpolation=cv2.INTER_NEAREST), np.int32)
    values = np.zeros(q.shape, np.float32)
    fit = np.zeros(q.shape, np.float32)
    for k, plane in enumerate(planes):
        on = chosen == k
        values = np.where(on, plane.scaled(step).values(q.shape), values)
        fit = np.where(on, 1.0 / (1.0 + (plane.residual / INLIER_RELATIVE) ** 2), fit)
    used = holes & (best >= MIN_SUPPORT) & (values > 0)
    return PlaneFill(values, used, np.where(used, best, 0.0).astype(np.float32),
                     np.where(used, fit, 0.0).astype(np.float32))
