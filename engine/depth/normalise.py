"""What the numbers of a depth pass mean: the three normalisations and their record.

Every backend's aligned output is one of two things: relative *inverse depth* (large is near;
relative models and the parallax backend) or *depth* in scene units (metric models). The
user asks for one of three passes:

``relative``
    Relative inverse depth, one clip-wide affine map putting the clip's near end (its 99th
    percentile) at 1.0 and its far end (1st percentile) at 0.0: **white is near**, black is
    far; values slightly outside 0..1 are the extreme 1 % and kept in EXR. Convention
    ``inverse_depth``; no units.
``near-far``
    Depth normalised between the clip's near and far planes: ``(Z - near) / (far - near)``,
    0.0 at the near plane (**black is near**), 1.0 at the far plane, clamped to 0..1.
    Convention ``depth``. From relative inverse depth ``u`` this takes ``Z = 1 / u``, that is
    it assumes the inverse depth has no shift (exactly so for parallax; approximately for
    Depth Anything); the far plane is at most ``MAX_DEPTH_RATIO`` times the near plane.
``metric``
    Depth in scene units (metres), ``Z`` along the optical axis. Only from metric models.
    Convention ``depth``; **black is near**, values grow with distance.

The same record (mode, convention, channel, what is near, units, the clip-wide range and each
frame's scale/shift from raw model values) goes into every EXR header (``moviola/depth/*``)
and the result OTIO, so a comp can reproduce the mapping.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from moviola.plugin.errors import InvalidParamsError

__all__ = ["Normalisation", "MODES", "plan", "CHANNEL", "CONFIDENCE_CHANNEL", "PREVIEW_CHANNELS"]

Mode = Literal["relative", "near-far", "metric"]
MODES = ("relative", "near-far", "metric")
CHANNEL = "depth.Z"                     # EXR layer Nuke and others read as depth
CONFIDENCE_CHANNEL = "depth.confidence"  # EXR: 0.5..1 measured, under 0.5 filled (parallax)
PNG_CHANNEL = "Y"
PREVIEW_CHANNELS = ("R", "G", "B")      # optional normalised preview in the same EXR
MAX_DEPTH_RATIO = 1000.0                # near-far: far plane at most this x the near plane


@dataclass(frozen=True)
class Normalisation:
    mode: str
    convention: str          # "inverse_depth" or "depth"
    source: str              # what the aligned values are: "inverse_depth" or "depth"
    lo: float                # clip-wide range of the aligned values (1st / 99th percentile)
    hi: float
    units: str

    @property
    def near_is(self) -> str:
        return {"relative": "1.0 (white)", "near-far": "0.0 (black)",
                "metric": "small values (distance from the camera)"}[self.mode]

    @property
    def u_range(self) -> tuple[float, float]:
        """Clip-wide (far, near) inverse depth in the aligned unit."""
        if self.source == "inverse_depth":
            return self.lo, self.hi
        return 1.0 / max(self.hi, 1e-6), 1.0 / max(self.lo, 1e-6)

    @property
    def near(self) -> float:
        """Near plane, as depth in the aligned unit."""
        return 1.0 / self.u_range[1] if self.source == "inverse_depth" else self.lo

    @property
    def far(self) -> float:
        """Far plane: at most ``MAX_DEPTH_RATIO`` times the near plane."""
        if self.source == "inverse_depth":
            u_lo, u_hi = self.u_range
            return 1.0 / max(u_lo, u_hi / MAX_DEPTH_RATIO)
        return min(self.hi, self.lo * MAX_DEPTH_RATIO)

    def output(self, aligned: np.ndarray) -> np.ndarray:
        """The pass's values from aligned values (any resolution)."""
        a = aligned.astype(np.float32)
        if self.mode == "metric":
            return a
        inverse = self.source == "inverse_depth"
        if self.mode == "relative":
            u = a if inverse else 1.0 / np.maximum(a, 1e-6)
            u_lo, u_hi = self.u_range
            return ((u - u_lo) / max(u_hi - u_lo, 1e-12)).astype(np.float32)
        z = 1.0 / np.maximum(a, 1.0 / self.far) if inverse else a
        return np.clip((z - self.near) / max(self.far - self.near, 1e-12), 0.0, 1.0).astype(np.float32)

    def preview(self, values: np.ndarray) -> np.ndarray:
        """0..1, white near, from the pass's values: for viewers and thumbnails."""
        if self.mode == "relative":
            return np.clip(values, 0.0, 1.0)
        if self.mode == "near-far":
            return 1.0 - values
        return np.clip((self.hi - values) / max(self.hi - self.lo, 1e-12), 0.0, 1.0)

    def record(self) -> dict[str, Any]:
        aligned = ("u = scale * raw + shift" if self.source == "inverse_depth"
                   else "Z = scale * raw")
        out: dict[str, Any] = {"normalize": self.mode, "convention": self.convention,
                               "near_is": self.near_is, "units": self.units,
                               "aligned": self.source, "range": [self.lo, self.hi]}
        if self.mode == "relative":
            u_lo, u_hi = self.u_range
            out.update(inverse_depth_range=[u_lo, u_hi], formula=(
                "value = (u - inverse_depth_range[0]) / (inverse_depth_range[1] - "
                "inverse_depth_range[0]); " + aligned
                + ("" if self.source == "inverse_depth" else "; u = 1 / Z")))
        elif self.mode == "near-far":
            out.update(near=self.near, far=self.far, formula=(
                "value = clamp((Z - near) / (far - near), 0, 1); " + aligned
                + ("; Z = 1 / u" if self.source == "inverse_depth" else "")))
        else:
            out["formula"] = "value = Z = scale * raw (metres, along the optical axis)"
        return out

    def header(self) -> dict[str, Any]:
        """Clip-wide EXR/PNG header attributes (per-frame scale/shift are added per frame)."""
        out: dict[str, Any] = {}
        for key, value in self.record().items():
            if isinstance(value, list):
                out[f"moviola/depth/{key}_lo"], out[f"moviola/depth/{key}_hi"] = value
            else:
                out[f"moviola/depth/{key}"] = value
        return out


def plan(mode: str, source: str, metric: bool, ranges: list[tuple[float, float]]) -> Normalisation:
    """The clip's normalisation from its aligned per-frame ranges (1st/99th percentiles):
    the clip-wide range is the widest of them, so no frame is squeezed on its own.

    Raises:
        InvalidParamsError: ``metric`` asked of a backend that is not metric.
    """
    if mode not in MODES:
        raise InvalidParamsError(f"normalize must be one of {list(MODES)}, not {mode!r}")
    if mode == "metric" and not metric:
        raise InvalidParamsError("metric depth needs a metric model; this backend predicts "
                                 "relative depth (use relative or near-far)")
    if not ranges:
        raise InvalidParamsError("no frame of the clip has a depth measurement")
    lo = float(min(r[0] for r in ranges))
    hi = float(max(r[1] for r in ranges))
    if hi <= 0 or hi <= lo:
        raise InvalidParamsError("the clip's depth has no positive range: nothing to normalise")
    convention = "inverse_depth" if mode == "relative" else "depth"
    units = {"relative": "relative (0 far .. 1 near)", "near-far": "normalised (0 near .. 1 far)",
             "metric": "m"}[mode]
    return Normalisation(mode, convention, source, lo, hi, units)
