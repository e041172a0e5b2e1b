"""How much of the change between two frames one displacement field explains.

A camera move (a pan, a whip pan, shake) or an object moving carries the picture along: warp
the earlier frame by the optical flow to the later one and little change is left. A dissolve
lays two pictures over each other; where they move differently, or where one holds still
while the other changes, no single field carries both, and most of the change stays. The
classical detector asks this of a dissolve candidate's frames before it believes the blend,
and of a candidate cut inside fast motion; the fused detector of the network's unsure
transitions.

The flow is the engine's DIS wrapper (:mod:`moviola.engine.imaging.flow`) on the detectors'
small luma frames (64x36): about a millisecond a pair with the shift search.
"""

from __future__ import annotations

import cv2
import numpy as np

from ..imaging.flow import flow, sample

__all__ = ["left_over"]

# Mean level change (8-bit) below which a pair is taken as unchanged: nothing to explain.
_STILL = 0.5
# Farthest whole-frame shift looked for, as a share of the frame's width and height.
_REACH = 0.4


def left_over(before: np.ndarray, after: np.ndarray) -> float:
    """Share of the change from ``before`` to ``after`` (uint8 luma frames of one size) left
    once the motion is followed: mean |after - before carried| over mean |after - before|.
    Near 0 when motion explains the change, near 1 (or above) when it does not; 1 for frames
    that barely differ."""
    change = float(np.abs(after.astype(np.float32) - before).mean())
    if change < _STILL:
        return 1.0
    # For each pixel of ``after``, where it was in ``before``; read ``before`` there.
    carried = sample(before.astype(np.float32), flow(after, before))
    followed = float(np.abs(after - carried).mean())
    return min(followed, _shifted(before, after)) / change


def _shifted(before: np.ndarray, after: np.ndarray) -> float:
    """Mean |after - before shifted| at the best whole-frame shift up to ``_REACH`` of the
    frame: the flow's pyramid is too short at this size for a whip pan's displacement (a
    third of the frame a frame); one shift of the whole frame is not."""
    h, w = before.shape
    rx, ry = int(w * _REACH), int(h * _REACH)
    padded = cv2.copyMakeBorder(before.astype(np.float32), ry, ry, rx, rx, cv2.BORDER_REPLICATE)
    squared = cv2.matchTemplate(padded, after.astype(np.float32), cv2.TM_SQDIFF)
    y, x = np.unravel_index(int(np.argmin(squared)), squared.shape)
    moved = padded[y:y + h, x:x + w]
    return float(np.abs(after - moved).mean())
