"""What a farm job does, as data: the job kind, its parameters, the source timeline with
every media path relative to the input root, and one task per clip.

The plan travels inside the job template (an embedded file), so a bundle holds nothing
absolute to the machine that exported it: the worker joins the relative paths onto the
input root the farm mapped for it.
"""

from __future__ import annotations

import copy
import json
import os
import posixpath
import re
from dataclasses import dataclass
from typing import Any

import opentimelineio as otio

from moviola.engine.inputs import resolve_input
from moviola.engine.jobs.clip_outputs import safe_name
from moviola.engine.media.identity import cache_key
from moviola.plugin.errors import InvalidParamsError, OutputPathError
from moviola.plugin.timeline import WorkUnit, url_to_path, work_units

PLAN_VERSION = 1
_STRING = re.compile(r'"(?:[^"\\\\]|\\\\.)*"')
# Kinds whose tasks are clips of a timeline, each task's result a track over the edit.
CLIP_JOBS = ("depth", "matte")
JOBS = CLIP_JOBS
# Parameters the plan sets itself: a task's input and output folder are the farm's.
RESERVED_PARAMS = ("input", "out")


@dataclass(frozen=True)
class Task:
    index: int
    clip: str
    unit: int          # index of the clip in work_units(timeline) order
    folder: str        # relative to the output root
    key: str           # what the task's result depends on (job, parameters, the clip's media)

    def to_json(self) -> dict[str, Any]:
        return {"index": self.index, "clip": self.clip, "unit": self.unit,
                "folder": self.folder, "key": self.key}


@dataclass(frozen=True)
class Plan:
    job: str
    params: dict[str, Any]
    stem: str
    timeline: otio.schema.Timeline   # media paths relative to the input root
    tasks: list[Task]

    def to_json(self) -> str:
        """Indented JSON with every brace inside a string escaped: a job template carries it
        as an embedded file, where ``{{`` and ``}}`` would be format strings."""
        text = json.dumps({"version": PLAN_VERSION, "job": self.job, "params": self.params,
                           "stem": self.stem, "timeline": json.loads(self.timeline.to_json_string()),
                           "tasks": [t.to_json() for t in self.tasks]}, sort_keys=True, indent=1)
        return _STRING.sub(lambda m: m.group(0).replace("{", "\\u007b").replace("}", "\\u007d"), text)

    @classmethod
    def from_json(cls, text: str) -> Plan:
        try:
            raw = json.loads(text)
            if raw.get("version") != PLAN_VERSION:
                raise ValueError(f"plan version {raw.get('version')!r}, this moviola reads "
                                 f"{PLAN_VERSION}")
            timeline = otio.adapters.read_from_string(json.dumps(raw["timeline"]), "otio_json")
            tasks = [Task(int(t["index"]), str(t["clip"]), int(t["unit"]), str(t["folder"]),
                          str(t["key"])) for t in raw["tasks"]]
            return cls(str(raw["job"]), dict(raw["params"]), str(raw["stem"]), timeline, tasks)
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise InvalidParamsError(f"not a moviola farm plan: {exc}",
                                     detail={"param": "plan"}) from exc

    def task(self, index: int) -> Task:
        if not 0 <= index < len(self.tasks):
            raise InvalidParamsError(f"task {index} is not in this plan (0-{len(self.tasks) - 1})",
                                     detail={"param": "task"})
        return self.tasks[index]


def _media_refs(timeline: otio.schema.Timeline) -> list[Any]:
    return [clip.media_reference for clip in timeline.find_clips()
            if isinstance(clip.media_reference,
                          (otio.schema.ExternalReference, otio.schema.ImageSequenceReference))]


def _get_url(ref: Any) -> str:
    if isinstance(ref, otio.schema.ImageSequenceReference):
        return str(ref.target_url_base)
    return str(ref.target_url)


def _set_url(ref: Any, url: str) -> None:
    if isinstance(ref, otio.schema.ImageSequenceReference):
        ref.target_url_base = url.rstrip("/") + "/"
    else:
        ref.target_url = url


def _local(ref: Any, base_dir: str) -> str | None:
    path, problem = url_to_path(_get_url(ref), base_dir)
    return None if problem else path


