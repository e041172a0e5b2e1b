"""The interface every matte backend offers, and the table of backends.

A backend works at a working resolution on 8-bit RGB frames (:mod:`.frames`):

- :meth:`MatteBackend.segment` turns one frame's prompts (and optionally the mask being
  refined) into a soft mask: the interactive request and the keyframes of a job;
- :meth:`MatteBackend.tracker` carries a keyframe's mask through consecutive frames in one
  direction (:mod:`.propagate` drives it and adds the temporal smoothing);
- :meth:`MatteBackend.frame_state` precomputes what repeated clicks on one frame can share
  (e.g. a model's image embedding), so the interactive loop pays for it once per frame.

Backends are looked up by name through the engine's backend registry
(:mod:`moviola.engine.backends`, fed by :func:`backends`); ``"auto"`` picks the best one that
can run here (SAM 2 when its stack and weights are present). Neural backends import torch
lazily, so this table loads without it.
"""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np

from moviola.plugin.errors import InvalidParamsError

from .. import backends as registry
from ..media.identity import cache_key
from .prompts import Prompts

__all__ = ["Tracker", "MatteBackend", "BACKENDS", "backends", "backend_names", "create_backend",
           "backend_status"]


class Tracker(ABC):
    """Carries one object's mask forward or backward, one frame per :meth:`step`."""

    #: True for trackers whose memory :meth:`replay` rebuilds (a resumed walk replays its cached
    #: frames only for them).
    REPLAYS: ClassVar[bool] = False

    @abstractmethod
    def step(self, image: np.ndarray, flow: np.ndarray, carried: np.ndarray) -> np.ndarray:
        """The object's soft mask (float32 0..1) on ``image``.

        ``flow`` maps ``image`` back onto the previous frame of the walk; ``carried`` is the
        previous (smoothed) mask moved along it. Backends with their own memory may ignore both.
        """

    def replay(self, image: np.ndarray, flow: np.ndarray, carried: np.ndarray,  # noqa: B027
               mask: np.ndarray) -> None:
        """Learn from a frame the walk already made (``mask``, cached), as :meth:`step` would
        have, without estimating it: rebuilds a resumed walk's memory. ``flow`` and
        ``carried`` as in :meth:`step`. Does nothing for trackers without such a memory."""

    def close(self) -> None:  # noqa: B027 -- a deliberate no-op default: trackers holding nothing skip it
        """Release what the walk holds (model memory, sessions)."""


class MatteBackend(ABC):
    """A way to make mattes: a segmenter for prompts and a tracker for propagation."""

    NAME: ClassVar[str]
    #: Longest side of the working resolution when the caller does not choose one.
    DEFAULT_WORKING_SIZE: ClassVar[int] = 480
    #: True for backends that run a model from the registry (``model=`` names it).
    USES_MODEL: ClassVar[bool] = False
    #: Share of each new frame's own estimate in the temporally smoothed mask (the rest is
    #: the previous smoothed mask carried along the flow). Lower: steadier, slower to react.
    TEMPORAL_BLEND: ClassVar[float] = 0.6

    def __init__(self, working_size: int | None = None) -> None:
        self.working_size = int(self.DEFAULT_WORKING_SIZE if working_size is None else working_size)

    @classmethod
    def unavailable_reason(cls, model: str | None = None, store: Any = None,
                           registry: Any = None) -> str | None:
        """Why this backend (with ``model``, from ``store`` and ``registry``: the engine's when
        None) cannot run here: a missing package or missing weights; None when it can."""
        return None

    def describe(self) -> dict[str, Any]:
        """Provenance: backend, model, weights hash, settings that change results."""
        return {"backend": self.NAME, "model": None, "weights_sha256": None,
                "working_size": self.working_size}

    def config_key(self) -> str:
        """A hash of everything that changes results (part of every cache key)."""
        return cache_key(self.describe())

    def frame_state(self, image: np.ndarray) -> Any:
        """What repeated prompts on this frame can share; None when nothing is worth keeping."""
        return None

    @abstractmethod
    def segment(self, image: np.ndarray, prompts: Prompts, previous: np.ndarray | None = None,
                state: Any = None) -> np.ndarray:
        """Soft mask (float32 0..1, working resolution) for ``prompts`` (working pixels)."""

    @abstractmethod
    def tracker(self, image: np.ndarray, mask: np.ndarray,
                keyframe: tuple[np.ndarray, np.ndarray] | None = None) -> Tracker:
        """A tracker that starts from ``mask`` on ``image`` (the keyframe). ``keyframe``: the
        walk's keyframe (image, mask) when the walk resumes from a later frame, for trackers
        that learn what the object looks like from it (None: ``image`` is the keyframe)."""


#: name -> "module:Class"; imported only when asked for.
BACKENDS = {
    "classical": "moviola.engine.matte.classical:ClassicalBackend",
    "sam2": "moviola.engine.matte.sam2:Sam2Backend",
}


def backend_names() -> list[str]:
    return ["auto", *BACKENDS]


def _load(name: str) -> type[MatteBackend]:
    module, _, cls = BACKENDS[name].partition(":")
    return getattr(importlib.import_module(module), cls)


def _availability(name: str, where: registry.Where) -> Callable[[], tuple[bool, str]]:
    def answer() -> tuple[bool, str]:
        problem = _load(name).unavailable_reason(where.model, where.store, where.models)
        return problem is None, problem or ""
    return answer


def backends(where: registry.Where) -> list[registry.Backend]:
    """The matte backends, best first (for the backend registry); the factory is the class."""
    return [registry.Backend("matte", name, _availability(name, where),
                             lambda _n=name: _load(_n), info={"uses_model": name == "sam2"})
            for name in BACKENDS if name != "classical"] + [
        registry.Backend("matte", "classical", lambda: (True, ""), lambda: _load("classical"),
                         info={"uses_model": False})]


def backend_status(model: str | None = None, engine: Any = None) -> dict[str, dict[str, Any]]:
    """Per backend: whether it can run here (``engine``: the engine's view, with its weights
    store and models; without one only weight-free backends can), and why not."""
    where = registry.Where.of(engine, model) if engine is not None else registry.Where(model=model)
    rows = registry.status(where, tasks=["matte"])["matte"]
    return {row["name"]: {"available": row["available"], "reason": row["reason"] or None}
            for row in rows}


def create_backend(name: str, working_size: int | None = None, model: str | None = None,
                   where: Any = None, **options: Any) -> MatteBackend:
    """Make the backend called ``name`` (``"auto"``: SAM 2 when usable, else classical).

    ``model`` names a registry model for neural backends (their default when None).
    ``where`` is the engine's view (its weights store and model registry); without one only
    the classical backend can run.

    Raises:
        InvalidParamsError: unknown name, a model for a backend without one, or the backend
            cannot run here (the message says why).
    """
    if name != "auto" and name in BACKENDS and model is not None and not _load(name).USES_MODEL:
        raise InvalidParamsError(f"matte backend {name!r} uses no model; drop model={model!r}",
                                 detail={"param": "model"})
    place = registry.Where.of(where, model) if where is not None else registry.Where(model=model)
    choice = registry.choose("matte", name, place, label="matte backend")
    cls = choice.backend.factory()
    if model is not None and not cls.USES_MODEL:
        raise InvalidParamsError(f"matte backend {choice.name!r} uses no model; drop "
                                 f"model={model!r}", detail={"param": "model"})
    if model is not None:
        options["model"] = model
    if cls.USES_MODEL:
        options.setdefault("store", place.store)
        options.setdefault("registry", place.models)
    return cls(working_size=working_size, **options)
