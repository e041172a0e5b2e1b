"""Graph-cut segmentation (OpenCV GrabCut: colour GMMs + a max-flow cut) seeded by clicks,
boxes, a previous mask, or a mask carried over from the previous frame.

GrabCut only takes hard labels (sure background/foreground) and soft initial labels; every
prompt is expressed as such labels:

- include clicks: a small disc of sure foreground, inside a larger disc of probable
  foreground that seeds the object's colour model;
- exclude clicks: a small disc of sure background;
- a box: sure background outside it, probable foreground inside;
- the image border, away from the clicks, is sure background when there is no box.
"""

from __future__ import annotations

import cv2
import numpy as np

from .prompts import Prompts

__all__ = ["segment_from_prompts", "prompt_labels", "click_radius", "resegment_band", "keep_clicked"]

# Share of the shorter image side: probable-foreground disc around an include click.
SEED_RADIUS = 0.08


def _disc(mask: np.ndarray, point: tuple[float, float], radius: int, value: int) -> None:
    cv2.circle(mask, (int(point[0]), int(point[1])), int(radius), int(value), -1)


def _grabcut(image: np.ndarray, labels: np.ndarray, iterations: int) -> np.ndarray:
    """Run GrabCut on RGB ``image`` with initial ``labels``; foreground as bool.

    Falls back to the initial labels when OpenCV refuses (e.g. no background sample).
    """
    if iterations <= 0:
        return (labels == cv2.GC_FGD) | (labels == cv2.GC_PR_FGD)
    work = labels.copy()
    cv2.setRNGSeed(0)  # GrabCut seeds its GMMs with k-means: same input, same mask
    bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    try:
        # No rectangle: the mask seeds it. OpenCV's stubs require one; None is what it takes.
        cv2.grabCut(np.ascontiguousarray(image[..., ::-1]), work, None,  # type: ignore[call-overload]
                    bgd, fgd, iterations, cv2.GC_INIT_WITH_MASK)
    except cv2.error:
        work = labels
    return (work == cv2.GC_FGD) | (work == cv2.GC_PR_FGD)


def keep_clicked(mask: np.ndarray, prompts: Prompts) -> np.ndarray:
    """Keep the connected parts of ``mask`` that hold an include click (or, with a box and no
    clicks, the parts at least a tenth the size of the largest inside the box)."""
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    if count <= 1:
        return mask.astype(bool)
    h, w = mask.shape
    keep = set()
    for x, y in prompts.include:
        xi, yi = min(max(int(x), 0), w - 1), min(max(int(y), 0), h - 1)
        if labels[yi, xi]:
            keep.add(int(labels[yi, xi]))
    if not keep:
        areas = stats[1:, cv2.CC_STAT_AREA]
        keep = {i + 1 for i, a in enumerate(areas) if a >= 0.1 * areas.max()}
    return np.isin(labels, list(keep))


def click_radius(height: int, width: int) -> int:
    """Radius of the sure disc under a click: 1.2 % of the image diagonal."""
    return max(2, int(round(0.012 * float(np.hypot(height, width)))))