def input_root_of(timeline: otio.schema.Timeline, base_dir: str) -> str:
    """The deepest folder holding every local media file the timeline names."""
    paths = [p for p in (_local(r, base_dir) for r in _media_refs(timeline)) if p]
    if not paths:
        return base_dir
    return os.path.commonpath([os.path.dirname(p) if not p.endswith(os.sep) else p.rstrip(os.sep)
                               for p in paths])


def relative_timeline(timeline: otio.schema.Timeline, base_dir: str,
                      input_root: str) -> otio.schema.Timeline:
    """A copy whose local media paths are relative to ``input_root`` (POSIX separators, so
    a Windows worker reads them too). A path outside the root is refused by name."""
    out = copy.deepcopy(timeline)
    root = os.path.abspath(input_root)
    for clip in out.find_clips():
        ref = clip.media_reference
        if ref not in _media_refs_of(clip):
            continue
        path = _local(ref, base_dir)
        if path is None:
            continue
        rel = os.path.relpath(path, root)
        if rel == ".." or rel.startswith(".." + os.sep) or os.path.isabs(rel):
            raise OutputPathError(f"clip {clip.name!r}: media {path} is outside the input root {root}",
                                  path=path, detail={"clip": clip.name, "input_root": root})
        _set_url(ref, rel.replace(os.sep, "/"))
    return out


def _media_refs_of(clip: otio.schema.Clip) -> list[Any]:
    ref = clip.media_reference
    ok = isinstance(ref, (otio.schema.ExternalReference, otio.schema.ImageSequenceReference))
    return [ref] if ok else []


def absolute_timeline(timeline: otio.schema.Timeline, input_root: str) -> otio.schema.Timeline:
    """The plan's timeline with its relative media paths joined onto this machine's input root."""
    out = copy.deepcopy(timeline)
    root = os.path.abspath(input_root)
    for clip in out.find_clips():
        for ref in _media_refs_of(clip):
            url = _get_url(ref)
            if url and "://" not in url and not posixpath.isabs(url) and not os.path.isabs(url):
                _set_url(ref, os.path.join(root, *url.split("/")))
    return out


def media_fingerprint(unit: WorkUnit) -> list[Any]:
    """Size and modification time of the files a clip reads: a changed file re-runs its task."""
    if unit.media_path is None:
        return []
    if unit.media_kind != "image_sequence":
        try:
            st = os.stat(unit.media_path)
        except OSError:
            return [unit.media_path, None]
        return [os.path.basename(unit.media_path), st.st_size, st.st_mtime_ns]
    prints: list[Any] = []
    for n in range(unit.first_frame, unit.first_frame + unit.frame_count * unit.frame_step):
        try:
            st = os.stat(unit.media_path % n)
        except (OSError, TypeError):
            continue
        prints.append([n, st.st_size, st.st_mtime_ns])
    return prints


def task_key(job: str, params: dict[str, Any], unit: WorkUnit) -> str:
    return cache_key("farm-task", job, params, unit.clip_name, unit.track_index, list(unit.item_path),
                     unit.first_frame, unit.frame_count, media_fingerprint(unit))


def make_plan(input_path: str, job: str, params: dict[str, Any],
              input_root: str | None = None) -> tuple[Plan, str]:
    """The plan for ``job`` over ``input_path``'s clips, and the input root it is relative to."""
    if job not in JOBS:
        raise InvalidParamsError(f"farm jobs are {', '.join(JOBS)}; not {job!r}",
                                 detail={"param": "job"})
    clash = sorted(set(params) & set(RESERVED_PARAMS))
    if clash:
        raise InvalidParamsError(f"the farm sets {', '.join(clash)} itself (input root, output root)",
                                 detail={"param": clash[0]})
    with resolve_input(os.path.abspath(input_path)) as source:
        timeline = source.timeline
        base_dir = os.path.dirname(source.path)
        units = work_units(timeline, base_dir=base_dir, check_files=False)
        root = os.path.abspath(input_root) if input_root else input_root_of(timeline, base_dir)
        relative = relative_timeline(timeline, base_dir, root)
        stem = source.stem
    tasks = [Task(i, unit.clip_name, i, f"tasks/{i:03d}_{safe_name(unit.clip_name)}",
                  task_key(job, params, unit))
             for i, unit in enumerate(units)]
    if not tasks:
        raise InvalidParamsError(f"{os.path.basename(input_path)}: no video clips to run on the farm",
                                 path=os.path.abspath(input_path))
    return Plan(job, dict(params), stem, relative, tasks), root
