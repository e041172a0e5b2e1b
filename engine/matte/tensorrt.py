"""SAM 2's image encoder as a TensorRT engine: built once per GPU, input size and precision,
cached on disk, then swapped in for the torch encoder.

The image encoder is most of SAM 2's cost per frame; the memory attention and the mask
decoder stay in torch (their inputs change shape with the memory bank, and they are cheap).

Three steps, each replaceable so the path can be tested where TensorRT cannot be installed:
``exporter`` writes the encoder as ONNX (``torch.onnx.export``), ``builder`` turns ONNX into a
serialised engine (:class:`TrtBuilder`), ``runtime`` runs an engine on CUDA tensors
(:class:`TrtRuntime`). The cache key holds everything that makes an engine non-portable: the
weights' hash, input size, precision, TensorRT version, GPU name and compute capability.

STATUS: the real builder and runtime are UNVERIFIED: no GPU or TensorRT was available when
they were written; the tests run this module with a fake builder and runtime.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from ..config import load_settings
from ..media.outputs import AtomicPath
from .sam2_model import LoadedSam2

__all__ = ["EngineBuilder", "EngineRuntime", "TrtBuilder", "TrtRuntime", "TensorRTAccelerator",
           "export_onnx"]

EXPORT_VERSION = 1   # bump when the exported graph changes: old engines are then rebuilt
INPUT = "pixel_values"
OUTPUTS = [f"fpn_{i}" for i in range(3)] + [f"pos_{i}" for i in range(3)]


class EngineBuilder(Protocol):
    def build(self, onnx_path: Path, engine_path: Path, precision: str) -> None:
        """Write a serialised engine for ``onnx_path`` to ``engine_path``."""


class EngineRuntime(Protocol):
    def load(self, engine_path: Path) -> Callable[[Any], list[Any]]:
        """A function running the engine: input tensor → output tensors in OUTPUTS order."""


def _encoder_module(encoder: Any) -> Any:
    import torch

    class VisionForExport(torch.nn.Module):
        """The encoder with plain tensor outputs, the way ONNX wants them."""

        def __init__(self) -> None:
            super().__init__()
            self.encoder = encoder

        def forward(self, pixel_values: Any) -> tuple:
            out = self.encoder(pixel_values, return_dict=True)
            return (*out.fpn_hidden_states, *out.fpn_position_encoding)

    return VisionForExport().eval()


def export_onnx(encoder: Any, example: Any, onnx_path: Path) -> None:
    """Export the image encoder (fixed input size) to ONNX."""
    import torch
    torch.onnx.export(_encoder_module(encoder), (example,), str(onnx_path), input_names=[INPUT],
                      output_names=OUTPUTS, opset_version=17, dynamo=False)


class TrtBuilder:
    """Builds with the TensorRT Python API (10.x weakly typed with an FP16 flag; 11.x strongly
    typed, precision taken from the exported graph). UNVERIFIED: see the module docstring."""

    def build(self, onnx_path: Path, engine_path: Path, precision: str) -> None:
        import tensorrt as trt
        logger = trt.Logger(trt.Logger.WARNING)
        builder = trt.Builder(logger)
        major = int(trt.__version__.split(".")[0])
        flags = 0
        if major >= 11:  # weak typing (BuilderFlag.FP16) is gone in TensorRT 11
            flags |= 1 << int(trt.NetworkDefinitionCreationFlag.STRONGLY_TYPED)
        network = builder.create_network(flags)
        parser = trt.OnnxParser(network, logger)
        if not parser.parse(onnx_path.read_bytes()):
            errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
            raise RuntimeError(f"TensorRT cannot parse {onnx_path.name}: {errors}")
        config = builder.create_builder_config()
        if major < 11 and precision in ("float16", "bfloat16"):
            config.set_flag(trt.BuilderFlag.FP16 if precision == "float16" else trt.BuilderFlag.BF16)
        data = builder.build_serialized_network(network, config)
        if data is None:
            raise RuntimeError("TensorRT failed to build the SAM 2 image encoder engine")
        with AtomicPath(engine_path) as tmp:
            tmp.write_bytes(bytes(data))


class TrtRuntime:
    """Runs an engine on CUDA torch tensors (TensorRT 10+ tensor-address API). UNVERIFIED."""

    def load(self, engine_path: Path) -> Callable[[Any], list[Any]]:
        import tensorrt as trt
        import torch
        logger = trt.Logger(trt.Logger.WARNING)
        engine = trt.Runtime(logger).deserialize_cuda_engine(engine_path.read_bytes())
        context = engine.create_execution_context()

        def run(pixels: Any) -> list[Any]:
            pixels = pixels.contiguous()
            context.set_input_shape(INPUT, tuple(pixels.shape))
            context.set_tensor_address(INPUT, pixels.data_ptr())
            outputs = []
            for name in OUTPUTS:
                dtype = torch.from_numpy(trt.nptype(engine.get_tensor_dtype(name))(0).reshape(1)).dtype
                out = torch.empty(tuple(context.get_tensor_shape(name)), dtype=dtype, device=pixels.device)
                context.set_tensor_address(name, out.data_ptr())
                outputs.append(out)
            context.execute_async_v3(torch.cuda.current_stream().cuda_stream)
            return outputs

        return run


def _device_signature() -> dict[str, Any]:
    import torch
    if not torch.cuda.is_available():
        return {"gpu": "none"}
    props = torch.cuda.get_device_properties(torch.cuda.current_device())
    return {"gpu": props.name, "capability": f"{props.major}.{props.minor}",
            "cuda": torch.version.cuda}


def _trt_version() -> str | None:
    try:
        import tensorrt
        return str(tensorrt.__version__)
    except ImportError:
        return None


class TensorRTAccelerator:
    """Builds (once) and swaps in a TensorRT engine for SAM 2's image encoder."""

    def __init__(self, cache_dir: str | os.PathLike[str], builder: EngineBuilder | None = None,
                 runtime: EngineRuntime | None = None,
                 exporter: Callable[[Any, Any, Path], None] | None = None,
                 signature: Callable[[], dict[str, Any]] | None = None) -> None:
        self.cache_dir = Path(cache_dir)
        self.builder = builder or TrtBuilder()
        self.runtime = runtime or TrtRuntime()
        self.exporter = exporter or export_onnx
        self.signature = signature or (lambda: {**_device_signature(), "tensorrt": _trt_version()})
        self.builds = 0
        self.engine_path: Path | None = None

    @staticmethod
    def usable() -> bool:
        """TensorRT installed and a CUDA GPU present."""
        if importlib.util.find_spec("tensorrt") is None:
            return False
        import torch
        return bool(torch.cuda.is_available())

    @classmethod
    def default(cls) -> TensorRTAccelerator:
        return cls(load_settings().home / "cache" / "tensorrt")

    def engine_key(self, loaded: LoadedSam2) -> str:
        parts = {"model": "sam2-vision", "export": EXPORT_VERSION, "weights": loaded.weights_sha256,
                 "folder": None if loaded.weights_sha256 else str(loaded.folder),
                 "size": loaded.image_size, "precision": str(loaded.dtype).replace("torch.", ""),
                 **self.signature()}
        return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:24]

    def accelerate_vision_encoder(self, loaded: LoadedSam2) -> None:
        """Swap ``loaded``'s image encoder for the cached engine, building it if missing."""
        if getattr(loaded, "accelerated", None):
            return
        import torch
        key = self.engine_key(loaded)
        path = self.cache_dir / f"sam2-vision-{key}.engine"
        if not path.is_file():
            self.cache_dir.mkdir(parents=True, exist_ok=True)
            onnx_path = self.cache_dir / f"sam2-vision-{key}.onnx"
            example = torch.zeros(1, 3, loaded.image_size, loaded.image_size, dtype=loaded.dtype,
                                  device=loaded.device)
            with AtomicPath(onnx_path) as tmp:
                self.exporter(loaded.model.vision_encoder, example, tmp)
            precision = str(loaded.dtype).replace("torch.", "")
            self.builder.build(onnx_path, path, precision)
            onnx_path.unlink(missing_ok=True)
            self.builds += 1
        run = self.runtime.load(path)
        loaded.model.vision_encoder = engine_encoder(run, loaded.model.vision_encoder.config)
        loaded.accelerated = str(path)  # type: ignore[attr-defined]
        self.engine_path = path

    def describe(self) -> dict[str, Any]:
        return {"kind": "tensorrt", "engine": str(self.engine_path) if self.engine_path else None,
                "built_now": self.builds > 0}


def engine_encoder(run: Callable[[Any], list[Any]], config: Any) -> Any:
    """A module standing in for the torch image encoder, returning what it returned."""
    import torch
    from transformers.models.sam2_video.modeling_sam2_video import Sam2VideoVisionEncoderOutput

    class EngineEncoder(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.config = config

        def forward(self, pixel_values: Any, return_dict: bool = True, **_: Any) -> Any:
            outs = run(pixel_values)
            return Sam2VideoVisionEncoderOutput(last_hidden_state=None,
                                                fpn_hidden_states=tuple(outs[:3]),
                                                fpn_position_encoding=tuple(outs[3:]))

    return EngineEncoder()
