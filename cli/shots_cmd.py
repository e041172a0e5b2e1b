"""``moviola shots`` and ``moviola matchcuts``: shot boundaries and match-cut suggestions."""

from __future__ import annotations

import argparse
import os
from typing import Any

from .jobs_cmd import absolute, add_rate_option, run_job, with_rate


def _setting(text: str) -> tuple[str, float]:
    key, sep, value = text.partition("=")
    try:
        if not sep:
            raise ValueError
        return key.strip(), float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected KEY=NUMBER, got {text!r}") from None


def _out(params: dict[str, Any], out: str | None) -> None:
    """``--out DIR`` is the output folder; ``--out NAME.otio`` also names the outputs."""
    if out is None:
        return
    path = absolute(out)
    if path.lower().endswith(".otio"):
        params["out"] = os.path.dirname(path)
        params["name"] = os.path.basename(path)[: -len(".otio")]
    else:
        params["out"] = path


def add_parsers(sub: argparse._SubParsersAction) -> None:
    shots = sub.add_parser("shots", help="shot boundaries (hard cuts, dissolves, fades)")
    shots.add_argument("input", help="video file, image sequence or timeline (.otio, .xml, .edl)")
    shots.add_argument("--out", help="output folder, or NAME.otio (a CSV is written beside it)")
    shots.add_argument("--backend", choices=["auto", "classical", "transnetv2", "fused"], default="auto",
                       help="auto: fused (TransNetV2 checked by the classical detector) when "
                            "TransNetV2 is installed (any device), else the classical detector")
    shots.add_argument("--set", type=_setting, action="append", default=[], dest="settings",
                       metavar="KEY=VALUE", help="a detector setting, e.g. cut_threshold=0.08")
    shots.add_argument("--no-cache", action="store_true", dest="no_cache")
    add_rate_option(shots)
    shots.add_argument("--json", action="store_true")
    shots.set_defaults(func=shots_cmd)

    match = sub.add_parser("matchcuts", help="match-cut suggestions across timelines or videos")
    match.add_argument("inputs", nargs="+", help="timelines or videos (several episodes at once)")
    match.add_argument("--flavor", choices=["frame", "motion", "look", "all"], default="all")
    match.add_argument("--top", type=int, default=20, help="pairs kept per flavour (default 20)")
    match.add_argument("--out", help="output folder, or NAME.otio for the marked timeline "
                                     "(NAME.review.otio and NAME.json beside it)")
    match.add_argument("--backend", choices=["auto", "classical", "transnetv2", "fused"], default="auto",
                       help="shot detector for video inputs")
    match.add_argument("--dedupe", type=float, default=0.97,
                       help="look similarity above which shots are near-duplicates")
    match.add_argument("--silhouette", default="auto",
                       help="frame flavour: auto (a segmentation model when installed), classical, "
                            "or a segmentation model's name")
    match.add_argument("--no-cache", action="store_true", dest="no_cache")
    match.add_argument("--json", action="store_true")
    match.set_defaults(func=matchcuts_cmd)


def print_shots(result: dict[str, Any]) -> None:
    for cut in result["cuts"]:
        span = cut["span"]
        extra = f" ({span[0]}-{span[1] - 1})" if cut["kind"] != "hard" else ""
        where = f"  [{cut['clip']} @ {cut['record_frame']}]" if "clip" in cut else ""
        print(f"frame {cut['frame']:>7}  {cut['kind']:<8}{extra:<14} {cut['confidence']:.2f}{where}")
    print(f"{len(result['shots'])} shots, {len(result['cuts'])} cuts; detector: {result['backend']}"
          f" ({result['backend_reason']})")
    for problem in result.get("problems", []):
        print(f"  ! {problem}")
    if result.get("otio"):
        print(f"timeline: {result['otio']}\ncsv: {result['csv']}")
    if result.get("marked_otio"):
        print(f"edit with a marker at every cut: {result['marked_otio']}")


def shots_cmd(args: argparse.Namespace) -> int:
    params: dict[str, Any] = {"input": absolute(args.input), "backend": args.backend,
                              "thresholds": dict(args.settings), "cache": not args.no_cache}
    _out(params, args.out)
    run_job(args, "shots", with_rate(params, args), print_shots)
    return 0


def print_pairs(result: dict[str, Any]) -> None:
    for pair in result["pairs"]:
        a, b = pair["a"], pair["b"]
        print(f"#{pair['rank']:<3} {pair['flavor']:<6} {pair['score']:.2f}  "
              f"{os.path.basename(a['media'])} {a['start']}-{a['end']} → "
              f"{os.path.basename(b['media'])} {b['start']}-{b['end']}  {pair['note']}")
    cache = result["cache"]
    print(f"{len(result['pairs'])} suggestions from {result['shots']} shots; "
          f"{len(result['duplicates'])} near-duplicate groups; cache {cache['hits']} hits, "
          f"{cache['misses']} misses")
    for problem in result.get("problems", []):
        print(f"  ! {problem}")
    for path in result.get("otio") or []:
        print(f"markers: {path}")
    if result.get("review_otio"):
        print(f"review timeline: {result['review_otio']}")


def matchcuts_cmd(args: argparse.Namespace) -> int:
    params: dict[str, Any] = {"inputs": [absolute(p) for p in args.inputs], "flavor": args.flavor,
                              "top": args.top, "backend": args.backend, "dedupe": args.dedupe,
                              "cache": not args.no_cache, "silhouette": args.silhouette}
    _out(params, args.out)
    run_job(args, "matchcuts", params, print_pairs)
    return 0
