"""Per-pixel flicker left after alignment: a causal, flow-guided temporal filter.

Alignment gives every frame one consistent scale and shift, but a model's per-frame noise
(texture, small errors that change from frame to frame) still flickers. Each frame's aligned
map is blended with the previous *output* warped onto it along the optical flow, where the
warp is trustworthy: the pixel lands inside the frame, looks the same in both frames (not
occluded or revealed), and the two depths agree within ``TOLERANCE`` (a real depth change,
e.g. a moving object, is never smeared). With strength ``s`` this is an exponential average
along motion paths: noise drops to about ``sqrt((1 - s) / (1 + s))`` of its size (0.58 at
the default 0.5), and a depth that truly changes lags by about ``s / (1 - s)`` frames times
its change per frame.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import cv2
import numpy as np

from ..imaging import flow

if TYPE_CHECKING:
    from ..kernels.stages import OpenCLStages

__all__ = ["TemporalFilter", "DEFAULT_STRENGTH"]

DEFAULT_STRENGTH = 0.5
TOLERANCE = 0.1          # relative depth disagreement beyond which a pixel is not blended
PHOTOMETRIC = 12.0       # grey-level difference (0..255) beyond which a pixel is not blended
FLOW_MAX_SIDE = 512


class TemporalFilter:
    def __init__(self, strength: float = DEFAULT_STRENGTH,
                 stages: OpenCLStages | None = None) -> None:
        """``stages``: an OpenCL device for the warp and blend (the flow stays on the CPU)."""
        if not 0.0 <= strength < 1.0:
            raise ValueError("temporal strength must be in [0, 1)")
        self.strength = float(strength)
        self.stages = stages
        self._prev: tuple[np.ndarray, np.ndarray] | None = None   # (grey, output)

    def __call__(self, values: np.ndarray, image: np.ndarray) -> np.ndarray:
        """This frame's filtered map; ``values`` and ``image`` (HxWx3 uint8) at working
        resolution, frames in clip order."""
        h, w = values.shape
        size = flow.flow_size(w, h, FLOW_MAX_SIDE)
        grey = cv2.resize(flow.gray(image), size, interpolation=cv2.INTER_AREA)
        out = values.astype(np.float32)
        if self.strength > 0 and self._prev is not None and self._prev[1].shape == out.shape:
            prev_grey, prev_out = self._prev
            field = flow.flow(grey, prev_grey)
            if size != (w, h):
                field = cv2.resize(field, (w, h), interpolation=cv2.INTER_LINEAR)
                field[..., 0] *= w / size[0]
                field[..., 1] *= h / size[1]
                grey_here = cv2.resize(grey, (w, h), interpolation=cv2.INTER_LINEAR)
                grey_prev = cv2.resize(prev_grey, (w, h), interpolation=cv2.INTER_LINEAR)
            else:
                grey_here, grey_prev = grey, prev_grey
            if self.stages is not None:
                out = self.stages.temporal_blend(out, prev_out, field, grey_here, grey_prev,
                                                 self.strength, TOLERANCE, PHOTOMETRIC)
                self._prev = (grey, out)
                return out
            warped = flow.sample(prev_out, field)
            seen = np.abs(flow.sample(grey_prev.astype(np.float32), field)
                          - grey_here.astype(np.float32)) < PHOTOMETRIC
            agree = np.abs(warped - out) <= TOLERANCE * np.maximum(np.abs(out), np.abs(warped))
            blend = flow.inside(field) & seen & agree
            out = np.where(blend, out + self.strength * (warped - out), out).astype(np.float32)
        self._prev = (grey, out)
        return out
