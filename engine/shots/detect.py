"""Shot boundaries of a clip: common types, the backend registry and :func:`detect_shots`.

A backend is a :class:`ShotDetector`: it is fed small frames in order (``push``) and gives its
cuts at the end (``finish``). It holds a bounded window of frames, never the clip.
Backends are listed by name in :data:`BACKENDS` as ``module:Class`` and imported on first
use; :func:`backends` gives them to the engine's backend registry (:mod:`moviola.engine.backends`),
which answers which one can run here and what ``auto`` means. A backend whose optional
dependency is missing reports itself unavailable, with the reason.

Frame numbers are the media's own (0-based for video, file numbers for sequences), the same
numbers :class:`~moviola.engine.media.frame_source.FrameSource` uses.
"""

from __future__ import annotations

import importlib
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, fields
from fractions import Fraction
from typing import Any, ClassVar

import numpy as np

from moviola.plugin.errors import InvalidParamsError

from .. import backends as registry
from ..media.frame_source import FrameSource
from .stream import small_frames

__all__ = ["Cut", "Shot", "Detection", "ShotDetector", "BACKENDS", "backends",
           "available_backends", "choose_backend", "check_settings", "make_detector",
           "detect_shots", "shots_from_cuts"]

KINDS = ("hard", "dissolve", "fade")


@dataclass(frozen=True)
class Cut:
    """A shot boundary. ``frame`` is the first frame of the new shot (the middle of a
    gradual transition); ``start``..``end`` (exclusive) is the transition's span, one frame
    for a hard cut."""

    frame: int
    kind: str                 # "hard" | "dissolve" | "fade"
    confidence: float
    start: int
    end: int

    def to_wire(self) -> dict[str, Any]:
        return {"frame": self.frame, "kind": self.kind,
                "confidence": round(float(self.confidence), 4),
                "span": [self.start, self.end]}


@dataclass(frozen=True)
class Shot:
    """Frames ``start`` .. ``end`` (exclusive) of one media file."""

    start: int
    end: int

    @property
    def middle(self) -> int:
        return (self.start + self.end - 1) // 2

    def __len__(self) -> int:
        return self.end - self.start


@dataclass
class Detection:
    """What :func:`detect_shots` found, and how."""

    cuts: list[Cut]
    shots: list[Shot]
    backend: str
    reason: str                          # why this backend ran
    first_frame: int
    frame_count: int
    rate: Fraction
    settings: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)

    def to_wire(self) -> dict[str, Any]:
        return {"cuts": [c.to_wire() for c in self.cuts],
                "shots": [{"start": s.start, "end": s.end} for s in self.shots],
                "backend": self.backend, "backend_reason": self.reason,
                "first_frame": self.first_frame, "frame_count": self.frame_count,
                "frame_rate": f"{self.rate.numerator}/{self.rate.denominator}",
                "settings": self.settings, "timings": self.timings}

    @classmethod
    def from_wire(cls, body: dict[str, Any]) -> Detection:
        num, _, den = str(body["frame_rate"]).partition("/")
        return cls(cuts=[Cut(c["frame"], c["kind"], c["confidence"], *c["span"]) for c in body["cuts"]],
                   shots=[Shot(s["start"], s["end"]) for s in body["shots"]],
                   backend=body["backend"], reason=body["backend_reason"],
                   first_frame=body["first_frame"], frame_count=body["frame_count"],
                   rate=Fraction(int(num), int(den or 1)), settings=body.get("settings", {}),
                   timings=body.get("timings", {}))


class ShotDetector(ABC):
    """One shot-boundary algorithm, fed frames in order."""

    NAME: ClassVar[str]
    WORKING_SIZE: ClassVar[tuple[int, int]]          # (width, height) of the frames it wants
    Settings: ClassVar[type]                         # dataclass of its thresholds

    @classmethod
    def available(cls) -> tuple[bool, str]:
        """Whether this backend can run here, and if not, why."""
        return True, ""

    @abstractmethod
    def push(self, n: int, frame: np.ndarray) -> None:
        """Take frame ``n`` (HxWx3 uint8 RGB at WORKING_SIZE); frames come in order."""

    @abstractmethod
    def finish(self) -> list[Cut]:
        """All cuts, in frame order, once every frame was pushed."""


#: name -> "module:Class"; imported lazily so a missing optional dependency costs nothing.
BACKENDS: dict[str, str] = {
    "classical": "moviola.engine.shots.classical:ClassicalDetector",
    "transnetv2": "moviola.engine.shots.transnet:TransNetDetector",
    "fused": "moviola.engine.shots.fused:FusedDetector",
}


def _backend_class(name: str) -> type[ShotDetector]:
    if name not in BACKENDS:
        raise InvalidParamsError(f"unknown shot backend {name!r}; known: auto, {', '.join(BACKENDS)}",
                                 detail={"param": "backend"})
    module, _, attr = BACKENDS[name].partition(":")
    return getattr(importlib.import_module(module), attr)


def _availability(name: str) -> Callable[[], tuple[bool, str]]:
    return lambda: _backend_class(name).available()


def backends(where: registry.Where) -> tuple[list[registry.Backend], registry.AutoRule]:
    """The shot backends, best first, and what ``auto`` means (for the backend registry)."""
    table = [registry.Backend("shots", name, _availability(name),
                              lambda rate, settings=None, _n=name: make_detector(_n, rate, settings))
             for name in ("fused", "transnetv2", "classical")]
    return table, _auto


