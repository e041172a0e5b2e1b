"""Depth pass speed and memory, printed, never asserted: ``python benchmarks/depth_bench.py``.

Measures, in one process so that the noise of a shared machine hits the baseline and the
measurement alike:

1. Per-frame time of the whole depth pass (decode, predict, stabilise, upsample, write float
   EXR) at 720p and 1080p for each backend, as a ratio to decoding the same H.264 clip alone
   (the baseline), split into the two passes. Backends: ``parallax`` and Depth Anything V2
   Small's architecture with random weights (the same compute as the real checkpoint; its
   output is meaningless here, its speed is not).
2. The edge-aware upsampling alone, per frame, at 720p and 1080p.
3. Memory on long clips: Python/numpy peak (tracemalloc) of the parallax pass over a clip
   and over one four times as long. Bounded memory means the two peaks match.

The clips are synthetic but parallax-valid: two textured layers at different depths moving
at different speeds, as a truck past a wall in front of a backdrop. Figures go to stdout as a
table and, with ``--json FILE``, to a file.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import tracemalloc
from concurrent.futures import ThreadPoolExecutor
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from moviola.engine.depth import backends
from moviola.engine.depth.cache import PredictionCache
from moviola.engine.depth.normalise import CHANNEL, plan
from moviola.engine.depth.pipeline import analyse, render, stabiliser_for
from moviola.engine.depth.upsample import upsample
from moviola.engine.media.source import open_source
from moviola.engine.media.writers import ImageSequenceWriter
from moviola.engine.models.registry import ModelRegistry
from moviola.engine.models.store import WeightsStore

SIZES = {"720p": (1280, 720), "1080p": (1920, 1080)}


def layered_clip(path: Path, size: tuple[int, int], frames: int) -> Path:
    """H.264 frames of a near layer (stripes with holes) sliding over a far textured backdrop."""
    w, h = size
    rng = np.random.default_rng(0)
    far = (rng.random((h // 8 + 2, w // 8 + frames)) * 255).astype(np.uint8)
    far = np.kron(far, np.ones((8, 8), np.uint8))
    near = (rng.random((h // 4 + 2, w // 4 + frames * 2)) * 255).astype(np.uint8)
    near = np.kron(near, np.ones((4, 4), np.uint8))
    mask = (np.arange(near.shape[1])[None, :] // 64 % 3 == 0) & (np.arange(near.shape[0])[:, None] > h // 3)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=Fraction(24))
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        stream.options = {"crf": "18", "preset": "veryfast"}
        for i in range(frames):
            back = far[:h, i:i + w]
            front = near[:h, 8 * i:8 * i + w]
            grey = np.where(mask[:h, 8 * i:8 * i + w], front, back // 2 + 60)
            rgb = np.ascontiguousarray(np.repeat(grey[..., None], 3, axis=2))
            for packet in stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def decode_s_per_frame(path: Path) -> float:
    with open_source(path) as media:
        t0 = time.perf_counter()
        n = sum(1 for _ in media.frames())
    return (time.perf_counter() - t0) / n


def depth_pass(path: Path, backend, out: Path, frames: int | None = None) -> dict[str, float]:
    """The job's per-clip path, in process: returns seconds per frame of each pass."""
    with open_source(path) as media:
        last = media.last_frame if frames is None else media.first_frame + frames - 1
        with PredictionCache(str(out), "bench") as cache, ThreadPoolExecutor(2) as pool:
            t0 = time.perf_counter()
            analysis = analyse(media, media.first_frame, last, backend,
                               stabiliser_for(backend, True), cache, lambda message: None)
            t1 = time.perf_counter()
            norm = plan("relative", backend.output, backend.metric,
                        [analysis.alignment.ranges[f] for f in analysis.measured])
            writer = ImageSequenceWriter(out, "depth", "exr", start_frame=media.first_frame,
                                         channels=(CHANNEL,), pixel_type="float")
            written = render(media, analysis, norm, cache, writer, pool, lambda message: None)
            t2 = time.perf_counter()
    n = len(written)
    return {"analyse_s": (t1 - t0) / n, "render_s": (t2 - t1) / n, "total_s": (t2 - t0) / n,
            "frames": n}


def neural_backend(tmp: Path):
    """Depth Anything V2 Small's architecture with random weights, through the store."""
    from transformers import DepthAnythingConfig, DepthAnythingForDepthEstimation

    store = WeightsStore(tmp / "weights")
    DepthAnythingForDepthEstimation(DepthAnythingConfig()).save_pretrained(
        str(store.root / "depth-anything-v2-small"))
    backend = backends.create("depth-anything-v2-small", backends.BackendOptions(), store,
                              ModelRegistry.default())
    warm = np.zeros((518, 924, 3), np.uint8)
    list(backend.predict([(0, warm)]))  # first-call set-up is not per-frame cost
    return backend


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=24, help="frames per clip (parallax)")
    parser.add_argument("--neural-frames", type=int, default=4,
                        help="frames per clip for the neural backend (CPU is slow)")
    parser.add_argument("--no-neural", action="store_true", help="skip Depth Anything")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    figures: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="moviola-depth-bench-") as tmp:
        tmp_path = Path(tmp)
        neural = None
        if not args.no_neural:
            try:
                neural = neural_backend(tmp_path)
            except ImportError as exc:
                print(f"(no neural backend: {exc})", file=sys.stderr)
        for label, size in SIZES.items():
            clip = layered_clip(tmp_path / f"{label}.mp4", size, args.frames)
            decode = decode_s_per_frame(clip)
            figures[f"decode_{label}_ms"] = decode * 1e3
            runs = [("parallax", backends.create("parallax", backends.BackendOptions(), None, None),
                     None)]
            if neural is not None:
                runs.append(("da2-small", neural, args.neural_frames))
            for name, backend, frames in runs:
                r = depth_pass(clip, backend, tmp_path / f"out-{name}-{label}", frames)
                figures[f"{name}_{label}_ms"] = r["total_s"] * 1e3
                figures[f"{name}_{label}_pass1_ms"] = r["analyse_s"] * 1e3
                figures[f"{name}_{label}_pass2_ms"] = r["render_s"] * 1e3
                figures[f"{name}_{label}_vs_decode"] = r["total_s"] / decode
            values = np.random.default_rng(0).random((360, 640)).astype(np.float32)
            guide = np.random.default_rng(1).integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)
            upsample(values, guide)  # warm the gather maps
            t0 = time.perf_counter()
            for _ in range(5):
                upsample(values, guide)
            figures[f"upsample_{label}_ms"] = (time.perf_counter() - t0) / 5 * 1e3

        parallax = backends.create("parallax", backends.BackendOptions(), None, None)
        for frames in (args.frames, 4 * args.frames):
            clip = layered_clip(tmp_path / f"long{frames}.mp4", (640, 360), frames)
            tracemalloc.start()
            depth_pass(clip, parallax, tmp_path / f"out-long{frames}")
            figures[f"parallax_360p_{frames}_frames_peak_mb"] = tracemalloc.get_traced_memory()[1] / 2**20
            tracemalloc.stop()

    width = max(len(k) for k in figures)
    for key, value in figures.items():
        print(f"{key:<{width}}  {value:10.2f}")
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
