"""Commands that run one engine job: ``probe``, ``proxy``; and ``jobs``/``cancel``."""

from __future__ import annotations

import argparse
import os
import time
from typing import Any, Callable

from moviola.plugin.client import EngineClient
from moviola.plugin.errors import InvalidParamsError
from moviola.plugin.timeline import parse_rate

from .interrupt import wait_cancelling
from .report import UNITS, ProgressBar, emit_json, frame_span


def parse_range(text: str) -> list[int]:
    """``A-B`` (inclusive source frame numbers) → [A, B]."""
    try:
        first, _, last = text.partition("-")
        values = [int(first), int(last)]
    except ValueError:
        raise argparse.ArgumentTypeError(f"range must look like 1001-1100, got {text!r}") from None
    if values[1] < values[0]:
        raise argparse.ArgumentTypeError(f"range {text!r} ends before it starts")
    return values


def rate_arg(text: str) -> float:
    """``--rate``: 24, 25, 29.97, 23.976 or 24000/1001 → the exact rate."""
    try:
        return parse_rate(text)
    except InvalidParamsError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_rate_option(parser: argparse.ArgumentParser) -> None:
    """``--rate``: the frame rate of an EDL input, which a CMX list does not state."""
    parser.add_argument("--rate", type=rate_arg, help="frame rate of an EDL input (e.g. 25, "
                        "23.976); default: the rate of the first movie it names, else 24")


EXPORT_FORMATS = ("xml", "edl")


def export_arg(text: str) -> list[str]:
    """``--export xml,edl`` → ["xml", "edl"]."""
    names = [n.strip().lower() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in EXPORT_FORMATS]
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"export takes {' and/or '.join(EXPORT_FORMATS)}, comma "
                                         f"separated (e.g. xml,edl), not {text!r}")
    return list(dict.fromkeys(names))


def add_export_option(parser: argparse.ArgumentParser) -> None:
    """``--export xml,edl``: the result also as FCP7 XML and/or EDLs, for hosts that import
    movies rather than image sequences."""
    parser.add_argument("--export", type=export_arg, metavar="xml,edl",
                        help="also write the result as FCP7 XML (xml) and/or one EDL per "
                             "generated track (edl), each clip a ProRes movie of its frames")


DEVICES = ("auto", "cpu", "opencl", "cuda")


def add_device_option(parser: argparse.ArgumentParser) -> None:
    """``--device``: where a job's full-resolution pixel stages (and, for depth, its model)
    run; without it, the engine's ``device`` setting."""
    parser.add_argument("--device", choices=DEVICES,
                        help="cpu, opencl (pixel stages on an OpenCL device), cuda (models on "
                             "the CUDA GPU), auto (an OpenCL GPU when found); default: the "
                             "engine's device setting. No usable device: the CPU, with a note")


