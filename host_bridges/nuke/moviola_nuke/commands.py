"""What the Moviola menu runs. Each command reads the selection on the main thread, runs the
engine job on a worker thread (:class:`.background.BackgroundJob`) and builds nodes back on
the main thread."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from moviola.plugin.errors import MoviolaError

from .background import BackgroundJob
from .coords import Reformat
from .prompts import keyframes_to_engine
from .read_node import ReadSource, find_read, read_source
from .result_nodes import build_depth_read, build_matte_tree, stored_record

__all__ = ["PANEL_CLASS", "PANEL_ID", "apply_matte", "matte_selected", "run_depth", "selected_source"]

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
    ``nuke_space`` (script frames, bottom-left points under ``reformats``). Given the Copy of
    an earlier run, the same output folder is used, so the engine reuses its cache, and that
    tree is updated instead of a new one made.
    """
    read, source, record = selected_source(node)
    if nuke_space:
        keyframes = keyframes_to_engine(keyframes, source.timing, (source.width, source.height),
                                        reformats, proxy_scale)
    if out is None and record is not None:
        out = record.get("out")
    body: dict[str, Any] = {"input": source.path, "keyframes": list(keyframes),
                            "range": list(source.timing.media_range), "format": "exr",
                            "backend": backend, **params}
    if out:
        body["out"] = out
    existing = node if record is not None and record.get("kind") == "matte" else None

    def done(result: dict[str, Any]) -> None:
        build_matte_tree(read, source, result, {"source": read.name(), "input": source.path,
                                                "keyframes": body["keyframes"],
                                                "out": out or _folder_of(result),
                                                "backend": backend}, existing)
    return BackgroundJob("matte", body, f"Moviola matte: {read.name()}", done).start()


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
