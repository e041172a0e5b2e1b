"""Safe output paths and atomic writes.

Two promises of the engine live here: nothing is ever written outside the output folder a job
was given, and output files appear complete or not at all (write a hidden temp file in the
same folder, flush it to disk, check its size, then ``os.replace`` it onto the final name).
A write that fails is one typed error naming the file: :class:`DiskFullError` for no space
or quota, :class:`OutputWriteError` for anything else (a size limit, an I/O error).

Temp names carry the writing process's id (``.<name>.tmp-<pid>-<hex>``,
:mod:`moviola.plugin.temp_names`, shared with the client's timeline writer), so
:func:`sweep_stale` can remove what a killed process left without touching the files of a
live one.
"""

from __future__ import annotations

import errno
import os
import shutil
from pathlib import Path
from types import TracebackType

from moviola.plugin.discovery import process_alive
from moviola.plugin.errors import DiskFullError, MoviolaError, OutputPathError, OutputWriteError
from moviola.plugin.temp_names import TEMP_NAME, temp_name

from . import faults

__all__ = ["resolve_output", "atomic_path", "AtomicPath", "ensure_dir", "write_bytes",
           "write_error", "temp_name", "sweep_stale"]

_DISK_FULL = {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)}

# temp_name and its pattern live in the client package: result timelines it writes follow
# the same convention, so one sweep clears a killed write of either.


def write_error(exc: OSError, path: str | os.PathLike[str]) -> MoviolaError:
    """The typed error for a failed write of ``path``: disk full, or any other write failure."""
    name = Path(path).name
    code = exc.errno
    reason = exc.strerror or str(exc)
    detail = {"errno": errno.errorcode.get(code, str(code)) if code else None}
    if code in _DISK_FULL:
        return DiskFullError(f"no space left on the output disk while writing {name}: {reason}",
                             path=str(path), detail=detail)
    if code == errno.EFBIG:
        reason = f"{reason} (the file size limit of the engine process)"
    return OutputWriteError(f"cannot write {name}: {reason}", path=str(path), detail=detail)


