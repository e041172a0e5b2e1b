"""``moviola depth``: run the depth job on a video, an image sequence or a timeline's clips."""

from __future__ import annotations

import argparse
from typing import Any

from .jobs_cmd import (
    absolute,
    add_device_option,
    add_export_option,
    parse_range,
    print_device,
    print_outputs,
    with_device,
    with_export,
)
from .model_offer import run_with_offer


def add_parsers(sub: argparse._SubParsersAction) -> None:
    depth = sub.add_parser("depth", help="depth passes, stable over time, at full resolution "
                                         "(+ result OTIO with a depth track)")
    depth.add_argument("input", help="video file, image sequence or timeline (.otio, .xml, .edl)")
    depth.add_argument("--out", help="output folder (nothing is written outside it; default: "
                       "<output_dir setting>/<input stem>)")
    depth.add_argument("--format", choices=["exr", "png16"], default="exr",
                       help="float EXR with a depth.Z channel (default; parallax adds "
                       "depth.confidence) or 16-bit grey PNG")
    depth.add_argument("--normalize", choices=["relative", "near-far", "metric"], default="relative",
                       help="relative: inverse depth, 1 near .. 0 far (default); near-far: depth, "
                            "0 near .. 1 far; metric: metres (metric models only)")
    depth.add_argument("--backend", default="auto",
                       help="auto (a neural model if installed, else parallax), parallax, or a "
                            "depth model name from `moviola models list`")
    depth.add_argument("--range", type=parse_range, help="source frames A-B (inclusive), single media only")
    depth.add_argument("--preview", action="store_true", help="EXR: add an RGB preview (near white)")
    depth.add_argument("--no-stabilize", dest="stabilize", action="store_false",
                       help="keep each frame's own scale, no smoothing (for comparison; flickers)")
    depth.add_argument("--smoothing", type=float, default=0.5,
                       help="temporal smoothing of per-pixel flicker along the flow, 0..0.9 (default 0.5)")
    depth.add_argument("--working-size", type=int, default=0, dest="working_size",
                       help="shorter side of the working resolution (0: the backend's own)")
    depth.add_argument("--fov", type=float, help="parallax: horizontal field of view in degrees (default 45)")
    add_device_option(depth)
    depth.add_argument("--precision", choices=["auto", "fp32", "fp16", "bf16"], default="auto")
    depth.add_argument("--runtime", choices=["torch", "tensorrt"], default="torch",
                       help="tensorrt: build and cache engines on a CUDA GPU (unverified)")
    add_export_option(depth)
    depth.add_argument("--json", action="store_true")
    depth.set_defaults(func=depth_cmd)


def print_depth(result: dict[str, Any]) -> None:
    print_outputs(result)
    print(f"backend: {result['backend']}; channel {result['channel']}, {result['convention']} "
          f"({result['normalize']})")
    for clip in result["clips"]:
        verdict = clip.get("verdict", {})
        if verdict.get("status", "valid") != "valid":
            print(f"  ! {clip['clip']}: {verdict['status']}: {verdict.get('reason', '')}")
    print_device(result)


def depth_cmd(args: argparse.Namespace) -> int:
    params: dict[str, Any] = {
        "input": absolute(args.input), "out": absolute(args.out) if args.out else None,
        "format": args.format,
        "normalize": args.normalize, "backend": args.backend, "preview": args.preview,
        "stabilize": args.stabilize, "smoothing": args.smoothing,
        "working_size": args.working_size,
        "precision": args.precision, "runtime": args.runtime}
    if args.range:
        params["range"] = args.range
    if args.fov is not None:
        params["fov"] = args.fov
    run_with_offer(args, "depth", with_device(with_export(params, args), args), print_depth)
    return 0
