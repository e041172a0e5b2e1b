"""``moviola demo``: the whole pipeline on a built-in sample, from nothing to result timelines.

1. the engine writes the sample: synthetic shots as an H.264 file plus an OTIO that cuts them;
2. ``probe`` reads the media back;
3. ``shots`` finds the cuts in the media;
4. ``proxy`` writes every clip's frames as an image sequence and the result OTIO next to the
   media: the source timeline plus a track of clips that refer to those sequences;
5. ``matte`` mattes the object of one clip from a click and a box on its first frame;
6. ``matchcuts`` ranks pairs of clips that cut well together, as markers and a review timeline.

Depth is not run here: the sample's shots are flat drawings with no parallax to measure
(see docs/depth.md for what the depth backends need).
"""

from __future__ import annotations

import argparse
import time
from typing import Any

from moviola.plugin.client import EngineClient
from moviola.plugin.discovery import read_discovery

from .jobs_cmd import absolute, run_job
from .report import emit_json, frame_span

MATTE_CLIP = 1  # the second clip of the sample edit: a disc crossing a textured background


def add_parser(sub: argparse._SubParsersAction) -> None:
    demo = sub.add_parser("demo", help="run the pipeline on a built-in sample")
    demo.add_argument("--out", default="moviola-demo", help="folder for the sample and results")
    demo.add_argument("--keep-engine", action="store_true",
                      help="leave an engine this command started running")
    demo.add_argument("--json", action="store_true")
    demo.set_defaults(func=demo_cmd)


def demo_cmd(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    out = absolute(args.out)
    was_running = read_discovery() is not None
    client = EngineClient.connect(autostart=not args.no_autostart, timeout=args.timeout)
    quiet = argparse.Namespace(**{**vars(args), "json": True})  # collect, print once below
    timings: dict[str, float] = {"engine_ready_s": round(time.perf_counter() - started, 3)}
    steps: dict[str, dict[str, Any]] = {}

    def step(kind: str, params: dict[str, Any]) -> dict[str, Any]:
        t0 = time.perf_counter()
        with _silenced():
            steps[kind] = run_job(quiet, kind, params, lambda _: None, client=client)
        timings[f"{kind}_s"] = round(time.perf_counter() - t0, 3)
        return steps[kind]

    try:
        sample = step("sample", {"out": out})
        step("probe", {"input": sample["video"]})
        step("shots", {"input": sample["video"], "out": out})
        proxy = step("proxy", {"input": sample["timeline"], "out": out, "format": "jpg",
                               "max_width": 320})
        target = sample["edit"][MATTE_CLIP]
        step("matte", {"input": sample["timeline"], "out": out, "clip": MATTE_CLIP, "format": "png",
                       "keyframes": [{"frame": target["source_start"], "object": 1,
                                      "include": [target["object"]["centre"]],
                                      "box": target["object"]["box"]}]})
        step("matchcuts", {"inputs": [sample["timeline"]], "out": out, "top": 5})
        if not was_running and not args.keep_engine:
            client.shutdown(wait=True)
    finally:
        client.close()
    timings["total_s"] = round(time.perf_counter() - started, 3)
    summary = {"otio": proxy["otio"], **steps, "timings": timings}
    if args.json:
        emit_json(summary)
    else:
        _print_summary(steps, timings)
    return 0


def _print_summary(steps: dict[str, dict[str, Any]], timings: dict[str, float]) -> None:
    sample, probe = steps["sample"], steps["probe"]["media"][0]
    print(f"sample    {sample['video']}: {len(sample['shots'])} shots, {probe['width']}x{probe['height']}, "
          f"{probe['frame_rate']} fps, {probe['frame_count']} frames; edit {sample['timeline']}")
    cuts = steps["shots"]["cuts"]
    print(f"shots     {len(cuts)} cuts at frames {', '.join(str(c['frame']) for c in cuts)} "
          f"({steps['shots']['backend']}) → {steps['shots'].get('otio')}")
    proxy = steps["proxy"]
    print(f"proxy     {len(proxy['files'])} frames of {len(proxy['clips'])} clips → {proxy['otio']}")
    matte = steps["matte"]
    print(f"matte     {matte['clip']}: {frame_span(matte['frames'])}, "
          f"{matte['computed_frames']} computed, {matte['reused_frames']} reused from the cache "
          f"({matte['backend']['backend']}) → {matte['otio']}")
    pairs = steps["matchcuts"]["pairs"]
    best = ", ".join(f"{p['flavor']} {p['score']:.2f}" for p in pairs[:3]) or "none"
    print(f"matchcuts {len(pairs)} pairs (best: {best}) → review {steps['matchcuts'].get('review_otio')}")
    print(f"done in {timings['total_s']:.1f} s")


class _silenced:
    """run_job prints JSON when asked to; the demo prints one summary instead."""

    def __enter__(self) -> None:
        import contextlib
        import io
        self._redirect = contextlib.redirect_stdout(io.StringIO())
        self._redirect.__enter__()

    def __exit__(self, *exc: Any) -> None:
        self._redirect.__exit__(*exc)
