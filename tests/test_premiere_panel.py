"""The Premiere panel's JavaScript tests (host_bridges/premiere/test), run by Node's own test
runner from here so that the README's single test command covers them: the manifest against
its documented schema, and the panel's logic against a stand-in ``premierepro`` module
talking to a real engine's WebSocket gateway (started by the tests from this Python)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

PANEL = Path(__file__).resolve().parent.parent / "host_bridges" / "premiere"


def _node() -> str:
    node = shutil.which("node")
    if node is None:
        pytest.fail("Node.js 20 or later is needed for the Premiere panel's tests (node --test); "
                    ".ci/run checks for it")
    version = subprocess.run([node, "--version"], capture_output=True, text=True, check=True).stdout
    major = int(re.match(r"v(\d+)", version.strip()).group(1))  # type: ignore[union-attr]
    if major < 20:
        pytest.fail(f"Node.js {version.strip()} is too old for the Premiere panel's tests: 20 or later")
    return node


def _websocket_flag(node: str) -> list[str]:
    """Node 20 puts its global WebSocket behind a flag; 22 has it on."""
    probe = subprocess.run([node, "-e", "process.exit(typeof WebSocket === 'function' ? 0 : 1)"])
    return [] if probe.returncode == 0 else ["--experimental-websocket"]


SUITES = ["manifest.test.js", "logic.test.js", "panel.test.js", "matte_file.test.js"]


@pytest.mark.parametrize("suite", SUITES)
def test_premiere_panel(suite: str) -> None:
    node = _node()
    env = dict(os.environ, MOVIOLA_TEST_PYTHON=sys.executable)
    run = subprocess.run([node, *_websocket_flag(node), "--test", f"test/{suite}"], cwd=PANEL, env=env,
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, f"node --test {suite} failed:\n{run.stdout[-6000:]}\n{run.stderr[-3000:]}"
    assert re.search(r"^# fail 0$", run.stdout, re.M), run.stdout[-3000:]
