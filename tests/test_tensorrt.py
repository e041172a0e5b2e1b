"""The shared TensorRT path (engine/models/tensorrt.py) with TensorRT replaced: the engine
cache's key, rebuilding stale, foreign and damaged engines, and the builder's use of the
TensorRT API checked against a stand-in shaped like TensorRT 11 (no weak typing)."""

from __future__ import annotations

import json
import sys
import types
from dataclasses import replace
from pathlib import Path

import pytest

from fake_tensorrt import GPU, FakeTensorRT
from moviola.engine.models import tensorrt
from moviola.engine.models.tensorrt import EngineSpec, ShapeRange, TrtBuilder

torch = pytest.importorskip("torch")

SPEC = EngineSpec(model="toy", weights_sha256="ab" * 32, precision="float32",
                  shapes=ShapeRange.batch_up_to((1, 3, 8, 8), 4), input_name="pixel_values",
                  output_names=("out",))


def toy_module():
    torch.manual_seed(0)
    return torch.nn.Conv2d(3, 2, 3, padding=1).eval()


def run(cache, spec=SPEC):
    example = torch.zeros(spec.shapes.opt)
    return cache.runner(spec, toy_module, example)


def test_an_engine_is_built_once_then_loaded_by_another_process(tmp_path):
    fake = FakeTensorRT()
    first = run(fake.cache(tmp_path))
    x = torch.randn(2, 3, 8, 8)
    (out,) = first(x)
    assert torch.allclose(out, toy_module()(x))
    assert len(fake.built) == 1 and fake.exported == [((4, 3, 8, 8), "float32")]
    run(fake.cache(tmp_path))                      # a second engine, same machine
    assert len(fake.built) == 1 and len(fake.loaded) == 2
    engine, record = fake.cache(tmp_path).paths(SPEC)
    assert engine.parent == tmp_path / "toy" and list(tmp_path.rglob("*.onnx")) == []
    written = json.loads(record.read_text())
    assert written["gpu"] == GPU.gpu and written["capability"] == GPU.capability
    assert written["tensorrt"] == GPU.tensorrt and written["precision"] == "float32"
    assert written["shapes"] == {"min": [1, 3, 8, 8], "opt": [4, 3, 8, 8], "max": [4, 3, 8, 8]}
    assert written["weights_sha256"] == SPEC.weights_sha256 and len(written["engine_sha256"]) == 64


@pytest.mark.parametrize("change", [
    {"target": replace(GPU, gpu="Other GPU")},
    {"target": replace(GPU, capability="8.6")},      # same name, another architecture
    {"target": replace(GPU, tensorrt="10.13.0")},
    {"spec": replace(SPEC, weights_sha256="cd" * 32)},
    {"spec": replace(SPEC, precision="float16")},
    {"spec": replace(SPEC, shapes=ShapeRange.batch_up_to((1, 3, 8, 16), 4))},
    {"spec": replace(SPEC, shapes=ShapeRange.fixed((1, 3, 8, 8)))},
    {"spec": replace(SPEC, model="toy2")},
    {"spec": replace(SPEC, export_version=2)},
], ids=["gpu", "capability", "tensorrt", "weights", "precision", "size", "shape-range", "model",
        "export"])
def test_everything_an_engine_depends_on_is_in_its_key(tmp_path, change):
    fake = FakeTensorRT()
    base = fake.cache(tmp_path)
    other = fake.cache(tmp_path, change.get("target"))
    spec = change.get("spec", SPEC)
    assert base.key(SPEC) != other.key(spec)
    run(base)
    run(other, spec)
    assert len(fake.built) == 2


def test_a_stale_or_foreign_engine_is_rebuilt_never_loaded(tmp_path):
    fake = FakeTensorRT()
    cache = fake.cache(tmp_path)
    run(cache)
    engine, record = cache.paths(SPEC)
    # Foreign: an engine from elsewhere under this key's name (its record says another GPU).
    written = json.loads(record.read_text())
    record.write_text(json.dumps({**written, "gpu": "Somebody else's GPU"}))
    engine.write_bytes(b"built on another machine")
    run(fake.cache(tmp_path))
    assert len(fake.built) == 2 and engine.read_bytes().startswith(b"engine ")
    # Damaged: the bytes no longer match the record's hash.
    engine.write_bytes(engine.read_bytes()[:-3])
    run(fake.cache(tmp_path))
    assert len(fake.built) == 3
    # No record (a crash between the engine and its record): rebuilt too.
    record.unlink()
    run(fake.cache(tmp_path))
    assert len(fake.built) == 4
    # Unreadable record.
    record.write_text("{not json")
    run(fake.cache(tmp_path))
    assert len(fake.built) == 5
    assert fake.loaded.count(engine.name) == 5    # only ever the freshly built engine


