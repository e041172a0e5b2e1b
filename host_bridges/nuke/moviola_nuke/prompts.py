"""Keyframes (clicks, boxes) given in Nuke's terms → the engine's. Pure Python.

A Nuke keyframe is ``{"frame": script frame, "object": 1, "include": [[x, y], ...],
"exclude": [...], "box": [x0, y0, x1, y1]}`` in Nuke space (origin bottom-left) under the
given Reformats; the engine's is the same shape in media frames and top-left plate pixels.

A keyframe may also name a node whose alpha is the object's matte on that frame
(``"mask_node": "Roto1"``, rendered by :mod:`.mask_render` when the job is sent) or a matte file
(``"mask": path``); clicks on the same keyframe refine it, as the engine does.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .coords import Reformat, nuke_to_engine
from .frames import ReadTiming

__all__ = ["add_mask_keyframe", "keyframes_to_engine", "without_rendered_masks"]

MASK_NODE = "mask_node"


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
        for extra in ("mask", MASK_NODE):
            if key.get(extra):
                wire[extra] = key[extra]
        out.append(wire)
    return out


def add_mask_keyframe(keyframes: Sequence[dict[str, Any]], key: dict[str, Any]) -> list[dict[str, Any]]:
    """``keyframes`` with ``key`` (a mask keyframe, same space) added: on a frame and object that
    already has a keyframe, its clicks and box stay and refine the new mask."""
    out, merged = [], False
    for old in keyframes:
        if (int(old["frame"]), int(old.get("object", 1))) == (int(key["frame"]), int(key.get("object", 1))):
            old = {k: v for k, v in old.items() if k not in ("mask", "mask_png", MASK_NODE)}
            old.update({k: v for k, v in key.items() if k in ("mask", MASK_NODE)})
            merged = True
        out.append(dict(old))
    if not merged:
        out.append(dict(key))
    return sorted(out, key=lambda k: (int(k["frame"]), int(k.get("object", 1))))


def without_rendered_masks(keyframes: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """What to keep on the node: a keyframe from a node keeps the node's name, not the temporary
    file its alpha was rendered to (gone once the job ends)."""
    return [{k: v for k, v in key.items() if not (k == "mask" and key.get(MASK_NODE))}
            for key in keyframes]