def with_device(params: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    """``params`` plus ``device`` when ``--device`` was given."""
    if getattr(args, "device", None):
        return {**params, "device": args.device}
    return params


def print_device(result: dict[str, Any]) -> None:
    device = result.get("device")
    if device:
        where = device.get("opencl_device") or "CPU"
        print(f"pixels on {device.get('pixels')} ({where}): {device.get('reason')}")


def with_export(params: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    """``params`` plus ``export`` when ``--export`` was given."""
    if getattr(args, "export", None):
        params["export"] = args.export
    return params


def with_rate(params: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    """``params`` plus ``rate`` when ``--rate`` was given."""
    if getattr(args, "rate", None) is not None:
        params["rate"] = args.rate
    return params


def absolute(path: str) -> str:
    # The engine runs in another working directory: send it absolute paths.
    return os.path.abspath(os.path.expanduser(path))


def run_job(args: argparse.Namespace, kind: str, params: dict[str, Any],
            summary: Callable[[dict[str, Any]], None], client: EngineClient | None = None) -> dict:
    """Submit, show progress, print the summary (or JSON), return the result.

    Ctrl-C cancels the job on the engine and raises :class:`.interrupt.JobInterrupted`."""
    started = time.perf_counter()
    own = client is None
    client = client or EngineClient.connect(autostart=not args.no_autostart, timeout=args.timeout)
    try:
        job = client.submit(kind, params)
        with ProgressBar(kind, unit=UNITS.get(kind, "frames"), quiet=args.json) as show:
            result = wait_cancelling(job, on_progress=show)
    finally:
        if own:
            client.close()
    result.setdefault("timings", {})["client_wall_s"] = round(time.perf_counter() - started, 3)
    if args.json:
        emit_json(result)
    else:
        summary(result)
    return result


def add_parsers(sub: argparse._SubParsersAction) -> None:
    probe = sub.add_parser("probe", help="media info of a video, image sequence or timeline")
    probe.add_argument("input", help="video file, image sequence (shot.%%04d.exr, shot.####.exr) or timeline")
    add_rate_option(probe)
    probe.add_argument("--json", action="store_true")
    probe.set_defaults(func=probe_cmd)

    proxy = sub.add_parser("proxy", help="write proxy frames as image sequences (+ result OTIO)")
    proxy.add_argument("input", help="video file, image sequence or timeline (.otio, .xml, .edl)")
    proxy.add_argument("--out", help="output folder (nothing is written outside it; default: "
                       "<output_dir setting>/<input stem>)")
    proxy.add_argument("--format", choices=["jpg", "png", "exr"], default="jpg")
    proxy.add_argument("--max-width", type=int, default=960, dest="max_width",
                       help="scale down to at most this width (0: full resolution)")
    proxy.add_argument("--range", type=parse_range, help="source frames A-B (inclusive), single media only")
    add_rate_option(proxy)
    add_export_option(proxy)
    proxy.add_argument("--json", action="store_true")
    proxy.set_defaults(func=proxy_cmd)

    jobs = sub.add_parser("jobs", help="list the engine's jobs")
    jobs.add_argument("--all", action="store_true", help="include finished jobs")
    jobs.add_argument("--json", action="store_true")
    jobs.set_defaults(func=jobs_cmd)

    cancel = sub.add_parser("cancel", help="cancel a job")
    cancel.add_argument("job_id")
    cancel.add_argument("--json", action="store_true")
    cancel.set_defaults(func=cancel_cmd)


def print_media(result: dict[str, Any]) -> None:
    for info in result["media"]:
        rate = info["frame_rate"]
        vfr = " (variable)" if info.get("variable_frame_rate") else ""
        print(f"{info['path']}")
        print(f"  {info['kind']}, {info['codec']}, {info['width']}x{info['height']}, {info['pixel_format']}")
        print(f"  {rate} fps{vfr}, {info['frame_count']} frames, {info['duration_s']:.3f} s, "
              f"first frame {info['start_frame']}")
        if info.get("start_timecode"):
            print(f"  timecode {info['start_timecode']}")
        if info.get("rotation"):
            print(f"  rotation {info['rotation']}°")
    for problem in result.get("problems", []):
        print(f"  ! {problem}")


def probe_cmd(args: argparse.Namespace) -> int:
    run_job(args, "probe", with_rate({"input": absolute(args.input)}, args), print_media)
    return 0


def print_outputs(result: dict[str, Any]) -> None:
    for clip in result["clips"]:
        print(f"{clip['clip']}: {frame_span(clip['frames'])} → {clip['pattern']}")
    for problem in result.get("problems", []):
        print(f"  ! {problem}")
    timings = result.get("timings", {})
    fps = timings.get("frames_per_s")
    speed = f" at {fps:.1f} frames/s" if fps else ""
    print(f"{len(result['files'])} files written{speed}")
    print(f"result timeline: {result['otio']}")
    print_exports(result)


def print_exports(result: dict[str, Any]) -> None:
    for path in result.get("exports") or []:
        print(f"for hosts importing movies: {path}")


def proxy_cmd(args: argparse.Namespace) -> int:
    params = {"input": absolute(args.input), "out": absolute(args.out) if args.out else None,
              "format": args.format, "max_width": args.max_width}
    if args.range:
        params["range"] = args.range
    run_job(args, "proxy", with_export(with_rate(params, args), args), print_outputs)
    return 0


def jobs_cmd(args: argparse.Namespace) -> int:
    with EngineClient.connect(autostart=False, timeout=args.timeout) as client:
        jobs = client.list_jobs(include_finished=args.all)
    if args.json:
        emit_json({"jobs": jobs})
        return 0
    if not jobs:
        print("no jobs")
    for job in jobs:
        fraction = job.get("progress", {}).get("fraction", 0.0)
        print(f"{job['job_id']}  {job['kind']:<10} {job['state']:<9} {fraction * 100:5.1f}%")
    return 0


def cancel_cmd(args: argparse.Namespace) -> int:
    with EngineClient.connect(autostart=False, timeout=args.timeout) as client:
        reply = client.cancel(args.job_id)
    if args.json:
        emit_json(reply)
    else:
        print(f"cancel requested for {reply['job_id']} ({reply['state']})")
    return 0
