"""Average precision of a ranked list of shot pairs against the pairs that should match."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

__all__ = ["average_precision"]


def average_precision(ranked: Sequence[tuple[int, int]], relevant: Iterable[tuple[int, int]]) -> float:
    """Mean of precision@rank at each relevant pair's rank; relevant pairs never ranked
    count as zero. Pairs are unordered: (a, b) and (b, a) are the same pair."""
    wanted = {tuple(sorted(p)) for p in relevant}
    if not wanted:
        return 1.0
    hits, total = 0, 0.0
    for rank, pair in enumerate(ranked, start=1):
        if tuple(sorted(pair)) in wanted:
            hits += 1
            total += hits / rank
    return total / len(wanted)
