"""Every job input, whatever it is, as a timeline and its work units.

A user may hand a job a timeline (.otio, FCP7 .xml, .edl), a folder of clips, a movie file or
an image sequence. Jobs should not care: :func:`resolve_input` gives back a timeline (a one-clip
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

import copy
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Literal

import numpy as np
import opentimelineio as otio

from moviola.plugin.errors import MediaDecodeError, MediaNotFoundError, MoviolaError
from moviola.plugin.timeline import (
    WorkUnit,
    is_still_path,
    read_timeline,
    timeline_from_media,
    url_to_path,
    work_units,
)

from .media.frame_source import FrameSource
from .media.input_files import require_regular_file
from .media.probe import MediaInfo, probe_video
from .media.sequence import IMAGE_EXTENSIONS, SequenceReader, looks_like_sequence
from .media.source import open_source
from .media.still import StillReader
from .media.video import VideoReader

TIMELINE_SUFFIXES = frozenset({".otio", ".otioz", ".otiod", ".xml", ".edl"})
# Files a folder of clips reads as movies; anything else in it (notes, sidecars) is not a clip.
MOVIE_SUFFIXES = frozenset({".mov", ".mp4", ".m4v", ".mxf", ".mkv", ".avi", ".webm", ".mpg",
                            ".mpeg", ".ts", ".y4m"})
FOLDER_TIMELINE_SUFFIXES = frozenset({".otiod"})  # OTIO's bundle is a folder
KEEP_OPEN = 4   # media readers an input keeps open at once


InputKind = Literal["timeline", "folder", "sequence", "video"]


@dataclass(frozen=True)
class CheckedInput:
    """An input as ``check`` found it, by a stat alone: its absolute path and what it is."""

    path: str
    kind: InputKind

    @property
    def is_timeline(self) -> bool:
        """A folder of clips is read as the timeline of its clips."""
        return self.kind in ("timeline", "folder")

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
    stills: frozenset[str] = frozenset()   # media paths of clips that hold a still image

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
            # A still is one picture whatever its name; anything else by what it is.
            reader = StillReader(media_path) if media_path in self.stills else open_source(media_path)
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

    Nothing is opened here, only stat'ed (a folder is listed, to tell a folder of clips from
    one image sequence). A FIFO, device or socket is refused whatever its
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
    if os.path.isdir(path) and folder_clips(path):
        return CheckedInput(path, "folder")
    if looks_like_sequence(path):
        # A folder holding one sequence, or a pattern (shot.%04d.exr) whose frames are each
        # checked as they are opened; a numbered file itself must be a regular file.
        if os.path.lexists(path) and not os.path.isdir(path):
            require_regular_file(path)
        return CheckedInput(path, "sequence")
    require_regular_file(path)
    return CheckedInput(path, "video")


def folder_clips(path: str) -> list[str]:
    """The clips of a folder of clips, sorted by name: its movie files and its subfolders that
    hold images (one image sequence each). Empty when the folder holds images itself: then it
    is one image sequence, as it always was. Hidden entries are skipped; this lists the folder
    and its subfolders, opening no file."""
    try:
        entries = sorted(e for e in os.listdir(path) if not e.startswith("."))
    except OSError:
        return []
    suffixes = {Path(e).suffix.lower() for e in entries if os.path.isfile(os.path.join(path, e))}
    if suffixes & IMAGE_EXTENSIONS:
        return []
    clips = []
    for entry in entries:
        full = os.path.join(path, entry)
        if os.path.isfile(full) and Path(entry).suffix.lower() in MOVIE_SUFFIXES:
            clips.append(full)
        elif os.path.isdir(full) and _holds_images(full):
            clips.append(full)
    return clips


def _holds_images(folder: str) -> bool:
    try:
        return any(Path(e).suffix.lower() in IMAGE_EXTENSIONS and not e.startswith(".")
                   for e in os.listdir(folder))
    except OSError:
        return False


def timeline_from_folder(path: str) -> otio.schema.Timeline:
    """The timeline of a folder of clips: each clip whole, in name order, one after another
    on one track, each named by its entry in the folder. Every clip is probed; one that
    cannot be read is a typed error naming it."""
    track = otio.schema.Track(name="V1", kind=otio.schema.TrackKind.Video)
    for media in folder_clips(path):
        if os.path.isdir(media):
            with SequenceReader(media) as reader:
                info = reader.info
        else:
            info = probe_video(media)
        clip = timeline_from_media(info.path, info.to_wire()).find_clips()[0]
        clip = copy.deepcopy(clip)
        clip.name = os.path.basename(media)
        track.append(clip)
    if not len(track):
        raise MediaNotFoundError("no movie files or image-sequence folders in this folder",
                                 path=path)
    return otio.schema.Timeline(name=input_stem(path), tracks=[track])


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


def shown_frames(reader: FrameSource, unit: WorkUnit, first: int, last: int
                 ) -> Iterator[tuple[int, np.ndarray]]:
    """``(number, image)`` for the clip's frames ``first..last`` as the host shows them.

    A clip played frame for frame yields its media frames, numbered as in the media. A still,
    a freeze frame or a speed change yields one image per record frame, numbered
    ``unit.first_frame + i`` for record frame ``i``; a media frame shown several times in a
    row is read once.
    """
    if not unit.retimed:
        yield from reader.frames(first, last + 1)
        return
    held: tuple[int, np.ndarray] | None = None
    for number in range(first, last + 1):
        media_frame = unit.frames[number - unit.first_frame]
        if held is None or held[0] != media_frame:
            held = (media_frame, reader.read(media_frame))
        yield number, held[1]


def resolve_input(source: str | CheckedInput, rate: float | None = None) -> ResolvedInput:
    """The input as a timeline and work units; plain media is probed by opening its reader,
    which the result keeps (:meth:`ResolvedInput.open`).

    ``rate`` is an EDL's frame rate; without it an EDL is read at the rate of the first movie
    it names (``* FROM FILE:``) that exists, else at 24. Movies a timeline names without their
    available range (an EDL's) are probed, so source timecode counts from the movie's own
    start timecode.
    """
    checked = source if isinstance(source, CheckedInput) else check_input(source)
    path = checked.path
    if checked.kind == "folder":
        timeline = timeline_from_folder(path)
        units = work_units(timeline, base_dir=path)
        return ResolvedInput(path, timeline, units, True)
    if checked.is_timeline:
        base_dir = os.path.dirname(path)
        if rate is None and path.lower().endswith(".edl"):
            rate = edl_rate_from_media(path)
        timeline = read_timeline(path, rate=rate)
        fill_available_ranges(timeline, base_dir)
        units = work_units(timeline, base_dir=base_dir)
        stills = frozenset(u.media_path for u in units
                           if u.media_kind == "still" and u.media_path is not None)
        return ResolvedInput(path, timeline, units, True, stills=stills)
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


_FROM_FILE = re.compile(r"^\s*\*\s*FROM FILE:\s*(?P<path>.+?)\s*$", re.IGNORECASE | re.MULTILINE)


def edl_rate_from_media(path: str) -> float | None:
    """The frame rate of the first movie an EDL names (``* FROM FILE:``) that exists: a CMX
    list does not say its own rate, its media does. None when no named movie can be probed."""
    try:
        text = Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    for m in _FROM_FILE.finditer(text):
        media, problem = url_to_path(m.group("path"), os.path.dirname(path))
        if media is None or problem or not os.path.isfile(media) or is_still_path(media):
            continue
        try:
            return float(probe_video(media).frame_rate)
        except MoviolaError:
            continue
    return None


def fill_available_ranges(timeline: otio.schema.Timeline, base_dir: str) -> None:
    """Give movies that a timeline names without an available range (an EDL's, or one
    relinked by hand) the range their file holds: start timecode and frame count, probed once
    per file. Without it a source timecode of 01:00:04:05 would be read as frame 86501."""
    found: dict[str, otio.opentime.TimeRange | None] = {}
    for clip in timeline.find_clips():
        ref = clip.media_reference
        if not isinstance(ref, otio.schema.ExternalReference) or ref.available_range is not None:
            continue
        media, problem = url_to_path(ref.target_url, base_dir)
        if media is None or problem or is_still_path(media) or not os.path.isfile(media):
            continue  # the work units report it
        if media not in found:
            found[media] = _probed_range(media)
        if found[media] is not None:
            ref.available_range = found[media]


def _probed_range(media: str) -> otio.opentime.TimeRange | None:
    try:
        info = probe_video(media)
    except MoviolaError:
        return None   # the job's own read reports what is wrong with it
    rate = float(info.frame_rate)
    start = otio.opentime.RationalTime(0, rate)
    if info.start_timecode:
        try:
            start = otio.opentime.from_timecode(info.start_timecode, rate)
        except ValueError:
            pass
    return otio.opentime.TimeRange(start, otio.opentime.RationalTime(info.frame_count, rate))
