"""One object's matte over a frame range: keyframe masks, walks, and each frame's soft mask,
all through the segment cache so only what is missing gets computed."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any

import numpy as np

from ..media.frame_source import FrameSource
from ..media.identity import cache_key
from .backend import MatteBackend
from .cache import MatteCache
from .frames import to_working
from .key_masks import mask_alpha, mask_keyframe
from .plan import FramePlan, Walk, plan_object
from .prompts import Keyframe
from .propagate import Resume, propagate

if TYPE_CHECKING:
    from ..kernels.stages import OpenCLStages

__all__ = ["ObjectMatte", "keyframe_mask"]


def keyframe_mask(backend: MatteBackend, image: np.ndarray, keyframe: Keyframe,
                  full_size: tuple[int, int]) -> np.ndarray:
    """The keyframe's prompts, scaled to the working image, segmented (or its given mask,
    refined by its clicks)."""
    if keyframe.mask is not None:
        return mask_keyframe(backend, image, keyframe, full_size)
    h, w = image.shape[:2]
    prompts = keyframe.prompts.scaled(w / full_size[0], h / full_size[1])
    return backend.segment(image, prompts)


class ObjectMatte:
    """Plans and computes one object's matte for frames ``first..last`` of one media."""

    def __init__(self, object_id: int, keyframes: Sequence[Keyframe], first: int, last: int,
                 media: dict[str, Any], backend: MatteBackend, cache: MatteCache,
                 full_size: tuple[int, int]) -> None:
        self.object_id = object_id
        self.keyframes = list(keyframes)
        self.backend, self.cache = backend, cache
        self.full_size = full_size
        self._media = media
        self.walks, self.plans = plan_object(self.keyframes, first, last)
        self._key_masks: dict[int, np.ndarray] = {}
        self.computed_frames = 0      # frames walked in this run
        self.reused_frames = 0        # walk frames taken from the cache
        self.keyframes_computed = 0

    # ---- keys --------------------------------------------------------------------------------

    def keyframe_key(self, kf: Keyframe) -> str:
        return cache_key("key", self._media, self.object_id, kf.frame, kf.digest(),
                         self.backend.config_key())

    def walk_key(self, walk: Walk) -> str:
        return cache_key("walk", self._media, self.object_id, walk.anchor.frame,
                         walk.anchor.digest(), walk.direction, self.backend.config_key())

    # ---- work --------------------------------------------------------------------------------

    def pending_frames(self) -> int:
        """Walk frames this run still has to compute."""
        return sum(max(0, w.length - self.cache.walk_length(self.walk_key(w))) for w in self.walks)

    def _anchor_mask(self, source: FrameSource, kf: Keyframe) -> np.ndarray:
        if kf.frame not in self._key_masks:
            key = self.keyframe_key(kf)
            mask = self.cache.keyframe(key)
            if mask is None:
                image = to_working(source.read(kf.frame), self.backend.working_size)
                mask = self.cache.store_keyframe(key, keyframe_mask(self.backend, image, kf,
                                                                    self.full_size))
                self.keyframes_computed += 1
            self._key_masks[kf.frame] = mask
        return self._key_masks[kf.frame]

    def compute(self, source: FrameSource, on_frame: Callable[[], None],
                check: Callable[[], None] | None = None,
                stages: OpenCLStages | None = None) -> None:
        """Compute every missing keyframe mask and walk frame; ``on_frame()`` after each.
        ``stages``: the OpenCL device for the walks' warps and blends (None: the CPU)."""
        for plan in self.plans:
            if plan.keyframe is not None:
                self._anchor_mask(source, plan.keyframe)
        for walk in self.walks:
            key = self.walk_key(walk)
            stored = self.cache.walk_length(key)
            if stored >= walk.length:
                self.reused_frames += walk.length
                continue
            self.reused_frames += stored
            # Resume after the stored part (or start at the keyframe).
            start = walk.anchor.frame + walk.direction * stored
            mask = (self.cache.walk_mask(key, stored) if stored
                    else self._anchor_mask(source, walk.anchor))
            image = to_working(source.read(start), self.backend.working_size)
            writer = self.cache.walk_writer(key, stored)

            def store(_frame: int, m: np.ndarray, writer: Any = writer) -> None:
                writer.add(m)
                self.computed_frames += 1
                on_frame()

            # A resumed walk's tracker starts from the keyframe, as an unbroken walk's does, and
            # replays the stored frames up to the resume frame.
            resume = None
            if stored:
                resume = Resume(walk.anchor.frame,
                                to_working(source.read(walk.anchor.frame), self.backend.working_size),
                                self._anchor_mask(source, walk.anchor),
                                partial(self.cache.walk_mask, key))
            propagate(source, self.backend, start, image, mask, walk.direction,
                      walk.length - stored, store, check, stages, resume)
            writer.commit({"anchor": walk.anchor.frame, "direction": walk.direction,
                           "object": self.object_id, "prompts": walk.anchor.prompts.to_wire(),
                           "backend": self.backend.describe()},
                          device=stages.label if stages is not None else "cpu")

    def given_alpha(self, plan: FramePlan) -> np.ndarray | None:
        """A keyframe given as a mask without clicks is its own output, soft edges and all, at
        full resolution (no refinement); None for every other frame."""
        kf = plan.keyframe
        if kf is None or kf.mask is None or kf.prompts.given:
            return None
        return mask_alpha(kf)

    def soft_mask(self, plan: FramePlan) -> np.ndarray:
        """The frame's working-resolution soft mask (after :meth:`compute`)."""
        if plan.keyframe is not None:
            return self._key_masks[plan.keyframe.frame]
        parts = []
        if plan.forward is not None and plan.weight_backward < 1.0:
            key = self.walk_key(Walk(plan.forward, 1, 0))
            parts.append((1.0 - plan.weight_backward,
                          self.cache.walk_mask(key, plan.frame - plan.forward.frame)))
        if plan.backward is not None and plan.weight_backward > 0.0:
            key = self.walk_key(Walk(plan.backward, -1, 0))
            parts.append((plan.weight_backward,
                          self.cache.walk_mask(key, plan.backward.frame - plan.frame)))
        return sum(w * m for w, m in parts)  # type: ignore[return-value]

    def summary(self) -> dict[str, Any]:
        return {"computed_frames": self.computed_frames, "reused_frames": self.reused_frames,
                "keyframes_computed": self.keyframes_computed,
                "walks": [{"anchor": w.anchor.frame, "direction": w.direction, "length": w.length,
                           # where its masks were computed, this run or an earlier one
                           "devices": self.cache.walk_record(self.walk_key(w)).get("devices", [])}
                          for w in self.walks]}
