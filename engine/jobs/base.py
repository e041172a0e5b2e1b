"""What a job kind is, and what a running job may ask of the engine.

A job kind names itself (``NAME``), declares its parameters as a dataclass (``Params``), may
check its inputs before it is queued (``check``), and ``run``s with a :class:`JobContext` that
reports progress, tells it when it has been cancelled, and carries what the engine knows
(:class:`~moviola.engine.engine_view.EngineView`: settings, models, weights store, devices)
and what ``check`` found (``ctx.prepared``: e.g. the input and output folder it resolved), so
nothing is read or resolved twice. It returns a msgpack-friendly dict.
"""

from __future__ import annotations

import logging
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Callable, ClassVar

from moviola.plugin.errors import JobCancelledError, MoviolaError

from ..engine_view import EngineView
from ..inputs import CheckedInput
from . import schema


class JobContext:
    """Handed to ``JobKind.run``: progress reporting, cancellation, logging, the engine's
    view (``engine``) and what the kind's ``check`` returned (``prepared``)."""

    # Progress events are throttled so a fast loop cannot flood a client.
    MIN_PROGRESS_INTERVAL_S = 0.1

    def __init__(self, job_id: str, emit: Callable[[dict[str, Any]], None],
                 cancel_event: threading.Event, log: logging.Logger | None = None, *,
                 engine: EngineView | None = None, prepared: Any = None) -> None:
        self.job_id = job_id
        self._emit = emit
        self._cancel = cancel_event
        self._last_sent = 0.0
        self._engine = engine
        self.prepared = prepared
        self.log = log or logging.getLogger(f"moviola.engine.job.{job_id[:8]}")

    @property
    def engine(self) -> EngineView:
        """The engine's view; a job run without an engine (a script) reads its own once."""
        if self._engine is None:
            self._engine = EngineView.load()
        return self._engine

    def checked(self, kind: JobKind, params: Any) -> Any:
        """What ``kind.check`` returned for these parameters: the one the engine kept from
        before queuing, or (a job run directly, without ``prepare``) a fresh check."""
        if self.prepared is None:
            self.prepared = kind.check(params, self.engine)
        return self.prepared

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    # The runner sets this for batch jobs: a short wait while interactive work (a frame
    # fetch, a mask preview) is pending, at every cancellation check (see engine/lanes.py).
    yield_point: Callable[[], None] = staticmethod(lambda: None)

    def check_cancelled(self) -> None:
        """Raise JobCancelledError if the job was cancelled; call between units of work.
        For a batch job it is also where it lets interactive work go first."""
        self.yield_point()
        if self._cancel.is_set():
            raise JobCancelledError("job was cancelled", detail={"job_id": self.job_id})

    def progress(self, done: int, total: int, message: str = "", **extra: Any) -> None:
        """Report ``done`` of ``total`` units; also checks for cancellation."""
        self.check_cancelled()
        now = time.monotonic()
        if done < total and now - self._last_sent < self.MIN_PROGRESS_INTERVAL_S:
            return
        self._last_sent = now
        self._emit({"done": int(done), "total": int(total), "message": message,
                    "fraction": (done / total) if total else 0.0, **extra})


@dataclass(frozen=True)
class Prepared:
    """What a frame job's ``check`` resolved, handed to its ``run``: the input (stat'ed and
    classified once), the output folder (``out`` or the ``output_dir`` default), and the
    backend ``auto`` resolved to, where the kind has one."""

    input: CheckedInput
    out: str
    backend: str | None = None


@dataclass
class ClipOutcome:
    failed: bool = False


class ClipFailures:
    """The failure policy of a job over several clips (or media files).

    One clip's typed failure becomes a problem line and the other clips still get done; with
    a single clip its failure is the job's failure; a cancel always stops the whole job.
    """

    def __init__(self, count: int) -> None:
        self.count = count
        self.problems: list[str] = []
        self.failed: list[str] = []   # the labels (clip names) that failed, in order

    @contextmanager
    def clip(self, label: str) -> Iterator[ClipOutcome]:
        outcome = ClipOutcome()
        try:
            yield outcome
        except JobCancelledError:
            raise
        except MoviolaError as exc:
            if self.count == 1:
                raise
            self.problems.append(f"{label}: {exc}")
            self.failed.append(label)
            outcome.failed = True


class JobKind(ABC):
    """One kind of work the engine can do. Register subclasses in ``registry``."""

    NAME: ClassVar[str]
    DESCRIPTION: ClassVar[str] = ""
    Params: ClassVar[type]
    # "interactive": someone waits for it (a frame, a mask preview); it runs on its own small
    # pool and batch jobs yield to it (engine/lanes.py). Anything else is "batch".
    LANE: ClassVar[str] = "batch"

    def validate(self, raw: dict[str, Any], engine: EngineView | None = None) -> Any:
        """The parameters, typed and checked; raises typed errors naming the problem."""
        return self.prepare(raw, engine or EngineView.load())[0]

    def prepare(self, raw: dict[str, Any], engine: EngineView) -> tuple[Any, Any]:
        """``(params, prepared)``: the typed parameters and what :meth:`check` returned, which
        the engine hands to :meth:`run` as ``ctx.prepared``."""
        params = schema.validate(self.Params, raw)
        return params, self.check(params, engine)

    def check(self, params: Any, engine: EngineView) -> Any:
        """Check inputs (files exist, ranges make sense) before queuing; raise typed errors.

        Runs before the submit is answered, on the engine's admission pool (never the server
        thread); keep it quick: no heavy imports (torch, transformers, cv2), no I/O beyond a
        stat. Whatever it returns (e.g. a resolved input and output folder) reaches
        :meth:`run` as ``ctx.prepared``."""
        return None

    @abstractmethod
    def run(self, params: Any, ctx: JobContext) -> dict[str, Any]:
        """Do the work; return the result as a msgpack-friendly map."""

    @classmethod
    def describe(cls) -> dict[str, Any]:
        return {"name": cls.NAME, "description": cls.DESCRIPTION, "lane": cls.LANE,
                "params": schema.describe(cls.Params)}
