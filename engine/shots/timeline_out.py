"""Timeline items for shots: the clip a work unit came from, media times of its frames, and a
timeline of one clip per shot.

Everything is built through OpenTimelineIO and written by
:func:`moviola.plugin.results.write_timeline`; frame numbers become media times at the media
rate from the unit's own ``first_frame_time``, so timecode starts and 23.976 stay exact.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import opentimelineio as otio
from opentimelineio.opentime import RationalTime, TimeRange

from moviola.plugin.results import NAMESPACE
from moviola.plugin.timeline import WorkUnit

__all__ = ["clip_of", "media_time", "media_range", "shots_timeline"]


def clip_of(timeline: otio.schema.Timeline, unit: WorkUnit) -> otio.schema.Clip:
    """The clip of ``timeline`` (or of a copy of the timeline ``unit`` came from) that
    ``unit`` describes, found by its track and item path."""
    tracks = [t for t in timeline.tracks if isinstance(t, otio.schema.Track)
              and t.kind == otio.schema.TrackKind.Video]
    item: Any = tracks[unit.track_index]
    for index in unit.item_path:
        item = item[index]
    return item


def media_time(unit: WorkUnit, frame: int) -> RationalTime:
    """Source-media time of media frame ``frame`` of the unit's media, at the media rate."""
    base = unit.first_frame_time or RationalTime(unit.first_frame, unit.rate)
    return RationalTime(base.value_rescaled_to(unit.rate) + frame - unit.first_frame, unit.rate)


def media_range(unit: WorkUnit, start: int, end: int) -> TimeRange:
    """Media frames ``start``..``end`` (exclusive) as a time range in the media's time."""
    return TimeRange(media_time(unit, start), RationalTime(end - start, unit.rate))


def shots_timeline(name: str, shots: Sequence[tuple[WorkUnit, otio.core.MediaReference, int, int,
                                                     dict[str, Any]]]) -> otio.schema.Timeline:
    """One video track, one clip per shot, in the order given.

    Each entry is ``(unit, media reference, start, end, metadata)``; the reference is cloned
    and the metadata goes under ``metadata["moviola"]``.
    """
    timeline = otio.schema.Timeline(name=name)
    track = otio.schema.Track(name="Shots", kind=otio.schema.TrackKind.Video)
    timeline.tracks.append(track)
    for number, (unit, ref, start, end, meta) in enumerate(shots, start=1):
        clip = otio.schema.Clip(name=f"shot {number:03d}", media_reference=ref.clone(),
                                source_range=media_range(unit, start, end))
        clip.metadata[NAMESPACE] = dict(meta)
        track.append(clip)
    return timeline
