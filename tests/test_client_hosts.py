"""The client side runs inside hosts: Python 3.9+, pyzmq + msgpack + OTIO only, no GPU stack."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from host_pythons import HEAVY, ROOT, need_python39, oldest_python


def test_plugin_imports_nothing_heavy():
    code = ("import sys, moviola.plugin, moviola.plugin.timeline, moviola.plugin.results; "
            "print(sorted({m.split('.')[0] for m in sys.modules}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = set(json.loads(out.stdout.replace("'", '"')))
    assert not (loaded & HEAVY), loaded & HEAVY
    assert "moviola" in loaded


CLIENT_SCRIPT = r'''
import json, sys
from moviola.plugin import EngineClient, errors
from moviola.plugin import timeline, results  # OTIO helpers must load on this Python too
assert sys.version_info[:2] == (3, 9), sys.version
out = {}
with EngineClient.connect(autostart=False, timeout=5.0, client_name="py39-test") as client:
    out["version"] = client.hello()["engine_version"]
    job = client.submit("sleep", {"steps": 4, "step_s": 0.02})
    out["events"] = [e.type for e in job.events()]
    out["result"] = job.result()
    try:
        client.submit("sleep", {"steps": "x"})
    except errors.InvalidParamsError as exc:
        out["error"] = exc.code
    slow = client.submit("sleep", {"steps": 500, "step_s": 0.02})
    slow.cancel()
    try:
        slow.wait()
    except errors.JobCancelledError:
        out["cancelled"] = True
print(json.dumps(out))
'''


def test_client_on_python39(engine, tmp_path):
    python = need_python39(oldest_python())
    # Stage the client exactly as an installer would put it on a host's path: moviola/plugin.
    (tmp_path / "moviola").mkdir()
    (tmp_path / "moviola" / "plugin").symlink_to(ROOT / "plugin")
    env = {**os.environ, "PYTHONPATH": str(tmp_path), "MOVIOLA_HOME": str(engine.home)}
    done = subprocess.run([python, "-c", CLIENT_SCRIPT], env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["events"][-1] == "result" and out["result"] == {"steps": 4}
    assert out["error"] == "invalid_params" and out["cancelled"] is True
