"""Dense optical flow between working-resolution frames: the one DIS wrapper.

OpenCV's DIS flow (fast, dense, CPU) gives the motion of every pixel; a forward-backward
check marks the pixels whose motion is trustworthy (not occluded, not out of frame, not
ambiguous). Mattes carry masks along it, depth aligns and triangulates with it, match cuts
average it into a camera-move signature.
"""

from __future__ import annotations

import threading

import cv2
import numpy as np

__all__ = ["gray", "flow", "consistent_flow", "sample", "flow_size", "MEDIUM", "FAST"]

# Forward-backward disagreement tolerated, in pixels: a constant plus a share of the motion.
CONSISTENCY_PX = 0.6
CONSISTENCY_REL = 0.05

_local = threading.local()


MEDIUM = cv2.DISOPTICAL_FLOW_PRESET_MEDIUM
FAST = cv2.DISOPTICAL_FLOW_PRESET_FAST


def _dis(preset: int) -> cv2.DISOpticalFlow:
    # DIS objects keep buffers between calls: one per thread and preset, never shared.
    engines = getattr(_local, "dis", None)
    if engines is None:
        engines = _local.dis = {}
    if preset not in engines:
        engines[preset] = cv2.DISOpticalFlow.create(preset)
    return engines[preset]


def gray(rgb: np.ndarray) -> np.ndarray:
    """An HxW uint8 luma image from an HxWx3 uint8 RGB frame (or a grey one)."""
    if rgb.ndim == 2:
        return np.ascontiguousarray(rgb)
    return cv2.cvtColor(np.ascontiguousarray(rgb[..., :3]), cv2.COLOR_RGB2GRAY)


def flow_size(width: int, height: int, max_side: int) -> tuple[int, int]:
    """(width, height) scaled down so the longer side is at most ``max_side``."""
    scale = min(1.0, max_side / max(width, height))
    return max(8, int(round(width * scale))), max(8, int(round(height * scale)))


def flow(a: np.ndarray, b: np.ndarray, preset: int = MEDIUM) -> np.ndarray:
    """Dense flow from grey frame ``a`` to ``b``: HxWx2 float32, pixel (x, y) of ``a`` moves
    to ``(x, y) + flow[y, x]`` in ``b``."""
    # OpenCV's stubs make the output argument required; None asks it to allocate one.
    return _dis(preset).calc(a, b, None)  # type: ignore[call-overload]


def sample(image: np.ndarray, field: np.ndarray, *, outside: float | None = None) -> np.ndarray:
    """``image`` read at ``(x, y) + field[y, x]`` (bilinear). Outside the frame: the edge
    value, or ``outside`` when given (a mask carried out of frame is empty, not smeared)."""
    h, w = field.shape[:2]
    xs, ys = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    if outside is None:
        return cv2.remap(image, xs + field[..., 0], ys + field[..., 1], cv2.INTER_LINEAR,
                         borderMode=cv2.BORDER_REPLICATE)
    return cv2.remap(image, xs + field[..., 0], ys + field[..., 1], cv2.INTER_LINEAR,
                     borderMode=cv2.BORDER_CONSTANT, borderValue=outside)


def inside(field: np.ndarray) -> np.ndarray:
    """Pixels whose flow target lies inside the frame."""
    h, w = field.shape[:2]
    xs, ys = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    x, y = xs + field[..., 0], ys + field[..., 1]
    return (x >= 0) & (y >= 0) & (x <= w - 1) & (y <= h - 1)


def consistent_flow(a: np.ndarray, b: np.ndarray, ab: np.ndarray | None = None
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Flows both ways between grey frames ``a`` and ``b``, and where each is trustworthy.

    Returns ``(flow_ab, valid_a, flow_ba, valid_b)``: a pixel is valid when following the
    flow there and back lands within ``CONSISTENCY_PX`` (+5 % of the motion) of where it
    started, and stays inside the frame. ``ab``: the forward flow, if already computed.
    """
    ab = flow(a, b) if ab is None else ab
    ba = flow(b, a)
    return ab, _check(ab, ba), ba, _check(ba, ab)


def _check(there: np.ndarray, back: np.ndarray) -> np.ndarray:
    returned = there + sample(back, there)
    error = np.sqrt((returned ** 2).sum(axis=2))
    motion = np.sqrt((there ** 2).sum(axis=2))
    return (error < CONSISTENCY_PX + CONSISTENCY_REL * motion) & inside(there)
