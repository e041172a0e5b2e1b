"""An unobtrusive offer of a mode's neural model when its weights are not installed.

The engine's ``hello`` says, per task, which model ``auto`` would run if it were installed
(``offers``: name, size, licence, what it adds, whether the registry pins a download). Where it
does, the banner's button asks first (size, licence, where from), then runs the
``install_model`` job with a progress bar and a cancel button; once the model is in, the engine
is asked again and :attr:`ModelOffer.helloChanged` lets the mode refresh its backends. A model
with no pinned download is offered as the command that installs it from the publisher's files.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional

from qtpy import QtCore, QtWidgets

from moviola.plugin.model_offers import offer_size, size_text

from .job_controls import JobControls

if TYPE_CHECKING:
    from .panel import MoviolaPanel

__all__ = ["ModelOffer", "offer_title"]


def offer_title(offer: dict[str, Any]) -> str:
    """The model's display name: its description up to the colon, else its registry name."""
    description = str(offer.get("description") or "")
    name = description.split(":", 1)[0].strip() if ":" in description else ""
    return name or str(offer.get("model"))


class InstallControls(JobControls):
    """The install job's bar and cancel button; its line says bytes and rate, not units."""

    def _progress(self, body: dict[str, Any]) -> None:
        super()._progress(body)
        if not body.get("started") and body.get("message"):
            self.state.setText(str(body["message"]))


class ModelOffer(QtWidgets.QFrame):
    """The banner of one task's offer (hidden when there is none)."""

    helloChanged = QtCore.Signal(object)   # the engine's hello, asked again after an install
    installed = QtCore.Signal(str)         # the model whose weights were installed

    def __init__(self, panel: MoviolaPanel, task: str,
                 parent: Optional[QtWidgets.QWidget] = None) -> None:
        super().__init__(parent)
        self.panel, self.task = panel, task
        self.offer: Optional[dict[str, Any]] = None
        self.dialog: Optional[QtWidgets.QMessageBox] = None
        self.setFrameShape(QtWidgets.QFrame.Shape.StyledPanel)
        self.text = QtWidgets.QLabel("")
        self.text.setWordWrap(True)
        self.text.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        self.install_button = QtWidgets.QPushButton("")
        self.install_button.clicked.connect(self.ask)
        self.job = InstallControls(panel.worker, "Install", "install_model")
        self.job.run_button.setVisible(False)
        self.job.setVisible(False)
        self.job.finished.connect(self._installed)
        self.job.failed.connect(self._failed)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 4)
        layout.addWidget(self.text)
        layout.addWidget(self.install_button)
        layout.addWidget(self.job)
        self.setVisible(False)
        panel.status.connectedChanged.connect(lambda up: self.refresh() if up else None)
        QtCore.QTimer.singleShot(0, self.refresh)

    def refresh(self) -> None:
        """Ask the engine what it offers now."""
        self.panel.worker.call(lambda c, t: c.hello(), on_done=self.show_hello,
                               on_error=lambda exc: None)   # the status bar reports the engine

    def show_hello(self, hello: dict[str, Any]) -> None:
        self.offer = (hello.get("offers") or {}).get(self.task)
        offer = self.offer
        if offer is not None and not self.job.running:
            title = offer_title(offer)
            stack = " It also needs pip install 'moviola[ml]'." if offer.get("needs_packages") else ""
            if offer.get("download"):
                self.text.setText(f"{title} is not installed: {offer.get('adds', '')}.{stack}")
                self.install_button.setText(
                    f"Install {title} ({offer_size(offer)}, {offer['license']})…")
                self.install_button.setVisible(True)
            else:
                self.text.setText(f"{title} is not installed: {offer.get('adds', '')}.{stack} "
                                  f"Install it from its publisher's files: {offer['command']}")
                self.install_button.setVisible(False)
            self.text.setToolTip(str(offer.get("source") or ""))
        self.setVisible(offer is not None or self.job.running)
        self.helloChanged.emit(hello)

    def ask(self) -> None:
        """Confirm size, licence and origin before anything is downloaded."""
        offer = self.offer
        if offer is None or self.job.running:
            return
        hosts = sorted({str(f.get("url", "")).split("/")[2] for f in offer.get("files", [])
                        if f.get("url")})
        terms = "" if offer.get("commercial_use", True) else " (non-commercial use only)"
        box = QtWidgets.QMessageBox(self)
        box.setIcon(QtWidgets.QMessageBox.Icon.Question)
        box.setWindowTitle("Install model")
        box.setText(f"Download and install {offer_title(offer)}?")
        box.setInformativeText(
            f"Download of {offer_size(offer)} from {', '.join(hosts)}, checksums pinned.\n"
            f"Licence: {offer['license']}{terms}.")
        box.setStandardButtons(QtWidgets.QMessageBox.StandardButton.Yes
                               | QtWidgets.QMessageBox.StandardButton.Cancel)
        box.buttonClicked.connect(lambda button: self._answered(box, button))
        self.dialog = box
        box.open()

    def _answered(self, box: QtWidgets.QMessageBox, button: QtWidgets.QAbstractButton) -> None:
        self.dialog = None
        if button is box.button(QtWidgets.QMessageBox.StandardButton.Yes) and self.offer:
            self.install_button.setVisible(False)
            self.job.setVisible(True)
            self.job.run({"model": self.offer["model"]})

    def _installed(self, result: dict[str, Any]) -> None:
        self.job.setVisible(False)
        self.panel.show_message(f"{result.get('model')} installed ({size_text(result.get('bytes'))})")
        self.installed.emit(str(result.get("model")))
        self.refresh()

    def _failed(self, text: str) -> None:
        self.job.setVisible(False)
        self.panel.show_message(f"install: {text}", error=text != "cancelled")
        self.refresh()
