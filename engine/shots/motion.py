"""How much of the change between two frames one displacement field explains.

A camera move (a pan, a whip pan, shake) or an object moving carries the picture along: warp
the earlier frame by the optical flow to the later one and little change is left. A dissolve
lays two pictures over each other; where they move differently, or where one holds still
while the other changes, no single field carries both, and most of the change stays. The
classical detector asks this of a dissolve candidate's frames before it believes the blend.

The flow is OpenCV's DIS on the detectors' small luma frames (64x36): well under a
millisecond a pair, and only asked for frames a blend test has already passed.
"""

from __future__ import annotations

import cv2
import numpy as np

__all__ = ["MotionProbe"]

# Mean level change (8-bit) below which a pair is taken as unchanged: nothing to explain.
_STILL = 0.5
# Farthest whole-frame shift looked for, as a share of the frame's width and height.
_REACH = 0.4


class MotionProbe:
    """Share of the change from one frame to the next left after following the motion."""

    def __init__(self) -> None:
        self._flow = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
        self._grid: tuple[np.ndarray, np.ndarray] | None = None

    def left_over(self, before: np.ndarray, after: np.ndarray) -> float:
        """Mean |after - before warped by the flow| over mean |after - before| for two uint8
        luma frames of one size: near 0 when motion explains the change, near 1 (or above)
        when it does not; 1 for frames that barely differ."""
        change = float(np.abs(after.astype(np.float32) - before).mean())
        if change < _STILL:
            return 1.0
        h, w = before.shape
        if self._grid is None or self._grid[0].shape != (h, w):
            self._grid = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
        # For each pixel of ``after``, where it was in ``before``.
        flow = self._flow.calc(after, before, None)
        gx, gy = self._grid
        carried = cv2.remap(before.astype(np.float32), gx + flow[..., 0], gy + flow[..., 1],
                            cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        followed = float(np.abs(after - carried).mean())
        return min(followed, self._shifted(before, after)) / change

    @staticmethod
    def _shifted(before: np.ndarray, after: np.ndarray) -> float:
        """Mean |after - before shifted| at the best whole-frame shift up to ``_REACH`` of
        the frame: the flow's pyramid is too short at this size for a whip pan's
        displacement (a third of the frame a frame), one shift of the whole frame is not."""
        h, w = before.shape
        rx, ry = int(w * _REACH), int(h * _REACH)
        padded = cv2.copyMakeBorder(before.astype(np.float32), ry, ry, rx, rx, cv2.BORDER_REPLICATE)
        squared = cv2.matchTemplate(padded, after.astype(np.float32), cv2.TM_SQDIFF)
        y, x = np.unravel_index(int(np.argmin(squared)), squared.shape)
        moved = padded[y:y + h, x:x + w]
        return float(np.abs(after - moved).mean())
