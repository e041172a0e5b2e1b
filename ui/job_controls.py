"""A job's buttons and progress: run, a progress bar, cancel, and what happened."""

from __future__ import annotations

from typing import Any, Optional

from qtpy import QtCore, QtWidgets

from moviola.plugin.errors import JobCancelledError

from .worker import EngineWorker, Task, describe_error, run_job

__all__ = ["JobControls"]


class JobControls(QtWidgets.QWidget):
    """Runs one engine job at a time, with progress and a cancel button."""

    started = QtCore.Signal(str)            # job id
    progressed = QtCore.Signal(float)       # fraction 0..1
    finished = QtCore.Signal(object)        # the job's result
    failed = QtCore.Signal(str)             # a message naming the problem

    def __init__(self, worker: EngineWorker, label: str, kind: str,
                 parent: Optional[QtWidgets.QWidget] = None) -> None:
        super().__init__(parent)
        self.worker, self.kind = worker, kind
        self.task: Optional[Task] = None
        self.job_id: Optional[str] = None
        self.fractions: list = []            # every fraction shown, for tests and logs
        self.run_button = QtWidgets.QPushButton(label)
        self.cancel_button = QtWidgets.QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel)
        self.bar = QtWidgets.QProgressBar()
        self.bar.setRange(0, 1000)
        self.bar.setValue(0)
        self.bar.setTextVisible(True)
        self.bar.setFormat("%p%")
        self.state = QtWidgets.QLabel("")
        self.state.setWordWrap(True)
        layout = QtWidgets.QGridLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.run_button, 0, 0)
        layout.addWidget(self.cancel_button, 0, 1)
        layout.addWidget(self.bar, 1, 0, 1, 2)
        layout.addWidget(self.state, 2, 0, 1, 2)

    @property
    def running(self) -> bool:
        return self.task is not None

    def run(self, params: dict[str, Any]) -> None:
        if self.task is not None:
            return
        self.job_id = None
        self.fractions = []
        self.bar.setValue(0)
        self.state.setText("submitting…")
        self.run_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.task = self.worker.call(lambda c, t: run_job(c, t, self.kind, params),
                                     on_done=self._done, on_error=self._error,
                                     on_progress=self._progress)

    def cancel(self) -> None:
        """Ask the engine to cancel the job (from another thread: its own client)."""
        job_id = self.job_id
        if self.task is None:
            return
        self.task.cancelled = True
        self.cancel_button.setEnabled(False)
        self.state.setText("cancelling…")
        if job_id is not None:
            self.worker.call(lambda c, t: c.cancel(job_id), on_error=self._error_cancel)

    def _progress(self, body: dict[str, Any]) -> None:
        if body.get("started"):
            self.job_id = body.get("job_id")
            self.state.setText(f"{self.kind} running")
            self.started.emit(self.job_id or "")
            if self.task is not None and self.task.cancelled:
                self.cancel()
            return
        fraction = float(body.get("fraction") or 0.0)
        self.fractions.append(fraction)
        self.bar.setValue(int(round(fraction * 1000)))
        message = body.get("message") or ""
        self.state.setText(f"{self.kind}: {body.get('done', '?')}/{body.get('total', '?')} {message}")
        self.progressed.emit(fraction)

    def _done(self, result: dict[str, Any]) -> None:
        self._reset()
        self.bar.setValue(1000)
        self.state.setText(f"{self.kind} done")
        self.finished.emit(result)

    def _error(self, exc: BaseException) -> None:
        self._reset()
        text = "cancelled" if isinstance(exc, JobCancelledError) else describe_error(exc, self.kind)
        self.state.setText(text)
        self.failed.emit(text)

    def _error_cancel(self, exc: BaseException) -> None:
        self.state.setText(describe_error(exc, "cancel"))

    def _reset(self) -> None:
        self.task = None
        self.run_button.setEnabled(True)
        self.cancel_button.setEnabled(False)
