"""Accepted match cuts as timelines (moviola.plugin.matchcut_export), and result timelines
written atomically with temp names the output-folder sweep knows."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import opentimelineio as otio
import pytest

from moviola.engine.media.outputs import sweep_stale
from moviola.plugin.errors import MediaNotFoundError, OutputPathError
from moviola.plugin.matchcut_export import export_accepted
from moviola.plugin.results import NAMESPACE, write_timeline
from moviola.plugin.temp_names import TEMP_NAME

RT = otio.opentime.RationalTime
TR = otio.opentime.TimeRange
RATE = 24


def _marker(rank, side):
    return otio.schema.Marker(name=f"Match cut #{rank}", marked_range=TR(RT(0, RATE), RT(1, RATE)),
                              metadata={NAMESPACE: {"kind": "matchcut", "rank": rank, "side": side}})


def _clip(name, start, length):
    ref = otio.schema.ExternalReference(target_url="/plates/reel.mp4",
                                        available_range=TR(RT(0, RATE), RT(500, RATE)))
    return otio.schema.Clip(name=name, media_reference=ref,
                            source_range=TR(RT(start, RATE), RT(length, RATE)))


def _result(folder):
    """A matchcuts result of three pairs, laid out as the engine writes it."""
    marked = otio.schema.Timeline(name="reel")
    track = otio.schema.Track(name="V1")
    marked.tracks.append(track)
    for i in range(4):
        clip = _clip(f"shot {i}", 100 * i, 100)
        track.append(clip)
    for rank, (a, b) in enumerate(((0, 1), (1, 2), (2, 3)), start=1):
        track[a].markers.append(_marker(rank, "A"))
        track[b].markers.append(_marker(rank, "B"))
    track[0].markers.append(otio.schema.Marker(name="editor's note"))
    review = otio.schema.Timeline(name="matchcuts review")
    lane = otio.schema.Track(name="Match cuts")
    review.tracks.append(lane)
    cursor = 0
    for rank in (1, 2, 3):
        if rank > 1:
            lane.append(otio.schema.Gap(source_range=TR(duration=RT(12, RATE))))
            cursor += 12
        for side, length in (("A", 10 + rank), ("B", 20)):
            clip = _clip(f"#{rank} {side}", 100 * rank, length)
            clip.metadata[NAMESPACE] = {"kind": "matchcut_review", "rank": rank, "side": side}
            lane.append(clip)
            cursor += length
            if side == "A":
                marker = _marker(rank, "A")
                marker.marked_range = TR(RT(cursor, RATE), RT(1, RATE))
                review.tracks.markers.append(marker)
    return {"otio": [write_timeline(marked, folder / "matchcuts.otio")],
            "review_otio": write_timeline(review, folder / "matchcuts.review.otio")}


def test_export_keeps_only_the_accepted_pairs(tmp_path):
    result = _result(tmp_path)
    written = export_accepted(result, [3, 1], tmp_path / "export")
    assert [os.path.basename(p) for p in written] == ["matchcuts.accepted.otio",
                                                     "matchcuts.review.accepted.otio"]
    assert sorted(os.listdir(tmp_path / "export")) == sorted(os.path.basename(p) for p in written)
    marked = otio.adapters.read_from_file(written[0])
    ranks = sorted(m.metadata[NAMESPACE]["rank"] for c in marked.find_clips() for m in c.markers
                   if NAMESPACE in m.metadata)
    assert ranks == [1, 1, 3, 3]
    assert [m.name for m in marked.find_clips()[0].markers] == ["Match cut #1", "editor's note"]

    review = otio.adapters.read_from_file(written[1])
    lane = review.tracks[0]
    assert [c.name for c in lane] == ["#1 A", "#1 B", "", "#3 A", "#3 B"]
    # each marker sits at its cut: right after the A tail it names
    cuts = [m.marked_range.start_time.value for m in review.tracks.markers]
    assert cuts == [11, 11 + 20 + 12 + 13]
    assert review.name == "matchcuts review (accepted)"
    # the job's own timelines are untouched
    assert len(otio.adapters.read_from_file(result["review_otio"]).tracks[0]) == 8


def test_export_errors_are_typed(tmp_path):
    result = _result(tmp_path)
    (tmp_path / "a_file").write_text("x")
    with pytest.raises(OutputPathError):
        export_accepted(result, [1], tmp_path / "a_file")
    with pytest.raises(MediaNotFoundError):
        export_accepted({"otio": [str(tmp_path / "gone.otio")]}, [1], tmp_path / "export")


def test_a_killed_timeline_write_is_swept(tmp_path):
    """The temp file of a process killed between writing and renaming follows the engine's
    temp-name convention, so the next run's sweep removes it; the previous file stays."""
    target = tmp_path / "result.otio"
    write_timeline(otio.schema.Timeline(name="previous"), target)
    script = textwrap.dedent(f"""
        import os
        import opentimelineio as otio
        from moviola.plugin.results import write_timeline
        os.replace = lambda *a, **k: os._exit(9)    # dies where the rename would be
        write_timeline(otio.schema.Timeline(name="new"), {str(target)!r})
    """)
    assert subprocess.run([sys.executable, "-c", script]).returncode == 9
    left = [n for n in os.listdir(tmp_path) if n != "result.otio"]
    assert len(left) == 1 and TEMP_NAME.match(left[0]) and left[0].endswith(".otio")
    assert otio.adapters.read_from_file(str(target)).name == "previous"
    assert sweep_stale(tmp_path) == 1
    assert os.listdir(tmp_path) == ["result.otio"]
