"""Ctrl-C on a command that waits for its job: the engine's job is cancelled at once (not
left to the engine's silent-client timeout, a minute here), the command exits 130 with one
line, and the output folder keeps no part of the cancelled run. A second Ctrl-C while the
cancel is awaited exits at once. Real engine, the real ``moviola`` command in a subprocess,
a real SIGINT."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from depth_scenes import make_scene
from engine_harness import engine_env, start_engine_process
from matte_clips import render_matte_clip
from moviola.plugin.temp_names import TEMP_NAME

# The test job kinds have no command of their own: this runs ``moviola`` (cli.main.main) with
# one more subcommand that runs a test kind through the shared run_job, as every command does.
WITH_TEST_KIND = textwrap.dedent("""
    import argparse, json, sys
    from moviola.cli import main as cli
    from moviola.cli.jobs_cmd import run_job

    build = cli.build_parser

    def with_test_kind():
        parser = build()
        sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        test = sub.add_parser("test-job")
        test.add_argument("kind")
        test.add_argument("params")
        test.add_argument("--json", action="store_true")
        test.set_defaults(func=lambda a: run_job(a, a.kind, json.loads(a.params), print) and 0)
        return parser

    cli.build_parser = with_test_kind
    sys.exit(cli.main(sys.argv[1:]))
""")


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    """An engine that would cancel a silent client's jobs only after a minute (the default)."""
    running = start_engine_process(tmp_path_factory.mktemp("cancel-home"), orphan_timeout_s="60",
                                   max_jobs="3")
    running.cli_env = engine_env(running.home)
    yield running
    running.stop()


