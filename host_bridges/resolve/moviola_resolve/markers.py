"""Shots and match cuts as Resolve timeline markers, and a review timeline of the suggested
A -> B cuts. Marker frames count from the timeline's start (``Timeline.AddMarker``); each
Moviola marker carries JSON custom data (``{"moviola": kind, ...}``, the pair id for match
cuts) so a re-run replaces its own markers and never touches the user's."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from moviola.plugin.timeline import WorkUnit

from .connect import Capabilities
from .errors import HostWriteError
from .work_timeline import WorkTimeline

__all__ = ["MARKER_COLOURS", "SHOT_COLOURS", "FLAVOUR_COLOURS", "MarkerPlan", "shot_markers",
           "matchcut_markers", "put_markers", "review_timeline"]

#: The 16 marker colours Resolve documents.
MARKER_COLOURS = ("Blue", "Cyan", "Green", "Yellow", "Red", "Pink", "Purple", "Fuchsia", "Rose",
                  "Lavender", "Sky", "Mint", "Lemon", "Sand", "Cocoa", "Cream")
SHOT_COLOURS = {"hard": "Blue", "dissolve": "Sky", "fade": "Lavender"}
FLAVOUR_COLOURS = {"frame": "Cyan", "motion": "Yellow", "look": "Purple"}


@dataclass(frozen=True)
class MarkerPlan:
    frame: int          # from the timeline's start
    colour: str
    name: str
    note: str
    custom: dict[str, Any]

    @property
    def custom_data(self) -> str:
        return json.dumps(self.custom, sort_keys=True)


def _record(unit: WorkUnit, media_frame: int) -> int:
    """Timeline frame (from its start) where ``media_frame`` of ``unit`` plays."""
    return int(unit.record_start.to_frames()) + (media_frame - unit.first_frame)


def shot_markers(result: Mapping[str, Any]) -> list[MarkerPlan]:
    plans = []
    for cut in result.get("cuts", []):
        if cut.get("record_frame") is None:
            continue
        kind = str(cut.get("kind", "hard"))
        plans.append(MarkerPlan(
            frame=int(cut["record_frame"]), colour=SHOT_COLOURS.get(kind, "Blue"),
            name=f"Cut ({kind})",
            note=f"Moviola shots: {kind} cut, confidence {cut.get('confidence', 0):.2f}",
            custom={"moviola": "shot", "kind": kind, "media_frame": cut.get("frame")}))
    return plans


def matchcut_markers(result: Mapping[str, Any], work: WorkTimeline) -> list[MarkerPlan]:
    """One marker on A's last frame and one on B's first, per pair of clips in ``work``."""
    plans = []
    for pair in result.get("pairs", []):
        a, b = pair["a"], pair["b"]
        unit_a, unit_b = work.units.get(a.get("clip")), work.units.get(b.get("clip"))
        if unit_a is None or unit_b is None:
            continue
        rank, flavour = int(pair["rank"]), str(pair.get("flavor", "frame"))
        colour = FLAVOUR_COLOURS.get(flavour, "Green")
        note = str(pair.get("note", ""))
        ends = (("A", _record(unit_a, int(a["end"]) - 1), a), ("B", _record(unit_b, int(b["start"])), b))
        for side, frame, partner in ends:
            plans.append(MarkerPlan(
                frame=frame, colour=colour, name=f"Match cut #{rank} {side}",
                note=f"{note} ({flavour}, {float(pair.get('score', 0)):.2f})",
                custom={"moviola": "matchcut", "pair": rank, "side": side, "flavor": flavour,
                        "clip": partner.get("clip")}))
    return plans


def _ours(info: Mapping[str, Any], kind: str) -> bool:
    try:
        data = json.loads(info.get("customData") or "")
    except ValueError:
        return False
    return isinstance(data, dict) and data.get("moviola") == kind


def put_markers(timeline: Any, plans: Iterable[MarkerPlan], kind: str
                ) -> tuple[list[MarkerPlan], list[str]]:
    """Replace this kind's Moviola markers with ``plans``: ``(placed, skipped notes)``. A frame
    that holds a user's marker is skipped and named, never overwritten."""
    for frame, info in list((timeline.GetMarkers() or {}).items()):
        if _ours(info, kind):
            timeline.DeleteMarkerAtFrame(frame)
            if frame in (timeline.GetMarkers() or {}):
                raise HostWriteError(f"Resolve did not apply: DeleteMarkerAtFrame({frame}) "
                                     "of an old Moviola marker")
    placed, skipped = [], []
    for plan in plans:
        existing = timeline.GetMarkers() or {}
        if plan.frame in existing or float(plan.frame) in existing:
            skipped.append(f"frame {plan.frame}: a marker is already there ({plan.name} not added)")
            continue
        if plan.colour not in MARKER_COLOURS:
            raise ValueError(f"not a Resolve marker colour: {plan.colour}")
        timeline.AddMarker(plan.frame, plan.colour, plan.name, plan.note, 1, plan.custom_data)
        after = timeline.GetMarkers() or {}
        back = after.get(plan.frame) or after.get(float(plan.frame))
        if not back or back.get("name") != plan.name or back.get("customData") != plan.custom_data:
            raise HostWriteError(
                f"Resolve did not apply: AddMarker({plan.frame}, {plan.colour!r}, {plan.name!r})")
        placed.append(plan)
    return placed, skipped


def _unique_name(project: Any, wanted: str) -> str:
    taken = set()
    for i in range(1, int(project.GetTimelineCount() or 0) + 1):
        found = project.GetTimelineByIndex(i)
        if found is not None:
            taken.add(found.GetName())
    name, n = wanted, 2
    while name in taken:
        name, n = f"{wanted} {n}", n + 1
    return name


def review_timeline(project: Any, timeline: Any, caps: Capabilities, result: Mapping[str, Any],
                    work: WorkTimeline, seconds: float = 2.0) -> Any:
    """A new timeline of A's last ``seconds`` then B's first, per pair, from the source media
    pool items; the user's current timeline stays current. None when no pair maps back."""
    length = max(1, int(round(seconds * work.rate)))
    infos = []
    for pair in result.get("pairs", []):
        a, b = pair["a"], pair["b"]
        ka, kb = a.get("clip"), b.get("clip")
        if ka not in work.units or kb not in work.units:
            continue
        for key, first, last in ((ka, max(int(a["start"]), int(a["end"]) - length), int(a["end"])),
                                 (kb, int(b["start"]), min(int(b["end"]), int(b["start"]) + length))):
            unit, item = work.units[key], work.items[key]
            start = item.left_offset + (first - unit.first_frame)   # media pool item frames
            end = start + (last - first) - (0 if caps.append_exclusive_end else 1)
            infos.append({"mediaPoolItem": item.media_item, "startFrame": start, "endFrame": end})
    if not infos:
        return None
    name = _unique_name(project, f"{timeline.GetName()} - Moviola match cuts")
    review = project.GetMediaPool().CreateTimelineFromClips(name, infos)
    if review is None or review.GetName() != name:
        raise HostWriteError(f"Resolve did not apply: CreateTimelineFromClips({name!r})")
    count = len(review.GetItemListInTrack("video", 1) or [])
    if count != len(infos):
        raise HostWriteError(f"Resolve did not apply: CreateTimelineFromClips({name!r}) holds {count} "
                             f"items, expected {len(infos)}")
    project.SetCurrentTimeline(timeline)
    now = project.GetCurrentTimeline()
    if now is None or now.GetUniqueId() != timeline.GetUniqueId():
        raise HostWriteError(
            f"Resolve did not apply: SetCurrentTimeline({timeline.GetName()!r}) after the review")
    return review
