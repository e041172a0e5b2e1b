"""The SAM 2 backend on CPU with a tiny random model: saved with ``save_pretrained`` into a
weights store and loaded through the same code as the official checkpoints; the whole matte
job through it; bounded memory on long walks; the TensorRT path with TensorRT replaced by a fake."""

from __future__ import annotations

import hashlib
import json
import threading
from dataclasses import replace

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from fake_tensorrt import GPU, FakeTensorRT  # noqa: E402
from matte_clips import render_matte_clip  # noqa: E402
from moviola.engine.jobs.base import JobContext  # noqa: E402
from moviola.engine.jobs.matte import MatteJob  # noqa: E402
from moviola.engine.matte import sam2_model  # noqa: E402
from moviola.engine.matte.prompts import Prompts  # noqa: E402
from moviola.engine.matte.sam2 import Sam2Backend  # noqa: E402
from moviola.engine.matte.tensorrt import OUTPUTS, TensorRTAccelerator  # noqa: E402
from moviola.engine.models.registry import ModelRegistry, ModelSpec, WeightFile  # noqa: E402
from moviola.engine.models.store import WeightsError, WeightsStore  # noqa: E402
from sam2_tiny import tiny_config  # noqa: E402

MODEL = "sam2-test-tiny"


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """A weights store holding the tiny model, and a registry that lists it with the
    checksum of its weights, as the built-in entries list the official ones."""
    from transformers import Sam2VideoModel
    root = tmp_path_factory.mktemp("weights")
    torch.manual_seed(0)
    Sam2VideoModel(tiny_config()).save_pretrained(root / MODEL)
    sha = hashlib.sha256((root / MODEL / "model.safetensors").read_bytes()).hexdigest()
    spec = ModelSpec(name=MODEL, task="matte", backends=("torch", "tensorrt"),
                     weights=(WeightFile("model.safetensors", sha256=sha), WeightFile("config.json")),
                     license="Apache-2.0", commercial_use=True, input_size=(128, 128))
    listing = root / "models.json"  # what $MOVIOLA_MODELS_PATH adds to the engine's registry
    listing.write_text(json.dumps([{
        "name": MODEL, "task": "matte", "backends": ["torch", "tensorrt"], "license": "Apache-2.0",
        "commercial_use": True, "input_size": [128, 128],
        "weights": [{"name": "model.safetensors", "sha256": sha}, {"name": "config.json"}]}]))
    return WeightsStore(root), ModelRegistry([spec]), sha, listing


def backend(store, **kw):
    weights, registry, _, _ = store
    return Sam2Backend(working_size=160, model=MODEL, store=weights, registry=registry, **kw)


def image(seed=0, h=120, w=160):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 255, (h, w, 3), dtype=np.uint8)


def test_weights_load_through_the_store_with_their_checksum(store):
    b = backend(store)
    info = b.describe()
    assert info["model"] == MODEL and info["weights_sha256"] == store[2]
    assert info["device"] == "cpu" and info["dtype"] == "float32" and info["image_size"] == 128
    mask = b.segment(image(), Prompts(include=((80.0, 60.0),), box=(40.0, 30.0, 120.0, 90.0)))
    assert mask.shape == (120, 160) and mask.dtype == np.float32
    assert 0.0 <= mask.min() and mask.max() <= 1.0


def test_tampered_weights_are_refused(store, tmp_path):
    weights, registry, _, _ = store
    bad = WeightsStore(tmp_path)
    (tmp_path / MODEL).mkdir()
    for name in ("config.json", "model.safetensors"):
        (tmp_path / MODEL / name).write_bytes((weights.folder(registry.get(MODEL)) / name).read_bytes())
    with open(tmp_path / MODEL / "model.safetensors", "r+b") as fh:
        fh.seek(-8, 2)
        fh.write(b"\x00" * 8)
    with pytest.raises(WeightsError, match="checksum"):
        Sam2Backend(model=MODEL, store=bad, registry=registry)


def test_repeated_clicks_reuse_the_frame_features(store, monkeypatch):
    b = backend(store)
    calls = []
    original = b.loaded.model.get_image_features
    monkeypatch.setattr(b.loaded.model, "get_image_features",
                        lambda *a, **k: calls.append(1) or original(*a, **k))
    frame = image(1)
    state = b.frame_state(frame)
    first = b.segment(frame, Prompts(include=((50.0, 50.0),)), state=state)
    second = b.segment(frame, Prompts(include=((50.0, 50.0),), exclude=((100.0, 90.0),)), state=state)
    again = b.segment(frame, Prompts(include=((50.0, 50.0),)), state=state)
    assert len(calls) == 1                       # the encoder ran once for three prompts
    assert np.allclose(first, again) and not np.allclose(first, second)


def test_long_walks_hold_a_bounded_number_of_frames(store):
    b = backend(store)
    start = image(2)
    tracker = b.tracker(start, np.pad(np.ones((40, 40), np.float32), ((40, 40), (60, 60))))
    held = []
    for n in range(30):
        frame = image(3 + n)
        mask = tracker.step(frame, np.zeros((120, 160, 2), np.float32), np.zeros((120, 160), np.float32))
        assert mask.shape == (120, 160)
        held.append(tracker.frames_held())
    tracker.close()
    assert max(held) <= tracker.keep + 2 and held[-1] == held[10]


