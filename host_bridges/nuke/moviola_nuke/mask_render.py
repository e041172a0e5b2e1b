"""A node's alpha on one frame (a Roto, a RotoPaint, any node giving ``rgba.alpha``) rendered to a
file the engine reads as a matte keyframe's ``mask``.

A temporary Write (``nuke.nodes.Write``: not wired to the selection) renders the frame with
``nuke.execute`` as an EXR holding only the alpha; it is deleted at once. The files go to a
private folder in the Moviola home, named by :func:`moviola.plugin.temp_names.temp_name` so a
later render removes what a Nuke that died mid-job left; a job's own files are removed when it
ends (:func:`remove_files`). Main thread only: it makes and executes a node.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from typing import Any

from moviola.plugin.discovery import moviola_home, process_alive
from moviola.plugin.errors import InvalidParamsError
from moviola.plugin.private_files import private_dir
from moviola.plugin.temp_names import TEMP_NAME, temp_name

__all__ = ["ALPHA", "MASK_FOLDER", "has_alpha", "mask_folder", "remove_files", "render_alpha"]

ALPHA = "rgba.alpha"
MASK_FOLDER = "nuke-masks"
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")


def mask_folder() -> str:
    """The private folder the rendered masks go to, with a dead Nuke's leftovers removed."""
    folder = private_dir(moviola_home() / MASK_FOLDER)
    for entry in os.scandir(folder):
        match = TEMP_NAME.match(entry.name)
        if match is not None and not process_alive(int(match["pid"])):
            try:
                os.unlink(entry.path)
            except OSError:
                pass   # another Nuke swept it first
    return str(folder)


def has_alpha(node: Any) -> bool:
    try:
        return ALPHA in node.channels()
    except (AttributeError, ValueError):
        return False


def render_alpha(node: Any, script_frame: int, folder: str | None = None) -> str:
    """Render ``node``'s alpha at ``script_frame`` into ``folder``; return the file's path.

    Raises :class:`InvalidParamsError` naming the node when it gives no alpha or the render
    fails (Nuke's ``execute`` raises RuntimeError: a read error upstream, a cancel)."""
    import nuke

    name = node.name()
    if not has_alpha(node):
        raise InvalidParamsError(f"{name} gives no alpha ({ALPHA}): pick a Roto, or a node whose "
                                 "output has an alpha channel", detail={"node": name})
    folder = folder or mask_folder()
    safe = _UNSAFE.sub("_", name) or "mask"
    path = os.path.join(folder, temp_name(f"{safe}.{int(script_frame)}", "tmp", ".exr"))
    write = nuke.nodes.Write()
    try:
        write.setInput(0, node)
        # The path holds the frame number already: no #### for Nuke to expand.
        write["file"].setValue(path.replace(os.sep, "/"))
        write["file_type"].setValue("exr")
        write["channels"].setValue("alpha")
        write["raw"].setValue(True)   # data, not colour
        nuke.execute(write, int(script_frame), int(script_frame))
    except RuntimeError as exc:
        remove_files([path])
        raise InvalidParamsError(f"could not render {name}'s alpha at frame {script_frame}: {exc}",
                                 detail={"node": name, "frame": int(script_frame)}) from exc
    finally:
        nuke.delete(write)
    if not os.path.isfile(path):
        raise InvalidParamsError(f"rendering {name}'s alpha at frame {script_frame} wrote no file",
                                 detail={"node": name, "frame": int(script_frame)})
    return path


def remove_files(paths: Iterable[str]) -> None:
    """Remove rendered masks once the engine is done with them (any thread)."""
    for path in paths:
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
        except OSError:
            pass   # left for the next sweep
