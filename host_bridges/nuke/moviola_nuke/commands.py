"""What the Moviola menu runs. Each command reads the selection on the main thread, runs the
engine job on a worker thread (:class:`.background.BackgroundJob`) and builds nodes back on
the main thread."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from moviola.plugin.errors import InvalidParamsError, MoviolaError

from .background import BackgroundJob
from .coords import Reformat
from .frames import ReadTiming
from .mask_render import remove_files, render_alpha
from .prompts import MASK_NODE, add_mask_keyframe, keyframes_to_engine, without_rendered_masks
from .read_node import ReadSource, find_read, read_source
from .result_nodes import build_depth_read, build_matte_tree, stored_record

__all__ = ["PANEL_CLASS", "PANEL_ID", "alpha_keyframe", "alpha_keyframe_selected", "apply_matte",
           "matte_selected", "run_depth", "selected_source"]

PANEL_CLASS = "moviola_nuke.panel.NukePanel"   # named, so menu.py loads no Qt
PANEL_ID = "com.moviola.panel"


def selected_source(node: Any | None = None) -> tuple[Any, ReadSource, dict[str, Any] | None]:
    """The Read behind ``node`` (default: the selection), its engine view, and the Moviola
    record when ``node`` is a node Moviola made (a matte's Copy)."""
    import nuke

    if node is None:
        node = nuke.selectedNode()   # ValueError: nothing selected
    read = find_read(node)
    return read, read_source(read), stored_record(node)


def apply_matte(node: Any, keyframes: Sequence[dict[str, Any]], *, nuke_space: bool = False,
                reformats: Sequence[Reformat] = (), proxy_scale: float = 1.0,
                out: str | None = None, backend: str = "auto", **params: Any) -> BackgroundJob:
    """Propagate a matte from ``keyframes`` through the Read behind ``node``.

    Keyframes are the engine's (media frames, top-left plate pixels), or Nuke's with
    ``nuke_space`` (script frames, bottom-left points under ``reformats``). A keyframe naming a
    node (``"mask_node": "Roto1"``) gets that node's alpha on its frame, rendered now, as its
    ``mask``; the files are removed when the job ends, and the node's name is what stays on
    the Copy, so a re-run renders the node again. Given the Copy of an earlier run, the same
    output folder is used, so the engine reuses its cache, and that tree is updated instead
    of a new one made.
    """
    read, source, record = selected_source(node)
    if nuke_space:
        keyframes = keyframes_to_engine(keyframes, source.timing, (source.width, source.height),
                                        reformats, proxy_scale)
    if out is None and record is not None:
        out = record.get("out")
    keyframes, rendered = _render_node_masks(keyframes, source.timing)
    wire = [{k: v for k, v in key.items() if k != MASK_NODE} for key in keyframes]
    body: dict[str, Any] = {"input": source.path, "keyframes": wire,
                            "range": list(source.timing.media_range), "format": "exr",
                            "backend": backend, **params}
    if out:
        body["out"] = out
    existing = node if record is not None and record.get("kind") == "matte" else None

    def done(result: dict[str, Any]) -> None:
        build_matte_tree(read, source, result, {"source": read.name(), "input": source.path,
                                                "keyframes": without_rendered_masks(keyframes),
                                                "out": out or _folder_of(result),
                                                "backend": backend}, existing)
    return BackgroundJob("matte", body, f"Moviola matte: {read.name()}", done,
                         on_finish=lambda: remove_files(rendered)).start()


def _render_node_masks(keyframes: Sequence[dict[str, Any]],
                       timing: ReadTiming) -> tuple[list[dict[str, Any]], list[str]]:
    """Engine keyframes with each ``mask_node``'s alpha rendered at the script frame that shows
    the keyframe's media frame; and the files made (all removed again if one render fails)."""
    import nuke

    out: list[dict[str, Any]] = []
    rendered: list[str] = []
    try:
        for key in keyframes:
            name = key.get(MASK_NODE)
            if not name:
                out.append(dict(key))
                continue
            mask_node = nuke.toNode(name)
            if mask_node is None:
                raise InvalidParamsError(f"the keyframe at frame {key['frame']} takes its matte from "
                                         f"{name}, which is not in the script", detail={"node": name})
            path = render_alpha(mask_node, timing.script_frame(int(key["frame"])))
            rendered.append(path)
            out.append({**{k: v for k, v in key.items() if k not in ("mask", "mask_png")}, "mask": path})
    except BaseException:
        remove_files(rendered)
        raise
    return out, rendered


def _matte_of(read: Any, selection: Sequence[Any]) -> Any | None:
    """The Moviola matte (Copy) to add a keyframe to: a selected one, else the only one made
    from ``read`` in the script; None when there is none (or several, none selected)."""
    import nuke

    def is_matte(n: Any) -> bool:
        record = stored_record(n)
        return record is not None and record.get("kind") == "matte"
    chosen = [n for n in selection if is_matte(n)]
    if chosen:
        return chosen[0]
    made = [n for n in nuke.allNodes("Copy")
            if is_matte(n) and (stored_record(n) or {}).get("source") == read.name()]
    return made[0] if len(made) == 1 else None


def alpha_keyframe(mask_node: Any, frame: int | None = None, matte: Any | None = None,
                   object_id: int = 1, backend: str | None = None,
                   out: str | None = None) -> BackgroundJob:
    """``mask_node``'s alpha (a Roto...) on script ``frame`` (default: the current frame) as a
    matte keyframe, and the matte propagated from it.

    The plate is the Read above ``matte`` (a Moviola matte's Copy) or, without one, above
    ``mask_node`` (a Roto's bg input). Given a matte, the keyframe joins its keyframes (clicks
    on that frame refine it) and its tree is updated (in its folder); otherwise a new tree is
    made, written to ``out`` (default: a folder beside the saved script, else the engine's
    configured output folder)."""
    import nuke

    if frame is None:
        frame = nuke.frame()
    target = matte if matte is not None else find_read(mask_node)
    read, source, record = selected_source(target)
    (key,) = keyframes_to_engine([{"frame": int(frame), "object": object_id, MASK_NODE: mask_node.name()}],
                                 source.timing, (source.width, source.height))
    keyframes = add_mask_keyframe((record or {}).get("keyframes", []) if matte is not None else [], key)
    if backend is None:
        backend = str((record or {}).get("backend") or "auto")
    if out is None and matte is None:
        out = _beside_script(f"{read.name()}_matte")
    return apply_matte(target, keyframes, backend=backend, out=out)


def _beside_script(name: str) -> str | None:
    """``<script folder>/moviola/<name>`` for a saved script; None for an unsaved one (Nuke
    names its root "Root" then)."""
    import os

    import nuke

    script = str(nuke.root().name())
    return os.path.join(os.path.dirname(script), "moviola", name) if os.path.isabs(script) else None


def alpha_keyframe_selected(ask_frame: bool = False) -> BackgroundJob | None:
    """Menu "Alpha as matte keyframe": the selected Roto (or any node giving alpha) on the
    current frame, or on a frame asked for, added to a selected Moviola matte or the Read's
    only one, else a new matte of the Read above the Roto."""
    import nuke

    selection = nuke.selectedNodes()
    try:
        if not selection:
            raise InvalidParamsError("select a Roto (or a node giving alpha), and the Moviola matte "
                                     "to add it to if there are several")
        read_or_matte = [n for n in selection if (stored_record(n) or {}).get("kind") == "matte"]
        sources = [n for n in selection if n not in read_or_matte]
        if len(sources) != 1:
            raise InvalidParamsError("select one node whose alpha is the keyframe (a Roto), and at "
                                     "most one Moviola matte")
        mask_node = sources[0]
        frame = nuke.frame()
        if ask_frame:
            answer = nuke.getInput("Moviola: keyframe on frame", str(frame))
            if answer is None:
                return None
            try:
                frame = int(answer.strip())
            except ValueError as exc:
                raise InvalidParamsError(f"{answer!r} is not a frame number") from exc
        matte = read_or_matte[0] if read_or_matte else None
        if matte is None:
            matte = _matte_of(find_read(mask_node), selection)
        return alpha_keyframe(mask_node, frame, matte)
    except (ValueError, MoviolaError) as exc:
        nuke.message(f"Moviola: {exc}")
        return None


def run_depth(node: Any | None = None, *, normalize: str = "relative", out: str | None = None,
              **params: Any) -> BackgroundJob:
    """A depth pass of the Read behind ``node``, read back beside it."""
    read, source, _ = selected_source(node)
    body: dict[str, Any] = {"input": source.path, "range": list(source.timing.media_range),
                            "format": "exr", "normalize": normalize, **params}
    if out:
        body["out"] = out

    def done(result: dict[str, Any]) -> None:
        build_depth_read(read, source, result, {"source": read.name(), "input": source.path,
                                                "out": out or _folder_of(result)})
    return BackgroundJob("depth", body, f"Moviola depth: {read.name()}", done).start()


def _folder_of(result: dict[str, Any]) -> str | None:
    import os

    otio_path = result.get("otio")
    return os.path.dirname(otio_path) if otio_path else None


def matte_selected() -> Any:
    """Menu "Matte…": the panel on the selected Read (or the Read above the selection), with
    the prompts of an earlier run when a Moviola matte is selected."""
    import nuke

    try:
        node = nuke.selectedNode()
        read, source, record = selected_source(node)
    except (ValueError, MoviolaError) as exc:
        nuke.message(f"Moviola: {exc}")
        return None
    from .panel import show_panel

    return show_panel(node, source, record)


def depth_selected() -> BackgroundJob | None:
    import nuke

    try:
        return run_depth()
    except (ValueError, MoviolaError) as exc:
        nuke.message(f"Moviola: {exc}")
        return None


def shots_selected() -> BackgroundJob | None:
    """Shots of the selected Read's media, imported as a Nuke Studio sequence."""
    import nuke

    from .hiero_import import import_result

    try:
        read, source, _ = selected_source()
    except (ValueError, MoviolaError) as exc:
        nuke.message(f"Moviola: {exc}")
        return None
    return BackgroundJob("shots", {"input": source.path}, f"Moviola shots: {read.name()}",
                         lambda result: import_result(result["otio"], f"{read.name()} shots")).start()
