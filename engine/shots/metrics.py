"""Precision, recall and F1 of detected cuts against ground truth.

A detected cut matches a true one when their spans, each widened by ``tolerance`` frames on
both sides, overlap: a hard cut (a one-frame span) must land within a frame of the truth,
a dissolve or fade matches when the transitions overlap. Matching is one to one, nearest
cut frames first.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

__all__ = ["CutScore", "score_cuts"]


class _Spanned(Protocol):
    frame: int
    start: int
    end: int


@dataclass(frozen=True)
class CutScore:
    true_positives: int
    false_positives: int
    false_negatives: int

    @property
    def precision(self) -> float:
        found = self.true_positives + self.false_positives
        return self.true_positives / found if found else 1.0

    @property
    def recall(self) -> float:
        real = self.true_positives + self.false_negatives
        return self.true_positives / real if real else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def score_cuts(detected: Sequence[_Spanned], truth: Sequence[_Spanned], tolerance: int = 1) -> CutScore:
    """Match ``detected`` cuts to ``truth`` (objects with frame, start, end) and count."""
    pairs = []
    for i, d in enumerate(detected):
        for j, t in enumerate(truth):
            if d.start - tolerance < t.end + tolerance and t.start - tolerance < d.end + tolerance:
                pairs.append((abs(d.frame - t.frame), i, j))
    used_d: set[int] = set()
    used_t: set[int] = set()
    for _, i, j in sorted(pairs):
        if i not in used_d and j not in used_t:
            used_d.add(i)
            used_t.add(j)
    tp = len(used_d)
    return CutScore(tp, len(detected) - tp, len(truth) - tp)
