"""Safe output paths and atomic writes.

Two promises of the engine live here: nothing is ever written outside the output folder a job
was given, and output files appear complete or not at all (write a hidden temp file in the
same folder, then ``os.replace`` it onto the final name).
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from types import TracebackType

from moviola.plugin.errors import OutputPathError

__all__ = ["resolve_output", "atomic_path", "AtomicPath", "ensure_dir"]


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
        self.tmp = self.final.with_name(f".{stem}.tmp-{uuid.uuid4().hex[:8]}{suffix}")
        self.done = False

    def commit(self) -> Path:
        """Move the finished temp file onto the final name and return the final path."""
        if not self.done:
            if not self.tmp.exists():
                raise OutputPathError(f"nothing was written for {self.final}",
                                      path=str(self.final))
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


def atomic_path(final: str | os.PathLike[str]) -> AtomicPath:
    """Yield a temp path next to ``final``; on success rename it onto ``final``.

    Usage::

        with atomic_path(out) as tmp:
            write_something(tmp)
        # out now exists and is complete; on an exception the temp file is removed
    """
    return AtomicPath(final)
