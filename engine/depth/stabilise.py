"""Temporal stability: one scale (and shift) per frame, solved once for the whole clip, so
that a static scene point keeps its value from frame to frame.

A relative model predicts each frame with its own unknown scale and shift: normalising each
frame on its own (what flickering passes do) turns that into flicker. Instead, the
:class:`Stabiliser` collects :class:`~.links.Link` statistics while the clip streams by:

- *flow links*: each frame's values against its neighbours' (1 and 2 frames back) at the
  pixels that optical flow matches both ways;
- *geometric links* a backend supplies (the parallax backend's exact ones).

It then solves one least-squares problem for every frame's ``(scale, shift)`` (or ``scale``
alone, when the backend's shift is known to be zero), with a weak prior towards the raw values
that only fixes the overall gauge. The system is banded, so a clip of any length costs a few
numbers per frame and a linear-time solve; nothing but per-frame statistics is held.

Known bias: flow links say a static point keeps its value between neighbours, which is
exactly true for a pan but not for a dolly, where points really come nearer. On a dolly the
alignment therefore damps the clip-wide change of depth a little (measured in the tests and
``docs/depth.md``); the parallax backend's geometric links carry the true change.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from typing import Literal

import cv2
import numpy as np

from ..imaging import flow
from .base import Prediction
from .links import Link, measure_link

__all__ = ["Stabiliser", "Alignment", "solve_banded", "QUANTILES"]

Mode = Literal["affine", "scale", "none"]

FLOW_MAX_SIDE = 320          # flow links are measured on frames this small
PRIOR_WEIGHT = 1e-3          # pull towards the raw values: fixes the gauge, nothing more
QUANTILES = (0.01, 0.99)     # per-frame robust range, for the clip-wide normalisation


@dataclass
class _Kept:
    frame: int
    gray: np.ndarray
    values: np.ndarray


@dataclass
class Alignment:
    """Per-frame ``scale`` and ``shift``: aligned = scale * raw + shift."""

    mode: str
    scale: dict[int, float]
    shift: dict[int, float]
    ranges: dict[int, tuple[float, float]]    # aligned per-frame QUANTILES
    links: int = 0
    residual: float = 0.0                     # weighted RMS link misfit after the solve
    notes: list[str] = field(default_factory=list)

    def apply(self, frame: int, raw: np.ndarray) -> np.ndarray:
        return (self.scale[frame] * raw.astype(np.float32) + self.shift[frame]).astype(np.float32)


class Stabiliser:
    def __init__(self, mode: Mode, *, flow_weight: float = 1.0,
                 flow_offsets: tuple[int, ...] = (1, 2)) -> None:
        if mode not in ("affine", "scale", "none"):
            raise ValueError(f"mode must be affine, scale or none, not {mode!r}")
        self.mode = mode
        self.flow_weight = float(flow_weight)
        self.flow_offsets = tuple(flow_offsets) if flow_weight > 0 else ()
        self._recent: deque[_Kept] = deque(maxlen=max(self.flow_offsets, default=0))
        self._moments: dict[int, tuple[float, float]] = {}
        self._quantiles: dict[int, tuple[float, float]] = {}
        self._links: list[Link] = []

    @property
    def unknowns(self) -> int:
        return {"affine": 2, "scale": 1, "none": 0}[self.mode]

    def add(self, prediction: Prediction) -> None:
        """Take one frame's prediction (in clip order); invalid frames are left out."""
        if not prediction.valid:
            return
        raw = prediction.values.astype(np.float64)
        self._moments[prediction.frame] = (float(raw.mean()), float((raw * raw).mean()))
        lo, hi = np.quantile(raw, QUANTILES)
        self._quantiles[prediction.frame] = (float(lo), float(hi))
        if self.mode == "none":
            return
        self._links.extend(prediction.links)
        if not self.flow_offsets:
            return
        h, w = raw.shape
        size = flow.flow_size(w, h, FLOW_MAX_SIDE)
        kept = _Kept(prediction.frame, cv2.resize(flow.gray(prediction.image), size,
                                                  interpolation=cv2.INTER_AREA),
                     cv2.resize(prediction.values.astype(np.float32), size,
                                interpolation=cv2.INTER_AREA))
        recent = list(self._recent)
        for offset in self.flow_offsets:
            if offset <= len(recent):
                self._flow_link(recent[-offset], kept)
        self._recent.append(kept)

    def _flow_link(self, a: _Kept, b: _Kept) -> None:
        ab, valid_a, _, _ = flow.consistent_flow(a.gray, b.gray)
        y = flow.sample(b.values, ab)
        link = measure_link(a.frame, b.frame, a.values[valid_a], y[valid_a], a.values.size,
                            weight=self.flow_weight)
        if link is not None:
            self._links.append(link)

    # ---- the solve ----------------------------------------------------------------------------

    def solve(self) -> Alignment:
        frames = sorted(self._moments)
        if self.mode == "none" or not frames:
            return Alignment(self.mode, {f: 1.0 for f in frames}, {f: 0.0 for f in frames},
                             dict(self._quantiles))
        affine = self.mode == "affine"
        u = self.unknowns
        index = {f: i for i, f in enumerate(frames)}
        links = [ln for ln in self._links if ln.a in index and ln.b in index and ln.a != ln.b]
        reach = max((abs(index[ln.a] - index[ln.b]) for ln in links), default=0)
        band = (reach + 1) * u            # half bandwidth + 1
        n = len(frames) * u
        A = np.zeros((band, n))           # A[k, j] = full[j + k, j] (lower band)
        rhs = np.zeros(n)

        def add_block(rows: list[int], block: np.ndarray) -> None:
            # rows in any order: each symmetric pair is added once, into the lower band
            for r, i in enumerate(rows):
                for c, j in enumerate(rows):
                    if i >= j:
                        A[i - j, j] += block[r, c]

        for f in frames:
            m1, m2 = self._moments[f]
            i = index[f] * u
            if affine:
                prior = PRIOR_WEIGHT * np.array([[m2, m1], [m1, 1.0]])
                add_block([i, i + 1], prior)
                rhs[i:i + 2] += prior @ np.array([1.0, 0.0])
            else:
                add_block([i], PRIOR_WEIGHT * np.array([[m2]]))
                rhs[i] += PRIOR_WEIGHT * m2
        for link in links:
            ia, ib = index[link.a] * u, index[link.b] * u
            rows = [ia, ia + 1, ib, ib + 1] if affine else [ia, ib]
            add_block(rows, link.weight * link.normal_block(affine))
        theta = solve_banded(A, rhs)
        scale = {f: float(theta[index[f] * u]) for f in frames}
        shift = {f: float(theta[index[f] * u + 1]) if affine else 0.0 for f in frames}
        notes = []
        for f in frames:
            if not scale[f] > 0:
                notes.append(f"frame {f}: alignment failed (scale {scale[f]:.3g}); raw values kept")
                scale[f], shift[f] = 1.0, 0.0
        ranges = {f: (scale[f] * lo + shift[f], scale[f] * hi + shift[f])
                  for f, (lo, hi) in self._quantiles.items()}
        return Alignment(self.mode, scale, shift, ranges, len(links),
                         _residual(links, scale, shift, affine), notes)


