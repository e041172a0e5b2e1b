"""The shots result laid over the edit: real EDLs relinked to stand-in movies with a planted
cut, and the demo sample's edit. The edit comes back with a marker at every cut on the clip
it was found in, at the right record time; the shot list sits where the shots sit in the edit
(gaps where the edit has gaps), from the edit's own start timecode."""

from __future__ import annotations

import itertools
from fractions import Fraction
from pathlib import Path

import opentimelineio as otio
import pytest

from moviola.engine.inputs import resolve_input
from moviola.engine.media.source import open_source
from moviola.plugin.timeline import work_units
from reels import ShotSpec, encode, shot_frames
from test_real_timelines import TIMELINES, _find_clip, _read, _relink, _timecode

pytestmark = pytest.mark.skipif(not TIMELINES.is_dir(), reason="shared timelines are absent")


def _two_shots(index: int, count: int, cut: int):
    """Frames of a still camera on one shot, then another from frame ``cut``."""
    a = ShotSpec(frames=cut, seed=10 + index, palette=((40, 60, 110), (90, 140, 200)), shape="disc")
    b = ShotSpec(frames=count - cut, seed=50 + index, palette=((120, 90, 40), (210, 180, 120)),
                 shape="square", colour=(250, 220, 50))
    return itertools.chain(shot_frames(a), shot_frames(b))


def _relink_with_cuts(name: str, folder: Path):
    """The EDL relinked to stand-ins at its timecodes, each rewritten as two shots with a
    hard cut in the middle of the first clip that uses it; returns the relinked file, its
    clips with media and the cut of each stand-in (movie frame)."""
    timeline = _read(TIMELINES / name)
    starts = _relink(timeline, folder)
    relinked = folder / "edit.otio"
    otio.adapters.write_to_file(timeline, str(relinked))
    with resolve_input(str(relinked)) as resolved:
        units = [u for u in resolved.units if u.media_kind == "video" and u.frame_count > 2]
    cuts = {}
    for index, (movie, lo) in enumerate(sorted(starts.items())):
        users = [u for u in units if u.media_path == movie]
        if not users:
            continue
        with open_source(movie) as media:
            count, rate = media.last_frame + 1, users[0].rate
        cut = users[0].first_frame + users[0].frame_count // 2
        encode(movie, _two_shots(index, count, cut), rate=Fraction(rate).limit_denominator(1001),
               timecode=_timecode(lo, rate))
        cuts[movie] = cut
    return relinked, units, cuts


def _frames(t: otio.opentime.RationalTime, rate: float) -> int:
    return round(t.value_rescaled_to(rate))


@pytest.mark.parametrize("name", ["edl/transition_duration.edl", "edl/gap_test.edl"])
def test_shots_of_an_edl_mark_the_edit_and_lay_the_shots_at_record_time(client, tmp_path: Path,
                                                                          name: str) -> None:
    relinked, units, cuts = _relink_with_cuts(name, tmp_path)
    result = client.submit("shots", {"input": str(relinked), "out": str(tmp_path / "out"),
                                     "backend": "classical", "cache": False}).wait()
    rate = units[0].record_duration.rate
    glob = units[0].record_start_global
    start = _frames(glob - units[0].record_start, rate) if glob is not None else 0
    expected_cuts, expected_shots = [], []
    for unit in units:
        rec = _frames(unit.record_start, rate)
        cut = cuts[unit.media_path]
        inside = unit.first_frame < cut <= unit.last_frame
        if inside:
            expected_cuts.append((unit.clip_name, cut, rec + cut - unit.first_frame))
        edges = [unit.first_frame] + ([cut] if inside else []) + [unit.last_frame + 1]
        first_time = _frames(unit.first_frame_time, unit.rate)
        expected_shots += [(rec + a - unit.first_frame, rec + b - unit.first_frame,
                            first_time + a - unit.first_frame) for a, b in zip(edges, edges[1:])]
    assert expected_cuts, "the planted cuts fall inside clips"
    assert sorted((c["clip"], c["frame"], c["record_frame"]) for c in result["cuts"]) == \
        sorted(expected_cuts)
    assert [s["record_start"] for s in result["shots"]] == sorted(s[0] for s in expected_shots)

    # The edit, marked: a marker on the clip, in its source time, at the cut's record frame.
    marked = otio.adapters.read_from_file(result["marked_otio"])
    assert _frames(marked.global_start_time or otio.opentime.RationalTime(0, rate), rate) == start
    found = []
    for unit in work_units(marked):
        clip = _find_clip(marked, unit)
        for marker in clip.markers:
            offset = marker.marked_range.start_time - clip.trimmed_range().start_time
            found.append((unit.clip_name, _frames(unit.record_start + offset, rate)))
            assert marker.name == "hard cut" and marker.metadata["moviola"]["kind"] == "cut"
    assert sorted(found) == sorted((c, r) for c, _, r in expected_cuts)

    # The shot list: each shot where it sits in the edit, from the edit's start timecode.
    shot_list = otio.adapters.read_from_file(result["otio"])
    assert _frames(shot_list.global_start_time or otio.opentime.RationalTime(0, rate), rate) == start
    laid = []
    for track in shot_list.video_tracks():
        for clip in track.find_clips():
            where = clip.range_in_parent()
            laid.append((_frames(where.start_time, rate), _frames(where.end_time_exclusive(), rate),
                         _frames(clip.source_range.start_time, clip.source_range.start_time.rate)))
            assert clip.media_reference.target_url in cuts
    assert sorted(laid) == sorted(expected_shots)
    assert [c.name for c in shot_list.find_clips()] == [f"shot {n:03d}" for n in range(1, len(laid) + 1)] \
        or len(shot_list.video_tracks()) > 1


def test_shots_of_the_demo_edit_keep_its_gap(client, tmp_path: Path) -> None:
    from moviola.engine.samples import make_sample

    sample = make_sample(tmp_path, width=320, height=180)
    result = client.submit("shots", {"input": str(sample.timeline_path), "out": str(tmp_path / "out"),
                                     "backend": "classical", "cache": False}).wait()
    assert result["cuts"] == []   # every clip of the edit is one shot
    shot_list = otio.adapters.read_from_file(result["otio"])
    [track] = shot_list.video_tracks()
    clips = [(c.range_in_parent().start_time.to_frames(), c.duration().to_frames(),
              c.source_range.start_time.to_frames()) for c in track.find_clips()]
    assert clips == [(e.record_start, e.duration, e.source_start) for e in sample.edit]
    gaps = [(g.range_in_parent().start_time.to_frames(), g.duration().to_frames())
            for g in track if isinstance(g, otio.schema.Gap)]
    assert gaps == list(sample.gaps)
    marked = otio.adapters.read_from_file(result["marked_otio"])
    assert [c.name for c in marked.find_clips()] == [e.name for e in sample.edit]
    assert not any(c.markers for c in marked.find_clips())
