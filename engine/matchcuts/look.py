"""The look flavour: an appearance embedding per shot (colour, composition), cosine.

From three frames (a quarter, half and three quarters into the shot) at 64x36, in Lab:

- colour: a 2-D histogram of a/b (8x8) and one of L (8 bins), square-rooted (so cosine is the
  Bhattacharyya coefficient of the distributions);
- composition: the mean L, a, b of a 4x4 grid, centred on neutral grey;
- texture: gradient orientations (8 bins, weighted by strength) in each quarter of the frame.

Each part is scaled to unit length and weighted (colour 0.5, composition 0.35, texture
0.15), then the whole vector to unit length. A learned image embedding can replace it when
its weights are installed; the cosine score stays.
"""

from __future__ import annotations

import cv2
import numpy as np

from .flavour import Flavour, unit

__all__ = ["LookFlavour", "embed"]

SIZE = (64, 36)
WEIGHTS = {"colour": 0.5, "layout": 0.35, "texture": 0.15}


def _colour(lab: np.ndarray) -> np.ndarray:
    ab = cv2.calcHist([lab], [1, 2], None, [8, 8], [0, 256, 0, 256]).ravel()
    lum = cv2.calcHist([lab], [0], None, [8], [0, 256]).ravel()
    return np.sqrt(np.concatenate([ab / max(ab.sum(), 1), lum / max(lum.sum(), 1)]))


def _layout(lab: np.ndarray) -> np.ndarray:
    cells = cv2.resize(lab.astype(np.float32), (4, 4), interpolation=cv2.INTER_AREA)
    return (cells - 128.0).ravel() / 128.0


def _texture(lab: np.ndarray) -> np.ndarray:
    lum = lab[..., 0].astype(np.float32)
    gx = cv2.Sobel(lum, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(lum, cv2.CV_32F, 0, 1, ksize=3)
    mag, ang = cv2.cartToPolar(gx, gy)
    bins = (ang % np.pi / np.pi * 8).astype(int) % 8     # orientation, not direction
    h, w = lum.shape
    out = []
    for ys in (slice(0, h // 2), slice(h // 2, h)):
        for xs in (slice(0, w // 2), slice(w // 2, w)):
            out.append(np.bincount(bins[ys, xs].ravel(), mag[ys, xs].ravel(), 8))
    return np.concatenate(out)


def embed(frames: list[np.ndarray]) -> np.ndarray:
    """The look vector of a few RGB frames (any size; scaled to 64x36)."""
    parts: dict[str, list[np.ndarray]] = {"colour": [], "layout": [], "texture": []}
    for rgb in frames:
        small = cv2.resize(rgb, SIZE, interpolation=cv2.INTER_AREA)
        lab = cv2.cvtColor(small, cv2.COLOR_RGB2LAB)
        parts["colour"].append(_colour(lab))
        parts["layout"].append(_layout(lab))
        parts["texture"].append(_texture(lab))
    return unit(np.concatenate([WEIGHTS[k] * unit(np.mean(v, axis=0)) for k, v in parts.items()]))


class LookFlavour(Flavour):
    """Similar look: colour, composition and texture embedding, cosine similarity."""

    NAME = "look"
    DIM = 64 + 8 + 48 + 32
    BACKEND = "classical: colour/layout/texture embedding"

    def sample(self, start: int, end: int) -> list[int]:
        n = end - start
        return sorted({start + (n * q) // 4 for q in (1, 2, 3)})

    def describe(self, frames: dict[int, np.ndarray], fps: float) -> np.ndarray:
        return embed([frames[n] for n in sorted(frames)])

    def score(self, a: np.ndarray, b: np.ndarray) -> float:
        return max(0.0, float(a @ b))

    def words(self, v: np.ndarray) -> str:
        # The colour part holds square roots of the a/b and L histograms: square them back.
        colour = v[:72] ** 2
        ab = colour[:64].reshape(8, 8)
        ab = ab / max(float(ab.sum()), 1e-9)
        centres = (np.arange(8) + 0.5) * 32 - 128
        a, b = float(ab.sum(axis=1) @ centres), float(ab.sum(axis=0) @ centres)
        lum = colour[64:] / max(float(colour[64:].sum()), 1e-9)
        level = float(lum @ (np.arange(8) + 0.5)) / 8
        key = "dark" if level < 0.3 else "bright" if level > 0.65 else "mid-key"
        if np.hypot(a, b) < 10:
            return f"{key} neutral"
        hue = np.degrees(np.arctan2(b, a)) % 360
        names = [(45, "red"), (80, "orange"), (105, "yellow"), (200, "green"), (250, "cyan"),
                 (330, "blue"), (350, "purple"), (360, "red")]
        return f"{key} {next(name for limit, name in names if hue < limit)}"
