"""Binary wheels for a host's own Python, fetched by pip into a folder of their own.

The host's interpreter never runs pip: this Python's pip resolves wheels for the host's version
and platform (``--python-version``, ``--platform``, ``--only-binary=:all:``) and unpacks them
into a fresh folder. Nothing is compiled, nothing goes into the host's installation.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from .errors import InstallError

PIP_TIMEOUT_S = 600


def pip_python_version(version: str) -> str:
    # pip reads "3.9" as 3.9.0, a release some packages exclude (opentimelineio: != 3.9.0).
    # No host ships a .0, so the first patch release stands for the line.
    return f"{version}.1"


def wheel_command(target_dir: Path, python: str, platforms: Sequence[str],
                  requirements: Sequence[str]) -> list[str]:
    """The pip command that puts ``requirements`` for CPython ``python`` on ``platforms`` in a folder."""
    command = [sys.executable, "-m", "pip", "install", "--target", str(target_dir),
               "--only-binary=:all:", "--implementation", "cp",
               "--python-version", pip_python_version(python)]
    for tag in platforms:
        command += ["--platform", tag]
    # No .pyc: they would be compiled by this Python, not the host's.
    command += ["--no-compile", "--no-warn-script-location", "--disable-pip-version-check",
                "--no-input", "--quiet"]
    return command + list(requirements)


def fetch_wheels(target_dir: Path, python: str, platforms: Sequence[str],
                 requirements: Sequence[str]) -> None:
    """Run :func:`wheel_command`; a failure names the Python, the platform and pip's own words."""
    command = wheel_command(target_dir, python, platforms, requirements)
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=PIP_TIMEOUT_S)
    except subprocess.TimeoutExpired as exc:
        raise InstallError(f"pip took over {PIP_TIMEOUT_S} s fetching wheels for Python {python} "
                           f"({', '.join(platforms)})") from exc
    if done.returncode != 0:
        said = (done.stderr or done.stdout).strip().splitlines()[-6:]
        raise InstallError(
            f"pip could not fetch wheels for Python {python} on {', '.join(platforms)}: "
            + " | ".join(said), detail={"command": command})
    # Console scripts (otiotool...) name this Python in their first line: useless to a host.
    scripts = target_dir / "bin"
    if scripts.is_dir():
        for script in scripts.iterdir():
            script.unlink()
        scripts.rmdir()
