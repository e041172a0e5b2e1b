"""SAM 2's image encoder as a TensorRT engine, swapped in for the torch encoder.

The image encoder is most of SAM 2's cost per frame; the memory attention and the mask
decoder stay in torch (their inputs change shape with the memory bank, and they are cheap).

Export, build, the on-disk cache and running the engine are the shared TensorRT path
(:mod:`moviola.engine.models.tensorrt`); this module only says what is exported (the encoder
with plain tensor outputs, :func:`encoder_for_export`) and puts the engine back in the
encoder's place (:func:`engine_encoder`). The engine is keyed by the weights' hash, the
model's input size and dtype, the GPU and the TensorRT version.

STATUS: UNVERIFIED on real TensorRT (no GPU was available); the tests run it with a replaced
builder and runtime, and export the real encoder to ONNX on CPU.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..models import tensorrt as trt_engines
from ..models.tensorrt import EngineCache, EngineSpec, ShapeRange
from .sam2_model import LoadedSam2

__all__ = ["TensorRTAccelerator", "encoder_for_export", "engine_encoder", "encoder_spec",
           "INPUT", "OUTPUTS"]

EXPORT_VERSION = 1   # bump when the exported graph changes: old engines are then rebuilt
INPUT = "pixel_values"
OUTPUTS = tuple(f"fpn_{i}" for i in range(3)) + tuple(f"pos_{i}" for i in range(3))


def encoder_for_export(encoder: Any) -> Any:
    """The image encoder with plain tensor outputs (FPN features, then their position
    encodings), the way ONNX wants them."""
    import torch

    class VisionForExport(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.encoder = encoder

        def forward(self, pixel_values: Any) -> tuple:
            out = self.encoder(pixel_values, return_dict=True)
            return (*out.fpn_hidden_states, *out.fpn_position_encoding)

    return VisionForExport().eval()


def encoder_spec(loaded: LoadedSam2) -> EngineSpec:
    """The engine SAM 2's encoder needs: one square image at the model's input size."""
    size = loaded.image_size
    return EngineSpec(model="sam2-vision", export_version=EXPORT_VERSION,
                      weights_sha256=loaded.weights_sha256 or f"folder:{loaded.folder}",
                      precision=trt_engines.precision_name(loaded.dtype),
                      shapes=ShapeRange.fixed((1, 3, size, size)), input_name=INPUT,
                      output_names=OUTPUTS)


class TensorRTAccelerator:
    """Builds (once) and swaps in a TensorRT engine for SAM 2's image encoder."""

    def __init__(self, engines: EngineCache | None = None) -> None:
        self.engines = engines or EngineCache.default()

    @staticmethod
    def usable() -> bool:
        """TensorRT installed and a CUDA GPU present."""
        return trt_engines.available()[0]

    @classmethod
    def default(cls) -> TensorRTAccelerator:
        return cls()

    def accelerate_vision_encoder(self, loaded: LoadedSam2) -> None:
        """Swap ``loaded``'s image encoder for the cached engine, building it if missing."""
        if getattr(loaded, "accelerated", None):
            return
        import torch
        spec = encoder_spec(loaded)
        encoder = loaded.model.vision_encoder
        example = torch.zeros(spec.shapes.opt, dtype=loaded.dtype, device=loaded.device)
        run = self.engines.runner(spec, lambda: encoder_for_export(encoder), example)
        loaded.model.vision_encoder = engine_encoder(run, encoder.config)
        loaded.accelerated = self.engines.last.get("engine")  # type: ignore[attr-defined]

    def describe(self) -> dict[str, Any]:
        return trt_engines.describe(self.engines) or {}


def engine_encoder(run: Callable[[Any], list[Any]], config: Any) -> Any:
    """A module standing in for the torch image encoder, returning what it returned."""
    import torch
    from transformers.models.sam2_video.modeling_sam2_video import (
        Sam2VideoVisionEncoderOutput,
    )

    class EngineEncoder(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.config = config

        def forward(self, pixel_values: Any, return_dict: bool = True, **_: Any) -> Any:
            outs = run(pixel_values)
            # transformers annotates both as one tensor; its own encoder returns tuples of them.
            return Sam2VideoVisionEncoderOutput(
                last_hidden_state=None,
                fpn_hidden_states=tuple(outs[:3]),  # type: ignore[arg-type]
                fpn_position_encoding=tuple(outs[3:]))  # type: ignore[arg-type]

    return EngineEncoder()
