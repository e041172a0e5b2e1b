"""Where the whole object is, including the parts something passes in front of.

The walk's own mask only holds what was visible in the last frame. The remembered shape is
that mask's union with what was remembered before, moved with the object's own (affine)
motion rather than the flow, since over a hidden part the flow follows whatever hides it.
It fades by ``decay`` a frame, so a part that stays hidden is forgotten after a while, and
a wrong part is not kept for ever.
"""

from __future__ import annotations

import cv2
import numpy as np

from .flow import warp

__all__ = ["ShapeMemory"]


class ShapeMemory:
    DECAY = 0.96    # a part unseen for about 17 frames falls under one half

    def __init__(self, mask: np.ndarray) -> None:
        self.soft = (mask > 0.5).astype(np.float32)

    def carry(self, flow: np.ndarray, object_affine: np.ndarray | None) -> np.ndarray:
        """The remembered shape on the current frame (bool), moved by the object's motion
        (``object_affine``: current -> previous pixels; None: along ``flow``)."""
        h, w = self.soft.shape
        if object_affine is None:
            moved = warp(self.soft, flow)
        else:
            moved = cv2.warpAffine(self.soft, object_affine.astype(np.float32), (w, h),
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
