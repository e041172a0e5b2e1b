"""The viewer: the plate at its aspect ratio, a mask or depth layer, and the artist's clicks.

Widget positions map to pixels of the full-resolution source (whatever size the displayed
plate was sent at), so prompts are always in the coordinates the engine takes. Left click
adds an include point, Alt or right click an exclude point, a drag draws a box. A click near
a point selects it; dragging it moves it; Delete, Backspace or Shift+click removes it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Optional

from qtpy import QtCore, QtGui, QtWidgets

from .frames import FrameImage

__all__ = ["Viewer", "false_colour", "MASK_VIEWS", "DEPTH_VIEWS"]

MASK_VIEWS = ("overlay", "isolate")
DEPTH_VIEWS = ("beside", "over")
_PICK_RADIUS = 9.0      # widget pixels within which a click grabs a point
_CLICK_SLOP = 4.0       # widget pixels a press may move and still be a click
_TINT = QtGui.QColor(40, 150, 255)

# A perceptual ramp from far (dark blue) to near (yellow), in the spirit of viridis/turbo.
_RAMP = ((0.0, (48, 18, 59)), (0.25, (50, 128, 220)), (0.5, (40, 200, 130)),
         (0.75, (240, 200, 40)), (1.0, (250, 250, 180)))


def _ramp_table() -> list[int]:
    table = []
    for i in range(256):
        t = i / 255.0
        for (t0, c0), (t1, c1) in zip(_RAMP, _RAMP[1:]):
            if t <= t1:
                f = (t - t0) / (t1 - t0)
                r, g, b = (int(round(a + (c - a) * f)) for a, c in zip(c0, c1))
                table.append(QtGui.qRgb(r, g, b))
                break
    return table


_FALSE_COLOUR = _ramp_table()


def _bytes_of(image: QtGui.QImage) -> bytes:
    bits = image.constBits()
    size = image.sizeInBytes()  # Qt 5.10+: every host's Qt has it
    if hasattr(bits, "setsize"):  # a sip.voidptr (PyQt)
        bits.setsize(size)
    return bytes(bits)[:size]


def false_colour(grey: QtGui.QImage) -> QtGui.QImage:
    """An 8-bit grey image through a colour ramp (0 far/dark → 255 near/bright)."""
    grey = grey.convertToFormat(QtGui.QImage.Format.Format_Grayscale8)
    data = _bytes_of(grey)
    indexed = QtGui.QImage(data, grey.width(), grey.height(), grey.bytesPerLine(),
                           QtGui.QImage.Format.Format_Indexed8)
    indexed.setColorTable(_FALSE_COLOUR)
    return indexed.convertToFormat(QtGui.QImage.Format.Format_RGB32)  # a copy: ``data`` may go


class Viewer(QtWidgets.QWidget):
    """Shows one frame: plate plus an optional layer, both for the same frame number."""

    pointAdded = QtCore.Signal(float, float, bool)        # x, y (source pixels), include
    pointMoved = QtCore.Signal(int, float, float)         # index, x, y
    pointDeleted = QtCore.Signal(int)                     # index
    boxDrawn = QtCore.Signal(float, float, float, float)  # x0, y0, x1, y1

    def __init__(self, parent: Optional[QtWidgets.QWidget] = None) -> None:
        super().__init__(parent)
        self.setMinimumSize(320, 180)
        self.setFocusPolicy(QtCore.Qt.FocusPolicy.StrongFocus)
        self.setMouseTracking(False)
        self.plate: Optional[FrameImage] = None
        self.layer: Optional[FrameImage] = None
        self.layer_kind = "mask"            # "mask" or "depth"
        self.mask_view = "overlay"
        self.depth_view = "beside"
        self.depth_colour = "false"         # "false" or "grey"
        self.interactive = False
        self.points: list[tuple[float, float, bool]] = []
        self.box: Optional[tuple[float, float, float, float]] = None
        self.selected: Optional[int] = None
        self.caption = ""
        self.history: list[tuple[Optional[int], Optional[int]]] = []  # (plate, layer) frames shown
        self._composed: Optional[QtGui.QImage] = None
        self._press: Optional[QtCore.QPointF] = None
        self._press_button = QtCore.Qt.MouseButton.NoButton
        self._press_alt = False
        self._drag_point: Optional[int] = None
        self._drag_to: Optional[QtCore.QPointF] = None

    # --- what is shown -----------------------------------------------------------------------

    @property
    def plate_frame(self) -> Optional[int]:
        return None if self.plate is None else self.plate.frame

    @property
    def layer_frame(self) -> Optional[int]:
        return None if self.layer is None else self.layer.frame

    @property
    def source_size(self) -> tuple[int, int]:
        if self.plate is not None:
            return self.plate.source_width, self.plate.source_height
        return 16, 9

    def set_frame(self, plate: Optional[FrameImage], layer: Optional[FrameImage] = None,
                  kind: str = "mask") -> None:
        """Show a plate and its layer together: they must be the same frame."""
        if plate is not None and layer is not None and plate.frame != layer.frame:
            raise ValueError(f"plate of frame {plate.frame} with a {kind} of frame {layer.frame}")
        self.plate, self.layer, self.layer_kind = plate, layer, kind
        self._composed = None
        self.history.append((self.plate_frame, self.layer_frame))
        del self.history[:-500]
        self.update()

    def set_layer(self, layer: Optional[FrameImage], kind: str = "mask") -> None:
        """Change only the layer (a fresh preview of the frame already shown)."""
        self.set_frame(self.plate, layer, kind)

    def set_prompts(self, points: Sequence[tuple[float, float, bool]],
                    box: Optional[tuple[float, float, float, float]]) -> None:
        self.points = list(points)
        self.box = box
        if self.selected is not None and self.selected >= len(self.points):
            self.selected = None
        self.update()

    def set_mask_view(self, view: str) -> None:
        if view not in MASK_VIEWS:
            raise ValueError(f"mask view must be one of {MASK_VIEWS}")
        self.mask_view, self._composed = view, None
        self.update()

    def set_depth_view(self, view: str, colour: Optional[str] = None) -> None:
        if view not in DEPTH_VIEWS:
            raise ValueError(f"depth view must be one of {DEPTH_VIEWS}")
        self.depth_view = view
        if colour is not None:
            self.depth_colour = colour
        self._composed = None
        self.update()

    # --- geometry ----------------------------------------------------------------------------

    def image_rects(self) -> list[QtCore.QRectF]:
        """Where the plate (and, side by side, the depth) is drawn, at the plate's aspect."""
        sw, sh = self.source_size
        beside = self.layer is not None and self.layer_kind == "depth" and self.depth_view == "beside"
        count = 2 if beside else 1
        margin = 6.0
        cell_w = (self.width() - margin * (count + 1)) / count
        cell_h = self.height() - 2 * margin
        scale = max(min(cell_w / sw, cell_h / sh), 1e-6)
        w, h = sw * scale, sh * scale
        top = (self.height() - h) / 2
        return [QtCore.QRectF(margin + i * (cell_w + margin) + (cell_w - w) / 2, top, w, h)
                for i in range(count)]

    def to_source(self, pos: QtCore.QPointF) -> Optional[tuple[float, float]]:
        """Widget position → full-resolution source pixel; None outside the image."""
        rect = self.image_rects()[0]
        if not rect.contains(pos):
            return None
        sw, sh = self.source_size
        x = (pos.x() - rect.x()) / rect.width() * sw
        y = (pos.y() - rect.y()) / rect.height() * sh
        return min(max(x, 0.0), sw - 1.0), min(max(y, 0.0), sh - 1.0)

    def to_widget(self, x: float, y: float) -> QtCore.QPointF:
        rect = self.image_rects()[0]
        sw, sh = self.source_size
        return QtCore.QPointF(rect.x() + x / sw * rect.width(), rect.y() + y / sh * rect.height())

    def _point_at(self, pos: QtCore.QPointF) -> Optional[int]:
        best, best_d = None, _PICK_RADIUS
        for i, (x, y, _) in enumerate(self.points):
            p = self.to_widget(x, y)
            d = ((p.x() - pos.x()) ** 2 + (p.y() - pos.y()) ** 2) ** 0.5
            if d <= best_d:
                best, best_d = i, d
        return best

    # --- mouse and keys ----------------------------------------------------------------------

    def mousePressEvent(self, event: QtGui.QMouseEvent) -> None:
        if not self.interactive or self.plate is None:
            return super().mousePressEvent(event)
        pos = QtCore.QPointF(event.pos())
        hit = self._point_at(pos)
        if hit is not None:
            shift = event.modifiers() & QtCore.Qt.KeyboardModifier.ShiftModifier
            if shift or event.button() == QtCore.Qt.MouseButton.MiddleButton:
                self.selected = None
                self.pointDeleted.emit(hit)
                return
            self.selected, self._drag_point, self._drag_to = hit, hit, None
            self.update()
            return
        if self.to_source(pos) is None:
            return
        self.selected = None
        self._press = pos
        self._press_button = event.button()
        self._press_alt = bool(event.modifiers() & QtCore.Qt.KeyboardModifier.AltModifier)

    def mouseMoveEvent(self, event: QtGui.QMouseEvent) -> None:
        pos = QtCore.QPointF(event.pos())
        if self._drag_point is not None:
            self._drag_to = pos
            self.update()
        elif self._press is not None:
            self._drag_to = pos
            self.update()

    def mouseReleaseEvent(self, event: QtGui.QMouseEvent) -> None:
        pos = QtCore.QPointF(event.pos())
        if self._drag_point is not None:
            index, self._drag_point, moved_to = self._drag_point, None, self._drag_to
            self._drag_to = None
            if moved_to is not None:
                target = self.to_source(moved_to)
                if target is not None:
                    self.pointMoved.emit(index, *target)
            self.update()
            return
        if self._press is None:
            return
        start, self._press, self._drag_to = self._press, None, None
        if abs(pos.x() - start.x()) + abs(pos.y() - start.y()) <= _CLICK_SLOP:
            at = self.to_source(start)
            if at is not None:
                include = self._press_button == QtCore.Qt.MouseButton.LeftButton and not self._press_alt
                self.pointAdded.emit(at[0], at[1], include)
        else:
            a, b = self.to_source(start), self._clamped(pos)
            if a is not None:
                self.boxDrawn.emit(a[0], a[1], b[0], b[1])
        self.update()

    def _clamped(self, pos: QtCore.QPointF) -> tuple[float, float]:
        rect = self.image_rects()[0]
        x = min(max(pos.x(), rect.left()), rect.right() - 0.01)
        y = min(max(pos.y(), rect.top()), rect.bottom() - 0.01)
        return self.to_source(QtCore.QPointF(x, y)) or (0.0, 0.0)

    def keyPressEvent(self, event: QtGui.QKeyEvent) -> None:
        if self.interactive and self.selected is not None and event.key() in (
                QtCore.Qt.Key.Key_Delete, QtCore.Qt.Key.Key_Backspace):
            index, self.selected = self.selected, None
            self.pointDeleted.emit(index)
            return
        super().keyPressEvent(event)

    # --- painting ----------------------------------------------------------------------------

    def _layer_image(self, plate: QtGui.QImage) -> Optional[QtGui.QImage]:
        """The layer as drawn: a tinted mask, the isolated plate, or the coloured depth."""
        if self.layer is None:
            return None
        if self._composed is not None:
            return self._composed
        layer = self.layer.image
        if self.layer_kind == "depth":
            image = false_colour(layer) if self.depth_colour == "false" else \
                layer.convertToFormat(QtGui.QImage.Format.Format_RGB32)
        elif self.mask_view == "isolate":
            alpha = layer.scaled(plate.size(), QtCore.Qt.AspectRatioMode.IgnoreAspectRatio,
                                 QtCore.Qt.TransformationMode.SmoothTransformation).convertToFormat(
                                     QtGui.QImage.Format.Format_Grayscale8)
            image = plate.convertToFormat(QtGui.QImage.Format.Format_ARGB32)
            image.setAlphaChannel(alpha)
        else:
            image = QtGui.QImage(layer.size(), QtGui.QImage.Format.Format_ARGB32)
            image.fill(_TINT)
            image.setAlphaChannel(layer.convertToFormat(QtGui.QImage.Format.Format_Grayscale8))
        self._composed = image
        return image

    def paintEvent(self, event: QtGui.QPaintEvent) -> None:
        painter = QtGui.QPainter(self)
        painter.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing)
        painter.setRenderHint(QtGui.QPainter.RenderHint.SmoothPixmapTransform)
        painter.fillRect(self.rect(), QtGui.QColor(24, 24, 27))
        if self.plate is None:
            painter.setPen(QtGui.QColor(150, 150, 150))
            painter.drawText(self.rect(), QtCore.Qt.AlignmentFlag.AlignCenter, self.caption or "no frame")
            return
        rects = self.image_rects()
        plate = self.plate.image
        layer = self._layer_image(plate)
        if layer is not None and self.layer_kind == "mask" and self.mask_view == "isolate":
            self._checkerboard(painter, rects[0])
            painter.drawImage(rects[0], layer)
        else:
            painter.drawImage(rects[0], plate)
            if layer is not None and self.layer_kind == "mask":
                painter.setOpacity(0.55)
                painter.drawImage(rects[0], layer)
                painter.setOpacity(1.0)
            elif layer is not None and self.depth_view == "over":
                painter.setOpacity(0.7)
                painter.drawImage(rects[0], layer)
                painter.setOpacity(1.0)
            elif layer is not None:
                painter.drawImage(rects[1], layer)
        self._draw_prompts(painter)
        painter.setPen(QtGui.QColor(235, 235, 235))
        text = f"frame {self.plate.frame}"
        if self.layer is not None:
            text += f"   {self.layer_kind} of frame {self.layer.frame}"
        if self.caption:
            text += f"   {self.caption}"
        painter.drawText(QtCore.QRectF(rects[0].x() + 8, rects[0].y() + 4, rects[0].width(), 20),
                         QtCore.Qt.AlignmentFlag.AlignLeft, text)

    def _checkerboard(self, painter: QtGui.QPainter, rect: QtCore.QRectF) -> None:
        painter.save()
        painter.setClipRect(rect)
        size = 12
        light, dark = QtGui.QColor(90, 90, 96), QtGui.QColor(60, 60, 66)
        y, row = int(rect.top()), 0
        while y < rect.bottom():
            x, col = int(rect.left()), row
            while x < rect.right():
                painter.fillRect(x, y, size, size, light if col % 2 else dark)
                x, col = x + size, col + 1
            y, row = y + size, row + 1
        painter.restore()

    def _draw_prompts(self, painter: QtGui.QPainter) -> None:
        if self.box is not None:
            a, b = self.to_widget(*self.box[:2]), self.to_widget(*self.box[2:])
            painter.setPen(QtGui.QPen(QtGui.QColor(255, 220, 60), 1.5, QtCore.Qt.PenStyle.DashLine))
            painter.setBrush(QtCore.Qt.BrushStyle.NoBrush)
            painter.drawRect(QtCore.QRectF(a, b))
        if self._press is not None and self._drag_to is not None:
            painter.setPen(QtGui.QPen(QtGui.QColor(255, 255, 255), 1, QtCore.Qt.PenStyle.DashLine))
            painter.drawRect(QtCore.QRectF(self._press, self._drag_to))
        for i, (x, y, include) in enumerate(self.points):
            p = self.to_widget(x, y)
            if i == self._drag_point and self._drag_to is not None:
                p = self._drag_to
            colour = QtGui.QColor(60, 220, 90) if include else QtGui.QColor(240, 60, 60)
            painter.setPen(QtGui.QPen(QtGui.QColor(255, 255, 255) if i == self.selected
                                      else QtGui.QColor(0, 0, 0), 2))
            painter.setBrush(colour)
            painter.drawEllipse(p, 6, 6)
            painter.setPen(QtGui.QPen(QtGui.QColor(0, 0, 0), 2))
            painter.drawLine(QtCore.QPointF(p.x() - 3, p.y()), QtCore.QPointF(p.x() + 3, p.y()))
            if include:
                painter.drawLine(QtCore.QPointF(p.x(), p.y() - 3), QtCore.QPointF(p.x(), p.y() + 3))