def start(engine, *args: str, test_kind: bool = False) -> subprocess.Popen:
    command = ["-c", WITH_TEST_KIND] if test_kind else ["-m", "moviola.cli"]
    return subprocess.Popen([sys.executable, *command, "--no-autostart", *args],
                            env=engine.cli_env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def interrupt_after_first_progress(process: subprocess.Popen, label: str) -> list[str]:
    """Read stderr up to the first progress line of ``label``, then send SIGINT; the lines
    read. The job is running then: it sent progress and the command has not exited."""
    assert process.stderr is not None
    seen = []
    for line in process.stderr:
        seen.append(line)
        if line.startswith(label):
            process.send_signal(signal.SIGINT)
            return seen
    raise AssertionError(f"no progress line before the command ended: {''.join(seen)}")


def job_of(client, kind: str) -> dict:
    jobs = [j for j in client.list_jobs() if j["kind"] == kind]
    assert jobs, f"no {kind} job on the engine"
    return max(jobs, key=lambda j: j["created"])


def visible_files(folder: Path) -> dict[str, int]:
    """Every file under ``folder`` outside hidden entries, with its modification time."""
    return {str(p.relative_to(folder)): p.stat().st_mtime_ns for p in folder.rglob("*")
            if p.is_file() and not any(part.startswith(".") for part in p.relative_to(folder).parts)}


def temp_entries(folder: Path) -> list[Path]:
    """Staging folders and temp files anywhere under ``folder`` (a run's unfinished writes)."""
    return [p for p in folder.rglob("*") if TEMP_NAME.match(p.name)]


def test_ctrl_c_cancels_the_job_on_the_engine_and_exits_130(engine):
    process = start(engine, "test-job", "sleep", '{"steps": 600, "step_s": 0.1}', test_kind=True)
    interrupt_after_first_progress(process, "sleep")
    interrupted = time.monotonic()
    _, stderr = process.communicate(timeout=30)
    exited = time.monotonic() - interrupted
    with engine.client(timeout=10.0) as client:
        job = job_of(client, "sleep")
    assert process.returncode == 130, stderr
    assert stderr.strip().splitlines()[-1] == f"moviola: cancelled job {job['job_id']} (sleep)"
    # Cancelled by the command, well before the job's 60 s or the engine's minute of silence.
    assert job["state"] == "cancelled" and job["error"]["code"] == "cancelled"
    assert job["progress"]["done"] < 100 and exited < 10, (job["progress"], exited)


def test_a_second_ctrl_c_stops_waiting_for_a_job_that_ignores_the_cancel(engine):
    # ``stuck`` never looks at the cancel flag: the first Ctrl-C would wait CANCEL_WAIT_S for it.
    process = start(engine, "test-job", "stuck", '{"seconds": 20}', test_kind=True)
    interrupt_after_first_progress(process, "stuck")
    time.sleep(2.0)                      # the command has asked for the cancel and waits
    assert process.poll() is None
    process.send_signal(signal.SIGINT)
    second = time.monotonic()
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == 130, stderr
    assert time.monotonic() - second < 5      # not the 10 s wait
    with engine.client(timeout=10.0) as client:
        job = job_of(client, "stuck")
    assert stderr.strip().splitlines()[-1] == (f"moviola: cancel requested for job {job['job_id']} "
                                               "(stuck); not waiting for it to stop")


@pytest.fixture(scope="module")
def long_clip(tmp_path_factory) -> Path:
    """A truck back and forth, long enough that no job on it ends before the test's Ctrl-C
    (24 rendered frames played forwards and backwards: rendering is the slow part)."""
    import av

    scene = make_scene("truck", 24)
    images = [scene.image(i) for i in range(len(scene))]
    order = [i % 23 if (i // 23) % 2 == 0 else 23 - i % 23 for i in range(240)]
    path = tmp_path_factory.mktemp("clip") / "truck.mp4"
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("libx264", rate=24)
        stream.width, stream.height, stream.pix_fmt = scene.camera.width, scene.camera.height, "yuv420p"
        for pts, i in enumerate(order):
            frame = av.VideoFrame.from_ndarray(images[i], format="rgb24")
            frame.pts = pts
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
    return path


def test_ctrl_c_on_depth_leaves_the_previous_result_as_it_was(engine, long_clip, tmp_path):
    out = tmp_path / "depth"
    first = subprocess.run([sys.executable, "-m", "moviola.cli", "--no-autostart", "depth",
                            str(long_clip), "--out", str(out), "--backend", "parallax",
                            "--format", "png16", "--range", "0-7"],
                           env=engine.cli_env, capture_output=True, text=True, timeout=300)
    assert first.returncode == 0, first.stderr
    before = visible_files(out)
    assert sum(name.endswith(".png") for name in before) == 8

    process = start(engine, "depth", str(long_clip), "--out", str(out), "--backend", "parallax",
                    "--format", "png16")
    interrupt_after_first_progress(process, "depth")
    _, stderr = process.communicate(timeout=60)
    with engine.client(timeout=10.0) as client:
        job = job_of(client, "depth")
    assert process.returncode == 130, stderr
    assert stderr.strip().splitlines()[-1] == f"moviola: cancelled job {job['job_id']} (depth)"
    assert job["state"] == "cancelled" and job["error"]["code"] == "cancelled"
    # The cancelled run left nothing: the first run's files, untouched, and no staging.
    assert visible_files(out) == before and temp_entries(out) == []


def test_ctrl_c_on_matte_with_json_prints_the_cancel_as_the_error(engine, tmp_path):
    clip = render_matte_clip(tmp_path / "blob.mp4", width=160, height=120, frames=240)
    out = tmp_path / "matte"
    clicks = clip.clicks(0)["include"][0]
    process = start(engine, "matte", str(clip.path), "--frame", "0", "--include",
                    f"{clicks[0]},{clicks[1]}", "--backend", "classical", "--format", "png",
                    "--out", str(out), "--json")
    # --json draws no progress: interrupt once the engine reports the job's progress.
    deadline = time.monotonic() + 120
    with engine.client(timeout=10.0) as client:
        while time.monotonic() < deadline and process.poll() is None:
            running = [j for j in client.list_jobs(include_finished=False)
                       if j["kind"] == "matte" and (j.get("progress") or {}).get("done", 0) > 0]
            if running:
                break
            time.sleep(0.1)
        assert running, "the matte job never reported progress"
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=60)
        job = client.job_status(running[0]["job_id"])
    assert process.returncode == 130, stderr
    error = json.loads(stdout)["error"]
    assert error["code"] == "cancelled" and error["detail"]["job_id"] == job["job_id"]
    assert error["detail"]["state"] == "cancelled" and job["state"] == "cancelled"
    assert stderr.strip().splitlines()[-1] == f"moviola: cancelled job {job['job_id']} (matte)"
    assert visible_files(out) == {} and temp_entries(out) == []
