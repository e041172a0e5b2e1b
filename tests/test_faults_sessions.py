"""Faults against a real engine process: paused and killed engines, stale discovery files,
inputs that could block a worker, jobs that ignore cancel, text that cannot travel."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from engine_harness import engine_env, start_engine_process, wait_gone
from moviola.plugin import errors, launch
from moviola.plugin.client import EngineClient
from moviola.plugin.discovery import Discovery, read_discovery, write_discovery

pytestmark = pytest.mark.skipif(os.name == "nt", reason="signals, FIFOs and flock are POSIX")

NOTICE_BOUND_S = 3.0


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    running = start_engine_process(tmp_path_factory.mktemp("faults") / "home")
    yield running
    running.stop()


def _later(delay_s: float, action) -> threading.Thread:
    thread = threading.Thread(target=lambda: (time.sleep(delay_s), action()), daemon=True)
    thread.start()
    return thread


# --- sessions survive reconnects -----------------------------------------------------------

def test_paused_engine_keeps_the_attached_job_of_a_client_that_reconnected(tmp_path):
    # The orphan timeout is shorter than the job runs after the pause: only traffic on the
    # client's *new* connection can keep the job alive, and it must count for the session.
    running = start_engine_process(tmp_path / "home", orphan_timeout_s="2")
    pid = running.process.pid
    try:
        with running.client(timeout=0.5, retries=1) as client:
            job = client.submit("sleep", {"steps": 50, "step_s": 0.1})
            os.kill(pid, signal.SIGSTOP)
            resumed = _later(2.5, lambda: os.kill(pid, signal.SIGCONT))
            result = job.wait(heartbeat_interval=0.3)
            resumed.join()
            assert result == {"steps": 50}
            assert client._generation >= 1  # the client did time out and reconnect
            assert client.job_status(job.job_id)["state"] == "succeeded"
    finally:
        os.kill(pid, signal.SIGCONT)
        running.stop()


def test_events_follow_the_session_to_its_new_connection(engine):
    with engine.client(timeout=5.0) as client:
        job = client.submit("sleep", {"steps": 20, "step_s": 0.05})
        client._reconnect()  # as after a timed-out request
        client.heartbeat()   # the engine now knows the session's new connection
        # The submit's own stream (not a re-watch) still gets the job's end.
        deadline = time.monotonic() + 10
        stream = client._events[job._stream_id]
        while not any(e.type == "result" for e in stream) and time.monotonic() < deadline:
            client._receive(0.2)
        assert any(e.type == "result" and e.body["state"] == "succeeded" for e in stream)


# --- dead engines are noticed fast -------------------------------------------------------

def test_killed_engine_is_a_typed_error_within_3_s(tmp_path):
    running = start_engine_process(tmp_path / "home")
    # A long request timeout: noticing must come from the liveness check, not from it.
    with running.client(timeout=30.0) as client:
        job = client.submit("sleep", {"steps": 1000, "step_s": 0.05})
        killed_at: list[float] = []
        _later(0.5, lambda: (os.kill(running.process.pid, signal.SIGKILL),
                             killed_at.append(time.monotonic())))
        # The engine stays an unreaped zombie child of this process: it must still count as gone.
        with pytest.raises(errors.EngineNotRunningError):
            job.wait()
        assert time.monotonic() - killed_at[0] < NOTICE_BOUND_S
    running.process.wait()


@pytest.fixture
def live_stranger():
    stranger = subprocess.Popen(["sleep", "60"])
    yield stranger
    stranger.kill()
    stranger.wait()


def _dead_pid() -> int:
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    return gone.pid


def _stale_record(home, case: str, stranger_pid: int) -> int:
    pid = {"dead_pid": _dead_pid(), "pid_of_another_process": stranger_pid,
           "closed_port": os.getpid()}[case]
    write_discovery(Discovery(endpoint="tcp://127.0.0.1:9", token="stale", pid=pid, version="0"),
                    home / "engine.json")
    return pid


@pytest.mark.parametrize("case", ["dead_pid", "pid_of_another_process", "closed_port"])
def test_stale_discovery_file_is_seen_as_no_engine_at_once(tmp_path, live_stranger, case):
    home = tmp_path / "home"
    _stale_record(home, case, live_stranger.pid)
    t0 = time.monotonic()
    with pytest.raises(errors.EngineNotRunningError):
        EngineClient.connect(autostart=False, timeout=30.0, discovery_file=home / "engine.json")
    assert time.monotonic() - t0 < NOTICE_BOUND_S


def test_stale_discovery_file_delays_a_new_engine_under_3_s(tmp_path, monkeypatch, live_stranger):
    home = tmp_path / "home"
    for key, value in engine_env(home).items():
        monkeypatch.setenv(key, value)
    stale_pid = _stale_record(home, "pid_of_another_process", live_stranger.pid)
    # What the stale file costs is the wait before a new engine is launched; the engine's
    # own start-up (imports) is the same with or without it.
    spawned: list[float] = []
    real_spawn = launch._spawn
    monkeypatch.setattr(launch, "_spawn", lambda log: (spawned.append(time.monotonic()),
                                                       real_spawn(log))[1])
    t0 = time.monotonic()
    with EngineClient.connect(timeout=30.0) as client:
        info = client.hello()
        assert info["pid"] != stale_pid
        assert read_discovery(home / "engine.json").pid == info["pid"]
        client.shutdown()
    assert wait_gone(info["pid"])
    assert len(spawned) == 1 and spawned[0] - t0 < NOTICE_BOUND_S


# --- inputs that could block a worker ----------------------------------------------------

def test_fifo_input_is_refused_fast_and_the_engine_keeps_working(engine, tmp_path):
    fifo = tmp_path / "x.mp4"
    os.mkfifo(fifo)
    with engine.client(timeout=5.0) as client:
        t0 = time.monotonic()
        with pytest.raises(errors.MediaDecodeError) as caught:
            client.submit("probe", {"input": str(fifo)})
        assert time.monotonic() - t0 < 2.0
        assert caught.value.path == str(fifo) and "FIFO" in caught.value.message
        assert caught.value.detail["file_type"] == "fifo"
        assert client.hello()["pid"] == engine.process.pid
        assert client.submit("sleep", {"steps": 2, "step_s": 0.01}).wait() == {"steps": 2}


@pytest.mark.parametrize("make", ["device", "folder_named_timeline", "fifo_frame_in_sequence"])
def test_other_inputs_that_are_not_files_are_refused(engine, tmp_path, make):
    if make == "device":
        path = "/dev/zero"
        link = tmp_path / "zero.mov"
        link.symlink_to(path)  # a link to a device is still a device
        path = str(link)
    elif make == "folder_named_timeline":
        path = str(tmp_path / "cut.otio")
        os.mkdir(path)
    else:
        os.mkfifo(tmp_path / "shot.1001.exr")
        path = str(tmp_path / "shot.%04d.exr")
    with engine.client(timeout=5.0) as client:
        job = None
        try:
            job = client.submit("probe", {"input": path})
            job.wait(idle_timeout=10.0)
        except errors.MediaDecodeError as exc:
            assert exc.path and exc.detail.get("file_type") in ("character_device", "directory", "fifo")
        else:  # pragma: no cover - the job must fail
            pytest.fail(f"{make} was read as an input")
        assert client.hello()["jobs_active"] == 0


# --- shutdown is bounded, and one engine at a time ---------------------------------------

def test_shutdown_with_a_job_that_ignores_cancel_ends_the_process(tmp_path):
    grace = 1.0
    running = start_engine_process(tmp_path / "home", shutdown_grace_s=str(grace), max_jobs="1")
    with running.client(timeout=5.0) as client:
        job = client.submit("stuck", {}, detach=True)
        deadline = time.monotonic() + 10
        while client.job_status(job.job_id)["state"] != "running" and time.monotonic() < deadline:
            time.sleep(0.05)
        t0 = time.monotonic()
        reply = client.shutdown(wait=True, timeout=grace + 10)
        assert reply["stopped"] is True and reply["abandoned_jobs"] == [job.job_id]
    assert running.process.wait(timeout=grace + 10) == 0
    assert time.monotonic() - t0 < grace + 5
    assert not (tmp_path / "home" / "engine.json").exists()


def test_no_second_engine_while_the_first_is_still_exiting(tmp_path):
    home = tmp_path / "home"
    grace = 3.0
    running = start_engine_process(home, shutdown_grace_s=str(grace), max_jobs="1")
    with running.client(timeout=5.0) as client:
        job = client.submit("stuck", {}, detach=True)
        while client.job_status(job.job_id)["state"] != "running":
            time.sleep(0.05)
        assert client.shutdown(wait=False)["stopping"] is True
        t0 = time.monotonic()
    # While the first engine waits out its grace period it still holds the lock.
    second = subprocess.run([sys.executable, "-m", "moviola.engine", "--quiet"],
                            env=engine_env(home), capture_output=True, text=True, timeout=30)
    assert second.returncode == 3, second.stderr
    assert running.process.poll() is None, "the first engine ended before the check"
    assert running.process.wait(timeout=grace + 10) == 0
    assert time.monotonic() - t0 < grace + 5


def test_launcher_waits_for_a_lock_holder_that_published_nothing(tmp_path, monkeypatch):
    # An engine that holds the lock without a discovery file is starting or exiting: a client
    # must wait for it, never start a second engine beside it.
    home = tmp_path / "home"
    for key, value in engine_env(home).items():
        monkeypatch.setenv(key, value)
    running = start_engine_process(home)
    (home / "engine.json").unlink()
    outcome: dict = {}

    def launch_one():
        try:
            outcome["found"] = launch.start_engine(timeout=60)
            outcome["old_ended"] = running.process.poll() is not None
        except Exception as exc:  # pragma: no cover - reported below
            outcome["error"] = exc

    launcher = threading.Thread(target=launch_one)
    launcher.start()
    time.sleep(1.5)
    assert launcher.is_alive() and "found" not in outcome  # still waiting on the lock
    with running.client(timeout=5.0) as client:
        client.shutdown(wait=True)
    launcher.join(60)
    assert "error" not in outcome, outcome.get("error")
    assert outcome["found"].pid != running.process.pid and outcome["old_ended"]
    with EngineClient.from_discovery(outcome["found"], timeout=30.0) as client:
        client.shutdown()
    assert wait_gone(outcome["found"].pid)


# --- text that cannot travel ---------------------------------------------------------------

def test_lone_surrogate_in_a_path_is_a_typed_error_naming_the_field(engine):
    bad = os.fsdecode(b"/shots/caf\xe9.mov")  # a Latin-1 file name seen through UTF-8
    with engine.client(timeout=5.0) as client:
        with pytest.raises(errors.InvalidParamsError) as caught:
            client.submit("probe", {"input": bad})
        assert caught.value.detail == {"param": "input"} and "input" in str(caught.value)
        with pytest.raises(errors.InvalidRequestError) as caught:
            client.job_status(bad)
        assert caught.value.detail == {"field": "job_id"}
        assert client.hello()["pid"] == engine.process.pid  # the client is still usable
