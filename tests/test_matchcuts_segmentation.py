"""The frame flavour's segmentation backend: a tiny random UperNet loaded from a weights store
through the real code path, the people-first score, and the ``matchcuts`` job with the model
installed in the session engine's store."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from moviola.engine.matchcuts import segmentation
from moviola.engine.matchcuts.segmentation import Segmenter
from moviola.engine.matchcuts.silhouette import (
    CELLS,
    GRID,
    OBJECTS_WEIGHT,
    FrameFlavour,
    people_first,
)
from moviola.engine.models.registry import ModelRegistry
from moviola.engine.models.store import WeightsStore
from moviola.plugin import errors
from reels import matchcut_reel

MODEL = "upernet-convnext-small"
LABELS = {0: "wall", 1: "person", 2: "car", 3: "sky", 4: "chair"}


def tiny_upernet(folder: str | Path, seed: int = 0) -> Path:
    """Save a tiny random UperNet (ConvNeXt backbone, 5 ADE20K-named classes) into ``folder``
    with ``save_pretrained`` (``config.json`` + ``model.safetensors``); return the folder."""
    import torch
    from transformers import (
        ConvNextConfig,
        UperNetConfig,
        UperNetForSemanticSegmentation,
    )

    torch.manual_seed(seed)
    backbone = ConvNextConfig(depths=[1, 1, 1, 1], hidden_sizes=[8, 16, 24, 32],
                              out_features=["stage1", "stage2", "stage3", "stage4"])
    config = UperNetConfig(backbone_config=backbone, hidden_size=16, auxiliary_in_channels=24,
                           auxiliary_channels=8, use_auxiliary_head=False,
                           num_labels=len(LABELS), id2label=LABELS,
                           label2id={v: k for k, v in LABELS.items()})
    model = UperNetForSemanticSegmentation(config).eval()
    folder = Path(folder)
    model.save_pretrained(str(folder), safe_serialization=True)
    return folder


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    root = tmp_path_factory.mktemp("weights")
    registry = ModelRegistry.default()
    tiny_upernet(root / MODEL)
    return WeightsStore(root), registry


def test_registry_entry_is_commercial_safe_segmentation():
    spec = ModelRegistry.default().get(MODEL)
    assert spec.task == "segmentation" and spec.commercial_use and spec.license == "MIT"
    assert [f.name for f in spec.weights] == ["model.safetensors", "config.json"]
    assert spec.input_size == (512, 512)


def test_tiny_upernet_loads_from_the_store_and_gives_two_masks(store):
    weights, registry = store
    assert [b["available"] for b in segmentation.available(weights, registry)] == [True]
    spec = segmentation.resolve("auto", weights, registry)
    assert spec is not None and spec.name == MODEL
    assert segmentation.resolve("classical", weights, registry) is None
    segmenter = Segmenter(spec, weights, working_size=64)
    assert segmenter.people == [1] and segmenter.things == [2, 4]   # found by name
    assert len(segmenter.weights_sha256) == 64
    rgb = np.random.default_rng(0).integers(0, 256, (72, 128, 3), dtype=np.uint8)
    people, objects = segmenter.masks(rgb)
    for mask in (people, objects):
        assert mask.shape == (72, 128) and mask.dtype == np.float32
        assert 0.0 <= mask.min() and mask.max() <= 1.0
    flavour = FrameFlavour(segmenter)
    vector = flavour.describe({0: rgb}, 24.0)
    assert vector.shape == (2 * CELLS,) == (flavour.DIM,)
    assert flavour.BACKEND == MODEL and flavour.VERSION == 2 and flavour.CACHE_TAG
    assert FrameFlavour.DIM == CELLS and FrameFlavour().VERSION == 1     # classical unchanged


def test_no_weights_means_classical_and_a_named_model_says_why(tmp_path):
    weights, registry = WeightsStore(tmp_path), ModelRegistry.default()
    assert segmentation.resolve("auto", weights, registry) is None
    with pytest.raises(errors.InvalidParamsError, match="not installed"):
        segmentation.resolve(MODEL, weights, registry)
    with pytest.raises(errors.InvalidParamsError, match="unknown silhouette"):
        segmentation.resolve("nope", weights, registry)


def box(x0: int, x1: int, y0: int = 5, y1: int = 22) -> np.ndarray:
    grid = np.zeros((GRID[1], GRID[0]), np.float32)
    grid[y0:y1, x0:x1] = 1.0
    return grid.ravel()


def test_people_first_scoring():
    empty = np.zeros(CELLS, np.float32)
    person, car = box(10, 20), box(30, 40)
    people_match = people_first(person, empty, person, empty)
    objects_match = people_first(empty, car, empty, car)
    assert people_match == 1.0 and objects_match == pytest.approx(OBJECTS_WEIGHT)
    assert people_match > objects_match
    # Both have people: only the people count, even when their objects line up perfectly.
    assert people_first(person, car, box(12, 22), car) == pytest.approx(8 / 12)
    # One shot has no people: objects decide, down-weighted.
    assert people_first(person, car, empty, car) == pytest.approx(OBJECTS_WEIGHT)
    assert people_first(empty, empty, empty, car) == 0.0


def test_matchcuts_job_reports_the_segmentation_backend(engine, client, tmp_path):
    reel = matchcut_reel(tmp_path / "reel.mp4")
    folder = engine.home / "weights" / MODEL
    try:
        tiny_upernet(folder)
        result = client.submit("matchcuts", {"inputs": [str(reel.path)], "flavor": "frame",
                                             "top": 3, "cache": False}).wait()
        assert result["backends"]["frame"] == MODEL
        assert result["silhouette_model"]["license"] == "MIT"
        assert all(p["flavor"] == "frame" and 0 <= p["score"] <= 1 for p in result["pairs"])
        classical = client.submit("matchcuts", {"inputs": [str(reel.path)], "flavor": "frame",
                                                "top": 3, "cache": False,
                                                "silhouette": "classical"}).wait()
        assert classical["backends"]["frame"].startswith("classical")
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    with pytest.raises(errors.InvalidParamsError, match="not installed"):
        client.submit("matchcuts", {"inputs": [str(reel.path)], "silhouette": MODEL})
