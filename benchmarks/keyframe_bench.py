"""Time and quality of the classical keyframe (clicks -> mask on one frame), against the
disc-seeded GrabCut it replaced, in one process: ``python benchmarks/keyframe_bench.py``.

Frame 0 of each clip in ../shared/data/davis (854x480; or ``DIR...`` in DAVIS layout), with
3 include clicks at interior maxima of the true mask and 2 exclude clicks just outside it
(the quality benchmark's protocol). Each plate is segmented at the backend's working size
(longest side 480) as it comes (854x480) and scaled up to 1080p first (the same working
image, so only the plate's scaling differs), and with ``--native`` also at the plate's own
size. Per case: the median time of each function (calls interleaved), the ratio new/old,
and the keyframe J of each. Figures are printed, never asserted.

``--quality`` measures on many keyframes instead of three: every 5th frame of each clip (37
frames of the three shared clips) and the synthetic stills of ``tests/keyframe_scenes.py``,
with the same click protocol (the tests' ``prompts_from_mask``), at the working size 480. It
prints keyframe J per clip (mean, median, worst) and over all frames, and the median time per
call, for the current keyframe and a baseline run in the same process: the disc-seeded cut,
or with ``--against REV`` the keyframe module as it was at git revision REV.
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from keyframe_scenes import all_scenes, davis_keyframes  # noqa: E402
from matte_clips import prompts_from_mask  # noqa: E402
from moviola.engine.matte.frames import to_working  # noqa: E402
from moviola.engine.matte.graphcut import segment_from_prompts  # noqa: E402
from moviola.engine.matte.keyframe import segment_keyframe  # noqa: E402
from moviola.engine.matte.metrics import region_j  # noqa: E402
from moviola.engine.matte.prompts import parse_prompts  # noqa: E402
from shared_data import SHARED_DATA  # noqa: E402

FUNCTIONS: dict[str, Callable] = {"old": segment_from_prompts, "new": segment_keyframe}


def frame_zero(folder: Path) -> tuple[np.ndarray, np.ndarray]:
    image = cv2.imread(str(folder / "frames" / "00000.jpg"))
    truth = cv2.imread(str(folder / "masks" / "00000.png"), cv2.IMREAD_GRAYSCALE)
    if image is None or truth is None:
        raise FileNotFoundError(f"{folder}: frames/00000.jpg and masks/00000.png")
    return np.ascontiguousarray(image[..., ::-1]), truth > 127


def measure(plate: np.ndarray, truth: np.ndarray, working: int, repeats: int) -> dict:
    """Times (ms) and keyframe J of each function on ``plate`` segmented at ``working``."""
    image = to_working(plate, working)
    h, w = image.shape[:2]
    clicks = parse_prompts(**prompts_from_mask(truth, 3, 2))
    prompts = clicks.scaled(w / truth.shape[1], h / truth.shape[0])
    times: dict[str, list[float]] = {name: [] for name in FUNCTIONS}
    js = {}
    for _ in range(repeats):
        for name, fn in FUNCTIONS.items():
            t0 = time.perf_counter()
            mask = fn(image, prompts)
            times[name].append(time.perf_counter() - t0)
            full = cv2.resize(mask.astype(np.float32), truth.shape[::-1], interpolation=cv2.INTER_LINEAR)
            js[name] = region_j(full, truth)
    ms = {name: statistics.median(t) * 1000 for name, t in times.items()}
    return {"size": f"{w}x{h}", "ms": ms, "ratio": ms["new"] / ms["old"], "J": js}


def keyframe_at(rev: str) -> Callable:
    """``segment_keyframe`` as engine/matte/keyframe.py was at git revision ``rev``, loaded as a
    sibling module so its relative imports resolve to today's helpers."""
    source = subprocess.run(["git", "-C", str(ROOT), "show", f"{rev}:engine/matte/keyframe.py"],
                            check=True, capture_output=True, text=True).stdout
    name = "moviola.engine.matte._keyframe_at_rev"
    spec = importlib.util.spec_from_loader(name, loader=None)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    module.__package__ = "moviola.engine.matte"
    sys.modules[name] = module
    exec(compile(source, f"{rev}:engine/matte/keyframe.py", "exec"), module.__dict__)
    return module.segment_keyframe