def _has_cuda() -> bool:
    from ..devices import devices
    return any(d.get("type") == "cuda" and "error" not in d for d in devices())


def _auto(answers: Sequence[tuple[registry.Backend, bool, str]]) -> registry.Choice:
    """``auto`` runs the fused detector (TransNetV2 with the classical detector's checks)
    whenever torch, the TransNetV2 package and its weights are installed, on any device: on
    real footage it finds more transitions, and fewer false ones, than either detector alone
    (docs/shots-and-matchcuts.md), at tens of frames/s on two CPU cores. Otherwise the
    classical detector, with what is missing."""
    table = {b.name: (b, ok, why) for b, ok, why in answers}
    _, transnet_ok, transnet_why = table["transnetv2"]
    fused, classical = table["fused"][0], table["classical"][0]
    if transnet_ok:
        device = "cuda" if _has_cuda() else "cpu"
        return registry.Choice(fused, "auto: TransNetV2 installed: fused detector (TransNetV2 checked by "
                                      f"the classical detector) on {device}")
    return registry.Choice(classical, f"auto: classical detector; TransNetV2 cannot run: {transnet_why}")


def available_backends() -> dict[str, str]:
    """name -> "" when it can run here, else the reason it cannot."""
    return {row["name"]: row["reason"] for row in registry.status(tasks=["shots"])["shots"]}


def choose_backend(backend: str = "auto") -> tuple[str, str]:
    """Resolve ``backend`` ("auto" or a name) to a runnable backend and the reason for it.

    Raises:
        InvalidParamsError: an unknown backend, or one that cannot run here (says why).
    """
    choice = registry.choose("shots", backend, label="shot backend")
    return choice.name, choice.reason


def check_settings(name: str, settings: dict[str, Any] | None) -> Any:
    """Backend ``name``'s settings dataclass filled from ``settings``; typed error if a key is
    unknown or a value of the wrong type."""
    cls = _backend_class(name)
    known = {f.name for f in fields(cls.Settings)}
    unknown = sorted(set(settings or {}) - known)
    if unknown:
        raise InvalidParamsError(f"unknown {name} setting {unknown[0]!r}; known: {sorted(known)}",
                                 detail={"param": "thresholds"})
    defaults = cls.Settings()
    for key, value in (settings or {}).items():
        expected = type(getattr(defaults, key))
        accepted = (expected, int) if expected is float else (expected,)
        if isinstance(value, bool) or not isinstance(value, accepted):
            raise InvalidParamsError(f"{name} setting {key!r} must be {expected.__name__}, "
                                     f"got {value!r}", detail={"param": "thresholds"})
    return cls.Settings(**(settings or {}))


def make_detector(name: str, rate: Fraction, settings: dict[str, Any] | None = None) -> ShotDetector:
    """Build backend ``name`` with its settings dataclass filled from ``settings``."""
    return _backend_class(name)(check_settings(name, settings), rate)  # type: ignore[call-arg]


def settings_of(detector: ShotDetector) -> dict[str, Any]:
    return asdict(detector.settings)  # type: ignore[attr-defined]


def shots_from_cuts(cuts: list[Cut], first: int, stop: int) -> list[Shot]:
    """Shots between consecutive cut frames, covering ``first`` .. ``stop`` (exclusive)."""
    edges = [first] + [c.frame for c in cuts if first < c.frame < stop] + [stop]
    return [Shot(a, b) for a, b in zip(edges, edges[1:]) if b > a]


def detect_shots(source: FrameSource, backend: str = "auto", *,
                 settings: dict[str, Any] | None = None, start: int | None = None,
                 stop: int | None = None,
                 progress: Callable[[int, int], None] | None = None) -> Detection:
    """Find every shot boundary of ``source`` (or of frames ``start``..``stop``, exclusive),
    streaming its frames once at the backend's working size.

    Args:
        source: an open video or image sequence.
        backend: "auto", "classical", "transnetv2" or "fused".
        settings: the backend's thresholds (see its ``Settings`` dataclass).
        start, stop: the frames to look at; default the whole media.
        progress: called as ``progress(done, total)`` every few frames; it may raise
            (e.g. ``JobCancelledError``) to stop the work.

    Raises:
        InvalidParamsError: unknown or unavailable backend, unknown setting.
        MediaDecodeError: the media cannot be decoded.
    """
    started = time.perf_counter()
    name, reason = choose_backend(backend)
    info = source.info
    detector = make_detector(name, info.frame_rate, settings)
    first = info.start_frame if start is None else max(start, info.start_frame)
    stop = info.last_frame + 1 if stop is None else min(stop, info.last_frame + 1)
    total = max(0, stop - first)
    for i, (n, frame) in enumerate(small_frames(source, detector.WORKING_SIZE, range(first, stop))):
        detector.push(n, frame)
        if progress is not None and i % 16 == 0:
            progress(i, total)
    cuts = detector.finish()
    if progress is not None:
        progress(total, total)
    elapsed = time.perf_counter() - started
    return Detection(cuts=cuts, shots=shots_from_cuts(cuts, first, stop),
                     backend=name, reason=reason, first_frame=first, frame_count=total,
                     rate=info.frame_rate, settings=settings_of(detector),
                     timings={"detect_s": round(elapsed, 3),
                              "frames_per_s": round(total / elapsed, 1) if elapsed else 0.0})
