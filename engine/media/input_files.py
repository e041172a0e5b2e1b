"""Only regular files are ever opened as inputs, so no input can hold a worker forever.

Opening a named pipe blocks until something writes to it; a device can stream without end; a
socket cannot be opened at all. Each input is looked at with ``stat`` first, which never
blocks, and anything but a regular file is refused with a typed error naming the path.
"""

from __future__ import annotations

import os
import stat

from moviola.plugin.errors import MediaDecodeError, MediaNotFoundError

__all__ = ["require_regular_file"]

_NOT_FILES = (
    (stat.S_ISFIFO, "fifo", "a named pipe (FIFO)"),
    (stat.S_ISCHR, "character_device", "a character device"),
    (stat.S_ISBLK, "block_device", "a block device"),
    (stat.S_ISSOCK, "socket", "a socket"),
    (stat.S_ISDIR, "directory", "a folder"),
)


def require_regular_file(path: str | os.PathLike[str], what: str = "input") -> os.stat_result:
    """``stat`` of ``path`` (links followed) when it is a regular file; a typed error if not.

    Raises:
        MediaNotFoundError: nothing exists at ``path``.
        MediaDecodeError: it is a FIFO, device, socket or folder (``detail.file_type``), or
            cannot be looked at.
    """
    shown = os.fspath(path)
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise MediaNotFoundError(f"{what} does not exist", path=shown) from None
    except OSError as exc:
        raise MediaDecodeError(f"cannot read {what}: {exc.strerror or exc}", path=shown) from None
    if stat.S_ISREG(st.st_mode):
        return st
    file_type, described = next(((kind, words) for test, kind, words in _NOT_FILES if test(st.st_mode)),
                                ("other", "not a regular file"))
    raise MediaDecodeError(f"{what} is {described}, not a regular file; only files are read",
                           path=shown, detail={"file_type": file_type})
