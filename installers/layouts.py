"""Where each host looks for per-user plug-ins on Linux, macOS and Windows, as data.

Every path is built from a home folder (and, on Windows, %APPDATA%), so a test can lay out any
of the three systems inside a temporary folder on Linux. Sources: docs/hosts.md and the host
fact sheet (Nuke's ~/.nuke; Resolve's per-user Fusion/Scripts folder per system).
"""

from __future__ import annotations

import platform
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

OS_NAMES = ("linux", "macos", "windows")


@dataclass(frozen=True)
class OsLayout:
    """One operating system's per-user folders and the wheel platform tags its hosts load."""

    name: str
    # Resolve lists Workspace > Scripts from <scripts>/Utility (all pages); relative to the
    # home folder, or to %APPDATA% on Windows.
    resolve_scripts: tuple[str, ...]
    resolve_under_appdata: bool
    # Wheel platform tags, "{arch}" filled in. pip widens each to the older tags it accepts.
    wheel_platforms: tuple[str, ...]
    default_arch: str


LAYOUTS: dict[str, OsLayout] = {
    "linux": OsLayout(
        name="linux",
        resolve_scripts=(".local", "share", "DaVinciResolve", "Fusion", "Scripts"),
        resolve_under_appdata=False,
        # glibc 2.17: Nuke 14 still runs on CentOS 7; every wheel we need has this tag.
        wheel_platforms=("manylinux2014_{arch}",),
        default_arch="x86_64",
    ),
    "macos": OsLayout(
        name="macos",
        resolve_scripts=("Library", "Application Support", "Blackmagic Design", "DaVinci Resolve",
                         "Fusion", "Scripts"),
        resolve_under_appdata=False,
        # OpenTimelineIO ships no universal2 wheel: one architecture per folder (see hosts.py).
        wheel_platforms=("macosx_11_0_{arch}",),
        default_arch="arm64",
    ),
    "windows": OsLayout(
        name="windows",
        resolve_scripts=("Blackmagic Design", "DaVinci Resolve", "Support", "Fusion", "Scripts"),
        resolve_under_appdata=True,
        wheel_platforms=("win_{arch}",),
        default_arch="amd64",
    ),
}


def local_os() -> str:
    """This machine's system as one of :data:`OS_NAMES`."""
    if sys.platform.startswith("win"):
        return "windows"
    if sys.platform == "darwin":
        return "macos"
    return "linux"


def local_arch(os_name: str) -> str:
    """The wheel architecture for hosts on this machine (or the layout's default elsewhere)."""
    if os_name != local_os():
        return LAYOUTS[os_name].default_arch
    machine = platform.machine().lower()
    if os_name == "macos":
        return "x86_64" if machine == "x86_64" else "arm64"
    if os_name == "windows":
        return {"x86_64": "amd64", "amd64": "amd64", "arm64": "arm64"}.get(machine, "amd64")
    return {"amd64": "x86_64", "arm64": "aarch64"}.get(machine, machine or "x86_64")


@dataclass(frozen=True)
class Target:
    """The machine an install is for: its system, the user's home and environment."""

    os_name: str
    home: Path
    env: Mapping[str, str]

    @property
    def layout(self) -> OsLayout:
        return LAYOUTS[self.os_name]

    @property
    def appdata(self) -> Path:
        found = self.env.get("APPDATA") if self.os_name == local_os() else None
        return Path(found) if found else self.home / "AppData" / "Roaming"

    @property
    def moviola_home(self) -> Path:
        """Moviola's own per-user folder (the engine's, see moviola.plugin.discovery)."""
        found = self.env.get("MOVIOLA_HOME")
        return Path(found).expanduser() if found else self.home / ".moviola"

    @property
    def nuke_home(self) -> Path:
        # ~/.nuke; on Windows Nuke looks under %HOME% when it is set, else %USERPROFILE%
        # (Foundry: "Loading Gizmos, NDK Plug-ins, and Python and Tcl Scripts").
        found = self.env.get("HOME") if self.os_name == "windows" == local_os() else None
        return (Path(found) if found else self.home) / ".nuke"

    @property
    def resolve_utility_scripts(self) -> Path:
        base = self.appdata if self.layout.resolve_under_appdata else self.home
        return base.joinpath(*self.layout.resolve_scripts, "Utility")

    @property
    def manifests(self) -> Path:
        return self.moviola_home / "installs"

    def wheel_platforms(self, arch: str | None = None) -> list[str]:
        chosen = arch or local_arch(self.os_name)
        return [tag.format(arch=chosen) for tag in self.layout.wheel_platforms]


def local_target(os_name: str | None = None, home: Path | None = None,
                 env: Mapping[str, str] | None = None) -> Target:
    """This user's machine, or a stand-in system laid out in ``home`` (tests)."""
    import os

    return Target(os_name=os_name or local_os(), home=home or Path.home(),
                  env=dict(os.environ) if env is None else env)
