"""Shared fixtures: a real engine process per test session, real ZeroMQ, real files."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from engine_harness import RunningEngine, start_engine_process  # noqa: E402

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def _unpin_builtin_models() -> None:
    """Let tests install tiny random models under the built-in names.

    Built-in weights are pinned to the published files' SHA-256, which a tiny model built in a
    test can never match. A model list in ``$MOVIOLA_MODELS_PATH`` (read by this process and
    every engine it starts) re-declares the pinned entries without their pins, the way a studio
    lists its own models. ``test_models.py`` checks the real pins without it.
    """
    import json
    import tempfile
    from dataclasses import asdict, replace

    from moviola.engine.models.registry import BUILTIN_MODELS

    unpinned = []
    for spec in BUILTIN_MODELS:
        if any(f.sha256 for f in spec.weights):
            entry = asdict(replace(spec, weights=tuple(
                replace(f, sha256=None, url=None) for f in spec.weights)))
            unpinned.append(entry)
    listing = Path(tempfile.mkdtemp(prefix="moviola-test-models-")) / "unpinned.json"
    listing.write_text(json.dumps(unpinned))
    os.environ["MOVIOLA_MODELS_PATH"] = str(listing)


_unpin_builtin_models()


def pytest_sessionstart(session: pytest.Session) -> None:
    from shared_data import MISSING_REASON, REQUIRED, SHARED_DATA

    if REQUIRED and not SHARED_DATA.is_dir():
        raise pytest.UsageError(f"MOVIOLA_REQUIRE_SHARED_DATA is set but {MISSING_REASON}")


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
