"""Result timelines as hosts import them: FCP7 XML and EDL written by a real proxy job on
timecode-started and mixed-rate media, read back with the OTIO adapters and compared with the
result OTIO; and jobs that produce nothing fail with a typed error and write nothing."""

from __future__ import annotations

import threading
from fractions import Fraction
from pathlib import Path

import av
import opentimelineio as otio
import pytest
from opentimelineio.opentime import RationalTime as RT
from opentimelineio.opentime import TimeRange as TR

from moviola.engine.jobs.base import JobContext
from moviola.engine.jobs.proxy import ProxyJob
from moviola.plugin.errors import NothingProducedError
from moviola.plugin.results import MarkerSpec, add_markers, write_timeline
from moviola.plugin.timeline import url_to_path
from synthetic import read_frame_index, write_video

HOUR24 = 86400  # 01:00:00:00 at 24 fps


def _clip(name: str, path: Path, avail: TR, src: TR) -> otio.schema.Clip:
    return otio.schema.Clip(name=name, source_range=src,
                            media_reference=otio.schema.ExternalReference(str(path), avail))


@pytest.fixture(scope="module")
def edit(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 24 fps edit from 01:00:00:00: A from a 24 fps movie whose timecode starts at
    01:00:00:00, then B from a 25 fps movie (a mixed-rate clip)."""
    folder = tmp_path_factory.mktemp("edit")
    a = write_video(folder / "a.mov", 30, rate=Fraction(24), codec="prores",
                    timecode="01:00:00:00")
    b = write_video(folder / "b.mov", 30, rate=Fraction(25), codec="prores")
    v1 = otio.schema.Track(name="V1")
    v1.append(_clip("A", a, TR(RT(HOUR24, 24), RT(30, 24)), TR(RT(HOUR24 + 5, 24), RT(10, 24))))
    v1.append(_clip("B", b, TR(RT(0, 25), RT(30, 25)), TR(RT(4, 25), RT(10, 25))))
    tl = otio.schema.Timeline(name="edit", tracks=[v1], global_start_time=RT(HOUR24, 24))
    path = folder / "edit.otio"
    otio.adapters.write_to_file(tl, str(path))
    return path


def run_proxy(**raw: object) -> dict:
    job = ProxyJob()
    params = job.validate({"format": "png", **raw})
    return job.run(params, JobContext("t", lambda body: None, threading.Event()))


@pytest.fixture(scope="module")
def exported(edit: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    out = tmp_path_factory.mktemp("results") / "out 100%"   # '%' and a space in the folder
    return run_proxy(input=str(edit), out=str(out), export=["xml", "edl"])


def _movie_indices(url: str) -> list[int]:
    path, problem = url_to_path(url)
    assert problem is None and path is not None
    with av.open(path) as container:
        return [read_frame_index(f.to_ndarray(format="rgb24")) for f in container.decode(video=0)]


def test_fcp_xml_plays_movies_at_the_edit_record_times(exported: dict) -> None:
    result = otio.adapters.read_from_file(exported["otio"])
    xml_path = next(p for p in exported["exports"] if p.endswith(".xml"))
    back = otio.adapters.read_from_file(xml_path, adapter_name="fcp_xml")
    assert [t.name for t in back.video_tracks()] == ["V1", "Moviola proxy"]
    want = {c.name: c for c in result.video_tracks()[1].find_clips()}
    got = list(back.video_tracks()[1].find_clips())
    assert [c.name for c in got] == ["A · proxy", "B · proxy"]
    expected_source = {"A · proxy": 5, "B · proxy": 4}   # the plates' own frame indexes
    for clip in got:
        ref = clip.media_reference
        assert isinstance(ref, otio.schema.ExternalReference)
        assert ref.target_url.startswith("file://") and ref.target_url.endswith(".mov")
        # Moving media: a movie of every frame of the clip, each the plate's frame.
        first = expected_source[clip.name]
        assert _movie_indices(ref.target_url) == list(range(first, first + 10))
        # Same record time as the OTIO result, on the 24 fps sequence grid.
        rec, want_rec = clip.range_in_parent(), want[clip.name].range_in_parent()
        assert rec.start_time.rate == 24
        assert rec.start_time.value == round(want_rec.start_time.to_seconds() * 24)
        assert rec.duration.value == round(want_rec.duration.to_seconds() * 24)
        # In/out count from the movie's start, on the sequence's grid: the first frame.
        assert clip.source_range.start_time - ref.available_range.start_time \
            == RT(0, clip.source_range.start_time.rate)


def test_one_edl_per_generated_track_at_record_timecode(exported: dict) -> None:
    edls = [p for p in exported["exports"] if p.endswith(".edl")]
    assert len(edls) == 1 and edls[0].endswith(".Moviola_proxy.edl")
    text = Path(edls[0]).read_text()
    assert "A_proxy.mov" in text and "B_proxy.mov" in text
    back = otio.adapters.read_from_file(edls[0], rate=24)
    clips = list(back.find_clips())
    assert [c.name for c in clips] == ["A · proxy", "B · proxy"]
    # Event 001 starts where the edit does, at 01:00:00:00, on the movie's own timecode.
    first_event = next(line for line in text.splitlines() if line.startswith("001"))
    assert first_event.split()[-4:] == ["01:00:00:05", "01:00:00:15", "01:00:00:00",
                                        "01:00:00:10"]


def test_marker_names_notes_and_frames_survive_fcp_xml(exported: dict, tmp_path: Path) -> None:
    result = otio.adapters.read_from_file(exported["otio"])
    generated = result.video_tracks()[1].find_clips()[0]      # A · proxy, media at 01:00:00:05
    start = generated.source_range.start_time
    add_markers(generated, [MarkerSpec("edge", TR(start + RT(3, 24), RT(0, 24)),
                                       note="check the hair")])
    add_markers(result, [MarkerSpec("cut", TR(RT(12, 24), RT(0, 24)), color="GREEN",
                                    note="A→B")])
    back = otio.adapters.read_from_file(write_timeline(result, tmp_path / "marked.xml"))
    (seq_marker,) = back.tracks.markers
    assert (seq_marker.name, seq_marker.metadata["fcp_xml"]["comment"]) == ("cut", "A→B")
    assert seq_marker.marked_range.start_time == RT(12, 24)
    clip = back.video_tracks()[1].find_clips()[0]
    (clip_marker,) = clip.markers
    assert (clip_marker.name, clip_marker.metadata["fcp_xml"]["comment"]) == ("edge",
                                                                               "check the hair")
    # Counted from the movie's start, not from its timecode (01:00:00:05): frame 3.
    assert clip_marker.marked_range.start_time.value == 3


def _timeline_file(folder: Path, tracks: list[otio.schema.Track]) -> Path:
    path = folder / "t.otio"
    otio.adapters.write_to_file(otio.schema.Timeline(name="t", tracks=tracks), str(path))
    return path


def test_jobs_that_produce_nothing_fail_typed_and_write_nothing(tmp_path: Path) -> None:
    audio = otio.schema.Track(name="A1", kind=otio.schema.TrackKind.Audio)
    audio.append(_clip("dialogue", tmp_path / "d.wav", TR(RT(0, 24), RT(48, 24)),
                       TR(RT(0, 24), RT(24, 24))))
    broken = otio.schema.Track(name="V1")
    for name in ("x", "y"):
        junk = tmp_path / f"{name}.mov"
        junk.write_bytes(b"not a movie")
        broken.append(_clip(name, junk, TR(RT(0, 24), RT(48, 24)), TR(RT(0, 24), RT(24, 24))))
    cases = {"empty": ([], "no_video_clips"), "audio": ([audio], "no_video_clips"),
             "failing": ([broken], "all_clips_failed")}
    for label, (tracks, reason) in cases.items():
        folder = tmp_path / label
        folder.mkdir()
        out = folder / "out"
        with pytest.raises(NothingProducedError) as caught:
            run_proxy(input=str(_timeline_file(folder, tracks)), out=str(out))
        assert caught.value.code == "nothing_produced"
        assert caught.value.detail["reason"] == reason, label
        written = [p for p in out.rglob("*") if p.is_file()] if out.exists() else []
        assert written == [], label
    assert "x" in str(caught.value) and "y" in str(caught.value)   # which clips failed
