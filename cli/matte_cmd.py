"""``moviola matte``: clicks on a frame, existing mattes of frames (``--mask FRAME=PATH``)
and/or a keyframes file → mattes for the clip.

Coordinates are pixels of the full-resolution source image, origin top-left; frames are the
source media's frame numbers. Mask paths go to the engine absolute; in a keyframes file they
are relative to the file's folder.
"""

from __future__ import annotations

import argparse
import json
import os
from typing import Any

from .jobs_cmd import (
    absolute,
    add_device_option,
    add_export_option,
    parse_range,
    print_device,
    print_exports,
    with_device,
    with_export,
)
from .model_offer import run_with_offer
from .report import frame_span

FORMATS = ("exr", "png", "prores")
BACKENDS = ("auto", "classical", "sam2")


def parse_point(text: str) -> list[float]:
    """``X,Y`` → [x, y]."""
    try:
        x, y = (float(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"a click must look like 640,360, got {text!r}") from None
    return [x, y]


def parse_box(text: str) -> list[float]:
    """``X0,Y0,X1,Y1`` → [x0, y0, x1, y1]."""
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        values = []
    if len(values) != 4:
        raise argparse.ArgumentTypeError(f"a box must look like 100,80,400,360, got {text!r}")
    return values


def parse_mask(text: str) -> tuple[int, str]:
    """``FRAME=PATH`` → (frame, absolute path)."""
    frame, sep, path = text.partition("=")
    try:
        number = int(frame)
    except ValueError:
        number = None
    if not sep or number is None or not path:
        raise argparse.ArgumentTypeError(f"a mask must look like 1001=roto.1001.exr, got {text!r}")
    return number, absolute(path)


def load_keyframes(path: str) -> list[dict[str, Any]]:
    """A keyframes file: a JSON list of keyframes, or ``{"keyframes": [...]}``."""
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except OSError as exc:
        raise argparse.ArgumentTypeError(f"cannot read keyframes file {path}: {exc.strerror}") from None
    except json.JSONDecodeError as exc:
        raise argparse.ArgumentTypeError(f"keyframes file {path} is not JSON: {exc}") from None
    if isinstance(data, dict):
        data = data.get("keyframes")
    if not isinstance(data, list):
        raise argparse.ArgumentTypeError(f"keyframes file {path} must hold a list of keyframes "
                                         "or {\"keyframes\": [...]}")
    folder = os.path.dirname(absolute(path))
    for item in data:
        mask = item.get("mask") if isinstance(item, dict) else None
        if isinstance(mask, str) and mask:
            item["mask"] = os.path.join(folder, os.path.expanduser(mask))
    return data


def add_parsers(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("matte", help="mattes from clicks on a frame, propagated through the clip",
                       description="Click on the object on one frame (--include, --exclude, "
                       "--box, in full-resolution pixels, origin top-left) and/or give keyframes "
                       "in a JSON file; get a soft matte for every frame of the clip.")
    p.add_argument("input", help="video file, image sequence or timeline (.otio, .xml, .edl)")
    p.add_argument("--frame", type=int, help="source frame number of the clicks")
    p.add_argument("--include", type=parse_point, action="append", default=[], metavar="X,Y",
                   help="a click on the object (repeatable)")
    p.add_argument("--exclude", type=parse_point, action="append", default=[], metavar="X,Y",
                   help="a click on what must stay out (repeatable)")
    p.add_argument("--box", type=parse_box, metavar="X0,Y0,X1,Y1", help="a box around the object")
    p.add_argument("--mask", type=parse_mask, action="append", default=[], metavar="FRAME=PATH",
                   help="an existing matte of a frame (PNG, EXR alpha, TIFF...: the alpha channel, "
                   "else the first) as a keyframe (repeatable); clicks on the same --frame "
                   "refine it")
    p.add_argument("--object", type=int, default=1,
                   help="object id of the clicks and masks (default 1)")
    p.add_argument("--keyframes", type=load_keyframes, metavar="prompts.json",
                   help="more keyframes: [{frame, object, include, exclude, box, mask}, ...]")
    p.add_argument("--range", type=parse_range, help="source frames A-B (inclusive) to matte")
    p.add_argument("--clip", type=int, help="for a timeline: index of the clip to matte")
    p.add_argument("--out", help="output folder (nothing is written outside it; default: "
                   "<output_dir setting>/<input stem>)")
    p.add_argument("--format", choices=FORMATS, default="exr")
    p.add_argument("--backend", choices=BACKENDS, default="auto")
    p.add_argument("--model", help="registry model for a neural backend (default sam2.1-hiera-tiny)")
    p.add_argument("--working-size", type=int, dest="working_size",
                   help="longest side of the working resolution (default: the backend's, "
                   "480 classical, 1024 sam2; 0: full size)")
    p.add_argument("--no-reuse", action="store_false", dest="reuse",
                   help="recompute everything instead of reusing cached segments")
    add_export_option(p)
    add_device_option(p)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=matte_cmd, parser=p)


def build_keyframes(args: argparse.Namespace) -> list[dict[str, Any]]:
    keyframes = list(args.keyframes or [])
    masks: dict[int, dict[str, Any]] = {}
    for frame, path in args.mask:
        if frame in masks:
            args.parser.error(f"--mask gives frame {frame} twice")
        masks[frame] = {"frame": frame, "object": args.object, "mask": path}
    clicked = args.include or args.exclude or args.box
    if args.frame is not None:
        if not clicked:
            args.parser.error("--frame needs --include, --exclude or --box")
        # Clicks on a frame that has a --mask refine that mask: one keyframe.
        kf = masks.setdefault(args.frame, {"frame": args.frame, "object": args.object})
        kf.update(include=args.include, exclude=args.exclude)
        if args.box:
            kf["box"] = args.box
    elif clicked:
        args.parser.error("--include/--exclude/--box need --frame")
    keyframes += [masks[f] for f in sorted(masks)]
    if not keyframes:
        args.parser.error("give --frame with clicks, --mask FRAME=PATH, or --keyframes")
    return keyframes


def print_mattes(result: dict[str, Any]) -> None:
    for obj in result["objects"]:
        print(f"object {obj['object']}: {frame_span(obj['frames'])} → {obj['pattern']}")
    for problem in result.get("problems", []):
        print(f"  ! {problem}")
    backend = result.get("backend", {})
    print(f"backend {backend.get('backend')} ({backend.get('model')}); "
          f"{result['computed_frames']} frames propagated, {result['reused_frames']} reused")
    print_device(result)
    print(f"result timeline: {result['otio']}")
    print_exports(result)


def matte_cmd(args: argparse.Namespace) -> int:
    params: dict[str, Any] = {
        "input": absolute(args.input), "out": absolute(args.out) if args.out else None,
        "keyframes": build_keyframes(args), "format": args.format, "backend": args.backend,
        "reuse": args.reuse}
    for name in ("model", "working_size", "clip"):
        if getattr(args, name) is not None:
            params[name] = getattr(args, name)
    if args.range:
        params["range"] = args.range
    run_with_offer(args, "matte", with_device(with_export(params, args), args), print_mattes)
    return 0
