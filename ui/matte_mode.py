"""Matte mode: clicks → an interactive mask at once; Apply → propagated through the clip.

Each edit of a frame's prompts sends one ``matte_preview`` request (at most one in flight per
frame; the newest prompts win). The answer's mask is drawn over the plate (overlay) or cuts
the plate out (isolate). "Apply" runs the ``matte`` job with every keyframe; afterwards the
propagated mask of the frame under the playhead is shown with that frame's plate. A frame
that has prompts shows its own preview instead, so a correction is seen at once.
"Load matte for this frame…" attaches an existing roto or matte file to the frame as its
keyframe mask: the engine shows it as the overlay, and clicks on that frame refine it.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Optional

from qtpy import QtCore, QtWidgets

from .device_choice import DeviceBox
from .frames import FrameImage, file_loader, image_from_png
from .job_controls import JobControls
from .model_offer import ModelOffer
from .modes import LayerNeed, MediaClip, Mode, fetch_need
from .prompts import PromptModel
from .worker import describe_error

if TYPE_CHECKING:
    from .panel import MoviolaPanel

__all__ = ["MatteMode"]


class MatteMode(Mode):
    title = "Matte"
    layer_kind = "mask"
    interactive = True

    previewShown = QtCore.Signal(int)   # frame whose fresh preview mask arrived

    def __init__(self, panel: MoviolaPanel) -> None:
        super().__init__(panel)
        self.model = PromptModel()
        self.model.subscribe(self._prompts_changed)
        self.previews: dict[int, FrameImage] = {}
        self.preview_requests: list[dict[str, Any]] = []   # what was sent, newest last
        self._preview_busy: dict[int, bool] = {}
        self._preview_dirty: dict[int, bool] = {}
        self.result: Optional[dict[str, Any]] = None
        self.result_files: dict[int, str] = {}
        self._run = 0          # bumped by each applied result: its masks get new keys
        self._generation = 0   # bumped by each new clip: late answers for the old one are dropped
        self.backend = "auto"      # SAM 2 where its weights are installed, else classical

        self.view = QtWidgets.QComboBox()
        self.view.addItems(["Overlay", "Isolate"])
        self.view.currentTextChanged.connect(lambda text: panel.viewer.set_mask_view(text.lower()))
        self.undo_button = QtWidgets.QPushButton("Undo")
        self.redo_button = QtWidgets.QPushButton("Redo")
        self.clear_button = QtWidgets.QPushButton("Clear frame")
        self.undo_button.clicked.connect(self.model.undo)
        self.redo_button.clicked.connect(self.model.redo)
        self.clear_button.clicked.connect(lambda: self.model.clear_frame(panel.frame))
        self.load_matte_button = QtWidgets.QPushButton("Load matte for this frame…")
        self.load_matte_button.setToolTip("An existing roto or matte of this frame (PNG, EXR "
                                          "alpha, TIFF...) as its keyframe; clicks refine it")
        self.load_matte_button.clicked.connect(self.load_matte)
        self.keyframe_list = QtWidgets.QListWidget()
        self.keyframe_list.itemActivated.connect(self._go_to_keyframe)
        self.keyframe_list.itemClicked.connect(self._go_to_keyframe)
        self.apply = JobControls(panel.worker, "Apply (propagate)", "matte")
        self.apply.run_button.clicked.connect(self.apply_matte)
        self.apply.finished.connect(self._applied)
        self.apply.failed.connect(lambda text: panel.show_message(text, error=text != "cancelled"))
        self.hint = QtWidgets.QLabel("Click: include · Alt/right click: exclude · drag: box\n"
                                     "Drag a point to move it · Shift+click or Delete removes it")
        self.hint.setWordWrap(True)

        layout = QtWidgets.QVBoxLayout(self)
        self.offer = ModelOffer(panel, "matte")   # SAM 2.1, where its weights are not installed
        layout.addWidget(self.offer)
        form = QtWidgets.QFormLayout()
        form.addRow("View", self.view)
        self.device = DeviceBox()
        form.addRow("Device", self.device)
        layout.addLayout(form)
        buttons = QtWidgets.QHBoxLayout()
        for b in (self.undo_button, self.redo_button, self.clear_button):
            buttons.addWidget(b)
        layout.addLayout(buttons)
        layout.addWidget(self.load_matte_button)
        layout.addWidget(QtWidgets.QLabel("Keyframes"))
        layout.addWidget(self.keyframe_list, 1)
        layout.addWidget(self.apply)
        layout.addWidget(self.hint)
        self._update_buttons()

        viewer = panel.viewer
        viewer.pointAdded.connect(self._point_added)
        viewer.pointMoved.connect(self._point_moved)
        viewer.pointDeleted.connect(self._point_deleted)
        viewer.boxDrawn.connect(self._box_drawn)

    # --- the panel asks ----------------------------------------------------------------------

    def layer(self, frame: int) -> LayerNeed:
        if frame in self.previews and self.model.keyframe(frame) is not None:
            return ("ready", self.previews[frame])
        path = self.result_files.get(frame)
        if path is not None:
            return fetch_need((f"matte#{self._run}", frame, "matte"), file_loader(path, frame))
        return None

    def media_changed(self, media: Optional[MediaClip]) -> None:
        self.previews.clear()
        self.result, self.result_files = None, {}
        self._run += 1
        self._generation += 1
        self._preview_busy.clear()
        self._preview_dirty.clear()
        self.model.reset()

    def frame_changed(self, frame: int) -> None:
        self._show_prompts()

    def activated(self) -> None:
        self._show_prompts()

    # --- prompts -----------------------------------------------------------------------------

    def _active(self) -> bool:
        return self.panel.media is not None and self.panel.mode is self

    def _point_added(self, x: float, y: float, include: bool) -> None:
        if self._active():
            self.model.add_point(self.panel.frame, x, y, include)

    def _point_moved(self, index: int, x: float, y: float) -> None:
        if self._active():
            self.model.move_point(self.panel.frame, index, x, y)

    def _point_deleted(self, index: int) -> None:
        if self._active():
            self.model.delete_point(self.panel.frame, index)

    def _box_drawn(self, x0: float, y0: float, x1: float, y1: float) -> None:
        if self._active():
            self.model.set_box(self.panel.frame, (x0, y0, x1, y1))

    def load_matte(self) -> None:
        """Ask for a matte file and attach it to the frame under the playhead."""
        if not self._active():
            return
        frame = self.panel.frame
        current = self.model.mask(frame)
        path, _ = QtWidgets.QFileDialog.getOpenFileName(
            self, f"Matte for frame {frame}", os.path.dirname(current) if current else "",
            "Mattes (*.png *.exr *.tif *.tiff *.dpx *.tga *.jpg *.jpeg);;All files (*)")
        if path:
            self.model.set_mask(frame, os.path.abspath(path))

    def _prompts_changed(self, frame: Optional[int]) -> None:
        frames = self.model.frames()
        if frame is None:   # undo/redo/reset: any frame may have changed
            for f in list(self.previews):
                if f not in frames:
                    del self.previews[f]
            targets = [self.panel.frame] if self.panel.frame in frames else []
        else:
            targets = [frame]
        for f in targets:
            self._request_preview(f)
        if frame is not None and self.model.keyframe(frame) is None:
            self.previews.pop(frame, None)
        if self.model.keyframe(self.panel.frame) is None:
            self.previews.pop(self.panel.frame, None)
        self._refresh_list()
        self._show_prompts()
        self._update_buttons()
        self.panel.refresh()

    def _show_prompts(self) -> None:
        key = self.model.keyframe(self.panel.frame)
        viewer = self.panel.viewer
        if key is None:
            viewer.set_prompts([], None)
        else:
            viewer.set_prompts([(p.x, p.y, p.include) for p in key.points], key.box)

    def _refresh_list(self) -> None:
        self.keyframe_list.clear()
        for key in self.model.keyframes():
            inc = sum(p.include for p in key.points)
            exc = len(key.points) - inc
            text = f"frame {key.frame}: {inc} in, {exc} out" + (", box" if key.box else "")
            if key.mask is not None:
                text += f", matte {os.path.basename(key.mask)}"
            if not key.usable:
                text += " (needs an include click, a box or a matte)"
            item = QtWidgets.QListWidgetItem(text)
            item.setData(QtCore.Qt.ItemDataRole.UserRole, key.frame)
            self.keyframe_list.addItem(item)

    def _go_to_keyframe(self, item: QtWidgets.QListWidgetItem) -> None:
        self.panel.set_frame(int(item.data(QtCore.Qt.ItemDataRole.UserRole)))

    def _update_buttons(self) -> None:
        self.undo_button.setEnabled(self.model.can_undo)
        self.redo_button.setEnabled(self.model.can_redo)
        self.apply.run_button.setEnabled(not self.apply.running and bool(self.model.usable_keyframes()))

    # --- the interactive request -------------------------------------------------------------

    def _request_preview(self, frame: int) -> None:
        media = self.panel.media
        key = self.model.keyframe(frame)
        if media is None or key is None or not key.usable:
            self.previews.pop(frame, None)
            return
        if self._preview_busy.get(frame):
            self._preview_dirty[frame] = True   # send the newest prompts once this one is back
            return
        params = {"input": media.media_path, "frame": frame, "backend": self.backend,
                  **self.device.params(), **self.model.prompts(frame)}   # refined on the device
        if params["box"] is None:
            del params["box"]
        if key.mask is not None:
            params["mask"] = key.mask
        self.preview_requests.append(params)
        self._preview_busy[frame] = True
        run = self._generation
        self.panel.worker.call(lambda c, t: c.submit("matte_preview", params).wait(),
                               on_done=lambda r: self._preview_done(run, frame, r),
                               on_error=lambda e: self._preview_failed(run, frame, e))

    def _preview_finished(self, frame: int) -> bool:
        self._preview_busy[frame] = False
        if self._preview_dirty.pop(frame, False):
            self._request_preview(frame)
            return False
        return True

    def _preview_done(self, run: int, frame: int, result: dict[str, Any]) -> None:
        if run != self._generation:
            return
        latest = self._preview_finished(frame)
        if self.model.keyframe(frame) is None:
            return
        image = image_from_png(result["mask_png"])
        meta = {k: v for k, v in result.items() if k != "mask_png"}
        self.previews[frame] = FrameImage(frame, image, int(result["width"]),
                                          int(result["height"]), meta)
        self.panel.refresh()
        if latest:
            self.previewShown.emit(frame)

    def _preview_failed(self, run: int, frame: int, exc: BaseException) -> None:
        if run != self._generation:
            return
        self._preview_finished(frame)
        self.panel.show_message(describe_error(exc, f"mask preview of frame {frame}"), error=True)

    # --- apply -------------------------------------------------------------------------------

    def apply_matte(self) -> None:
        media = self.panel.media
        keyframes = self.model.to_wire()
        if media is None or not keyframes:
            self.panel.show_message("Apply needs a clip and at least one keyframe with an "
                                    "include click, a box or a matte", error=True)
            return
        params = {**media.job_input, "out": self.panel.output_dir, "keyframes": keyframes,
                  "format": "png", "backend": self.backend, **self.device.params()}
        self.apply.run(params)
        self._update_buttons()

    def _applied(self, result: dict[str, Any]) -> None:
        self._run += 1
        self.result = result
        self.result_files = {int(f): p for f, p in zip(result.get("frames", []), result.get("files", []))}
        # Frames with prompts now show the propagated result too, until they are clicked again.
        self.previews.clear()
        self._update_buttons()
        self.panel.show_message(
            f"matte: {len(self.result_files)} frames ({result.get('computed_frames', 0)} computed, "
            f"{result.get('reused_frames', 0)} reused) → {os.path.basename(result.get('otio', ''))}")
        self.panel.refresh()
