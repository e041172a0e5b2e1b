"""Two frames of a moving camera: the camera motion between them, and depth along it.

- :func:`pose_hypotheses` fits the motion ``(R, t)`` to sampled flow matches (essential matrix,
  RANSAC) on all samples and on each half; :func:`epipolar_misfit` says how well a motion
  explains the matches and :func:`ambiguity` how differently motions that fit almost as well
  shape the depth; :func:`carried_pose` turns the last pair's motion into a candidate for
  another stride.
- :func:`triangulate` gives every pixel's inverse depth along its flow, in units of the
  camera's travel, with its precision; :func:`triangulate_with_residual` also each pixel's
  distance from its epipolar line, from which :func:`independent_motion` finds what moves on
  its own.
- :func:`homography_residual_px` measures how much of a flow field one homography cannot
  explain: zero for a pan, a zoom or a flat scene, which show no depth.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

__all__ = ["intrinsics", "triangulate", "triangulate_with_residual", "rays_apart",
           "epipolar_misfit", "ambiguity", "carried_pose", "pose_hypotheses",
           "independent_motion", "homography_residual_px", "MIN_POINTS", "MAX_SAMPLES",
           "FLOW_NOISE_PX"]

MIN_POINTS = 64                # consistent flow samples a pair needs
MAX_SAMPLES = 4000             # samples for the homography and the essential matrix
EPIPOLAR_PX = 1.0              # a pixel further off its epipolar line is not static scene
FLOW_NOISE_PX = 0.25           # assumed flow noise, for the precision of each estimate
AMBIGUOUS_FIT = 1.5            # a motion whose misfit is within this factor of the best's ...
INDEPENDENT_PX = 2.0           # further off its epipolar line than this: moves on its own
INDEPENDENT_PATCH = 0.02       # ... in a patch at least this share of the frame's short side


def intrinsics(width: int, height: int, fov_deg: float) -> np.ndarray:
    """Pinhole camera matrix for pixel indices (pixel centres at integers)."""
    f = width / (2.0 * math.tan(math.radians(fov_deg) / 2.0))
    return np.array([[f, 0.0, (width - 1) / 2.0], [0.0, f, (height - 1) / 2.0], [0.0, 0.0, 1.0]])


def triangulate(field: np.ndarray, valid: np.ndarray, K: np.ndarray, R: np.ndarray,
                t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Inverse depth of every pixel of the first frame along its flow ``field`` to the second,
    for a camera motion ``X2 = R X1 + t`` (``t`` of unit length), and its precision
    (1 / variance, 0 where not measured).

    With rays r1 = K^-1 x1 and r2 = K^-1 x2: z (r2 x R r1) + r2 x t = 0, solved for q = 1/z in
    the least-squares sense, which stays well conditioned for far points.
    """
    q, precision, _ = triangulate_with_residual(field, valid, K, R, t)
    return q, precision


