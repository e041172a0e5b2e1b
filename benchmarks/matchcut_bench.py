"""Match-cut and shot-detection speed figures, printed, never asserted:
run ``python benchmarks/matchcut_bench.py``.

Measures, on this machine, in one process (so that the noise of a shared machine hits the
baseline and the measurement alike):

1. Pair search over 100,000 shots (look vectors, 152 dimensions, clustered as shots of a
   season are): exact blocked search (timed on 2,000 queries and scaled, since it is linear in
   the queries) against the faiss IVF index the engine uses above ``EXACT_LIMIT`` (build plus
   querying every shot), with the index's recall@10 against exact search.
2. The cost per shot of each representation (frame silhouette, motion flow, look embedding),
   the decode of its sampled frames included, as a ratio to decoding every frame of the shot
   alone (the baseline); on the real 1280x720 ``testvideo.mp4`` from ``shared/data/shots``
   when it is there, else on a synthetic reel.
3. Shot detection speed (classical, TransNetV2 when installed) as a ratio to decoding the
   same frames alone.

Figures go to stdout and, with ``--json FILE``, to a file.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from moviola.engine.matchcuts.features import WORKING_SIZE, describe_shots, flavours  # noqa: E402
from moviola.engine.matchcuts.search import exact_neighbours, neighbours  # noqa: E402
from moviola.engine.media.source import open_source  # noqa: E402
from moviola.engine.shots.detect import available_backends, detect_shots  # noqa: E402
from moviola.engine.shots.stream import small_frames  # noqa: E402
from shared_data import SHARED_DATA  # noqa: E402

REAL = SHARED_DATA / "shots" / "testvideo.mp4"


def season_vectors(n: int, dim: int = 152, sets: int = 2000, seed: int = 0) -> np.ndarray:
    """Unit vectors clustered around ``sets`` set-ups, like the shots of many episodes."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(sets, dim))
    x = centres[rng.integers(0, sets, n)] + 0.5 * rng.normal(size=(n, dim))
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def bench_search(n: int, k: int = 10, sample: int = 2000) -> dict:
    x = season_vectors(n)
    rng = np.random.default_rng(1)
    queries = rng.choice(n, sample, replace=False)
    t0 = time.perf_counter()
    exact, _ = exact_neighbours(x, k, rows=queries)
    exact_s = (time.perf_counter() - t0) * n / sample
    t0 = time.perf_counter()
    ids, _, method = neighbours(x, k, exact_limit=0)
    index_s = time.perf_counter() - t0
    recall = float(np.mean([len(set(ids[q]) & set(e)) / k for q, e in zip(queries, exact)]))
    return {"shots": n, "k": k, "method": method, "exact_all_s": round(exact_s, 1),
            "index_build_and_query_s": round(index_s, 1), "speedup": round(exact_s / index_s, 2),
            "recall_at_10": round(recall, 4),
            "exact_pairs_scored": n * (n - 1) // 2, "index_candidates": n * k}


def clip_and_shots(folder: Path) -> tuple[Path, list]:
    if REAL.is_file():
        path = REAL
    else:
        from reels import cuts_reel
        path = cuts_reel(folder / "reel.mp4").path
    with open_source(path) as source:
        detection = detect_shots(source, "classical")
    return path, [s for s in detection.shots if len(s) >= 8]


def bench_features(path: Path, shots: list) -> dict:
    with open_source(path) as source:
        fps = float(source.info.frame_rate)
        t0 = time.perf_counter()
        for _ in small_frames(source, WORKING_SIZE, (n for s in shots for n in range(s.start, s.end))):
            pass
        decode_per_shot = (time.perf_counter() - t0) / len(shots)
        out = {"media": str(path), "shots": len(shots),
               "decode_all_frames_per_shot_ms": round(decode_per_shot * 1000, 2)}
        for kind in flavours(["all"]):
            t0 = time.perf_counter()
            describe_shots(source, shots, [kind], fps)
            per_shot = (time.perf_counter() - t0) / len(shots)
            out[kind.NAME] = {"per_shot_ms": round(per_shot * 1000, 2),
                              "ratio_to_decode": round(per_shot / decode_per_shot, 3)}
        t0 = time.perf_counter()
        describe_shots(source, shots, flavours(["all"]), fps)
        per_shot = (time.perf_counter() - t0) / len(shots)
        out["all"] = {"per_shot_ms": round(per_shot * 1000, 2),
                      "ratio_to_decode": round(per_shot / decode_per_shot, 3)}
    return out


def bench_detection(path: Path) -> dict:
    with open_source(path) as source:
        frames = source.info.frame_count
        t0 = time.perf_counter()
        for _ in small_frames(source, (64, 36)):
            pass
        decode = time.perf_counter() - t0
        out = {"frames": frames, "decode_fps": round(frames / decode, 1)}
        backends = ["classical"] + (["transnetv2"] if not available_backends()["transnetv2"] else [])
        for name in backends:
            t0 = time.perf_counter()
            detect_shots(source, name)
            spent = time.perf_counter() - t0
            out[name] = {"fps": round(frames / spent, 1), "ratio_to_decode": round(spent / decode, 2)}
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shots", type=int, default=100_000, help="collection size for search")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    figures = {}
    with tempfile.TemporaryDirectory() as tmp:
        path, shots = clip_and_shots(Path(tmp))
        figures["features"] = bench_features(path, shots)
        print(json.dumps({"features": figures["features"]}, indent=1), flush=True)
        figures["detection"] = bench_detection(path)
        print(json.dumps({"detection": figures["detection"]}, indent=1), flush=True)
    figures["search"] = bench_search(args.shots)
    print(json.dumps({"search": figures["search"]}, indent=1), flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
