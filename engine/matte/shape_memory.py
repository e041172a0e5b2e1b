"""Where the whole object is, including the parts something passes in front of.

The walk's own mask only holds what was visible in the last frame. The remembered shape is
that mask's union with what was remembered before, moved with the object's own motion
rather than the flow, since over a hidden part the flow follows whatever hides it. The
object's motion is a similarity (shift, turn, scale) fitted to the flow inside its visible
part; when little or none of it is visible it keeps its last shift, as a hidden object goes on
moving. The shape fades by ``DECAY`` a frame: a part hidden for long is no longer offered
back as it was (it stays a place to look for the object, see :attr:`ShapeMemory.trace`), and
a wrong part is not kept for ever.
"""

from __future__ import annotations

import cv2
import numpy as np

__all__ = ["ShapeMemory"]


class ShapeMemory:
    DECAY = 0.96        # a part unseen for about 17 frames falls under one half
    TRACE = 0.05        # ... and leaves the trace after about 70
    # Visible share of the remembered shape under which its motion is not measured: a sliver
    # at an occluder's edge moves partly with the occluder.
    SIMILARITY_SHARE = 0.3
    SAMPLES = 400

    def __init__(self, mask: np.ndarray) -> None:
        self.soft = (mask > 0.5).astype(np.float32)
        self.shift = np.zeros(2, np.float32)     # the object's last known motion (x, y)
        self.rng = np.random.default_rng(0)
        # The last step's motion (2x3, current to previous pixels) and whether it was measured
        # on this frame (False: too little was visible, it is the last shift carried on).
        self.model = np.array([[1, 0, 0], [0, 1, 0]], np.float32)
        self.measured = False

    def _motion(self, flow: np.ndarray, visible: np.ndarray) -> np.ndarray | None:
        """A 2x3 map from current to previous pixels for the object, from the flow at its
        ``visible`` pixels (bool); None when nothing is visible."""
        ys, xs = np.nonzero(visible)
        visible_count = len(xs)
        if visible_count < 12:
            return None
        if len(xs) > self.SAMPLES:
            pick = self.rng.choice(len(xs), self.SAMPLES, replace=False)
            ys, xs = ys[pick], xs[pick]
        moves = flow[ys, xs]
        if visible_count < self.SIMILARITY_SHARE * max(self.area, 1):
            return None     # too little of it to measure: it keeps its last shift
        self.shift = np.median(moves, axis=0).astype(np.float32)
        src = np.stack([xs, ys], axis=1).astype(np.float32)
        model, _ = cv2.estimateAffinePartial2D(src, src + moves, method=cv2.RANSAC,
                                               ransacReprojThreshold=1.0)
        return model

    def carry(self, flow: np.ndarray, visible: np.ndarray) -> np.ndarray:
        """The remembered shape on the current frame (bool, above one half), moved with the
        object's motion measured at its ``visible`` pixels (the carried mask's interior)."""
        h, w = self.soft.shape
        model = self._motion(flow, visible)
        self.measured = model is not None
        if model is None:
            model = np.array([[1, 0, self.shift[0]], [0, 1, self.shift[1]]], np.float32)
        self.model = model.astype(np.float32)
        moved = cv2.warpAffine(self.soft, model.astype(np.float32), (w, h),
                               flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                               borderMode=cv2.BORDER_CONSTANT, borderValue=0.0)
        self.soft = (moved * self.DECAY).astype(np.float32)
        return self.soft > 0.5

    def remember(self, mask: np.ndarray) -> None:
        """Add this frame's object (bool) to the shape."""
        self.soft = np.maximum(self.soft, mask.astype(np.float32))

    @property
    def area(self) -> int:
        return int(np.count_nonzero(self.soft > 0.5))

    @property
    def trace(self) -> np.ndarray:
        """Everywhere the object was remembered lately (bool): where to look for it."""
        return self.soft > self.TRACE
