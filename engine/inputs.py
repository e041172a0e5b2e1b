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

from moviola.plugin.errors import MediaNotFoundError
from moviola.plugin.timeline import WorkUnit, read_timeline, timeline_from_media, work_units

from .media.probe import MediaInfo, probe
from .media.sequence import looks_like_sequence

TIMELINE_SUFFIXES = frozenset({".otio", ".otioz", ".otiod", ".xml", ".edl"})


@dataclass(frozen=True)
class ResolvedInput:
    path: str                       # absolute path the user gave
    timeline: otio.schema.Timeline
    units: list[WorkUnit]
    is_timeline: bool
    media: MediaInfo | None = None  # set for a plain movie or sequence

    @property
    def stem(self) -> str:
        name = Path(self.path).name
        for mark in ("%", "#", "@"):
            name = name.split(mark)[0]
        return Path(name).stem.rstrip("._-") or "media"


def is_timeline_path(path: str) -> bool:
    return Path(path).suffix.lower() in TIMELINE_SUFFIXES


def check_input_exists(path: str) -> None:
    """Typed error before any work when an input is plainly missing."""
    if not looks_like_sequence(path) and not os.path.exists(path):
        raise MediaNotFoundError("input does not exist", path=path)


def resolve_input(path: str) -> ResolvedInput:
    path = os.path.abspath(os.path.expanduser(path))
    check_input_exists(path)
    if is_timeline_path(path):
        timeline = read_timeline(path)
        return ResolvedInput(path, timeline, work_units(timeline, base_dir=os.path.dirname(path)), True)
    info = probe(path)
    timeline = timeline_from_media(info.path, info.to_wire())
    return ResolvedInput(path, timeline, work_units(timeline), False, info)
