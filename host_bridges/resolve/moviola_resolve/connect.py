"""Finding Resolve: in its own Python (Workspace > Scripts gives a live ``resolve``) or from
outside through ``DaVinciResolveScript``, and what this version and edition allow.

The environment per OS is the one Blackmagic's scripting README documents; ``external
scripting`` is Studio-only and must be set to Local in Preferences > General.
"""

from __future__ import annotations

import importlib
import os
import sys
from dataclasses import dataclass, field
from typing import Any

from .errors import ResolveUnavailableError

__all__ = ["Capabilities", "capabilities", "connect_external", "current_timeline",
           "scripting_environment", "INSTEAD"]

#: (RESOLVE_SCRIPT_API, RESOLVE_SCRIPT_LIB) by platform, from the scripting README.
DEFAULT_PATHS = {
    "darwin": ("/Library/Application Support/Blackmagic Design/DaVinci Resolve/Developer/Scripting",
               "/Applications/DaVinci Resolve/DaVinci Resolve.app/Contents/Libraries/Fusion/fusionscript.so"),
    "win32": ("%PROGRAMDATA%\\Blackmagic Design\\DaVinci Resolve\\Support\\Developer\\Scripting",
              "C:\\Program Files\\Blackmagic Design\\DaVinci Resolve\\fusionscript.dll"),
    "linux": ("/opt/resolve/Developer/Scripting", "/opt/resolve/libs/Fusion/fusionscript.so"),
}

#: What an editor can always do, whatever the edition allows a script.
INSTEAD = ("Instead: File > Export > Timeline... as OpenTimelineIO (.otio), run "
           "`moviola shots|matchcuts|depth|proxy TIMELINE.otio --out FOLDER`, then import the "
           "result .otio (File > Import > Timeline) and its image sequences into the media pool.")


def scripting_environment(platform: str | None = None,
                          environ: dict[str, str] | None = None) -> dict[str, str]:
    """RESOLVE_SCRIPT_API, RESOLVE_SCRIPT_LIB and the Modules folder to put on sys.path:
    the variables when set, else the documented defaults for ``platform``."""
    platform = platform or sys.platform
    environ = dict(os.environ if environ is None else environ)
    key = "linux" if platform.startswith("linux") else platform
    api, lib = DEFAULT_PATHS.get(key, DEFAULT_PATHS["linux"])
    if key == "win32":
        api = api.replace("%PROGRAMDATA%", environ.get("PROGRAMDATA", "C:\\ProgramData"))
    api = environ.get("RESOLVE_SCRIPT_API") or api
    lib = environ.get("RESOLVE_SCRIPT_LIB") or lib
    sep = "\\" if key == "win32" else "/"
    return {"RESOLVE_SCRIPT_API": api, "RESOLVE_SCRIPT_LIB": lib,
            "modules": api.rstrip("/\\") + sep + "Modules"}


def connect_external() -> Any:
    """``resolve`` from a process outside Resolve (Studio, external scripting set to Local)."""
    env = scripting_environment()
    for name in ("RESOLVE_SCRIPT_API", "RESOLVE_SCRIPT_LIB"):
        os.environ.setdefault(name, env[name])  # DaVinciResolveScript reads RESOLVE_SCRIPT_LIB
    if env["modules"] not in sys.path:
        sys.path.append(env["modules"])
    try:
        module = importlib.import_module("DaVinciResolveScript")
    except ImportError as exc:
        raise ResolveUnavailableError(
            f"DaVinciResolveScript is not importable ({exc}); set RESOLVE_SCRIPT_API="
            f"{env['RESOLVE_SCRIPT_API']}, RESOLVE_SCRIPT_LIB={env['RESOLVE_SCRIPT_LIB']} and add "
            f"{env['modules']} to PYTHONPATH, or run Moviola from Workspace > Scripts. " + INSTEAD
        ) from exc
    resolve = module.scriptapp("Resolve")
    if resolve is None:
        raise ResolveUnavailableError(
            "Resolve did not answer an external script: it is not running, Preferences > General > "
            "'External scripting using' is not Local, or this is the free edition (external "
            "scripting is Studio-only). Run Moviola from Workspace > Scripts > Utility. " + INSTEAD)
    return resolve


@dataclass(frozen=True)
class Capabilities:
    """What the running Resolve lets a script do. ``notes`` say, in plain words, what is
    missing and what the user can do instead."""

    version: tuple[int, ...]
    studio: bool
    in_process: bool
    otio_export: bool          # Timeline.Export(..., resolve.EXPORT_OTIO), 18.5+
    ui_manager: bool           # scripted dialogs; the free edition blocks them from 19.1
    append_exclusive_end: bool  # AppendToTimeline's endFrame is exclusive from 19
    notes: tuple[str, ...] = field(default=())


def _version(resolve: Any) -> tuple[int, ...]:
    try:
        fields = resolve.GetVersion() or []
    except Exception:  # an old build without GetVersion
        return (0,)
    return tuple(int(f) for f in fields[:3] if isinstance(f, (int, float)) or str(f).isdigit())


def capabilities(resolve: Any, *, in_process: bool) -> Capabilities:
    version = _version(resolve)
    studio = "studio" in str(resolve.GetProductName() or "").lower()
    # hasattr() is always True on Resolve's objects: look at the value.
    otio_export = version >= (18, 5) and isinstance(getattr(resolve, "EXPORT_OTIO", None), int)
    ui_manager = studio or version < (19, 1)
    notes = []
    if not otio_export:
        notes.append("This Resolve cannot export OTIO from a script (18.5+): the timeline is read "
                     "item by item (cuts only; effects and retimes are not read).")
    if not ui_manager:
        notes.append("The free edition blocks scripted dialogs from 19.1: Moviola uses its Qt "
                     "panel when PySide is installed for this Python, else the defaults (the "
                     "current clip). " + INSTEAD)
    if not studio and version >= (21, 1):
        notes.append("Resolve 21.1 free makes Python scripting Studio-only. " + INSTEAD)
    return Capabilities(version=version, studio=studio, in_process=in_process,
                        otio_export=otio_export, ui_manager=ui_manager,
                        append_exclusive_end=version >= (19,), notes=tuple(notes))


def current_timeline(resolve: Any) -> tuple[Any, Any]:
    """(project, timeline) open now, or a plain error saying which is missing."""
    manager = resolve.GetProjectManager()
    project = manager.GetCurrentProject() if manager else None
    if project is None:
        raise ResolveUnavailableError("no project is open in Resolve")
    timeline = project.GetCurrentTimeline()
    if timeline is None:
        raise ResolveUnavailableError(f"project {project.GetName()!r} has no current timeline: "
                                      "open one on the Edit page")
    return project, timeline
