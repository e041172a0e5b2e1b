"""A result folder that changes all at once: a run writes into a hidden staging folder beside
the final one and swaps it in only when it finished.

So a folder is never a mix of two runs: a cancelled, failed or killed run leaves the previous
result as it was. The swap is one ``renameat2(RENAME_EXCHANGE)`` on Linux (the final name
always holds a complete result); elsewhere, two renames. A killed run's staging folder, named
with its pid, is removed by the next run's :func:`.outputs.sweep_stale`.
"""

from __future__ import annotations

import ctypes
import errno
import os
import shutil
import sys
from pathlib import Path

from .outputs import sweep_stale, temp_name, write_error

__all__ = ["StagedFolder"]


class StagedFolder:
    """Stage ``final`` (a folder): write into :attr:`path`, then :meth:`commit` or
    :meth:`discard`."""

    def __init__(self, final: str | os.PathLike[str]) -> None:
        self.final = Path(final)
        sweep_stale(self.final.parent)
        self.path = self.final.parent / temp_name(self.final.name, "staging")
        try:
            self.path.mkdir()
        except OSError as exc:
            raise write_error(exc, self.path) from exc
        self.open = True

    def commit(self) -> Path:
        """Put the staged folder at the final name (the previous result goes); return it.

        Raises:
            DiskFullError, OutputWriteError: the swap failed; the previous result is kept.
        """
        if not self.open:
            return self.final
        self.open = False
        try:
            if not self.final.exists():
                os.rename(self.path, self.final)
            elif _exchange(self.path, self.final):
                shutil.rmtree(self.path, ignore_errors=True)   # now holds the previous run
            else:
                old = self.final.parent / temp_name(self.final.name, "old")
                os.rename(self.final, old)
                os.rename(self.path, self.final)
                shutil.rmtree(old, ignore_errors=True)
        except OSError as exc:
            shutil.rmtree(self.path, ignore_errors=True)
            raise write_error(exc, self.final) from exc
        return self.final

    def discard(self) -> None:
        """Remove the staged folder; the final one is left as it was."""
        if self.open:
            self.open = False
            shutil.rmtree(self.path, ignore_errors=True)


_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically; False where the system cannot (then the caller renames)."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p,
                          ctypes.c_uint]
    if renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
        return False   # a file system without exchange
    raise OSError(code, os.strerror(code), str(b))
