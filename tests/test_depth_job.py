"""The ``depth`` job through a live engine: files, frame numbers, full resolution, the record
of the normalisation in EXR headers and the result OTIO, backends, bad input, and the CLI."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from fractions import Fraction

import numpy as np
import OpenImageIO as oiio
import opentimelineio as otio
import pytest

from depth_scenes import make_scene, tiny_depth_anything, write_movie, write_sequence
from engine_harness import engine_env
from moviola.engine.depth import metrics
from moviola.plugin import errors
from moviola.plugin.results import reference_path
from synthetic import write_video

FRAMES = 20


@pytest.fixture(scope="module")
def truck(tmp_path_factory):
    scene = make_scene("truck", FRAMES)
    return scene, write_sequence(scene, tmp_path_factory.mktemp("truck"), start=1001)


def read(path):
    buf = oiio.ImageBuf(str(path))
    spec = buf.spec()
    attrs = {a.name: a.value for a in spec.extra_attribs}
    return buf.get_pixels(oiio.FLOAT), spec, attrs


def test_parallax_pass_is_full_resolution_float_with_its_record(client, truck, tmp_path):
    scene, pattern = truck
    out = tmp_path / "out"
    result = client.submit("depth", {"input": pattern, "out": str(out), "preview": True,
                                     "working_size": 96}).wait()
    # No weights installed: auto ran the parallax backend, and says so.
    assert result["backend"] == "parallax" and result["clips"][0]["backend"] == "parallax"
    assert result["frames"] == list(range(1001, 1001 + FRAMES))
    assert result["channel"] == "depth.Z" and result["convention"] == "inverse_depth"
    assert result["confidence_channel"] == "depth.confidence"
    assert result["otio"] == str(out / "truck.depth.otio")
    assert [f".{n}.exr" in p for n, p in zip(result["frames"], result["files"])] == [True] * FRAMES
    assert result["clips"][0]["verdict"]["status"] == "valid"

    depths, previews = [], []
    for path in result["files"]:
        pixels, spec, attrs = read(path)
        assert (spec.width, spec.height) == (160, 120)            # the plate's size, not 128x96
        assert spec.format == oiio.FLOAT and spec.z_channel >= 0
        assert sorted(spec.channelnames) == ["B", "G", "R", "depth.Z", "depth.confidence"]
        depths.append(pixels[..., list(spec.channelnames).index("depth.Z")])
        previews.append(pixels[..., list(spec.channelnames).index("R")])
        assert attrs["moviola/depth/convention"] == "inverse_depth"
        assert attrs["moviola/depth/normalize"] == "relative"
        assert attrs["moviola/depth/near_is"] == "1.0 (white)"
        assert attrs["moviola/backend"] == "parallax" and "moviola/depth/scale" in attrs
    # near is white: the near ground at the bottom is brighter than the back wall at the top
    assert depths[0][-10:].mean() > depths[0][:10].mean() + 0.3
    assert 0.0 <= min(p.min() for p in previews) and max(p.max() for p in previews) <= 1.0
    gts = [scene.depth(i) for i in range(FRAMES)]
    corr = [None] + [scene.correspondence(i, i - 1) for i in range(1, FRAMES)]
    scores = metrics.evaluate_clip(depths, gts, corr)
    assert scores.abs_rel < 0.12 and scores.delta1 > 0.85      # through files and upsampling

    timeline = otio.adapters.read_from_file(result["otio"])
    source_track, depth_track = timeline.video_tracks()
    assert depth_track.name == "Moviola depth"
    (src,), (res,) = list(source_track.find_clips()), list(depth_track.find_clips())
    assert src.range_in_parent() == res.range_in_parent()
    meta = res.metadata["moviola"]
    assert meta["kind"] == "depth" and meta["depth"]["convention"] == "inverse_depth"
    assert meta["depth"]["normalize"] == "relative" and len(meta["depth"]["scale"]) == FRAMES
    assert meta["backend"]["backend"] == "parallax" and meta["verdict"]["status"] == "valid"
    assert meta["confidence_channel"] == "depth.confidence"
    ref = res.media_reference
    assert ref.start_frame == 1001 and reference_path(ref) == result["files"][0]
    assert not any(p.name.startswith(".") for p in out.rglob("*"))  # cache and temp files gone


def test_png16_near_far_over_a_range_of_a_movie(client, truck, tmp_path):
    scene, _ = truck
    movie = write_movie(scene, tmp_path / "truck.mp4")
    result = client.submit("depth", {"input": str(movie), "out": str(tmp_path / "out"),
                                     "format": "png16", "normalize": "near-far",
                                     "backend": "parallax", "range": [2, 11]}).wait()
    assert result["frames"] == list(range(2, 12)) and result["convention"] == "depth"
    assert result["files"][0].endswith("_depth.0002.png")   # movie frames are 0-based
    buf = oiio.ImageBuf(result["files"][0])
    assert buf.spec().format == oiio.UINT16 and buf.spec().nchannels == 1   # no confidence
    assert result["confidence_channel"] is None
    values = buf.get_pixels(oiio.FLOAT)[..., 0]
    truth = scene.depth(2)
    assert np.corrcoef(values.ravel(), truth.ravel())[0, 1] > 0.8   # near is black, far white
    meta = otio.adapters.read_from_file(result["otio"]).video_tracks()[1].find_clips()
    record = next(iter(meta)).metadata["moviola"]["depth"]
    assert record["near"] < record["far"] and "Z = 1 / u" in record["formula"]


def test_bad_input_is_refused_before_any_work(client, truck, tmp_path):
    _, pattern = truck
    base = {"input": pattern, "out": str(tmp_path)}
    with pytest.raises(errors.MediaNotFoundError):
        client.submit("depth", {**base, "input": str(tmp_path / "nope.mov")})
    cases = [({"backend": "midas"}, "unknown depth backend"),
             ({"backend": "depth-anything-v2-base"}, "cannot run here"),
             ({"normalize": "metric", "backend": "parallax"}, "metric model"),
             ({"normalize": "metric", "format": "png16"}, "png16"),
             ({"format": "tiff"}, "format"),
             ({"range": [9, 3]}, "range"),
             ({"working_size": 8}, "working_size"),
             ({"fov": 200.0}, "fov")]
    for extra, message in cases:
        with pytest.raises(errors.InvalidParamsError, match=message):
            client.submit("depth", {**base, **extra})
    a_file = tmp_path / "file"
    a_file.write_text("x")
    with pytest.raises(errors.OutputPathError):
        client.submit("depth", {**base, "out": str(a_file)})
    # Known only once the input is read, still before any frame is decoded:
    with pytest.raises(errors.InvalidParamsError, match="at least 2 frames"):
        client.submit("depth", {**base, "backend": "parallax", "range": [1001, 1001]}).wait()
    assert sorted(os.listdir(tmp_path)) == ["file"]


def test_parallax_refuses_a_pan_with_its_reason(client, tmp_path):
    scene = make_scene("pan", 10)
    pattern = write_sequence(scene, tmp_path / "pan")
    with pytest.raises(errors.JobFailedError, match="does not translate") as caught:
        client.submit("depth", {"input": pattern, "out": str(tmp_path / "out"),
                                "backend": "parallax"}).wait()
    assert caught.value.detail["verdict"]["status"] == "not_valid"
    assert not [p for p in (tmp_path / "out").rglob("*") if p.is_file()]


def test_frames_parallax_cannot_measure_hold_the_nearest_measured_map(client, tmp_path):
    scene = make_scene("late_truck", 24)          # still for 12 frames, then a truck
    pattern = write_sequence(scene, tmp_path / "plates")
    result = client.submit("depth", {"input": pattern, "out": str(tmp_path / "out"),
                                     "backend": "parallax"}).wait()
    clip = result["clips"][0]
    assert clip["verdict"]["status"] == "partial" and "does not translate" in clip["verdict"]["reason"]
    held = clip["held_from"]
    assert held and all(int(frame) < int(source) for frame, source in held.items())
    assert len(result["files"]) == 24                 # every frame is still written
    first_held = min(held, key=int)
    _, _, attrs = read(result["files"][int(first_held) - 1001])
    assert attrs["moviola/depth/held_from_frame"] == held[first_held]
    # A held frame's depth was not measured there: its confidence is zero everywhere.
    pixels, spec, _ = read(result["files"][int(first_held) - 1001])
    assert not pixels[..., list(spec.channelnames).index("depth.confidence")].any()


def confidences(result):
    maps = []
    for path in result["files"]:
        pixels, spec, _ = read(path)
        maps.append(pixels[..., list(spec.channelnames).index("depth.confidence")])
    return maps


def test_confidence_is_low_where_parallax_cannot_measure(client, tmp_path):
    # A ball rolling on its own through a truck: its pixels are filled, the static scene measured.
    mover = make_scene("mover", FRAMES)
    result = client.submit("depth", {"input": write_sequence(mover, tmp_path / "mover"),
                                     "out": str(tmp_path / "out_mover"), "backend": "parallax",
                                     "working_size": 96}).wait()
    maps = confidences(result)
    assert maps[0].shape == (120, 160) and 0.0 <= min(m.min() for m in maps)
    assert max(m.max() for m in maps) <= 1.0
    moving = [mover.moving_mask(i) for i in range(FRAMES)]
    on_ball = np.mean([m[mask].mean() for m, mask in zip(maps, moving) if mask.any()])
    elsewhere = np.mean([m[~mask].mean() for m, mask in zip(maps, moving)])
    # Graded: a measured pixel has 0.5 or more, a filled one less, a moving object's nothing.
    assert on_ball < 0.25 and elsewhere > 0.6 and elsewhere > 4 * on_ball
    # A dolly creeping in: no parallax near the focus of expansion in the middle of the frame.
    dolly = make_scene("dolly_slow", FRAMES)
    result = client.submit("depth", {"input": write_sequence(dolly, tmp_path / "dolly"),
                                     "out": str(tmp_path / "out_dolly"), "backend": "parallax",
                                     "working_size": 96}).wait()
    middle = np.mean([m[40:80, 53:107].mean() for m in confidences(result)])
    whole = np.mean([m.mean() for m in confidences(result)])
    assert middle < 0.2 and whole > middle + 0.2


def test_depth_anything_job_with_weights_from_the_store(engine, client, truck, tmp_path):
    _, pattern = truck
    folder = engine.home / "weights" / "depth-anything-v2-small"
    try:
        tiny_depth_anything(folder)
        result = client.submit("depth", {"input": pattern, "out": str(tmp_path), "working_size": 56,
                                         "range": [1001, 1006]}).wait()
        assert result["backend"] == "depth-anything-v2-small"         # auto chose the model
        assert result["model"]["weights_sha256"] and result["model"]["license"] == "Apache-2.0"
        assert result["frames"] == list(range(1001, 1007))
        pixels, spec, attrs = read(result["files"][0])
        assert (spec.width, spec.height) == (160, 120) and np.isfinite(pixels).all()
        # A model measures nothing per pixel: no confidence channel rather than all ones.
        assert tuple(spec.channelnames) == ("depth.Z",) and result["confidence_channel"] is None
        assert attrs["moviola/model"] == "depth-anything-v2-small"
        assert attrs["moviola/model/sha256"] == result["model"]["weights_sha256"]
        assert result["clips"][0]["stabilisation"]["mode"] == "affine"
        with pytest.raises(errors.InvalidParamsError, match="metric model"):
            client.submit("depth", {"input": pattern, "out": str(tmp_path), "normalize": "metric"})
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def test_cancel_leaves_no_cache_behind(client, tmp_path):
    media = write_video(tmp_path / "long.mp4", 150, rate=Fraction(25), size=(320, 240))
    out = tmp_path / "out"
    job = client.submit("depth", {"input": str(media), "out": str(out), "backend": "parallax"})
    for event in job.events():
        if not event.final and event.body.get("done", 0) >= 10:
            job.cancel()
    with pytest.raises(errors.JobCancelledError):
        job.result()
    assert not [p for p in out.rglob("*") if p.name.startswith(".")]


def test_cli_on_a_timeline_prints_json_and_writes_an_aligned_track(engine, truck, tmp_path):
    _, pattern = truck
    ref = otio.schema.ImageSequenceReference(
        target_url_base=os.path.dirname(pattern) + "/", name_prefix="truck.", name_suffix=".png",
        start_frame=1001, rate=24, frame_zero_padding=4,
        available_range=otio.opentime.TimeRange(otio.opentime.RationalTime(0, 24),
                                                otio.opentime.RationalTime(FRAMES, 24)))
    timeline = otio.schema.Timeline(name="edit")
    track = otio.schema.Track(name="V1")
    timeline.tracks.append(track)
    for name, start in (("a", 0), ("b", 8)):
        track.append(otio.schema.Clip(name=name, media_reference=ref.clone(),
                                      source_range=otio.opentime.TimeRange(
                                          otio.opentime.RationalTime(start, 24),
                                          otio.opentime.RationalTime(10, 24))))
    source = tmp_path / "edit.otio"
    otio.adapters.write_to_file(timeline, str(source))
    done = subprocess.run([sys.executable, "-m", "moviola.cli", "depth", str(source), "--out",
                           str(tmp_path / "out"), "--backend", "parallax", "--json"],
                          env=engine_env(engine.home), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert {"files", "frames", "channel", "convention", "otio"} <= set(summary)
    assert summary["frames"] == list(range(1001, 1011)) + list(range(1009, 1019))
    assert len(summary["files"]) == 20 and summary["channel"] == "depth.Z"
    result = otio.adapters.read_from_file(summary["otio"])
    src, depth = result.video_tracks()
    assert [c.range_in_parent() for c in src.find_clips()] == \
        [c.range_in_parent() for c in depth.find_clips()]
