"""The engine's input for a selection: an OTIO timeline file holding the selected items at
their record positions (every other item becomes a gap), each clip named by its
:attr:`SelectedItem.key` so results map back to Resolve items.

Read through Resolve's own OTIO export where the version has it (effects, retimes and
sequences as Resolve sees them), else item by item from the scripting API.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Any

import opentimelineio as otio

from moviola.plugin.results import write_timeline
from moviola.plugin.timeline import WorkUnit, parse_rate, read_timeline, work_units

from .connect import Capabilities
from .selection import SelectedItem

__all__ = ["WorkTimeline", "build_work_timeline"]

RT = otio.opentime.RationalTime
TR = otio.opentime.TimeRange
_BRACKETS = re.compile(r"^(?P<prefix>.*?)\[(?P<first>\d+)-(?P<last>\d+)\](?P<suffix>.*)$")


@dataclass(frozen=True)
class WorkTimeline:
    path: str
    read_via: str                       # "otio_export" or "items"
    rate: float
    units: dict[str, WorkUnit]          # by clip key
    items: dict[str, SelectedItem]      # by clip key
    notes: tuple[str, ...] = ()


def _rate(value: Any, fallback: float) -> float:
    try:
        return parse_rate(value) if value not in (None, "") else fallback
    except Exception:  # Resolve's rate strings vary ("23.976", "24 fps" on some builds)
        return fallback


def _reference(selected: SelectedItem, rate: float) -> otio.core.MediaReference:
    path = selected.media_path
    folder, name = os.path.split(path)
    found = _BRACKETS.match(name)
    if found is None:
        return otio.schema.ExternalReference(target_url=path)
    # An image sequence as Resolve names it: plate.[1001-1100].exr
    first, last = int(found["first"]), int(found["last"])
    return otio.schema.ImageSequenceReference(
        target_url_base=folder + os.sep, name_prefix=found["prefix"], name_suffix=found["suffix"],
        start_frame=first, frame_zero_padding=len(found["first"]), rate=rate,
        available_range=TR(RT(0, rate), RT(last - first + 1, rate)))


def _from_items(name: str, selected: list[SelectedItem], rate: float) -> otio.schema.Timeline:
    """The selection rebuilt from GetStart/GetLeftOffset/GetDuration and each file path.
    Source frames are taken at the timeline's rate: Resolve conforms clips frame for frame."""
    timeline = otio.schema.Timeline(name=name)
    top = max(s.track_index for s in selected)
    for index in range(1, top + 1):
        track = otio.schema.Track(name=f"V{index}", kind=otio.schema.TrackKind.Video)
        cursor = 0
        for s in sorted((s for s in selected if s.track_index == index), key=lambda s: s.record_offset):
            if s.record_offset > cursor:
                gap = TR(RT(0, rate), RT(s.record_offset - cursor, rate))
                track.append(otio.schema.Gap(source_range=gap))
            track.append(otio.schema.Clip(name=s.key, media_reference=_reference(s, rate),
                                          source_range=TR(RT(s.left_offset, rate), RT(s.duration, rate))))
            cursor = s.record_offset + s.duration
        timeline.tracks.append(track)
    return timeline


def _filtered(exported: otio.schema.Timeline, selected: list[SelectedItem]
              ) -> otio.schema.Timeline | None:
    """The export with only the selected clips kept (renamed to their keys), others as gaps,
    transitions and audio dropped. None when a selected item is not found in it."""
    wanted = {(s.track_index, s.record_offset): s for s in selected}
    timeline = otio.schema.Timeline(name=exported.name, global_start_time=exported.global_start_time)
    matched = set()
    for index, old in enumerate(exported.video_tracks(), start=1):
        track = otio.schema.Track(name=old.name or f"V{index}", kind=otio.schema.TrackKind.Video)
        for child in old:
            if isinstance(child, otio.schema.Transition):
                continue  # transitions take no track time: positions stay as they were
            span = old.range_of_child(child)
            at = otio.opentime.to_frames(span.start_time, span.start_time.rate)
            hit = wanted.get((index, at)) if isinstance(child, otio.schema.Clip) else None
            if hit is None:
                track.append(otio.schema.Gap(source_range=TR(RT(0, span.duration.rate), span.duration)))
                continue
            clip = child.deepcopy()
            clip.name = hit.key
            track.append(clip)
            matched.add(hit.key)
        timeline.tracks.append(track)
    return timeline if matched == {s.key for s in selected} else None


def _export(resolve: Any, timeline: Any, folder: str) -> otio.schema.Timeline | None:
    path = os.path.join(folder, "resolve-export.otio")
    try:
        ok = timeline.Export(path, resolve.EXPORT_OTIO)
        return read_timeline(path) if ok and os.path.isfile(path) else None
    except Exception:  # a failed export falls back to reading item by item
        return None


def build_work_timeline(resolve: Any, timeline: Any, selected: list[SelectedItem],
                        caps: Capabilities, folder: str) -> WorkTimeline:
    """Write ``<folder>/<timeline name>.otio`` for ``selected``; return it with its units."""
    os.makedirs(folder, exist_ok=True)
    name = str(timeline.GetName())
    rate = _rate(timeline.GetSetting("timelineFrameRate"), 24.0)
    notes = []
    work = None
    read_via = "items"
    if caps.otio_export:
        exported = _export(resolve, timeline, folder)
        work = _filtered(exported, selected) if exported is not None else None
        if work is not None:
            read_via = "otio_export"
        else:
            notes.append("the OTIO export failed or did not hold the selected items: read item by item")
    if work is None:
        work = _from_items(name, selected, rate)
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "timeline"
    path = write_timeline(work, os.path.join(folder, f"{stem}.otio"))
    units = {u.clip_name: u for u in work_units(work)}
    return WorkTimeline(path=str(path), read_via=read_via, rate=rate, units=units,
                        items={s.key: s for s in selected}, notes=tuple(notes))
