"""Conversions to the output formats, on an OpenCL device or the CPU: the same integers.

Round half to even on the float32 product, as numpy rounds and as ``convert.cl`` does, so a
16-bit file written from the device is bit-identical to one written from the CPU whenever the
values handed over are.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from .stages import OpenCLStages

__all__ = ["to_uint16"]


def to_uint16(values: np.ndarray, stages: OpenCLStages | None = None) -> np.ndarray:
    """``values`` (float, 0..1; clipped) as 16-bit integers for a PNG or ProRes file,
    quantised on ``stages``' device when given."""
    if stages is not None:
        return stages.quantize(values, np.uint16)
    return np.round(np.clip(np.asarray(values, np.float32), 0.0, 1.0) * 65535.0).astype(np.uint16)
