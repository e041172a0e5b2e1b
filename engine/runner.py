"""Runs jobs on two bounded thread pools, one per lane, and keeps their records.

The server thread never does work itself: it hands admitted jobs here and goes back to
serving, so ``hello``, ``job_status`` and ``cancel`` answer while jobs run. Batch jobs run on
``max_jobs`` workers; interactive ones (``frame``, ``matte_preview``) on their own
``interactive_jobs`` workers, and batch workers yield to them (:mod:`..lanes`). Workers report
through ``notify`` (which must be thread-safe); cancellation is a flag checked between units of
work by the job itself.
"""

from __future__ import annotations

import logging
import threading
import time
import traceback
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable

import msgpack

from moviola.plugin.errors import InternalEngineError, JobCancelledError, MoviolaError
from moviola.plugin.protocol import JobState, MessageType, new_id

from .engine_view import EngineView
from .jobs.base import JobContext, JobKind
from .lanes import BATCH, INTERACTIVE, InteractiveGate, lane_of

log = logging.getLogger(__name__)

Notify = Callable[["Job", MessageType, dict[str, Any]], None]


@dataclass
class Job:
    id: str
    kind: str
    params: Any
    owner: bytes                  # the submitting client: its session key, or its ZeroMQ identity
    request_id: str               # the submit request's id; events carry it as ``re``
    detach: bool
    lane: str = BATCH
    prepared: Any = None          # what the kind's check() returned, for run() as ctx.prepared
    state: JobState = JobState.QUEUED
    created: float = field(default_factory=time.time)
    started: float | None = None
    finished: float | None = None
    progress: dict[str, Any] = field(default_factory=dict)
    result: dict[str, Any] | None = None
    error: dict[str, Any] | None = None
    cancel_event: threading.Event = field(default_factory=threading.Event)
    watchers: set[tuple[bytes, str]] = field(default_factory=set)  # (client key, request id)

    def to_wire(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "job_id": self.id, "kind": self.kind, "state": self.state.value,
            "created": self.created, "started": self.started, "finished": self.finished,
            "progress": self.progress, "detach": self.detach,
        }
        if self.result is not None:
            body["result"] = self.result
        if self.error is not None:
            body["error"] = self.error
        return body


def _unsendable(result: Any) -> str:
    """Why ``result`` cannot travel in a message ("" when it can): e.g. a lone surrogate."""
    try:
        msgpack.packb(result, use_bin_type=True)
    except (TypeError, ValueError, UnicodeError, OverflowError) as exc:
        return f"{type(exc).__name__}: {exc}"
    return ""


