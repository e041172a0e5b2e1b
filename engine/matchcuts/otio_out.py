"""Match cuts as timeline items: markers on both shots of every pair, and a review timeline
that plays each suggested A→B cut (the tail of A, then the head of B).

Markers go on the shots' clips in a copy of each input's timeline (for a plain video, the
one clip that stands for it, at the shot's media time), through
:func:`moviola.plugin.results.add_markers`; notes read like
"Match cut (motion, 0.93): pan right → shot 14 of ep2".
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import opentimelineio as otio
from opentimelineio.opentime import RationalTime, TimeRange

from moviola.plugin.results import NAMESPACE, MarkerSpec, add_markers, result_timeline

from ..inputs import ResolvedInput
from ..shots.timeline_out import clip_of, media_range
from .collect import ShotRef
from .rank import Pair

__all__ = ["COLOURS", "note", "marked_timelines", "review_timeline"]

COLOURS = {"frame": "CYAN", "motion": "ORANGE", "look": "PURPLE"}


def note(pair: Pair, shots: Sequence[ShotRef], words: tuple[str, str], from_a: bool) -> str:
    """What an editor reads on one side of a pair."""
    other = pair.b if from_a else pair.a
    arrow = "→" if from_a else "←"
    what = words[0] if from_a else words[1]
    detail = f"{what} " if what else ""
    return (f"Match cut ({pair.flavour}, {pair.score:.2f}): {detail}{arrow} "
            f"{shots[other].label}")


def _shot_range(shot: ShotRef, clip: otio.schema.Clip) -> TimeRange:
    return clip.trimmed_range() if shot.whole_clip else media_range(shot.unit, shot.start, shot.end)


def marked_timelines(inputs: Sequence[ResolvedInput], shots: Sequence[ShotRef],
                     pairs: Sequence[Pair], words: Sequence[tuple[str, str]],
                     provenance: dict[str, Any]) -> list[otio.schema.Timeline]:
    """A copy of each input's timeline with a marker on both shots of every pair."""
    timelines = [result_timeline(source.timeline) for source in inputs]
    for timeline in timelines:
        timeline.metadata[NAMESPACE] = dict(provenance)
    for rank, (pair, said) in enumerate(zip(pairs, words), start=1):
        for from_a in (True, False):
            shot = shots[pair.a if from_a else pair.b]
            partner = shots[pair.b if from_a else pair.a]
            clip = clip_of(timelines[shot.input], shot.unit)
            add_markers(clip, [MarkerSpec(
                name=f"Match cut #{rank} · {pair.flavour} {pair.score:.2f}",
                marked_range=_shot_range(shot, clip), color=COLOURS[pair.flavour],
                note=note(pair, shots, said, from_a),
                metadata={"kind": "matchcut", "rank": rank, "flavor": pair.flavour,
                          "score": round(pair.score, 4), "side": "A" if from_a else "B",
                          "shot": shot.to_wire(), "partner": partner.to_wire()})])
    return timelines


def review_timeline(name: str, shots: Sequence[ShotRef], pairs: Sequence[Pair],
                    words: Sequence[tuple[str, str]], seconds: float,
                    provenance: dict[str, Any]) -> otio.schema.Timeline:
    """For each pair, best first: the last ``seconds`` of A, the first ``seconds`` of B, then
    half a second of gap; a marker at each suggested cut names the pair."""
    timeline = otio.schema.Timeline(name=name)
    timeline.metadata[NAMESPACE] = dict(provenance)
    track = otio.schema.Track(name="Match cuts", kind=otio.schema.TrackKind.Video)
    timeline.tracks.append(track)
    rate = shots[pairs[0].a].unit.rate if pairs else 24.0
    cursor = RationalTime(0, rate)
    markers = []
    for rank, (pair, said) in enumerate(zip(pairs, words), start=1):
        if rank > 1:
            gap = RationalTime(round(rate / 2), rate)
            track.append(otio.schema.Gap(source_range=TimeRange(duration=gap)))
            cursor += gap
        a, b = shots[pair.a], shots[pair.b]
        meta = {"kind": "matchcut_review", "rank": rank, "flavor": pair.flavour,
                "score": round(pair.score, 4), "a": a.to_wire(), "b": b.to_wire()}
        for shot, tail in ((a, True), (b, False)):
            length = min(shot.end - shot.start, max(1, round(seconds * shot.unit.rate)))
            start = shot.end - length if tail else shot.start
            clip = otio.schema.Clip(
                name=f"#{rank} {'A' if tail else 'B'}: {shot.label}",
                media_reference=shot.reference.clone(),
                source_range=media_range(shot.unit, start, start + length))
            clip.metadata[NAMESPACE] = dict(meta, side="A" if tail else "B")
            track.append(clip)
            if tail:
                cut_at = cursor + clip.source_range.duration
            cursor += clip.source_range.duration
        markers.append(MarkerSpec(
            name=f"#{rank} {pair.flavour} {pair.score:.2f}",
            marked_range=TimeRange(cut_at.rescaled_to(rate), RationalTime(1, rate)),
            color=COLOURS[pair.flavour], note=note(pair, shots, said, True), metadata=meta))
    add_markers(timeline, markers)
    return timeline
