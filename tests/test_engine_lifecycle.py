"""Starting, finding, stopping engines; clients that never hang; settings."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from engine_harness import engine_env, start_engine_process, wait_gone
from moviola.plugin import errors
from moviola.plugin.client import EngineClient
from moviola.plugin.discovery import Discovery, engine_lock_held, read_discovery, write_discovery


def cli(home, *args, timeout=60):
    return subprocess.run([sys.executable, "-m", "moviola.cli", *args], env=engine_env(home),
                          capture_output=True, text=True, timeout=timeout)


def test_shutdown_stops_the_engine_and_removes_discovery(tmp_path):
    running = start_engine_process(tmp_path / "home")
    with running.client() as client:
        job = client.submit("sleep", {"steps": 1000, "step_s": 0.05}, detach=True)
        assert client.shutdown(wait=True)["stopped"] is True
    assert running.process.wait(timeout=10) == 0
    assert not (tmp_path / "home" / "engine.json").exists()
    assert job.job_id


def test_cli_engine_start_detach_status_stop(tmp_path):
    home = tmp_path / "home"
    started = cli(home, "engine", "start", "--detach")
    assert started.returncode == 0, started.stderr
    found = read_discovery(home / "engine.json")
    assert found is not None
    status = cli(home, "engine", "status", "--json")
    assert status.returncode == 0, status.stderr
    info = json.loads(status.stdout)
    assert info["pid"] == found.pid and info["engine_version"] and info["jobs"] == []
    human = cli(home, "engine", "status")
    assert "devices" in human.stdout and "log" in human.stdout
    again = cli(home, "engine", "start", "--detach")
    assert "already running" in again.stdout
    stopped = cli(home, "engine", "stop")
    assert stopped.returncode == 0 and "stopped" in stopped.stdout
    assert wait_gone(found.pid)
    assert cli(home, "engine", "stop").stdout.strip() == "no engine is running"


def test_status_without_engine_is_a_clear_error(tmp_path):
    result = cli(tmp_path / "home", "--no-autostart", "engine", "status")
    assert result.returncode == 3
    assert "engine_unreachable" in result.stderr and "moviola engine start" in result.stderr


def test_second_engine_for_same_user_refuses_to_start(tmp_path):
    running = start_engine_process(tmp_path / "home")
    try:
        second = subprocess.run([sys.executable, "-m", "moviola.engine", "--quiet"],
                                env=engine_env(tmp_path / "home"), capture_output=True, text=True,
                                timeout=30)
        assert second.returncode == 3 and "already running" in second.stderr
    finally:
        running.stop()


def test_clients_that_find_no_engine_start_exactly_one(tmp_path, monkeypatch):
    home = tmp_path / "home"
    for key, value in engine_env(home).items():
        monkeypatch.setenv(key, value)
    pids, failures = [], []

    def connect():
        try:
            with EngineClient.connect(timeout=5.0) as client:
                pids.append(client.hello()["pid"])
        except Exception as exc:  # pragma: no cover - reported below
            failures.append(exc)

    threads = [threading.Thread(target=connect) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not failures and len(pids) == 3 and len(set(pids)) == 1
    with EngineClient.connect(autostart=False) as client:
        client.shutdown()
    assert wait_gone(pids[0])
    # The engines the losing clients spawned were stopped: none takes the lock once the winner
    # has gone (one did, and served on after the test, before they were).
    deadline = time.monotonic() + 3.0
    while time.monotonic() < deadline:
        assert not engine_lock_held(home / "engine.lock"), "a second engine took over after shutdown"
        time.sleep(0.1)


def test_client_times_out_instead_of_hanging(tmp_path):
    with EngineClient("tcp://127.0.0.1:9", "token", timeout=0.3, retries=1) as client:
        t0 = time.monotonic()
        with pytest.raises(errors.EngineTimeoutError):
            client.hello()
        assert time.monotonic() - t0 < 2.0


def test_stale_discovery_file_means_no_engine(tmp_path):
    path = tmp_path / "engine.json"
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    write_discovery(Discovery(endpoint="tcp://127.0.0.1:9", token="x", pid=dead.pid, version="0"), path)
    with pytest.raises(errors.EngineNotRunningError):
        EngineClient.connect(autostart=False, discovery_file=path)


def test_waiting_client_notices_a_dead_engine(tmp_path):
    running = start_engine_process(tmp_path / "home")
    with running.client(timeout=1.0, retries=0) as client:
        job = client.submit("sleep", {"steps": 1000, "step_s": 0.05})
        time.sleep(0.3)
        os.kill(running.process.pid, signal.SIGKILL)
        running.process.wait()
        t0 = time.monotonic()
        with pytest.raises((errors.EngineNotRunningError, errors.EngineTimeoutError)):
            job.wait(heartbeat_interval=0.5)
        assert time.monotonic() - t0 < 5.0


def test_sigterm_stops_cleanly(tmp_path):
    running = start_engine_process(tmp_path / "home")
    running.process.send_signal(signal.SIGTERM)
    assert running.process.wait(timeout=10) == 0
    assert not (tmp_path / "home" / "engine.json").exists()
