"""Soft alpha at the plate's full resolution from a working-resolution mask.

The working-resolution mask is scaled up, then a colour guided filter (He, Sun and Tang,
"Guided Image Filtering", 2010/2013) steered by the full-resolution plate re-draws the
edge so it follows the plate's own edges, soft where the plate is soft (motion blur, hair).
Measured on the synthetic clips (docs/mattes.md): with the mask at a quarter of the plate's
resolution it cuts the alpha error near edges by about 30 % against plain upscaling.
It runs only on a band around the edge (on the crop that holds it), so its cost follows the
length of the object's outline, not the frame size. Everything is box filters
(``cv2.boxFilter``), so ``cv2.ximgproc`` is not needed. Given ``stages`` (an OpenCL device,
:mod:`moviola.engine.kernels`), the guided filter on the band runs there instead.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import cv2
import numpy as np

from ..imaging.display import display_rgb8

if TYPE_CHECKING:
    from ..kernels.stages import OpenCLStages

__all__ = ["box", "guided_filter_gray", "guided_filter_color", "refine_alpha"]


def box(a: np.ndarray, r: int) -> np.ndarray:
    """Mean over a (2r+1)^2 window, reflecting at the borders."""
    return cv2.boxFilter(a, -1, (2 * r + 1, 2 * r + 1), normalize=True,
                         borderType=cv2.BORDER_REFLECT)


def guided_filter_gray(guide: np.ndarray, src: np.ndarray, r: int, eps: float) -> np.ndarray:
    """Guided filter with a one-channel guide (float32, 0..1)."""
    mean_i, mean_p = box(guide, r), box(src, r)
    var_i = box(guide * guide, r) - mean_i * mean_i
    cov_ip = box(guide * src, r) - mean_i * mean_p
    a = cov_ip / (var_i + eps)
    b = mean_p - a * mean_i
    return box(a, r) * guide + box(b, r)


def guided_filter_color(guide: np.ndarray, src: np.ndarray, r: int, eps: float) -> np.ndarray:
    """Guided filter with an RGB guide (HxWx3 float32, 0..1): edges between colours of equal
    brightness count too. The per-pixel 3x3 solve uses the closed-form inverse."""
    i = [guide[..., c] for c in range(3)]
    mean_i = [box(c, r) for c in i]
    mean_p = box(src, r)
    cov_ip = [box(c * src, r) - m * mean_p for c, m in zip(i, mean_i)]
    # Covariance of the guide, regularised: [[rr, rg, rb], [rg, gg, gb], [rb, gb, bb]].
    rr = box(i[0] * i[0], r) - mean_i[0] * mean_i[0] + eps
    rg = box(i[0] * i[1], r) - mean_i[0] * mean_i[1]
    rb = box(i[0] * i[2], r) - mean_i[0] * mean_i[2]
    gg = box(i[1] * i[1], r) - mean_i[1] * mean_i[1] + eps
    gb = box(i[1] * i[2], r) - mean_i[1] * mean_i[2]
    bb = box(i[2] * i[2], r) - mean_i[2] * mean_i[2] + eps
    inv_rr = gg * bb - gb * gb
    inv_rg = gb * rb - rg * bb
    inv_rb = rg * gb - gg * rb
    inv_gg = rr * bb - rb * rb
    inv_gb = rb * rg - rr * gb
    inv_bb = rr * gg - rg * rg
    det = rr * inv_rr + rg * inv_rg + rb * inv_rb
    a_r = (inv_rr * cov_ip[0] + inv_rg * cov_ip[1] + inv_rb * cov_ip[2]) / det
    a_g = (inv_rg * cov_ip[0] + inv_gg * cov_ip[1] + inv_gb * cov_ip[2]) / det
    a_b = (inv_rb * cov_ip[0] + inv_gb * cov_ip[1] + inv_bb * cov_ip[2]) / det
    b = mean_p - a_r * mean_i[0] - a_g * mean_i[1] - a_b * mean_i[2]
    return box(a_r, r) * i[0] + box(a_g, r) * i[1] + box(a_b, r) * i[2] + box(b, r)


def refine_alpha(soft: np.ndarray, plate: np.ndarray, eps: float = 1e-4,
                 radius: int | None = None, stages: OpenCLStages | None = None) -> np.ndarray:
    """Full-resolution soft alpha (HxW float32 0..1) from ``soft`` (working resolution).

    The working mask is scaled up and cut at 0.5, and that hard edge is guided-filtered by
    the plate: where the plate has an edge near it, alpha takes the plate's edge (position
    and softness); elsewhere it stays a clean, slightly smoothed edge. (Filtering the hard
    edge rather than the scaled-up soft one lets strong plate edges through at full
    contrast.) ``radius`` defaults to half a working pixel at full resolution (at least 1);
    ``eps`` sets how closely alpha follows the plate.
    """
    height, width = plate.shape[:2]
    h, w = soft.shape
    up: np.ndarray = soft.astype(np.float32)
    if (w, h) != (width, height):
        up = cv2.resize(up, (width, height), interpolation=cv2.INTER_LINEAR)
    scale = width / w
    r = radius or max(1, int(round(0.5 * scale)))
    hard = (up > 0.5).astype(np.uint8)
    edge = cv2.morphologyEx(hard, cv2.MORPH_GRADIENT, np.ones((3, 3), np.uint8))
    if not edge.any():
        return hard.astype(np.float32)
    band = cv2.dilate(edge, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 3, 2 * r + 3)))
    ys, xs = np.nonzero(band)
    y0, y1 = max(0, int(ys.min()) - 2 * r), min(height, int(ys.max()) + 2 * r + 1)
    x0, x1 = max(0, int(xs.min()) - 2 * r), min(width, int(xs.max()) + 2 * r + 1)
    alpha = hard.astype(np.float32)
    if stages is not None:
        alpha[y0:y1, x0:x1] = stages.guided_band(display_rgb8(plate[y0:y1, x0:x1]),
                                                 hard[y0:y1, x0:x1], band[y0:y1, x0:x1], r, eps)
        return alpha
    guide = display_rgb8(plate[y0:y1, x0:x1]).astype(np.float32) * (1.0 / 255.0)
    q = np.clip(guided_filter_color(guide, alpha[y0:y1, x0:x1], r, eps), 0.0, 1.0)
    inside = band[y0:y1, x0:x1].astype(bool)
    alpha[y0:y1, x0:x1][inside] = q[inside]
    return alpha
