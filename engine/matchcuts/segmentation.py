"""Silhouettes from a semantic segmentation model: people, then other objects.

Any registry model of task ``segmentation`` that ``transformers`` loads as
``UperNetForSemanticSegmentation`` (the built-in one is ``upernet-convnext-small``: ConvNeXt-S
UperNet trained on ADE20K, MIT licence) can replace the classical border GrabCut of the frame
flavour. Weights come from the local store (``<weights>/<model>/model.safetensors`` +
``config.json``), checked with :meth:`WeightsStore.verify` before anything is loaded, and
loaded with safetensors only. torch and transformers are imported when a model is first run,
never at engine start; :func:`available` and :func:`resolve` decide without them, through the
engine's backend registry (:mod:`moviola.engine.backends`, task ``segmentation``).

A frame gives two soft masks (per-pixel probabilities, 0..1): **people** (the classes named in
:data:`PEOPLE`) and **objects** (movable "thing" classes, :data:`THINGS`). Classes are found by
name through the checkpoint's ``config.id2label``, never by index, so a checkpoint with other
labels works as long as it names some of them.
"""

from __future__ import annotations

import threading
from typing import Any

import cv2
import numpy as np

from moviola.plugin.errors import InvalidParamsError

from .. import backends as engine_backends
from ..models.checkpoints import read_config
from ..models.registry import ModelRegistry, ModelSpec
from ..models.store import WeightsStore, require_store

__all__ = [
    "AUTO",
    "CLASSICAL",
    "PEOPLE",
    "THINGS",
    "Segmenter",
    "available",
    "backends",
    "label_indices",
    "resolve",
]

AUTO = "auto"
CLASSICAL = "classical"
TASK = "segmentation"

# ADE20K (SceneParse150) label names, as in config.id2label of the ADE20K checkpoints.
PEOPLE: tuple[str, ...] = ("person",)
# Movable "things" of ADE20K: vehicles, animals, loose furniture and handheld objects; the
# "stuff" classes (wall, sky, floor, road, tree, building...) and fixtures (door, window,
# cabinet, counter...) are left out: they frame a shot rather than make its silhouette.
THINGS: tuple[str, ...] = (
    # vehicles
    "car", "bus", "truck", "van", "minibike", "bicycle", "airplane", "boat", "ship",
    # animals (ADE20K has one class for all of them)
    "animal",
    # loose furniture
    "chair", "armchair", "swivel chair", "stool", "sofa", "bench", "ottoman", "cradle",
    # things a person carries, holds or puts down
    "bottle", "vase", "glass", "plate", "pot", "tray", "basket", "bag", "box", "barrel",
    "ball", "plaything", "food", "book", "flower", "lamp", "clock", "fan", "sculpture",
    "flag", "television receiver", "computer", "monitor", "crt screen", "apparel",
    "cushion", "pillow", "towel", "blanket", "ashcan",
)

MEAN = np.array([0.485, 0.456, 0.406], np.float32)   # ImageNet, as ADE20K UperNets are trained
STD = np.array([0.229, 0.224, 0.225], np.float32)
DEFAULT_WORKING_SIZE = 512
_MULTIPLE = 32                                        # ConvNeXt's total stride

_models: dict[tuple, Any] = {}           # loaded models, shared by jobs: (folder, sha, device)
_models_lock = threading.Lock()
_MODELS_KEPT = 1


def _norm(label: str) -> str:
    return " ".join(str(label).lower().replace("_", " ").split())


def label_indices(id2label: dict[Any, str], names: tuple[str, ...]) -> list[int]:
    """Class indices whose label (case, spaces and underscores ignored) is one of ``names``."""
    wanted = {_norm(n) for n in names}
    return sorted(int(i) for i, label in id2label.items() if _norm(label) in wanted)


def backends(where: engine_backends.Where) -> list[engine_backends.Backend]:
    """Silhouette backends, best first: the registry's segmentation models, then the
    classical border GrabCut. A model's factory makes its :class:`Segmenter`."""
    store = where.store
    table = [engine_backends.Backend(
        TASK, spec.name, engine_backends.weights_answer(store, spec),
        lambda _s=spec, **options: Segmenter(_s, require_store(store, _s.name), **options),
        opt_in=spec.opt_in, info={"license": spec.license, "weights": True})
        for spec in where.models.for_task(TASK, include_opt_in=True)]
    table.append(engine_backends.Backend(TASK, CLASSICAL, lambda: (True, ""), lambda: None,
                                         info={"license": "Apache-2.0", "weights": False}))
    return table


def available(store: WeightsStore, registry: ModelRegistry) -> list[dict[str, Any]]:
    """Every segmentation model with whether it can run here, and why not (no torch import)."""
    rows = engine_backends.status(engine_backends.Where(store, registry), tasks=[TASK])[TASK]
    return [row for row in rows if row["name"] != CLASSICAL]


