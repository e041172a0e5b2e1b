"""Farm job bundles (OpenJD): the bundle passes ``openjd check``, ``openjd run`` runs every
task of a real timeline of real clips and gathers a result identical to a direct run, a
killed task leaves nothing partial and re-runs, a second run does no work, and bad inputs
fail their own task by name while the others finish."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path

import cv2
import numpy as np
import OpenImageIO as oiio
import opentimelineio as otio
import pytest
import yaml

from depth_scenes import make_scene, write_movie, write_sequence
from engine_harness import engine_env
from moviola.engine.inputs import check_input
from moviola.engine.jobs.base import JobContext
from moviola.engine.jobs.depth import DepthJob
from moviola.farm.plan import Plan
from moviola.plugin.results import reference_path

FRAMES = 8
OPENJD = shutil.which("openjd") or str(Path(sys.executable).with_name("openjd"))
MOVIOLA = str(Path(sys.executable).with_name("moviola"))
pytestmark = pytest.mark.skipif(not os.path.exists(OPENJD), reason="openjd-cli (the farm extra) "
                                "is not installed")
DEPTH = {"backend": "parallax", "format": "png16", "writers": 1}


def _seq_ref(pattern: str, frames: int) -> otio.schema.ImageSequenceReference:
    folder, name = os.path.split(pattern)
    return otio.schema.ImageSequenceReference(
        target_url_base=folder + "/", name_prefix=name.split(".")[0] + ".", name_suffix=".png",
        start_frame=1001, rate=24, frame_zero_padding=4,
        available_range=otio.opentime.TimeRange(otio.opentime.RationalTime(0, 24),
                                                otio.opentime.RationalTime(frames, 24)))


def make_edit(root: Path, clips=(("a", "truck", 0), ("b", "dolly", 1)), missing: str | None = None) -> Path:
    """An OTIO edit of real PNG sequences under ``root/media``: each clip 6 frames."""
    timeline = otio.schema.Timeline(name="edit")
    track = otio.schema.Track(name="V1")
    timeline.tracks.append(track)
    for name, motion, start in clips:
        pattern = write_sequence(make_scene(motion, FRAMES), root / "media" / motion, name=motion)
        if name == missing:
            pattern = str(root / "media" / "gone" / "gone.%04d.png")
        track.append(otio.schema.Clip(name=name, media_reference=_seq_ref(pattern, FRAMES),
                                      source_range=otio.opentime.TimeRange(
                                          otio.opentime.RationalTime(start, 24),
                                          otio.opentime.RationalTime(6, 24))))
    (root / "edit").mkdir(parents=True, exist_ok=True)
    path = root / "edit" / "edit.otio"
    otio.adapters.write_to_file(timeline, str(path))
    return path


def moviola(*args, env=None, timeout=180):
    return subprocess.run([MOVIOLA, *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, env=env)


def export(edit: Path, bundle: Path, *extra) -> dict:
    params = [a for k, v in DEPTH.items() for a in ("--param", f"{k}={v}")]
    done = moviola("farm", "export", edit, "--job", "depth", *params, "--out", bundle, "--json", *extra)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def openjd_run(bundle: Path, input_root: Path, output_root: Path, *extra, env=None):
    return subprocess.run([OPENJD, "run", str(bundle / "template.yaml"),
                           "-p", f"InputRoot={input_root}", "-p", f"OutputRoot={output_root}",
                           "-p", f"MoviolaCommand={MOVIOLA}", *extra],
                          capture_output=True, text=True, timeout=300, env=env)


def run_all(bundle, input_root, output_root, *extra, env=None):
    done = openjd_run(bundle, input_root, output_root, *extra, "--step", "Gather", "--run-dependencies",
                      env=env)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done


def frames_of(otio_path: str) -> list[list[np.ndarray]]:
    """The pixels of every result clip's frames, track by track, in record order."""
    timeline = otio.adapters.read_from_file(otio_path)
    out = []
    for clip in timeline.video_tracks()[-1].find_clips():
        ref = clip.media_reference
        offset = (clip.source_range.start_time - ref.available_range.start_time).to_frames()
        paths = [reference_path(ref, ref.start_frame + offset + i)
                 for i in range(clip.source_range.duration.to_frames())]
        assert all(os.path.isfile(p) for p in paths), paths
        out.append([oiio.ImageBuf(p).get_pixels(oiio.UINT16) for p in paths])
    return out