def keyframe_cases(dirs: list[Path], step: int) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(clip, RGB image, true mask) for every ``step``-th frame of each clip in DAVIS layout,
    then each synthetic still (clip "synthetic")."""
    cases = [(scene.name.split("/")[0], scene.image, scene.mask) for scene in davis_keyframes(dirs, step)]
    return cases + [("synthetic", scene.image, scene.mask) for scene in all_scenes()]


def _spread(values: list[float]) -> str:
    return (f"mean {statistics.fmean(values):.3f} median {statistics.median(values):.3f} "
            f"worst {min(values):.3f}")


def quality(dirs: list[Path], step: int, functions: dict[str, Callable], working: int) -> None:
    """Keyframe J per clip and overall for each function, and the median time per call."""
    js: dict[str, dict[str, list[float]]] = {name: {} for name in functions}
    times: dict[str, list[float]] = {name: [] for name in functions}
    for clip, plate, truth in keyframe_cases(dirs, step):
        image = to_working(plate, working)
        h, w = image.shape[:2]
        clicks = parse_prompts(**prompts_from_mask(truth, 3, 2))
        prompts = clicks.scaled(w / truth.shape[1], h / truth.shape[0])
        for name, fn in functions.items():
            t0 = time.perf_counter()
            mask = fn(image, prompts)
            times[name].append(time.perf_counter() - t0)
            full = cv2.resize(mask.astype(np.float32), truth.shape[::-1], interpolation=cv2.INTER_LINEAR)
            js[name].setdefault(clip, []).append(float(region_j(full, truth)))
    for clip in js[next(iter(functions))]:
        for name in functions:
            print(f"{clip:16s} {name:9s} J {_spread(js[name][clip])}  ({len(js[name][clip])} frames)")
    for name in functions:
        every = [j for clip_js in js[name].values() for j in clip_js]
        real = [j for clip, clip_js in js[name].items() if clip != "synthetic" for j in clip_js]
        if real:
            print(f"{'all real':16s} {name:9s} J {_spread(real)}")
        print(f"{'all':16s} {name:9s} J {_spread(every)}  "
              f"median time {statistics.median(times[name]) * 1000:.0f} ms")
    names = list(functions)
    if len(names) == 2:
        ratio = statistics.median(times[names[1]]) / statistics.median(times[names[0]])
        print(f"median time {names[1]}/{names[0]}: {ratio:.2f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dirs", nargs="*", type=Path, help="clips in DAVIS layout")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--native", action="store_true",
                        help="also segment at the plate's own size (slow at 1080p)")
    parser.add_argument("--quality", action="store_true",
                        help="keyframe J on every --step-th frame of each clip and the synthetic stills")
    parser.add_argument("--step", type=int, default=5)
    parser.add_argument("--against", metavar="REV",
                        help="with --quality: compare with the keyframe module at this git revision")
    args = parser.parse_args()
    dirs = args.dirs or sorted(p for p in (SHARED_DATA / "davis").iterdir() if (p / "masks").is_dir())
    if args.quality:
        baseline = keyframe_at(args.against) if args.against else segment_from_prompts
        label = args.against[:9] if args.against else "disc"
        quality(dirs, args.step, {label: baseline, "current": segment_keyframe}, 480)
        return 0
    ratios = []
    for folder in dirs:
        plate, truth = frame_zero(folder)
        hd = cv2.resize(plate, (1920, 1080), interpolation=cv2.INTER_CUBIC)
        hd_truth = cv2.resize(truth.astype(np.uint8), (1920, 1080), interpolation=cv2.INTER_NEAREST) > 0
        cases = [("854x480 plate", plate, truth, 480), ("1080p plate", hd, hd_truth, 480)]
        if args.native:
            cases += [("854x480 native", plate, truth, 854), ("1080p native", hd, hd_truth, 1920)]
        for label, image, mask, working in cases:
            r = measure(image, mask, working, 1 if working > 854 else args.repeats)
            ratios.append(r["ratio"])
            print(f"{folder.name:16s} {label:15s} at {r['size']:9s} old {r['ms']['old']:7.0f} ms "
                  f"new {r['ms']['new']:7.0f} ms  new/old {r['ratio']:4.2f}   "
                  f"J old {r['J']['old']:.3f} new {r['J']['new']:.3f}", flush=True)
    print(f"median new/old time: {statistics.median(ratios):.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