def resolve(name: str, store: WeightsStore, registry: ModelRegistry) -> ModelSpec | None:
    """The segmentation model ``name`` stands for, or None for the classical silhouettes.

    ``auto``: the first commercial-safe installed model, else classical. ``classical``: None.
    A model name: that model, which must be runnable here.

    Raises:
        InvalidParamsError: an unknown name, or a model that cannot run here (says why).
    """
    choice = engine_backends.choose(TASK, name, engine_backends.Where(store, registry),
                                    param="silhouette", label="silhouette backend")
    return None if choice.name == CLASSICAL else registry.get(choice.name)


class Segmenter:
    """One segmentation checkpoint from the weights store: frame -> (people, objects) masks.

    Creating it verifies the weights (no torch); the model is loaded on the first frame.
    """

    def __init__(self, spec: ModelSpec, store: WeightsStore, *, working_size: int = 0,
                 device: str = "auto") -> None:
        self.spec = spec
        self.name = spec.name
        self.folder = store.folder(spec)
        self.hashes = store.verify(spec)           # WeightsError before anything is loaded
        config = read_config(store, spec)
        if config.get("model_type") != "upernet":
            raise InvalidParamsError(f"{spec.name}: config.json is not a UperNet checkpoint "
                                     f"(model_type {config.get('model_type')!r})",
                                     path=str(self.folder / "config.json"))
        id2label = config.get("id2label") or {}
        self.people = label_indices(id2label, PEOPLE)
        self.things = label_indices(id2label, THINGS)
        if not self.people:
            raise InvalidParamsError(f"{spec.name}: config.json names no person class "
                                     f"(id2label has no {PEOPLE[0]!r})",
                                     path=str(self.folder / "config.json"))
        native = min(spec.input_size) if spec.input_size else DEFAULT_WORKING_SIZE
        self.working_size = int(working_size or native)
        self.device = device
        self._model: Any = None

    @property
    def weights_sha256(self) -> str:
        return self.hashes.get("model.safetensors", "")

    def describe(self) -> dict[str, Any]:
        return {"backend": self.name, "model": self.name, "weights_sha256": self.weights_sha256,
                "license": self.spec.license, "commercial_use": self.spec.commercial_use,
                "source": self.spec.source, "working_size": self.working_size}

    def working_shape(self, width: int, height: int) -> tuple[int, int]:
        """(width, height): shorter side ``working_size``, aspect kept, multiples of 32."""
        scale = self.working_size / min(width, height)
        return (max(_MULTIPLE, round(width * scale / _MULTIPLE) * _MULTIPLE),
                max(_MULTIPLE, round(height * scale / _MULTIPLE) * _MULTIPLE))

    def masks(self, rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Soft people and objects masks (HxW float32, 0..1) of an 8-bit RGB frame."""
        import torch

        model, device = self._load()
        h, w = rgb.shape[:2]
        size = self.working_shape(w, h)
        image = cv2.resize(rgb, size, interpolation=cv2.INTER_LINEAR if size[0] > w
                           else cv2.INTER_AREA).astype(np.float32) / 255.0
        pixels = ((image - MEAN) / STD).transpose(2, 0, 1)[None].copy()
        with torch.inference_mode():
            logits = model(pixel_values=torch.from_numpy(pixels).to(device)).logits
            probs = torch.softmax(logits.float(), dim=1)[0]
            people = probs[self.people].sum(0).cpu().numpy()
            things = (probs[self.things].sum(0).cpu().numpy() if self.things
                      else np.zeros(people.shape, np.float32))
        out = [cv2.resize(np.clip(m, 0.0, 1.0).astype(np.float32), (w, h),
                          interpolation=cv2.INTER_LINEAR) for m in (people, things)]
        return out[0], out[1]

    def _load(self) -> tuple[Any, str]:
        if self._model is None:
            import torch

            device = self.device
            if device == "auto":
                device = "cuda" if torch.cuda.is_available() else "cpu"
            key = (str(self.folder), self.weights_sha256, device)
            with _models_lock:
                model = _models.get(key)
                if model is None:
                    from transformers import UperNetForSemanticSegmentation
                    from transformers.utils import logging as hf_logging

                    hf_logging.disable_progress_bar()  # the engine's log is not a terminal
                    model = UperNetForSemanticSegmentation.from_pretrained(
                        str(self.folder), use_safetensors=True, local_files_only=True)
                    # transformers wraps .to with functools.wraps, which mypy reads as unbound
                    model = model.to(device=device, dtype=torch.float32).eval()  # type: ignore[call-arg]
                    while len(_models) >= _MODELS_KEPT:
                        _models.pop(next(iter(_models)))
                    _models[key] = model
            self._model, self.device = model, device
        return self._model, self.device