class JobRunner:
    def __init__(self, max_jobs: int, notify: Notify, keep_finished: int = 500,
                 interactive_jobs: int = 2, engine: EngineView | None = None) -> None:
        self.engine = engine   # the engine's settings, models, store, devices: every job's ctx.engine
        self._pools = {
            BATCH: ThreadPoolExecutor(max_workers=max(1, max_jobs), thread_name_prefix="moviola-job"),
            INTERACTIVE: ThreadPoolExecutor(max_workers=max(1, interactive_jobs),
                                            thread_name_prefix="moviola-interactive"),
        }
        self.interactive = InteractiveGate()
        self._notify = notify
        self._keep_finished = keep_finished
        self._jobs: OrderedDict[str, Job] = OrderedDict()
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)

    # --- queries -----------------------------------------------------------------------------

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            return self._jobs.get(job_id)

    def jobs(self, include_finished: bool = True) -> list[dict[str, Any]]:
        with self._lock:
            return [j.to_wire() for j in self._jobs.values()
                    if include_finished or not j.state.finished]

    def active_count(self) -> int:
        with self._lock:
            return sum(1 for j in self._jobs.values() if not j.state.finished)

    # --- changes -----------------------------------------------------------------------------

    def submit(self, kind: JobKind, params: Any, owner: bytes, request_id: str, detach: bool,
               prepared: Any = None) -> Job:
        """Queue an admitted job on its kind's lane (its parameters already checked)."""
        job = Job(id=new_id(), kind=kind.NAME, params=params, owner=owner,
                  request_id=request_id, detach=detach, lane=lane_of(kind), prepared=prepared)
        job.watchers.add((owner, request_id))
        if job.lane == INTERACTIVE:
            self.interactive.enter()  # batch workers yield from now until it finishes
        with self._lock:
            self._jobs[job.id] = job
            self._forget_old()
        self._pools[job.lane].submit(self._run, kind, job)
        return job

    def cancel(self, job: Job) -> None:
        job.cancel_event.set()
        with self._lock:
            if job.state is not JobState.QUEUED:
                return
            # A queued job never starts: finish it here so nobody waits for a worker.
            self._finish(job, JobState.CANCELLED, error=JobCancelledError("job was cancelled").to_wire())

    def cancel_orphans(self, last_seen: dict[bytes, float], timeout_s: float,
                       now: float | None = None) -> list[Job]:
        """Cancel attached jobs whose client has been silent longer than ``timeout_s``.

        ``last_seen`` is keyed like :attr:`Job.owner`; ``now`` is the caller's clock reading.
        """
        now = time.monotonic() if now is None else now
        with self._lock:
            orphans = [j for j in self._jobs.values()
                       if not j.detach and not j.state.finished
                       and now - last_seen.get(j.owner, now) > timeout_s]
        for job in orphans:
            log.warning("cancelling job %s: its client has been silent for over %.0f s", job.id, timeout_s)
            self.cancel(job)
        return orphans

    def shutdown(self, wait: bool, timeout_s: float = 30.0) -> None:
        with self._lock:
            running = [j for j in self._jobs.values() if not j.state.finished]
        for job in running:
            self.cancel(job)
        if wait:
            deadline = time.monotonic() + timeout_s
            with self._idle:
                while any(not j.state.finished for j in self._jobs.values()):
                    left = deadline - time.monotonic()
                    if left <= 0:
                        break
                    self._idle.wait(left)
        for pool in self._pools.values():
            pool.shutdown(wait=False, cancel_futures=True)

    # --- worker side -------------------------------------------------------------------------

    def _run(self, kind: JobKind, job: Job) -> None:
        with self._lock:
            if job.state is not JobState.QUEUED:
                return
            job.state = JobState.RUNNING
            job.started = time.time()

        def emit(progress: dict[str, Any]) -> None:
            job.progress = progress
            self._notify(job, MessageType.PROGRESS, {"job_id": job.id, "state": "running", **progress})

        ctx = JobContext(job.id, emit, job.cancel_event, engine=self.engine, prepared=job.prepared)
        if job.lane == BATCH:  # every cancellation check is also a point to let the artist go first
            ctx.yield_point = self.interactive.yield_to_interactive
        try:
            result = kind.run(job.params, ctx)
            ctx.check_cancelled()  # a job that ignored the flag still ends cancelled
        except JobCancelledError as exc:
            with self._lock:
                self._finish(job, JobState.CANCELLED, error=exc.to_wire())
        except MoviolaError as exc:
            log.warning("job %s (%s) failed: %s", job.id, job.kind, exc)
            with self._lock:
                self._finish(job, JobState.FAILED, error=exc.to_wire())
        except Exception as exc:  # a bug in a job must not take the engine down
            log.error("job %s (%s) crashed:\n%s", job.id, job.kind, traceback.format_exc())
            err = InternalEngineError(f"{job.kind} job crashed: {type(exc).__name__}: {exc}")
            with self._lock:
                self._finish(job, JobState.FAILED, error=err.to_wire())
        else:
            unsendable = _unsendable(result)
            with self._lock:
                if unsendable:  # the watchers would never hear of the end: fail it, saying why
                    log.error("job %s (%s) result cannot be sent: %s", job.id, job.kind, unsendable)
                    err = InternalEngineError(f"{job.kind} job's result cannot be sent: {unsendable}")
                    self._finish(job, JobState.FAILED, error=err.to_wire())
                else:
                    self._finish(job, JobState.SUCCEEDED, result=result)

    def _finish(self, job: Job, state: JobState, *, result: dict | None = None,
                error: dict | None = None) -> None:
        """Record the end of a job and tell its watchers. Call with the lock held."""
        if job.state.finished:
            return
        job.state, job.result, job.error, job.finished = state, result, error, time.time()
        job.prepared = None  # a finished record keeps no resolved inputs alive
        if job.lane == INTERACTIVE:
            self.interactive.leave()
        self._notify(job, MessageType.RESULT, job.to_wire())
        self._idle.notify_all()

    def _forget_old(self) -> None:
        finished = [k for k, j in self._jobs.items() if j.state.finished]
        for key in finished[: max(0, len(finished) - self._keep_finished)]:
            del self._jobs[key]
