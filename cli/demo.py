"""``moviola demo``: the whole pipeline on a built-in sample, from nothing to a result timeline.

1. the engine writes the sample: synthetic shots as an H.264 file plus an OTIO that cuts them;
2. ``probe`` reads the media back;
3. ``proxy`` writes every clip's frames as an image sequence and the result OTIO next to the
   media: the source timeline plus a track of clips that refer to those sequences.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

from moviola.plugin.client import EngineClient
from moviola.plugin.discovery import read_discovery

from .jobs_cmd import absolute, print_media, print_outputs, run_job
from .report import emit_json


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
    try:
        with _silenced():
            sample = _step(quiet, client, "sample", {"out": out}, timings)
            probe = _step(quiet, client, "probe", {"path": sample["video"]}, timings)
            proxy = _step(quiet, client, "proxy", {"input": sample["timeline"], "out": out,
                                                   "format": "jpg", "max_width": 320}, timings)
        if not was_running and not args.keep_engine:
            client.shutdown(wait=True)
    finally:
        client.close()
    timings["total_s"] = round(time.perf_counter() - started, 3)
    summary = {"otio": proxy["otio"], "sample": sample, "probe": probe, "proxy": proxy,
               "timings": timings}
    if args.json:
        emit_json(summary)
        return 0
    print(f"sample: {sample['video']} ({len(sample['shots'])} shots), timeline {sample['timeline']}")
    print_media(probe)
    print_outputs(proxy)
    print(f"done in {timings['total_s']:.1f} s")
    return 0


def _step(args: argparse.Namespace, client: EngineClient, kind: str, params: dict[str, Any],
          timings: dict[str, float]) -> dict[str, Any]:
    t0 = time.perf_counter()
    result = run_job(args, kind, params, lambda _: None, client=client)
    timings[f"{kind}_s"] = round(time.perf_counter() - t0, 3)
    return result


class _silenced:
    """run_job prints JSON when asked to; the demo prints one summary instead."""

    def __enter__(self) -> None:
        import contextlib
        import io
        self._redirect = contextlib.redirect_stdout(io.StringIO())
        self._redirect.__enter__()

    def __exit__(self, *exc: Any) -> None:
        self._redirect.__exit__(*exc)
