"""Walk a keyframe's mask through the clip, forward or backward, one frame at a time.

The walk streams working-resolution frames (backward walks read chunks forward and hand
them out in reverse, :func:`.frames.reverse_frames`), so memory does not grow with the
clip. Each step computes the flow once; the backend's tracker estimates the new mask, and a
flow-compensated recursive filter blends it with the previous mask carried along the flow:
edges that flip from frame to frame (temporal chatter) average out, while real motion is
followed because the previous mask moves with the flow before it is blended.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from ..media.frame_source import FrameSource
from .backend import MatteBackend
from .flow import backward_flow, warp
from .frames import forward_frames, reverse_frames

if TYPE_CHECKING:
    from ..kernels.stages import OpenCLStages

__all__ = ["propagate"]


def propagate(source: FrameSource, backend: MatteBackend, anchor: int, anchor_image: np.ndarray,
              anchor_mask: np.ndarray, direction: int, length: int,
              on_frame: Callable[[int, np.ndarray], None],
              check: Callable[[], None] | None = None,
              stages: OpenCLStages | None = None,
              keyframe: tuple[np.ndarray, np.ndarray] | None = None) -> int:
    """Carry ``anchor_mask`` (on frame ``anchor``) ``length`` frames in ``direction`` (+1/-1).

    ``on_frame(frame, soft mask)`` receives each new frame's smoothed working-resolution mask
    in walking order; ``check()`` runs between frames (cancellation). ``stages``: the OpenCL
    device carrying the mask along the flow and blending (None: the CPU; the flow and the
    tracker stay on the CPU). ``keyframe``: the walk's keyframe (image, mask) when it resumes
    from a later ``anchor``, so the tracker learns from it. Returns frames computed.
    """
    if length <= 0:
        return 0
    if direction > 0:
        frames = forward_frames(source, anchor + 1, anchor + length, backend.working_size)
    else:
        frames = reverse_frames(source, anchor - length, anchor - 1, backend.working_size)
    blend = backend.TEMPORAL_BLEND
    tracker = backend.tracker(anchor_image, anchor_mask, keyframe)
    previous = anchor_image
    mask: np.ndarray = anchor_mask.astype(np.float32)
    done = 0
    try:
        for number, image in frames:
            if check is not None:
                check()
            motion = backward_flow(image, previous)
            if stages is not None:
                carried = stages.carry_mask(mask, motion)
                mask = stages.smooth_mask(tracker.step(image, motion, carried), carried, blend)
            else:
                carried = warp(mask, motion)
                raw = tracker.step(image, motion, carried)
                mask = blend * raw + (1.0 - blend) * carried
            on_frame(number, mask)
            previous = image
            done += 1
    finally:
        tracker.close()
        close = getattr(frames, "close", None)
        if close is not None:
            close()
    return done
