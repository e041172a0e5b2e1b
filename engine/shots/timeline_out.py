"""Timeline items for shots: the clip a work unit came from, media times of its frames, record
frames of media frames, cut markers on the source clips, and the shot list laid at the
edit's record times.

Everything is built through OpenTimelineIO and written by
:func:`moviola.plugin.results.write_timeline`; frame numbers become media times at the media
rate from the unit's own ``first_frame_time``, so timecode starts and 23.976 stay exact.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import opentimelineio as otio
from opentimelineio.opentime import RationalTime, TimeRange

from moviola.plugin.results import NAMESPACE, MarkerSpec, add_markers, result_timeline
from moviola.plugin.timeline import WorkUnit

__all__ = ["clip_of", "cut_marker", "global_start", "marked_timeline", "media_range", "media_time",
           "record_end", "record_frame", "shot_list_timeline", "shots_timeline"]


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


def record_frame(unit: WorkUnit, frame: int) -> int:
    """The track frame (at the record rate, from the track's start) where media frame
    ``frame`` of a unit played frame for frame shows."""
    rate = unit.record_duration.rate
    offset = (media_time(unit, frame) - media_time(unit, unit.first_frame)).value_rescaled_to(rate)
    return round(unit.record_start.value_rescaled_to(rate) + offset)


def record_end(unit: WorkUnit) -> int:
    """The track frame just after the unit's last record frame."""
    rate = unit.record_duration.rate
    return round((unit.record_start + unit.record_duration).value_rescaled_to(rate))


def global_start(units: Sequence[WorkUnit]) -> RationalTime | None:
    """The timeline's start in record time (its global start time, or an EDL's first record
    timecode), as the units were placed; None when nothing says."""
    for unit in units:
        if unit.record_start_global is not None:
            return unit.record_start_global - unit.record_start
    return None


def cut_marker(unit: WorkUnit, cut: Any) -> MarkerSpec:
    """A marker on the cut's source clip, in the clip's source (media) time: a hard cut marks
    its first frame, a dissolve or fade its whole span."""
    span = max(1, cut.end - cut.start) if cut.kind != "hard" else 1
    start = cut.start if cut.kind != "hard" else cut.frame
    return MarkerSpec(
        name=f"{cut.kind} cut" if cut.kind == "hard" else cut.kind,
        marked_range=media_range(unit, start, start + span),
        color=_CUT_COLOURS.get(cut.kind, "RED"),
        note=f"{cut.kind} cut at media frame {cut.frame} (confidence {cut.confidence:.2f})",
        metadata={"kind": "cut", "cut": cut.to_wire(), "record_frame": record_frame(unit, cut.frame)})


_CUT_COLOURS = {"hard": "RED", "dissolve": "YELLOW", "fade": "PURPLE"}


def marked_timeline(source: otio.schema.Timeline,
                    cuts: Sequence[tuple[WorkUnit, Sequence[Any]]]) -> otio.schema.Timeline:
    """A copy of ``source`` with a marker on each clip at every cut found in it; the
    global start time is kept (an EDL's first record timecode becomes it)."""
    timeline = result_timeline(source)
    if timeline.global_start_time is None:
        start = global_start([unit for unit, _ in cuts])
        if start is not None and start.value:
            timeline.global_start_time = start
    for unit, found in cuts:
        if found:
            add_markers(clip_of(timeline, unit), [cut_marker(unit, cut) for cut in found])
    return timeline


def shot_list_timeline(name: str, shots: Sequence[tuple[WorkUnit, otio.core.MediaReference, int,
                                                        int, dict[str, Any]]],
                       start: RationalTime | None) -> otio.schema.Timeline:
    """The shots where they sit in the edit: one clip per shot at its record time, gaps where
    the edit has none of them, one track per source track (more where shots overlap, as in
    nested stacks), and the edit's global start time. Clips are numbered in record order."""
    timeline = otio.schema.Timeline(name=name, global_start_time=start)
    placed = sorted(((record_frame(u, s), min(record_frame(u, e), record_end(u)), u, ref, s, meta)
                     for u, ref, s, e, meta in shots), key=lambda p: (p[0], p[2].track_index))
    lanes: dict[int, list[tuple[otio.schema.Track, list[int]]]] = {}
    names = {u.track_index: u.track_name for u, *_ in shots}
    for number, (rec_in, rec_out, unit, ref, first, meta) in enumerate(placed, start=1):
        if rec_out <= rec_in:
            continue
        rate = unit.record_duration.rate
        track_lanes = lanes.setdefault(unit.track_index, [])
        lane = next((lane for lane in track_lanes if lane[1][0] <= rec_in), None)
        if lane is None:
            label = names[unit.track_index] or f"V{unit.track_index + 1}"
            suffix = f" {len(track_lanes) + 1}" if track_lanes else ""
            lane = (otio.schema.Track(name=f"Shots {label}{suffix}".strip() if len(names) > 1
                                      else f"Shots{suffix}", kind=otio.schema.TrackKind.Video), [0])
            track_lanes.append(lane)
        track, end = lane
        if rec_in > end[0]:
            track.append(otio.schema.Gap(source_range=TimeRange(
                RationalTime(0, rate), RationalTime(rec_in - end[0], rate))))
        duration = RationalTime(rec_out - rec_in, rate).rescaled_to(unit.rate)
        clip = otio.schema.Clip(name=f"shot {number:03d}", media_reference=ref.clone(),
                                source_range=TimeRange(media_time(unit, first), duration))
        clip.metadata[NAMESPACE] = dict(meta, record_frames=[rec_in, rec_out])
        track.append(clip)
        end[0] = rec_out
    for index in sorted(lanes):
        for track, _ in lanes[index]:
            timeline.tracks.append(track)
    return timeline
