"""Match-cut mode: ranked suggestions, each pair's two frames side by side, accept/reject, export.

"Find match cuts" runs the ``matchcuts`` job on the opened input. Selecting a suggestion shows
A's last frame beside B's first frame (both decoded by the engine's ``frame`` job). The
accepted suggestions export as OTIO (:mod:`moviola.plugin.matchcut_export`, off the UI
thread): the marked timelines keep only the accepted markers, and a review timeline plays
only the accepted A→B cuts.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Optional

from qtpy import QtCore, QtGui, QtWidgets

from moviola.plugin.matchcut_export import export_accepted

from .frames import FrameImage
from .job_controls import JobControls
from .modes import MediaClip, Mode
from .worker import describe_error

if TYPE_CHECKING:
    from .panel import MoviolaPanel

__all__ = ["MatchCutMode", "PairView", "pair_frames"]

ACCEPTED, REJECTED = "accepted", "rejected"


def pair_frames(pair: dict[str, Any]) -> tuple:
    """``((media, frame) of A's last frame, (media, frame) of B's first frame)``."""
    a, b = pair["a"], pair["b"]
    return (a["media"], int(a["end"]) - 1), (b["media"], int(b["start"]))


class PairView(QtWidgets.QWidget):
    """A's last frame beside B's first frame, with the pair's flavour and score."""

    def __init__(self, parent: Optional[QtWidgets.QWidget] = None) -> None:
        super().__init__(parent)
        self.setMinimumSize(320, 180)
        self.a: Optional[FrameImage] = None
        self.b: Optional[FrameImage] = None
        self.caption = "Find match cuts, then pick a suggestion"
        self.labels = ("A (last frame)", "B (first frame)")

    def set_pair(self, a: Optional[FrameImage], b: Optional[FrameImage], caption: str,
                 labels: tuple) -> None:
        self.a, self.b, self.caption, self.labels = a, b, caption, labels
        self.update()

    def paintEvent(self, event: QtGui.QPaintEvent) -> None:
        painter = QtGui.QPainter(self)
        painter.setRenderHint(QtGui.QPainter.RenderHint.SmoothPixmapTransform)
        painter.fillRect(self.rect(), QtGui.QColor(24, 24, 27))
        margin, top = 8.0, 34.0
        cell_w = (self.width() - 3 * margin) / 2
        cell_h = self.height() - top - 2 * margin - 18
        painter.setPen(QtGui.QColor(235, 235, 235))
        font = painter.font()
        font.setPointSizeF(font.pointSizeF() * 1.15)
        painter.setFont(font)
        painter.drawText(QtCore.QRectF(margin, 6, self.width() - 2 * margin, 24),
                         QtCore.Qt.AlignmentFlag.AlignLeft | QtCore.Qt.AlignmentFlag.AlignVCenter,
                         self.caption)
        for i, (image, label) in enumerate(((self.a, self.labels[0]), (self.b, self.labels[1]))):
            x = margin + i * (cell_w + margin)
            if image is None:
                continue
            sw, sh = image.source_width, image.source_height
            scale = max(min(cell_w / sw, cell_h / sh), 1e-6)
            w, h = sw * scale, sh * scale
            rect = QtCore.QRectF(x + (cell_w - w) / 2, top + (cell_h - h) / 2, w, h)
            painter.drawImage(rect, image.image)
            painter.drawText(QtCore.QRectF(rect.x(), rect.bottom() + 2, rect.width(), 18),
                             QtCore.Qt.AlignmentFlag.AlignHCenter, label)
        painter.setPen(QtGui.QPen(QtGui.QColor(255, 200, 60), 2))
        mid = margin + cell_w + margin / 2
        painter.drawLine(QtCore.QPointF(mid, top), QtCore.QPointF(mid, top + cell_h))


