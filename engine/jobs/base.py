"""What a job kind is, and what a running job may ask of the engine.

A job kind names itself (``NAME``), declares its parameters as a dataclass (``Params``), may
check its inputs before it is queued (``check``), and ``run``s with a :class:`JobContext` that
reports progress and tells it when it has been cancelled. It returns a msgpack-friendly dict.
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

from . import schema


class JobContext:
    """Handed to ``JobKind.run``: progress reporting, cancellation, logging."""

    # Progress events are throttled so a fast loop cannot flood a client.
    MIN_PROGRESS_INTERVAL_S = 0.1

    def __init__(self, job_id: str, emit: Callable[[dict[str, Any]], None],
                 cancel_event: threading.Event, log: logging.Logger | None = None) -> None:
        self.job_id = job_id
        self._emit = emit
        self._cancel = cancel_event
        self._last_sent = 0.0
        self.log = log or logging.getLogger(f"moviola.engine.job.{job_id[:8]}")

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
            outcome.failed = True


class JobKind(ABC):
    """One kind of work the engine can do. Register subclasses in ``registry``."""

    NAME: ClassVar[str]
    DESCRIPTION: ClassVar[str] = ""
    Params: ClassVar[type]
    # "interactive": someone waits for it (a frame, a mask preview); it runs on its own small
    # pool and batch jobs yield to it (engine/lanes.py). Anything else is "batch".
    LANE: ClassVar[str] = "batch"

    def validate(self, raw: dict[str, Any]) -> Any:
        params = schema.validate(self.Params, raw)
        self.check(params)
        return params

    def check(self, params: Any) -> None:
        """Check inputs (files exist, ranges make sense) before queuing; raise typed errors."""

    @abstractmethod
    def run(self, params: Any, ctx: JobContext) -> dict[str, Any]:
        """Do the work; return the result as a msgpack-friendly map."""

    @classmethod
    def describe(cls) -> dict[str, Any]:
        return {"name": cls.NAME, "description": cls.DESCRIPTION, "params": schema.describe(cls.Params)}
