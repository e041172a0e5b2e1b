"""The farm wrapper's overhead, printed, never asserted: ``python benchmarks/farm_bench.py``.

Depth (parallax, 16-bit PNG) over the built-in sample's edit, two ways on this machine:

1. direct: the depth job run in this process over the whole edit (what the engine does);
2. farm: ``moviola farm export`` then ``openjd run`` of every task and the gather step, each
   task a fresh ``moviola farm run-task`` process, as a farm worker runs it;

then the same ``openjd run`` again, which finds every task complete. Figures: tasks (clips)
per minute each way and their ratio, farm over direct (1.0: no overhead). ``--json FILE``
writes them to a file too.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from moviola.engine.jobs.base import JobContext
from moviola.engine.jobs.depth import DepthJob
from moviola.engine.samples import make_sample

PARAMS = {"backend": "parallax", "format": "png16"}


def _bin(name: str) -> str:
    return shutil.which(name) or str(Path(sys.executable).with_name(name))


def direct(timeline: Path, out: Path) -> tuple[float, int]:
    job = DepthJob()
    started = time.perf_counter()
    result = job.run(job.validate({"input": str(timeline), "out": str(out), **PARAMS}),
                     JobContext("bench", lambda body: None, threading.Event()))
    return time.perf_counter() - started, len(result["clips"])


def farm(timeline: Path, media: Path, bundle: Path, out: Path) -> tuple[float, float, int]:
    params = [a for k, v in PARAMS.items() for a in ("--param", f"{k}={v}")]
    started = time.perf_counter()
    exported = subprocess.run([_bin("moviola"), "farm", "export", str(timeline), "--job", "depth",
                               *params, "--out", str(bundle), "--json"],
                              capture_output=True, text=True, check=True)
    tasks = json.loads(exported.stdout)["tasks"]
    command = [_bin("openjd"), "run", str(bundle / "template.yaml"), "-p", f"InputRoot={media}",
               "-p", f"OutputRoot={out}", "-p", f"MoviolaCommand={_bin('moviola')}",
               "--step", "Gather", "--run-dependencies"]
    subprocess.run(command, capture_output=True, text=True, check=True)
    first = time.perf_counter() - started
    again = time.perf_counter()
    subprocess.run(command, capture_output=True, text=True, check=True)
    return first, time.perf_counter() - again, tasks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="320x180", help="sample size WxH (default 320x180)")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.split("x"))
    with tempfile.TemporaryDirectory(prefix="moviola-farm-bench-") as tmp:
        root = Path(tmp)
        sample = make_sample(root / "media", width=width, height=height, seconds_per_shot=1.0)
        direct_s, clips = direct(sample.timeline_path, root / "direct")
        farm_s, again_s, tasks = farm(sample.timeline_path, root / "media", root / "bundle",
                                      root / "farm_out")
    per_min_direct = 60.0 * clips / direct_s
    per_min_farm = 60.0 * tasks / farm_s
    figures = {"sample": f"{width}x{height}, {clips} clips", "direct_s": round(direct_s, 2),
               "farm_s": round(farm_s, 2), "farm_again_s": round(again_s, 2),
               "direct_tasks_per_min": round(per_min_direct, 1),
               "farm_tasks_per_min": round(per_min_farm, 1),
               "ratio_farm_over_direct": round(per_min_farm / per_min_direct, 3)}
    for key, value in figures.items():
        print(f"{key:24s} {value}")
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=1))


if __name__ == "__main__":
    main()