@pytest.fixture()
def env(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    return engine_env(home)


def test_bundle_checks_runs_and_matches_a_direct_run(tmp_path, env):
    edit = make_edit(tmp_path / "show")
    bundle = tmp_path / "bundle"
    summary = export(edit, bundle, "--submit-command")
    assert summary["tasks"] == 2 and summary["submit_command"].startswith("deadline bundle submit")
    for name in ("template.yaml", "parameter_values.yaml", "asset_references.yaml"):
        text = (bundle / name).read_text()
        assert str(tmp_path) not in text, f"{name} names a path of this machine"
    template = yaml.safe_load((bundle / "template.yaml").read_text())
    assert template["specificationVersion"] == "jobtemplate-2023-09"
    roots = {p["name"]: p for p in template["parameterDefinitions"]}
    assert roots["InputRoot"]["dataFlow"] == "IN" and roots["OutputRoot"]["dataFlow"] == "OUT"
    check = subprocess.run([OPENJD, "check", str(bundle / "template.yaml")], capture_output=True,
                           text=True, timeout=60)
    assert check.returncode == 0, check.stdout + check.stderr

    # The farm sees the media somewhere else: its path mapping moved the input root.
    moved = tmp_path / "farm_in"
    shutil.copytree(tmp_path / "show" / "media", moved)
    out = tmp_path / "farm_out"
    run_all(bundle, moved, out, env=env)
    gathered = out / "edit.depth.otio"
    assert gathered.exists()

    direct = DepthJob().run(DepthJob().validate({"input": str(edit), "out": str(tmp_path / "direct"),
                                                 **DEPTH}),
                            JobContext("direct", lambda body: None, threading.Event()))
    farm_frames, direct_frames = frames_of(str(gathered)), frames_of(direct["otio"])
    assert len(farm_frames) == len(direct_frames) == 2
    for farm_clip, direct_clip in zip(farm_frames, direct_frames):
        assert len(farm_clip) == len(direct_clip) == 6
        for a, b in zip(farm_clip, direct_clip):
            assert a is not None and a.size and np.array_equal(a, b)
    farm_tl, direct_tl = (otio.adapters.read_from_file(p) for p in (gathered, direct["otio"]))
    assert [[c.range_in_parent() for c in t.find_clips()] for t in farm_tl.video_tracks()] == \
        [[c.range_in_parent() for c in t.find_clips()] for t in direct_tl.video_tracks()]
    assert [t.name for t in farm_tl.video_tracks()] == [t.name for t in direct_tl.video_tracks()]
    # The gathered result reads the farm's copy of the media, never the exporting machine's.
    for clip in farm_tl.video_tracks()[0].find_clips():
        assert str(moved) in clip.media_reference.target_url_base


def task_times(output: str) -> list[float]:
    return [float(line.split(" in ")[1].split(" s")[0]) for line in output.splitlines()
            if "): done in " in line or "nothing done in " in line]


def test_second_run_does_no_work(tmp_path, env):
    edit = make_edit(tmp_path / "show")
    bundle = tmp_path / "bundle"
    export(edit, bundle)
    out = tmp_path / "out"
    first = run_all(bundle, tmp_path / "show" / "media", out, env=env)
    stamps = {p: p.stat().st_mtime_ns for p in out.rglob("*.png")}
    second = run_all(bundle, tmp_path / "show" / "media", out, env=env)
    assert second.stdout.count("complete already; nothing done") == 2
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*.png")} == stamps
    before, after = task_times(first.stdout), task_times(second.stdout)
    assert len(before) == len(after) == 2
    # Measured: the second run's tasks only read their manifests.
    print(f"task times, first run {before} s, second run {after} s")
    assert sum(after) < sum(before)
    # A changed frame of clip b's media, re-exported: only b's task runs again.
    changed = tmp_path / "show" / "media" / "dolly" / "dolly.1003.png"
    os.utime(changed, ns=(changed.stat().st_atime_ns, changed.stat().st_mtime_ns + 10**9))
    export(edit, bundle)
    third = run_all(bundle, tmp_path / "show" / "media", out, env=env)
    assert "task 0 (a): complete already" in third.stdout and "task 1 (b): done" in third.stdout


def test_killed_task_leaves_nothing_partial_and_reruns(tmp_path, env):
    edit = make_edit(tmp_path / "show", clips=(("a", "truck", 0),))
    bundle = tmp_path / "bundle"
    export(edit, bundle)
    plan_text = yaml.safe_load((bundle / "template.yaml").read_text())["steps"][0]["script"][
        "embeddedFiles"][0]["data"]
    plan_file = tmp_path / "plan.json"
    plan_file.write_text(plan_text)
    out = tmp_path / "out"
    media = tmp_path / "show" / "media"
    task = [MOVIOLA, "farm", "run-task", "--plan", str(plan_file), "--input-root", str(media),
            "--output-root", str(out), "--task", "0"]
    proc = subprocess.Popen(task, env=env, stdout=subprocess.PIPE, text=True)
    # Kill it once it is writing frames (progress past the first pass), never after it ends.
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith("openjd_progress:") and float(line.split()[1]) >= 60:
            break
    proc.send_signal(signal.SIGKILL)
    assert proc.wait() == -signal.SIGKILL   # killed while working, not after
    folder = out / "tasks" / "000_a"
    assert not (folder / "moviola_task.json").exists()
    # Only hidden, pid-named staging is left: no final folder holds a partial sequence.
    final = [p for p in (folder / "depth").glob("*") if not p.name.startswith(".")] \
        if (folder / "depth").exists() else []
    assert final == []
    done = subprocess.run(task, env=env, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr
    manifest = json.loads((folder / "moviola_task.json").read_text())
    pngs = sorted(p for p in (folder / "depth").rglob("*.png"))
    assert len(pngs) == 6 and all(not p.parent.name.startswith(".") for p in pngs)
    assert {str(p.relative_to(folder)) for p in pngs} <= set(manifest["files"])


def test_bad_clip_fails_its_task_by_name_and_the_others_finish(tmp_path, env):
    # b's media is missing; c is a pan, which the parallax backend cannot take.
    edit = make_edit(tmp_path / "show", clips=(("a", "truck", 0), ("b", "dolly", 1), ("c", "pan", 0)),
                     missing="b")
    bundle = tmp_path / "bundle"
    export(edit, bundle)
    out, media = tmp_path / "out", tmp_path / "show" / "media"
    bad = openjd_run(bundle, media, out, "--step", "Depth", "--task-param", "Task=1", env=env)
    assert bad.returncode != 0
    assert "clip 'b'" in bad.stdout and "media_not_found" in bad.stdout
    pan = openjd_run(bundle, media, out, "--step", "Depth", "--task-param", "Task=2", env=env)
    assert pan.returncode != 0
    assert "clip 'c'" in pan.stdout and "job_failed" in pan.stdout and "translate" in pan.stdout
    good = openjd_run(bundle, media, out, "--step", "Depth", "--task-param", "Task=0", env=env)
    assert good.returncode == 0, good.stdout[-2000:]
    gathered = openjd_run(bundle, media, out, "--step", "Gather", env=env)
    assert gathered.returncode == 0, gathered.stdout[-2000:]
    result = otio.adapters.read_from_file(str(out / "edit.depth.otio"))
    assert len(result.video_tracks()[-1].find_clips()) == 1
    problems = result.metadata["moviola"]["farm"]["problems"]
    assert any("b: task 1" in p for p in problems) and any("c: task 2" in p for p in problems)


def test_a_plan_naming_a_folder_outside_the_output_root_is_refused(tmp_path, env):
    edit = make_edit(tmp_path / "show", clips=(("a", "truck", 0),))
    bundle = tmp_path / "bundle"
    export(edit, bundle)
    raw = json.loads(yaml.safe_load((bundle / "template.yaml").read_text())["steps"][0]["script"][
        "embeddedFiles"][0]["data"])
    raw["tasks"][0]["folder"] = "../escaped"
    Plan.from_json(json.dumps(raw))   # still a plan; the task refuses it
    plan_file = tmp_path / "plan.json"
    plan_file.write_text(json.dumps(raw))
    done = moviola("farm", "run-task", "--plan", plan_file, "--input-root", tmp_path / "show" / "media",
                   "--output-root", tmp_path / "out", "--task", "0", env=env)
    assert done.returncode != 0
    assert "output_not_allowed" in done.stderr and "clip 'a'" in done.stderr
    assert not (tmp_path / "escaped").exists()


def test_export_refuses_chunks_of_temporal_jobs_and_unknown_jobs(tmp_path, env):
    edit = make_edit(tmp_path / "show", clips=(("a", "truck", 0),))
    done = moviola("farm", "export", edit, "--job", "depth", "--out", tmp_path / "b", "--chunk", "4")
    assert done.returncode != 0 and "--chunk" in done.stderr
    done = moviola("farm", "export", edit, "--job", "depth", "--param", "out=/tmp/x",
                   "--out", tmp_path / "b")
    assert done.returncode != 0 and "invalid_params" in done.stderr


def _clips(path: str) -> list[tuple]:
    timeline = otio.adapters.read_from_file(path)
    return [(c.name, c.range_in_parent(), c.source_range) for c in timeline.find_clips()]


def _episode(root: Path, seed: int) -> Path:
    from moviola.engine.samples import make_sample
    sample = make_sample(root / f"ep{seed}", width=160, height=90, seconds_per_shot=0.5,
                         name=f"ep{seed}", seed=seed)
    return sample.timeline_path


def test_shots_map_then_reduce_matches_a_direct_run(tmp_path, env):
    from moviola.engine.jobs.shots import ShotsJob
    edit = _episode(tmp_path / "show", 7)
    bundle = tmp_path / "bundle"
    done = moviola("farm", "export", edit, "--job", "shots", "--param", "backend=classical",
                   "--out", bundle, "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["tasks"] == 4   # the edit's four clips
    assert subprocess.run([OPENJD, "check", str(bundle / "template.yaml")]).returncode == 0
    out = tmp_path / "out"
    media = tmp_path / "show" / "ep7"   # the export's input root: the folder of the media
    run_all(bundle, media, out, env=env)
    gathered = moviola("farm", "gather", "--plan", _plan_file(bundle, tmp_path), "--input-root",
                       media, "--output-root", out, "--json", env=env)
    assert gathered.returncode == 0, gathered.stderr
    summary = json.loads(gathered.stdout)
    assert summary["result"]["cache"]["misses"] == 0   # the reduce only read what the tasks found
    job = ShotsJob()
    direct = job.run(job.validate({"input": str(edit), "out": str(tmp_path / "direct"),
                                   "backend": "classical", "cache": False}),
                     JobContext("direct", lambda body: None, threading.Event()))
    assert _clips(summary["otio"]) == _clips(direct["otio"]) and len(_clips(direct["otio"])) >= 4


def _plan_file(bundle: Path, tmp_path: Path) -> Path:
    text = yaml.safe_load((bundle / "template.yaml").read_text())["steps"][0]["script"][
        "embeddedFiles"][0]["data"]
    path = tmp_path / "plan.json"
    path.write_text(text)
    return path


def test_matchcuts_map_per_episode_then_pairs_across_episodes(tmp_path, env):
    from moviola.engine.jobs.matchcuts import MatchCutsJob
    episodes = [_episode(tmp_path / "show", seed) for seed in (7, 8)]
    bundle = tmp_path / "bundle"
    params = ["--param", "flavor=look", "--param", "backend=classical", "--param", "top=5"]
    done = moviola("farm", "export", *episodes, "--job", "matchcuts", *params, "--out", bundle, "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["tasks"] == 2   # one map task per episode
    assert subprocess.run([OPENJD, "check", str(bundle / "template.yaml")]).returncode == 0
    out = tmp_path / "out"
    run_all(bundle, tmp_path / "show", out, env=env)
    farm_pairs = json.loads((out / "matchcuts.json").read_text())["pairs"]
    job = MatchCutsJob()
    direct = job.run(job.validate({"inputs": [str(e) for e in episodes], "flavor": "look",
                                   "backend": "classical", "top": 5, "cache": False,
                                   "out": str(tmp_path / "direct")}),
                     JobContext("direct", lambda body: None, threading.Event()))
    # The same pairs, the same scores, the same shots (the media paths too: same input root).
    assert farm_pairs == json.loads(Path(direct["json"]).read_text())["pairs"] and farm_pairs
    # The pair search ran across both episodes: each got its marked timeline.
    assert sorted(p.name for p in out.glob("matchcuts.*.otio")) == [
        "matchcuts.ep7.otio", "matchcuts.ep8.otio", "matchcuts.review.otio"]


def _matte_edit(root: Path):
    """An edit of two clips, a (frames 0-7) and b (frames 6-13), of one rendered movie under
    ``root/media``; the edit file and the clip (with its exact masks)."""
    from matte_clips import render_matte_clip
    (root / "media").mkdir(parents=True)
    clip = render_matte_clip(root / "media" / "blob.mp4", width=160, height=120, frames=16)
    timeline = otio.schema.Timeline(name="edit")
    track = otio.schema.Track(name="V1")
    timeline.tracks.append(track)
    ref = otio.schema.ExternalReference(target_url=str(clip.path), available_range=otio.opentime.TimeRange(
        otio.opentime.RationalTime(0, 24), otio.opentime.RationalTime(16, 24)))
    for name, start in (("a", 0), ("b", 6)):
        shown = otio.opentime.TimeRange(otio.opentime.RationalTime(start, 24),
                                        otio.opentime.RationalTime(8, 24))
        track.append(otio.schema.Clip(name=name, media_reference=ref.clone(), source_range=shown))
    edit = root / "edit.otio"
    otio.adapters.write_to_file(timeline, str(edit))
    return edit, clip


def _direct_matte(edit: Path, clip: int, keyframes: list, out: Path) -> list[list[np.ndarray]]:
    from moviola.engine.jobs.matte import MatteJob
    job = MatteJob()
    result = job.run(job.validate({"input": str(edit), "clip": clip, "keyframes": keyframes,
                                   "backend": "classical", "format": "png", "out": str(out)}),
                     JobContext("direct", lambda body: None, threading.Event()))
    return frames_of(result["otio"])


def test_matte_runs_the_clips_its_prompts_name_and_matches_a_direct_run(tmp_path, env):
    edit, clip = _matte_edit(tmp_path / "show")
    keyframes = [{"frame": 6, "object": 1, **clip.clicks(6)}]
    prompts = tmp_path / "prompts.json"
    prompts.write_text(json.dumps({"b": {"keyframes": keyframes}}))
    bundle = tmp_path / "bundle"
    done = moviola("farm", "export", edit, "--job", "matte", "--prompts", prompts, "--param",
                   "backend=classical", "--param", "format=png", "--out", bundle, "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["tasks"] == 1          # only the clip with prompts
    assert "keyframes" in (bundle / "template.yaml").read_text()
    assert subprocess.run([OPENJD, "check", str(bundle / "template.yaml")]).returncode == 0
    out = tmp_path / "out"
    run_all(bundle, tmp_path / "show" / "media", out, env=env)
    farm_frames = frames_of(str(out / "edit.matte.otio"))
    direct_frames = _direct_matte(edit, 1, keyframes, tmp_path / "direct")
    assert len(farm_frames) == len(direct_frames) == 1 and len(farm_frames[0]) == 8
    for a, b in zip(farm_frames[0], direct_frames[0]):
        assert a is not None and a.size and np.array_equal(a, b)


def _png(alpha: np.ndarray) -> bytes:
    ok, data = cv2.imencode(".png", np.round(np.clip(alpha, 0, 1) * 255).astype(np.uint8))
    assert ok
    return data.tobytes()


def test_matte_mask_keyframes_travel_with_the_media_and_key_on_their_content(tmp_path, env):
    edit, clip = _matte_edit(tmp_path / "show")
    # b: a roto file beside the media, named relative to the prompts file; a: inline PNG bytes.
    roto = tmp_path / "show" / "roto" / "b.0006.png"
    roto.parent.mkdir()
    roto.write_bytes(_png(clip.masks[6]))
    inline = _png(clip.masks[2])
    prompts = tmp_path / "prompts.json"
    prompts.write_text(json.dumps({
        "a": {"keyframes": [{"frame": 2, "mask_png": {"$bin": base64.b64encode(inline).decode()}}]},
        "b": {"keyframes": [{"frame": 6, "mask": "show/roto/b.0006.png"}]}}))
    bundle = tmp_path / "bundle"
    export = ["farm", "export", edit, "--job", "matte", "--prompts", prompts, "--param",
              "backend=classical", "--param", "format=png", "--out", bundle, "--json"]
    done = moviola(*export)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    # The input root grew to hold the roto folder too; the inline mask is a bundle file.
    assert summary["tasks"] == 2 and summary["input_root"] == "../show"
    name = f"{hashlib.sha256(inline).hexdigest()}.png"
    assert summary["masks"] == [f"masks/{name}"] and (bundle / "masks" / name).read_bytes() == inline
    for doc in ("template.yaml", "parameter_values.yaml", "asset_references.yaml"):
        assert str(tmp_path) not in (bundle / doc).read_text(), f"{doc} names a path of this machine"
    plan = Plan.from_json(_plan_file(bundle, tmp_path).read_text())
    assert plan.per_clip["b"]["keyframes"][0]["mask"] == "roto/b.0006.png"
    assert plan.per_clip["a"]["keyframes"][0]["mask_png"] == name
    params = yaml.safe_load((bundle / "parameter_values.yaml").read_text())["parameterValues"]
    assert {"name": "MaskRoot", "value": "masks"} in params
    assert "masks" in yaml.safe_load((bundle / "asset_references.yaml").read_text())[
        "assetReferences"]["inputs"]["directories"]
    check = subprocess.run([OPENJD, "check", str(bundle / "template.yaml")], capture_output=True,
                           text=True, timeout=60)
    assert check.returncode == 0, check.stdout + check.stderr

    # The farm maps the input root (media and roto) and the bundle's masks somewhere else.
    moved, masks = tmp_path / "farm_in", tmp_path / "farm_masks"
    shutil.copytree(tmp_path / "show", moved)
    shutil.copytree(bundle / "masks", masks)
    out = tmp_path / "out"
    run_all(bundle, moved, out, "-p", f"MaskRoot={masks}", env=env)
    farm = frames_of(str(out / "edit.matte.otio"))
    direct = [_direct_matte(edit, 0, [{"frame": 2, "mask_png": inline}], tmp_path / "direct_a")[0],
              _direct_matte(edit, 1, [{"frame": 6, "mask": str(roto)}], tmp_path / "direct_b")[0]]
    assert len(farm) == 2
    for farm_clip, direct_clip in zip(farm, direct):
        assert len(farm_clip) == len(direct_clip) == 8
        for f, d in zip(farm_clip, direct_clip):
            np.testing.assert_array_equal(f, d)

    # Touching the roto changes nothing; editing it re-runs its clip's task only.
    farm_roto = moved / "roto" / "b.0006.png"
    os.utime(farm_roto, ns=(farm_roto.stat().st_atime_ns, farm_roto.stat().st_mtime_ns + 10**9))
    again = run_all(bundle, moved, out, "-p", f"MaskRoot={masks}", env=env)
    assert again.stdout.count("complete already; nothing done") == 2
    edited = clip.masks[6].copy()
    edited[:, : edited.shape[1] // 2] = 0          # the roto artist took the left half away
    farm_roto.write_bytes(_png(edited))
    third = run_all(bundle, moved, out, "-p", f"MaskRoot={masks}", env=env)
    assert "task 0 (a): complete already" in third.stdout and "task 1 (b): done" in third.stdout

    # A worker without the mask root, or with another file under the mask's name, refuses.
    plan_file = _plan_file(bundle, tmp_path)
    task = ["farm", "run-task", "--plan", plan_file, "--input-root", moved, "--output-root",
            tmp_path / "out2", "--task", "0"]
    missing = moviola(*task, env=env)
    assert missing.returncode != 0 and "--mask-root" in missing.stderr and "clip 'a'" in missing.stderr
    (masks / name).write_bytes(_png(clip.masks[3]))
    swapped = moviola(*task, "--mask-root", masks, env=env)
    assert swapped.returncode != 0 and "is not the mask the plan names" in swapped.stderr

    # A mask outside the input root the user gave is refused at export, by clip and keyframe.
    outside = moviola(*export, "--input-root", tmp_path / "show" / "media")
    assert outside.returncode != 0
    assert "clip 'b': keyframes[0]" in outside.stderr and "outside the input root" in outside.stderr


def _direct_depth(source: str, out: Path) -> list[list[np.ndarray]]:
    job = DepthJob()
    result = job.run(job.validate({"input": source, "out": str(out), **DEPTH}),
                     JobContext("direct", lambda body: None, threading.Event()))
    return frames_of(result["otio"])


def test_a_folder_of_clips_is_a_timeline_of_them_on_the_farm(tmp_path, env):
    # A movie and an image-sequence subfolder, each clip whole, in name order; a note is not a clip.
    reels = tmp_path / "reels"
    reels.mkdir()
    write_movie(make_scene("truck", FRAMES), reels / "a_truck.mp4")
    pattern = write_sequence(make_scene("dolly", FRAMES), reels / "b_dolly", name="dolly")
    (reels / "notes.txt").write_text("not a clip")
    assert check_input(str(reels)).kind == "folder"
    assert check_input(str(reels / "b_dolly")).kind == "sequence"   # one sequence keeps its meaning

    bundle = tmp_path / "bundle"
    summary = export(reels, bundle)
    assert summary["tasks"] == 2
    assert str(tmp_path) not in (bundle / "template.yaml").read_text()
    check = subprocess.run([OPENJD, "check", str(bundle / "template.yaml")], capture_output=True,
                           text=True, timeout=60)
    assert check.returncode == 0, check.stdout + check.stderr
    moved = tmp_path / "farm_in"
    shutil.copytree(reels, moved)
    out = tmp_path / "farm_out"
    run_all(bundle, moved, out, env=env)
    gathered = otio.adapters.read_from_file(str(out / "reels.depth.otio"))
    source_clips = gathered.video_tracks()[0].find_clips()
    assert [c.name for c in source_clips] == ["a_truck.mp4", "b_dolly"]
    assert [c.source_range.duration.to_frames() for c in source_clips] == [FRAMES, FRAMES]

    # Identical frames to each clip run directly, and to the folder run directly.
    farm_frames = frames_of(str(out / "reels.depth.otio"))
    each = [_direct_depth(str(reels / "a_truck.mp4"), tmp_path / "direct_a")[0],
            _direct_depth(pattern, tmp_path / "direct_b")[0]]
    whole = _direct_depth(str(reels), tmp_path / "direct_folder")
    assert len(farm_frames) == len(each) == len(whole) == 2
    for farm_clip, direct_clip, folder_clip in zip(farm_frames, each, whole):
        assert len(farm_clip) == len(direct_clip) == FRAMES
        for f, d, w in zip(farm_clip, direct_clip, folder_clip):
            np.testing.assert_array_equal(f, d)
            np.testing.assert_array_equal(w, d)