def write_bytes(final: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` as ``final``: a temp file in the same folder, written in full, flushed to
    disk and checked for size, then renamed. ``final`` is either complete or untouched.

    Raises:
        DiskFullError: no space (or quota) left.
        OutputWriteError: any other failure (size limit, I/O error).
        OutputPathError: the final name cannot take the file (e.g. a folder sits there).
    """
    atomic = AtomicPath(final)
    try:
        faults.check_write(str(atomic.final))
        fd = os.open(atomic.tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0),
                     0o666)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
            size = os.fstat(fd).st_size
        finally:
            os.close(fd)
        if size != len(data):
            raise OSError(errno.EIO, f"{size} of {len(data)} bytes reached the disk")
    except OSError as exc:
        atomic.discard()
        raise write_error(exc, atomic.final) from exc
    return atomic.commit()


def sweep_stale(folder: str | os.PathLike[str]) -> int:
    """Remove the temp files and folders a dead process left in ``folder`` (not recursive).

    A leftover ``old`` folder (a swap cut short) goes back to its name if nothing took it.
    Returns how many entries were removed or restored. Errors are ignored: a sweep never
    fails a job.
    """
    count = 0
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return 0
    for entry in entries:
        match = TEMP_NAME.match(entry.name)
        if match is None or process_alive(int(match["pid"])):
            continue
        try:
            original = Path(folder) / match["name"]
            if match["what"] == "old" and entry.is_dir() and not original.exists():
                os.rename(entry.path, original)
            elif entry.is_dir(follow_symlinks=False):
                shutil.rmtree(entry.path)
            else:
                os.unlink(entry.path)
            count += 1
        except OSError:
            pass
    return count


def ensure_dir(out_dir: str | os.PathLike[str]) -> Path:
    """Create ``out_dir`` (and parents) if missing and return it resolved.

    Raises:
        OutputPathError: a file sits where a folder should be, or the folder cannot be made.
    """
    path = Path(out_dir).expanduser()
    try:
        path.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise OutputPathError(f"output folder is a file, not a folder: {path}",
                              path=str(path)) from None
    except OSError as exc:
        raise OutputPathError(f"cannot create output folder {path}: {exc.strerror or exc}",
                              path=str(path)) from exc
    if not path.is_dir():
        raise OutputPathError(f"output folder is not a folder: {path}", path=str(path))
    return path.resolve()


def resolve_output(out_dir: str | os.PathLike[str], relative_name: str | os.PathLike[str]) -> Path:
    """Return the absolute path for ``relative_name`` inside ``out_dir``.

    ``out_dir`` is created if missing. The result must stay inside ``out_dir`` after ``..``
    and symlinks are resolved, so ``../x``, absolute paths elsewhere and links that point out
    are refused. Parent folders of the name are created (the name itself is not: it may
    be a file to write or a sub-folder the caller makes).

    Raises:
        OutputPathError: naming both the output folder and the offending name.
    """
    root = ensure_dir(out_dir)
    name = Path(relative_name)
    if str(relative_name) in ("", ".") or name.name in ("", ".", ".."):
        raise OutputPathError(f"output name {str(relative_name)!r} is not a file name",
                              path=str(root), detail={"name": str(relative_name)})
    # An absolute name is accepted only when it already points inside root.
    candidate = (root / name).resolve()  # follows symlinks of existing parts
    if not candidate.is_relative_to(root) or candidate == root:
        raise OutputPathError(
            f"output {str(relative_name)!r} would land outside the output folder {root}",
            path=str(root), detail={"name": str(relative_name), "resolved": str(candidate)})
    parent = candidate.parent
    if parent != root:
        ensure_dir(parent)
        # A link created between resolve() and mkdir() could still point out: check again.
        if not parent.resolve().is_relative_to(root):
            raise OutputPathError(
                f"output {str(relative_name)!r} would land outside the output folder {root}",
                path=str(root), detail={"name": str(relative_name)})
    return candidate


class AtomicPath:
    """Context manager behind :func:`atomic_path`; also usable by long-lived writers.

    ``tmp`` is a hidden file in the final file's folder with the same extension, so writers
    that choose a format by extension pick the right one. :meth:`commit` renames it onto
    the final name; :meth:`discard` removes it.
    """

    def __init__(self, final: str | os.PathLike[str]) -> None:
        self.final = Path(final)
        # Same folder so os.replace is a rename on one filesystem (atomic); same suffix(es).
        suffix = "".join(self.final.suffixes[-1:])
        stem = self.final.name[: len(self.final.name) - len(suffix)] if suffix else self.final.name
        self.tmp = self.final.with_name(temp_name(stem, "tmp", suffix))
        self.done = False

    def commit(self) -> Path:
        """Flush the finished temp file to disk, move it onto the final name and return the
        final path."""
        if not self.done:
            if not self.tmp.exists():
                raise OutputPathError(f"nothing was written for {self.final}",
                                      path=str(self.final))
            try:
                _fsync(self.tmp)
            except OSError as exc:
                self.discard()
                raise write_error(exc, self.final) from exc
            try:
                os.replace(self.tmp, self.final)
            except OSError as exc:  # e.g. a folder sits at the final name
                self.discard()
                raise OutputPathError(f"cannot put {self.final.name} in place: "
                                      f"{exc.strerror or exc}", path=str(self.final)) from exc
            self.done = True
        return self.final

    def discard(self) -> None:
        """Remove the temp file, if any; the final name is left untouched."""
        self.done = True
        try:
            self.tmp.unlink()
        except FileNotFoundError:
            pass

    def __enter__(self) -> Path:
        return self.tmp

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if exc_type is None:
            self.commit()
        else:
            self.discard()


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_path(final: str | os.PathLike[str]) -> AtomicPath:
    """Yield a temp path next to ``final``; on success rename it onto ``final``.

    Usage::

        with atomic_path(out) as tmp:
            write_something(tmp)
        # out now exists and is complete; on an exception the temp file is removed
    """
    return AtomicPath(final)
