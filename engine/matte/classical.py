"""The backend that needs no downloaded weights: graph cuts seeded by clicks, carried by
optical flow, re-segmented around the carried mask on every frame.

- Keyframe: GrabCut (colour GMMs + max-flow) seeded by the clicks and box, with the region
  the clicks geodesically reach as probable foreground (:func:`.keyframe.segment_keyframe`).
- Each next frame: DIS optical flow carries the previous mask over (:mod:`.flow`); an
  affine motion fitted to the object and one to its surroundings say which band pixels move
  with the object; GrabCut then re-cuts only a thin band around the carried edge
  (:func:`.graphcut.resegment_band`), so the mask follows real edges without drifting far.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

from .appearance import ColourMemory
from .backend import MatteBackend, Tracker
from .flow import flow_mismatch, motion_evidence, object_motion
from .graphcut import resegment_band
from .keyframe import METHOD as KEYFRAME_METHOD
from .keyframe import segment_keyframe
from .prompts import Prompts
from .shape_memory import ShapeMemory
from .track_cut import cut, disk, hold_labels, keep_connected, reacquire_labels

__all__ = ["ClassicalBackend"]


class ClassicalTracker(Tracker):
    """The band cut alone: each frame is re-cut around the mask carried from the last one."""

    def __init__(self, band: int, motion_threshold: float, iterations: int) -> None:
        self.band = band
        self.motion_threshold = motion_threshold
        self.iterations = iterations

    def step(self, image: np.ndarray, flow: np.ndarray, carried: np.ndarray) -> np.ndarray:
        motion = motion_evidence(flow, carried, self.band)
        cut = resegment_band(image, carried, self.band, motion, self.motion_threshold,
                             self.iterations)
        return cut.astype(np.float32)


class HoldingTracker(ClassicalTracker):
    """The cut told by what the keyframe taught, so the walk holds the object.

    Each step cuts a region that reaches as far as the object may have grown or come back,
    offering it only pixels whose colours look like the keyframe's object (:mod:`.appearance`)
    or parts of its remembered shape (:mod:`.shape_memory`). The motion check is silent where
    the flow explains nothing (a part just uncovered) and looser the faster the object moves;
    carried pixels whose colours cannot tell stay unless they move with the background. Then
    the cut is checked against the flow's prediction: a cut that lost much of the carried mask
    keeps the carried pixels that still look like the object, and a mask that (nearly)
    vanished is re-acquired from the remembered colours near the remembered shape; when
    nothing there looks like the object, a small remnant that looks like the background is
    dropped (the object is hidden). Only frames whose cut agrees with the prediction teach the
    colour model and the shape (its background never from where the remembered shape is).
    """

    # Share of the object's size (square root of its area) it may grow or move beyond the
    # carried mask in one frame.
    REACH = 0.15
    # The cut kept less than this share of the flow-predicted area: it lost the object.
    SHRINK = 0.6
    # Less than this share of the remembered area: the object vanished; look for it.
    VANISH = 0.25
    # Area change against the prediction within which a frame is trusted to teach colours.
    TRUSTED = (0.8, 1.25)
    # Colour log-odds within this of zero: too close to call, so a carried pixel stays (e^0.5:
    # either side at most 1.6 times likelier; see _undecided).
    AMBIGUOUS_ODDS = 0.5
    # Flow noise (pixels) the motion check allows: one, plus FLOW_NOISE per pixel the object
    # moves in a frame beyond STEADY_SPEED (slower than that, the flow is as good as it gets, and
    # a look-alike it brushes past must still be told apart by its motion).
    FLOW_NOISE = 0.1
    STEADY_SPEED = 5.0
    REPLAYS = True

    def __init__(self, image: np.ndarray, mask: np.ndarray, band: int, motion_threshold: float,
                 iterations: int, keyframe: tuple[np.ndarray, np.ndarray] | None = None) -> None:
        super().__init__(band, motion_threshold, iterations)
        # A resumed walk starts from its keyframe, as an unbroken walk does; :meth:`replay` of
        # the cached frames then carries the shape and the lost state up to the resume frame.
        key_image, key_mask = keyframe if keyframe is not None else (image, mask)
        self.colours = ColourMemory(key_image, key_mask)
        self.shape = ShapeMemory(key_mask)
        self.previous = image   # the frame before the one a step gets (the flow's target)
        self.lost = 0      # frames since the last trusted one
        self.trusted_area = int(np.count_nonzero(key_mask > 0.5))   # the object's area then

    def step(self, image: np.ndarray, flow: np.ndarray, carried: np.ndarray) -> np.ndarray:
        # The motion fits (RANSAC) draw from OpenCV's per-thread generator: seeded here, a step
        # gives the same mask whatever ran on this thread before (the engine's job threads).
        cv2.setRNGSeed(0)
        hard = carried > 0.5
        predicted = int(np.count_nonzero(hard))
        remembered = self.shape.carry(flow, hard)
        known = hard | remembered
        # The object's remembered size, hidden parts too (its area when last trusted once the
        # remembered shape has faded).
        whole = max(self.shape.area, self.trusted_area, 1)
        reach = max(self.band, int(round(self.REACH * np.sqrt(whole))))
        odds = self.colours.log_odds(image)
        found = np.zeros_like(hard)
        if predicted:
            object_model, surroundings_model = object_motion(flow, carried, self.band)
            if not self.shape.measured:
                # Too little of the object is visible to measure its motion (slivers beside
                # an occluder, whose flow partly follows it): an affine fitted there is wild and
                # would call the object's own pixels background; its remembered motion holds.
                object_model = self.shape.model
            # The flow errs more the further things move: a fast object's limbs stray from its
            # fitted motion by more than a pixel without moving with the background.
            speed = float(np.hypot(*self.shape.shift))
            sigma = 1.0 + self.FLOW_NOISE * max(0.0, speed - self.STEADY_SPEED)
            motion = motion_evidence(flow, carried, self.band, sigma=sigma,
                                     models=(object_model, surroundings_model))
            if motion is not None:
                # Where the flow explains nothing (uncovered parts, missed jumps) it says nothing.
                motion[flow_mismatch(image, self.previous, flow)] = 0.0
            labels = hold_labels(hard, remembered, odds, motion, self.band, reach,
                                 self.motion_threshold)
            found = keep_connected(cut(image, labels, 3 * self.band, self.iterations), known)
            # Where the colours cannot tell (the object's shaded side on a ground of its hues),
            # the carried mask stands rather than the cut's guess, unless the pixel moves with
            # the background: each frame's small loss would otherwise be the next one's start.
            moving_away = motion < -self.motion_threshold if motion is not None else np.zeros_like(hard)
            found |= self._undecided(hard, odds) & ~moving_away
            if np.count_nonzero(found) < self.SHRINK * predicted:
                found |= hard & (odds > 0)
        if np.count_nonzero(found) < self.VANISH * whole:
            # Lost: look where it was lately, an object's size further for every frame it has
            # been gone (the flow misses what moves much faster than its size).
            search = reacquire_labels(self.shape.trace | known, self.shape.soft, odds,
                                      int(reach + np.sqrt(whole) * (1 + self.lost)),
                                      max(1, int(self.VANISH * whole)))
            if search is not None:
                found = cut(image, search, 3 * self.band, self.iterations)
            elif found.any() and float(odds[found].mean()) < 0:
                found = np.zeros_like(found)    # a remnant that looks like the background: hidden
        self._learn(image, found, predicted, whole)
        self.previous = image
        return found.astype(np.float32)

    def _undecided(self, hard: np.ndarray, odds: np.ndarray) -> np.ndarray:
        """Carried pixels (bool) whose colour cannot tell: deeper than the band inside the carried
        mask, any that do not lean to the background; at its edge, only those that lean neither
        way (there a look-alike the object brushes past leans to it, and is the cut's to judge)."""
        inner = cv2.erode(hard.astype(np.uint8), disk(self.band)).astype(bool)
        return (inner & (odds > -self.AMBIGUOUS_ODDS)) | (hard & (np.abs(odds) < self.AMBIGUOUS_ODDS))

    def _learn(self, image: np.ndarray, found: np.ndarray, predicted: int, whole: int) -> None:
        """Let a frame that agrees with the flow's prediction teach the colours and the shape."""
        area = int(np.count_nonzero(found))
        if (predicted and self.TRUSTED[0] <= area / predicted <= self.TRUSTED[1]
                and area >= self.VANISH * whole):
            self.colours.update(image, found, maybe_object=self.shape.soft > 0.5)
            self.shape.remember(found)
            self.lost, self.trusted_area = 0, area
        else:
            self.lost += 1

    def replay(self, image: np.ndarray, flow: np.ndarray, carried: np.ndarray,
               mask: np.ndarray) -> None:
        # The step without the cuts: the cached mask (blended, so close to but not the cut an
        # unbroken walk made) stands for what the step found.
        hard = carried > 0.5
        self.shape.carry(flow, hard)
        whole = max(self.shape.area, self.trusted_area, 1)
        self._learn(image, mask > 0.5, int(np.count_nonzero(hard)), whole)
        self.previous = image


class ClassicalBackend(MatteBackend):
    """Click-seeded GrabCut + DIS-flow propagation; runs anywhere OpenCV does."""

    NAME = "classical"
    TEMPORAL_BLEND = 0.6

    def __init__(self, working_size: int | None = None, band: float = 0.015,
                 motion_threshold: float = 6.0, key_iterations: int = 5,
                 track_iterations: int = 2, memory: bool = True) -> None:
        super().__init__(working_size)
        # False: the band cut alone, without the remembered colours and shape (the old walk).
        self.memory = bool(memory)
        self.band = float(band)                  # share of the working image diagonal
        self.motion_threshold = float(motion_threshold)
        self.key_iterations = int(key_iterations)
        self.track_iterations = int(track_iterations)

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "model": "grabcut+dis-flow",
                "settings": {"band": self.band, "motion_threshold": self.motion_threshold,
                             "key_iterations": self.key_iterations, "keyframe": KEYFRAME_METHOD,
                             "track_iterations": self.track_iterations, "memory": self.memory,
                             "temporal_blend": self.TEMPORAL_BLEND}}

    def _band_px(self, image: np.ndarray) -> int:
        h, w = image.shape[:2]
        return max(2, int(round(self.band * float(np.hypot(h, w)))))

    def segment(self, image: np.ndarray, prompts: Prompts, previous: np.ndarray | None = None,
                state: Any = None) -> np.ndarray:
        mask = segment_keyframe(image, prompts, previous, self.key_iterations)
        return mask.astype(np.float32)

    def tracker(self, image: np.ndarray, mask: np.ndarray,
                keyframe: tuple[np.ndarray, np.ndarray] | None = None) -> Tracker:
        if self.memory:
            return HoldingTracker(image, mask, self._band_px(image), self.motion_threshold,
                                  self.track_iterations, keyframe)
        return ClassicalTracker(self._band_px(image), self.motion_threshold, self.track_iterations)