class MatchCutMode(Mode):
    title = "Match cuts"
    layer_kind = "mask"

    def __init__(self, panel: MoviolaPanel) -> None:
        super().__init__(panel)
        self.result: Optional[dict[str, Any]] = None
        self.pairs: list[dict[str, Any]] = []
        self.decisions: dict[int, str] = {}
        self.exported: list[str] = []
        self.view = PairView()
        self.top = QtWidgets.QSpinBox()
        self.top.setRange(1, 200)
        self.top.setValue(10)
        self.job = JobControls(panel.worker, "Find match cuts", "matchcuts")
        self.job.run_button.clicked.connect(self.find_matches)
        self.job.finished.connect(self._found)
        self.job.failed.connect(lambda text: panel.show_message(text, error=text != "cancelled"))
        self.list = QtWidgets.QListWidget()
        self.list.currentRowChanged.connect(self.show_pair)
        self.accept_button = QtWidgets.QPushButton("Accept")
        self.reject_button = QtWidgets.QPushButton("Reject")
        self.accept_button.clicked.connect(lambda: self.decide(ACCEPTED))
        self.reject_button.clicked.connect(lambda: self.decide(REJECTED))
        self.export_button = QtWidgets.QPushButton("Export accepted (OTIO)")
        self.export_button.clicked.connect(self.export)
        form = QtWidgets.QFormLayout()
        form.addRow("Pairs per flavour", self.top)
        layout = QtWidgets.QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.job)
        layout.addWidget(self.list, 1)
        row = QtWidgets.QHBoxLayout()
        row.addWidget(self.accept_button)
        row.addWidget(self.reject_button)
        layout.addLayout(row)
        layout.addWidget(self.export_button)

    def central(self) -> QtWidgets.QWidget:
        return self.view

    def media_changed(self, media: Optional[MediaClip]) -> None:
        self.result, self.pairs, self.decisions = None, [], {}
        self.list.clear()
        self.view.set_pair(None, None, "Find match cuts, then pick a suggestion", self.view.labels)

    def find_matches(self) -> None:
        media = self.panel.media
        if media is None:
            self.panel.show_message("Open a clip or a timeline first", error=True)
            return
        self.job.run({"inputs": [media.input], "out": os.path.join(self.panel.output_dir, "matchcuts"),
                      "top": int(self.top.value())})

    def _found(self, result: dict[str, Any]) -> None:
        self.result = result
        self.pairs = list(result.get("pairs") or [])
        self.decisions = {}
        self.list.clear()
        for pair in self.pairs:
            self.list.addItem(self._item_text(pair))
        self.panel.show_message(f"match cuts: {len(self.pairs)} suggestions from {result.get('shots')} shots")
        if self.pairs:
            self.list.setCurrentRow(0)

    def _item_text(self, pair: dict[str, Any]) -> str:
        mark = {ACCEPTED: "✓ ", REJECTED: "✗ "}.get(self.decisions.get(pair["rank"], ""), "   ")
        return (f"{mark}#{pair['rank']} {pair['flavor']} {pair['score']:.2f}  "
                f"{pair['a']['clip']} → {pair['b']['clip']}")

    def show_pair(self, row: int) -> None:
        if not 0 <= row < len(self.pairs):
            return
        pair = self.pairs[row]
        (ma, fa), (mb, fb) = pair_frames(pair)
        caption = f"#{pair['rank']} {pair['flavor']} · score {pair['score']:.2f} · {pair.get('note', '')}"
        labels = (f"A: {pair['a']['clip']} · last frame {fa}", f"B: {pair['b']['clip']} · first frame {fb}")
        got: dict[str, Optional[FrameImage]] = {}

        def ready(side: str) -> Any:
            def done(key: Any, image: Optional[FrameImage], error: Optional[BaseException]) -> None:
                if error is not None:
                    self.panel.show_message(describe_error(error, f"frame {key[1]} of {key[0]}"), True)
                    return
                got[side] = image
                if self.list.currentRow() == row:
                    self.view.set_pair(got.get("a"), got.get("b"), caption, labels)
            return done

        self.view.set_pair(None, None, caption, labels)
        self.panel.fetch_plate(ma, fa, ready("a"))
        self.panel.fetch_plate(mb, fb, ready("b"))

    def decide(self, decision: str) -> None:
        row = self.list.currentRow()
        if not 0 <= row < len(self.pairs):
            return
        pair = self.pairs[row]
        self.decisions[pair["rank"]] = decision
        self.list.item(row).setText(self._item_text(pair))
        if row + 1 < len(self.pairs):
            self.list.setCurrentRow(row + 1)

    def accepted(self) -> list[int]:
        return sorted(r for r, d in self.decisions.items() if d == ACCEPTED)

    def export(self) -> None:
        if self.result is None or not self.accepted():
            self.panel.show_message("Accept at least one suggestion before exporting", error=True)
            return
        result, ranks = self.result, self.accepted()
        out = os.path.join(self.panel.output_dir, "matchcuts")
        self.panel.worker.call(lambda c, t: export_accepted(result, ranks, out), engine=False,
                               on_done=self._exported,
                               on_error=lambda e: self.panel.show_message(describe_error(e, "export"), True))

    def _exported(self, paths: list[str]) -> None:
        self.exported = paths
        self.panel.show_message(f"exported {len(self.accepted())} match cuts: "
                                + ", ".join(os.path.basename(p) for p in paths))
