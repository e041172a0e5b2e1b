"""A job bundle in Deadline Cloud's layout: ``template.yaml`` (OpenJD
``jobtemplate-2023-09``), ``parameter_values.yaml`` and ``asset_references.yaml``.

The input and output roots are PATH job parameters with their data flow (IN, OUT), so the
farm maps and transfers them; the bundle's files name them relative to the bundle folder,
never absolutely. The plan (job, parameters, the edit with relative media paths, the tasks)
is embedded in the template, so the template alone is the job. Inline keyframe masks are the
one exception: too large for a template, they are files in the bundle's ``masks`` folder, which
a ``MaskRoot`` parameter (IN) maps for the workers (see ``masks``).
"""

from __future__ import annotations

import os
import re
import shlex
from pathlib import Path
from typing import Any

import yaml

from moviola.engine.media.outputs import ensure_dir, write_bytes

from .masks import MASKS_FOLDER, inline_masks
from .plan import Plan

SPEC = "jobtemplate-2023-09"
_MASK_NAME = re.compile(r"[0-9a-f]{64}\.png")


MASK_ROOT = {"name": "MaskRoot", "type": "PATH", "objectType": "DIRECTORY", "dataFlow": "IN",
             "description": "The bundle's folder of keyframe masks given inline (mask_png), "
                            "one file per mask named by its SHA-256."}


def _step_script(plan_json: str, args: list[str], masks: bool) -> dict[str, Any]:
    roots = ["--input-root", "{{Param.InputRoot}}", "--output-root", "{{Param.OutputRoot}}"]
    if masks:
        roots += ["--mask-root", "{{Param.MaskRoot}}"]
    return {"embeddedFiles": [{"name": "Plan", "type": "TEXT", "filename": "moviola_plan.json",
                               "data": plan_json}],
            "actions": {"onRun": {"command": "{{Param.MoviolaCommand}}",
                                  "args": ["farm", *args, "--plan", "{{Task.File.Plan}}", *roots]}}}


def template(plan: Plan) -> dict[str, Any]:
    step = plan.job.capitalize()
    plan_json = plan.to_json()
    masks = bool(inline_masks(plan.per_clip))
    return {
        "specificationVersion": SPEC,
        "name": f"Moviola {plan.job}: {plan.stem}",
        "parameterDefinitions": [
            {"name": "InputRoot", "type": "PATH", "objectType": "DIRECTORY", "dataFlow": "IN",
             "description": "The folder every clip's media path is relative to."},
            {"name": "OutputRoot", "type": "PATH", "objectType": "DIRECTORY", "dataFlow": "OUT",
             "description": "Where each task writes its folder and the gather step the result OTIO."},
            {"name": "MoviolaCommand", "type": "STRING", "default": "moviola",
             "description": "The moviola command on the workers."},
            *([MASK_ROOT] if masks else []),
        ],
        "steps": [
            {"name": step,
             "parameterSpace": {"taskParameterDefinitions": [
                 {"name": "Task", "type": "INT", "range": f"0-{len(plan.tasks) - 1}"}]},
             "script": _step_script(plan_json, ["run-task", "--task", "{{Task.Param.Task}}"], masks)},
            {"name": "Gather", "dependencies": [{"dependsOn": step}],
             "script": _step_script(plan_json, ["gather"], masks)},
        ],
    }


def _relative(path: str, bundle: Path) -> str:
    return os.path.relpath(os.path.abspath(path), bundle.resolve()).replace(os.sep, "/")


def write_bundle(plan: Plan, bundle_dir: str, input_root: str, output_root: str) -> dict[str, Any]:
    """Write the bundle's three files (and its inline masks); return what was written and the
    roots it names."""
    bundle = ensure_dir(bundle_dir)
    rel_in, rel_out = _relative(input_root, bundle), _relative(output_root, bundle)
    masks = inline_masks(plan.per_clip)
    values = [{"name": "InputRoot", "value": rel_in}, {"name": "OutputRoot", "value": rel_out}]
    inputs = [rel_in]
    if masks:
        values.append({"name": "MaskRoot", "value": MASKS_FOLDER})
        inputs.append(MASKS_FOLDER)
        folder = ensure_dir(bundle / MASKS_FOLDER)
        for name in masks:   # named by content: a file already there is the same mask
            if not (folder / name).is_file():
                write_bytes(folder / name, plan.bundled[name])
        for old in folder.glob("*.png"):   # an earlier export's masks that this plan dropped
            if old.name not in masks and _MASK_NAME.fullmatch(old.name):
                old.unlink()
    files = {
        "template.yaml": template(plan),
        "parameter_values.yaml": {"parameterValues": values},
        "asset_references.yaml": {"assetReferences": {
            "inputs": {"directories": inputs, "filenames": []},
            "outputs": {"directories": [rel_out]}, "referencedPaths": []}},
    }
    for name, doc in files.items():
        write_bytes(bundle / name, yaml.safe_dump(doc, sort_keys=False, width=100).encode())
    summary = {"bundle": str(bundle), "files": sorted(files), "tasks": len(plan.tasks),
               "input_root": rel_in, "output_root": rel_out, "job": plan.job}
    if masks:
        summary["mask_root"] = MASKS_FOLDER
        summary["masks"] = [f"{MASKS_FOLDER}/{name}" for name in masks]
    return summary


def submit_command(bundle_dir: str) -> str:
    """The command that submits the bundle to Deadline Cloud (printed, never run)."""
    return f"deadline bundle submit --yes {shlex.quote(str(bundle_dir))}"
