"""The Moviola panel: engine state, a clip, a viewer with a timeline, and three modes.

:class:`MoviolaPanel` is a plain ``QWidget`` with no host imports, so a Nuke or Resolve bridge
can dock it; :class:`MoviolaWindow` wraps it for ``moviola panel``. Every engine call runs on
the worker's threads: the UI thread only draws and reacts.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any, Optional

from qtpy import QtCore, QtGui, QtWidgets

from moviola.plugin.timeline import read_timeline, work_units

from .depth_mode import DepthMode
from .engine_status import EngineStatus
from .frames import FrameImage, FrameStore, Key, plate_loader
from .matchcut_mode import MatchCutMode
from .matte_mode import MatteMode
from .modes import MediaClip, Mode
from .viewer import Viewer
from .worker import EngineWorker, describe_error

__all__ = ["MoviolaPanel", "MoviolaWindow", "TIMELINE_SUFFIXES"]

TIMELINE_SUFFIXES = (".otio", ".otioz", ".otiod", ".xml", ".edl")
MAX_PLATE_FETCHES = 2   # plates in flight while scrubbing; the newest playhead wins


class MoviolaPanel(QtWidgets.QWidget):
    """Open a clip, scrub it, and work on it in the matte, depth and match-cut modes."""

    frameChanged = QtCore.Signal(int)
    mediaOpened = QtCore.Signal(object)      # MediaClip
    message = QtCore.Signal(str, bool)       # text, is an error

    def __init__(self, *, discovery_file: Optional[Path] = None, output_dir: Optional[str] = None,
                 timeout: float = 10.0, plate_width: int = 1280, autostart: bool = False,
                 poll_ms: int = 2000, parent: Optional[QtWidgets.QWidget] = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Moviola")
        self.worker = EngineWorker(discovery_file=discovery_file, timeout=timeout, parent=self)
        self.store = FrameStore(self.worker, parent=self)
        self.plate_width = plate_width
        self.media: Optional[MediaClip] = None
        self.units: list[Any] = []
        self.frame = 0
        self.messages: list[tuple[str, bool]] = []
        self.output_dir = output_dir or tempfile.mkdtemp(prefix="moviola-panel-")

        self.status = EngineStatus(self.worker, poll_ms=poll_ms, autostart=autostart)
        self.path_edit = QtWidgets.QLineEdit()
        self.path_edit.setPlaceholderText("a movie, an image sequence (shot.%04d.exr) or a timeline (.otio)")
        self.path_edit.returnPressed.connect(lambda: self.open_media(self.path_edit.text()))
        self.open_button = QtWidgets.QPushButton("Open…")
        self.open_button.clicked.connect(self._browse_media)
        self.clip_combo = QtWidgets.QComboBox()
        self.clip_combo.setMinimumContentsLength(16)
        self.clip_combo.activated.connect(self._clip_chosen)
        self.clip_combo.setEnabled(False)
        self.out_edit = QtWidgets.QLineEdit(self.output_dir)
        self.out_edit.editingFinished.connect(self._out_edited)
        self.out_button = QtWidgets.QPushButton("Output folder…")
        self.out_button.clicked.connect(self._browse_output)

        self.viewer = Viewer()
        self.slider = QtWidgets.QSlider(QtCore.Qt.Orientation.Horizontal)
        self.slider.setEnabled(False)
        self.slider.valueChanged.connect(self.set_frame)
        self.prev_button = QtWidgets.QToolButton()
        self.prev_button.setText("◀")
        self.prev_button.clicked.connect(lambda: self.step(-1))
        self.next_button = QtWidgets.QToolButton()
        self.next_button.setText("▶")
        self.next_button.clicked.connect(lambda: self.step(1))
        self.frame_label = QtWidgets.QLabel("–")
        self.message_label = QtWidgets.QLabel("")
        self.message_label.setWordWrap(True)

        self.modes: list[Mode] = []
        self.mode_tabs = QtWidgets.QTabWidget()
        self.central = QtWidgets.QStackedWidget()
        self.viewer_page = QtWidgets.QWidget()  # the central page of modes that draw on the plate
        page = QtWidgets.QVBoxLayout(self.viewer_page)
        page.setContentsMargins(0, 0, 0, 0)
        page.addWidget(self.viewer, 1)
        scrub = QtWidgets.QHBoxLayout()
        scrub.addWidget(self.prev_button)
        scrub.addWidget(self.slider, 1)
        scrub.addWidget(self.next_button)
        scrub.addWidget(self.frame_label)
        page.addLayout(scrub)
        self.central.addWidget(self.viewer_page)
        self.mode: Optional[Mode] = None
        self.matte = MatteMode(self)
        self.depth_mode = DepthMode(self)  # not ``depth``: QWidget.depth() is Qt's colour depth
        self.matchcuts = MatchCutMode(self)
        for mode in (self.matte, self.depth_mode, self.matchcuts):
            self._add_mode(mode)
        self.mode_tabs.currentChanged.connect(self._mode_changed)

        top = QtWidgets.QGridLayout()
        top.addWidget(QtWidgets.QLabel("Media"), 0, 0)
        top.addWidget(self.path_edit, 0, 1)
        top.addWidget(self.open_button, 0, 2)
        top.addWidget(self.clip_combo, 0, 3)
        top.addWidget(QtWidgets.QLabel("Output"), 1, 0)
        top.addWidget(self.out_edit, 1, 1)
        top.addWidget(self.out_button, 1, 2)
        body = QtWidgets.QSplitter(QtCore.Qt.Orientation.Horizontal)
        body.addWidget(self.central)
        body.addWidget(self.mode_tabs)
        body.setStretchFactor(0, 3)
        body.setStretchFactor(1, 1)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.status)
        layout.addLayout(top)
        layout.addWidget(body, 1)
        layout.addWidget(self.message_label)
        self._shortcuts()
        self._mode_changed(0)

    # --- modes -------------------------------------------------------------------------------

    def _add_mode(self, mode: Mode) -> None:
        self.modes.append(mode)
        self.mode_tabs.addTab(mode, mode.title)
        view = mode.central()
        if view is not None:
            self.central.addWidget(view)

    def set_mode(self, mode: Mode) -> None:
        self.mode_tabs.setCurrentIndex(self.modes.index(mode))

    def _mode_changed(self, index: int) -> None:
        self.mode = self.modes[index]
        view = self.mode.central()
        self.central.setCurrentWidget(view if view is not None else self.viewer_page)
        self.viewer.interactive = self.mode.interactive
        if not self.mode.interactive:
            self.viewer.set_prompts([], None)
        self.mode.activated()
        self.refresh(force=True)

    def _shortcuts(self) -> None:
        context = QtCore.Qt.ShortcutContext.WidgetWithChildrenShortcut  # never steal a host's keys
        for keys, action in (("Left", lambda: self.step(-1)), ("Right", lambda: self.step(1)),
                             (",", lambda: self.step(-1)), (".", lambda: self.step(1)),
                             ("Shift+Left", lambda: self.step(-10)),
                             ("Shift+Right", lambda: self.step(10)),
                             ("Home", lambda: self.go_to_end(last=False)),
                             ("End", lambda: self.go_to_end(last=True)),
                             ("Ctrl+Z", self.matte.model.undo),
                             ("Ctrl+Shift+Z", self.matte.model.redo),
                             ("Ctrl+Y", self.matte.model.redo)):
            shortcut = QtWidgets.QShortcut(QtGui.QKeySequence(keys), self) \
                if hasattr(QtWidgets, "QShortcut") else QtGui.QShortcut(QtGui.QKeySequence(keys), self)
            shortcut.setContext(context)
            shortcut.activated.connect(action)

    # --- media -------------------------------------------------------------------------------

    def open_media(self, path: str, clip: Optional[int] = None) -> None:
        """Open a movie, an image sequence or a timeline (then ``clip`` picks among its clips)."""
        path = os.path.abspath(os.path.expanduser(path.strip()))
        self.path_edit.setText(path)
        if path.lower().endswith(TIMELINE_SUFFIXES):
            def read(client: Any, task: Any) -> list:
                units = work_units(read_timeline(path), base_dir=os.path.dirname(path))
                return [u for u in units if u.media_kind in ("video", "image_sequence")]
            self.worker.call(read, engine=False,
                             on_done=lambda units: self._timeline_read(path, units, clip or 0),
                             on_error=lambda e: self.show_message(describe_error(e, f"open {path}"), True))
        else:
            self.worker.call(lambda c, t: c.submit("probe", {"input": path}).wait(),
                             on_done=lambda r: self._probed(path, r),
                             on_error=lambda e: self.show_message(describe_error(e, f"open {path}"), True))

    def _timeline_read(self, path: str, units: list, clip: int) -> None:
        if not units:
            self.show_message(f"Media missing: no clip of {path} has readable media", True)
            return
        self.units = units
        self.clip_combo.clear()
        for i, unit in enumerate(units):
            self.clip_combo.addItem(f"{i}: {unit.track_name} / {unit.clip_name}")
        self.clip_combo.setEnabled(True)
        clip = min(max(clip, 0), len(units) - 1)
        self.clip_combo.setCurrentIndex(clip)
        self._use_unit(path, clip)

    def _clip_chosen(self, index: int) -> None:
        if self.units and self.media is not None:
            self._use_unit(self.media.input, index)

    def _use_unit(self, path: str, index: int) -> None:
        unit = self.units[index]
        self._set_media(MediaClip(path, unit.media_path, unit.first_frame, unit.last_frame,
                                  unit.clip_name, index))

    def _probed(self, path: str, result: dict[str, Any]) -> None:
        info = result["media"][0]
        self.units = []
        self.clip_combo.clear()
        self.clip_combo.setEnabled(False)
        self._set_media(MediaClip(path, info.get("path", path), int(info["start_frame"]),
                                  int(info["last_frame"]), os.path.basename(path)))

    def _set_media(self, media: MediaClip) -> None:
        self.media = media
        for mode in self.modes:
            mode.media_changed(media)
        self.slider.blockSignals(True)
        self.slider.setRange(media.first_frame, media.last_frame)
        self.slider.setValue(media.first_frame)
        self.slider.blockSignals(False)
        self.slider.setEnabled(True)
        self.show_message(f"{media.name}: frames {media.first_frame}-{media.last_frame}")
        self.mediaOpened.emit(media)
        self.set_frame(media.first_frame, force=True)

    # --- the playhead ------------------------------------------------------------------------

    def set_frame(self, frame: int, force: bool = False) -> None:
        if self.media is None:
            return
        frame = min(max(int(frame), self.media.first_frame), self.media.last_frame)
        if frame == self.frame and not force:
            return
        self.frame = frame
        if self.slider.value() != frame:
            self.slider.blockSignals(True)
            self.slider.setValue(frame)
            self.slider.blockSignals(False)
        self.frame_label.setText(f"{frame}  ({frame - self.media.first_frame + 1}/"
                                 f"{self.media.last_frame - self.media.first_frame + 1})")
        for mode in self.modes:
            mode.frame_changed(frame)
        self.frameChanged.emit(frame)
        self.refresh()

    def step(self, delta: int) -> None:
        self.set_frame(self.frame + delta)

    def go_to_end(self, last: bool) -> None:
        """The clip's first frame, or its last."""
        if self.media is not None:
            self.set_frame(self.media.last_frame if last else self.media.first_frame)

    def plate_key(self, frame: int) -> Key:
        assert self.media is not None
        return (self.media.media_path, frame, "plate")

    def fetch_plate(self, media: str, frame: int, ready: Any) -> None:
        """Any frame of any media through the store (match-cut mode shows pairs with it)."""
        self.store.fetch((media, frame, "plate"), plate_loader(media, frame, self.plate_width), ready)

    def refresh(self, force: bool = False) -> None:
        """Show the plate and the mode's layer of the playhead's frame, once both are here."""
        if self.media is None or self.mode is None:
            return
        frame = self.frame
        key = self.plate_key(frame)
        plate = self.store.get(key)
        if plate is None:
            if not self.store.is_loading(key) and self.store.in_flight("plate") < MAX_PLATE_FETCHES:
                self.store.fetch(key, plate_loader(self.media.media_path, frame, self.plate_width),
                                 self._loaded)
        need = self.mode.layer(frame)
        layer: Optional[FrameImage] = None
        if need is not None and need[0] == "ready":
            layer = need[1]
        elif need is not None:
            layer_key, loader, engine = need[1]
            layer = self.store.get(layer_key)
            if layer is None:
                if not self.store.is_loading(layer_key):
                    self.store.fetch(layer_key, loader, self._loaded, engine=engine)
                return
        if plate is None:
            return
        if force or plate is not self.viewer.plate or layer is not self.viewer.layer:
            self.viewer.set_frame(plate, layer, self.mode.layer_kind)

    def _loaded(self, key: Key, image: Optional[FrameImage], error: Optional[BaseException]) -> None:
        if error is not None and key[1] == self.frame:
            self.show_message(describe_error(error, f"frame {key[1]}"), True)
        self.refresh()

    # --- messages and folders ----------------------------------------------------------------

    def show_message(self, text: str, error: bool = False) -> None:
        self.messages.append((text, error))
        del self.messages[:-200]
        self.message_label.setText(text)
        self.message_label.setStyleSheet("color: #e55;" if error else "")
        self.message.emit(text, error)

    def set_output_dir(self, path: str) -> None:
        self.output_dir = os.path.abspath(os.path.expanduser(path))
        self.out_edit.setText(self.output_dir)

    def _out_edited(self) -> None:
        if self.out_edit.text().strip():
            self.set_output_dir(self.out_edit.text())

    def _browse_media(self) -> None:
        path, _ = QtWidgets.QFileDialog.getOpenFileName(
            self, "Open media or timeline", os.path.dirname(self.path_edit.text()),
            "Media and timelines (*.mov *.mp4 *.mxf *.mkv *.avi *.exr *.dpx *.png *.tif *.tiff "
            "*.jpg *.otio *.xml *.edl);;All files (*)")
        if path:
            self.open_media(path)

    def _browse_output(self) -> None:
        path = QtWidgets.QFileDialog.getExistingDirectory(self, "Output folder", self.output_dir)
        if path:
            self.set_output_dir(path)

    def shutdown(self) -> None:
        """Stop polling, cancel the panel's running jobs, close its engine connections.

        The engine keeps running; jobs the panel started are its own (attached), so they stop.
        """
        self.status.timer.stop()
        for jobs in (self.matte.apply, self.depth_mode.job, self.matchcuts.job):
            if jobs.running:
                jobs.cancel()
        self.worker.shutdown()


class MoviolaWindow(QtWidgets.QMainWindow):
    """The panel as a standalone window (``moviola panel``)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__()
        self.panel = MoviolaPanel(**kwargs)
        self.setCentralWidget(self.panel)
        self.setWindowTitle("Moviola")
        self.resize(1280, 760)

    def closeEvent(self, event: QtGui.QCloseEvent) -> None:
        self.panel.shutdown()
        super().closeEvent(event)
