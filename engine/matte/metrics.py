"""DAVIS-style matte quality: region similarity J (IoU) and boundary accuracy F.

As in the DAVIS benchmark (Perazzi et al., CVPR 2016; ``davis2017-evaluation``): masks are
binarised at 0.5; J is the intersection over union (1 when both are empty); F is the
F-measure of boundary pixels matched within a tolerance of 0.8 % of the image diagonal.
A clip's J&F is the mean of its mean J and mean F over the scored frames.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field

import cv2
import numpy as np

__all__ = ["region_j", "boundary_f", "ClipScore", "score_clip"]

BOUNDARY_TOLERANCE = 0.008  # share of the image diagonal, as DAVIS


def _binary(mask: np.ndarray) -> np.ndarray:
    a = np.asarray(mask)
    return a > (0.5 * 255 if a.dtype == np.uint8 else 0.5)


def region_j(pred: np.ndarray, truth: np.ndarray) -> float:
    """Intersection over union of the two masks (1.0 when both are empty)."""
    p, t = _binary(pred), _binary(truth)
    union = np.count_nonzero(p | t)
    return 1.0 if union == 0 else np.count_nonzero(p & t) / union


def _boundary(mask: np.ndarray) -> np.ndarray:
    """One-pixel boundary: foreground pixels with a background 4-neighbour (image edge counts
    as inside, as DAVIS's seg2bmap does)."""
    m = mask.astype(np.uint8)
    eroded = cv2.erode(m, cv2.getStructuringElement(cv2.MORPH_CROSS, (3, 3)),
                       borderType=cv2.BORDER_REPLICATE)
    return (m - eroded).astype(bool)


def boundary_f(pred: np.ndarray, truth: np.ndarray, tolerance: float = BOUNDARY_TOLERANCE) -> float:
    """Boundary F-measure: precision and recall of boundary pixels within the tolerance."""
    p, t = _binary(pred), _binary(truth)
    h, w = p.shape
    radius = max(1, math.ceil(tolerance * math.hypot(h, w)))
    pb, tb = _boundary(p), _boundary(t)
    n_p, n_t = np.count_nonzero(pb), np.count_nonzero(tb)
    if n_p == 0 and n_t == 0:
        return 1.0
    if n_p == 0 or n_t == 0:
        return 0.0
    disk = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
    t_near = cv2.dilate(tb.astype(np.uint8), disk).astype(bool)
    p_near = cv2.dilate(pb.astype(np.uint8), disk).astype(bool)
    precision = np.count_nonzero(pb & t_near) / n_p
    recall = np.count_nonzero(tb & p_near) / n_t
    return 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)


@dataclass
class ClipScore:
    """Per-frame J and F of one clip, and their DAVIS summary."""

    frames: list[int] = field(default_factory=list)
    j: list[float] = field(default_factory=list)
    f: list[float] = field(default_factory=list)

    def add(self, frame: int, pred: np.ndarray, truth: np.ndarray) -> None:
        self.frames.append(frame)
        self.j.append(region_j(pred, truth))
        self.f.append(boundary_f(pred, truth))

    @property
    def j_mean(self) -> float:
        return float(np.mean(self.j)) if self.j else 0.0

    @property
    def f_mean(self) -> float:
        return float(np.mean(self.f)) if self.f else 0.0

    @property
    def jf(self) -> float:
        return (self.j_mean + self.f_mean) / 2

    def jf_of(self, frames: Iterable[int]) -> float:
        """J&F over a subset of the scored frames."""
        wanted = set(frames)
        idx = [i for i, n in enumerate(self.frames) if n in wanted]
        if not idx:
            return 0.0
        return (float(np.mean([self.j[i] for i in idx])) + float(np.mean([self.f[i] for i in idx]))) / 2

    def summary(self) -> dict[str, float]:
        return {"J": round(self.j_mean, 4), "F": round(self.f_mean, 4), "JF": round(self.jf, 4),
                "frames": len(self.frames)}


def score_clip(preds: Iterable[tuple[int, np.ndarray]], truth_of) -> ClipScore:
    """Score ``(frame, predicted mask)`` pairs against ``truth_of(frame)``."""
    score = ClipScore()
    for frame, pred in preds:
        truth = truth_of(frame)
        if pred.shape != truth.shape:
            pred = cv2.resize(pred.astype(np.float32), truth.shape[::-1], interpolation=cv2.INTER_LINEAR)
        score.add(frame, pred, truth)
    return score
