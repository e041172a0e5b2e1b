"""Results back as Nuke's own nodes: the matte Read → Copy tree, the depth Read, and the
prompts kept on the generated node so the artist can reopen and correct the matte.

Main thread only: these functions create and edit nodes.
"""

from __future__ import annotations

import json
import os
import re
from typing import Any

from moviola.plugin.errors import InvalidParamsError

from .read_node import ReadSource, nuke_pattern

__all__ = ["build_depth_read", "build_matte_tree", "stored_record", "store_record"]

TAB = "moviola"
RECORD = "moviola_record"      # JSON: kind, source, input, keyframes, out, otio
GAP_Y = 60


def store_record(node: Any, record: dict[str, Any]) -> None:
    """Keep what made ``node`` on a "Moviola" tab (saved with the script)."""
    import nuke

    if node.knob(TAB) is None:
        node.addKnob(nuke.Tab_Knob(TAB, "Moviola"))
    if node.knob(RECORD) is None:
        node.addKnob(nuke.Multiline_Eval_String_Knob(RECORD, "record", ""))
    node[RECORD].setValue(json.dumps(record, sort_keys=True))


def stored_record(node: Any) -> dict[str, Any] | None:
    knob = node.knob(RECORD)
    if knob is None or not knob.value():
        return None
    try:
        record = json.loads(knob.value())
    except ValueError:
        return None   # hand-edited into something else: start afresh
    return record if isinstance(record, dict) else None


def _deselect_all() -> None:
    import nuke

    for node in nuke.selectedNodes():
        node.setSelected(False)


def _new_node(node_class: str) -> Any:
    import nuke

    _deselect_all()   # createNode wires the selection into the new node
    node = nuke.createNode(node_class, inpanel=False)
    node.setInput(0, None)
    return node


def _sequence_read(read: Any, pattern: str, frames: list[int], offset: int, label: str) -> None:
    read["file"].setValue(nuke_pattern(pattern))
    for name, value in (("first", frames[0]), ("last", frames[-1]), ("origfirst", frames[0]),
                        ("origlast", frames[-1])):
        read[name].setValue(int(value))
    read["frame_mode"].setValue("offset")
    read["frame"].setValue(str(offset))
    read["before"].setValue("black")
    read["after"].setValue("black")
    read["raw"].setValue(True)   # data, not colour: no conversion
    read["label"].setValue(label)


def _offset(source: ReadSource, first_media_frame: int) -> int:
    """The Read ``offset`` that shows a result frame (numbered as the source media's) where
    the plate shows the same media frame."""
    return source.timing.script_frame(first_media_frame) - first_media_frame


def build_matte_tree(plate_read: Any, source: ReadSource, result: dict[str, Any],
                     record: dict[str, Any], existing: Any | None = None) -> tuple[Any, Any]:
    """A Read of the matte sequence into a Copy (A's alpha into B = the plate) below the
    plate; or, given the Copy of an earlier run, that tree updated. Returns (read, copy)."""
    objects = result.get("objects") or []
    if not objects or not objects[0].get("frames"):
        raise InvalidParamsError("the matte result has no frames to read")
    first = objects[0]
    pattern, frames = first["pattern"], first["frames"]
    if pattern.lower().endswith(".mov"):
        raise InvalidParamsError("Nuke's matte tree reads an image sequence; run the matte "
                                 "as EXR or PNG")
    label = (f"Moviola matte {first.get('object', 1)}\n"
             f"{(result.get('backend') or {}).get('backend', '')} · {len(frames)} frames")
    if existing is not None and existing.Class() == "Copy" and existing.input(1) is not None:
        copy, read = existing, existing.input(1)
    else:
        read = _new_node("Read")
        copy = _new_node("Copy")
        read.setXYpos(plate_read.xpos() + 150, plate_read.ypos() + GAP_Y)
        copy.setXYpos(plate_read.xpos(), plate_read.ypos() + 2 * GAP_Y)
    _sequence_read(read, pattern, frames, _offset(source, frames[0]), label)
    copy.setInput(0, plate_read)   # B: the plate
    copy.setInput(1, read)         # A: the matte
    copy["from0"].setValue("rgba.alpha")
    copy["to0"].setValue("rgba.alpha")
    copy["label"].setValue(f"Moviola matte → alpha\n{os.path.basename(pattern)}")
    store_record(copy, {**record, "kind": "matte", "pattern": pattern,
                        "frames": [frames[0], frames[-1]], "otio": result.get("otio")})
    return read, copy


_FRAME_IN_NAME = re.compile(r"^(.*\.)(\d+)(\.[^.]+)$")


def _pattern_of(files: list[str], frames: list[int]) -> str:
    match = _FRAME_IN_NAME.match(files[0])
    if not match or int(match.group(2)) != frames[0]:
        raise InvalidParamsError(f"cannot tell the frame number in {files[0]}")
    return f"{match.group(1)}%0{len(match.group(2))}d{match.group(3)}"


def build_depth_read(plate_read: Any, source: ReadSource, result: dict[str, Any],
                     record: dict[str, Any]) -> Any:
    """A Read of the depth EXR beside the plate, its channel as written and its
    normalisation on the node's label and Moviola tab."""
    import nuke

    files, frames = result.get("files") or [], result.get("frames") or []
    if not files:
        raise InvalidParamsError("the depth result has no files to read")
    pattern = _pattern_of(files, frames)
    channel = str(result.get("channel") or "depth.Z")
    clip = (result.get("clips") or [{}])[0]
    normalization = clip.get("normalization") or {}
    label = (f"Moviola depth ({channel})\n{result.get('normalize', '')} · "
             f"{result.get('convention', '')}")
    near_is = normalization.get("near_is")
    if near_is:
        label += f"\nnear is {near_is}"
    confidence = result.get("confidence_channel")
    if confidence:   # parallax EXRs: 0.5..1 where depth was measured, under 0.5 where filled
        label += f"\nconfidence in {confidence}"
    read = _new_node("Read")
    read.setXYpos(plate_read.xpos() + 150, plate_read.ypos())
    _sequence_read(read, pattern, frames, _offset(source, frames[0]), label)
    store_record(read, {**record, "kind": "depth", "pattern": pattern, "channel": channel,
                        "confidence_channel": confidence,
                        "normalize": result.get("normalize"), "convention": result.get("convention"),
                        "normalization": normalization, "frames": [frames[0], frames[-1]],
                        "otio": result.get("otio")})
    read.addKnob(nuke.String_Knob("moviola_channel", "channel", channel))
    return read
