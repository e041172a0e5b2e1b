"""The classical shot detector: content change, blend test, black frames. No weights.

Three tests run over small frames (64x36 for changes, 32x18 for blends):

- **Hard cuts.** The mean RGB change between two frames must pass an absolute threshold, be
  several times the local motion level (the median change around it), so a fast pan or
  shaky footage, which changes every frame, does not cut, and be a spike: twice the change
  into and out of it, since a whip pan or a fast move builds up and dies down over frames.
  A candidate is a **flash** and is dropped when the picture before it comes back within a
  few frames (or the picture after it was there a few frames before), or when the two frames
  differ only in exposure (same contrast-normalised picture, same overall colour).
- **Dissolves.** Around each frame t and for several half-lengths k, the frames between
  t-k and t+k must be blends of those two ends: each fits ``A + alpha (B - A)`` with a small
  residual and alpha rising from 0 to 1 without a jump. A pan or a zoom changes as much
  but its frames are not blends of its ends; a hard cut is a jump in alpha.
- **Fades.** Runs of black frames, by the rules of :mod:`.fades` that every backend shares.

Memory: a few scalars per frame plus a window of ``2 * max transition`` tiny frames.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from fractions import Fraction

import cv2
import numpy as np

from .detect import Cut, ShotDetector
from .fades import combine, fade_cuts
from .motion import left_over

__all__ = ["ClassicalDetector", "ClassicalSettings"]


@dataclass(frozen=True)
class ClassicalSettings:
    """Thresholds of the classical detector. Changes are mean absolute RGB differences as a
    share of full scale (0..1); levels are 8-bit (0..255)."""

    cut_threshold: float = 0.06      # smallest change a hard cut makes
    cut_ratio: float = 2.0           # ... at least this many times the local motion level
    # ... and this many times the change into and out of it: a cut is one frame's jump, a whip
    # pan or a fast move builds up and dies down over several frames.
    cut_spike: float = 2.0
    flash_frames: int = 4            # the picture coming back within this many frames: a flash
    # A cut inside fast motion, which the tests above miss: the share of its change that
    # motion leaves unexplained must be at least this, and those tests must pass again on
    # what motion leaves unexplained of each change. On the test reels a whip pan's or a
    # shake's frames leave 0.2-0.7 of their change, cuts 0.5-1.0: this catches the cuts
    # that replace most of the picture.
    cut_left_over: float = 0.75
    gradual_change: float = 0.07     # smallest change across a dissolve
    gradual_residual: float = 0.35   # blend misfit / change above this: not a dissolve
    # Change weighted by how well the frames fit a blend. A moving, growing object over a
    # panning background fits a blend loosely at 32x18 (about 0.015); the weakest real
    # dissolve in the test reels scores 0.074.
    gradual_min_score: float = 0.03
    # Median share of the frame-to-frame change left once the motion is followed (optical
    # flow, or one shift of the whole frame), over the middle half of a dissolve candidate:
    # below this, motion explains the frames (a whip pan, shake) and it is no dissolve. On the
    # test reels whip pans and shake measure 0.35-0.48; real dissolves, between moving shots
    # too, 0.66-1.0 (two layers that no single motion carries).
    gradual_motion: float = 0.6
    max_transition_s: float = 1.5    # longest dissolve looked for
    black_level: float = 12.0        # mean level below which a frame is black
    black_hold_s: float = 0.75       # black this long is a segment of its own
    min_shot_s: float = 0.25         # cuts closer than this: the weaker one goes


_CHANGE_SIZE = (64, 36)
_BLEND_SIZE = (32, 18)
_LUMA = np.array([0.299, 0.587, 0.114], np.float32)


def _chromaticity(img: np.ndarray) -> np.ndarray:
    mean = img.reshape(-1, 3).mean(axis=0)
    return mean / max(float(mean.sum()), 1e-3)


def _normalised(img: np.ndarray) -> np.ndarray | None:
    """Luma with zero mean and unit spread; None for a flat picture (black, a slate)."""
    luma = img @ _LUMA
    std = float(luma.std())
    return None if std < 4.0 else (luma - luma.mean()) / std


class ClassicalDetector(ShotDetector):
    """Hard cuts, dissolves and fades from frame statistics, streaming."""

    NAME = "classical"
    WORKING_SIZE = _CHANGE_SIZE
    Settings = ClassicalSettings

    def __init__(self, settings: ClassicalSettings | None = None, rate: Fraction = Fraction(24)) -> None:
        self.settings = settings or ClassicalSettings()
        fps = float(rate) if rate else 24.0
        s = self.settings
        self._kmax = max(2, int(round(s.max_transition_s * fps / 2)))
        self._ks = sorted({k for k in (2, 3, 4, 6, 8, 11, 15, 20, 27, 36, 48) if k < self._kmax}
                          | {self._kmax})
        self._window = 6                               # frames each side for the motion level
        self._hard_lag = max(s.flash_frames, self._window) + 1
        self._min_shot = max(1, round(s.min_shot_s * fps))
        self._black_hold = max(2, round(s.black_hold_s * fps))
        self._first: int | None = None
        self._count = 0
        self._luma: list[float] = []                    # mean level per frame
        self._change: list[float] = [0.0]               # change from the previous frame
        self._frames: deque[np.ndarray] = deque(maxlen=self._hard_lag + s.flash_frames + 2)
        self._blends: deque[np.ndarray] = deque(maxlen=2 * self._kmax + 1)
        self._lumas: deque[np.ndarray] = deque(maxlen=2 * self._kmax + 1)
        self._left_over: dict[int, float] = {}          # frame i -> left_over(i - 1, i)
        self._hard: list[Cut] = []
        self._gradual: list[tuple[float, Cut]] = []
        self._next_hard = 1
        self._next_gradual = 0

    # ---- feeding ------------------------------------------------------------------------------

    def push(self, n: int, frame: np.ndarray) -> None:
        if self._first is None:
            self._first = n
        img = frame.astype(np.float32)
        if self._frames:
            self._change.append(float(np.abs(img - self._frames[-1]).mean()) / 255.0)
        self._luma.append(float((img @ _LUMA).mean()))
        self._frames.append(img)
        self._blends.append(cv2.resize(img, _BLEND_SIZE, interpolation=cv2.INTER_AREA))
        self._lumas.append(np.clip(img @ _LUMA + 0.5, 0, 255).astype(np.uint8))
        self._count += 1
        while self._next_hard + self._hard_lag < self._count:
            self._test_hard(self._next_hard)
            self._next_hard += 1
        while self._next_gradual + self._kmax < self._count:
            self._test_gradual(self._next_gradual)
            self._next_gradual += 1

    def finish(self) -> list[Cut]:
        while self._next_hard < self._count:
            self._test_hard(self._next_hard)
            self._next_hard += 1
        while self._next_gradual < self._count:
            self._test_gradual(self._next_gradual)
            self._next_gradual += 1
        return self._resolve()

    # ---- buffers: index i is the i-th frame pushed ----------------------------------------------

    def _frame(self, i: int) -> np.ndarray | None:
        back = self._count - 1 - i
        return self._frames[-1 - back] if 0 <= back < len(self._frames) else None

    def _blend_frame(self, i: int) -> np.ndarray:
        return self._blends[len(self._blends) - (self._count - i)]

    def _luma_frame(self, i: int) -> np.ndarray:
        return self._lumas[len(self._lumas) - (self._count - i)]

    def _carried_by_motion(self, t: int, k: int) -> bool:
        """Whether one displacement field explains most of the change from each frame to the
        next in the middle half of frames ``t - k``..``t + k`` (indexes pushed): motion, not
        a blend. The middle, where a dissolve mixes both shots most evenly: towards its ends
        one shot dominates, and its own motion carries the frames."""
        left = [self._left_over_at(i) for i in range(t - k // 2 + 1, t + k // 2 + 1)]
        for i in [i for i in self._left_over if i < self._count - len(self._lumas)]:
            del self._left_over[i]
        return bool(left) and float(np.median(left)) < self.settings.gradual_motion

    def _left_over_at(self, i: int) -> float:
        """The change from frame ``i - 1`` to ``i`` that motion leaves unexplained, as a share
        (:func:`.motion.left_over`); 1.0 where either frame has left the window."""
        if i not in self._left_over:
            held_from = self._count - len(self._lumas)
            if not held_from < i < self._count:
                return 1.0
            self._left_over[i] = left_over(self._luma_frame(i - 1), self._luma_frame(i))
        return self._left_over[i]

    def _cut_through_motion(self, t: int) -> float | None:
        """A cut inside fast motion: a frame whose change motion cannot explain, standing out
        from the changes around it once what motion explains is taken out of each. A cut into
        or between fast-moving shots changes little more than their own motion does, so the
        plain tests miss it; a whip pan's or a shake's biggest jump is explained by the
        motion and stays out. The margin by which it passes; None when it does not."""
        s = self.settings
        left = self._left_over_at(t)
        if left < s.cut_left_over:
            return None
        w = self._window
        last = len(self._change) - 1

        def residual(i: int) -> float:
            return self._change[i] * self._left_over_at(i) if 1 <= i <= last else 0.0

        change = residual(t)
        around = [residual(i) for i in [*range(max(1, t - w), t - 1), *range(t + 2, min(last, t + w) + 1)]]
        level = float(np.median(around)) if around else 0.0
        neighbours = max(residual(t - 1), residual(t + 1))
        margin = min(change / (s.cut_ratio * level + 0.01), change / max(s.cut_spike * neighbours, 1e-6),
                     change / s.cut_threshold) - 1.0
        return margin if margin >= 0 else None

    def _number(self, i: int) -> int:
        return (self._first or 0) + i

    # ---- hard cuts --------------------------------------------------------------------------------

    def _test_hard(self, t: int) -> None:
        s = self.settings
        change = self._change[t]
        if change < s.cut_threshold:
            return
        w = self._window
        around = self._change[max(1, t - w):t - 1] + self._change[t + 2:t + w + 1]
        level = float(np.median(around)) if around else 0.0
        neighbours = max(self._change[t - 1] if t > 1 else 0.0,
                         self._change[t + 1] if t + 1 < len(self._change) else 0.0)
        margin = min(change / s.cut_threshold, change / (s.cut_ratio * level + 0.01),
                     change / max(s.cut_spike * neighbours, 1e-6)) - 1.0
        if margin < 0:
            through = self._cut_through_motion(t)
            if through is None:
                return
            margin = through
        before, after = self._frame(t - 1), self._frame(t)
        assert before is not None and after is not None
        # A flash: the picture before it comes back within a few frames (its start), or the
        # picture after it was there a few frames earlier (its end).
        for j in range(1, s.flash_frames + 1):
            for seen, again in ((before, self._frame(t + j)), (after, self._frame(t - 1 - j))):
                if again is None:
                    continue
                back = float(np.abs(again - seen).mean()) / 255.0
                if back < 0.5 * change and back < s.cut_threshold:
                    return
        # Only the exposure changed (a flash that lingers, lights switched on): the same
        # picture once contrast is normalised, and the same overall colour.
        a, b = _normalised(before), _normalised(after)
        if (a is not None and b is not None and float(np.abs(a - b).mean()) < 0.3
                and float(np.abs(_chromaticity(before) - _chromaticity(after)).max()) < 0.04):
            return
        confidence = 0.5 + 0.5 * min(1.0, margin)
        n = self._number(t)
        self._hard.append(Cut(n, "hard", confidence, n, n + 1))

    # ---- dissolves ------------------------------------------------------------------------------

    def _test_gradual(self, t: int) -> None:
        s = self.settings
        best: tuple[float, Cut] | None = None
        held_from = self._count - len(self._blends)
        for k in self._ks:
            if t - k < held_from or t + k >= self._count:
                continue
            if self._luma[t - k] < s.black_level or self._luma[t + k] < s.black_level:
                continue  # a fade: the black-frame rules own it
            a, b = self._blend_frame(t - k), self._blend_frame(t + k)
            delta = b - a
            change = float(np.abs(delta).mean()) / 255.0
            if change < s.gradual_change:
                continue
            mids = np.stack([self._blend_frame(i) for i in range(t - k + 1, t + k)])
            dd = float((delta * delta).sum())
            alphas = np.clip(((mids - a) * delta).sum(axis=(1, 2, 3)) / dd, 0.0, 1.0)
            fit = a[None] + alphas[:, None, None, None] * delta[None]
            misfit = float(np.abs(mids - fit).mean()) / 255.0 / change
            if misfit > s.gradual_residual:
                continue
            steps = np.diff(np.concatenate([[0.0], alphas, [1.0]]))
            if steps.max() > 0.5 or (steps >= -0.05).mean() < 0.8:
                continue  # a jump is a hard cut; a dissolve rises steadily
            if not 0.2 <= alphas[k - 1] <= 0.8:
                continue  # t must lie inside the transition
            inside = np.flatnonzero((alphas > 0.03) & (alphas < 0.97))
            start = t - k + 1 + int(inside[0]) if inside.size else t
            end = t - k + 2 + int(inside[-1]) if inside.size else t + 1
            middle = t - k + 1 + int(np.argmin(np.abs(alphas - 0.5)))
            score = change * (1.0 - misfit / s.gradual_residual)
            if score < s.gradual_min_score:
                continue
            if self._carried_by_motion(t, k):
                continue
            cut = Cut(self._number(middle), "dissolve", min(1.0, 0.5 + score * 2),
                      self._number(start), self._number(end))
            if best is None or score > best[0]:
                best = (score, cut)
        if best is not None:
            self._gradual.append(best)

    # ---- putting it together --------------------------------------------------------------------

    def _resolve(self) -> list[Cut]:
        s = self.settings
        first = self._first or 0
        fades, owned = fade_cuts(self._luma, first, black_level=s.black_level,
                                 hold=self._black_hold, max_ramp=2 * self._kmax)
        hard_frames = {c.frame for c in self._hard}
        gradual: list[Cut] = []
        # The same dissolve is seen from several centres: keep the best-fitting one.
        for _, cut in sorted(self._gradual, key=lambda sc: -sc[0]):
            if any(cut.start <= f < cut.end for f in hard_frames):
                continue
            if any(cut.start < g.end and g.start < cut.end for g in gradual):
                continue
            gradual.append(cut)
        return combine(fades, owned, self._hard + gradual, first=first, min_gap=self._min_shot)
