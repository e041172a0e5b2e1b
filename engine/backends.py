"""Which backend runs a task here: one registry for shots, mattes, depth and silhouettes.

Every task lists its backends in preference order, best first. Each entry is a
:class:`Backend`: a name, an availability function answering ``(ok, reason)`` and a factory.
The availability functions never import torch, so the server thread can answer ``hello`` and
check a request before it is queued. The tables are data
(:data:`TASKS`: task -> ``"module:function"`` giving its entries), imported on first use, so
this module loads nothing heavy and no capability package imports another through it.

``auto`` means the first available entry that may run by default (not ``opt_in``, e.g. a
non-commercial model); a task may give its own rule instead (shots: the fused detector whenever
TransNetV2 is installed, saying so). Every choice comes with the reason for it, which results report
("which detector ran and why").

One answer serves everyone: ``hello``/``engine status`` list :func:`status`; the jobs choose
through :func:`choose` (via each package's own entry point, e.g. ``shots.detect.choose_backend``).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from moviola.plugin.errors import InvalidParamsError

from .models.registry import ModelRegistry, ModelSpec
from .models.store import WeightsStore

__all__ = ["AUTO", "Backend", "Choice", "Where", "TASKS", "entries", "status", "choose",
           "first_available", "weights_answer"]

AUTO = "auto"


class Where:
    """What availability depends on: the weights store, the model registry, and the model a
    request names (for tasks where one backend runs several models). The engine passes its
    own store and registry (:class:`~moviola.engine.engine_view.EngineView`); a place given
    neither knows no models, so only the backends that need no weights can run there."""

    def __init__(self, store: WeightsStore | None = None, models: ModelRegistry | None = None,
                 model: str | None = None) -> None:
        self._store, self._models, self.model = store, models, model

    @classmethod
    def of(cls, engine: Any, model: str | None = None) -> Where:
        """The place an engine view (anything with ``store`` and ``models``) describes."""
        return cls(engine.store, engine.models, model)

    @property
    def store(self) -> WeightsStore | None:
        return self._store

    @property
    def models(self) -> ModelRegistry:
        if self._models is None:
            self._models = ModelRegistry()
        return self._models

    def asking(self, model: str | None) -> Where:
        """The same place, for a request naming ``model``."""
        return Where(self._store, self._models, model)


@dataclass(frozen=True)
class Backend:
    """One way to run a task."""

    task: str
    name: str
    available: Callable[[], tuple[bool, str]]   # (ok, why not); never imports torch
    factory: Callable[..., Any]                  # makes it; arguments are the task's own
    opt_in: bool = False                         # never chosen by ``auto`` (licence)
    info: dict[str, Any] = field(default_factory=dict)   # e.g. licence, needs weights


@dataclass(frozen=True)
class Choice:
    """The backend a request resolved to, and why."""

    backend: Backend
    reason: str

    @property
    def name(self) -> str:
        return self.backend.name


def weights_answer(store: WeightsStore | None, spec: ModelSpec) -> Callable[[], tuple[bool, str]]:
    """The availability of a registry model's backend: its stack and its weights."""
    def answer() -> tuple[bool, str]:
        if store is None:
            return False, "no weights store given"
        reason = store.unavailable_reason(spec)
        return not reason, reason
    return answer


#: task -> "module:function"; the function takes a :class:`Where` and returns the task's
#: backends, best first (and optionally an ``auto`` rule, see :func:`choose`).
TASKS: dict[str, str] = {
    "shots": "moviola.engine.shots.detect:backends",
    "matte": "moviola.engine.matte.backend:backends",
    "depth": "moviola.engine.depth.backends:backends",
    "segmentation": "moviola.engine.matchcuts.segmentation:backends",
}

AutoRule = Callable[[Sequence[tuple[Backend, bool, str]]], Choice]


def _table(task: str, where: Where) -> tuple[list[Backend], AutoRule | None]:
    if task not in TASKS:
        raise KeyError(f"unknown task {task!r}; known: {', '.join(TASKS)}")
    module, _, attr = TASKS[task].partition(":")
    found = getattr(importlib.import_module(module), attr)(where)
    if isinstance(found, tuple):
        return list(found[0]), found[1]
    return list(found), None


def entries(task: str, where: Where | None = None) -> list[Backend]:
    """Task ``task``'s backends, best first."""
    return _table(task, where or Where())[0]


def _answer(backend: Backend) -> tuple[bool, str]:
    try:
        ok, why = backend.available()
    except ImportError as exc:
        ok, why = False, f"cannot import: {exc}"
    return bool(ok), "" if ok else str(why)


def status(where: Where | None = None, tasks: Sequence[str] | None = None
           ) -> dict[str, list[dict[str, Any]]]:
    """Per task, every backend with whether it can run here and why not: what ``hello``
    and ``moviola engine status`` show."""
    where = where or Where()
    out: dict[str, list[dict[str, Any]]] = {}
    for task in tasks or TASKS:
        rows = []
        for backend in entries(task, where):
            ok, why = _answer(backend)
            rows.append({"name": backend.name, "available": ok, "reason": why,
                         "opt_in": backend.opt_in, **backend.info})
        out[task] = rows
    return out


def first_available(answers: Sequence[tuple[Backend, bool, str]]) -> Choice:
    """The default ``auto`` rule: the first available backend that is not opt-in, with the
    better ones it passed over and why."""
    passed: list[str] = []
    for backend, ok, why in answers:
        if ok and not backend.opt_in:
            reason = "auto: " + (f"{'; '.join(passed)}" if passed else "the best backend here")
            return Choice(backend, reason)
        if not backend.opt_in:
            passed.append(f"{backend.name} cannot run ({why})")
    raise InvalidParamsError("no backend can run here: " + "; ".join(passed),
                             detail={"param": "backend"})


def choose(task: str, name: str = AUTO, where: Where | None = None, *,
           param: str = "backend", label: str | None = None) -> Choice:
    """Resolve ``name`` (``auto`` or a backend's name) to a backend that can run here.

    Raises:
        InvalidParamsError: an unknown name, or a backend that cannot run here (says why);
            ``detail.param`` is ``param``.
    """
    where = where or Where()
    table, rule = _table(task, where)
    label = label or f"{task} backend"
    if name == AUTO:
        return (rule or first_available)([(b, *_answer(b)) for b in table])
    by_name = {b.name: b for b in table}
    backend = by_name.get(name)
    if backend is None:
        raise InvalidParamsError(f"unknown {label} {name!r}; known: {', '.join([AUTO, *by_name])}",
                                 detail={"param": param})
    ok, why = _answer(backend)
    if not ok:
        raise InvalidParamsError(f"{label} {name!r} cannot run here: {why}",
                                 detail={"param": param, "backend": name})
    return Choice(backend, "requested")
