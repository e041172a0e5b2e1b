"""One tracking step's graph cut, told by what the walk remembers.

The carried mask says where the object should be; the remembered shape (:mod:`.shape_memory`)
says where its hidden parts are; the remembered colours (:mod:`.appearance`) say which pixels
look like it; the motion evidence (:func:`.flow.motion_evidence`) says which move with it.
They become GrabCut labels over a region around the object, and the cut decides the edge.
Unlike a thin band around the carried edge, the region reaches as far as the object can have
grown or come back, but only pixels that look like the object are offered to it there.
"""

from __future__ import annotations

import cv2
import numpy as np

__all__ = ["hold_labels", "cut", "disk", "keep_connected", "reacquire_labels", "within"]

# Colour log-odds (see ColourMemory.log_odds) above which a pixel beyond the carried edge is
# offered to the object: e^1.0, the colour is about three times likelier on the object.
GROW_ODDS = 1.0
# A remembered part (hidden a while) needs less: the colour only has to lean to the object.
RETURN_ODDS = 0.0
# Below this a pixel in the band looks clearly like the background.
BACKGROUND_ODDS = -2.0


def disk(radius: int) -> np.ndarray:
    r = max(1, int(radius))
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))


def within(mask: np.ndarray, radius: float) -> np.ndarray:
    """Pixels within ``radius`` of ``mask`` (bool): a dilation by a disc whose cost does not
    grow with the radius (a distance transform)."""
    if not mask.any():
        return np.zeros(mask.shape, bool)
    return cv2.distanceTransform((~mask.astype(bool)).astype(np.uint8), cv2.DIST_L2, 3) <= radius


def hold_labels(carried: np.ndarray, remembered: np.ndarray, odds: np.ndarray,
                motion: np.ndarray | None, band: int, reach: int,
                motion_threshold: float) -> np.ndarray:
    """GrabCut labels for one step.

    ``carried`` and ``remembered`` are bool; ``reach`` pixels is how far beyond them the
    object may extend this frame (only through pixels whose colours look like it).
    """
    h, w = carried.shape
    hard = carried.astype(np.uint8)
    inner = cv2.erode(hard, disk(band)).astype(bool)
    near = cv2.dilate(hard, disk(band)).astype(bool)
    wide = within(carried | remembered, reach)
    looks = odds > GROW_ODDS
    labels = np.full((h, w), cv2.GC_BGD, np.uint8)
    labels[near | remembered | (wide & looks)] = cv2.GC_PR_BGD
    labels[carried] = cv2.GC_PR_FGD
    # Beyond the carried edge, the parts that look like the object: grown or come back.
    labels[(wide | near) & ~carried & looks] = cv2.GC_PR_FGD
    labels[remembered & ~carried & (odds > RETURN_ODDS)] = cv2.GC_PR_FGD
    labels[inner & (odds > BACKGROUND_ODDS)] = cv2.GC_FGD
    if motion is not None:
        region = labels != cv2.GC_BGD
        labels[(motion < -motion_threshold) & region & ~inner] = cv2.GC_BGD
        labels[(motion > motion_threshold) & near & ~inner] = cv2.GC_PR_FGD
    return labels


def reacquire_labels(where: np.ndarray, weight: np.ndarray, odds: np.ndarray, reach: int,
                     min_area: int) -> np.ndarray | None:
    """Labels that look for a lost object within ``reach`` of ``where`` (bool): the connected
    part that looks like it and is at least ``min_area`` pixels, the one most covered by
    ``weight`` (the remembered shape, soft) first, else the largest; None when none does."""
    h, w = where.shape
    search = within(where, reach)
    looks = cv2.morphologyEx((search & (odds > GROW_ODDS)).astype(np.uint8), cv2.MORPH_OPEN, disk(1))
    count, parts, stats, _ = cv2.connectedComponentsWithStats(looks, connectivity=8)
    if count <= 1:
        return None
    overlap = np.bincount(parts.ravel(), weights=weight.ravel().astype(np.float64), minlength=count)
    sizes = stats[:, cv2.CC_STAT_AREA].astype(np.float64)
    order = [int(i) for i in np.argsort(-(overlap[1:] + 0.1 * sizes[1:])) + 1 if sizes[i] >= min_area]
    if not order:
        return None
    labels = np.full((h, w), cv2.GC_BGD, np.uint8)
    labels[search] = cv2.GC_PR_BGD
    labels[parts == order[0]] = cv2.GC_PR_FGD
    return labels


def cut(image: np.ndarray, labels: np.ndarray, margin: int, iterations: int) -> np.ndarray:
    """GrabCut of RGB ``image`` from ``labels`` on a crop around the undecided pixels (plus
    ``margin`` of sure background for the colour model); the object as bool."""
    h, w = labels.shape
    open_ = labels != cv2.GC_BGD
    out = np.zeros((h, w), bool)
    if not open_.any():
        return out
    ys, xs = np.nonzero(open_)
    y0, y1 = max(0, int(ys.min()) - margin), min(h, int(ys.max()) + margin + 1)
    x0, x1 = max(0, int(xs.min()) - margin), min(w, int(xs.max()) + margin + 1)
    work = labels[y0:y1, x0:x1].copy()  # GrabCut writes into it: never into the caller's labels
    cv2.setRNGSeed(0)  # GrabCut seeds its GMMs with k-means: same input, same mask
    bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    try:
        cv2.grabCut(np.ascontiguousarray(image[y0:y1, x0:x1, ::-1]), work, None,  # type: ignore[call-overload]
                    bgd, fgd, iterations, cv2.GC_INIT_WITH_MASK)
    except cv2.error:  # no sample of one side: the labels stand
        pass
    out[y0:y1, x0:x1] = (work == cv2.GC_FGD) | (work == cv2.GC_PR_FGD)
    return out


def keep_connected(mask: np.ndarray, anchor: np.ndarray) -> np.ndarray:
    """The connected parts of ``mask`` that touch ``anchor`` (islands elsewhere are not the
    object)."""
    count, parts = cv2.connectedComponents(mask.astype(np.uint8), connectivity=8)
    if count <= 1:
        return mask
    touching = np.unique(parts[anchor & mask])
    touching = touching[touching > 0]
    return np.isin(parts, touching)
