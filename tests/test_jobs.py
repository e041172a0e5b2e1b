"""The shipped jobs through a live engine: probe, proxy, sample; and the demo from the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from fractions import Fraction

import numpy as np
import OpenImageIO as oiio
import opentimelineio as otio
import pytest

from engine_harness import engine_env
from moviola.engine.matte.metrics import score_clip
from moviola.engine.samples import make_sample
from moviola.plugin import errors
from moviola.plugin.results import reference_path
from moviola.plugin.timeline import work_units
from synthetic import read_frame_index, write_video


def read_image(path):
    return oiio.ImageBuf(str(path)).get_pixels(oiio.UINT8)


@pytest.fixture(scope="module")
def clip_2398(tmp_path_factory):
    """48 frames at 23.976 starting at 01:00:00:00, each frame carrying its own index."""
    folder = tmp_path_factory.mktemp("media")
    return write_video(folder / "tc2398.mov", 48, rate=Fraction(24000, 1001), codec="h264",
                       size=(256, 192), timecode="01:00:00:00")


def edit_of(media, cuts, rate=Fraction(24000, 1001)):
    """A timeline cutting ``media`` (timecode 01:00:00:00) at ``cuts``: (first frame, count)."""
    r = float(rate)
    start = otio.opentime.RationalTime.from_timecode("01:00:00:00", r)
    ref = otio.schema.ExternalReference(
        target_url=str(media),
        available_range=otio.opentime.TimeRange(start, otio.opentime.RationalTime(48, r)))
    timeline = otio.schema.Timeline(name="edit")
    track = otio.schema.Track(name="V1")
    timeline.tracks.append(track)
    for i, (first, count) in enumerate(cuts):
        if i == 1:
            track.append(otio.schema.Gap(source_range=otio.opentime.TimeRange(
                duration=otio.opentime.RationalTime(5, r))))
        track.append(otio.schema.Clip(
            name=f"cut {i}", media_reference=ref.clone(),
            source_range=otio.opentime.TimeRange(start + otio.opentime.RationalTime(first, r),
                                                 otio.opentime.RationalTime(count, r))))
    return timeline


def test_probe_reports_exact_media_facts(client, clip_2398):
    media = client.submit("probe", {"input": str(clip_2398)}).wait()["media"][0]
    assert media["codec"] == "h264" and (media["width"], media["height"]) == (256, 192)
    assert media["frame_rate"] == "24000/1001" and media["frame_count"] == 48
    assert media["start_timecode"] == "01:00:00:00"
    assert media["pixel_format"] == "yuv420p" and media["rotation"] == 0


def test_probe_of_a_timeline_lists_its_media(client, clip_2398, tmp_path):
    path = tmp_path / "edit.otio"
    otio.adapters.write_to_file(edit_of(clip_2398, [(3, 10), (30, 6)]), str(path))
    result = client.submit("probe", {"input": str(path)}).wait()
    assert [m["path"] for m in result["media"]] == [str(clip_2398)]
    assert result["timeline"]["clips"] == 2


def test_bad_input_is_refused_before_any_work(client, tmp_path):
    with pytest.raises(errors.MediaNotFoundError):
        client.submit("probe", {"input": str(tmp_path / "nope.mov")})
    junk = tmp_path / "junk.mp4"
    junk.write_text("not a video")
    with pytest.raises(errors.MediaDecodeError):
        client.submit("probe", {"input": str(junk)}).wait()
    a_file = tmp_path / "file"
    a_file.write_text("x")
    with pytest.raises(errors.OutputPathError):
        client.submit("proxy", {"input": str(junk), "out": str(a_file)})
    with pytest.raises(errors.InvalidParamsError, match="range"):
        client.submit("proxy", {"input": str(junk), "out": str(tmp_path), "range": [9, 3]})


def test_proxy_of_a_movie_is_frame_accurate(client, clip_2398, tmp_path):
    result = client.submit("proxy", {"input": str(clip_2398), "out": str(tmp_path),
                                     "format": "png", "max_width": 0, "range": [10, 29]}).wait()
    assert result["frames"] == list(range(10, 30))
    assert len(result["files"]) == 20
    for frame, path in zip(result["frames"], result["files"]):
        assert path.startswith(str(tmp_path)) and f".{frame:04d}.png" in path
        assert read_frame_index(read_image(path)) == frame
    with pytest.raises(errors.FrameRangeError):
        client.submit("proxy", {"input": str(clip_2398), "out": str(tmp_path),
                                "range": [100, 120]}).wait()


def test_proxy_of_a_timeline_writes_an_aligned_result_track(client, clip_2398, tmp_path):
    source = tmp_path / "edit.otio"
    otio.adapters.write_to_file(edit_of(clip_2398, [(30, 8), (2, 12)]), str(source))
    out = tmp_path / "out"
    result = client.submit("proxy", {"input": str(source), "out": str(out), "max_width": 128}).wait()
    assert [c["frames"][0] for c in result["clips"]] == [30, 2]
    assert result["otio"] == str(out / "edit.proxy.otio")

    timeline = otio.adapters.read_from_file(result["otio"])
    assert [t.name for t in timeline.video_tracks()] == ["V1", "Moviola proxy"]
    src_clips = list(timeline.video_tracks()[0].find_clips())
    res_clips = list(timeline.video_tracks()[1].find_clips())
    assert len(res_clips) == 2
    for src, res in zip(src_clips, res_clips):
        assert src.range_in_parent() == res.range_in_parent()  # aligned on the timeline
        ref = res.media_reference
        assert isinstance(ref, otio.schema.ImageSequenceReference)
        meta = res.metadata["moviola"]
        assert meta["kind"] == "proxy" and meta["engine_version"] and meta["source_clip"] == src.name
        for offset in (0, res.source_range.duration.to_frames() - 1):
            t = res.source_range.start_time + otio.opentime.RationalTime(offset, ref.rate)
            frame = ref.frame_for_time(t)
            path = reference_path(ref, frame)
            assert ref.target_url_base.startswith("file://") and os.path.exists(path)
            assert read_frame_index(read_image(path)) == frame
    # the source clip and its proxy clip name the same media frames
    units = work_units(timeline, check_files=True)
    by_track = {}
    for unit in units:
        by_track.setdefault(unit.track_name, []).append((unit.first_frame, unit.frame_count))
    assert by_track["V1"] == by_track["Moviola proxy"] == [(30, 8), (2, 12)]
    xml = otio.adapters.write_to_string(timeline, "fcp_xml")
    assert xml.count("<track") >= 2 and "cut_0_proxy." in xml  # both video tracks, proxies linked


def test_cancelled_proxy_leaves_only_complete_files(client, tmp_path):
    media = write_video(tmp_path / "long.mp4", 400, rate=Fraction(25), size=(640, 360))
    out = tmp_path / "out"
    job = client.submit("proxy", {"input": str(media), "out": str(out), "format": "png",
                                  "max_width": 0, "writers": 1})
    for event in job.events():
        if not event.final and event.body.get("done", 0) >= 20:
            job.cancel()
    with pytest.raises(errors.JobCancelledError):
        job.result()
    # A cancelled run never becomes a result: its staged frames go, no temp file is left.
    assert [p for p in out.rglob("*") if p.is_file()] == []


def test_sample_job_writes_media_and_timeline(client, tmp_path):
    result = client.submit("sample", {"out": str(tmp_path), "width": 320, "height": 180,
                                      "seconds_per_shot": 0.5}).wait()
    assert os.path.exists(result["video"]) and os.path.exists(result["timeline"])
    timeline = otio.adapters.read_from_file(result["timeline"])
    assert len(list(timeline.find_clips())) == len(result["edit"]) >= 3


def test_demo_runs_end_to_end_from_nothing(tmp_path):
    home = tmp_path / "home"
    out = tmp_path / "demo"
    done = subprocess.run([sys.executable, "-m", "moviola.cli", "demo", "--out", str(out), "--json"],
                          env=engine_env(home), capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["otio"] == str(out / "moviola_sample.proxy.otio")
    timeline = otio.adapters.read_from_file(summary["otio"])
    tracks = timeline.video_tracks()
    assert len(tracks) == 2 and len(list(tracks[1].find_clips())) == len(list(tracks[0].find_clips()))
    assert all(os.path.exists(p) for p in summary["proxy"]["files"])
    assert summary["timings"]["total_s"] < 60
    # every capability ran on the sample, against its exact ground truth
    truth = make_sample(tmp_path / "truth", width=640, height=360)
    assert [c["frame"] for c in summary["shots"]["cuts"]] == [s.first_frame for s in truth.shots[1:]]
    edit = truth.edit[1]
    shot = {s.name: s for s in truth.shots}[edit.shot]
    matte = summary["matte"]
    assert matte["frames"] == list(range(edit.source_start, edit.source_start + edit.duration))
    preds = [(n, read_image(p)[..., 0] / 255.0) for n, p in zip(matte["frames"], matte["files"])]
    score = score_clip(preds, lambda n: shot.mask(n, truth.width, truth.height))
    assert score.jf > 0.9
    assert summary["matchcuts"]["pairs"] and os.path.exists(summary["matchcuts"]["review_otio"])
    # The demo started the engine, so it stopped it again.
    assert not (home / "engine.json").exists()
    status = subprocess.run([sys.executable, "-m", "moviola.cli", "--no-autostart", "engine", "status"],
                            env=engine_env(home), capture_output=True, text=True, timeout=60)
    assert status.returncode == 3


def test_output_never_lands_outside_the_out_folder(client, clip_2398, tmp_path):
    timeline = edit_of(clip_2398, [(0, 4)])
    next(iter(timeline.find_clips())).name = "../../escape/../../x"
    source = tmp_path / "edit.otio"
    otio.adapters.write_to_file(timeline, str(source))
    out = tmp_path / "out"
    result = client.submit("proxy", {"input": str(source), "out": str(out)}).wait()
    assert all(os.path.realpath(p).startswith(str(out.resolve())) for p in result["files"] + [result["otio"]])
    before = set(os.listdir(tmp_path))
    assert before == {"edit.otio", "out"}


def test_proxy_frames_match_sequential_decode(client, tmp_path):
    media = write_video(tmp_path / "p.mov", 24, rate=Fraction(24), codec="prores", size=(128, 96))
    result = client.submit("proxy", {"input": str(media), "out": str(tmp_path / "o"),
                                     "format": "png", "max_width": 0}).wait()
    assert result["frames"] == list(range(24))
    assert [read_frame_index(read_image(p)) for p in result["files"]] == list(range(24))
    assert np.asarray(read_image(result["files"][0])).dtype == np.uint8


def test_cancel_stops_a_multi_clip_job_instead_of_becoming_problems(client, tmp_path):
    media = write_video(tmp_path / "long.mp4", 300, rate=Fraction(25), size=(640, 360))
    timeline = otio.schema.Timeline(name="many")
    track = otio.schema.Track(name="V1")
    timeline.tracks.append(track)
    ref = otio.schema.ExternalReference(target_url=str(media), available_range=otio.opentime.TimeRange(
        otio.opentime.RationalTime(0, 25), otio.opentime.RationalTime(300, 25)))
    for i in range(5):
        track.append(otio.schema.Clip(name=f"c{i}", media_reference=ref.clone(),
                                      source_range=otio.opentime.TimeRange(
                                          otio.opentime.RationalTime(i * 60, 25),
                                          otio.opentime.RationalTime(60, 25))))
    source = tmp_path / "many.otio"
    otio.adapters.write_to_file(timeline, str(source))
    job = client.submit("proxy", {"input": str(source), "out": str(tmp_path / "out"),
                                  "format": "png", "max_width": 0, "writers": 1})
    for event in job.events():
        if not event.final and event.body.get("done", 0) >= 10:
            job.cancel()
    with pytest.raises(errors.JobCancelledError):
        job.result()
    clips_started = {p.parent.name for p in (tmp_path / "out" / "proxy").rglob("*.png")}
    assert len(clips_started) <= 2  # it stopped; it did not go on to every other clip
