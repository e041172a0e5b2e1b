"""What a job gets from the engine and from its own check: the engine's view through its
context, and one resolved input that travels from check to run (each input probed once)."""

from __future__ import annotations

import re
import threading
from collections import Counter

import av
import cv2
import pytest

from matte_clips import render_matte_clip
from moviola.engine import inputs as inputs_module
from moviola.engine.config import Settings
from moviola.engine.engine_view import EngineView
from moviola.engine.jobs.base import JobContext, Prepared
from moviola.engine.jobs.matte import MatteJob
from moviola.engine.media import probe as probe_module
from moviola.engine.media import sequence as sequence_module
from moviola.engine.media import source as source_module
from moviola.engine.media import video as video_module
from moviola.engine.models.registry import ModelRegistry
from moviola.plugin import errors


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    return render_matte_clip(tmp_path_factory.mktemp("ctx") / "plate.mp4", width=128,
                             height=96, frames=8)


@pytest.fixture
def view():
    return EngineView(Settings(), ModelRegistry())


@pytest.fixture
def counted(monkeypatch):
    """Counts, per path, every probe (a video's container probe, a sequence's file scan) and
    every sequence-or-movie test, wherever they are called from."""
    calls = {"probe": Counter(), "sequence_test": Counter()}

    def counting(kind, fn):
        def wrapper(path, *args, **kwargs):
            calls[kind][str(path)] += 1
            return fn(path, *args, **kwargs)
        return wrapper

    probe_container = counting("probe", probe_module.probe_container)
    monkeypatch.setattr(probe_module, "probe_container", probe_container)
    monkeypatch.setattr(video_module, "probe_container", probe_container)
    monkeypatch.setattr(sequence_module, "parse_sequence",
                        counting("probe", sequence_module.parse_sequence))
    test = counting("sequence_test", sequence_module.looks_like_sequence)
    for module in (sequence_module, probe_module, source_module, inputs_module):
        monkeypatch.setattr(module, "looks_like_sequence", test)
    return calls


def run_matte(view, raw):
    job = MatteJob()
    params, prepared = job.prepare(raw, view)
    ctx = JobContext("test", lambda body: None, threading.Event(), engine=view, prepared=prepared)
    return prepared, job.run(params, ctx)


def test_a_matte_job_probes_its_movie_once(clip, view, counted, tmp_path):
    raw = {"input": str(clip.path), "out": str(tmp_path / "out"), "backend": "classical",
           "keyframes": [{"frame": 0, "object": 1, **clip.clicks(0)}]}
    prepared, result = run_matte(view, raw)
    assert isinstance(prepared, Prepared) and prepared.input.kind == "video"
    assert prepared.out == str(tmp_path / "out")
    assert result["frames"] == list(range(8))
    assert dict(counted["probe"]) == {str(clip.path): 1}
    assert dict(counted["sequence_test"]) == {str(clip.path): 1}


def test_a_matte_job_probes_its_sequence_once(clip, view, counted, tmp_path):
    seq = tmp_path / "plates"
    seq.mkdir()
    with av.open(str(clip.path)) as container:
        for i, frame in enumerate(container.decode(video=0)):
            cv2.imwrite(str(seq / f"plate.{1001 + i:04d}.png"), frame.to_ndarray(format="bgr24"))
    counted["probe"].clear()
    counted["sequence_test"].clear()
    pattern = str(seq / "plate.%04d.png")
    raw = {"input": pattern, "out": str(tmp_path / "out"), "backend": "classical",
           "keyframes": [{"frame": 1001, "object": 1, **clip.clicks(0)}]}
    prepared, result = run_matte(view, raw)
    assert prepared.input.kind == "sequence"
    assert result["frames"] == list(range(1001, 1009))
    assert dict(counted["probe"]) == {pattern: 1}
    assert dict(counted["sequence_test"]) == {pattern: 1}


def test_check_uses_the_engine_view_and_reads_no_config(clip, tmp_path, monkeypatch):
    """The output default comes from the view's settings; nothing reads the config again."""
    import moviola.engine.config as config

    def no_reread(*args, **kwargs):
        raise AssertionError("settings were read again")

    monkeypatch.setattr(config, "load_settings", no_reread)
    monkeypatch.setattr(ModelRegistry, "default", classmethod(lambda cls: no_reread()))
    view = EngineView(Settings(output_dir=str(tmp_path / "renders")), ModelRegistry())
    raw = {"input": str(clip.path), "backend": "classical",
           "keyframes": [{"frame": 0, "object": 1, **clip.clicks(0)}]}
    prepared, result = run_matte(view, raw)
    assert prepared.out == str(tmp_path / "renders" / "plate")
    assert result["files"][0].startswith(str(tmp_path / "renders" / "plate"))


def test_without_an_engine_view_no_model_is_known(view):
    """A place given no store knows no models: only weight-free backends can run there."""
    from moviola.engine.matte.backend import backend_status, create_backend
    status = backend_status()
    assert status["classical"]["available"]
    assert not status["sam2"]["available"]
    assert create_backend("auto", where=view).NAME == "classical"


@pytest.mark.parametrize("param, value, words", [
    ("working_size", 16, "working_size must be 0 (full size) or 32..8192"),
    ("writers", 0, "writers must be 1..16"),
    ("range", [5, 2], "first <= last"),
])
def test_bounds_are_declared_once_and_name_the_parameter(clip, view, tmp_path, param, value, words):
    raw = {"input": str(clip.path), "out": str(tmp_path), "keyframes": [], param: value}
    with pytest.raises(errors.InvalidParamsError, match=re.escape(words)) as caught:
        MatteJob().prepare(raw, view)
    assert caught.value.detail["param"] == param


def test_checks_import_no_neural_stack(clip, tmp_path):
    """check() runs before queuing: it must not import torch or transformers."""
    import subprocess
    import sys
    code = f"""
import sys
from moviola.engine.config import Settings
from moviola.engine.engine_view import EngineView
from moviola.engine.jobs.registry import JobRegistry
from moviola.engine.models.registry import ModelRegistry
view = EngineView(Settings(), ModelRegistry.default())
kinds = JobRegistry.default()
before = {{m for m in ("torch", "transformers") if m in sys.modules}}
for name, raw in (("matte", {{"input": {str(clip.path)!r}, "out": {str(tmp_path / "m")!r},
                              "keyframes": [{{"frame": 0, "object": 1, "include": [[5, 5]]}}]}}),
                  ("depth", {{"input": {str(clip.path)!r}, "out": {str(tmp_path / "d")!r}}}),
                  ("matte_preview", {{"input": {str(clip.path)!r}, "frame": 0, "include": [[5, 5]]}})):
    kinds.get(name).prepare(raw, view)
after = {{m for m in ("torch", "transformers") if m in sys.modules}}
print(sorted(after - before))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
