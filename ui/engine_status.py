"""The engine's state at a glance: connected or not, version, devices, backends, models, jobs.

Polls off the UI thread: ``hello`` until it answers, then ``list_jobs`` every couple of
seconds; a failed poll turns the light red and says why. "Start engine" starts a local engine
when none runs (the client's own launcher, as the command line does).
"""

from __future__ import annotations

from typing import Any, Optional

from qtpy import QtCore, QtWidgets

from moviola.plugin.client import EngineClient
from moviola.plugin.errors import EngineNotRunningError

from .worker import EngineWorker, describe_error

__all__ = ["EngineStatus", "summarize_hello"]


def summarize_hello(hello: dict[str, Any]) -> str:
    """One line: version, devices, available backends and installed models."""
    devices = []
    for d in hello.get("devices", []) or []:
        if isinstance(d, dict) and d.get("type") == "cpu":
            devices.append(f"cpu ({d.get('cores', '?')} cores)")
        elif isinstance(d, dict):
            devices.append(f"{d.get('type', 'device')} {d.get('name', '')}".strip())
        else:
            devices.append(str(d))
    backends = hello.get("backends", {}) or {}
    available = []
    for task, rows in (backends.items() if isinstance(backends, dict) else []):
        # Per task, the best backend that can run here (rows come best first).
        usable = [r.get("name", "?") for r in rows or []
                  if isinstance(r, dict) and r.get("available")]
        if usable:
            available.append(f"{task} {usable[0]}")
    models = hello.get("models", []) or []
    installed = [m.get("name", "?") for m in models if isinstance(m, dict) and m.get("installed")]
    return (f"engine {hello.get('engine_version', '?')} · devices: {', '.join(devices) or 'none'}"
            f" · backends: {', '.join(available) or 'none'}"
            f" · models: {len(installed)}/{len(models)} installed")


class EngineStatus(QtWidgets.QWidget):
    """A light, a summary line, running jobs with progress, and a start button."""

    connectedChanged = QtCore.Signal(bool)

    def __init__(self, worker: EngineWorker, *, poll_ms: int = 2000, autostart: bool = False,
                 parent: Optional[QtWidgets.QWidget] = None) -> None:
        super().__init__(parent)
        self.worker = worker
        self.autostart = autostart   # start a local engine once if none answers at first
        self.connected: Optional[bool] = None
        self.hello: dict[str, Any] = {}
        self.jobs: list[dict[str, Any]] = []
        self.message = "connecting…"
        self._busy = False
        self.light = QtWidgets.QLabel("●")
        self.text = QtWidgets.QLabel(self.message)
        self.text.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        self.jobs_label = QtWidgets.QLabel("")
        self.start_button = QtWidgets.QPushButton("Start engine")
        self.start_button.setVisible(False)
        self.start_button.clicked.connect(self.start_engine)
        row = QtWidgets.QHBoxLayout(self)
        row.setContentsMargins(4, 2, 4, 2)
        row.addWidget(self.light)
        row.addWidget(self.text, 1)
        row.addWidget(self.jobs_label)
        row.addWidget(self.start_button)
        self._paint_light()
        self.timer = QtCore.QTimer(self)
        self.timer.setInterval(poll_ms)
        self.timer.timeout.connect(self.refresh)
        self.timer.start()
        QtCore.QTimer.singleShot(0, self.refresh)

    def refresh(self) -> None:
        if self._busy:
            return
        self._busy = True
        if not self.connected:
            self.worker.call(lambda c, t: (c.hello(), c.list_jobs(include_finished=False)),
                             on_done=self._hello_done, on_error=self._failed)
        else:
            self.worker.call(lambda c, t: c.list_jobs(include_finished=False),
                             on_done=self._jobs_done, on_error=self._failed)

    def start_engine(self) -> None:
        """Start a local engine (if none runs) and connect to it."""
        self.start_button.setEnabled(False)
        self._set(False, "starting an engine…")
        discovery = self.worker.discovery_file

        def start(client: Any, task: Any) -> dict[str, Any]:
            with EngineClient.connect(autostart=True, discovery_file=discovery,
                                      client_name="moviola-panel") as fresh:
                return fresh.hello()

        self.worker.call(start, engine=False, on_done=self._started, on_error=self._failed)

    def _started(self, hello: dict[str, Any]) -> None:
        self.worker.reset_clients()   # threads still holding the old endpoint reconnect
        self.start_button.setEnabled(True)
        self._busy = False
        self.refresh()

    def _hello_done(self, answer: Any) -> None:
        self._busy = False
        self.hello, jobs = answer
        self._set(True, summarize_hello(self.hello))
        self._jobs_done(jobs)

    def _jobs_done(self, jobs: list[dict[str, Any]]) -> None:
        self._busy = False
        self.jobs = jobs
        parts = []
        for job in jobs:
            fraction = (job.get("progress") or {}).get("fraction")
            parts.append(f"{job.get('kind')} {round(100 * fraction) if fraction is not None else 0}%"
                         if job.get("state") == "running" else f"{job.get('kind')} {job.get('state')}")
        self.jobs_label.setText(("jobs: " + ", ".join(parts)) if parts else "no jobs running")

    def _failed(self, exc: BaseException) -> None:
        self._busy = False
        self.start_button.setEnabled(True)
        self.jobs = []
        self.jobs_label.setText("")
        self._set(False, describe_error(exc))
        if self.autostart and isinstance(exc, EngineNotRunningError):
            self.autostart = False
            self.start_engine()

    def _set(self, connected: bool, message: str) -> None:
        changed = connected != self.connected
        self.connected, self.message = connected, message
        self.text.setText(message)
        self.start_button.setVisible(not connected)
        self._paint_light()
        if changed:
            self.connectedChanged.emit(connected)

    def _paint_light(self) -> None:
        colour = {True: "#3c3", False: "#e44", None: "#aa3"}[self.connected]
        self.light.setStyleSheet(f"color: {colour}; font-size: 16px;")
