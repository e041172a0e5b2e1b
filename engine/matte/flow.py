"""Dense optical flow (OpenCV DIS) and what mattes do with it: carry a mask from one frame to
the next, and tell the object's motion from the background's.

Flow here is always *backward*: ``flow = backward_flow(current, previous)`` gives, for every
pixel x of the current frame, where it was in the previous one (x + flow[x]), so
``warp(previous_mask, flow)`` is the previous mask moved onto the current frame.
"""

from __future__ import annotations

import cv2
import numpy as np

from ..imaging import flow as optical

__all__ = ["backward_flow", "warp", "object_motion", "motion_evidence", "flow_mismatch"]

# Colour difference (largest over R, G, B; 0..255) between a pixel and where the flow says it
# came from, above which the flow there is not believed: a part just uncovered, or a jump the
# flow missed.
MISMATCH_LEVEL = 30.0


def backward_flow(current: np.ndarray, previous: np.ndarray) -> np.ndarray:
    """HxWx2 float32 flow from RGB frame ``current`` to ``previous``."""
    return optical.flow(optical.gray(current), optical.gray(previous))


def warp(mask: np.ndarray, flow: np.ndarray) -> np.ndarray:
    """Move ``mask`` (the previous frame's, float32) onto the current frame along ``flow``;
    what comes from outside the frame is empty."""
    return optical.sample(mask.astype(np.float32), flow, outside=0.0)


def flow_mismatch(current: np.ndarray, previous: np.ndarray, flow: np.ndarray) -> np.ndarray:
    """Pixels (bool) whose colour differs clearly from the previous frame's at the place
    ``flow`` (backward) says they came from: there the flow explains nothing (a part just
    uncovered has no origin in the previous frame; DIS fills in its neighbour's motion), so its
    motion evidence is no evidence. A look-alike that truly moves with the background matches
    where it came from and keeps its evidence."""
    there = optical.sample(previous, flow)
    # Colour, not grey: an object and what hid it can share a grey level. A little blur: the
    # texture's own aliasing under sub-pixel motion is not a mismatch.
    difference = cv2.absdiff(current, there).max(axis=2).astype(np.float32)
    return cv2.GaussianBlur(difference, (5, 5), 0) > MISMATCH_LEVEL


def _grid(h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    return np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))


def _fit_affine(ys: np.ndarray, xs: np.ndarray, flow: np.ndarray,
                rng: np.random.Generator, samples: int = 400) -> np.ndarray | None:
    """A robust (RANSAC) affine model of the flow at the given pixels."""
    if len(xs) < 12:
        return None
    if len(xs) > samples:
        pick = rng.choice(len(xs), samples, replace=False)
        ys, xs = ys[pick], xs[pick]
    src = np.stack([xs, ys], axis=1).astype(np.float32)
    dst = src + flow[ys, xs]
    model, _ = cv2.estimateAffine2D(src, dst, method=cv2.RANSAC, ransacReprojThreshold=1.0)
    return model


def _residual(model: np.ndarray, flow: np.ndarray, gx: np.ndarray, gy: np.ndarray) -> np.ndarray:
    px = gx + flow[..., 0] - (model[0, 0] * gx + model[0, 1] * gy + model[0, 2])
    py = gy + flow[..., 1] - (model[1, 0] * gx + model[1, 1] * gy + model[1, 2])
    return px * px + py * py


def object_motion(flow: np.ndarray, prior: np.ndarray, band: int, seed: int = 0
                  ) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Robust affine motions (2x3, current frame -> previous) of the object's interior
    (``prior`` > 0.5, eroded by ``band``) and of a ring of background around it; None where
    a region is too small to fit."""
    hard = (prior > 0.5).astype(np.uint8)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * band + 1, 2 * band + 1))
    wide = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (6 * band + 1, 6 * band + 1))
    inner = cv2.erode(hard, kernel)
    ring = cv2.dilate(hard, wide).astype(bool) & ~cv2.dilate(hard, kernel).astype(bool)
    rng = np.random.default_rng(seed)
    inner_ys, inner_xs = np.nonzero(inner)
    ring_ys, ring_xs = np.nonzero(ring)
    return _fit_affine(inner_ys, inner_xs, flow, rng), _fit_affine(ring_ys, ring_xs, flow, rng)


def motion_evidence(flow: np.ndarray, prior: np.ndarray, band: int, sigma: float = 1.0,
                    seed: int = 0,
                    models: tuple[np.ndarray | None, np.ndarray | None] | None = None
                    ) -> np.ndarray | None:
    """Per-pixel log-odds that a pixel moves with the object rather than its surroundings.

    One affine motion is fitted to the object's interior (``prior`` > 0.5, eroded by
    ``band``), one to a ring of background around it (:func:`object_motion`; ``models``: those
    two, if already fitted); each pixel scores by which model explains its flow better, with
    ``sigma`` pixels of flow noise. Where object and background move alike the evidence is
    near zero, so it only speaks when motion tells them apart (e.g. a similar-coloured
    distractor the object passes). None when either region is too small to fit.
    """
    obj, bg = object_motion(flow, prior, band, seed) if models is None else models
    if obj is None or bg is None:
        return None
    h, w = prior.shape
    gx, gy = _grid(h, w)
    return (_residual(bg, flow, gx, gy) - _residual(obj, flow, gx, gy)) / (2 * sigma * sigma)
