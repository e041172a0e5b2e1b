"""Every job input, whatever it is, as a timeline and its work units.

A user may hand a job a timeline (.otio, FCP7 .xml, .edl), a movie file or an image
sequence. Jobs should not care: :func:`resolve_input` gives back a timeline (a one-clip
timeline for plain media) and its :class:`~moviola.plugin.timeline.WorkUnit` list, so every
job iterates clips and every result is a timeline.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import opentimelineio as otio

from moviola.plugin.errors import MediaDecodeError
from moviola.plugin.timeline import WorkUnit, read_timeline, timeline_from_media, work_units

from .media.input_files import require_regular_file
from .media.probe import MediaInfo, probe
from .media.sequence import looks_like_sequence

TIMELINE_SUFFIXES = frozenset({".otio", ".otioz", ".otiod", ".xml", ".edl"})
FOLDER_TIMELINE_SUFFIXES = frozenset({".otiod"})  # OTIO's bundle is a folder


@dataclass(frozen=True)
class ResolvedInput:
    path: str                       # absolute path the user gave
    timeline: otio.schema.Timeline
    units: list[WorkUnit]
    is_timeline: bool
    media: MediaInfo | None = None  # set for a plain movie or sequence

    @property
    def stem(self) -> str:
        return input_stem(self.path)


def input_stem(path: str) -> str:
    """The name results of ``path`` are called by: ``edit`` for ``edit.otio``, ``shot`` for
    ``shot.%04d.exr`` or ``shot.####.exr``."""
    name = Path(path).name
    for mark in ("%", "#", "@"):
        name = name.split(mark)[0]
    return Path(name).stem.rstrip("._-") or "media"


def is_timeline_path(path: str) -> bool:
    return Path(path).suffix.lower() in TIMELINE_SUFFIXES


def check_input_exists(path: str) -> None:
    """Typed error before any work when an input is missing or is not a file to read.

    Nothing is opened here. A FIFO, device or socket is refused whatever its name, because
    opening one can block a worker forever; so is a folder where a file is expected.
    """
    if os.path.isdir(path):
        suffix = Path(path).suffix.lower()
        if suffix in TIMELINE_SUFFIXES and suffix not in FOLDER_TIMELINE_SUFFIXES:
            raise MediaDecodeError("expected a timeline file, found a folder", path=path,
                                   detail={"file_type": "directory"})
        return  # a folder holding one image sequence, or an .otiod bundle
    if looks_like_sequence(path) and not os.path.lexists(path):
        return  # a pattern (shot.%04d.exr): each frame is checked as it is opened
    require_regular_file(path)


def resolve_input(path: str) -> ResolvedInput:
    path = os.path.abspath(os.path.expanduser(path))
    check_input_exists(path)
    if is_timeline_path(path):
        timeline = read_timeline(path)
        return ResolvedInput(path, timeline, work_units(timeline, base_dir=os.path.dirname(path)), True)
    info = probe(path)
    timeline = timeline_from_media(info.path, info.to_wire())
    return ResolvedInput(path, timeline, work_units(timeline), False, info)
