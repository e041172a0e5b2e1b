"""The panel on a host's Qt: PySide2 on Python 3.10, as in Nuke 15 (Nuke 14 is 3.9 + PySide2).

The widget imports Qt only through qtpy; this runs it for real on PySide2 against the session
engine, with the client side staged as an installer would put it on a host's path.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

SCRIPT = r'''
import json, sys, time
from qtpy import API_NAME, QtWidgets
app = QtWidgets.QApplication([])
from moviola.ui.panel import MoviolaPanel
panel = MoviolaPanel(autostart=False, poll_ms=200)
panel.resize(1280, 720)
panel.show()
deadline = time.monotonic() + 20
while panel.status.connected is not True and time.monotonic() < deadline:
    app.processEvents()
    time.sleep(0.02)
out = {"api": API_NAME, "python": list(sys.version_info[:2]), "connected": panel.status.connected,
       "text": panel.status.text.text()}
panel.close()
print(json.dumps(out))
'''


def host_python() -> str | None:
    for candidate in (os.environ.get("MOVIOLA_TEST_PYSIDE2_PYTHON"), ROOT / ".venv310" / "bin" / "python"):
        if candidate and Path(candidate).exists():
            return str(candidate)
    return None


def test_panel_runs_on_pyside2(engine, tmp_path):
    python = host_python()
    if python is None:
        if os.environ.get("CI"):
            pytest.fail("CI must provide Python 3.10 with PySide2, qtpy and the client's dependencies "
                        "(.venv310)")
        pytest.skip("no Python 3.10 with PySide2 here; .ci/run creates .venv310")
    (tmp_path / "moviola").mkdir()
    for part in ("plugin", "ui"):
        (tmp_path / "moviola" / part).symlink_to(ROOT / part)
    env = {**os.environ, "PYTHONPATH": str(tmp_path), "MOVIOLA_HOME": str(engine.home),
           "QT_API": "pyside2", "QT_QPA_PLATFORM": "offscreen"}
    done = subprocess.run([python, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["api"] == "PySide2" and out["python"] == [3, 10]
    assert out["connected"] is True, out["text"]
