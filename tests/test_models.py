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


def safetensors_bytes(tag: str) -> bytes:
    """A minimal valid safetensors file: an 8-byte header length, then a JSON header."""
    header = json.dumps({"__metadata__": {"tag": tag}}).encode()
    return len(header).to_bytes(8, "little") + header


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
    weights = tmp_path / "w.safetensors"
    weights.write_bytes(safetensors_bytes("v1"))
    store = WeightsStore(tmp_path / "store")
    spec = spec_with()
    assert not store.installed(spec)
    with pytest.raises(WeightsError, match="not installed"):
        store.verify(spec)
    path = store.install(spec, spec.weights[0], str(weights))
    assert path.read_bytes() == safetensors_bytes("v1") and store.installed(spec)
    pinned = hashlib.sha256(safetensors_bytes("v1")).hexdigest()
    assert store.verify(spec) == {"model.safetensors": pinned}
    path.write_bytes(b"tampered")
    with pytest.raises(WeightsError, match="checksum"):
        store.verify(spec)


def test_install_refuses_a_wrong_file_and_leaves_nothing(tmp_path):
    weights = tmp_path / "w.safetensors"
    weights.write_bytes(safetensors_bytes("something else"))
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


def test_builtin_downloads_are_pinned_to_a_commit_and_a_checksum():
    """Every built-in file with a download URL names a commit (never a branch) and a SHA-256."""
    import re

    from moviola.engine.models.registry import BUILTIN_MODELS

    urls = [f for spec in BUILTIN_MODELS for f in spec.weights if f.url]
    assert urls, "at least one built-in model is downloadable"
    for file in urls:
        assert re.search(r"/resolve/[0-9a-f]{40}/", file.url), file.url
        assert file.sha256 and re.fullmatch(r"[0-9a-f]{64}", file.sha256), file
    small = next(s for s in BUILTIN_MODELS if s.name == "depth-anything-v2-small")
    assert all(f.sha256 for f in small.weights)


def test_a_pinned_file_refuses_other_bytes_and_says_where_to_get_it(tmp_path):
    from moviola.engine.models.registry import BUILTIN_MODELS

    spec = next(s for s in BUILTIN_MODELS if s.name == "depth-anything-v2-small")
    fake = tmp_path / "model.safetensors"
    fake.write_bytes(safetensors_bytes("not the published file"))
    store = WeightsStore(tmp_path / "store")
    with pytest.raises(WeightsError, match="registry pins this file.*resolve/5426e4f0"):
        store.install(spec, spec.weights[0], str(fake))
    with pytest.raises(WeightsError, match="cannot override"):
        store.install(spec, spec.weights[0], str(fake), sha256="a" * 64)
    assert not store.installed(spec)


@pytest.mark.parametrize("source, message", [
    ("/proc/self/environ", "not a weight file|not a .safetensors file"),
    ("/etc/hostname", "not a .safetensors file"),
    ("relative/model.safetensors", "must be absolute"),
    ("file:///etc/hostname", "only over https"),
    ("http://example.org/model.safetensors", "only over https"),
    ("https://127.0.0.1/model.safetensors", "local or private address"),
    ("https://[::1]/model.safetensors", "local or private address"),
    ("https://10.1.2.3/model.safetensors", "local or private address"),
])
def test_install_takes_only_weight_files_and_public_https(tmp_path, source, message):
    store = WeightsStore(tmp_path / "store")
    spec = spec_with(sha="0" * 64)
    with pytest.raises(WeightsError, match=message):
        store.install(spec, spec.weights[0], source)


def test_install_refuses_special_files_and_content_of_another_kind(tmp_path):
    import os

    store = WeightsStore(tmp_path / "store")
    spec = spec_with()
    fifo = tmp_path / "model.safetensors"
    os.mkfifo(fifo)  # opening it would block the worker forever
    with pytest.raises(WeightsError, match="not a regular file"):
        store.install(spec, spec.weights[0], str(fifo))
    text = tmp_path / "notes.safetensors"
    text.write_text("password=hunter2")
    with pytest.raises(WeightsError, match="not a safetensors file"):
        store.install(spec, spec.weights[0], str(text))
    assert not store.installed(spec)


def test_a_download_needs_a_checksum_first(tmp_path):
    store = WeightsStore(tmp_path / "store")
    spec = spec_with()
    with pytest.raises(WeightsError, match="--sha256"):
        store.install(spec, spec.weights[0], "https://93.184.215.14/model.safetensors")


def test_after_a_wrong_first_file_the_right_one_installs_with_sha256(tmp_path):
    store = WeightsStore(tmp_path / "store")
    spec = spec_with()
    wrong, right = tmp_path / "wrong.safetensors", tmp_path / "right.safetensors"
    wrong.write_bytes(safetensors_bytes("wrong"))
    right.write_bytes(safetensors_bytes("right"))
    store.install(spec, spec.weights[0], str(wrong))          # pinned on first install
    right_sha = hashlib.sha256(right.read_bytes()).hexdigest()
    with pytest.raises(WeightsError, match=f"--sha256 {right_sha}"):
        store.install(spec, spec.weights[0], str(right))
    store.install(spec, spec.weights[0], str(right), sha256=right_sha)
    assert store.verify(spec) == {"model.safetensors": right_sha}
