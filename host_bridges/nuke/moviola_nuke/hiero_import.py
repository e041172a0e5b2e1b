"""A result timeline (shots, a match-cut review) into Nuke Studio / Hiero through ``hiero.core``.

Nuke Studio's own OTIO import rejects ``ImageSequenceReference``, so the sequence is built
item by item: ``Sequence`` → ``VideoTrack`` → ``createTrackItem`` + ``setTimes`` (outs
inclusive) → ``addTrackItem``, and added to the project's clips bin. Markers become tags on
the sequence range. With no project open, or no ``hiero`` at all, :func:`import_result` says
so and returns ``None``: the OTIO file stays for a manual import.
"""

from __future__ import annotations

import os
import re
from typing import Any

import opentimelineio as otio

from moviola.plugin.timeline import read_timeline, work_units

__all__ = ["import_result"]

_PRINTF = re.compile(r"%0?(\d*)d")


def _hiero_path(media_path: str) -> str:
    """Hiero names a sequence with ``#`` padding."""
    return _PRINTF.sub(lambda m: "#" * int(m.group(1) or 1), media_path)


def _source_base(clip: otio.schema.Clip, media_kind: str) -> int:
    """Hiero counts a clip's source frames from its first frame (unverified in a real host)."""
    ref = clip.media_reference
    if media_kind == "image_sequence" and isinstance(ref, otio.schema.ImageSequenceReference):
        return int(ref.start_frame)
    return 0


def import_result(otio_path: str, name: str | None = None, project: Any = None) -> Any:
    """Build a Hiero sequence from ``otio_path``; returns it, or None where Hiero is absent."""
    try:
        import hiero.core as hcore
    except ImportError:
        import nuke

        nuke.message(f"Moviola: no Nuke Studio here; the result is in {otio_path}")
        return None
    if project is None:
        projects = hcore.projects()
        if not projects:
            import nuke

            nuke.message(f"Moviola: open a Nuke Studio project first; the result is in {otio_path}")
            return None
        project = projects[-1]
    timeline = read_timeline(otio_path)
    sequence = hcore.Sequence(name or timeline.name or os.path.basename(otio_path))
    tracks: dict[str, Any] = {}
    for unit, clip in _units_with_clips(timeline, otio_path):
        if unit.media_path is None or unit.media_kind not in ("video", "image_sequence"):
            continue
        track = tracks.get(unit.track_name)
        if track is None:
            track = tracks[unit.track_name] = hcore.VideoTrack(unit.track_name or "Moviola")
            sequence.addTrack(track)
        media = hcore.Clip(hcore.MediaSource(_hiero_path(unit.media_path)))
        item = track.createTrackItem(unit.clip_name)
        item.setSource(media)
        record_in = int(unit.record_start.to_frames())
        source_in = unit.first_frame - _source_base(clip, unit.media_kind)
        last = unit.frame_count - 1
        item.setTimes(record_in, record_in + last, source_in, source_in + last)
        track.addTrackItem(item)
    for marker in timeline.tracks.markers:
        tag = hcore.Tag(marker.name or "Moviola")
        tag.setNote(str(marker.metadata.get("moviola", {}).get("note", marker.name)))
        start = int(marker.marked_range.start_time.to_frames())
        sequence.addTagToRange(tag, start, start + max(0, int(marker.marked_range.duration.to_frames()) - 1))
    project.clipsBin().addItem(hcore.BinItem(sequence))
    return sequence


def _units_with_clips(timeline: otio.schema.Timeline, otio_path: str) -> list[tuple[Any, Any]]:
    """Each clip's work unit (exact frame math) beside the OTIO clip it came from."""
    tracks = timeline.video_tracks()
    pairs = []
    for unit in work_units(timeline, base_dir=os.path.dirname(otio_path)):
        item: Any = tracks[unit.track_index]
        for index in unit.item_path or (unit.clip_index,):
            item = item[index]
        pairs.append((unit, item))
    return pairs