def test_an_engine_the_runtime_refuses_is_rebuilt(tmp_path):
    fake = FakeTensorRT()
    run(fake.cache(tmp_path))
    refusals = []

    class Refusing(FakeTensorRT):
        def load(self, engine_path, spec):
            if not refusals:
                refusals.append(engine_path.name)
                raise RuntimeError("TensorRT cannot load it")
            return fake.load(engine_path, spec)

    cache = fake.cache(tmp_path)
    cache.runtime = Refusing()
    run(cache)
    assert refusals and len(fake.built) == 2


def test_precision_names_and_shape_ranges():
    assert tensorrt.precision_name(torch.float16) == "float16"
    with pytest.raises(ValueError, match="precision"):
        replace(SPEC, precision="fp16")
    assert SPEC.shapes.dynamic_axes() == [0] and ShapeRange.fixed((1, 3, 4, 4)).dynamic_axes() == []
    assert SPEC.shapes.holds((3, 3, 8, 8)) and not SPEC.shapes.holds((5, 3, 8, 8))


@pytest.mark.parametrize("found, why", [
    ({"tensorrt": False, "torch": True, "cuda": True}, "tensorrt package is not installed"),
    ({"tensorrt": True, "torch": True, "cuda": False}, "needs a CUDA GPU"),
    ({"tensorrt": True, "torch": True, "cuda": True}, ""),
])
def test_available_says_why_not(monkeypatch, found, why):
    from moviola.engine import devices
    monkeypatch.setattr(devices, "backends", lambda: {"classical": True, "opencl": False, **found})
    ok, reason = tensorrt.available()
    assert ok == (why == "") and why in reason


class _Flags:
    STRONGLY_TYPED = 3


def fake_trt_module(version: str, calls: list) -> types.ModuleType:
    """Just enough of the tensorrt module's shape for TrtBuilder; like TensorRT 11, it has no
    weak-typing builder flags (BuilderFlag.FP16 raises AttributeError)."""
    trt = types.ModuleType("tensorrt")
    trt.__version__ = version
    trt.NetworkDefinitionCreationFlag = _Flags
    trt.BuilderFlag = types.SimpleNamespace()            # FP16, BF16... are gone

    class Logger:
        WARNING = 2

        def __init__(self, level):
            pass

    class Profile:
        def set_shape(self, name, lo, opt, hi):
            calls.append(("profile", name, tuple(lo), tuple(opt), tuple(hi)))

    class Config:
        def add_optimization_profile(self, profile):
            calls.append(("add_profile",))

        def set_flag(self, flag):
            calls.append(("set_flag", flag))

    class Builder:
        def __init__(self, logger):
            pass

        def create_network(self, flags):
            calls.append(("network", flags))
            return object()

        def create_builder_config(self):
            return Config()

        def create_optimization_profile(self):
            return Profile()

        def build_serialized_network(self, network, config):
            return b"serialised"

    class OnnxParser:
        num_errors = 0

        def __init__(self, network, logger):
            pass

        def parse(self, data):
            calls.append(("parse", data))
            return True

    trt.Logger, trt.Builder, trt.OnnxParser = Logger, Builder, OnnxParser
    return trt


@pytest.mark.parametrize("version", ["10.13.0", "11.4.0"])
def test_the_builder_makes_a_strongly_typed_network_with_the_shape_profile(tmp_path, monkeypatch,
                                                                          version):
    calls: list = []
    monkeypatch.setitem(sys.modules, "tensorrt", fake_trt_module(version, calls))
    onnx_path = tmp_path / "m.onnx"
    onnx_path.write_bytes(b"graph")
    spec = replace(SPEC, precision="float16")   # precision comes from the graph, not a flag
    TrtBuilder().build(onnx_path, tmp_path / "m.engine", spec)
    assert ("network", 1 << _Flags.STRONGLY_TYPED) in calls
    assert ("profile", "pixel_values", (1, 3, 8, 8), (4, 3, 8, 8), (4, 3, 8, 8)) in calls
    assert not [c for c in calls if c[0] == "set_flag"]
    assert Path(tmp_path / "m.engine").read_bytes() == b"serialised"