def _residual(links: list[Link], scale: dict[int, float], shift: dict[int, float],
              affine: bool) -> float:
    """Weighted RMS of the links' misfit after alignment, relative to the aligned spread."""
    total = weight = 0.0
    for link in links:
        theta = (np.array([scale[link.a], shift[link.a], scale[link.b], shift[link.b]]) if affine
                 else np.array([scale[link.a], scale[link.b]]))
        misfit = float(theta @ link.normal_block(affine) @ theta)
        spread = scale[link.b] ** 2 * max(link.myy - link.my ** 2, 1e-30)
        total += link.weight * misfit / spread
        weight += link.weight
    return math.sqrt(total / weight) if weight else 0.0


def solve_banded(lower: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    """Solve ``A x = rhs`` for a symmetric positive-definite banded ``A`` given by its lower
    band (``lower[k, j] = A[j + k, j]``), by banded Cholesky: O(n * band^2) time, O(n * band)
    memory."""
    band, n = lower.shape
    L = np.zeros((n, band))                # L[i, k] = factor[i, i - k]
    for i in range(n):
        lo = max(0, i - band + 1)
        for j in range(lo, i + 1):
            # sum over m < j of factor[i, m] * factor[j, m]
            m0 = max(lo, j - band + 1)
            s = 0.0
            if j > m0:
                ks_i = i - np.arange(m0, j)
                ks_j = j - np.arange(m0, j)
                s = float(np.dot(L[i, ks_i], L[j, ks_j]))
            a = lower[i - j, j]
            if i == j:
                d = a - s
                if d <= 0:
                    raise np.linalg.LinAlgError("matrix is not positive definite")
                L[i, 0] = math.sqrt(d)
            else:
                L[i, i - j] = (a - s) / L[j, 0]
    y = np.zeros(n)
    for i in range(n):                     # forward: factor y = rhs
        lo = max(0, i - band + 1)
        ks = i - np.arange(lo, i)
        y[i] = (rhs[i] - float(np.dot(L[i, ks], y[lo:i]))) / L[i, 0]
    x = np.zeros(n)
    for i in range(n - 1, -1, -1):         # backward: factor^T x = y
        hi = min(n, i + band)
        js = np.arange(i + 1, hi)
        x[i] = (y[i] - float(np.dot(L[js, js - i], x[i + 1:hi]))) / L[i, 0]
    return x
