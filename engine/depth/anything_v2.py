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
- TensorRT (optional, **unverified**: no GPU was available when this was written): an engine
  is built once per GPU, TensorRT version, input shape and precision through a replaceable
  :class:`EngineBuilder`, cached beside the weights (``<model>/tensorrt/``), then reused. The
  tests run this path with a fake builder.
"""

from __future__ import annotations

import copy
import json
import os
import re
import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from moviola.plugin.errors import InvalidParamsError

from ..media.outputs import AtomicPath
from ..models.registry import ModelSpec
from ..models.store import WeightsStore
from .base import DepthBackend, Prediction, even_shape

__all__ = ["DepthAnythingBackend", "EngineBuilder", "TensorRTBuilder", "read_config"]

DEFAULT_WORKING_SIZE = 518
MEAN = np.array([0.485, 0.456, 0.406], np.float32)   # ImageNet, as the model was trained
STD = np.array([0.229, 0.224, 0.225], np.float32)

_models: dict[tuple, Any] = {}          # loaded models, shared by jobs: (folder, sha, device, dtype)
_models_lock = threading.Lock()
_MODELS_KEPT = 2


def read_config(store: WeightsStore, spec: ModelSpec) -> dict[str, Any]:
    """The checkpoint's ``config.json``, or {} if it is not installed or not readable."""
    try:
        return json.loads((store.folder(spec) / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


class EngineBuilder(Protocol):
    """Builds and loads TensorRT engines; replaced by a fake in tests."""

    def cache_key(self) -> str:
        """What an engine depends on besides its input: GPU model, TensorRT version."""

    def build(self, model: Any, example: Any, path: Path, fp16: bool) -> None:
        """Compile ``model`` (a module mapping pixel values to depth) for inputs shaped like
        ``example`` and write the engine to ``path``."""

    def load(self, path: Path) -> Callable[[Any], Any]:
        """A callable running the engine at ``path``: pixel values -> depth (B, H, W)."""


class DepthAnythingBackend(DepthBackend):
    """One Depth Anything checkpoint from the weights store."""

    NAME = "depth-anything"   # instances report their model's name

    def __init__(self, spec: ModelSpec, store: WeightsStore, *, working_size: int = 0,
                 device: str = "auto", precision: str = "auto", runtime: str = "torch",
                 builder: EngineBuilder | None = None, batch_size: int = 0) -> None:
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
        if runtime == "tensorrt" and builder is None:
            builder = TensorRTBuilder()
        self.builder = builder
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
        runner = self._runners.get(shape)
        if runner is None:
            if self.runtime == "tensorrt":
                runner = self._tensorrt(shape)
            else:
                model = self.model
                runner = lambda x: model(pixel_values=x).predicted_depth
            self._runners[shape] = runner
        return runner

    def _tensorrt(self, shape: tuple[int, ...]) -> Callable[[Any], Any]:
        """Build the engine for this input shape once (cached on disk), then load it."""
        assert self.builder is not None
        fp16 = self.precision != "fp32"
        key = (f"{_slug(self.builder.cache_key())}-{shape[0]}x{shape[2]}x{shape[3]}-"
               f"{'fp16' if fp16 else 'fp32'}-{self.hashes.get('model.safetensors', '')[:12]}")
        path = self.store.folder(self.spec) / "tensorrt" / f"{key}.engine"
        if not path.is_file():
            path.parent.mkdir(parents=True, exist_ok=True)
            example = self._torch.zeros(shape, dtype=self._torch.float32, device=self.device)
            self.builder.build(_depth_only(self.model), example, path, fp16)
        return self.builder.load(path)


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9.]+", "-", text).strip("-") or "device"


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
            model = model.to(device=device, dtype=dtype).eval()
            while len(_models) >= _MODELS_KEPT:
                _models.pop(next(iter(_models)))
            _models[key] = model
        return model


def _depth_only(model: Any) -> Any:
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


class TensorRTBuilder:
    """ONNX export through torch, then a TensorRT engine (FP16 when asked).

    Unverified: written against the TensorRT 10 Python API without a GPU to run it on.
    """

    def __init__(self) -> None:
        try:
            import tensorrt  # noqa: F401 - only checks that it is installed
        except ImportError:
            raise InvalidParamsError("runtime 'tensorrt' needs the tensorrt package "
                                     "(pip install 'moviola[tensorrt]') and a CUDA GPU") from None

    def cache_key(self) -> str:
        import tensorrt as trt
        import torch

        return f"{torch.cuda.get_device_name()}-trt{trt.__version__}"

    def build(self, model: Any, example: Any, path: Path, fp16: bool) -> None:
        import tensorrt as trt
        import torch

        onnx_path = path.with_suffix(".onnx")
        # Export in FP32 from a copy: the loaded model is shared and must keep its dtype.
        torch.onnx.export(copy.deepcopy(model).float(), (example.float(),), str(onnx_path),
                          input_names=["pixel_values"], output_names=["predicted_depth"],
                          opset_version=17, dynamo=False)
        logger = trt.Logger(trt.Logger.WARNING)
        builder = trt.Builder(logger)
        network = builder.create_network(0)
        parser = trt.OnnxParser(network, logger)
        if not parser.parse_from_file(str(onnx_path)):
            errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
            raise RuntimeError(f"TensorRT could not parse the exported model: {errors}")
        config = builder.create_builder_config()
        if fp16:
            config.set_flag(trt.BuilderFlag.FP16)
        serialized = builder.build_serialized_network(network, config)
        if serialized is None:
            raise RuntimeError("TensorRT failed to build an engine")
        with AtomicPath(path) as tmp:
            Path(tmp).write_bytes(bytes(serialized))
        os.unlink(onnx_path)

    def load(self, path: Path) -> Callable[[Any], Any]:
        import tensorrt as trt
        import torch

        runtime = trt.Runtime(trt.Logger(trt.Logger.WARNING))
        engine = runtime.deserialize_cuda_engine(path.read_bytes())
        context = engine.create_execution_context()

        def run(x: Any) -> Any:
            x = x.float().contiguous()
            out = torch.empty(tuple(engine.get_tensor_shape("predicted_depth")),
                              dtype=torch.float32, device=x.device)
            context.set_tensor_address("pixel_values", x.data_ptr())
            context.set_tensor_address("predicted_depth", out.data_ptr())
            stream = torch.cuda.current_stream()
            context.execute_async_v3(stream.cuda_stream)
            stream.synchronize()
            return out

        return run
