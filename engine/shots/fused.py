"""TransNetV2 and the classical detector together: the network decides, the classical tests
settle the transitions it is unsure of.

TransNetV2's transitions above its threshold stand as they are. Below it, a local peak of
its per-frame probability between ``low_threshold`` and ``threshold`` is a transition the
network half-saw: it is kept when the classical detector independently found a cut or a
dissolve there (its blend test passed: the frames in between mix the two shots), and
dropped otherwise. The classical cut gives its kind and span. Fades come from the shared
black-frame rules (:mod:`.fades`), as in both detectors.

Both detectors are fed the same frames: the classical one at 64x36, the network at its 48x27
scaled down from them. Memory is the sum of the two, a few hundred KB.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import cv2
import numpy as np

from .classical import ClassicalDetector, ClassicalSettings
from .detect import Cut, ShotDetector
from .fades import combine, fade_cuts
from .motion import left_over
from .transnet import TransNetDetector, TransNetSettings

__all__ = ["FusedDetector", "FusedSettings"]

_LUMA = np.array([0.299, 0.587, 0.114], np.float32)


@dataclass(frozen=True)
class FusedSettings:
    threshold: float = 0.5        # network transitions above this stand on their own
    low_threshold: float = 0.2    # peaks from here to threshold need the classical detector
    near_frames: int = 2          # how far a classical cut may be from the network's peak
    # A network transition below this that the classical detector did not find is dropped
    # when motion explains its frames: the network takes a whip pan's peak for a cut.
    sure_threshold: float = 0.7
    motion_left_over: float = 0.6  # ... its change left once motion is followed, below this
    device: str = "auto"
    black_level: float = 12.0
    black_hold_s: float = 0.75
    min_shot_s: float = 0.25


class FusedDetector(ShotDetector):
    """TransNetV2's transitions, plus its low-confidence ones that the classical detector
    confirms."""

    NAME = "fused"
    WORKING_SIZE = ClassicalDetector.WORKING_SIZE
    Settings = FusedSettings

    @classmethod
    def available(cls) -> tuple[bool, str]:
        return TransNetDetector.available()

    def __init__(self, settings: FusedSettings | None = None, rate: Fraction = Fraction(24)) -> None:
        self.settings = s = settings or FusedSettings()
        self._fps = float(rate) if rate else 24.0
        self._classical = ClassicalDetector(ClassicalSettings(
            black_level=s.black_level, black_hold_s=s.black_hold_s, min_shot_s=s.min_shot_s), rate)
        self._network = TransNetDetector(TransNetSettings(
            threshold=s.threshold, device=s.device, black_level=s.black_level,
            black_hold_s=s.black_hold_s, min_shot_s=s.min_shot_s), rate)
        self._first: int | None = None
        self.network_cuts: list[Cut] = []     # what TransNetV2 alone found, after finish()
        self._last_luma: np.ndarray | None = None
        self._left_over: list[float] = []     # per frame: motion.left_over from the frame before

    def push(self, n: int, frame: np.ndarray) -> None:
        if self._first is None:
            self._first = n
        self._classical.push(n, frame)
        luma = np.clip(frame.astype(np.float32) @ _LUMA + 0.5, 0, 255).astype(np.uint8)
        last, self._last_luma = self._last_luma, luma
        self._left_over.append(1.0 if last is None else left_over(last, luma))
        self._network.push(n, cv2.resize(frame, TransNetDetector.WORKING_SIZE, interpolation=cv2.INTER_AREA))

    def finish(self) -> list[Cut]:
        s = self.settings
        first = self._first or 0
        sure = self.network_cuts = self._network.finish()
        seen = self._classical.finish()
        probs, _ = self._network.probabilities
        fades, owned = fade_cuts(self._network.luma, first, black_level=s.black_level,
                                 hold=max(2, round(s.black_hold_s * self._fps)),
                                 max_ramp=round(3 * self._fps))
        confirmed = [self._confirmed(peak, probs, seen, first) for peak in self._unsure_peaks(probs)]
        taken = [c for c in sure if c.kind != "fade" and not self._made_by_motion(c, seen, first)]
        extra = [c for c in confirmed if c is not None
                 and not any(c.start - 1 < t.end and t.start < c.end + 1 for t in taken)]
        return combine(fades, owned, taken + extra, first=first,
                       min_gap=max(1, round(s.min_shot_s * self._fps)))

    def _made_by_motion(self, cut: Cut, seen: list[Cut], first: int) -> bool:
        """A network transition short of ``sure_threshold`` that the classical detector did
        not find, over frames that motion carries: for a hard cut its one frame, for a
        dissolve the middle half of its span (where both shots mix most evenly)."""
        s = self.settings
        if cut.confidence >= s.sure_threshold:
            return False
        near = s.near_frames
        if any(c.kind != "fade" and c.start - near < cut.end and cut.start < c.end + near for c in seen):
            return False
        if cut.kind == "hard":
            frames = [cut.frame]
        else:
            quarter = (cut.end - cut.start) // 4
            frames = list(range(cut.start + quarter + 1, cut.end - quarter))
        left = [self._left_over[n - first] for n in frames if 0 < n - first < len(self._left_over)]
        return bool(left) and float(np.median(left)) < s.motion_left_over

    def _unsure_peaks(self, probs: np.ndarray) -> list[int]:
        """Frames where the network's probability peaks between the two thresholds."""
        s = self.settings
        peaks = []
        for i, p in enumerate(probs):
            if not s.low_threshold <= p < s.threshold:
                continue
            left = probs[i - 1] if i else 0.0
            right = probs[i + 1] if i + 1 < len(probs) else 0.0
            if p >= left and p > right:
                peaks.append(i)
        return peaks

    def _confirmed(self, peak: int, probs: np.ndarray, seen: list[Cut], first: int) -> Cut | None:
        """The classical cut near the network's peak at index ``peak``, with the network's
        probability folded into its confidence; None when the classical detector saw none.
        The single-frame head marks the last frame of the outgoing shot, so the cut is at
        ``peak + 1``."""
        n = first + peak + 1
        near = self.settings.near_frames
        close = [c for c in seen if c.kind != "fade" and c.start - near <= n < c.end + near]
        if not close:
            return None
        cut = min(close, key=lambda c: abs(c.frame - n))
        confidence = 0.5 * (float(probs[peak]) + cut.confidence)
        return Cut(cut.frame, cut.kind, confidence, cut.start, cut.end)
