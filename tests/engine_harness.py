"""Start and stop real engine processes for tests, each in its own Moviola folder."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from moviola.plugin.client import EngineClient
from moviola.plugin.discovery import Discovery, process_alive, read_discovery

TESTS_DIR = Path(__file__).resolve().parent


def engine_env(home: Path, **settings: str) -> dict[str, str]:
    env = dict(os.environ)
    env["MOVIOLA_HOME"] = str(home)
    env["MOVIOLA_JOB_PLUGINS"] = ("testjobs:SleepJob,testjobs:CrashJob,testjobs:StuckJob,"
                                  "testjobs:SpinJob,testjobs:UnsendableJob,testjobs:SlowCheckJob,"
                                  "testjobs:StrictJob")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(TESTS_DIR), env.get("PYTHONPATH")]))
    env["MOVIOLA_PYTHON"] = sys.executable
    for key, value in settings.items():
        env[f"MOVIOLA_{key.upper()}"] = str(value)
    return env


@dataclass
class RunningEngine:
    home: Path
    process: subprocess.Popen
    discovery: Discovery

    def client(self, **kwargs) -> EngineClient:
        return EngineClient.from_discovery(self.discovery, **kwargs)

    def stop(self) -> None:
        if self.process.poll() is None:
            try:
                with self.client(timeout=5.0) as client:
                    client.shutdown(wait=True, timeout=10.0)
            except Exception:
                pass
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_engine_process(home: Path, timeout: float = 30.0, preexec_fn=None,
                         **settings: str) -> RunningEngine:
    """``preexec_fn`` runs in the engine's child before it starts (e.g. a resource limit)."""
    home.mkdir(parents=True, exist_ok=True)
    env = engine_env(home, **settings)
    process = subprocess.Popen([sys.executable, "-m", "moviola.engine", "--quiet"], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               preexec_fn=preexec_fn)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = read_discovery(home / "engine.json")
        if found is not None and found.pid == process.pid:
            return RunningEngine(home, process, found)
        if process.poll() is not None:
            raise RuntimeError(f"engine exited: {process.stderr.read().decode(errors='replace')}")
        time.sleep(0.05)
    process.kill()
    raise RuntimeError("engine did not publish its discovery file in time")


def _exited(pid: int) -> bool:
    try:  # an engine this process launched lingers as a zombie until reaped
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return True
    except ChildProcessError:
        pass
    return not process_alive(pid)


def wait_gone(pid: int, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _exited(pid):
            return True
        time.sleep(0.05)
    return False
