"""Start a local engine when none runs, and wait until it has published where it listens.

Used by :meth:`EngineClient.connect` (unless told not to) and by ``moviola engine start
--detach``. Inside a host (Nuke, Resolve) ``sys.executable`` is the host, not a Python that
has the engine installed, so the command is configurable: ``$MOVIOLA_ENGINE_COMMAND`` (a full
command line), else ``$MOVIOLA_PYTHON -m moviola.engine``, else this interpreter when it is a
Python, else the ``moviola`` executable on PATH.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import List, Optional

from .discovery import Discovery, moviola_home, process_alive, read_discovery
from .errors import EngineNotRunningError

EXIT_ALREADY_RUNNING = 3  # mirrors moviola.engine.main: another engine holds the lock


def engine_command() -> List[str]:
    """The command line that starts an engine in the foreground of a new process."""
    explicit = os.environ.get("MOVIOLA_ENGINE_COMMAND")
    if explicit:
        return shlex.split(explicit)
    python = os.environ.get("MOVIOLA_PYTHON")
    if not python and Path(sys.executable).name.lower().startswith("python"):
        python = sys.executable
    if python:
        return [python, "-m", "moviola.engine", "--quiet"]
    exe = shutil.which("moviola")
    if exe:
        return [exe, "engine", "start", "--quiet"]
    raise EngineNotRunningError(
        "no engine runs and none can be started from here: set MOVIOLA_PYTHON to a Python "
        "with moviola installed, or MOVIOLA_ENGINE_COMMAND to the command that starts one")


def start_engine(timeout: float = 30.0, discovery_file: Optional[Path] = None) -> Discovery:
    """Start an engine in the background and return its discovery record once published.

    If another engine wins the race to start, its record is returned instead.
    """
    log_dir = moviola_home() / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    launch_log = log_dir / "engine-launch.log"
    before = read_discovery(discovery_file)
    with open(launch_log, "ab") as stderr:
        kwargs = {}
        if os.name == "nt":
            kwargs["creationflags"] = subprocess.CREATE_NEW_PROCESS_GROUP | subprocess.DETACHED_PROCESS
        else:
            kwargs["start_new_session"] = True  # the engine outlives this client and its terminal
        process = subprocess.Popen(engine_command(), stdin=subprocess.DEVNULL,
                                   stdout=subprocess.DEVNULL, stderr=stderr, close_fds=True, **kwargs)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = read_discovery(discovery_file)
        fresh = found is not None and (before is None or found != before or found.pid == process.pid)
        if found is not None and fresh and process_alive(found.pid):
            return found
        code = process.poll()
        if code is not None and code != EXIT_ALREADY_RUNNING:
            raise EngineNotRunningError(
                f"the engine exited with code {code} while starting; see {launch_log}",
                path=str(launch_log))
        if code == EXIT_ALREADY_RUNNING and found is not None and process_alive(found.pid):
            return found
        time.sleep(0.05)
    raise EngineNotRunningError(
        f"the engine did not start within {timeout:.0f} s; see {launch_log}", path=str(launch_log))
