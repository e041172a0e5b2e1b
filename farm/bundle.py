"""A job bundle in Deadline Cloud's layout: ``template.yaml`` (OpenJD
``jobtemplate-2023-09``), ``parameter_values.yaml`` and ``asset_references.yaml``.

The input and output roots are PATH job parameters with their data flow (IN, OUT), so the
farm maps and transfers them; the bundle's files name them relative to the bundle folder,
never absolutely. The plan (job, parameters, the edit with relative media paths, the tasks)
is embedded in the template, so the template alone is the job.
"""

from __future__ import annotations

import os
import shlex
from pathlib import Path
from typing import Any

import yaml

from moviola.engine.media.outputs import ensure_dir, write_bytes

from .plan import Plan

SPEC = "jobtemplate-2023-09"


def _step_script(plan_json: str, args: list[str]) -> dict[str, Any]:
    return {"embeddedFiles": [{"name": "Plan", "type": "TEXT", "filename": "moviola_plan.json",
                               "data": plan_json}],
            "actions": {"onRun": {"command": "{{Param.MoviolaCommand}}",
                                  "args": ["farm", *args, "--plan", "{{Task.File.Plan}}",
                                           "--input-root", "{{Param.InputRoot}}",
                                           "--output-root", "{{Param.OutputRoot}}"]}}}


def template(plan: Plan) -> dict[str, Any]:
    step = plan.job.capitalize()
    plan_json = plan.to_json()
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
        ],
        "steps": [
            {"name": step,
             "parameterSpace": {"taskParameterDefinitions": [
                 {"name": "Task", "type": "INT", "range": f"0-{len(plan.tasks) - 1}"}]},
             "script": _step_script(plan_json, ["run-task", "--task", "{{Task.Param.Task}}"])},
            {"name": "Gather", "dependencies": [{"dependsOn": step}],
             "script": _step_script(plan_json, ["gather"])},
        ],
    }


def _relative(path: str, bundle: Path) -> str:
    return os.path.relpath(os.path.abspath(path), bundle.resolve()).replace(os.sep, "/")


def write_bundle(plan: Plan, bundle_dir: str, input_root: str, output_root: str) -> dict[str, Any]:
    """Write the bundle's three files; return what was written and the roots it names."""
    bundle = ensure_dir(bundle_dir)
    rel_in, rel_out = _relative(input_root, bundle), _relative(output_root, bundle)
    files = {
        "template.yaml": template(plan),
        "parameter_values.yaml": {"parameterValues": [
            {"name": "InputRoot", "value": rel_in}, {"name": "OutputRoot", "value": rel_out}]},
        "asset_references.yaml": {"assetReferences": {
            "inputs": {"directories": [rel_in], "filenames": []},
            "outputs": {"directories": [rel_out]}, "referencedPaths": []}},
    }
    for name, doc in files.items():
        write_bytes(bundle / name, yaml.safe_dump(doc, sort_keys=False, width=100).encode())
    return {"bundle": str(bundle), "files": sorted(files), "tasks": len(plan.tasks),
            "input_root": rel_in, "output_root": rel_out, "job": plan.job}


def submit_command(bundle_dir: str) -> str:
    """The command that submits the bundle to Deadline Cloud (printed, never run)."""
    return f"deadline bundle submit --yes {shlex.quote(str(bundle_dir))}"
