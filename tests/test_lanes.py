"""The engine's inside: an interactive lane beside the batch pool, a server thread that only
routes (checks run on an admission pool), and devices found before the engine announces itself.
"""

from __future__ import annotations

import statistics
import threading
import time
from pathlib import Path

import pytest

from engine_harness import start_engine_process
from moviola.engine.jobs.frame import FrameJob
from moviola.engine.jobs.matte import MatteJob, MattePreviewJob
from moviola.engine.jobs.probe import ProbeJob
from moviola.engine.lanes import BATCH, INTERACTIVE, InteractiveGate, lane_of
from moviola.plugin import errors
from synthetic import write_video

CLIP_FRAMES = 48


@pytest.fixture(scope="module")
def lane_engine(tmp_path_factory: pytest.TempPathFactory):
    """An engine of its own with the default two batch workers, so two jobs fill that lane."""
    running = start_engine_process(tmp_path_factory.mktemp("lanes-home"), max_jobs="2")
    yield running
    running.stop()


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_video(tmp_path_factory.mktemp("lanes-media") / "clip.mp4", CLIP_FRAMES,
                       size=(960, 540), gop=24)


def fetch_times(client, clip: Path, count: int, first: int = 0) -> list[float]:
    """Seconds per ``frame`` round trip (submit, wait for the PNG), over scattered frames."""
    times = []
    for i in range(count):
        t0 = time.perf_counter()
        result = client.submit("frame", {"input": str(clip), "max_width": 640,
                                         "frame": (first + 7 * i) % CLIP_FRAMES}).wait()
        times.append(time.perf_counter() - t0)
        assert result["png"][:4] == b"\x89PNG"
    return times


# --- lanes: which kinds are interactive, and how batch workers yield ------------------------------

def test_kinds_declare_their_lane():
    assert {lane_of(k) for k in (FrameJob, MattePreviewJob, ProbeJob)} == {INTERACTIVE}
    assert lane_of(MatteJob) == BATCH

    class Odd:
        NAME, LANE = "odd", "express"
    assert lane_of(Odd) == BATCH  # an unknown lane is logged and runs as batch


def test_batch_waits_while_interactive_work_is_pending_and_not_longer():
    gate = InteractiveGate(max_wait_s=5.0)
    t0 = time.perf_counter()
    gate.yield_to_interactive()
    assert time.perf_counter() - t0 < 0.5  # nothing pending: no wait

    gate.enter()
    threading.Timer(0.2, gate.leave).start()
    t0 = time.perf_counter()
    gate.yield_to_interactive()
    waited = time.perf_counter() - t0
    assert 0.15 < waited < 4.0  # released by the leave, not by the timeout
    assert gate.pending == 0


def test_batch_never_waits_longer_than_the_bound():
    gate = InteractiveGate(max_wait_s=0.1)
    gate.enter()  # an interactive job that never ends
    t0 = time.perf_counter()
    gate.yield_to_interactive()
    assert 0.05 < time.perf_counter() - t0 < 2.0


# --- against a real engine ---------------------------------------------------------------------

def test_first_hello_answers_at_once(tmp_path):
    """Devices and backend tables are found before the discovery file exists."""
    running = start_engine_process(tmp_path / "home")
    try:
        with running.client(timeout=10.0) as client:
            t0 = time.perf_counter()
            caps = client.hello()
            first = time.perf_counter() - t0
        assert first < 0.5, f"first hello took {first:.3f} s"
        assert caps["devices"][0]["type"] == "cpu"
        assert caps["limits"]["interactive_jobs"] == 2
    finally:
        running.stop()


def test_frame_fetch_stays_quick_behind_two_cpu_busy_batch_jobs(lane_engine, clip):
    with lane_engine.client(timeout=60.0) as client:
        fetch_times(client, clip, 3)  # open the reader, warm the caches
        idle = statistics.median(fetch_times(client, clip, 8))
        batch = [client.submit("spin", {"steps": 100_000, "step_s": 0.01}, detach=True)
                 for _ in range(2)]
        try:
            busy_times = fetch_times(client, clip, 8, first=3)
            # Both batch jobs still run: the fetches did not wait for a batch worker.
            assert {client.job_status(j.job_id)["state"] for j in batch} == {"running"}
        finally:
            for job in batch:
                job.cancel()
    busy = statistics.median(busy_times)
    # The goal is 3x idle + 50 ms (the benchmark prints the real ratio); the margin is for a
    # shared, noisy machine.
    assert busy < 3 * idle + 0.05 + 0.25, f"idle {idle:.3f} s, behind two batch jobs {busy:.3f} s"


def test_max_jobs_still_bounds_the_batch_lane(lane_engine, clip):
    with lane_engine.client(timeout=60.0) as client:
        batch = [client.submit("spin", {"steps": 100_000, "step_s": 0.01}, detach=True)
                 for _ in range(3)]
        try:
            fetch_times(client, clip, 1)  # the interactive lane is free all the same
            states = sorted(client.job_status(j.job_id)["state"] for j in batch)
            assert states == ["queued", "running", "running"]
        finally:
            for job in batch:
                job.cancel()


def test_a_slow_check_does_not_hold_up_the_server(lane_engine):
    """check() runs on an admission thread: hello answers meanwhile, and the check's typed
    error is still the submit's answer (no job is accepted)."""
    with lane_engine.client(timeout=30.0) as client, lane_engine.client(timeout=30.0) as other:
        outcome: dict = {}

        def submit() -> None:
            try:
                client.submit("slow_check", {"check_s": 1.5, "refuse": True})
            except errors.MoviolaError as exc:
                outcome["error"] = exc

        thread = threading.Thread(target=submit)
        thread.start()
        time.sleep(0.3)  # the check is running now
        t0 = time.perf_counter()
        other.hello()
        during = time.perf_counter() - t0
        thread.join(30)
        assert during < 0.5, f"hello took {during:.3f} s during a check"
        assert isinstance(outcome.get("error"), errors.InvalidParamsError)
        assert not [j for j in other.list_jobs() if j["kind"] == "slow_check"]
        assert client.submit("slow_check", {"check_s": 0.0}).wait() == {"checked": True}


def test_hello_names_each_kinds_lane_and_admission_honours_a_kinds_own_prepare(client):
    from moviola.plugin import errors

    lanes = {k["name"]: k["lane"] for k in client.hello()["job_kinds"]}
    assert lanes["frame"] == lanes["matte_preview"] == "interactive" and lanes["depth"] == "batch"
    with pytest.raises(errors.InvalidParamsError, match="must not be 'no'"):
        client.submit("strict", {"word": "no"})
    assert client.submit("strict", {"word": "fine"}).wait()["word"] == "fine"
