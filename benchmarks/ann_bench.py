"""Approximate nearest-neighbour libraries for the match-cut pair search, measured against
exact search in the same process: run ``python benchmarks/ann_bench.py``.

The job: the top 10 neighbours (cosine) of every shot of a collection, index build included,
on 2 cores. Vectors are unit vectors clustered around set-ups (one set-up per 50 shots, as
in a season), at the real match-cut dimensions: 152 (look), 32 (motion), 1296 (frame
silhouette grid). Each row gives the build time, the query time for every shot, their sum,
the speed-up over exact blocked search (timed on 2,000 queries and scaled: it is linear in
the queries) and recall@10 against exact search on those queries.

The engine (a self-join: its index answers every shot in one pass) is timed whole. The graph
libraries are built on every shot and queried with ``--query-sample`` rows (20,000 by
default, the 2,000 recall queries among them); their query time is scaled linearly to every
shot, which is how a graph index's query cost grows. Beside the wall time each row gives the
CPU seconds of all the library's threads (queries scaled the same way): on a loaded machine the
wall time measures the load as much as the library. Each library runs in a forked child that
is stopped after ``--cap-min`` minutes and reported as "over N min". Libraries that are not
installed are skipped; only faiss is a dependency.

    python benchmarks/ann_bench.py                       # 100,000 shots, 152-d, all libraries
    python benchmarks/ann_bench.py --shots 1000000 --only engine
    python benchmarks/ann_bench.py --dims 152 32 1296 --only engine hnswlib

Figures go to stdout and, with ``--json FILE``, to a file. The machine is shared and noisy:
compare the ratios, not the seconds.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from moviola.engine.matchcuts import search
from moviola.engine.matchcuts.search import exact_neighbours, recall_at

THREADS = 2
K = 10
RECALL_QUERIES = 2000
# Exact search's block of queries, sized so one block's similarity matrix stays near 256 MB.
_EXACT_BLOCK_CELLS = 64_000_000


def season_vectors(n: int, dim: int = 152, per_setup: int = 50, noise: float = 0.5,
                   seed: int = 0) -> np.ndarray:
    """Unit vectors clustered around ``n / per_setup`` set-ups, like the shots of a season."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(max(1, n // per_setup), dim))
    x = centres[rng.integers(0, len(centres), n)] + noise * rng.normal(size=(n, dim))
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def _without_self(ids: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """``k + 1`` results per query row -> ``k``, the row itself taken out."""
    out = np.full((len(ids), K), -1, np.int64)
    for i, (row, me) in enumerate(zip(ids, rows)):
        row = row[row != me][:K]
        out[i, :len(row)] = row
    return out


# A candidate: (every vector, the rows to answer, a callback told how many rows are built so
# far) -> (their top K without themselves, build seconds, query seconds for those rows).
Progress = Callable[[int], None]
Candidate = Callable[[np.ndarray, np.ndarray, Progress], tuple[np.ndarray, float, float]]
_CHUNKS = 10                  # a graph is built in this many steps, so a stopped one says how far it got


def engine(x: np.ndarray, rows: np.ndarray, progress: Progress) -> tuple[np.ndarray, float, float]:
    ids, _, info = search._ivf(x, K, THREADS, search.TARGET_RECALL)
    print(f"    engine phases: {info}", flush=True)
    query_s = float(info.get("search_s", 0.0))
    build_s = sum(float(v) for key, v in info.items() if key.endswith("_s")) - query_s
    return ids[rows], build_s, query_s


def _graph(new: Callable[[np.ndarray], Any], add: Callable[[Any, np.ndarray, np.ndarray], None],
           query: Callable[[Any, np.ndarray], np.ndarray]) -> Candidate:
    """A graph library: built on every vector in steps, then asked for the given rows."""
    def run(x: np.ndarray, rows: np.ndarray, progress: Progress) -> tuple[np.ndarray, float, float]:
        t0 = time.perf_counter()
        index = new(x)
        for ids in np.array_split(np.arange(len(x)), _CHUNKS):
            add(index, x[ids], ids)
            progress(int(ids[-1]) + 1)
        t1 = time.perf_counter()
        found = query(index, x[rows])
        t2 = time.perf_counter()
        return _without_self(found, rows), t1 - t0, t2 - t1
    return run


def _faiss_hnsw(x: np.ndarray) -> Any:
    import faiss
    faiss.omp_set_num_threads(THREADS)
    index = faiss.IndexHNSWFlat(x.shape[1], 16, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = 64
    index.hnsw.efSearch = 32
    return index


def _hnswlib(x: np.ndarray) -> Any:
    import hnswlib
    index = hnswlib.Index(space="ip", dim=x.shape[1])
    index.init_index(max_elements=len(x), ef_construction=100, M=12, random_seed=7)
    index.set_num_threads(THREADS)
    index.set_ef(64)
    return index


def _usearch(dtype: str) -> Callable[[np.ndarray], Any]:
    def new(x: np.ndarray) -> Any:
        from usearch.index import Index
        return Index(ndim=x.shape[1], metric="ip", dtype=dtype, connectivity=16,
                     expansion_add=64, expansion_search=32)
    return new


def _voyager(x: np.ndarray) -> Any:
    import voyager
    return voyager.Index(voyager.Space.InnerProduct, num_dimensions=x.shape[1], M=16,
                         ef_construction=64)


def _usearch_query(index: Any, q: np.ndarray) -> np.ndarray:
    return index.search(q, K + 1, threads=THREADS).keys


def _pynndescent(x: np.ndarray, rows: np.ndarray,
                 progress: Progress) -> tuple[np.ndarray, float, float]:
    import pynndescent
    pynndescent.NNDescent(x[:2000], metric="dot", n_neighbors=K + 1)   # compile outside the timing
    t0 = time.perf_counter()
    graph = pynndescent.NNDescent(x, metric="dot", n_neighbors=K + 1, n_jobs=THREADS,
                                  random_state=7, low_memory=True)
    return _without_self(graph.neighbor_graph[0][rows], rows), time.perf_counter() - t0, 0.0


# name -> (module that must import, candidate, whether its queries are sampled and scaled)
CANDIDATES: dict[str, tuple[str, Candidate, bool]] = {
    "engine": ("faiss", engine, False),           # faiss k-means partition, nprobe calibrated (search.py)
    "faiss-hnsw": ("faiss", _graph(_faiss_hnsw, lambda i, v, ids: i.add(v),
                                   lambda i, q: i.search(q, K + 1)[1]), True),
    "hnswlib": ("hnswlib", _graph(_hnswlib, lambda i, v, ids: i.add_items(v, ids),
                                  lambda i, q: i.knn_query(q, k=K + 1)[0]), True),
    "usearch": ("usearch", _graph(_usearch("f32"), lambda i, v, ids: i.add(ids, v, threads=THREADS),
                                  _usearch_query), True),
    "usearch-i8": ("usearch", _graph(_usearch("i8"), lambda i, v, ids: i.add(ids, v, threads=THREADS),
                                     _usearch_query), True),
    "voyager": ("voyager", _graph(_voyager, lambda i, v, ids: i.add_items(v, ids, num_threads=THREADS),
                                  lambda i, q: i.query(q, k=K + 1, num_threads=THREADS,
                                                       query_ef=32)[0]), True),
    "pynndescent": ("pynndescent", _pynndescent, False),
}


def installed(module: str) -> bool:
    try:
        __import__(module)
    except ImportError:
        return False
    return True


def _child(run: Candidate, x: np.ndarray, rows: np.ndarray, pipe: Any) -> None:
    cpu0 = time.process_time()
    build_cpu = 0.0

    def progress(built: int) -> None:
        nonlocal build_cpu
        build_cpu = time.process_time() - cpu0          # the last call ends the build
        pipe.send(("built", built))

    ids, build_s, query_s = run(x, rows, progress)
    cpu = time.process_time() - cpu0
    build_cpu = build_cpu or cpu
    pipe.send(("done", (ids, build_s, query_s, build_cpu, cpu - build_cpu)))
    pipe.close()


def _run_capped(run: Candidate, x: np.ndarray, rows: np.ndarray,
                cap_s: float) -> tuple[tuple[np.ndarray, float, float, float, float] | None, int]:
    """``((ids, build s, query s, build CPU s, query CPU s) or None when it ran past cap_s,
    rows built)``.
    The candidate runs in a forked child, which sees ``x`` without a copy."""
    context = multiprocessing.get_context("fork")
    receive, send = context.Pipe(duplex=False)
    child = context.Process(target=_child, args=(run, x, rows, send))
    child.start()
    send.close()
    deadline, built, result = time.perf_counter() + cap_s, 0, None
    while result is None and receive.poll(max(0.0, deadline - time.perf_counter())):
        kind, value = receive.recv()
        if kind == "built":
            built = value
        else:
            result = value
    if result is None:
        child.kill()
    child.join()
    return result, built


def bench(n: int, dim: int, only: list[str], query_sample: int, cap_min: float) -> dict:
    x = season_vectors(n, dim)
    rng = np.random.default_rng(1)
    queries = rng.choice(n, min(n, RECALL_QUERIES), replace=False)
    others = np.setdiff1d(np.arange(n), queries)
    sampled = np.concatenate([queries, rng.choice(others, max(0, min(n, query_sample) - len(queries)),
                                                   replace=False)])
    t0 = time.perf_counter()
    truth, _ = exact_neighbours(x, K, rows=queries, block=max(16, _EXACT_BLOCK_CELLS // n))
    exact_s = (time.perf_counter() - t0) * n / len(queries)
    out: dict = {"shots": n, "dim": dim, "exact_all_s": round(exact_s, 1),
                 "query_sample": len(sampled), "cap_min": cap_min, "libraries": {}}
    print(f"{n} shots, {dim}-d: exact {exact_s:.1f} s (scaled from {len(queries)} queries); "
          f"graph queries timed on {len(sampled)} rows and scaled", flush=True)
    for name, (module, run, scaled) in CANDIDATES.items():
        if only and name not in only:
            continue
        if not installed(module):
            out["libraries"][name] = "not installed"
            continue
        rows = sampled if scaled else np.arange(n)
        result, built = _run_capped(run, x, rows, cap_min * 60)
        if result is None:
            stopped = f"over {cap_min:g} min" + (f" ({built:,} of {n:,} rows built)" if built else "")
            out["libraries"][name] = stopped
            print(f"  {name:12s} {stopped}", flush=True)
            continue
        ids, build_s, query_s, build_cpu, query_cpu = result
        if scaled:
            query_s *= n / len(rows)
            query_cpu *= n / len(rows)
        cpu_s = build_cpu + query_cpu
        spent = build_s + query_s
        found = ids[:len(queries)] if scaled else ids[queries]      # the sample starts with them
        # CPU seconds of all its threads: on a loaded machine, a measure of the work done.
        row = {"build_s": round(build_s, 2), "query_s": round(query_s, 2), "s": round(spent, 2),
               "cpu_s": round(cpu_s, 1),
               "speedup_over_exact": round(exact_s / spent, 1),
               "recall_at_10": round(recall_at(found, truth), 4)}
        out["libraries"][name] = row
        print(f"  {name:12s} build {build_s:7.1f} s  query {query_s:7.1f} s  total {spent:7.1f} s  "
              f"{exact_s / spent:6.1f}x exact  recall@10 {row['recall_at_10']:.4f}  CPU {cpu_s:.1f} s",
              flush=True)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shots", type=int, nargs="+", default=[100_000])
    parser.add_argument("--dims", type=int, nargs="+", default=[152])
    parser.add_argument("--only", nargs="*", default=[], choices=sorted(CANDIDATES))
    parser.add_argument("--query-sample", type=int, default=20_000,
                        help="rows the graph libraries answer; their query time is scaled to every shot")
    parser.add_argument("--cap-min", type=float, default=10.0,
                        help="stop a library after this many minutes and report it as over the cap")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    figures = [bench(n, d, args.only, args.query_sample, args.cap_min)
               for n in args.shots for d in args.dims]
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
