"""Shared fixtures: a real engine process per test session, real ZeroMQ, real files."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from engine_harness import RunningEngine, start_engine_process  # noqa: E402

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture(scope="session")
def engine(tmp_path_factory: pytest.TempPathFactory) -> RunningEngine:
    """One engine for the session, isolated in its own Moviola folder."""
    home = tmp_path_factory.mktemp("moviola-home")
    running = start_engine_process(home, orphan_timeout_s="4", max_jobs="3")
    previous = os.environ.get("MOVIOLA_HOME")
    os.environ["MOVIOLA_HOME"] = str(home)  # clients in this process find this engine
    yield running
    running.stop()
    if previous is None:
        os.environ.pop("MOVIOLA_HOME", None)
    else:
        os.environ["MOVIOLA_HOME"] = previous


@pytest.fixture
def client(engine: RunningEngine):
    with engine.client(timeout=10.0) as c:
        yield c
