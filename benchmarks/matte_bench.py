"""Matte speed and quality figures, printed, never asserted: ``python benchmarks/matte_bench.py``.

Measured in one process, each next to a baseline from the same run:

1. Interactive latency at 1080p, per backend present: the first click on a frame (decode,
   segment, refine at full resolution, PNG), then repeat clicks on the same frame (cached),
   in-process and through a real engine (``matte_preview`` round trips); as milliseconds
   and as a ratio to decoding that one frame (random access) in the same run.
2. Propagation at 1080p: frames/s of the walk alone and of the whole ``matte`` job (walk,
   full-resolution refine, EXR writes), as a ratio to decoding the clip alone with PyAV; and
   the classical walk with its remembered colours and shape against the band cut alone
   (``memory=False``), alternated in the same process.
3. With ``--davis``: J&F of the no-weights backend on the whole DAVIS clips in
   ../shared/data/davis, prompted from frame 0's mask (3 include, 2 exclude clicks).

Figures go to stdout and, with ``--json FILE``, to a file.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import cv2
import OpenImageIO as oiio

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from engine_harness import start_engine_process  # noqa: E402
from matte_clips import prompts_from_mask, render_matte_clip  # noqa: E402
from moviola.engine.jobs.base import JobContext  # noqa: E402
from moviola.engine.jobs.matte import MatteJob  # noqa: E402
from moviola.engine.matte.backend import backend_status, create_backend  # noqa: E402
from moviola.engine.matte.frames import to_working  # noqa: E402
from moviola.engine.matte.metrics import ClipScore  # noqa: E402
from moviola.engine.matte.preview import FrameStates, preview_mask  # noqa: E402
from moviola.engine.matte.prompts import parse_prompts  # noqa: E402
from moviola.engine.matte.propagate import propagate  # noqa: E402
from moviola.engine.media.source import open_source  # noqa: E402

DAVIS = ROOT.parent / "shared" / "data" / "davis"


def ms(seconds: float) -> float:
    return round(seconds * 1000.0, 1)


def decode_frame_s(path: Path, frame: int, repeats: int = 5) -> float:
    """Median time to open nothing new and read one frame by random access."""
    times = []
    with open_source(path) as media:
        for _ in range(repeats):
            media.read(0)  # move the decoder away so each read seeks
            t0 = time.perf_counter()
            media.read(frame)
            times.append(time.perf_counter() - t0)
    return statistics.median(times)


def decode_clip_fps(path: Path) -> float:
    t0 = time.perf_counter()
    with open_source(path) as media:
        n = sum(1 for _ in media.frames())
    return n / (time.perf_counter() - t0)


def interactive(path: Path, clip, backend_name: str, frame: int, clicks: int) -> dict:
    backend = create_backend(backend_name)
    prompts = parse_prompts(**clip.clicks(frame))
    states = FrameStates()
    t0 = time.perf_counter()
    first = preview_mask(str(path), frame, prompts, backend, states=states)
    first_s = time.perf_counter() - t0
    repeat = []
    for _ in range(clicks):
        t0 = time.perf_counter()
        preview_mask(str(path), frame, prompts, backend, states=states)
        repeat.append(time.perf_counter() - t0)
    return {"first_click_ms": ms(first_s), "repeat_click_ms": ms(statistics.median(repeat)),
            "stages_first_ms": first["timings"], "backend": backend.describe()}


def engine_round_trips(path: Path, clip, frame: int, clicks: int) -> dict:
    home = Path(tempfile.mkdtemp(prefix="moviola-bench-home-"))
    running = start_engine_process(home)
    try:
        with running.client(timeout=60.0) as client:
            params = {"input": str(path), "frame": frame, "backend": "classical", **clip.clicks(frame)}
            t0 = time.perf_counter()
            client.submit("matte_preview", params).wait()
            first = time.perf_counter() - t0
            times = []
            for _ in range(clicks):
                t0 = time.perf_counter()
                client.submit("matte_preview", params).wait()
                times.append(time.perf_counter() - t0)
    finally:
        running.stop()
    return {"first_click_ms": ms(first), "repeat_click_ms": ms(statistics.median(times))}


def propagation(path: Path, clip, out: Path) -> dict:
    job = MatteJob()
    params = job.validate({"input": str(path), "out": str(out), "backend": "classical",
                           "keyframes": [{"frame": 0, **clip.clicks(0)}]})
    t0 = time.perf_counter()
    result = job.run(params, JobContext("bench", lambda body: None, threading.Event()))
    total = time.perf_counter() - t0
    return {"frames": len(result["frames"]),
            "walk_frames_per_s": result["timings"]["propagated_frames_per_s"],
            "job_frames_per_s": round(len(result["frames"]) / total, 2)}


def walk_speed(path: Path, clip, rounds: int = 2) -> dict:
    """Frames/s of the classical walk alone (working-size frames, keyframe from clicks), with
    the remembered colours and shape and without them (the band cut alone), alternated so
    both see the same machine load; the median round of each."""
    backends = {"holding": create_backend("classical"),
                "band_only": create_backend("classical", memory=False)}
    times: dict[str, list[float]] = {name: [] for name in backends}
    frames = 0
    for _ in range(rounds):
        for name, backend in backends.items():
            with open_source(path) as media:
                image = to_working(media.read(0), backend.working_size)
                h, w = image.shape[:2]
                prompts = parse_prompts(**clip.clicks(0)).scaled(w / clip.width, h / clip.height)
                mask = backend.segment(image, prompts)
                t0 = time.perf_counter()
                frames = propagate(media, backend, 0, image, mask, +1, media.last_frame,
                                   lambda n, m: None)
                times[name].append(time.perf_counter() - t0)
    fps = {name: frames / statistics.median(t) for name, t in times.items()}
    return {"frames": frames, **{f"{name}_frames_per_s": round(v, 2) for name, v in fps.items()},
            "holding_vs_band_only": round(fps["holding"] / fps["band_only"], 3)}


def davis(out: Path) -> dict:
    scores = {}
    job = MatteJob()
    ctx = JobContext("bench", lambda body: None, threading.Event())
    for folder in sorted(p for p in DAVIS.iterdir() if p.is_dir()):
        truth = lambda n, f=folder: cv2.imread(str(f / "masks" / f"{n:05d}.png"), 0) > 127  # noqa: E731
        prompts = prompts_from_mask(truth(0), include=3, exclude=2)
        params = job.validate({"input": str(folder / "clip.mp4"), "out": str(out / folder.name),
                               "backend": "classical", "keyframes": [{"frame": 0, **prompts}]})
        t0 = time.perf_counter()
        result = job.run(params, ctx)
        elapsed = time.perf_counter() - t0
        score = ClipScore()
        for n, p in zip(result["frames"], result["files"]):
            score.add(n, oiio.ImageBuf(p).get_pixels(oiio.FLOAT)[..., 0], truth(n))
        scores[folder.name] = {**score.summary(), "seconds": round(elapsed, 1)}
    return scores


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=24, help="frames in the 1080p clip")
    parser.add_argument("--clicks", type=int, default=5, help="repeat clicks to time")
    parser.add_argument("--davis", action="store_true", help="also score the DAVIS clips")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()

    figures: dict = {}
    with tempfile.TemporaryDirectory(prefix="moviola-matte-bench-") as tmp:
        tmp_path = Path(tmp)
        print("rendering a 1080p test clip...", file=sys.stderr)
        clip = render_matte_clip(tmp_path / "clip1080.mp4", width=1920, height=1080,
                                 frames=args.frames, pan=(6.0, 2.0))
        frame = args.frames // 2
        decode_s = decode_frame_s(clip.path, frame)
        figures["decode_one_frame_ms"] = ms(decode_s)
        figures["interactive"] = {}
        for name, status in backend_status().items():
            if not status["available"]:
                figures["interactive"][name] = {"absent": status["reason"]}
                continue
            result = interactive(clip.path, clip, name, frame, args.clicks)
            result["first_click_vs_decode"] = round(result["first_click_ms"] / ms(decode_s), 2)
            result["repeat_click_vs_decode"] = round(result["repeat_click_ms"] / ms(decode_s), 2)
            figures["interactive"][name] = result
        figures["engine_round_trip_classical"] = engine_round_trips(clip.path, clip, frame, args.clicks)
        decode_fps = decode_clip_fps(clip.path)
        prop = propagation(clip.path, clip, tmp_path / "out")
        prop["decode_frames_per_s"] = round(decode_fps, 2)
        prop["job_vs_decode"] = round(prop["job_frames_per_s"] / decode_fps, 3)
        figures["propagation_1080p_classical"] = prop
        figures["walk_1080p_classical_memory"] = walk_speed(clip.path, clip)
        if args.davis and DAVIS.is_dir():
            figures["davis_classical"] = davis(tmp_path / "davis")

    print(json.dumps(figures, indent=2))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
