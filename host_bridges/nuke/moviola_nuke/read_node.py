"""The Read node behind a selection, and what the engine needs to know from it."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Any

from moviola.plugin.errors import InvalidParamsError, MediaNotFoundError

from .frames import ReadTiming

__all__ = ["ReadSource", "engine_path", "find_read", "read_source"]

MOVIE_SUFFIXES = (".mov", ".mp4", ".mxf", ".mkv", ".avi", ".m4v", ".webm", ".r3d", ".braw")
_HASHES = re.compile(r"#+")
_PRINTF = re.compile(r"%0?(\d*)d")
_MAX_WALK = 500   # a graph deeper than this is a loop or not a comp


def find_read(node: Any) -> Any:
    """``node`` if it is a Read, else the first Read up its input 0 (the B pipe)."""
    seen = 0
    current = node
    while current is not None and seen < _MAX_WALK:
        if current.Class() == "Read":
            return current
        current = current.input(0)
        seen += 1
    raise InvalidParamsError(f"no Read node above {node.name()}: select a Read, or a node "
                             "whose input 0 leads to one")


def engine_path(nuke_path: str) -> str:
    """A Read's file in a form the engine reads: ``####`` becomes ``%04d``; a path with a
    frame range typed after it loses the range."""
    path = nuke_path.strip()
    head, _, tail = path.rpartition(" ")
    if head and re.fullmatch(r"-?\d+(-\d+)?", tail):
        path = head
    return _HASHES.sub(lambda m: f"%0{len(m.group())}d", path)


def nuke_pattern(printf_path: str) -> str:
    """The engine's ``%04d`` as Nuke's ``####`` (how artists read a Read's file knob)."""
    return _PRINTF.sub(lambda m: "#" * int(m.group(1) or 1), printf_path)


@dataclass(frozen=True)
class ReadSource:
    """What a Read shows, in the engine's terms."""

    node_name: str
    path: str                # the full-resolution file, never the proxy
    width: int               # the Read's full-resolution format
    height: int
    timing: ReadTiming

    @property
    def is_movie(self) -> bool:
        return self.timing.is_movie


def _is_movie(path: str) -> bool:
    return os.path.splitext(path)[1].lower() in MOVIE_SUFFIXES and not _PRINTF.search(path)


def _exists(path: str, movie: bool) -> bool:
    """A movie file, or a folder holding at least one frame of the sequence."""
    if movie or not _PRINTF.search(path):
        return os.path.isfile(path)
    folder, name = os.path.split(path)
    parts = _PRINTF.split(name, maxsplit=1)     # [prefix, padding, suffix]
    prefix, suffix = parts[0], parts[-1]
    try:
        names = os.listdir(folder or ".")
    except OSError:
        return False
    return any(f.startswith(prefix) and f.endswith(suffix)
               and f[len(prefix):len(f) - len(suffix)].isdigit() for f in names)


def read_source(read: Any, check_exists: bool = True) -> ReadSource:
    """The engine's view of a Read: its full-res file and format, and its frame numbering."""
    raw: str | None = read["file"].value()
    if not raw:
        raise InvalidParamsError(f"{read.name()} has no file")
    path = engine_path(raw)
    movie = _is_movie(path)
    fmt = read["format"].value()
    timing = ReadTiming.from_knobs(movie, int(read["first"].value()), int(read["last"].value()),
                                   str(read["frame_mode"].value() or "expression"),
                                   str(read["frame"].value() or ""))
    if check_exists and not _exists(path, movie):
        raise MediaNotFoundError(f"{read.name()} reads {raw}, which does not exist", path=path)
    return ReadSource(read.name(), path, int(fmt.width()), int(fmt.height()), timing)
