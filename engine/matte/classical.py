"""The backend that needs no downloaded weights: graph cuts seeded by clicks, carried by
optical flow, re-segmented around the carried mask on every frame.

- Keyframe: GrabCut (colour GMMs + max-flow) seeded by the clicks and box
  (:func:`.graphcut.segment_from_prompts`).
- Each next frame: DIS optical flow carries the previous mask over (:mod:`.flow`); an
  affine motion fitted to the object and one to its surroundings say which band pixels move
  with the object; GrabCut then re-cuts only a thin band around the carried edge
  (:func:`.graphcut.resegment_band`), so the mask follows real edges without drifting far.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .backend import MatteBackend, Tracker
from .flow import motion_evidence
from .graphcut import resegment_band, segment_from_prompts
from .prompts import Prompts

__all__ = ["ClassicalBackend"]


class ClassicalTracker(Tracker):
    def __init__(self, band: int, motion_threshold: float, iterations: int) -> None:
        self.band = band
        self.motion_threshold = motion_threshold
        self.iterations = iterations

    def step(self, image: np.ndarray, flow: np.ndarray, carried: np.ndarray) -> np.ndarray:
        motion = motion_evidence(flow, carried, self.band)
        cut = resegment_band(image, carried, self.band, motion, self.motion_threshold,
                             self.iterations)
        return cut.astype(np.float32)


class ClassicalBackend(MatteBackend):
    """Click-seeded GrabCut + DIS-flow propagation; runs anywhere OpenCV does."""

    NAME = "classical"
    TEMPORAL_BLEND = 0.6

    def __init__(self, working_size: int | None = None, band: float = 0.015,
                 motion_threshold: float = 6.0, key_iterations: int = 5,
                 track_iterations: int = 2) -> None:
        super().__init__(working_size)
        self.band = float(band)                  # share of the working image diagonal
        self.motion_threshold = float(motion_threshold)
        self.key_iterations = int(key_iterations)
        self.track_iterations = int(track_iterations)

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "model": "grabcut+dis-flow",
                "settings": {"band": self.band, "motion_threshold": self.motion_threshold,
                             "key_iterations": self.key_iterations,
                             "track_iterations": self.track_iterations,
                             "temporal_blend": self.TEMPORAL_BLEND}}

    def _band_px(self, image: np.ndarray) -> int:
        h, w = image.shape[:2]
        return max(2, int(round(self.band * float(np.hypot(h, w)))))

    def segment(self, image: np.ndarray, prompts: Prompts, previous: np.ndarray | None = None,
                state: Any = None) -> np.ndarray:
        mask = segment_from_prompts(image, prompts, previous, self.key_iterations)
        return mask.astype(np.float32)

    def tracker(self, image: np.ndarray, mask: np.ndarray) -> Tracker:
        return ClassicalTracker(self._band_px(image), self.motion_threshold, self.track_iterations)
