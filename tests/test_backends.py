"""One backend registry for every task (engine/backends.py): what can run here and why not,
what ``auto`` means, the typed errors of a bad choice, ``engine status`` showing it, and no
import cycle between the capability packages."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from moviola.engine import backends
from moviola.engine.backends import Where
from moviola.engine.depth import backends as depth_backends
from moviola.engine.matchcuts import segmentation
from moviola.engine.matte.backend import backend_status, create_backend
from moviola.engine.models.registry import ModelRegistry
from moviola.engine.models.store import WeightsStore
from moviola.engine.shots.detect import available_backends, choose_backend
from moviola.plugin import errors

ENGINE = Path(__file__).resolve().parents[1] / "engine"
CAPABILITIES = ("shots", "matchcuts", "matte", "depth")
WEIGHT_FREE = {"shots": "classical", "matte": "classical", "depth": "parallax",
               "segmentation": "classical"}


def install_files(store: WeightsStore, registry: ModelRegistry, name: str) -> None:
    """Put a model's files in the store (availability looks at files, not their contents)."""
    spec = registry.get(name)
    for weight in spec.weights:
        path = store.path(spec, weight)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"{}")


@pytest.fixture
def where(tmp_path):
    return Where(WeightsStore(tmp_path / "weights"), ModelRegistry.default())


def test_every_task_answers_with_its_weight_free_backend_last(where):
    status = backends.status(where)
    assert set(status) == set(WEIGHT_FREE)
    for task, rows in status.items():
        assert rows[-1]["name"] == WEIGHT_FREE[task]
        assert rows[-1]["available"] and rows[-1]["reason"] == ""
        for row in rows:
            assert set(row) >= {"name", "available", "reason", "opt_in"}
            assert row["available"] or row["reason"], f"{task}/{row['name']} says no reason"
    depth = {r["name"]: r for r in status["depth"]}
    assert "weights not installed" in depth["depth-anything-v2-small"]["reason"]
    assert depth["depth-anything-v2-base"]["opt_in"]


def test_auto_takes_the_best_usable_backend_and_says_why(where):
    choice = backends.choose("depth", "auto", where)
    assert choice.name == "parallax" and "depth-anything-v2-small cannot run" in choice.reason
    install_files(where.store, where.models, "depth-anything-v2-base")      # opt-in only
    assert backends.choose("depth", "auto", where).name == "parallax"
    assert backends.choose("depth", "depth-anything-v2-base", where).reason == "requested"
    install_files(where.store, where.models, "depth-anything-v2-small")
    choice = backends.choose("depth", "auto", where)
    assert choice.name == "depth-anything-v2-small" and choice.reason.startswith("auto")
    # The packages' own entry points give the same answers.
    assert depth_backends.resolve("auto", where.store, where.models) == "depth-anything-v2-small"
    assert segmentation.resolve("auto", where.store, where.models) is None
    install_files(where.store, where.models, "upernet-convnext-small")
    assert segmentation.resolve("auto", where.store, where.models).name == "upernet-convnext-small"
    assert segmentation.resolve("classical", where.store, where.models) is None


def test_a_bad_choice_is_a_typed_error_naming_the_problem(where):
    with pytest.raises(errors.InvalidParamsError, match="unknown depth backend 'midas'") as caught:
        depth_backends.resolve("midas", where.store, where.models)
    assert "parallax" in str(caught.value) and caught.value.detail["param"] == "backend"
    with pytest.raises(errors.InvalidParamsError, match="cannot run here: weights not installed"):
        depth_backends.resolve("depth-anything-v2-small", where.store, where.models)
    with pytest.raises(errors.InvalidParamsError, match="silhouette backend") as caught:
        segmentation.resolve("nope", where.store, where.models)
    assert caught.value.detail["param"] == "silhouette"
    with pytest.raises(errors.InvalidParamsError, match="unknown shot backend"):
        choose_backend("histogram")
    with pytest.raises(errors.InvalidParamsError, match="unknown matte backend"):
        create_backend("magic")
    with pytest.raises(errors.InvalidParamsError, match="uses no model"):
        create_backend("classical", model="sam2.1-hiera-tiny")


def test_shots_auto_keeps_its_own_rule():
    name, reason = choose_backend("auto")
    # TransNetV2 checked by the classical detector (fused) whenever TransNetV2 is installed,
    # on any device; the classical detector otherwise.
    assert name == ("classical" if available_backends()["transnetv2"] else "fused")
    assert reason.startswith("auto:")
    assert available_backends()["classical"] == ""
    assert choose_backend("classical") == ("classical", "requested")


def test_matte_auto_without_weights_is_classical(tmp_path, monkeypatch):
    monkeypatch.setenv("MOVIOLA_HOME", str(tmp_path))
    status = backend_status()
    assert status["classical"] == {"available": True, "reason": None}
    assert not status["sam2"]["available"] and status["sam2"]["reason"]
    assert create_backend("auto").NAME == "classical"


def test_answering_imports_no_neural_stack():
    code = ("import sys; from moviola.engine import backends; backends.status(); "
            "heavy = sorted(m for m in ('torch', 'transformers', 'tensorrt') if m in sys.modules); "
            "print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_engine_status_shows_each_task(engine, capsys):
    from moviola.cli.main import main
    assert main(["engine", "status"]) == 0
    out = capsys.readouterr().out
    lines = {line.split()[0]: line for line in out.splitlines()[1:] if line.startswith("    ")}
    assert "parallax" in lines["depth"] and "classical" in lines["shots"]
    assert "runtimes" in out


def _capability_imports(package: str) -> set[str]:
    """Other capability packages that modules of ``package`` import (any import statement,
    type-checking ones included)."""
    found = set()
    for path in (ENGINE / package).glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                parts = (node.module or "").split(".")
                if node.level == 2 and parts[0] in CAPABILITIES:
                    found.add(parts[0])
                elif node.module and node.module.startswith("moviola.engine.") and len(parts) > 2:
                    found.add(parts[2])
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    parts = alias.name.split(".")
                    if alias.name.startswith("moviola.engine.") and len(parts) > 2:
                        found.add(parts[2])
    return {p for p in found if p in CAPABILITIES and p != package}


def test_no_import_cycle_between_capability_packages():
    graph = {p: _capability_imports(p) for p in CAPABILITIES}
    assert graph["matchcuts"] == {"shots"}          # match cuts work on shots, not the reverse
    seen: dict[str, int] = {}

    def visit(node: str, path: list[str]) -> None:
        if seen.get(node) == 1:
            raise AssertionError(f"import cycle: {' -> '.join(path + [node])}")
        if seen.get(node) == 2:
            return
        seen[node] = 1
        for nxt in sorted(graph[node]):
            visit(nxt, path + [node])
        seen[node] = 2

    for package in CAPABILITIES:
        visit(package, [])


def test_each_weight_free_backend_is_made_by_its_factory(where):
    from fractions import Fraction

    from moviola.engine.depth.backends import BackendOptions
    from moviola.engine.depth.parallax import ParallaxBackend
    from moviola.engine.matte.classical import ClassicalBackend
    from moviola.engine.shots.classical import ClassicalDetector

    made = {task: backends.choose(task, name, where).backend.factory
            for task, name in WEIGHT_FREE.items()}
    assert isinstance(made["shots"](Fraction(24)), ClassicalDetector)
    assert made["matte"]() is ClassicalBackend
    assert isinstance(made["depth"](BackendOptions()), ParallaxBackend)
    assert made["segmentation"]() is None          # classical silhouettes: no segmenter
