"""Putting generated image sequences back as Resolve items: imported into a "Moviola" bin,
then placed on a new video track above the source item at its record frame.

Resolve's setters can answer True and do nothing, so every write is read back and a
:class:`HostWriteError` names the one that did not take.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .connect import Capabilities
from .errors import HostWriteError
from .selection import SelectedItem

__all__ = ["BIN_NAME", "PlacedSequence", "moviola_bin", "import_sequence", "add_video_track",
           "append_aligned", "place_sequences"]

BIN_NAME = "Moviola"


@dataclass(frozen=True)
class PlacedSequence:
    source: SelectedItem
    pattern: str
    first_frame: int
    last_frame: int
    media_item: Any
    timeline_item: Any
    track_index: int
    record_frame: int         # absolute, like GetStart()


def _check(ok: bool, what: str) -> None:
    if not ok:
        raise HostWriteError(f"Resolve did not apply: {what}")


def moviola_bin(media_pool: Any) -> Any:
    """The "Moviola" folder under the media pool's root, made once."""
    root = media_pool.GetRootFolder()
    for folder in root.GetSubFolderList() or []:
        if folder.GetName() == BIN_NAME:
            return folder
    folder = media_pool.AddSubFolder(root, BIN_NAME)
    names = [f.GetName() for f in root.GetSubFolderList() or []]
    _check(folder is not None and BIN_NAME in names, f"AddSubFolder(root, {BIN_NAME!r}) (no such bin after)")
    return folder


def _same_folder(a: Any, b: Any) -> bool:
    try:
        return a is b or bool(a.GetUniqueId() == b.GetUniqueId())
    except Exception:  # builds without GetUniqueId on folders
        return bool(a.GetName() == b.GetName())


def import_sequence(media_pool: Any, folder: Any, pattern: str, first: int, last: int) -> Any:
    """Import ``pattern`` (printf, e.g. ``/out/a.%04d.exr``) frames first..last as one media
    pool item in ``folder``; the current bin is restored afterwards."""
    previous = media_pool.GetCurrentFolder()
    media_pool.SetCurrentFolder(folder)
    _check(_same_folder(media_pool.GetCurrentFolder(), folder), f"SetCurrentFolder({BIN_NAME!r})")
    try:
        items = media_pool.ImportMedia([{"FilePath": pattern, "StartIndex": first, "EndIndex": last}])
    finally:
        if previous is not None:
            media_pool.SetCurrentFolder(previous)
    what = f"ImportMedia of {os.path.basename(pattern)} frames {first}-{last}"
    _check(bool(items) and len(items) == 1, f"{what} (got {len(items or [])} items, expected 1)")
    item = items[0]
    in_bin = any(c is item or c.GetMediaId() == item.GetMediaId() for c in folder.GetClipList() or [])
    _check(in_bin, f"{what} (the item is not in the {BIN_NAME} bin)")
    frames = item.GetClipProperty("Frames")
    if frames not in (None, ""):
        _check(int(frames) == last - first + 1, f"{what} (Resolve sees {frames} frames)")
    return item


def add_video_track(timeline: Any, name: str) -> int:
    """Append a video track (on top of the others) named ``name``; return its index."""
    before = int(timeline.GetTrackCount("video"))
    timeline.AddTrack("video")
    index = int(timeline.GetTrackCount("video"))
    _check(index == before + 1, "AddTrack('video')")
    timeline.SetTrackName("video", index, name)
    _check(timeline.GetTrackName("video", index) == name, f"SetTrackName('video', {index}, {name!r})")
    return index


def append_aligned(media_pool: Any, timeline: Any, caps: Capabilities, media_item: Any,
                   track_index: int, record_frame: int, frame_count: int) -> Any:
    """Place all ``frame_count`` frames of ``media_item`` on ``track_index`` at absolute
    ``record_frame``; read the item back from the track (returned items may be stale)."""
    # endFrame is exclusive from 19, inclusive before; the duration read back settles it.
    end = frame_count if caps.append_exclusive_end else frame_count - 1
    media_pool.AppendToTimeline([{"mediaPoolItem": media_item, "startFrame": 0, "endFrame": end,
                                  "mediaType": 1, "trackIndex": track_index,
                                  "recordFrame": record_frame}])
    what = f"AppendToTimeline of {media_item.GetName()} on video track {track_index} at frame {record_frame}"
    placed = [i for i in timeline.GetItemListInTrack("video", track_index) or []
              if int(i.GetStart()) == record_frame]
    _check(len(placed) == 1, f"{what} (no item there after)")
    item = placed[0]
    _check(int(item.GetDuration()) == frame_count,
           f"{what} (it lasts {item.GetDuration()} frames, expected {frame_count})")
    return item


def _lanes(spans: Sequence[tuple[int, int]]) -> list[int]:
    """A lane per span so that no two spans on one lane overlap (first fit, in record order)."""
    ends: list[int] = []
    lanes = [0] * len(spans)
    for i in sorted(range(len(spans)), key=lambda i: spans[i]):
        start, end = spans[i]
        lane = next((n for n, e in enumerate(ends) if e <= start), len(ends))
        if lane == len(ends):
            ends.append(end)
        else:
            ends[lane] = end
        lanes[i] = lane
    return lanes


def place_sequences(project: Any, timeline: Any, caps: Capabilities, track_name: str,
                    outputs: Sequence[tuple[SelectedItem, str, int, int, int]]) -> list[PlacedSequence]:
    """Import each ``(source item, pattern, first, last, record frame)`` and place it above
    its source at that absolute record frame, on new tracks named ``track_name`` (a second
    one only where outputs overlap)."""
    if not outputs:
        return []
    media_pool = project.GetMediaPool()
    current = project.GetCurrentTimeline()
    if current is None or current.GetUniqueId() != timeline.GetUniqueId():
        project.SetCurrentTimeline(timeline)  # AppendToTimeline targets the current timeline
        now = project.GetCurrentTimeline()
        _check(now is not None and now.GetUniqueId() == timeline.GetUniqueId(),
               f"SetCurrentTimeline({timeline.GetName()!r})")
    folder = moviola_bin(media_pool)
    lanes = _lanes([(record, record + last - first + 1) for _, _, first, last, record in outputs])
    tracks: dict[int, int] = {}
    placed = []
    for (source, pattern, first, last, record), lane in zip(outputs, lanes):
        if lane not in tracks:
            tracks[lane] = add_video_track(timeline, track_name if lane == 0 else f"{track_name} {lane + 1}")
        media_item = import_sequence(media_pool, folder, pattern, first, last)
        item = append_aligned(media_pool, timeline, caps, media_item, tracks[lane], record,
                              last - first + 1)
        placed.append(PlacedSequence(source=source, pattern=pattern, first_frame=first, last_frame=last,
                                     media_item=media_item, timeline_item=item,
                                     track_index=tracks[lane], record_frame=record))
    return placed
