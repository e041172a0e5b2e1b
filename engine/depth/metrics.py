"""How depth quality is measured: AbsRel and delta<1.25 after a least-squares scale/shift
alignment, and temporal flicker on static scene points. Tests and benchmarks use these.

Predictions are relative *inverse* depth (what the backends produce): they are aligned to the
ground truth's inverse depth by least squares (one scale and shift per frame, or one for the
whole clip), turned into depth, and compared with the true depth:

- ``abs_rel``: mean of ``|d - d*| / d*``;
- ``delta1``: share of pixels with ``max(d / d*, d* / d) < 1.25``;
- ``flicker``: on scene points seen in two consecutive frames, the mean of
  ``|(d_t - d_{t-1}) - (d*_t - d*_{t-1})| / d*_t``: how much the depth of a static point
  changes from frame to frame beyond what the camera move really does to it (zero for a
  perfectly stable pass, whatever the camera does).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

__all__ = ["align", "fit_scale_shift", "abs_rel", "delta1", "evaluate", "evaluate_clip",
           "flicker", "ClipScores", "MIN_INVERSE", "clip_aligned_depths", "delta1_where",
           "error_by_confidence"]

# Aligned inverse depth is clamped above this share of the true minimum before 1/x, so a
# prediction that crosses zero gives a large, finite error instead of infinity.
MIN_INVERSE = 1e-3


def fit_scale_shift(pred: np.ndarray, target: np.ndarray,
                    mask: np.ndarray | None = None) -> tuple[float, float]:
    """(s, t) minimising ``sum((s * pred + t - target)^2)`` over ``mask``."""
    p = np.asarray(pred, dtype=np.float64)
    g = np.asarray(target, dtype=np.float64)
    m = np.isfinite(p) & np.isfinite(g)
    if mask is not None:
        m &= np.asarray(mask, dtype=bool)
    p, g = p[m], g[m]
    if p.size < 2:
        raise ValueError("scale/shift alignment needs at least two pixels")
    var = p.var()
    if var <= 1e-20:
        return 0.0, float(g.mean())
    s = float(((p - p.mean()) * (g - g.mean())).mean() / var)
    return s, float(g.mean() - s * p.mean())


def align(pred: np.ndarray, target: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """``pred`` scaled and shifted onto ``target`` by least squares."""
    s, t = fit_scale_shift(pred, target, mask)
    return (s * np.asarray(pred, dtype=np.float64) + t).astype(np.float32)


def _to_depth(inverse: np.ndarray, gt_depth: np.ndarray) -> np.ndarray:
    floor = MIN_INVERSE / float(np.max(gt_depth))
    return 1.0 / np.maximum(inverse, floor)


def abs_rel(depth: np.ndarray, gt_depth: np.ndarray, mask: np.ndarray | None = None) -> float:
    m = np.ones(gt_depth.shape, bool) if mask is None else mask
    return float(np.mean(np.abs(depth[m] - gt_depth[m]) / gt_depth[m]))


def delta1(depth: np.ndarray, gt_depth: np.ndarray, mask: np.ndarray | None = None) -> float:
    m = np.ones(gt_depth.shape, bool) if mask is None else mask
    ratio = np.maximum(depth[m] / gt_depth[m], gt_depth[m] / depth[m])
    return float(np.mean(ratio < 1.25))


def evaluate(pred_inverse: np.ndarray, gt_depth: np.ndarray,
             mask: np.ndarray | None = None) -> tuple[float, float]:
    """(AbsRel, delta1) of one frame after aligning it on its own."""
    depth = _to_depth(align(pred_inverse, 1.0 / gt_depth, mask), gt_depth)
    return abs_rel(depth, gt_depth, mask), delta1(depth, gt_depth, mask)


@dataclass(frozen=True)
class ClipScores:
    abs_rel: float          # one scale/shift for the whole clip
    delta1: float
    abs_rel_frame: float    # each frame aligned on its own (shape only)
    delta1_frame: float
    flicker: float          # after the clip-wide alignment

    def as_dict(self) -> dict[str, float]:
        return {k: round(v, 4) for k, v in self.__dict__.items()}


def evaluate_clip(preds: Sequence[np.ndarray], gt_depths: Sequence[np.ndarray],
                  correspondences: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray]]
                  ) -> ClipScores:
    """Scores of a clip of relative inverse-depth predictions against the true depths.

    ``correspondences[i]`` (for i >= 1) maps frame i to frame i-1: ``(map_x, map_y, mask)``
    in pixel-index coordinates of frame i-1, ``mask`` marking points visible in both.
    """
    if len(preds) != len(gt_depths):
        raise ValueError("one prediction per ground-truth frame")
    stack_p = np.stack([np.asarray(p, np.float64) for p in preds])
    stack_g = np.stack([np.asarray(g, np.float64) for g in gt_depths])
    depths = clip_aligned_depths(stack_p, stack_g)
    rel = float(np.mean([abs_rel(d, g) for d, g in zip(depths, stack_g)]))
    d1 = float(np.mean([delta1(d, g) for d, g in zip(depths, stack_g)]))
    per_frame = [evaluate(p, g) for p, g in zip(stack_p, stack_g)]
    return ClipScores(rel, d1, float(np.mean([s[0] for s in per_frame])),
                      float(np.mean([s[1] for s in per_frame])),
                      flicker(depths, list(stack_g), correspondences))


def flicker(depths: Sequence[np.ndarray], gt_depths: Sequence[np.ndarray],
            correspondences: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray]]) -> float:
    """Mean frame-to-frame change of ``depths`` on static points beyond the true change,
    relative to the true depth (see the module docstring). ``depths`` are already aligned."""
    errors = []
    for i in range(1, len(depths)):
        map_x, map_y, mask = correspondences[i]
        prev = cv2.remap(np.asarray(depths[i - 1], np.float32), map_x, map_y, cv2.INTER_LINEAR)
        prev_gt = cv2.remap(np.asarray(gt_depths[i - 1], np.float32), map_x, map_y,
                            cv2.INTER_LINEAR)
        change = depths[i] - prev
        true_change = gt_depths[i] - prev_gt
        errors.append(np.abs(change - true_change)[mask] / gt_depths[i][mask])
    if not errors:
        return 0.0
    return float(np.mean(np.concatenate(errors)))


def clip_aligned_depths(preds: Sequence[np.ndarray] | np.ndarray,
                        gt_depths: Sequence[np.ndarray] | np.ndarray) -> list[np.ndarray]:
    """Depths from relative inverse-depth ``preds`` after one scale/shift for the whole clip
    (the alignment :func:`evaluate_clip` scores)."""
    stack_p = np.stack([np.asarray(p, np.float64) for p in preds])
    stack_g = np.stack([np.asarray(g, np.float64) for g in gt_depths])
    return [_to_depth(a, g) for a, g in zip(align(stack_p, 1.0 / stack_g), stack_g)]


def delta1_where(preds: Sequence[np.ndarray], gt_depths: Sequence[np.ndarray],
                 masks: Sequence[np.ndarray]) -> float | None:
    """delta1 over the pixels in ``masks`` only (e.g. the filled ones), after the clip-wide
    alignment fitted on every pixel; None when the masks are empty."""
    depths = clip_aligned_depths(preds, gt_depths)
    hits = sum(int(np.count_nonzero((np.maximum(d / g, g / d) < 1.25) & m))
               for d, g, m in zip(depths, gt_depths, masks))
    total = sum(int(np.count_nonzero(m)) for m in masks)
    return hits / total if total else None


def error_by_confidence(preds: Sequence[np.ndarray], gt_depths: Sequence[np.ndarray],
                        confidences: Sequence[np.ndarray], groups: int = 4) -> list[float]:
    """Mean relative depth error ``|d - d*| / d*`` (after the clip-wide alignment) in each of
    ``groups`` equal shares of the clip's pixels ranked by confidence, lowest first. Ties are
    split in pixel order, so a confidence that ranks error well gives a falling list."""
    depths = clip_aligned_depths(preds, gt_depths)
    error = np.concatenate([(np.abs(d - g) / g).ravel() for d, g in zip(depths, gt_depths)])
    conf = np.concatenate([np.asarray(c, np.float64).ravel() for c in confidences])
    order = np.argsort(conf, kind="stable")
    return [float(part.mean()) for part in np.array_split(error[order], groups)]
