"""Which walks a matte needs: segments between keyframes, and how each frame is made.

Between two neighbouring keyframes of an object, a frame gets the forward walk from the
left keyframe and the backward walk from the right one, cross-faded by distance (each
keyframe is trusted most near itself). Before the first keyframe only the backward walk
reaches, after the last only the forward walk. A keyframe's own frame is its prompt's mask
(or the mask it was given).

A walk (:class:`Walk`) is identified by its anchor keyframe and direction only, not by where
it stops: walking from the same keyframe gives the same masks whatever lies beyond, so a
walk computed up to one frame serves every shorter need. Adding or changing a keyframe
therefore changes only the walks that start at it, and the walks that used to cross its
frame are simply cut short there: nothing outside its neighbouring keyframes is recomputed.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass

from .prompts import Keyframe

__all__ = ["Walk", "FramePlan", "plan_object"]


@dataclass(frozen=True)
class Walk:
    """Carry ``anchor``'s mask ``length`` frames in ``direction`` (+1 forward, -1 backward)."""

    anchor: Keyframe
    direction: int
    length: int

    @property
    def frames(self) -> range:
        """The frames the walk produces, in walking order (the anchor excluded)."""
        a = self.anchor.frame
        if self.direction > 0:
            return range(a + 1, a + self.length + 1)
        return range(a - 1, a - self.length - 1, -1)


@dataclass(frozen=True)
class FramePlan:
    """How one output frame is made: a keyframe's mask, or up to two walks cross-faded."""

    frame: int
    keyframe: Keyframe | None = None
    forward: Keyframe | None = None      # left keyframe whose forward walk reaches here
    backward: Keyframe | None = None     # right keyframe whose backward walk reaches here
    weight_backward: float = 0.0         # share of the backward walk in the cross-fade


def plan_object(keyframes: Sequence[Keyframe], first: int, last: int) -> tuple[list[Walk], list[FramePlan]]:
    """The walks needed to matte frames ``first..last`` of one object, and each frame's plan.

    ``keyframes`` (one object, any order) may lie outside the range: the nearest one on each
    side still anchors the frames in between.
    """
    keys = sorted(keyframes, key=lambda k: k.frame)
    frames = [k.frame for k in keys]
    need: dict[tuple[int, int], int] = {}   # (keyframe index, direction) -> length
    plans = []
    for t in range(first, last + 1):
        i = bisect.bisect_left(frames, t)
        if i < len(frames) and frames[i] == t:
            plans.append(FramePlan(t, keyframe=keys[i]))
            continue
        left = i - 1 if i > 0 else None
        right = i if i < len(frames) else None
        if left is not None:
            need[(left, 1)] = max(need.get((left, 1), 0), t - frames[left])
        if right is not None:
            need[(right, -1)] = max(need.get((right, -1), 0), frames[right] - t)
        weight = 0.0
        if left is not None and right is not None:
            weight = (t - frames[left]) / (frames[right] - frames[left])
        elif right is not None:
            weight = 1.0
        plans.append(FramePlan(t, forward=keys[left] if left is not None else None,
                               backward=keys[right] if right is not None else None,
                               weight_backward=weight))
    walks = [Walk(keys[i], d, n) for (i, d), n in sorted(need.items())]
    return walks, plans
