"""Where the engine says it is: the user's Moviola folder and the owner-only discovery file.

The engine writes ``engine.json`` (endpoint, token, pid, versions, log path) after it has bound
its socket; clients read it to connect. The file is created with mode 0600 so only the user who
started the engine can learn the token.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Optional

from .private_files import private_dir

DISCOVERY_FILE_NAME = "engine.json"
LOCK_FILE_NAME = "engine.lock"


def moviola_home() -> Path:
    """The user's Moviola folder: ``$MOVIOLA_HOME``, else ``~/.moviola``."""
    env = os.environ.get("MOVIOLA_HOME")
    return Path(env).expanduser() if env else Path.home() / ".moviola"


def discovery_path(home: Optional[Path] = None) -> Path:
    return (home or moviola_home()) / DISCOVERY_FILE_NAME


def lock_path(home: Optional[Path] = None) -> Path:
    """The per-user engine lock; it lives beside the discovery file."""
    return (home or moviola_home()) / LOCK_FILE_NAME


@dataclass(frozen=True)
class Discovery:
    endpoint: str
    token: str
    pid: int
    version: str
    protocol: list[int] = field(default_factory=list)
    log_path: str = ""
    started_at: float = 0.0
    # The engine's CURVE public key (Z85) when it listens off loopback; clients then encrypt.
    server_key: str = ""
    # The WebSocket gateway's URL (ws://127.0.0.1:<port>) for clients without ZeroMQ; "" if off.
    gateway: str = ""


def write_discovery(info: Discovery, path: Optional[Path] = None) -> Path:
    """Write the discovery file readable by the owner only, atomically."""
    path = path or discovery_path()
    private_dir(path.parent)
    fd, tmp = tempfile.mkstemp(prefix=".engine-", suffix=".json", dir=str(path.parent))
    try:
        os.chmod(tmp, 0o600)  # mkstemp already uses 0600; be explicit, umask differs per host
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(asdict(info), handle, indent=2)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def read_discovery(path: Optional[Path] = None) -> Optional[Discovery]:
    """The engine's discovery record, or None when there is no (readable) file."""
    path = path or discovery_path()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return Discovery(
            endpoint=str(data["endpoint"]), token=str(data["token"]), pid=int(data["pid"]),
            version=str(data.get("version", "")), protocol=list(data.get("protocol", [])),
            log_path=str(data.get("log_path", "")), started_at=float(data.get("started_at", 0.0)),
            server_key=str(data.get("server_key", "")),
            gateway=str(data.get("gateway", "")),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


def remove_discovery(pid: int, path: Optional[Path] = None) -> None:
    """Remove the discovery file if it still belongs to engine ``pid``."""
    path = path or discovery_path()
    current = read_discovery(path)
    if current is not None and current.pid == pid:
        try:
            path.unlink()
        except OSError:
            pass


def process_alive(pid: int) -> bool:
    """Whether a process with this pid exists (best effort, no signal is delivered).

    A zombie counts as dead: an engine this process launched and that died stays a zombie
    until reaped, and it must not look alive to the client waiting on it.
    """
    if pid <= 0:
        return False
    if sys.platform == "win32":  # os.kill(pid, 0) would terminate the process on Windows
        import ctypes
        handle = ctypes.windll.kernel32.OpenProcess(0x1000, False, pid)  # QUERY_LIMITED_INFO
        if handle:
            ctypes.windll.kernel32.CloseHandle(handle)
            return True
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return not _is_zombie(pid)


def _is_zombie(pid: int) -> bool:
    try:  # Linux only; elsewhere a zombie counts as alive until its parent reaps it
        with open(f"/proc/{pid}/stat", "rb") as handle:
            stat = handle.read()
    except OSError:
        return False
    # "pid (comm) state ...": comm may hold spaces and parentheses, the state follows the last ")"
    return stat[stat.rfind(b")") + 2:stat.rfind(b")") + 3] in (b"Z", b"X")


def engine_lock_held(path: Optional[Path] = None) -> Optional[bool]:
    """Whether a live engine holds the per-user lock; None where this cannot be told (Windows).

    A discovery file outlives an engine that crashed, and its pid may since belong to another
    process; the lock cannot outlive its holder, so it is the test of a live engine. The probe
    takes a shared lock for an instant; an engine starting in that instant retries its own.
    """
    if os.name == "nt":
        return None
    import fcntl
    path = path or lock_path()
    try:
        fd = os.open(str(path), os.O_RDONLY)
    except FileNotFoundError:
        return False
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError:
        return True
    finally:
        os.close(fd)  # also drops the probe's own shared lock
    return False


def read_lock_pid(path: Optional[Path] = None) -> Optional[int]:
    """The pid the lock's holder wrote into the lock file, if any (see engine_lock_held)."""
    try:
        text = (path or lock_path()).read_text(encoding="ascii").strip()
        return int(text) if text else None
    except (OSError, ValueError):
        return None
