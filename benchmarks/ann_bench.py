"""Approximate nearest-neighbour libraries for the match-cut pair search, measured against
exact search in the same process: run ``python benchmarks/ann_bench.py``.

The job: the top 10 neighbours (cosine) of every shot of a collection, index build included,
on 2 cores. Vectors are unit vectors clustered around set-ups (one set-up per 50 shots, as
in a season), at the real match-cut dimensions: 152 (look), 32 (motion), 1296 (frame
silhouette grid). Each row gives the time, the speed-up over exact blocked search (timed on
2,000 queries and scaled: it is linear in the queries) and recall@10 against exact search on
those queries. Libraries that are not installed are skipped; only faiss is a dependency.

    python benchmarks/ann_bench.py                       # 100,000 shots, 152-d, all libraries
    python benchmarks/ann_bench.py --shots 1000000 --only engine
    python benchmarks/ann_bench.py --dims 152 32 1296 --only engine hnswlib

Figures go to stdout and, with ``--json FILE``, to a file. The machine is shared and noisy:
compare the ratios, not the seconds.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from moviola.engine.matchcuts import search
from moviola.engine.matchcuts.search import exact_neighbours, neighbours, recall_at

THREADS = 2
K = 10


def season_vectors(n: int, dim: int = 152, per_setup: int = 50, noise: float = 0.5,
                   seed: int = 0) -> np.ndarray:
    """Unit vectors clustered around ``n / per_setup`` set-ups, like the shots of a season."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(max(1, n // per_setup), dim))
    x = centres[rng.integers(0, len(centres), n)] + noise * rng.normal(size=(n, dim))
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def _without_self(ids: np.ndarray) -> np.ndarray:
    """``k + 1`` results per row -> ``k``, the row itself taken out."""
    out = np.empty((len(ids), K), np.int64)
    for i, row in enumerate(ids):
        row = row[row != i][:K]
        out[i, :len(row)] = row
        out[i, len(row):] = -1
    return out


def engine(x: np.ndarray) -> np.ndarray:
    return neighbours(x, K, exact_limit=0, threads=THREADS)[0]


def faiss_hnsw(x: np.ndarray) -> np.ndarray:
    import faiss
    faiss.omp_set_num_threads(THREADS)
    index = faiss.IndexHNSWFlat(x.shape[1], 16, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = 64
    index.add(x)
    index.hnsw.efSearch = 32
    return _without_self(index.search(x, K + 1)[1])


def hnswlib_index(x: np.ndarray) -> np.ndarray:
    import hnswlib
    index = hnswlib.Index(space="ip", dim=x.shape[1])
    index.init_index(max_elements=len(x), ef_construction=100, M=12, random_seed=7)
    index.set_num_threads(THREADS)
    index.add_items(x, np.arange(len(x)))
    index.set_ef(64)
    return _without_self(index.knn_query(x, k=K + 1)[0])


def usearch_index(x: np.ndarray) -> np.ndarray:
    from usearch.index import Index
    index = Index(ndim=x.shape[1], metric="ip", dtype="f32", connectivity=16,
                  expansion_add=64, expansion_search=32)
    index.add(np.arange(len(x)), x, threads=THREADS)
    return _without_self(index.search(x, K + 1, threads=THREADS).keys)


def usearch_i8(x: np.ndarray) -> np.ndarray:
    from usearch.index import Index
    index = Index(ndim=x.shape[1], metric="ip", dtype="i8", connectivity=16,
                  expansion_add=64, expansion_search=32)
    index.add(np.arange(len(x)), x, threads=THREADS)
    return _without_self(index.search(x, K + 1, threads=THREADS).keys)


def voyager_index(x: np.ndarray) -> np.ndarray:
    import voyager
    index = voyager.Index(voyager.Space.InnerProduct, num_dimensions=x.shape[1], M=16,
                          ef_construction=64)
    index.add_items(x, num_threads=THREADS)
    return _without_self(index.query(x, k=K + 1, num_threads=THREADS, query_ef=32)[0])


def pynndescent_graph(x: np.ndarray) -> np.ndarray:
    import pynndescent
    graph = pynndescent.NNDescent(x, metric="dot", n_neighbors=K + 1, n_jobs=THREADS,
                                  random_state=7, low_memory=True)
    return _without_self(graph.neighbor_graph[0])


# name -> (module that must import, function)
CANDIDATES: dict[str, tuple[str, Callable[[np.ndarray], np.ndarray]]] = {
    "engine": ("faiss", engine),                 # faiss IVF, nprobe calibrated (search.py)
    "faiss-hnsw": ("faiss", faiss_hnsw),
    "hnswlib": ("hnswlib", hnswlib_index),
    "usearch": ("usearch", usearch_index),
    "usearch-i8": ("usearch", usearch_i8),
    "voyager": ("voyager", voyager_index),
    "pynndescent": ("pynndescent", pynndescent_graph),
}


def installed(module: str) -> bool:
    try:
        __import__(module)
    except ImportError:
        return False
    return True


def bench(n: int, dim: int, only: list[str], sample: int = 2000) -> dict:
    x = season_vectors(n, dim)
    queries = np.random.default_rng(1).choice(n, min(n, sample), replace=False)
    t0 = time.perf_counter()
    truth, _ = exact_neighbours(x, K, rows=queries)
    exact_s = (time.perf_counter() - t0) * n / len(queries)
    out: dict = {"shots": n, "dim": dim, "exact_all_s": round(exact_s, 1), "libraries": {}}
    print(f"{n} shots, {dim}-d: exact {exact_s:.1f} s (scaled from {len(queries)} queries)",
          flush=True)
    for name, (module, run) in CANDIDATES.items():
        if only and name not in only:
            continue
        if not installed(module):
            out["libraries"][name] = "not installed"
            continue
        if name == "pynndescent":
            run(x[:2000])                          # compile its kernels outside the timing
        t0 = time.perf_counter()
        ids = run(x)
        spent = time.perf_counter() - t0
        row = {"s": round(spent, 2), "speedup_over_exact": round(exact_s / spent, 1),
               "recall_at_10": round(recall_at(ids[queries], truth), 4)}
        out["libraries"][name] = row
        print(f"  {name:12s} {spent:7.2f} s  {exact_s / spent:6.1f}x exact  "
              f"recall@10 {row['recall_at_10']:.4f}", flush=True)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shots", type=int, nargs="+", default=[100_000])
    parser.add_argument("--dims", type=int, nargs="+", default=[152])
    parser.add_argument("--only", nargs="*", default=[], choices=sorted(CANDIDATES))
    parser.add_argument("--json", help="also write the figures to this file")
    parser.add_argument("--train-per-list", type=int, default=None,
                        help="k-means training rows per list for the engine's index (an experiment; "
                             "the engine's own value otherwise)")
    args = parser.parse_args()
    if args.train_per_list:
        search._TRAIN_PER_LIST = args.train_per_list
    figures = [bench(n, d, args.only) for n in args.shots for d in args.dims]
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