def test_matte_job_runs_through_sam2(store, tmp_path, monkeypatch):
    weights, _, sha, listing = store
    monkeypatch.setenv("MOVIOLA_WEIGHTS_DIR", str(weights.root))
    monkeypatch.setenv("MOVIOLA_MODELS_PATH", str(listing))
    clip = render_matte_clip(tmp_path / "clip.mp4", width=160, height=120, frames=8)
    job = MatteJob()
    params = job.validate({"input": str(clip.path), "out": str(tmp_path / "out"),
                           "keyframes": [{"frame": 3, **clip.clicks(3)}], "backend": "sam2",
                           "model": MODEL})
    ctx = JobContext("t", lambda body: None, threading.Event())
    result = job.run(params, ctx)
    assert result["frames"] == list(range(8)) and len(result["files"]) == 8
    assert result["computed_frames"] == 7 and result["backend"]["model"] == MODEL
    import opentimelineio as otio
    (clip_out,) = otio.adapters.read_from_file(result["otio"]).video_tracks()[1].find_clips()
    meta = clip_out.metadata["moviola"]
    assert meta["model"] == MODEL and meta["weights_sha256"] == sha
    again = job.run(params, ctx)
    assert again["computed_frames"] == 0   # the cache key holds the weights hash


def test_tensorrt_path_builds_once_per_gpu_and_size(store, tmp_path):
    plain = backend(store, accelerator=None)
    frame, prompts = image(4), Prompts(include=((70.0, 50.0),))
    expected = plain.segment(frame, prompts)
    from moviola.engine.matte import sam2_model
    fake = FakeTensorRT()
    # A separate model instance each time, so the shared one stays plain for the other tests.
    sam2_model._LOADED.clear()
    fast = backend(store, accelerator=TensorRTAccelerator(fake.cache(tmp_path)))
    assert len(fake.built) == 1 and fake.exported == [((1, 3, 128, 128), "float32")]
    name, spec = fake.built[0]
    assert spec.model == "sam2-vision" and spec.weights_sha256 == store[2]
    assert spec.precision == "float32" and spec.output_names == OUTPUTS
    assert fast.describe()["accelerator"] == {"kind": "tensorrt",
                                              "engine": str(tmp_path / "sam2-vision" / name)}
    assert np.allclose(fast.segment(frame, prompts), expected, atol=1e-5) and fake.runs == 1
    assert list(tmp_path.rglob("*.onnx")) == [] and len(list(tmp_path.rglob("*.engine"))) == 1
    # Another engine process on the same GPU: the cached engine is loaded, nothing is built.
    sam2_model._LOADED.clear()
    backend(store, accelerator=TensorRTAccelerator(fake.cache(tmp_path)))
    assert len(fake.built) == 1 and len(fake.loaded) == 2
    # Another GPU: a new engine.
    sam2_model._LOADED.clear()
    other = replace(GPU, gpu="Other GPU", capability="8.9")
    backend(store, accelerator=TensorRTAccelerator(fake.cache(tmp_path, other)))
    assert len(fake.built) == 2 and len(list(tmp_path.rglob("*.engine"))) == 2
    sam2_model._LOADED.clear()


def test_a_mask_keyframe_is_sams_mask_prompt_and_bounds_its_clicks(store, tmp_path, monkeypatch):
    import cv2

    from moviola.engine.matte import sam2
    weights, _, _, listing = store
    monkeypatch.setenv("MOVIOLA_WEIGHTS_DIR", str(weights.root))
    monkeypatch.setenv("MOVIOLA_MODELS_PATH", str(listing))
    clip = render_matte_clip(tmp_path / "clip.mp4", width=160, height=120, frames=6)
    roto = tmp_path / "roto.png"
    cv2.imwrite(str(roto), np.round(clip.mask(2) * 255).astype(np.uint8))
    starts = []
    monkeypatch.setattr(sam2, "mask_tensor", lambda m, loaded: starts.append(m) or
                        sam2_model.mask_tensor(m, loaded))
    job = MatteJob()
    params = job.validate({"input": str(clip.path), "out": str(tmp_path / "out"),
                           "keyframes": [{"frame": 2, "mask": str(roto)}], "backend": "sam2",
                           "model": MODEL, "working_size": 0, "format": "png"})
    result = job.run(params, JobContext("t", lambda body: None, threading.Event()))
    assert result["computed_frames"] == 5 and result["keyframes_computed"] == 1
    # both walks start from the given mask; its own frame is written as given
    assert len(starts) == 2 and all(np.abs(m - clip.mask(2)).max() <= 1 / 255 + 1e-6 for m in starts)
    written = cv2.imread(result["files"][2], cv2.IMREAD_UNCHANGED).astype(np.float32) / 65535
    assert np.abs(written - clip.mask(2)).max() <= 1 / 255 + 1e-3
    # clicks refining a mask: SAM 2 gets the mask's extent as their box
    seen = []
    monkeypatch.setattr(sam2, "points_tensor", lambda p, w, h, loaded: seen.append(p) or
                        sam2_model.points_tensor(p, w, h, loaded))
    mask = np.zeros((120, 160), np.float32)
    mask[30:60, 40:90] = 1.0
    backend(store).segment(image(4), Prompts(exclude=((60.0, 45.0),)), previous=mask)
    x0, y0, x1, y1 = seen[-1].box
    assert 30 < x0 < 40 and 20 < y0 < 30 and 90 < x1 < 100 and 60 < y1 < 70
