"""Premiere Pro's bridge: the UXP panel as a folder and a ``.ccx`` package, and a launcher the
panel's "Start the engine" button opens.

A UXP plugin is not picked up from a folder by Premiere: Creative Cloud Desktop installs a
``.ccx`` (a ZIP of the plugin folder, manifest.json at its root) when the user opens it, and
the UXP Developer Tool loads a folder by its manifest.json. So the install writes both into
``<moviola home>/bridges/premiere/`` and says how to load them (docs/hosts.md, "Premiere Pro").
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

PLUGIN_FOLDER = "plugin"
PACKAGE_NAME = "Moviola.ccx"
# What the panel needs at run time; its tests and npm metadata stay behind.
LEFT_OUT = ("test", "node_modules", "package.json", "package-lock.json")
# The engine launcher per system, named as the panel looks for it (lib/engine_info.js).
LAUNCHERS = {"macos": "start-engine.command", "windows": "start-engine.bat", "linux": "start-engine.sh"}


def panel_files(source: Path) -> list[Path]:
    """The plugin's files under ``source`` (host_bridges/premiere), sorted."""
    files = []
    for path in sorted(source.rglob("*")):
        rel = path.relative_to(source)
        if path.is_file() and rel.parts[0] not in LEFT_OUT and "__pycache__" not in rel.parts:
            files.append(path)
    return files


def ccx_package(source: Path) -> bytes:
    """The plugin as a ``.ccx``: a ZIP with manifest.json at its root. Fixed timestamps, so
    the same panel always packs to the same bytes (the install record compares digests)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as package:
        for path in panel_files(source):
            info = zipfile.ZipInfo(path.relative_to(source).as_posix(), date_time=(2020, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            package.writestr(info, path.read_bytes())
    return buffer.getvalue()


def launcher(os_name: str, engine_python: str) -> tuple[str, bytes]:
    """``(file name, content)`` of the script that starts the engine from ``engine_python``."""
    name = LAUNCHERS[os_name]
    if os_name == "windows":
        text = ("@echo off\r\nrem Moviola: starts the engine for the Premiere panel "
                "(written by `moviola install premiere`).\r\n"
                f"\"{engine_python}\" -m moviola.engine\r\n")
    else:
        text = ("#!/bin/sh\n# Moviola: starts the engine for the Premiere panel "
                "(written by `moviola install premiere`).\n"
                f"exec '{engine_python}' -m moviola.engine\n")
    return name, text.encode()


def how_to_load(bridge_dir: Path) -> str:
    return (f"to load the panel in Premiere Pro 25.6+: open {bridge_dir / PACKAGE_NAME} (Creative Cloud "
            f"Desktop installs it), or in the UXP Developer Tool choose Add Plugin and pick "
            f"{bridge_dir / PLUGIN_FOLDER / 'manifest.json'}; then Window > UXP Plugins > Moviola")