def triangulate_with_residual(field: np.ndarray, valid: np.ndarray, K: np.ndarray, R: np.ndarray,
                 t: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`triangulate`, plus each pixel's distance from its epipolar line (pixels)."""
    h, w = field.shape[:2]
    xs, ys = np.meshgrid(np.arange(w, dtype=np.float64), np.arange(h, dtype=np.float64))
    q, off_line, cc = rays_apart(np.stack([xs, ys], axis=-1),
                                  np.stack([xs + field[..., 0], ys + field[..., 1]], axis=-1),
                                  K, R, t)
    ok = valid & (q > 0) & (off_line < EPIPOLAR_PX) & (cc > 1e-8)
    precision = np.where(ok, cc * (K[0, 0] / FLOW_NOISE_PX) ** 2, 0.0)
    return q.astype(np.float32), precision.astype(np.float32), off_line.astype(np.float32)


def rays_apart(x1: np.ndarray, x2: np.ndarray, K: np.ndarray, R: np.ndarray, t: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For pixels ``x1`` (...x2) matched to ``x2``: inverse depth q, distance from the
    epipolar line (pixels) and ``|r2 x t|^2`` (how much the translation moves the pixel)."""
    f = K[0, 0]

    def rays(x: np.ndarray) -> np.ndarray:
        return np.stack([(x[..., 0] - K[0, 2]) / f, (x[..., 1] - K[1, 2]) / f,
                         np.ones(x.shape[:-1])], axis=-1)

    r1, r2 = rays(x1), rays(x2)
    a = np.cross(r2, r1 @ R.T)
    c = np.cross(r2, np.broadcast_to(t, r2.shape))
    cc = np.einsum("...k,...k->...", c, c)
    q = -np.einsum("...k,...k->...", a, c) / np.maximum(cc, 1e-12)
    off_line = np.linalg.norm(a + q[..., None] * c, axis=-1) * f
    return q, off_line, cc


def epipolar_misfit(pa: np.ndarray, pb: np.ndarray, K: np.ndarray, R: np.ndarray,
                     t: np.ndarray) -> float:
    """Median distance (pixels) of matches ``pa`` -> ``pb`` from their epipolar lines under
    the motion ``(R, t)``; a point that triangulates behind the camera is infinitely far."""
    q, off_line, _ = rays_apart(pa, pb, K, R, t)
    return float(np.median(np.where(q > 0, off_line, np.inf)))


def ambiguity(pa: np.ndarray, pb: np.ndarray, K: np.ndarray,
               poses: list[tuple[np.ndarray, np.ndarray]], misfits: list[float], best: int) -> float:
    """How differently the motions that fit almost as well as the best one shape the depth:
    the largest median relative difference of their inverse depths from the best's, at the
    sampled matches (each scaled to the best's unit). 0 when no other motion fits as well."""
    q_best, _, _ = rays_apart(pa, pb, K, *poses[best])
    worst = 0.0
    for pose, misfit in zip(poses, misfits):
        if misfit > AMBIGUOUS_FIT * misfits[best] or pose is poses[best]:
            continue
        q, _, _ = rays_apart(pa, pb, K, *pose)
        both = (q > 0) & (q_best > 0)
        if np.count_nonzero(both) < MIN_POINTS:
            return 1.0
        ratio = np.log(q[both] / q_best[both])
        worst = max(worst, float(np.median(np.abs(ratio - np.median(ratio)))))
    return worst


def carried_pose(pose: tuple[int, np.ndarray, np.ndarray] | None, stride: int
             ) -> tuple[np.ndarray, np.ndarray] | None:
    """The last pair's motion ``(stride, R, t)`` as it would be over ``stride`` frames at the
    same speed (a candidate only: the dense flow decides): the rotation scaled along its axis,
    the direction of travel kept (reversed for a partner behind)."""
    if pose is None:
        return None
    k, R, t = pose
    rotation, _ = cv2.Rodrigues(R)
    scaled, _ = cv2.Rodrigues(rotation * (stride / k))
    return scaled, t * (1.0 if stride * k > 0 else -1.0)


def pose_hypotheses(pa: np.ndarray, pb: np.ndarray, K: np.ndarray
                     ) -> list[tuple[np.ndarray, np.ndarray]]:
    """Camera motions ``(R, t)`` (``t`` of unit length) fitted to the sampled matches: on all
    of them and on each half, so an ambiguous fit shows as different answers."""
    poses = []
    for part in (slice(None), slice(0, None, 2), slice(1, None, 2)):
        a, b = pa[part], pb[part]
        if len(a) < MIN_POINTS:
            continue
        E, mask = cv2.findEssentialMat(a, b, K, cv2.USAC_ACCURATE, 0.999, 0.5)
        if E is None or E.shape != (3, 3):
            continue
        _, R, t, _ = cv2.recoverPose(E, a, b, K, mask=mask)
        poses.append((R, t.ravel()))
    return poses


def independent_motion(off_line: np.ndarray, consistent: np.ndarray) -> np.ndarray:
    """Pixels that move on their own: their flow is trustworthy but off the camera's epipolar
    geometry by ``INDEPENDENT_PX`` or more, in a patch (not a stray flow error)."""
    off = consistent & (off_line >= INDEPENDENT_PX)
    size = max(3, int(round(min(off.shape) * INDEPENDENT_PATCH)) | 1)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size))
    return cv2.morphologyEx(off.astype(np.uint8), cv2.MORPH_OPEN, kernel) > 0


def homography_residual_px(field_: np.ndarray) -> float:
    """How much of a flow field no single homography explains (90th percentile, pixels):
    zero for rotation-only motion, a zoom, or a flat scene."""
    h, w = field_.shape[:2]
    step = max(1, int(math.sqrt(h * w / MAX_SAMPLES)))
    ys, xs = np.mgrid[0:h:step, 0:w:step]
    pa = np.stack([xs.ravel(), ys.ravel()], axis=1).astype(np.float64)
    pb = pa + field_[ys.ravel(), xs.ravel()].astype(np.float64)
    inside = (pb[:, 0] >= 0) & (pb[:, 1] >= 0) & (pb[:, 0] <= w - 1) & (pb[:, 1] <= h - 1)
    pa, pb = pa[inside], pb[inside]
    if len(pa) < MIN_POINTS:
        return 0.0
    H, _ = cv2.findHomography(pa, pb, cv2.RANSAC, 1.0)
    if H is None:
        return 0.0
    proj = cv2.perspectiveTransform(pa[None], H)[0]
    return float(np.percentile(np.linalg.norm(proj - pb, axis=1), 90))
