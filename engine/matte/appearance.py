"""The object's colours as the keyframe showed them, remembered through a walk.

A walk that only carries the last mask forgets what the object looks like: each small loss
is inherited by the next frame. :class:`ColourMemory` keeps colour histograms of the object
and of its surroundings learned on the keyframe, and mixes in what confident later frames
show at a low rate, so the keyframe's lesson dominates (the object's colours drift slowly,
the background changes as the camera moves, so it is updated faster).
"""

from __future__ import annotations

import cv2
import numpy as np

__all__ = ["ColourMemory", "colour_bins"]

LEVELS = 16                 # per channel: 4096 colour bins
BINS = LEVELS ** 3
PRIOR = 1.0 / BINS          # a tiny floor so unseen colours are uncertain, not impossible


def colour_bins(image: np.ndarray) -> np.ndarray:
    """Each pixel's colour bin (HxW int32) of 8-bit RGB ``image``."""
    q = (image >> 4).astype(np.int32)
    return (q[..., 0] * LEVELS + q[..., 1]) * LEVELS + q[..., 2]


def _histogram(bins: np.ndarray, where: np.ndarray) -> np.ndarray:
    counts = np.bincount(bins[where], minlength=BINS).astype(np.float64)
    # Neighbouring bins share a little: the same surface under a slightly different light.
    cube = cv2.GaussianBlur(counts.reshape(LEVELS, LEVELS * LEVELS), (3, 3), 0.6).ravel()
    total = cube.sum()
    return cube / total if total > 0 else np.full(BINS, 1.0 / BINS)


def surroundings(mask: np.ndarray) -> np.ndarray:
    """A wide ring around ``mask`` (bool): the background the object will be told from."""
    if not mask.any():
        return mask
    radius = max(3.0, 0.5 * float(np.sqrt(np.count_nonzero(mask))))
    distance = cv2.distanceTransform((~mask).astype(np.uint8), cv2.DIST_L2, 3)
    return (distance <= radius) & ~mask


class ColourMemory:
    """Object and background colour histograms from the keyframe, updated conservatively.

    The model used is ``key_weight`` of the keyframe's histogram plus the rest of a recent one
    that confident frames update at ``rate``: the object keeps most of the keyframe's say, the
    background (which the camera's motion changes) less.
    """

    def __init__(self, image: np.ndarray, mask: np.ndarray) -> None:
        hard = mask > 0.5
        bins = colour_bins(image)
        self.key_object = _histogram(bins, hard)
        self.key_background = _histogram(bins, surroundings(hard))
        self.recent_object, self.recent_background = self.key_object.copy(), self.key_background.copy()
        self.empty = not hard.any()

    OBJECT_KEY_WEIGHT, OBJECT_RATE = 0.7, 0.1
    BACKGROUND_KEY_WEIGHT, BACKGROUND_RATE = 0.3, 0.3

    def log_odds(self, image: np.ndarray) -> np.ndarray:
        """Per pixel, log p(colour | object) - log p(colour | background) (float32)."""
        obj = self.OBJECT_KEY_WEIGHT * self.key_object + (1 - self.OBJECT_KEY_WEIGHT) * self.recent_object
        bg = (self.BACKGROUND_KEY_WEIGHT * self.key_background
              + (1 - self.BACKGROUND_KEY_WEIGHT) * self.recent_background)
        lut = np.log(obj + PRIOR) - np.log(bg + PRIOR)
        return lut.astype(np.float32)[colour_bins(image)]

    def update(self, image: np.ndarray, mask: np.ndarray, maybe_object: np.ndarray | None = None) -> None:
        """Learn a little from a frame the walk trusts. ``maybe_object`` (bool): where the object
        may be beyond ``mask`` (its remembered shape), left out of the background it learns: a
        mask that lost a part must not teach that the part's colours are the background's, or
        the next cut loses more of it."""
        hard = mask > 0.5
        if not hard.any():
            return
        bins = colour_bins(image)
        ring = surroundings(hard)
        if maybe_object is not None:
            rest = ring & ~maybe_object
            # Unless it leaves too few pixels to say what the background looks like.
            ring = rest if np.count_nonzero(rest) >= 0.25 * np.count_nonzero(ring) else ring
        self.recent_object += self.OBJECT_RATE * (_histogram(bins, hard) - self.recent_object)
        self.recent_background += self.BACKGROUND_RATE * (_histogram(bins, ring) - self.recent_background)
