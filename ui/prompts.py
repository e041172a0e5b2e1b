"""What the artist has given: keyframes of include/exclude points, boxes and loaded mattes, with
undo/redo.

Pure Python (no Qt), so the editing rules are tested without a display. Coordinates are pixels
of the full-resolution source image, origin top-left; frames are source frame numbers, as the
``matte`` and ``matte_preview`` jobs take them (docs/mattes.md).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

Box = tuple[float, float, float, float]


@dataclass
class Point:
    x: float
    y: float
    include: bool = True


@dataclass
class Keyframe:
    """The prompts on one frame for one object; ``mask``: an existing matte of the frame (an
    image file the engine reads), which the clicks refine."""

    frame: int
    points: list[Point] = field(default_factory=list)
    box: Optional[Box] = None
    mask: Optional[str] = None

    @property
    def usable(self) -> bool:
        """A keyframe needs an include click, a box or a mask (docs/mattes.md)."""
        return self.box is not None or self.mask is not None or any(p.include for p in self.points)

    def to_wire(self, object_id: int = 1) -> dict[str, Any]:
        body: dict[str, Any] = {
            "frame": self.frame, "object": object_id,
            "include": [[p.x, p.y] for p in self.points if p.include],
            "exclude": [[p.x, p.y] for p in self.points if not p.include]}
        if self.box is not None:
            body["box"] = list(self.box)
        if self.mask is not None:
            body["mask"] = self.mask
        return body


class PromptModel:
    """Keyframes by frame, every edit undoable. Listeners are told which frame changed."""

    def __init__(self, object_id: int = 1, limit: int = 200) -> None:
        self.object_id = object_id
        self.limit = limit
        self._keyframes: dict[int, Keyframe] = {}
        self._undo: list[dict[int, Keyframe]] = []
        self._redo: list[dict[int, Keyframe]] = []
        self._listeners: list[Callable[[Optional[int]], None]] = []

    # --- reading -----------------------------------------------------------------------------

    def keyframe(self, frame: int) -> Optional[Keyframe]:
        return self._keyframes.get(frame)

    def frames(self) -> list[int]:
        return sorted(self._keyframes)

    def keyframes(self) -> list[Keyframe]:
        return [self._keyframes[f] for f in self.frames()]

    def usable_keyframes(self) -> list[Keyframe]:
        return [k for k in self.keyframes() if k.usable]

    def to_wire(self) -> list[dict[str, Any]]:
        """The ``keyframes`` parameter of the ``matte`` job."""
        return [k.to_wire(self.object_id) for k in self.usable_keyframes()]

    def prompts(self, frame: int) -> dict[str, Any]:
        """The ``include``/``exclude``/``box`` parameters of ``matte_preview`` for ``frame``."""
        key = self._keyframes.get(frame)
        if key is None:
            return {"include": [], "exclude": [], "box": None}
        wire = key.to_wire(self.object_id)
        return {"include": wire["include"], "exclude": wire["exclude"], "box": wire.get("box")}

    def mask(self, frame: int) -> Optional[str]:
        """The matte file loaded for ``frame`` (``matte_preview``'s ``mask``), if any."""
        key = self._keyframes.get(frame)
        return None if key is None else key.mask

    @property
    def can_undo(self) -> bool:
        return bool(self._undo)

    @property
    def can_redo(self) -> bool:
        return bool(self._redo)

    # --- editing -----------------------------------------------------------------------------

    def add_point(self, frame: int, x: float, y: float, include: bool = True) -> int:
        """Add a click; returns its index in the frame's points."""
        self._checkpoint()
        key = self._keyframes.setdefault(frame, Keyframe(frame))
        key.points.append(Point(float(x), float(y), include))
        self._changed(frame)
        return len(key.points) - 1

    def move_point(self, frame: int, index: int, x: float, y: float) -> None:
        point = self._point(frame, index)
        self._checkpoint()
        point.x, point.y = float(x), float(y)
        self._changed(frame)

    def delete_point(self, frame: int, index: int) -> None:
        self._point(frame, index)
        self._checkpoint()
        key = self._keyframes[frame]
        del key.points[index]
        self._drop_if_empty(frame)
        self._changed(frame)

    def set_box(self, frame: int, box: Optional[Box]) -> None:
        """Set (or with None, remove) the frame's box; corners in any order."""
        self._checkpoint()
        key = self._keyframes.setdefault(frame, Keyframe(frame))
        if box is not None:
            x0, y0, x1, y1 = (float(v) for v in box)
            box = (min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1))
        key.box = box
        self._drop_if_empty(frame)
        self._changed(frame)

    def set_mask(self, frame: int, path: Optional[str]) -> None:
        """Attach a matte file to the frame (or with None, detach it)."""
        self._checkpoint()
        key = self._keyframes.setdefault(frame, Keyframe(frame))
        key.mask = path
        self._drop_if_empty(frame)
        self._changed(frame)

    def clear_frame(self, frame: int) -> None:
        if frame not in self._keyframes:
            return
        self._checkpoint()
        del self._keyframes[frame]
        self._changed(frame)

    def undo(self) -> bool:
        if not self._undo:
            return False
        self._redo.append(self._keyframes)
        self._keyframes = self._undo.pop()
        self._changed(None)
        return True

    def redo(self) -> bool:
        if not self._redo:
            return False
        self._undo.append(self._keyframes)
        self._keyframes = self._redo.pop()
        self._changed(None)
        return True

    def reset(self) -> None:
        """Forget everything (a new clip): no undo back into another clip's prompts."""
        self._keyframes, self._undo, self._redo = {}, [], []
        self._changed(None)

    def subscribe(self, listener: Callable[[Optional[int]], None]) -> None:
        """``listener(frame)`` after every change; ``frame`` is None when any may have changed."""
        self._listeners.append(listener)

    # --- internals ---------------------------------------------------------------------------

    def _point(self, frame: int, index: int) -> Point:
        key = self._keyframes.get(frame)
        if key is None or not 0 <= index < len(key.points):
            raise IndexError(f"no point {index} on frame {frame}")
        return key.points[index]

    def _drop_if_empty(self, frame: int) -> None:
        key = self._keyframes[frame]
        if not key.points and key.box is None and key.mask is None:
            del self._keyframes[frame]

    def _checkpoint(self) -> None:
        self._undo.append(copy.deepcopy(self._keyframes))
        del self._undo[:-self.limit]
        self._redo.clear()

    def _changed(self, frame: Optional[int]) -> None:
        for listener in list(self._listeners):
            listener(frame)
