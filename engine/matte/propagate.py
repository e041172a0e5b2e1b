"""Walk a keyframe's mask through the clip, forward or backward, one frame at a time.

The walk streams working-resolution frames (backward walks read chunks forward and hand
them out in reverse, :func:`.frames.reverse_frames`), so memory does not grow with the
clip. Each step computes the flow once; the backend's tracker estimates the new mask, and a
flow-compensated recursive filter blends it with the previous mask carried along the flow:
edges that flip from frame to frame (temporal chatter) average out, while real motion is
followed because the previous mask moves with the flow before it is blended.

A walk extended from its cache resumes after its last stored frame. Its tracker starts from the
keyframe, as an unbroken walk's does, and replays the stored frames (:class:`Resume`): the flow
of each step carries the tracker's memory (the classical walk's remembered shape, how long the
object has been lost) and frames that agree with it teach the colours, without the per-frame
cuts. The stored masks are the blended ones, not the cuts themselves, so the rebuilt memory is
close to an unbroken walk's, not identical with it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ..media.frame_source import FrameSource
from .backend import MatteBackend, Tracker
from .flow import backward_flow, warp
from .frames import forward_frames, reverse_frames

if TYPE_CHECKING:
    from ..kernels.stages import OpenCLStages

__all__ = ["Resume", "propagate"]


@dataclass(frozen=True)
class Resume:
    """Where a resumed walk comes from: its keyframe and the masks it stored after it."""

    frame: int                              # the keyframe's frame number
    image: np.ndarray                       # the keyframe (working resolution)
    mask: np.ndarray                        # its mask
    stored: Callable[[int], np.ndarray]     # offset from the keyframe (1 = next) -> stored mask


def _frames(source: FrameSource, first: int, last: int, direction: int,
            max_side: int) -> Iterator[tuple[int, np.ndarray]]:
    """Working-resolution frames ``first .. last`` (``first <= last``) in walking order."""
    if direction > 0:
        return forward_frames(source, first, last, max_side)
    return reverse_frames(source, first, last, max_side)


def _replay(source: FrameSource, backend: MatteBackend, tracker: Tracker, resume: Resume,
            anchor: int, direction: int, check: Callable[[], None] | None) -> None:
    """Feed ``tracker`` the stored frames after the keyframe up to ``anchor`` (the resume
    frame): one flow per frame, no cuts."""
    first, last = sorted((resume.frame + direction, anchor))
    frames = _frames(source, first, last, direction, backend.working_size)
    previous, mask = resume.image, resume.mask.astype(np.float32)
    try:
        for offset, (_number, image) in enumerate(frames, start=1):
            if check is not None:
                check()
            motion = backward_flow(image, previous)
            stored = resume.stored(offset)
            tracker.replay(image, motion, warp(mask, motion), stored)
            previous, mask = image, stored
    finally:
        close = getattr(frames, "close", None)
        if close is not None:
            close()


def propagate(source: FrameSource, backend: MatteBackend, anchor: int, anchor_image: np.ndarray,
              anchor_mask: np.ndarray, direction: int, length: int,
              on_frame: Callable[[int, np.ndarray], None],
              check: Callable[[], None] | None = None,
              stages: OpenCLStages | None = None,
              resume: Resume | None = None) -> int:
    """Carry ``anchor_mask`` (on frame ``anchor``) ``length`` frames in ``direction`` (+1/-1).

    ``on_frame(frame, soft mask)`` receives each new frame's smoothed working-resolution mask
    in walking order; ``check()`` runs between frames (cancellation). ``stages``: the OpenCL
    device carrying the mask along the flow and blending (None: the CPU; the flow and the
    tracker stay on the CPU). ``resume``: the walk's keyframe and stored masks when it resumes
    from a later ``anchor`` (the last stored frame); the tracker starts from the keyframe and
    replays the stored frames. Returns frames computed.
    """
    if length <= 0:
        return 0
    first, last = sorted((anchor + direction, anchor + direction * length))
    blend = backend.TEMPORAL_BLEND
    keyframe = (resume.image, resume.mask) if resume is not None else None
    tracker = backend.tracker(anchor_image, anchor_mask, keyframe)
    if resume is not None and tracker.REPLAYS:
        try:
            _replay(source, backend, tracker, resume, anchor, direction, check)
        except BaseException:
            tracker.close()
            raise
    frames = _frames(source, first, last, direction, backend.working_size)
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
