"""OpenCL pixel stages against the CPU path, printed, never asserted:
``python benchmarks/opencl_bench.py [--device opencl|cuda|auto] [--frames N] [--json FILE]``.

Per stage and per frame at 1080p and 4K, in one process and interleaved (CPU, device, CPU,
device...) so a shared machine's noise hits both alike:

- ``refine``: the matte's edge refinement (guided filter on the band around the edge), a mask
  at a quarter of the plate's size;
- ``upsample``: depth's joint bilateral upsampling from a quarter of the plate's size;
- ``temporal``: the depth temporal filter at working size (flow on the CPU either way);
- ``carry``: the matte propagation's mask warp along the flow and temporal blend, at plate
  size (the walk runs at working size; plate size shows the kernels' cost where it is
  largest);
- ``quantize``: a matte to 16 bits for PNG and ProRes;
- ``depth_png``: upsampling and quantising to 16 bits for a depth PNG (on the device only the
  integers come back);
- ``frame``: refine + upsample, what one frame of a matte and a depth pass costs at plate size.

Then frames in a stream, as the jobs' writer threads run them (two threads, ``--frames`` frames
of refine + upsample + quantise, per-frame time = total / frames): the CPU; OpenCL with one
buffer set (a frame's device work never overlaps another's: the previous behaviour); OpenCL
with two buffer sets (one frame's uploads beside another's kernels and download).

The device is named in the output. On a CPU OpenCL driver (PoCL) the figures show the
overhead of the OpenCL path on the same cores, not GPU speed, and overlap cannot show a GPU's
gain there: PoCL's "transfers" are memory copies on the same cores that run the kernels, so
two buffer sets only overlap host work (Python, OpenCV) with device work. The same script runs
unchanged on a GPU machine, where copies go over the bus beside the kernels.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any

import numpy as np

from moviola.engine import devices
from moviola.engine.depth.temporal import TemporalFilter
from moviola.engine.depth.upsample import upsample
from moviola.engine.kernels.choice import choose
from moviola.engine.kernels.convert import to_uint16
from moviola.engine.kernels.runtime import BUFFER_SETS
from moviola.engine.matte.flow import warp
from moviola.engine.matte.refine import refine_alpha

SIZES = {"1080p": (1080, 1920), "4K": (2160, 3840)}


def _plate(h: int, w: int) -> np.ndarray:
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    disc = ((x - w / 2) ** 2 + (y - h / 2) ** 2) < (h / 3) ** 2
    base = np.stack([x / w, y / h, disc * 0.8], axis=2) * 255
    return np.clip(base + rng.normal(0, 6, (h, w, 3)), 0, 255).astype(np.uint8)


def _soft(h: int, w: int) -> np.ndarray:
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    d = np.sqrt((x - w / 2) ** 2 + (y - h / 2) ** 2) - h / 3
    return np.clip(0.5 - d / 2, 0, 1).astype(np.float32)


def _time(fn: Callable[[], object], repeat: int) -> float:
    fn()   # warm: kernels built, buffers allocated, caches filled
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def _cases(h: int, w: int, stages: Any) -> dict[str, tuple[Callable[[], object], ...]]:
    """Each stage as (CPU call, OpenCL call) on the same inputs at plate size ``h`` x ``w``."""
    plate, soft = _plate(h, w), _soft(h // 4, w // 4)
    values = np.random.default_rng(1).random((h // 4, w // 4), dtype=np.float32) + 0.5
    work = np.ascontiguousarray(plate[::4, ::4])
    moved = np.roll(work, 2, axis=1)

    def temporal(s: Any = None) -> None:
        f = TemporalFilter(0.5, stages=s)
        f(values, work)
        f(values, moved)

    mask = refine_alpha(soft, plate)
    field = np.random.default_rng(2).normal(0, 3, (h, w, 2)).astype(np.float32)
    raw = (mask > 0.5).astype(np.float32)

    def carry(s: Any = None) -> None:
        if s is None:
            carried = warp(mask, field)
            _ = 0.6 * raw + 0.4 * carried
        else:
            s.smooth_mask(raw, s.carry_mask(mask, field), 0.6)

    def quantize(s: Any = None) -> None:
        to_uint16(mask, s)

    def frame(s: Any = None) -> None:
        refine_alpha(soft, plate, stages=s)
        upsample(values, plate, stages=s)

    def depth_png(s: Any = None) -> None:
        upsample(values, plate, stages=s, dtype=np.uint16)

    return {"refine": (partial(refine_alpha, soft, plate), partial(refine_alpha, soft, plate,
                                                                 stages=stages)),
            "upsample": (partial(upsample, values, plate), partial(upsample, values, plate,
                                                                 stages=stages)),
            "temporal": (temporal, partial(temporal, stages)),
            "carry": (carry, partial(carry, stages)),
            "quantize": (quantize, partial(quantize, stages)),
            "depth_png": (depth_png, partial(depth_png, stages)),
            "frame": (frame, partial(frame, stages))}


def _stream(h: int, w: int, stages: Any, frames: int, threads: int = 2) -> float:
    """Seconds per frame for ``frames`` frames (refine, upsample, quantise the matte) run by
    ``threads`` threads at once, as a job's writers run them; one frame first as a warm-up."""
    plate, soft = _plate(h, w), _soft(h // 4, w // 4)
    values = np.random.default_rng(1).random((h // 4, w // 4), dtype=np.float32) + 0.5

    def one(k: int) -> None:
        alpha = refine_alpha(soft, plate, stages=stages)
        to_uint16(alpha, stages)
        upsample(values + k, plate, stages=stages)

    one(0)
    with ThreadPoolExecutor(threads) as pool:
        t = time.perf_counter()
        list(pool.map(one, range(frames)))
        return (time.perf_counter() - t) / frames


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="opencl", choices=["opencl", "cuda", "auto"])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--frames", type=int, default=8, help="frames per stream")
    parser.add_argument("--json")
    args = parser.parse_args()
    picked = choose(args.device, devices.devices())
    if picked.stages is None:
        raise SystemExit(f"no OpenCL stages: {picked.reason}; {'; '.join(picked.problems)}")
    stages = picked.stages
    name = f"{stages.name} ({stages.runtime.entry.get('platform')}, {stages.runtime.entry.get('kind')})"
    print(f"OpenCL device: {name}")
    rows = []
    for label, (h, w) in SIZES.items():
        cases = _cases(h, w, stages)
        for stage, (cpu, ocl) in cases.items():
            cpu_s, ocl_s = _time(cpu, args.repeat), _time(ocl, args.repeat)
            rows.append({"size": label, "stage": stage, "cpu_ms": round(cpu_s * 1e3, 1),
                         "opencl_ms": round(ocl_s * 1e3, 1), "ratio": round(ocl_s / cpu_s, 2)})
            print(f"{label:6} {stage:9} cpu {cpu_s * 1e3:8.1f} ms   opencl {ocl_s * 1e3:8.1f} ms"
                  f"   opencl/cpu {ocl_s / cpu_s:5.2f}")
    print(f"device buffers held: {stages.runtime.held_bytes / 2**20:.0f} MiB")
    streams = []
    runtime = stages.runtime
    for label, (h, w) in SIZES.items():
        # Interleaved, each configuration twice, the median kept: a shared machine's noise
        # hits all three alike.
        runs: dict[str, list[float]] = {"cpu": [], "opencl_1_set": [], "opencl_2_sets": []}
        for _ in range(2):
            runs["cpu"].append(_stream(h, w, None, args.frames))
            for sets, key in ((1, "opencl_1_set"), (BUFFER_SETS, "opencl_2_sets")):
                runtime.sets = sets
                runs[key].append(_stream(h, w, stages, args.frames))
        runtime.sets = BUFFER_SETS
        row = {"size": label, **{k: round(statistics.median(v) * 1e3, 1) for k, v in runs.items()}}
        streams.append(row)
        print(f"{label:6} stream of {args.frames} frames, 2 threads, ms per frame: cpu "
              f"{row['cpu']:8.1f}   opencl 1 set {row['opencl_1_set']:8.1f}   opencl 2 sets "
              f"{row['opencl_2_sets']:8.1f}   2 sets / 1 set "
              f"{row['opencl_2_sets'] / row['opencl_1_set']:5.2f}")
    print(f"device buffers held: {runtime.held_bytes / 2**20:.0f} MiB in {runtime.set_count} sets")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"device": name, "rows": rows, "streams": streams,
                       "buffers_mib": round(runtime.held_bytes / 2**20)}, f, indent=1)


if __name__ == "__main__":
    main()
