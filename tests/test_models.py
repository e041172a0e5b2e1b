"""The model registry and the weights store: checksums, licences, installs through the engine."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys

import pytest

from engine_harness import engine_env
from moviola.engine.models.registry import ModelRegistry, ModelSpec, WeightFile
from moviola.engine.models.store import WeightsError, WeightsStore
from moviola.plugin import errors


def spec_with(sha=None):
    return ModelSpec(name="tiny", task="depth", backends=("torch",),
                     weights=(WeightFile("model.safetensors", sha256=sha),), license="MIT",
                     commercial_use=True)


def test_builtin_registry_marks_licences():
    registry = ModelRegistry.default()
    depth = {s.name for s in registry.for_task("depth")}
    assert "depth-anything-v2-small" in depth
    assert "depth-anything-v2-base" not in depth  # non-commercial: opt-in only
    assert registry.get("depth-anything-v2-base").opt_in
    assert "depth-anything-v2-base" in {s.name for s in registry.for_task("depth", include_opt_in=True)}
    with pytest.raises(errors.InvalidParamsError, match="unknown model"):
        registry.get("nope")


def test_install_verifies_checksum_and_pins_it(tmp_path):
    weights = tmp_path / "w.bin"
    weights.write_bytes(b"weights-v1")
    store = WeightsStore(tmp_path / "store")
    spec = spec_with()
    assert not store.installed(spec)
    with pytest.raises(WeightsError, match="not installed"):
        store.verify(spec)
    path = store.install(spec, spec.weights[0], str(weights))
    assert path.read_bytes() == b"weights-v1" and store.installed(spec)
    pinned = hashlib.sha256(b"weights-v1").hexdigest()
    assert store.verify(spec) == {"model.safetensors": pinned}
    path.write_bytes(b"tampered")
    with pytest.raises(WeightsError, match="checksum"):
        store.verify(spec)


def test_install_refuses_a_wrong_file_and_leaves_nothing(tmp_path):
    weights = tmp_path / "w.bin"
    weights.write_bytes(b"something else")
    store = WeightsStore(tmp_path / "store")
    spec = spec_with(sha="0" * 64)
    with pytest.raises(WeightsError):
        store.install(spec, spec.weights[0], str(weights))
    assert not any(p.is_file() for p in (tmp_path / "store").rglob("*"))


def test_models_json_path_adds_models(tmp_path, monkeypatch):
    listing = tmp_path / "models.json"
    listing.write_text(json.dumps([{"name": "studio-depth", "task": "depth", "backends": ["torch"],
                                    "weights": [{"name": "m.safetensors"}], "license": "proprietary",
                                    "commercial_use": True}]))
    monkeypatch.setenv("MOVIOLA_MODELS_PATH", str(listing))
    assert ModelRegistry.default().get("studio-depth").weights[0].name == "m.safetensors"


def test_engine_lists_models_and_installs_through_a_job(engine, client, tmp_path):
    models = {m["name"]: m for m in client.hello()["models"]}
    assert models["sam2.1-hiera-tiny"]["license"] == "Apache-2.0"
    assert models["transnetv2"]["installed"] is True  # bundled in its package
    weights = tmp_path / "config.json"
    weights.write_text("{}")
    done = subprocess.run([sys.executable, "-m", "moviola.cli", "models", "install", "sam2.1-hiera-tiny",
                           "--file", "config.json", "--from", str(weights), "--json"],
                          env=engine_env(engine.home), capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["sha256"] == hashlib.sha256(b"{}").hexdigest()
    assert result["path"].startswith(str(engine.home))
    with pytest.raises(errors.InvalidParamsError, match="nothing to install"):
        client.submit("install_model", {"model": "transnetv2", "source": str(weights)})
