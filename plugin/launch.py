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
import threading
import time
from pathlib import Path
from typing import Any, Optional

from .discovery import (
    LOCK_FILE_NAME,
    Discovery,
    lock_path,
    moviola_home,
    process_alive,
    read_discovery,
    read_lock_pid,
)
from .errors import EngineNotRunningError
from .private_files import open_private, private_dir

EXIT_ALREADY_RUNNING = 3  # mirrors moviola.engine.main: another engine holds the lock


def engine_command() -> list[str]:
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
    log_dir = private_dir(moviola_home() / "logs")
    launch_log = log_dir / "engine-launch.log"
    before = read_discovery(discovery_file)
    lock = (discovery_file.parent / LOCK_FILE_NAME) if discovery_file else lock_path()
    process = _spawn(launch_log)
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = read_discovery(discovery_file)
            fresh = found is not None and (before is None or found != before or found.pid == process.pid)
            if found is not None and fresh and process_alive(found.pid):
                _stop_if_it_lost(process, found, lock)
                return found
            code = process.poll()
            if code is not None and code != EXIT_ALREADY_RUNNING:
                raise EngineNotRunningError(
                    f"the engine exited with code {code} while starting; see {launch_log}",
                    path=str(launch_log))
            if code == EXIT_ALREADY_RUNNING:
                if found is not None and found.pid == read_lock_pid(lock):
                    return found  # another client's engine won the race
                # The lock's holder has published nothing usable: it is still starting, or it
                # is an engine on its way out. Never start beside it; try again shortly.
                time.sleep(0.1)
                process = _spawn(launch_log)
                continue
            time.sleep(0.05)
    finally:
        _reap_when_it_exits(process)
    raise EngineNotRunningError(
        f"the engine did not start within {timeout:.0f} s; see {launch_log}", path=str(launch_log))


def _stop_if_it_lost(process: subprocess.Popen, winner: Discovery, lock: Path) -> None:
    """Stop the engine this client spawned when another one won the race and holds the lock.

    Still importing, ours would otherwise wait its turn and take the lock once the winner
    exits: a second engine nobody asked for, serving long after a shutdown.
    """
    if winner.pid != process.pid and process.poll() is None and read_lock_pid(lock) == winner.pid:
        process.terminate()


def _spawn(launch_log: Path) -> subprocess.Popen:
    with open_private(launch_log, "ab") as stderr:
        kwargs: dict[str, Any] = {}  # Popen options that differ by platform
        if sys.platform == "win32":
            kwargs["creationflags"] = subprocess.CREATE_NEW_PROCESS_GROUP | subprocess.DETACHED_PROCESS
        else:
            kwargs["start_new_session"] = True  # the engine outlives this client and its terminal
        return subprocess.Popen(engine_command(), stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=stderr, close_fds=True, **kwargs)


def _reap_when_it_exits(process: subprocess.Popen) -> None:
    # The engine is this process's child: unreaped, a dead engine would linger as a zombie
    # (a pid that still exists) for as long as the host runs. A daemon thread never delays
    # the host's exit.
    if process.poll() is None:
        threading.Thread(target=process.wait, name="moviola-engine-reaper", daemon=True).start()
