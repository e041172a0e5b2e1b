"""Nearest neighbours by cosine similarity: exact for small collections, HNSW above.

Exact search multiplies blocks of vectors (memory ``block x n``) and has perfect recall; its
cost grows with the square of the collection. Above ``exact_limit`` an hnswlib index (inner
product on unit vectors) answers in roughly ``n log n``; ``ef`` trades recall for speed.
Both return, for each vector, its ``k`` most similar others, best first.
"""

from __future__ import annotations

import numpy as np

__all__ = ["EXACT_LIMIT", "exact_neighbours", "neighbours"]

# Measured on 2 cores (152-d look vectors): exact 0.9 s vs index 0.6 s at 5,000 shots,
# 8.9 s vs 3.2 s at 20,000, about 250 s vs 25 s at 100,000 (benchmarks/matchcut_bench.py).
# Below the limit exact search costs under a second and has perfect recall.
EXACT_LIMIT = 5_000


def exact_neighbours(x: np.ndarray, k: int, rows: np.ndarray | None = None,
                     block: int = 512) -> tuple[np.ndarray, np.ndarray]:
    """Exact top ``k`` of ``rows`` (default all) against every row of ``x``, blockwise."""
    rows = np.arange(len(x)) if rows is None else np.asarray(rows)
    ids = np.empty((len(rows), k), np.int64)
    sims = np.empty((len(rows), k), np.float32)
    for lo in range(0, len(rows), block):
        mine = rows[lo:lo + block]
        s = x[mine] @ x.T
        s[np.arange(len(mine)), mine] = -np.inf        # never your own neighbour
        part = np.argpartition(-s, k - 1, axis=1)[:, :k]
        top = np.take_along_axis(s, part, axis=1)
        order = np.argsort(-top, axis=1)
        ids[lo:lo + block] = np.take_along_axis(part, order, axis=1)
        sims[lo:lo + block] = np.take_along_axis(top, order, axis=1)
    return ids, sims


def _hnsw(x: np.ndarray, k: int, ef: int, threads: int) -> tuple[np.ndarray, np.ndarray]:
    import hnswlib
    index = hnswlib.Index(space="ip", dim=x.shape[1])
    index.init_index(max_elements=len(x), ef_construction=100, M=12, random_seed=7)
    index.set_num_threads(threads)
    index.add_items(x, np.arange(len(x)))
    index.set_ef(max(ef, k + 1))
    labels, distances = index.knn_query(x, k=k + 1)
    ids = np.empty((len(x), k), np.int64)
    sims = np.empty((len(x), k), np.float32)
    for i, (row, dist) in enumerate(zip(labels, distances)):
        keep = row != i
        row, dist = row[keep][:k], dist[keep][:k]
        ids[i, :len(row)], sims[i, :len(row)] = row, 1.0 - dist   # ip distance = 1 - dot
        ids[i, len(row):], sims[i, len(row):] = -1, -np.inf
    return ids, sims


def neighbours(vectors: np.ndarray, k: int, *, exact_limit: int = EXACT_LIMIT, ef: int = 64,
               threads: int = 2) -> tuple[np.ndarray, np.ndarray, str]:
    """``(ids, similarities, method)``: each row's ``k`` nearest other rows by cosine.

    ``vectors`` are unit rows (float32). ``method`` is "exact" or "hnsw". Missing
    neighbours (fewer than ``k`` others) are id -1.
    """
    x = np.ascontiguousarray(vectors, np.float32)
    n = len(x)
    if n < 2:
        return np.full((n, 0), -1, np.int64), np.zeros((n, 0), np.float32), "exact"
    k = min(k, n - 1)
    if n <= exact_limit:
        ids, sims = exact_neighbours(x, k)
        return ids, sims, "exact"
    ids, sims = _hnsw(x, k, ef, threads)
    return ids, sims, "hnsw"
