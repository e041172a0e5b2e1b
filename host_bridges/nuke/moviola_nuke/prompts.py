"""Keyframes (clicks, boxes) given in Nuke's terms → the engine's. Pure Python.

A Nuke keyframe is ``{"frame": script frame, "object": 1, "include": [[x, y], ...],
"exclude": [...], "box": [x0, y0, x1, y1]}`` in Nuke space (origin bottom-left) under the
given Reformats; the engine's is the same shape in media frames and top-left plate pixels.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .coords import Reformat, nuke_to_engine
from .frames import ReadTiming

__all__ = ["keyframes_to_engine"]


def keyframes_to_engine(keyframes: Sequence[dict[str, Any]], timing: ReadTiming,
                        size: tuple[int, int], reformats: Sequence[Reformat] = (),
                        proxy_scale: float = 1.0) -> list[dict[str, Any]]:
    def point(p: Sequence[float]) -> list[float]:
        x, y = nuke_to_engine((float(p[0]), float(p[1])), size, reformats, proxy_scale)
        return [round(x, 3), round(y, 3)]

    out = []
    for key in keyframes:
        wire: dict[str, Any] = {"frame": timing.media_frame(int(key["frame"])),
                                "object": int(key.get("object", 1)),
                                "include": [point(p) for p in key.get("include", [])],
                                "exclude": [point(p) for p in key.get("exclude", [])]}
        if key.get("box"):
            x0, y0 = point(key["box"][:2])
            x1, y1 = point(key["box"][2:])
            wire["box"] = [min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)]
        out.append(wire)
    return out
