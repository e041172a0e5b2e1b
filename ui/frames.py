"""Frames for display, fetched off the UI thread and kept in a small LRU.

Every image the viewer shows is filed under a key ``(media, frame, kind)``: the plate
(``kind="plate"``, decoded by the engine's ``frame`` job and sent as PNG), a propagated matte
or a depth pass (read from the files a job wrote). Because the key carries the frame number,
the plate and the mask shown together are always the pair for one frame.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any, Callable, Optional

from qtpy import QtCore, QtGui

from .worker import EngineWorker

__all__ = ["FrameImage", "FrameStore", "plate_loader", "file_loader", "image_from_png"]

Key = tuple[str, int, Hashable]
Ready = Callable[[Key, Optional["FrameImage"], Optional[BaseException]], None]


@dataclass(frozen=True)
class FrameImage:
    """An image for one frame and the size of the source it stands for."""

    frame: int
    image: QtGui.QImage
    source_width: int
    source_height: int
    meta: Optional[dict[str, Any]] = None


def image_from_png(data: bytes) -> QtGui.QImage:
    image = QtGui.QImage.fromData(QtCore.QByteArray(bytes(data)))  # the format from its signature
    if image.isNull():
        raise ValueError("the engine sent an image Qt cannot decode")
    return image


def plate_loader(media: str, frame: int, max_width: int = 1280,
                 clip: Optional[int] = None) -> Callable[[Any, Any], FrameImage]:
    """A worker call that asks the engine's ``frame`` job for one plate."""

    def load(client: Any, task: Any) -> FrameImage:
        params: dict[str, Any] = {"input": media, "frame": int(frame), "max_width": max_width}
        if clip is not None:
            params["clip"] = clip
        result = client.submit("frame", params).wait()
        meta = {k: v for k, v in result.items() if k != "png"}
        return FrameImage(int(result["frame"]), image_from_png(result["png"]),
                          int(result["source_width"]), int(result["source_height"]), meta)
    return load


def file_loader(path: str, frame: int) -> Callable[[Any, Any], FrameImage]:
    """A worker call reading an image a job wrote (8/16-bit grey PNG) as 8-bit grey."""

    def load(client: Any, task: Any) -> FrameImage:
        image = QtGui.QImage(path)
        if image.isNull():
            raise FileNotFoundError(f"cannot read {path}")
        grey = image.convertToFormat(QtGui.QImage.Format.Format_Grayscale8)
        return FrameImage(frame, grey, image.width(), image.height(), {"path": path})
    return load


class FrameStore(QtCore.QObject):
    """LRU of :class:`FrameImage` by key; one fetch per key in flight, however often asked."""

    def __init__(self, worker: EngineWorker, capacity: int = 96,
                 parent: Optional[QtCore.QObject] = None) -> None:
        super().__init__(parent)
        self.worker = worker
        self.capacity = capacity
        self._items: OrderedDict[Key, FrameImage] = OrderedDict()
        self._waiting: dict[Key, list[Ready]] = {}

    def get(self, key: Key) -> Optional[FrameImage]:
        item = self._items.get(key)
        if item is not None:
            self._items.move_to_end(key)
        return item

    def in_flight(self, kind: Optional[Hashable] = None) -> int:
        return sum(1 for k in self._waiting if kind is None or k[2] == kind)

    def is_loading(self, key: Key) -> bool:
        return key in self._waiting

    def fetch(self, key: Key, loader: Callable[[Any, Any], FrameImage], ready: Ready, *,
              engine: bool = True) -> None:
        """``ready(key, image, error)`` on the UI thread once ``key`` is loaded (at once if cached)."""
        item = self.get(key)
        if item is not None:
            ready(key, item, None)
            return
        if key in self._waiting:
            self._waiting[key].append(ready)
            return
        self._waiting[key] = [ready]
        self.worker.call(loader, engine=engine,
                         on_done=lambda image: self._finish(key, image, None),
                         on_error=lambda exc: self._finish(key, None, exc))

    def put(self, key: Key, item: FrameImage) -> None:
        self._items[key] = item
        self._items.move_to_end(key)
        while len(self._items) > self.capacity:
            self._items.popitem(last=False)

    def forget(self, predicate: Callable[[Key], bool]) -> None:
        for key in [k for k in self._items if predicate(k)]:
            del self._items[key]

    def _finish(self, key: Key, image: Optional[FrameImage], error: Optional[BaseException]) -> None:
        if image is not None:
            self.put(key, image)
        for ready in self._waiting.pop(key, []):
            ready(key, image, error)
