"""Depth mode: the clip's depth pass, in false colour or grey, beside or over the plate.

"Compute depth" runs the ``depth`` job on the clip's frames (16-bit PNG, relative inverse
depth: near is bright); the pass of the frame under the playhead is then shown with that
frame's plate.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Optional

from qtpy import QtWidgets

from .device_choice import DeviceBox
from .frames import file_loader
from .job_controls import JobControls
from .model_offer import ModelOffer
from .modes import LayerNeed, MediaClip, Mode, fetch_need

if TYPE_CHECKING:
    from .panel import MoviolaPanel

__all__ = ["DepthMode"]


class DepthMode(Mode):
    title = "Depth"
    layer_kind = "depth"

    def __init__(self, panel: MoviolaPanel) -> None:
        super().__init__(panel)
        self.result: Optional[dict[str, Any]] = None
        self.files: dict[int, str] = {}
        self._run = 0
        self.backend = QtWidgets.QComboBox()
        self.backend.addItems(["auto", "parallax"])
        self.backend.setEditable(True)
        self.colour = QtWidgets.QComboBox()
        self.colour.addItems(["False colour", "Grey"])
        self.layout_box = QtWidgets.QComboBox()
        self.layout_box.addItems(["Beside", "Over"])
        self.colour.currentIndexChanged.connect(self._view_changed)
        self.layout_box.currentIndexChanged.connect(self._view_changed)
        self.job = JobControls(panel.worker, "Compute depth", "depth")
        self.job.run_button.clicked.connect(self.compute)
        self.job.finished.connect(self._computed)
        self.job.failed.connect(lambda text: panel.show_message(text, error=text != "cancelled"))
        self.info = QtWidgets.QLabel("Relative inverse depth: near is bright (or warm).")
        self.info.setWordWrap(True)
        form = QtWidgets.QFormLayout()
        form.addRow("Backend", self.backend)
        self.device = DeviceBox()
        form.addRow("Device", self.device)
        form.addRow("Colours", self.colour)
        form.addRow("Layout", self.layout_box)
        # Depth Anything V2, where its weights are not installed; the list follows the engine.
        self.offer = ModelOffer(panel, "depth")
        self.offer.helloChanged.connect(self._backends_changed)
        layout = QtWidgets.QVBoxLayout(self)
        layout.addWidget(self.offer)
        layout.addLayout(form)
        layout.addWidget(self.job)
        layout.addWidget(self.info)
        layout.addStretch(1)

    def _backends_changed(self, hello: dict[str, Any]) -> None:
        """The backend list: auto, then every depth backend that can run on this engine."""
        rows = (hello.get("backends") or {}).get("depth") or []
        names = ["auto"] + [str(r.get("name")) for r in rows if r.get("available")]
        chosen = self.backend.currentText()
        self.backend.clear()
        self.backend.addItems(names)
        self.backend.setCurrentText(chosen)

    def layer(self, frame: int) -> LayerNeed:
        path = self.files.get(frame)
        if path is None:
            return None
        return fetch_need((f"depth#{self._run}", frame, "depth"), file_loader(path, frame))

    def media_changed(self, media: Optional[MediaClip]) -> None:
        self.result, self.files = None, {}
        self._run += 1

    def activated(self) -> None:
        self._view_changed()

    def _view_changed(self, *_: Any) -> None:
        self.panel.viewer.set_depth_view(self.layout_box.currentText().lower(),
                                         "false" if self.colour.currentIndex() == 0 else "grey")

    def compute(self) -> None:
        media = self.panel.media
        if media is None:
            self.panel.show_message("Open a clip first", error=True)
            return
        self.job.run({"input": media.media_path, "range": [media.first_frame, media.last_frame],
                      "out": os.path.join(self.panel.output_dir, "depth"), "format": "png16",
                      "backend": self.backend.currentText().strip() or "auto",
                      **self.device.params()})

    def _computed(self, result: dict[str, Any]) -> None:
        self._run += 1
        self.result = result
        self.files = {int(f): p for f, p in zip(result.get("frames", []), result.get("files", []))}
        self.panel.show_message(f"depth: {len(self.files)} frames ({result.get('backend')}) → "
                                f"{os.path.basename(result.get('otio') or '')}")
        self.panel.refresh()
