"""Engine speed figures, printed, never asserted: run ``python benchmarks/engine_bench.py``.

Measures, on this machine, in one process so that the noise of a shared machine hits the
baseline and the measurement alike:

1. ``hello`` round trips through a real engine process: the first one after the engine
   announced itself, then p50/p99 idle, and while a job runs.
2. The ``proxy`` job's decode→write throughput on a 1080p H.264 clip, as a ratio to PyAV
   decoding the same file alone (the cost the engine adds: resize, encode, write, messages).
3. ``frame`` fetches (the panel's scrub) on an idle engine, then behind two CPU-busy batch
   jobs (the tests' ``spin``, which holds the interpreter lock), as a ratio to the idle median;
   the goal is at most 3x idle + 50 ms.
4. ``moviola demo`` from a cold start (engine start included), as a whole command.

Figures go to stdout as a table and, with ``--json FILE``, to a file.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from engine_harness import engine_env, start_engine_process  # noqa: E402
from synthetic import write_video  # noqa: E402

SCRUB_CLIP_FRAMES = 48


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def round_trips(client, count: int) -> list[float]:
    out = []
    for _ in range(count):
        t0 = time.perf_counter()
        client.hello()
        out.append(time.perf_counter() - t0)
    return out


def frame_fetches(client, clip: Path, count: int, first: int = 0) -> list[float]:
    """Seconds per ``frame`` round trip over scattered frames, as a panel scrubbing would."""
    out = []
    for i in range(count):
        t0 = time.perf_counter()
        client.submit("frame", {"input": str(clip), "max_width": 640,
                                "frame": (first + 7 * i) % SCRUB_CLIP_FRAMES}).wait()
        out.append(time.perf_counter() - t0)
    return out


def scrub_figures(client, clip: Path, count: int) -> dict[str, float]:
    frame_fetches(client, clip, 3)  # open the reader
    idle = frame_fetches(client, clip, count)
    batch = [client.submit("spin", {"steps": 1_000_000, "step_s": 0.01}, detach=True) for _ in range(2)]
    try:
        time.sleep(0.3)  # both running
        busy = frame_fetches(client, clip, count, first=3)
    finally:
        for job in batch:
            job.cancel()
    idle_p50, busy_p50 = percentile(idle, 50), percentile(busy, 50)
    return {"frame_idle_p50_ms": idle_p50 * 1e3,
            "frame_behind_2_batch_p50_ms": busy_p50 * 1e3,
            "frame_behind_2_batch_p90_ms": percentile(busy, 90) * 1e3,
            "frame_behind_2_batch_vs_idle": busy_p50 / idle_p50,
            "frame_goal_ms": (3 * idle_p50 + 0.05) * 1e3}


def make_1080p(path: Path, frames: int) -> Path:
    """A 1080p H.264 clip with camera-like texture and motion (not a flat test card)."""
    rng = np.random.default_rng(0)
    base = rng.integers(0, 255, (1080 + 64, 1920 + 64, 3), dtype=np.uint8)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=Fraction(24))
        stream.width, stream.height, stream.pix_fmt = 1920, 1080, "yuv420p"
        stream.options = {"crf": "20", "preset": "veryfast", "g": "24"}
        for i in range(frames):
            img = base[i % 64: i % 64 + 1080, (2 * i) % 64: (2 * i) % 64 + 1920]
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(img), format="rgb24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def pyav_decode_fps(path: Path) -> float:
    t0 = time.perf_counter()
    n = 0
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        for frame in container.decode(stream):
            frame.to_ndarray(format="rgb24")
            n += 1
    return n / (time.perf_counter() - t0)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000, help="hello round trips per phase")
    parser.add_argument("--frames", type=int, default=96, help="frames in the 1080p clip")
    parser.add_argument("--fetches", type=int, default=20, help="frame fetches per phase")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    figures: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="moviola-bench-") as tmp:
        tmp_path = Path(tmp)
        engine = start_engine_process(tmp_path / "home")
        try:
            with engine.client(timeout=30.0) as client:
                figures["hello_first_ms"] = round_trips(client, 1)[0] * 1e3
                round_trips(client, 200)  # warm up
                idle = round_trips(client, args.requests)
                busy_job = client.submit("sleep", {"steps": 100000, "step_s": 0.01})
                busy = round_trips(client, args.requests)
                busy_job.cancel()
                figures.update({
                    "hello_idle_p50_ms": percentile(idle, 50) * 1e3,
                    "hello_idle_p99_ms": percentile(idle, 99) * 1e3,
                    "hello_busy_p50_ms": percentile(busy, 50) * 1e3,
                    "hello_busy_p99_ms": percentile(busy, 99) * 1e3,
                })

                scrub_clip = write_video(tmp_path / "scrub.mp4", SCRUB_CLIP_FRAMES,
                                         size=(960, 540), gop=24)
                figures.update(scrub_figures(client, scrub_clip, args.fetches))

                clip = make_1080p(tmp_path / "clip1080.mp4", args.frames)
                baseline = pyav_decode_fps(clip)
                for fmt, width in (("jpg", 0), ("jpg", 960), ("png", 0)):
                    t0 = time.perf_counter()
                    params = {"input": str(clip), "out": str(tmp_path / f"o-{fmt}-{width}"),
                              "format": fmt, "max_width": width}
                    result = client.submit("proxy", params).wait()
                    fps = len(result["files"]) / (time.perf_counter() - t0)
                    figures[f"proxy_{fmt}_{width or 'full'}_fps"] = fps
                    figures[f"proxy_{fmt}_{width or 'full'}_vs_decode"] = fps / baseline
                figures["pyav_decode_1080p_fps"] = baseline
        finally:
            engine.stop()

        t0 = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "moviola.cli", "demo", "--out", str(tmp_path / "demo")],
                              env=engine_env(tmp_path / "demo-home"), capture_output=True, text=True)
        figures["demo_cold_s"] = time.perf_counter() - t0
        if done.returncode != 0:
            print(done.stderr, file=sys.stderr)
            return 1

    width = max(len(k) for k in figures)
    for key, value in figures.items():
        print(f"{key:<{width}}  {value:10.3f}")
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
