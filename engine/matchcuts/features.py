"""Per-shot vectors for every flavour, read from the media in one forward pass.

:data:`FLAVOURS` names each flavour's class; :func:`flavours` builds the ones asked for.
:func:`describe_shots` collects the frames every flavour samples from each shot, reads
them in increasing order at 128x72 (so the decoder runs forward and seeks only across big
gaps) and keeps one shot's frames at a time.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np

from ..media.frame_source import FrameSource
from ..shots.detect import Shot
from ..shots.stream import small_frames
from .flavour import Flavour
from .look import LookFlavour
from .motion import MotionFlavour
from .silhouette import FrameFlavour

if TYPE_CHECKING:
    from .segmentation import Segmenter

__all__ = ["FLAVOURS", "WORKING_SIZE", "flavours", "describe_shots"]

FLAVOURS: dict[str, type[Flavour]] = {"frame": FrameFlavour, "motion": MotionFlavour,
                                      "look": LookFlavour}
WORKING_SIZE = (128, 72)


def flavours(names: Sequence[str], *, segmenter: Segmenter | None = None) -> list[Flavour]:
    """Flavour objects for ``names`` ("all" means every one), in a fixed order; the frame
    flavour takes its silhouettes from ``segmenter`` when one is given."""
    wanted = set(FLAVOURS) if "all" in names else set(names)
    return [FrameFlavour(segmenter) if cls is FrameFlavour else cls()
            for name, cls in FLAVOURS.items() if name in wanted]


def describe_shots(source: FrameSource, shots: Sequence[Shot], kinds: Sequence[Flavour], fps: float,
                   on_shot: Callable[[int], None] | None = None) -> list[dict[str, np.ndarray]]:
    """``[{flavour name: vector}]`` for each shot of ``source`` (shots in any order).

    ``on_shot(i)`` is called after each shot; it may raise to cancel.
    """
    last = source.last_frame
    plans = []
    for shot in shots:
        wanted = {k.NAME: [n for n in k.sample(shot.start, shot.end)
                           if source.first_frame <= n <= last] for k in kinds}
        plans.append(wanted)
    out: list[dict[str, np.ndarray]] = [{} for _ in shots]
    for i in sorted(range(len(shots)), key=lambda i: shots[i].start):
        numbers = sorted({n for ns in plans[i].values() for n in ns})
        frames = dict(small_frames(source, WORKING_SIZE, numbers))
        for kind in kinds:
            mine = {n: frames[n] for n in plans[i][kind.NAME]}
            # A shot too short to sample has nothing to match on: a zero vector.
            out[i][kind.NAME] = kind.describe(mine, fps) if mine else np.zeros(kind.DIM, np.float32)
        if on_shot is not None:
            on_shot(i)
    return out

