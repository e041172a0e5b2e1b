"""Near-duplicate shots: the same set-up seen again (shot/reverse-shot dialogue, a repeated
insert). Their pairs would flood every flavour's ranking, so each group keeps its earliest
shot and the rest take no part.

Two shots are near-duplicates when their look vectors (colour, composition, texture) have a
cosine of at least ``threshold``. Groups are the connected components of that relation,
found through the same neighbour search as the candidates, so it scales the same way.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .search import neighbours

__all__ = ["duplicate_groups"]

THRESHOLD = 0.97


def duplicate_groups(look: np.ndarray, order: Sequence[int], threshold: float = THRESHOLD,
                     k: int = 8) -> list[int]:
    """For each shot, the index of the shot that stands for its group.

    ``look`` holds unit look vectors, one row per shot; ``order`` ranks shots in time (lower
    is earlier: the representative is the earliest of its group).
    """
    n = len(look)
    parent = list(range(n))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    ids, sims, _ = neighbours(look, k)
    for i in range(n):
        for j, s in zip(ids[i], sims[i]):
            if j >= 0 and s >= threshold:
                a, b = root(i), root(int(j))
                if a != b:
                    # The earlier shot becomes the root.
                    if order[a] <= order[b]:
                        parent[b] = a
                    else:
                        parent[a] = b
    return [root(i) for i in range(n)]
