"""The motion flavour: how the camera moves, as dense optical flow averaged over the shot.

Up to six pairs of consecutive frames, spread over the shot (its first and last frames left
out, where transitions sit), go through OpenCV's DIS flow at 128x72. Each flow field is
averaged over a 4x4 grid of cells; the 32 numbers, in frame widths per second, are the
shot's motion vector, so pans, tilts, zooms (a radial field) and mixtures all show. Two shots
score the cosine of their vectors, scaled by how alike their speeds are
(``sqrt(slower / faster)``); a shot slower than ``MIN_SPEED`` has no move to match.
"""

from __future__ import annotations

import cv2
import numpy as np

from ..imaging import flow as optical
from .flavour import Flavour

__all__ = ["MotionFlavour"]

CELLS = 4
PAIRS = 6
MIN_SPEED = 0.05          # frame widths per second


def _flow_grid(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Mean flow a -> b per grid cell, in frame widths per frame: (CELLS, CELLS, 2)."""
    flow = optical.flow(optical.gray(a), optical.gray(b), optical.FAST)
    w = flow.shape[1]
    cells = cv2.resize(flow, (CELLS, CELLS), interpolation=cv2.INTER_AREA)
    return cells / float(w)


class MotionFlavour(Flavour):
    """Same camera move: flow field averaged over the shot, cosine similarity."""

    NAME = "motion"
    DIM = CELLS * CELLS * 2
    BACKEND = "classical: OpenCV DIS optical flow"

    def sample(self, start: int, end: int) -> list[int]:
        lo, hi = start + 1, end - 2          # pairs (t, t+1) inside the shot
        if hi <= lo:
            lo, hi = start, end - 1
        if hi <= lo:
            return []
        count = min(PAIRS, hi - lo)
        firsts = sorted({int(round(x)) for x in np.linspace(lo, hi - 1, count)})
        return sorted({n for t in firsts for n in (t, t + 1)})

    def describe(self, frames: dict[int, np.ndarray], fps: float) -> np.ndarray:
        grids = [_flow_grid(frames[t], frames[t + 1])
                 for t in sorted(frames) if t + 1 in frames]
        if not grids:
            return np.zeros(CELLS * CELLS * 2, np.float32)
        return (np.mean(grids, axis=0) * fps).astype(np.float32).ravel()

    @staticmethod
    def speed(v: np.ndarray) -> float:
        return float(np.linalg.norm(v.reshape(-1, 2), axis=1).mean())

    def usable(self, v: np.ndarray) -> bool:
        return self.speed(v) >= MIN_SPEED

    def score(self, a: np.ndarray, b: np.ndarray) -> float:
        na, nb = float(np.linalg.norm(a)), float(np.linalg.norm(b))
        if na == 0 or nb == 0:
            return 0.0
        cosine = float(a @ b) / (na * nb)
        sa, sb = self.speed(a), self.speed(b)
        return max(0.0, cosine) * (min(sa, sb) / max(sa, sb)) ** 0.5

    def words(self, v: np.ndarray) -> str:
        field = v.reshape(CELLS, CELLS, 2)
        dx, dy = (float(x) for x in field.reshape(-1, 2).mean(axis=0))
        ys, xs = np.mgrid[0:CELLS, 0:CELLS].astype(np.float32) - (CELLS - 1) / 2
        radial = float((field[..., 0] * xs + field[..., 1] * ys).mean())
        parts = []
        # Image content moving left means the camera pans right.
        if abs(dx) >= 0.03 and abs(dx) >= 0.5 * abs(dy):
            parts.append("pan right" if dx < 0 else "pan left")
        if abs(dy) >= 0.03 and abs(dy) >= 0.5 * abs(dx):
            parts.append("tilt down" if dy < 0 else "tilt up")
        if abs(radial) >= 0.02:
            parts.append("push in" if radial > 0 else "pull out")
        return " + ".join(parts) or ("still" if self.speed(v) < MIN_SPEED else "moving")
