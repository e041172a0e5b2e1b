"""Every job input, whatever it is, as a timeline and its work units.

A user may hand a job a timeline (.otio, FCP7 .xml, .edl), a movie file or an image
sequence. Jobs should not care: :func:`resolve_input` gives back a timeline (a one-clip
timeline for plain media) and its :class:`~moviola.plugin.timeline.WorkUnit` list, so every
job iterates clips and every result is a timeline.

An input is looked at once on its way through a job. ``check`` stats it
(:func:`check_input`, on the server thread: no open, no probe) and decides once whether it is
a timeline, a sequence or a video; ``run`` resolves that :class:`CheckedInput`
(:func:`resolve_input`) and, for plain media, the reader it opens to probe the file is the
reader the job reads frames from (:meth:`ResolvedInput.open`). So a movie or a sequence is
probed once per job.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Literal

import opentimelineio as otio

from moviola.plugin.errors import MediaDecodeError, MediaNotFoundError
from moviola.plugin.timeline import WorkUnit, read_timeline, timeline_from_media, work_units

from .media.frame_source import FrameSource
from .media.input_files import require_regular_file
from .media.probe import MediaInfo
from .media.sequence import SequenceReader, looks_like_sequence
from .media.source import open_source
from .media.video import VideoReader

TIMELINE_SUFFIXES = frozenset({".otio", ".otioz", ".otiod", ".xml", ".edl"})
FOLDER_TIMELINE_SUFFIXES = frozenset({".otiod"})  # OTIO's bundle is a folder
KEEP_OPEN = 4   # media readers an input keeps open at once


InputKind = Literal["timeline", "sequence", "video"]


@dataclass(frozen=True)
class CheckedInput:
    """An input as ``check`` found it, by a stat alone: its absolute path and what it is."""

    path: str
    kind: InputKind

    @property
    def is_timeline(self) -> bool:
        return self.kind == "timeline"

    @property
    def stem(self) -> str:
        return input_stem(self.path)


@dataclass(frozen=True)
class ResolvedInput:
    """An input as a timeline and its work units, with the readers opened for its media.

    Use it as a context manager (or call :meth:`close`): the readers stay open until then, so
    a job reads its frames through the reader that probed the file.
    """

    path: str                       # absolute path the user gave
    timeline: otio.schema.Timeline
    units: list[WorkUnit]
    is_timeline: bool
    media: MediaInfo | None = None  # set for a plain movie or sequence
    readers: dict[str, FrameSource] = field(default_factory=dict, compare=False, repr=False)

    @property
    def stem(self) -> str:
        return input_stem(self.path)

    def open(self, media_path: str) -> FrameSource:
        """The open reader of ``media_path`` (one of this input's media files): opened on first
        use, then the same one; :meth:`close` closes it. Do not close it yourself.

        Jobs read one clip at a time, so only the latest :data:`KEEP_OPEN` media stay open:
        an edit of hundreds of movies never holds hundreds of decoders."""
        reader = self.readers.pop(media_path, None)
        if reader is None:
            reader = open_source(media_path)
            while len(set(map(id, self.readers.values()))) >= KEEP_OPEN:
                oldest = next(iter(self.readers))
                stale = self.readers.pop(oldest)
                if all(r is not stale for r in self.readers.values()):
                    stale.close()
        self.readers[media_path] = reader   # last: the most recently used
        return reader

    def close(self) -> None:
        for reader in self.readers.values():
            reader.close()
        self.readers.clear()

    def __enter__(self) -> ResolvedInput:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


def input_stem(path: str) -> str:
    """The name results of ``path`` are called by: ``edit`` for ``edit.otio``, ``shot`` for
    ``shot.%04d.exr`` or ``shot.####.exr``."""
    name = Path(path).name
    for mark in ("%", "#", "@"):
        name = name.split(mark)[0]
    return Path(name).stem.rstrip("._-") or "media"


def is_timeline_path(path: str) -> bool:
    return Path(path).suffix.lower() in TIMELINE_SUFFIXES


def check_input(path: str) -> CheckedInput:
    """Typed error before any work when an input is missing or is not a file to read; else
    what it is.

    Nothing is opened here, only stat'ed. A FIFO, device or socket is refused whatever its
    name, because opening one can block a worker forever; so is a folder where a file is
    expected.
    """
    path = os.path.abspath(os.path.expanduser(path))
    if is_timeline_path(path):
        if os.path.isdir(path):
            if Path(path).suffix.lower() not in FOLDER_TIMELINE_SUFFIXES:
                raise MediaDecodeError("expected a timeline file, found a folder", path=path,
                                       detail={"file_type": "directory"})
        else:
            require_regular_file(path)
        return CheckedInput(path, "timeline")
    if looks_like_sequence(path):
        # A folder holding one sequence, or a pattern (shot.%04d.exr) whose frames are each
        # checked as they are opened; a numbered file itself must be a regular file.
        if os.path.lexists(path) and not os.path.isdir(path):
            require_regular_file(path)
        return CheckedInput(path, "sequence")
    require_regular_file(path)
    return CheckedInput(path, "video")


def check_input_exists(path: str) -> None:
    """:func:`check_input`, for callers that need no answer."""
    check_input(path)


def media_file(unit: WorkUnit) -> str:
    """The media file ``unit`` reads. Jobs read only clips whose media was found; one without
    is a typed error naming the clip, never a reader opened on nothing."""
    if unit.media_path is None:
        raise MediaNotFoundError(f"clip {unit.clip_name!r} has no media to read",
                                 detail={"clip": unit.clip_name})
    return unit.media_path


def resolve_input(source: str | CheckedInput) -> ResolvedInput:
    """The input as a timeline and work units; plain media is probed by opening its reader,
    which the result keeps (:meth:`ResolvedInput.open`)."""
    checked = source if isinstance(source, CheckedInput) else check_input(source)
    path = checked.path
    if checked.is_timeline:
        timeline = read_timeline(path)
        return ResolvedInput(path, timeline, work_units(timeline, base_dir=os.path.dirname(path)), True)
    reader: FrameSource = SequenceReader(path) if checked.kind == "sequence" else VideoReader(path)
    try:
        info = reader.info
        timeline = timeline_from_media(info.path, info.to_wire())
        units = work_units(timeline)
    except BaseException:
        reader.close()
        raise
    readers = {info.path: reader}
    for unit in units:
        if unit.media_path is not None:
            readers.setdefault(unit.media_path, reader)
    return ResolvedInput(path, timeline, units, False, info, readers)
