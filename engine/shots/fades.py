"""Fades through black, found from each frame's mean level; shared by every backend.

A run of black frames (mean level below ``black_level``) between two shots is either one
fade-through-black, when it is short (the cut sits in the middle of the black), or a black
segment of its own, when it lasts ``hold`` frames or more (a boundary on each side, in the
middle of its fade ramp; a hard cut where there is no ramp). Black at the very start or end
of the media only makes a boundary when it lasts that long. Each fade owns the frames of its
ramps: boundaries a backend found inside them are the same event and give way.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .detect import Cut

__all__ = ["fade_cuts", "combine"]

# Level steps smaller than this (8-bit) are noise, not a ramp.
_TOLERANCE = 0.4


def _outside(luma: Sequence[float], at: int, step: int, limit: int) -> int:
    """From ``at``, walk away from the black while the level keeps rising; last index."""
    i = at
    while 0 <= i + step < len(luma) and abs(i + step - at) <= limit \
            and luma[i + step] > luma[i] + _TOLERANCE:
        i += step
    return i


def _inside(luma: Sequence[float], at: int, stop: int, step: int) -> int:
    """From the black run's edge, walk into it while the level keeps falling; last index."""
    i = at
    while i + step != stop and 0 <= i + step < len(luma) and luma[i + step] < luma[i] - _TOLERANCE:
        i += step
    return i


def _edge(a: int, b: int, first: int, confidence: float) -> Cut:
    """Boundary between black and a shot over ramp ``a..b`` (inclusive)."""
    if b - a <= 1:
        return Cut(first + b, "hard", confidence, first + b, first + b + 1)
    middle = (a + b + 1) // 2
    return Cut(first + middle, "fade", confidence, first + a, first + b + 1)


def fade_cuts(luma: Sequence[float], first: int, *, black_level: float, hold: int,
              max_ramp: int) -> tuple[list[Cut], list[tuple[int, int]]]:
    """Cuts made by black runs, and the frame spans ``[start, end)`` they own.

    ``luma`` holds each frame's mean level (0..255) from frame number ``first`` on.
    """
    black = np.asarray(luma, np.float32) < black_level
    count = len(luma)
    cuts: list[Cut] = []
    owned: list[tuple[int, int]] = []
    i = 0
    while i < count:
        if not black[i]:
            i += 1
            continue
        j = i
        while j < count and black[j]:
            j += 1
        at_start, at_end = i == 0, j == count
        out_a, out_b = _outside(luma, i, -1, max_ramp), _inside(luma, i, j, +1)
        in_a, in_b = _inside(luma, j - 1, i - 1, -1), _outside(luma, j - 1, +1, max_ramp)
        confidence = 0.9 if min(luma[i:j]) < black_level / 2 else 0.7
        if j - i >= hold:
            if not at_start:
                cuts.append(_edge(out_a, out_b, first, confidence))
            if not at_end:
                cuts.append(_edge(in_a, in_b, first, confidence))
        elif not (at_start or at_end):
            cuts.append(Cut(first + (i + j) // 2, "fade", confidence, first + out_a,
                            first + in_b + 1))
        owned.append((first + out_a, first + in_b + 1))
        i = j
    return cuts, owned


def combine(fades: list[Cut], owned: list[tuple[int, int]], others: list[Cut], *,
            first: int, min_gap: int) -> list[Cut]:
    """Fades plus a backend's other cuts outside the fades' spans, in frame order; of two
    cuts closer than ``min_gap`` frames the more confident one stays."""
    def in_fade(cut: Cut) -> bool:
        return any(a <= cut.frame < b or (cut.start < b and a < cut.end) for a, b in owned)

    merged = sorted(fades + [c for c in others if not in_fade(c)], key=lambda c: c.frame)
    kept: list[Cut] = []
    for cut in merged:
        if cut.frame <= first:
            continue
        if kept and cut.frame - kept[-1].frame < min_gap:
            if cut.confidence > kept[-1].confidence:
                kept[-1] = cut
            continue
        kept.append(cut)
    return kept
