"""A long engine job that never blocks Nuke.

The job runs on a worker thread with its own engine connection; its progress shows in a
``nuke.ProgressTask`` driven from that thread (as Foundry's threading example does), and the
task's cancel button is polled. Whatever touches nodes or the UI goes back to Nuke's main
thread through ``nuke.executeInMainThread``.
"""

from __future__ import annotations

import threading
from typing import Any, Callable

from moviola.plugin import EngineClient
from moviola.plugin.errors import JobCancelledError, MoviolaError

__all__ = ["BackgroundJob", "connect"]

CANCEL_POLL_S = 0.1
CLIENT_NAME = "moviola-nuke"


def connect(autostart: bool = True) -> EngineClient:
    """The engine this bridge talks to: the running one, or one it starts."""
    return EngineClient.connect(autostart=autostart, client_name=CLIENT_NAME)


class BackgroundJob:
    """Submit ``kind`` with ``params`` off the main thread; hand its result to ``on_result``
    (or its error to ``on_error``) on the main thread."""

    def __init__(self, kind: str, params: dict[str, Any], title: str,
                 on_result: Callable[[dict[str, Any]], Any],
                 on_error: Callable[[BaseException], Any] | None = None,
                 connect_engine: Callable[[], EngineClient] = connect,
                 on_finish: Callable[[], Any] | None = None) -> None:
        self.kind, self.params, self.title = kind, params, title
        self.on_finish = on_finish   # on the worker, however the job ended (temp files)
        self.on_result, self.on_error = on_result, on_error or report_error
        self.connect_engine = connect_engine
        self.job_id: str | None = None
        self.error: BaseException | None = None
        self.result: dict[str, Any] | None = None
        self.thread = threading.Thread(target=self._run, name=f"moviola-{kind}", daemon=True)
        self._done = threading.Event()

    def start(self) -> BackgroundJob:
        self.thread.start()
        return self

    def join(self, timeout: float | None = None) -> bool:
        self.thread.join(timeout)
        return not self.thread.is_alive()

    def _run(self) -> None:
        import nuke

        task = nuke.ProgressTask(self.title)
        task.setMessage("starting")
        watcher: threading.Thread | None = None
        try:
            with self.connect_engine() as client:
                job = client.submit(self.kind, self.params)
                self.job_id = job.job_id
                watcher = threading.Thread(target=self._watch_cancel, args=(task, job.job_id),
                                           name=f"moviola-{self.kind}-cancel", daemon=True)
                watcher.start()
                for event in job.events(heartbeat_interval=0.5):
                    if event.type == "progress":
                        fraction = float(event.body.get("fraction") or 0.0)
                        task.setProgress(max(0, min(100, int(fraction * 100))))
                        if event.body.get("message"):
                            task.setMessage(str(event.body["message"]))
                result = job.result()
            task.setProgress(100)
            self.result = result
            nuke.executeInMainThread(self.on_result, args=(result,))
        except (MoviolaError, OSError) as exc:
            self.error = exc
            nuke.executeInMainThread(self.on_error, args=(exc,))
        finally:
            self._done.set()
            if watcher is not None:
                watcher.join()
            if self.on_finish is not None:
                self.on_finish()
            del task   # releasing the task closes Nuke's progress bar

    def _watch_cancel(self, task: Any, job_id: str) -> None:
        """Poll the task's cancel button; cancel through a connection of this thread's own
        (a client's socket belongs to one thread)."""
        while not self._done.wait(CANCEL_POLL_S):
            if task.isCancelled():
                try:
                    with self.connect_engine() as client:
                        client.cancel(job_id)
                except MoviolaError:
                    pass   # the job ended meanwhile, or the engine is gone: the worker reports it
                return


def report_error(exc: BaseException) -> None:
    """Tell the artist, in Nuke's own message box (main thread)."""
    import nuke

    if isinstance(exc, JobCancelledError):
        return
    nuke.message(f"Moviola: {exc}")
