"""Depth Anything V2 through ``transformers`` (``DepthAnythingForDepthEstimation``).

Weights come from the local store (``<weights>/<model>/model.safetensors`` + ``config.json``),
checked with :meth:`WeightsStore.verify` before anything is loaded, and loaded with
safetensors only. torch and transformers are imported when a backend is created, never at
engine start. The same code loads the real checkpoints and the tiny random ones the tests
build.

- Relative checkpoints (``depth_estimation_type: relative``, e.g. V2 Small) predict affine-
  invariant inverse depth: each frame has its own scale and shift, which the stabiliser
  aligns. Metric checkpoints predict depth in metres (scale only).
- Frames are predicted at a working resolution whose shorter side is 518 (the model's native
  size) unless told, both sides multiples of the patch size (14), aspect kept.
- Devices: CUDA in FP16 (or BF16, or FP32 when asked) where available, else CPU in FP32.
- TensorRT (optional, **unverified**: no GPU was available when this was written): one
  engine per working size (batch 1..``batch_size``), built and cached by the shared TensorRT
  path (:mod:`moviola.engine.models.tensorrt`: keyed by weights, GPU, precision, shape range
  and TensorRT version), then reused. The tests run it with a replaced builder and runtime.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from moviola.plugin.errors import InvalidParamsError

from ..models import tensorrt as trt_engines
from ..models.checkpoints import read_config
from ..models.registry import ModelSpec
from ..models.store import WeightsStore
from .base import DepthBackend, Prediction, even_shape

__all__ = ["DepthAnythingBackend", "read_config", "depth_only", "engine_spec"]

DEFAULT_WORKING_SIZE = 518
MEAN = np.array([0.485, 0.456, 0.406], np.float32)   # ImageNet, as the model was trained
STD = np.array([0.229, 0.224, 0.225], np.float32)

_models: dict[tuple, Any] = {}          # loaded models, shared by jobs: (folder, sha, device, dtype)
_models_lock = threading.Lock()
_MODELS_KEPT = 2


class DepthAnythingBackend(DepthBackend):
    """One Depth Anything checkpoint from the weights store."""

    NAME = "depth-anything"   # instances report their model's name

    def __init__(self, spec: ModelSpec, store: WeightsStore, *, working_size: int = 0,
                 device: str = "auto", precision: str = "auto", runtime: str = "torch",
                 engines: trt_engines.EngineCache | None = None, batch_size: int = 0) -> None:
        self.spec = spec
        self.store = store
        self.hashes = store.verify(spec)           # WeightsError before anything is loaded
        config = read_config(store, spec)
        if config.get("model_type") != "depth_anything":
            raise InvalidParamsError(f"{spec.name}: config.json is not a Depth Anything "
                                     f"checkpoint (model_type {config.get('model_type')!r})",
                                     path=str(store.folder(spec) / "config.json"))
        self.NAME = spec.name  # type: ignore[misc]
        self.metric = config.get("depth_estimation_type") == "metric"
        self.output = "depth" if self.metric else "inverse_depth"
        self.affine_invariant = not self.metric
        self.patch = int(config.get("patch_size") or
                         config.get("backbone_config", {}).get("patch_size") or 14)
        native = spec.input_size[1] if spec.input_size else DEFAULT_WORKING_SIZE
        self.working_size = int(working_size or native)
        import torch  # the engine imports torch only when a neural backend is used

        self._torch = torch
        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        if device == "cuda" and not torch.cuda.is_available():
            raise InvalidParamsError("device 'cuda' asked for, but torch sees no CUDA device")
        self.device = device
        if precision == "auto":
            precision = "fp16" if device == "cuda" else "fp32"
        self.precision = precision
        self.dtype = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}[precision]
        self.runtime = runtime
        if runtime == "tensorrt" and engines is None:
            ok, why = trt_engines.available()
            if not ok:
                raise InvalidParamsError(f"runtime 'tensorrt' cannot run here: {why}",
                                         detail={"param": "runtime"})
            engines = trt_engines.EngineCache.default()
        self.engines = engines if runtime == "tensorrt" else None
        self.batch_size = int(batch_size or (4 if device == "cuda" else 1))
        self.model = _load(store.folder(spec), self.hashes.get("model.safetensors", ""),
                           device, self.dtype)
        self._runners: dict[tuple[int, ...], Callable[[Any], Any]] = {}

    def working_shape(self, width: int, height: int) -> tuple[int, int]:
        return even_shape(width, height, self.working_size, multiple=self.patch, upscale=True)

    def describe(self) -> dict[str, Any]:
        return {"backend": self.spec.name, "model": self.spec.name,
                "weights_sha256": self.hashes.get("model.safetensors"),
                "license": self.spec.license, "commercial_use": self.spec.commercial_use,
                "source": self.spec.source, "device": self.device, "precision": self.precision,
                "runtime": self.runtime, "working_size": self.working_size,
                "output": "metric depth (m)" if self.metric else "relative inverse depth"}

    def predict(self, frames: Iterable[tuple[int, np.ndarray]]) -> Iterator[Prediction]:
        batch: list[tuple[int, np.ndarray]] = []
        for item in frames:
            batch.append(item)
            if len(batch) >= self.batch_size:
                yield from self._run(batch)
                batch = []
        if batch:
            yield from self._run(batch)

    def _run(self, batch: list[tuple[int, np.ndarray]]) -> list[Prediction]:
        torch = self._torch
        pixels = np.stack([(img.astype(np.float32) / 255.0 - MEAN) / STD for _, img in batch])
        x = torch.from_numpy(pixels.transpose(0, 3, 1, 2).copy()).to(self.device)
        x = x.to(self.dtype) if self.runtime == "torch" else x
        with torch.inference_mode():
            depth = self._runner(tuple(x.shape))(x)
        out = np.nan_to_num(depth.float().cpu().numpy(), nan=0.0, posinf=0.0, neginf=0.0)
        return [Prediction(number, out[i].astype(np.float32), image)
                for i, (number, image) in enumerate(batch)]

    def _runner(self, shape: tuple[int, ...]) -> Callable[[Any], Any]:
        size = shape[1:]          # one runner per image size; the batch may be partial
        runner = self._runners.get(size)
        if runner is None:
            if self.runtime == "tensorrt":
                runner = self._tensorrt(shape)
            else:
                runner = self._torch_runner()
            self._runners[size] = runner
        return runner

    def _torch_runner(self) -> Callable[[Any], Any]:
        model = self.model
        return lambda x: model(pixel_values=x).predicted_depth

    def _tensorrt(self, shape: tuple[int, ...]) -> Callable[[Any], Any]:
        """The engine for this working size (cached on disk, built on first use)."""
        assert self.engines is not None
        spec = engine_spec(self.spec.name, self.hashes.get("model.safetensors", ""),
                           self.dtype, shape, self.batch_size)
        example = self._torch.zeros(spec.shapes.opt, dtype=self.dtype, device=self.device)
        run = self.engines.runner(spec, lambda: depth_only(self.model), example)
        return lambda x: run(x)[0]


def engine_spec(model: str, weights_sha256: str, dtype: Any, shape: tuple[int, ...],
                batch_size: int) -> trt_engines.EngineSpec:
    """The engine a working size needs: pixel values (batch 1..``batch_size``) -> depth."""
    return trt_engines.EngineSpec(
        model=model, weights_sha256=weights_sha256,
        precision=trt_engines.precision_name(dtype),
        shapes=trt_engines.ShapeRange.batch_up_to(shape, max(batch_size, 1)),
        input_name="pixel_values", output_names=("predicted_depth",))


def _load(folder: Path, sha: str, device: str, dtype: Any) -> Any:
    key = (str(folder), sha, device, str(dtype))
    with _models_lock:
        model = _models.get(key)
        if model is None:
            from transformers import DepthAnythingForDepthEstimation
            from transformers.utils import logging as hf_logging

            hf_logging.disable_progress_bar()  # the engine's log is not a terminal
            model = DepthAnythingForDepthEstimation.from_pretrained(
                str(folder), use_safetensors=True, local_files_only=True)
            # transformers wraps .to with functools.wraps, which mypy reads as unbound
            model = model.to(device=device, dtype=dtype).eval()  # type: ignore[call-arg]
            while len(_models) >= _MODELS_KEPT:
                _models.pop(next(iter(_models)))
            _models[key] = model
        return model


def depth_only(model: Any) -> Any:
    """The model as a plain module, pixel values -> depth (B, H, W) float, for export."""
    import torch

    class DepthOnly(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, pixel_values: torch.Tensor) -> torch.Tensor:
            dtype = next(self.model.parameters()).dtype
            return self.model(pixel_values=pixel_values.to(dtype)).predicted_depth.float()

    return DepthOnly().eval()
