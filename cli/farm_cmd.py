"""``moviola farm``: export a job bundle for the render farm (OpenJD, Deadline Cloud's
layout), and the two commands its tasks run on a worker, in-process: ``run-task`` (one
clip) and ``gather`` (the result OTIO). See docs/farm.md."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from moviola.plugin.errors import InvalidParamsError

from .report import emit_json


def _param(text: str) -> tuple[str, Any]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"--param wants KEY=VALUE, not {text!r}")
    try:
        return key.replace("-", "_"), json.loads(value)
    except ValueError:
        return key.replace("-", "_"), value   # a bare word is a string


def add_parsers(sub: argparse._SubParsersAction) -> None:
    farm = sub.add_parser("farm", help="job bundles for the render farm (OpenJD / Deadline Cloud)")
    verbs = farm.add_subparsers(dest="farm_command", required=True)

    export = verbs.add_parser("export", help="write a job bundle: one task per clip, then a gather step")
    export.add_argument("input", nargs="+", help="timeline (.otio, .xml, .edl), folder of clips, "
                        "movie or image sequence; for matchcuts, every episode")
    export.add_argument("--job", required=True, choices=["depth", "matte", "shots", "matchcuts"])
    export.add_argument("--param", "-p", action="append", type=_param, default=[], metavar="KEY=VALUE",
                        help="a job parameter (JSON value or a bare string), e.g. backend=parallax")
    export.add_argument("--out", required=True, help="the bundle folder to write")
    export.add_argument("--input-root", help="folder every media path is made relative to "
                        "(default: the deepest folder holding all the media and keyframe masks)")
    export.add_argument("--output-root", help="where tasks write (default: <bundle>/output); "
                        "named relative to the bundle")
    export.add_argument("--prompts", help="matte: JSON file of each clip's parameters by clip name, "
                        "e.g. {\"shot_010\": {\"keyframes\": [...]}}; only those clips are matted. "
                        "A keyframe's mask path is relative to this file and must lie under the "
                        "input root; mask_png is written {\"$bin\": \"<base64>\"}")
    export.add_argument("--chunk", type=int, help="frames per task; refused for depth and mattes, "
                        "whose frames depend on their neighbours")
    export.add_argument("--submit-command", action="store_true",
                        help="also print the Deadline Cloud submit command (not run)")
    export.add_argument("--json", action="store_true")
    export.set_defaults(func=export_cmd)

    for name, helptext in (("run-task", "run one task of a plan in-process (what a worker runs)"),
                           ("gather", "write the result OTIO from every complete task")):
        verb = verbs.add_parser(name, help=helptext)
        verb.add_argument("--plan", required=True, help="the plan file the template embeds")
        verb.add_argument("--input-root", required=True)
        verb.add_argument("--output-root", required=True)
        verb.add_argument("--mask-root", help="the bundle's folder of inline keyframe masks "
                          "(its MaskRoot parameter), for a plan that has them")
        if name == "run-task":
            verb.add_argument("--task", type=int, required=True)
        verb.add_argument("--json", action="store_true")
        verb.set_defaults(func=run_task_cmd if name == "run-task" else gather_cmd)


def export_cmd(args: argparse.Namespace) -> int:
    from moviola.farm.bundle import submit_command, write_bundle
    from moviola.farm.plan import make_plan

    if args.chunk is not None:
        raise InvalidParamsError(f"--chunk: a {args.job} result depends on neighbouring frames "
                                 f"(stabilisation, propagation, cuts), so a task is a whole clip",
                                 detail={"param": "chunk"})
    per_clip = _prompts(args.prompts) if args.prompts else None
    plan, input_root = make_plan(args.input, args.job, dict(args.param), args.input_root, per_clip)
    bundle = os.path.abspath(args.out)
    output_root = os.path.abspath(args.output_root or os.path.join(bundle, "output"))
    summary = write_bundle(plan, bundle, input_root, output_root)
    if args.submit_command:
        summary["submit_command"] = submit_command(args.out)
    if args.json:
        emit_json(summary)
        return 0
    print(f"bundle: {summary['bundle']} ({summary['tasks']} tasks of {plan.job}, then the gather step)")
    print(f"input root: {summary['input_root']}; output root: {summary['output_root']} "
          f"(relative to the bundle)")
    if summary.get("masks"):
        print(f"mask root: {summary['mask_root']} ({len(summary['masks'])} inline masks)")
    print(f"check: openjd check {os.path.join(args.out, 'template.yaml')}")
    if args.submit_command:
        print(summary["submit_command"])
    return 0


def _prompts(path: str) -> dict[str, dict[str, Any]]:
    from moviola.farm.masks import from_prompts_file

    try:
        raw = json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise InvalidParamsError(f"cannot read the prompts: {exc}", path=path,
                                 detail={"param": "prompts"}) from exc
    if not isinstance(raw, dict) or not all(isinstance(v, dict) for v in raw.values()):
        raise InvalidParamsError("prompts: a map of clip name to that clip's parameters",
                                 path=path, detail={"param": "prompts"})
    # Mask paths relative to the prompts file; inline masks from {"$bin": base64}.
    return from_prompts_file(raw, os.path.dirname(os.path.abspath(path)))


def _plan(path: str) -> Any:
    from moviola.farm.plan import Plan
    try:
        return Plan.from_json(Path(path).read_text())
    except OSError as exc:
        raise InvalidParamsError(f"cannot read the plan: {exc}", path=path,
                                 detail={"param": "plan"}) from exc


def run_task_cmd(args: argparse.Namespace) -> int:
    from moviola.farm.task import run_task

    def progress(body: dict[str, Any]) -> None:
        # OpenJD's progress line: a farm shows the task's percentage from it.
        print(f"openjd_progress: {100.0 * body.get('fraction', 0.0):.1f}", flush=True)

    result = run_task(_plan(args.plan), args.task, args.input_root, args.output_root,
                      mask_root=args.mask_root, progress=progress)
    if args.json:
        emit_json(result)
    else:
        state = "complete already; nothing done" if result["skipped"] else "done"
        print(f"task {args.task} ({result['clip']}): {state} in {result['task_s']} s; "
              f"{len(result['files'])} files", flush=True)
    return 0


def gather_cmd(args: argparse.Namespace) -> int:
    from moviola.farm.gather import gather

    result = gather(_plan(args.plan), args.input_root, args.output_root, args.mask_root)
    if args.json:
        emit_json(result)
    else:
        print(f"result: {result['otio']} ({len(result['complete'])} of {result['tasks']} tasks complete)")
        for problem in result["problems"]:
            print(f"  ! {problem}", file=sys.stderr)
    return 0
