"""Engine calls off the UI thread: a thread pool, one EngineClient per thread, answers as signals.

ZeroMQ sockets are not thread-safe, so each pool thread connects its own client the first
time it runs a call and keeps it. A call is ``fn(client, task)``; ``task.progress(body)``
reports from the thread. Results, errors and progress are delivered on the UI thread through
one queued signal, then handed to the callbacks the caller gave.
"""

from __future__ import annotations

import itertools
import threading
from pathlib import Path
from typing import Any, Callable, Optional

from qtpy import QtCore

from moviola.plugin.client import EngineClient, JobHandle
from moviola.plugin.errors import EngineNotRunningError, EngineTimeoutError, MoviolaError

from . import gc_guard

__all__ = ["EngineWorker", "Task", "run_job", "describe_error"]

Connect = Callable[[], EngineClient]


class Task:
    """One call in flight: its id, a cancel flag, and a way to report progress."""

    def __init__(self, worker: EngineWorker, task_id: int) -> None:
        self.id = task_id
        self._worker = worker
        self.cancelled = False
        self.job_id: Optional[str] = None

    def progress(self, body: dict[str, Any]) -> None:
        self._worker._deliver_signal.emit(self.id, "progress", body)


class _Call(QtCore.QRunnable):
    def __init__(self, worker: EngineWorker, task: Task, fn: Callable[[Any, Task], Any],
                 engine: bool) -> None:
        super().__init__()
        self.setAutoDelete(True)
        self._worker, self._task, self._fn, self._engine = worker, task, fn, engine

    def run(self) -> None:
        worker, task = self._worker, self._task
        try:
            client = worker._client() if self._engine else None
            value = self._fn(client, task)
        except BaseException as exc:  # every failure goes back to the UI, none kills the pool
            if isinstance(exc, (EngineNotRunningError, EngineTimeoutError)):
                worker._drop_client()
            worker._deliver_signal.emit(task.id, "error", exc)
        else:
            worker._deliver_signal.emit(task.id, "done", value)
        finally:
            if worker._closed:  # shut down while this ran: this thread closes its own client
                worker._drop_client()


class EngineWorker(QtCore.QObject):
    """Runs engine calls on a small thread pool; callbacks run on the UI thread."""

    _deliver_signal = QtCore.Signal(int, str, object)

    def __init__(self, connect: Optional[Connect] = None, *, threads: int = 4,
                 discovery_file: Optional[Path] = None, timeout: float = 10.0,
                 parent: Optional[QtCore.QObject] = None) -> None:
        super().__init__(parent)
        self._connect = connect or (lambda: EngineClient.connect(
            autostart=False, timeout=timeout, discovery_file=discovery_file,
            client_name="moviola-panel"))
        self.discovery_file = discovery_file
        self.timeout = timeout
        self._pool = QtCore.QThreadPool(self)
        self._pool.setMaxThreadCount(threads)
        self._pool.setExpiryTimeout(-1)  # threads keep their clients; closed in shutdown()
        self._local = threading.local()
        self._clients: list[EngineClient] = []
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._callbacks: dict[int, tuple] = {}
        self._generation = 0     # bumped by reset_clients(): threads then reconnect
        self._closed = False
        self._holds_gc = True
        gc_guard.hold()  # a pool thread must never be the one that frees Qt objects
        self._deliver_signal.connect(self._deliver, QtCore.Qt.ConnectionType.QueuedConnection)

    def call(self, fn: Callable[[EngineClient, Task], Any], *,
             on_done: Optional[Callable[[Any], None]] = None,
             on_error: Optional[Callable[[BaseException], None]] = None,
             on_progress: Optional[Callable[[dict[str, Any]], None]] = None,
             engine: bool = True) -> Task:
        """Run ``fn(client, task)`` on a pool thread; the callbacks run on the UI thread.

        With ``engine=False`` the call needs no engine (reading a file): ``client`` is None.
        """
        task = Task(self, next(self._ids))
        self._callbacks[task.id] = (on_done, on_error, on_progress)
        self._pool.start(_Call(self, task, fn, engine))
        return task

    def pending(self) -> int:
        return len(self._callbacks)

    def wait(self, msecs: int = 30000) -> bool:
        return bool(self._pool.waitForDone(msecs))

    def reset_clients(self) -> None:
        """Make every thread connect afresh on its next call (a new engine was started)."""
        self._generation += 1

    def shutdown(self, msecs: int = 5000) -> None:
        """Wait for calls in flight (bounded), then close the clients of idle threads.

        A call still running after ``msecs`` closes its own thread's client when it ends: a
        socket is never closed under a thread that is using it. Garbage collection stays on
        the UI thread's timer until a later ``shutdown`` finds the pool done.
        """
        self._closed = True
        self._callbacks.clear()
        if self._pool.waitForDone(msecs):
            with self._lock:
                for client in self._clients:
                    client.close()
                self._clients.clear()
            if self._holds_gc:  # only once no pool thread can run Python code any more
                self._holds_gc = False
                gc_guard.release()

    # --- pool threads ------------------------------------------------------------------------

    def _client(self) -> EngineClient:
        client = getattr(self._local, "client", None)
        if client is not None and getattr(self._local, "generation", 0) != self._generation:
            self._drop_client()
            client = None
        if client is None:
            client = self._connect()
            self._local.client = client
            self._local.generation = self._generation
            with self._lock:
                self._clients.append(client)
        return client

    def _drop_client(self) -> None:
        client = getattr(self._local, "client", None)
        self._local.client = None
        if client is not None:
            with self._lock:
                if client in self._clients:
                    self._clients.remove(client)
            client.close()

    # --- UI thread ---------------------------------------------------------------------------

    def _deliver(self, task_id: int, what: str, value: Any) -> None:
        callbacks = self._callbacks.get(task_id)
        if callbacks is None:
            return
        on_done, on_error, on_progress = callbacks
        if what == "progress":
            if on_progress is not None:
                on_progress(value)
            return
        del self._callbacks[task_id]
        if what == "done" and on_done is not None:
            on_done(value)
        elif what == "error" and on_error is not None:
            on_error(value)


def run_job(client: EngineClient, task: Task, kind: str, params: dict[str, Any]) -> dict[str, Any]:
    """Submit a job and wait for it in a pool thread, reporting its id first, then progress."""
    handle: JobHandle = client.submit(kind, params)
    task.job_id = handle.job_id
    task.progress({"job_id": handle.job_id, "kind": kind, "fraction": 0.0, "started": True})
    return handle.wait(on_progress=lambda event: task.progress(event.body))


_TITLES = {
    "engine_unreachable": "Engine unreachable",
    "timeout": "Engine not answering",
    "media_not_found": "Media missing",
    "media_unreadable": "Media unreadable",
    "frame_out_of_range": "Frame out of range",
    "invalid_params": "Invalid settings",
    "job_failed": "Job failed",
    "cancelled": "Cancelled",
    "output_not_allowed": "Output folder refused",
    "unknown_job_kind": "Engine lacks this job",
}


def describe_error(exc: BaseException, doing: str = "") -> str:
    """A message that names the problem: what failed, and the engine's own words."""
    if isinstance(exc, MoviolaError):
        title = _TITLES.get(exc.code, "Error")
        text = f"{title}: {exc}"
    else:
        text = f"Error: {type(exc).__name__}: {exc}"
    return f"{doing}: {text}" if doing else text