def prompt_labels(shape: tuple[int, int], prompts: Prompts, previous: np.ndarray | None = None,
                  likely: np.ndarray | None = None) -> np.ndarray:
    """GrabCut's initial labels for ``prompts`` on an image of ``shape`` (see the module
    docstring). ``likely`` (bool) marks more probable foreground for the clicks alone, e.g.
    where the clicks' region is expected to reach; the clicks still override it."""
    h, w = shape
    diag = float(np.hypot(h, w))
    click_r = click_radius(h, w)
    seed_r = max(click_r + 1, int(round(SEED_RADIUS * min(h, w))))
    labels = np.full((h, w), cv2.GC_PR_BGD, np.uint8)
    if previous is not None:
        labels[np.asarray(previous) > 0.5] = cv2.GC_PR_FGD
    if prompts.box is not None:
        x0, y0, x1, y1 = (int(round(v)) for v in prompts.box)
        outside = np.ones((h, w), bool)
        outside[max(y0, 0):max(y1, 0), max(x0, 0):max(x1, 0)] = False
        if previous is None:
            labels[~outside] = cv2.GC_PR_FGD
        labels[outside] = cv2.GC_BGD
    else:
        if previous is None:
            for p in prompts.include:
                _disc(labels, p, seed_r, cv2.GC_PR_FGD)
            if likely is not None:
                labels[likely] = cv2.GC_PR_FGD
        # The frame's border is background, except near the object's clicks.
        border = max(1, int(round(0.01 * diag)))
        edge = np.zeros((h, w), bool)
        edge[:border], edge[-border:], edge[:, :border], edge[:, -border:] = True, True, True, True
        near = np.zeros((h, w), np.uint8)
        for p in prompts.include:
            _disc(near, p, 2 * seed_r, 1)
        if previous is not None:
            near |= (np.asarray(previous) > 0.5).astype(np.uint8)
        labels[edge & ~near.astype(bool)] = cv2.GC_BGD
    for p in prompts.include:
        _disc(labels, p, click_r, cv2.GC_FGD)
    for p in prompts.exclude:
        _disc(labels, p, click_r, cv2.GC_BGD)
    return labels


def segment_from_prompts(image: np.ndarray, prompts: Prompts, previous: np.ndarray | None = None,
                         iterations: int = 5) -> np.ndarray:
    """A bool mask of the object the prompts point at, on 8-bit RGB ``image``: GrabCut from
    :func:`prompt_labels` alone (a box, or a previous mask being corrected; the clicks-only
    keyframe is :func:`.keyframe.segment_keyframe`).

    ``prompts`` are in ``image`` pixels. ``previous`` (float or bool, same size) is the mask
    being refined: it replaces the click discs as the initial guess, and the new clicks
    correct it.
    """
    labels = prompt_labels(image.shape[:2], prompts, previous)
    return keep_clicked(_grabcut(image, labels, iterations), prompts)


def resegment_band(image: np.ndarray, prior: np.ndarray, band: int,
                   motion: np.ndarray | None = None, motion_threshold: float = 6.0,
                   iterations: int = 2) -> np.ndarray:
    """Snap a mask carried from the previous frame to this frame's edges.

    Only a band of ``band`` pixels either side of the carried mask's edge may change; the
    cut runs on a crop around it. Where ``motion`` evidence (log-odds, see
    :func:`.flow.motion_evidence`) is strongly against the object, pixels in the band are
    sure background, so a look-alike moving with the background is not swallowed.
    """
    hard = (prior > 0.5).astype(np.uint8)
    if not hard.any():
        return hard.astype(bool)
    h, w = hard.shape
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * band + 1, 2 * band + 1))
    inner = cv2.erode(hard, kernel).astype(bool)
    outer = cv2.dilate(hard, kernel).astype(bool)
    labels = np.full((h, w), cv2.GC_BGD, np.uint8)
    labels[outer] = cv2.GC_PR_BGD
    labels[outer & hard.astype(bool)] = cv2.GC_PR_FGD
    labels[inner] = cv2.GC_FGD
    if motion is not None:
        labels[(motion < -motion_threshold) & outer] = cv2.GC_BGD
        labels[(motion > motion_threshold) & outer & ~inner] = cv2.GC_PR_FGD
    ys, xs = np.nonzero(outer)
    m = 3 * band  # background context around the band for the colour model
    y0, y1 = max(0, int(ys.min()) - m), min(h, int(ys.max()) + m + 1)
    x0, x1 = max(0, int(xs.min()) - m), min(w, int(xs.max()) + m + 1)
    out = np.zeros((h, w), bool)
    out[y0:y1, x0:x1] = _grabcut(image[y0:y1, x0:x1], labels[y0:y1, x0:x1], iterations)
    return out
