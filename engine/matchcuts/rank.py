"""Candidate pairs per flavour, scored exactly, best first.

For each flavour: the shots that have something to match on and stand for their
near-duplicate group take part; each one's nearest neighbours by the flavour's search vector
are the candidates (never all pairs); candidates are scored with the flavour's exact score.
Pairs of adjacent shots (already cut together) are not suggestions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .flavour import Flavour
from .search import EXACT_LIMIT, neighbours

__all__ = ["Pair", "rank_pairs"]


@dataclass(frozen=True)
class Pair:
    a: int            # shot indexes, a < b
    b: int
    flavour: str
    score: float


def rank_pairs(kind: Flavour, vectors: np.ndarray, representative: Sequence[int],
               adjacent: set[tuple[int, int]], top: int, *, per_shot: int = 20,
               exact_limit: int = EXACT_LIMIT) -> tuple[list[Pair], dict[str, object]]:
    """The ``top`` best pairs of one flavour, and figures about the search.

    ``vectors``: one row per shot; ``representative[i]``: the shot standing for i's
    near-duplicate group; ``adjacent``: (i, j) pairs, i < j, that are already neighbours.
    """
    taking = [i for i in range(len(vectors))
              if representative[i] == i and kind.usable(vectors[i])]
    stats: dict[str, object] = {"shots": len(taking), "method": "exact", "candidates": 0}
    if len(taking) < 2:
        return [], stats
    search = np.stack([kind.search_vector(vectors[i]) for i in taking])
    k = max(per_shot, 2 * top)
    ids, _, method = neighbours(search, k, exact_limit=exact_limit)
    stats["method"] = method
    seen: set[tuple[int, int]] = set()
    pairs: list[Pair] = []
    for row, found in enumerate(ids):
        for col in found:
            if col < 0:
                continue
            a, b = sorted((taking[row], taking[int(col)]))
            if (a, b) in seen or (a, b) in adjacent:
                continue
            seen.add((a, b))
            pairs.append(Pair(a, b, kind.NAME, kind.score(vectors[a], vectors[b])))
    stats["candidates"] = len(pairs)
    pairs.sort(key=lambda p: (-p.score, p.a, p.b))
    return [p for p in pairs[:top] if p.score > 0], stats
