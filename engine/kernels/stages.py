"""The full-resolution pixel stages on an OpenCL device, each the same computation as its
CPU function (named on each method) on the same inputs.

Callers pass an :class:`OpenCLStages` where the CPU function takes ``stages``; ``None`` means
the CPU path. Every method takes one of the device's buffer sets for its whole run
(:meth:`.runtime.Runtime.buffers`), so the buffers it reuses belong to one frame at a time,
and threads writing frames overlap: one frame uploads while another's kernels run.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np

from .runtime import Runtime

__all__ = ["OpenCLStages", "STRIP_ROWS", "upsample_taps"]

# Rows of the edge crop filtered at once: bounds the guided filter's device memory (39
# float planes of the strip) to about 150 MB on a 4K-wide crop, whatever the crop's height.
STRIP_ROWS = 256


@lru_cache(maxsize=8)
def upsample_taps(h: int, w: int, H: int, W: int
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per output column and row: the two working indices and their bilinear weights (W x 2,
    H x 2), computed exactly as ``depth.upsample._taps`` does."""
    def axis(n_out: int, n_in: int) -> tuple[np.ndarray, np.ndarray]:
        pos = (np.arange(n_out, dtype=np.float64) + 0.5) * n_in / n_out - 0.5
        base = np.floor(pos)
        index = np.stack([np.clip(base + k, 0, n_in - 1) for k in (0, 1)], axis=1)
        weight = np.stack([(1.0 - np.abs(pos - (base + k))).astype(np.float32) for k in (0, 1)],
                          axis=1)
        return np.ascontiguousarray(index, np.int32), np.ascontiguousarray(weight, np.float32)
    qx, wx = axis(W, w)
    qy, wy = axis(H, h)
    return qx, wx, qy, wy


def _i(v: int) -> np.int32:
    return np.int32(v)


