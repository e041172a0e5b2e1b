"""Links between frames: two frames' raw values at the same scene points, kept as the
sufficient statistics of their least-squares alignment.

A :class:`Link` says "``scale_a * x + shift_a`` should equal ``scale_b * y + shift_b``", where
``x`` are frame ``a``'s raw values and ``y`` frame ``b``'s at matching pixels. It holds only
means (x, y, x², y², xy), so a clip of any length is stabilised from a few numbers per frame
pair. Links come from optical flow between neighbours (the stabiliser) and from geometry
(the parallax backend, where two frames' maps estimate the same frame).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Link", "measure_link"]

MIN_MATCHES = 64      # fewer matching pixels make no link
TRIM_MADS = 3.0       # matches further than this many MADs off the pairwise fit are dropped


@dataclass(frozen=True)
class Link:
    a: int            # frame numbers
    b: int
    weight: float     # confidence: share of the frame matched, times the source's weight
    mx: float
    my: float
    mxx: float
    myy: float
    mxy: float
    residual: float   # RMS misfit of the best pairwise affine alignment, relative to std(y)

    def normal_block(self, affine: bool) -> np.ndarray:
        """The quadratic form of ``E[(s_a x + t_a - s_b y - t_b)^2]`` over the unknowns
        ``(s_a, t_a, s_b, t_b)`` (or ``(s_a, s_b)`` when the shifts are fixed at zero)."""
        if not affine:
            return np.array([[self.mxx, -self.mxy], [-self.mxy, self.myy]])
        return np.array([[self.mxx, self.mx, -self.mxy, -self.mx],
                         [self.mx, 1.0, -self.my, -1.0],
                         [-self.mxy, -self.my, self.myy, self.my],
                         [-self.mx, -1.0, self.my, 1.0]])


def measure_link(a: int, b: int, x: np.ndarray, y: np.ndarray, pixels: int,
                 weight: float = 1.0) -> Link | None:
    """A link from matched raw values ``x`` (frame ``a``) and ``y`` (frame ``b``), or None if
    too few match. Outliers (occlusions the flow check missed, moving objects) are trimmed
    against one robust pairwise affine fit. ``pixels`` is the frame's pixel count."""
    x = np.asarray(x, dtype=np.float64).ravel()
    y = np.asarray(y, dtype=np.float64).ravel()
    finite = np.isfinite(x) & np.isfinite(y)
    x, y = x[finite], y[finite]
    if x.size < MIN_MATCHES:
        return None
    keep = np.ones(x.size, bool)
    for _ in range(2):
        xs, ys = x[keep], y[keep]
        var = xs.var()
        if var <= 1e-20 or ys.var() <= 1e-20:
            return None
        slope = ((xs - xs.mean()) * (ys - ys.mean())).mean() / var
        residual = y - (slope * x + ys.mean() - slope * xs.mean())
        mad = np.median(np.abs(residual[keep] - np.median(residual[keep]))) + 1e-12
        keep = np.abs(residual - np.median(residual[keep])) <= TRIM_MADS * 1.4826 * mad
        if keep.sum() < MIN_MATCHES:
            return None
    xs, ys = x[keep], y[keep]
    rms = float(np.sqrt(np.mean(residual[keep] ** 2)) / (ys.std() + 1e-12))
    return Link(a, b, float(weight * min(1.0, xs.size / max(pixels, 1))),
                float(xs.mean()), float(ys.mean()), float((xs * xs).mean()),
                float((ys * ys).mean()), float((xs * ys).mean()), rms)
