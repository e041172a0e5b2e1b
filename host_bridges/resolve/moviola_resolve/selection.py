"""Which timeline items a job works on: the current video item, the items of one clip colour,
or the items between the timeline's in and out marks. Only items with a media file count
(titles, generators and compound clips have none to read)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from .errors import NothingSelectedError

__all__ = ["SelectedItem", "video_items", "pick", "PICKS"]

PICKS = ("current", "colour", "in_out")


@dataclass(frozen=True)
class SelectedItem:
    """One video item and what the bridge needs of it. Frames are Resolve's: ``start`` is
    absolute (the timeline starts at ``GetStartFrame()``), ``record_offset`` counts from the
    timeline's start, ``left_offset`` is the source in-offset within its media pool item."""

    item: Any
    media_item: Any
    key: str                 # unique name given to its clip in the work timeline
    name: str
    track_index: int         # 1-based video track
    start: int
    record_offset: int
    duration: int
    left_offset: int
    media_path: str
    colour: str


_UNSAFE = re.compile(r"[^A-Za-z0-9._ -]+")


def video_items(timeline: Any) -> list[SelectedItem]:
    """Every video item with media, bottom track first, in record order."""
    timeline_start = int(timeline.GetStartFrame())
    found = []
    for track in range(1, int(timeline.GetTrackCount("video")) + 1):
        for position, item in enumerate(timeline.GetItemListInTrack("video", track) or [], start=1):
            media = item.GetMediaPoolItem()
            path = media.GetClipProperty("File Path") if media is not None else ""
            if not path:
                continue
            name = str(item.GetName())
            start = int(item.GetStart())
            found.append(SelectedItem(
                item=item, media_item=media, key=f"V{track}.{position:03d} {_UNSAFE.sub('_', name)}",
                name=name, track_index=track, start=start, record_offset=start - timeline_start,
                duration=int(item.GetDuration()), left_offset=int(item.GetLeftOffset()),
                media_path=str(path), colour=str(item.GetClipColor() or "")))
    return found


def _same(a: Any, b: Any) -> bool:
    if a is b:
        return True
    try:
        return bool(a.GetUniqueId() == b.GetUniqueId())
    except Exception:  # older builds without GetUniqueId on items
        return False


def pick(timeline: Any, how: str = "current", colour: str | None = None) -> list[SelectedItem]:
    """The items ``how`` names; :class:`NothingSelectedError` says why when there are none."""
    if how not in PICKS:
        raise NothingSelectedError(f"unknown pick {how!r}: use one of {', '.join(PICKS)}")
    items = video_items(timeline)
    if how == "current":
        current = timeline.GetCurrentVideoItem()
        chosen = [s for s in items if current is not None and _same(s.item, current)]
        why = "no video item with media under the playhead"
    elif how == "colour":
        if not colour:
            raise NothingSelectedError("pick 'colour' needs a clip colour (e.g. Orange)")
        chosen = [s for s in items if s.colour.lower() == colour.lower()]
        why = f"no video item with media has the clip colour {colour!r}"
    else:
        marks = (timeline.GetMarkInOut() or {}).get("video") or {}
        if "in" not in marks or "out" not in marks:
            raise NothingSelectedError("the timeline has no video in and out marks")
        # Marks count from the timeline's start, like marker frames (out inclusive).
        first, last = int(marks["in"]), int(marks["out"])
        chosen = [s for s in items
                  if s.record_offset <= last and s.record_offset + s.duration - 1 >= first]
        why = f"no video item with media lies between in {first} and out {last}"
    if not chosen:
        raise NothingSelectedError(why)
    return chosen
