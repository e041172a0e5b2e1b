"""Owner-only folders and files for the Moviola home, whatever the umask.

The home holds the engine's token (``engine.json``), its lock and its logs: another local user
who could write there could replace the discovery file and point clients at their own process.
``mkdir(mode=0o700)`` and ``open`` follow the umask, so every path is chmod-ed explicitly after
it is made. Outputs of jobs are not made here: they follow the user's umask like any render.

Pure Python 3.9+: the client uses it when it starts an engine.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import IO, Union

PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600

PathLike = Union[str, "os.PathLike[str]"]


def private_dir(path: PathLike) -> Path:
    """Make ``path`` (and missing parents) and set it to 0700; return it."""
    folder = Path(path)
    folder.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR_MODE)
    if os.name != "nt":
        os.chmod(folder, PRIVATE_DIR_MODE)
    return folder


def restrict_file(path: PathLike) -> None:
    """Set an existing file to 0600 (a no-op on Windows, where modes do not apply)."""
    if os.name != "nt":
        os.chmod(path, PRIVATE_FILE_MODE)


def open_private(path: PathLike, mode: str = "a", encoding: Union[str, None] = None) -> IO:
    """Open a file for writing, created 0600 and kept 0600 (fixing one made earlier)."""
    flags = os.O_WRONLY | os.O_CREAT | getattr(os, "O_CLOEXEC", 0)
    if "a" in mode:
        flags |= os.O_APPEND
    elif "w" in mode:
        flags |= os.O_TRUNC
    if "+" in mode:
        flags = (flags & ~os.O_WRONLY) | os.O_RDWR
    fd = os.open(str(path), flags, PRIVATE_FILE_MODE)
    try:
        if os.name != "nt":
            os.fchmod(fd, PRIVATE_FILE_MODE)
        return os.fdopen(fd, mode, encoding=encoding) if "b" not in mode else os.fdopen(fd, mode)
    except BaseException:
        os.close(fd)
        raise