class OpenCLStages:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.name = runtime.entry["name"]

    @property
    def label(self) -> str:
        """Where pixels ran, as records name it (``cpu`` is the CPU path's)."""
        return f"opencl: {self.name}"

    def describe(self) -> dict[str, Any]:
        entry = self.runtime.entry
        return {"pixels": "opencl", "name": entry["name"], "platform": entry.get("platform"),
                "kind": entry.get("kind")}

    # --- matte: refine.refine_alpha's guided filter on the edge band ------------------------

    def guided_band(self, guide: np.ndarray, hard: np.ndarray, band: np.ndarray, r: int,
                    eps: float) -> np.ndarray:
        """Alpha of the crop (HxW float32): ``refine.guided_filter_color`` of the hard edge
        guided by ``guide`` (HxWx3 uint8), clipped to 0..1, inside ``band``; ``hard``
        elsewhere. Done in strips of :data:`STRIP_ROWS` rows with a 2r halo."""
        height, width = hard.shape
        halo = 2 * r
        out = np.empty((height, width), np.float32)
        copies = []
        with self.runtime.buffers() as rt:
            for s0 in range(0, height, STRIP_ROWS):
                s1 = min(height, s0 + STRIP_ROWS)
                a, b = max(0, s0 - halo), min(height, s1 + halo)
                rows = b - a
                n = rows * width
                g = rt.upload("gf.guide", guide[a:b])
                hd = rt.upload("gf.hard", hard[a:b])
                bd = rt.upload("gf.band", band[a:b])
                planes = rt.buffer("gf.planes", 13 * n * 4)
                tmp = rt.buffer("gf.tmp", 13 * n * 4)
                means = rt.buffer("gf.means", 13 * n * 4)
                alpha = rt.buffer("gf.alpha", (s1 - s0) * width * 4)
                dims = (_i(width), _i(rows))
                rt.run("gf_products", (width, rows), g, hd, planes, *dims)
                rt.run("box_rows", (width, rows, 13), planes, tmp, *dims, _i(r), _i(0))
                rt.run("box_cols", (width, rows, 13), tmp, means, *dims, _i(r), _i(0), _i(a),
                       _i(height))
                rt.run("gf_coeffs", (width, rows), means, tmp, *dims, np.float32(eps))
                rt.run("box_rows", (width, rows, 4), tmp, means, *dims, _i(r), _i(0))
                rt.run("box_cols", (width, rows, 4), means, tmp, *dims, _i(r), _i(0), _i(a),
                       _i(height))
                rt.run("gf_output", (width, s1 - s0), planes, tmp, hd, bd, alpha, *dims,
                       _i(s0 - a), _i(s1 - s0))
                # Queued, not awaited: the next strip's uploads follow on the same in-order
                # queue, so the host never stalls the device between strips.
                copies.append(rt.download_into(alpha, out[s0:s1]))
            for copy in copies:
                copy.wait()
        return out

    # --- depth: upsample.upsample ----------------------------------------------------------

    def upsample(self, values: np.ndarray, small: np.ndarray, guide: np.ndarray,
                 table: np.ndarray, dtype: Any = np.float32) -> np.ndarray:
        """``upsample.upsample``: ``values`` (h x w float32) to the size of ``guide`` (H x W x 3
        uint8), ``small`` being the guide at working size and ``table`` the colour weights.
        ``dtype`` uint16: quantised on the device as :meth:`quantize` does, so only the
        integers come back (half the bytes of the floats)."""
        h, w = values.shape
        H, W = guide.shape[:2]
        qx, wx, qy, wy = upsample_taps(h, w, H, W)
        with self.runtime.buffers() as rt:
            args = [rt.upload("up.values", values), rt.upload("up.small", small),
                    rt.upload("up.guide", guide), rt.upload("up.qx", qx), rt.upload("up.wx", wx),
                    rt.upload("up.qy", qy), rt.upload("up.wy", wy),
                    rt.upload("up.table", table)]
            out = rt.buffer("up.out", H * W * 4)
            rt.run("jbu", (W, H), *args, out, _i(w), _i(W), _i(H))
            if np.dtype(dtype) == np.uint16:
                q = rt.buffer("up.u16", H * W * 2)
                rt.run("quantize_u16", (max(H * W, 1),), out, q, _i(H * W))
                return rt.download(q, (H, W), np.uint16)
            return rt.download(out, (H, W))

    # --- flow warping and the temporal filter --------------------------------------------

    def warp(self, image: np.ndarray, field: np.ndarray, outside: float | None = None
             ) -> np.ndarray:
        """``flow.sample`` for a one-channel float32 image."""
        h, w = field.shape[:2]
        with self.runtime.buffers() as rt:
            src = rt.upload("warp.image", np.asarray(image, np.float32))
            fld = rt.upload("warp.field", np.asarray(field, np.float32))
            out = rt.buffer("warp.out", h * w * 4)
            rt.run("warp", (w, h), src, fld, out, _i(w), _i(h), _i(outside is None),
                   np.float32(outside or 0.0))
            return rt.download(out, (h, w))

    def temporal_blend(self, values: np.ndarray, prev_out: np.ndarray, field: np.ndarray,
                       grey_here: np.ndarray, grey_prev: np.ndarray, strength: float,
                       tolerance: float, photometric: float) -> np.ndarray:
        """One step of ``temporal.TemporalFilter`` once the flow is known (all at working size)."""
        h, w = values.shape
        with self.runtime.buffers() as rt:
            args = [rt.upload("tf.values", np.asarray(values, np.float32)),
                    rt.upload("tf.prev", np.asarray(prev_out, np.float32)),
                    rt.upload("tf.field", np.asarray(field, np.float32)),
                    rt.upload("tf.here", np.asarray(grey_here, np.float32)),
                    rt.upload("tf.grey_prev", np.asarray(grey_prev, np.float32))]
            out = rt.buffer("tf.out", h * w * 4)
            rt.run("temporal_blend", (w, h), *args, out, _i(w), _i(h), np.float32(strength),
                   np.float32(tolerance), np.float32(photometric))
            return rt.download(out, (h, w))

    # --- the matte propagation: masks carried along the flow, temporal smoothing ------------

    def carry_mask(self, mask: np.ndarray, field: np.ndarray) -> np.ndarray:
        """``matte.flow.warp``: the previous mask moved along ``field``; empty from outside."""
        return self.warp(mask, field, 0.0)

    def smooth_mask(self, raw: np.ndarray, carried: np.ndarray, blend: float) -> np.ndarray:
        """``blend * raw + (1 - blend) * carried`` in float32, as ``matte.propagate`` blends."""
        raw = np.asarray(raw, np.float32)
        with self.runtime.buffers() as rt:
            a = rt.upload("ms.raw", raw)
            b = rt.upload("ms.carried", np.asarray(carried, np.float32))
            out = rt.buffer("ms.out", raw.nbytes)
            rt.run("mask_smooth", (max(raw.size, 1),), a, b, out, _i(raw.size),
                   np.float32(blend), np.float32(1.0 - blend))
            return rt.download(out, raw.shape)

    # --- conversions to the output formats -----------------------------------------------

    def quantize(self, values: np.ndarray, dtype: Any) -> np.ndarray:
        """``np.round(np.clip(values, 0, 1) * max).astype(dtype)`` for ``dtype`` uint16 or
        uint8 (``max`` its largest value): what a 16-bit PNG, ProRes or 8-bit file is given."""
        dtype = np.dtype(dtype)
        kernel = {np.dtype(np.uint16): "quantize_u16", np.dtype(np.uint8): "quantize_u8"}[dtype]
        flat = np.asarray(values, np.float32)
        with self.runtime.buffers() as rt:
            src = rt.upload("q.values", flat)
            out = rt.buffer("q.out", flat.size * dtype.itemsize)
            rt.run(kernel, (max(flat.size, 1),), src, out, _i(flat.size))
            return rt.download(out, flat.shape, dtype)
