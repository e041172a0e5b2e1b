"""The frame flavour: the foreground silhouette of a shot's middle frame, matched by IoU.

Without model weights the foreground is found as what differs from the frame's border: the
border's colours (k-means in Lab) model the background, pixels far from all of them seed a
GrabCut that settles the silhouette. The mask is kept as a 48x27 soft grid whatever the
source size, so shots of any resolution compare; two masks score their soft IoU
(sum of minima over sum of maxima). A shot with no clear foreground (under 2% or over 60% of
the frame) has an empty mask and takes no part.

With a segmentation model (:mod:`.segmentation`, e.g. ``upernet-convnext-small``; chosen by
the job's ``silhouette`` setting, ``auto`` = when installed) the vector holds two grids, people
then objects, and :func:`people_first` scores them: people's IoU when both shots show people,
else the objects' IoU down-weighted by :data:`OBJECTS_WEIGHT`. Without weights nothing of this
runs and the vectors, scores and cache keys are the classical ones.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

import cv2
import numpy as np

from .flavour import Flavour

if TYPE_CHECKING:
    from .segmentation import Segmenter

__all__ = ["OBJECTS_WEIGHT", "FrameFlavour", "foreground", "people_first", "soft_iou"]

GRID = (48, 27)
CELLS = GRID[0] * GRID[1]
_BORDER = 4
OBJECTS_WEIGHT = 0.6     # a match of objects alone counts for this much of a match of people
_PRESENT = 0.5           # a pixel belongs to a class set when its probability is at least this
_MIN_SHARE = 0.01        # a grid covering less of the frame than this is empty (noise)


def soft_iou(a: np.ndarray, b: np.ndarray) -> float:
    """Sum of minima over sum of maxima; 0 when both are empty."""
    top = float(np.maximum(a, b).sum())
    return float(np.minimum(a, b).sum()) / top if top > 0 else 0.0


def people_first(a_people: np.ndarray, a_objects: np.ndarray,
                 b_people: np.ndarray, b_objects: np.ndarray) -> float:
    """The segmentation score: people's IoU when both shots show people, else the objects'
    IoU times :data:`OBJECTS_WEIGHT` (so lined-up people outrank lined-up objects)."""
    if np.any(a_people) and np.any(b_people):
        return soft_iou(a_people, b_people)
    return OBJECTS_WEIGHT * soft_iou(a_objects, b_objects)


def _grid(mask: np.ndarray) -> np.ndarray:
    """A soft mask (HxW, 0..1) as the 48x27 grid, pixels under :data:`_PRESENT` dropped."""
    kept = np.where(mask >= _PRESENT, mask, 0.0).astype(np.float32)
    grid = cv2.resize(kept, GRID, interpolation=cv2.INTER_AREA).ravel()
    return grid if grid.mean() >= _MIN_SHARE else np.zeros(CELLS, np.float32)


def foreground(rgb: np.ndarray) -> np.ndarray:
    """A 0/1 uint8 mask (HxW) of the frame's foreground, or all zeros when there is none."""
    h, w = rgb.shape[:2]
    lab = cv2.cvtColor(cv2.GaussianBlur(rgb, (3, 3), 0), cv2.COLOR_RGB2LAB).astype(np.float32)
    ring = np.zeros((h, w), bool)
    ring[:_BORDER], ring[-_BORDER:], ring[:, :_BORDER], ring[:, -_BORDER:] = True, True, True, True
    samples = lab[ring]
    k = 6
    criteria = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 20, 1.0)
    # No initial labels (k-means++ seeds): None is what OpenCV takes, though the 4.x stubs
    # require an array (5.x accepts None); the cast keeps both type-clean.
    _, _, centres = cv2.kmeans(samples, k, cast(Any, None), criteria, 2, cv2.KMEANS_PP_CENTERS)
    dist = np.min(np.linalg.norm(lab[..., None, :] - centres[None, None], axis=-1), axis=-1)
    spread = float(np.percentile(dist[ring], 90))
    threshold = max(2.0 * spread, 18.0)
    seed = dist > threshold
    if seed.mean() < 0.005:
        return np.zeros((h, w), np.uint8)
    mask = np.full((h, w), cv2.GC_PR_BGD, np.uint8)
    mask[seed] = cv2.GC_PR_FGD
    mask[dist > 2.0 * threshold] = cv2.GC_FGD
    mask[ring] = cv2.GC_BGD
    bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    try:
        # No rectangle: the mask seeds it. OpenCV's stubs require one; None is what it takes.
        cv2.grabCut(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), mask, None,  # type: ignore[call-overload]
                    bgd, fgd, 3, cv2.GC_INIT_WITH_MASK)
    except cv2.error:  # degenerate colour models (flat frames): keep the seed
        pass
    fg = ((mask == cv2.GC_FGD) | (mask == cv2.GC_PR_FGD)).astype(np.uint8)
    fg = cv2.morphologyEx(fg, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
    # Keep the components that make up the silhouette; specks of texture go.
    count, labels, stats, _ = cv2.connectedComponentsWithStats(fg, connectivity=8)
    if count <= 1:
        return np.zeros((h, w), np.uint8)
    areas = stats[1:, cv2.CC_STAT_AREA]
    keep = 1 + np.flatnonzero(areas >= 0.15 * areas.max())
    fg = np.isin(labels, keep).astype(np.uint8)
    share = fg.mean()
    if not 0.02 <= share <= 0.6:
        return np.zeros((h, w), np.uint8)
    return fg


class FrameFlavour(Flavour):
    """Same framing of people and objects: silhouettes of the middle frame, IoU.

    ``segmenter`` None: one grid from :func:`foreground` (classical). A :class:`Segmenter`:
    two grids, people then objects, scored by :func:`people_first`.
    """

    NAME = "frame"
    DIM = CELLS
    BACKEND = "classical: border-contrast GrabCut"

    def __init__(self, segmenter: Segmenter | None = None) -> None:
        self.segmenter = segmenter
        if segmenter is not None:     # instance attributes: the class keeps the classical ones
            self.DIM = 2 * CELLS  # type: ignore[misc]
            self.VERSION = 2  # type: ignore[misc]
            self.BACKEND = segmenter.name  # type: ignore[misc]
            self.CACHE_TAG = segmenter.weights_sha256[:16]  # type: ignore[misc]

    def sample(self, start: int, end: int) -> list[int]:
        return [(start + end - 1) // 2]

    def describe(self, frames: dict[int, np.ndarray], fps: float) -> np.ndarray:
        (rgb,) = frames.values()
        if self.segmenter is not None:
            people, objects = self.segmenter.masks(rgb)
            return np.concatenate([_grid(people), _grid(objects)]).astype(np.float32)
        mask = foreground(rgb).astype(np.float32)
        return cv2.resize(mask, GRID, interpolation=cv2.INTER_AREA).ravel()

    def score(self, a: np.ndarray, b: np.ndarray) -> float:
        if self.segmenter is not None:
            return people_first(a[:CELLS], a[CELLS:], b[:CELLS], b[CELLS:])
        return soft_iou(a, b)

    def words(self, v: np.ndarray) -> str:
        if self.segmenter is not None:
            people, objects = v[:CELLS], v[CELLS:]
            if np.any(people):
                return _where(people, "figure")
            return _where(objects, "object") if np.any(objects) else "no people or objects"
        return _where(v, "subject") if np.any(v) else "no clear subject"


def _where(v: np.ndarray, noun: str) -> str:
    grid = v.reshape(GRID[1], GRID[0])
    share = float(grid.mean())
    xs = np.arange(GRID[0])[None, :]
    cx = float((grid * xs).sum() / grid.sum()) / GRID[0]
    side = "left" if cx < 0.4 else "right" if cx > 0.6 else "centre"
    size = "small" if share < 0.08 else "large" if share > 0.25 else "medium"
    return f"{size} {noun} {side}"
