"""The neural path on CPU with a tiny random Depth Anything checkpoint, saved and loaded
through the same code as real weights: the weights store, checksums, backend choice, the
metric variant, and the TensorRT path with its builder replaced by a fake."""

from __future__ import annotations

import json

import numpy as np
import pytest

from depth_scenes import make_scene, tiny_depth_anything
from fake_tensorrt import FakeTensorRT
from moviola.engine.depth import backends
from moviola.engine.imaging.display import at_size
from moviola.engine.models.registry import ModelRegistry
from moviola.engine.models.store import WeightsError, WeightsStore
from moviola.engine.models.tensorrt import available as trt_available
from moviola.plugin import errors

pytest.importorskip("transformers")
SMALL = "depth-anything-v2-small"


@pytest.fixture
def store(tmp_path):
    store = WeightsStore(tmp_path / "weights")
    tiny_depth_anything(store.root / SMALL)
    return store


def frames(backend, count=3):
    scene = make_scene("truck", 20)
    shape = backend.working_shape(160, 120)
    return [(1001 + i, at_size(scene.image(i), shape)) for i in range(count)]


def test_auto_picks_the_installed_model_else_parallax(tmp_path, store):
    registry = ModelRegistry.default()
    assert backends.resolve("auto", WeightsStore(tmp_path / "empty"), registry) == "parallax"
    assert backends.resolve("auto", store, registry) == SMALL
    with pytest.raises(errors.InvalidParamsError, match="cannot run here"):
        backends.resolve("depth-anything-v2-base", store, registry)  # opt-in, not installed
    with pytest.raises(errors.InvalidParamsError, match="unknown depth backend"):
        backends.resolve("midas", store, registry)
    listed = {b["name"]: b for b in backends.available(store, registry)}
    assert listed["depth-anything-v2-base"]["opt_in"] and not listed[SMALL]["opt_in"]


def test_tiny_model_predicts_through_the_store(store):
    registry = ModelRegistry.default()
    backend = backends.create(SMALL, backends.BackendOptions(working_size=70), store, registry)
    assert backend.working_shape(160, 120) == (98, 70)     # multiples of the 14-pixel patch
    assert backend.working_shape(1920, 1080) == (126, 70)
    predictions = list(backend.predict(frames(backend)))
    assert [p.frame for p in predictions] == [1001, 1002, 1003]
    assert all(p.values.shape == (70, 98) and p.values.dtype == np.float32 for p in predictions)
    assert backend.affine_invariant and backend.output == "inverse_depth" and not backend.metric
    described = backend.describe()
    assert described["weights_sha256"] == store.verify(registry.get(SMALL))["model.safetensors"]
    assert described["device"] == "cpu" and described["precision"] == "fp32"


def test_tampered_weights_are_refused_before_loading(store):
    registry = ModelRegistry.default()
    spec = registry.get(SMALL)
    backends.create(SMALL, backends.BackendOptions(), store, registry)
    store.install(spec, spec.weights[0], str(store.path(spec, spec.weights[0])))  # pin its hash
    weights = store.path(spec, spec.weights[0])
    weights.write_bytes(weights.read_bytes()[:-8] + b"tampered")
    with pytest.raises(WeightsError, match="checksum"):
        backends.create(SMALL, backends.BackendOptions(), store, registry)


def test_a_metric_checkpoint_predicts_depth(tmp_path):
    store = WeightsStore(tmp_path / "weights")
    tiny_depth_anything(store.root / SMALL, metric=True)
    registry = ModelRegistry.default()
    assert backends.is_metric(SMALL, store, registry)
    backend = backends.create(SMALL, backends.BackendOptions(working_size=42), store, registry)
    assert backend.metric and backend.output == "depth" and not backend.affine_invariant
    (prediction,) = list(backend.predict(frames(backend, 1)))
    assert prediction.values.min() >= 0.0 and prediction.values.max() <= 20.0  # sigmoid * max_depth


def test_a_checkpoint_of_another_kind_is_refused(tmp_path):
    store = WeightsStore(tmp_path / "weights")
    folder = tiny_depth_anything(store.root / SMALL)
    config = json.loads((folder / "config.json").read_text())
    config["model_type"] = "dpt"
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(errors.InvalidParamsError, match="not a Depth Anything"):
        backends.create(SMALL, backends.BackendOptions(), store, ModelRegistry.default())


def test_tensorrt_engines_are_built_once_per_size_and_cached(store, tmp_path):
    registry = ModelRegistry.default()
    fake = FakeTensorRT()
    options = backends.BackendOptions(working_size=70, runtime="tensorrt",
                                      engines=fake.cache(tmp_path / "trt"))
    trt = backends.create(SMALL, options, store, registry)
    got = list(trt.predict(frames(trt)))
    assert len(fake.built) == 1 and fake.runs == 3
    name, spec = fake.built[0]
    # CPU: batch 1, float32 graph; one engine per working size whatever the batch.
    assert fake.exported == [((1, 3, 70, 98), "float32")]
    assert spec.precision == "float32" and spec.shapes.min == spec.shapes.max == (1, 3, 70, 98)
    assert spec.weights_sha256 == store.verify(registry.get(SMALL))["model.safetensors"]
    assert (tmp_path / "trt" / SMALL / name).is_file()
    again = backends.create(SMALL, backends.BackendOptions(
        working_size=70, runtime="tensorrt", engines=fake.cache(tmp_path / "trt")), store, registry)
    list(again.predict(frames(again)))
    assert len(fake.built) == 1 and len(fake.loaded) == 2  # the cached engine was loaded
    plain = backends.create(SMALL, backends.BackendOptions(working_size=70), store, registry)
    for a, b in zip(got, plain.predict(frames(plain))):
        assert np.allclose(a.values, b.values, rtol=1e-4, atol=1e-6)


def test_tensorrt_runtime_says_why_it_cannot_run_here(store):
    if trt_available()[0]:
        pytest.skip("TensorRT and a CUDA GPU are present")
    options = backends.BackendOptions(runtime="tensorrt")
    with pytest.raises(errors.InvalidParamsError, match="runtime 'tensorrt' cannot run here"):
        backends.create(SMALL, options, store, ModelRegistry.default())
