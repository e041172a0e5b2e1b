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
from dataclasses import dataclass, field
from typing import Any

import opentimelineio as otio

from moviola.engine.inputs import resolve_input
from moviola.engine.jobs.clip_outputs import safe_name
from moviola.engine.media.identity import cache_key
from moviola.plugin.errors import InvalidParamsError, OutputPathError
from moviola.plugin.timeline import WorkUnit, url_to_path, work_units

from .masks import mask_key_params, mask_paths, portable_masks

PLAN_VERSION = 1
_STRING = re.compile(r'"(?:[^"\\\\]|\\\\.)*"')
# Kinds whose tasks are clips of a timeline, each task's result a track over the edit.
CLIP_JOBS = ("depth", "matte")
# Map then reduce: the tasks (one per clip for shots, one per episode for match cuts) fill the
# shared media cache with shots and per-shot vectors; the last step runs the job over
# everything, reading the cache (shot lists, the pair search across episodes).
REDUCE_JOBS = ("shots", "matchcuts")
JOBS = CLIP_JOBS + REDUCE_JOBS
WHOLE = -1   # a task's unit when it is a whole input (an episode), not one clip
# Parameters the plan sets itself: a task's input and output folder are the farm's.
RESERVED_PARAMS = ("input", "out")


@dataclass(frozen=True)
class Task:
    index: int
    clip: str          # the clip's name, or the episode's for a whole input
    unit: int          # index of the clip in work_units(timeline) order, or WHOLE
    folder: str        # relative to the output root
    key: str           # what the task's result depends on (job, parameters, the clip's media)
    source: int = 0    # which of the plan's timelines

    def to_json(self) -> dict[str, Any]:
        return {"index": self.index, "clip": self.clip, "unit": self.unit,
                "folder": self.folder, "key": self.key, "source": self.source}


@dataclass(frozen=True)
class Plan:
    job: str
    params: dict[str, Any]
    stems: list[str]
    timelines: list[otio.schema.Timeline]   # media paths relative to the input root
    tasks: list[Task]
    per_clip: dict[str, dict[str, Any]] = field(default_factory=dict)   # e.g. each clip's prompts
    # Files the bundle carries beside the template (inline masks, by name); not in the JSON.
    bundled: dict[str, bytes] = field(default_factory=dict, repr=False)

    @property
    def stem(self) -> str:
        return self.stems[0]

    @property
    def timeline(self) -> otio.schema.Timeline:
        return self.timelines[0]

    def to_json(self) -> str:
        """Indented JSON with every brace inside a string escaped: a job template carries it
        as an embedded file, where ``{{`` and ``}}`` would be format strings."""
        text = json.dumps({"version": PLAN_VERSION, "job": self.job, "params": self.params,
                           "stems": self.stems, "per_clip": self.per_clip,
                           "timelines": [json.loads(t.to_json_string()) for t in self.timelines],
                           "tasks": [t.to_json() for t in self.tasks]}, sort_keys=True, indent=1)
        return _STRING.sub(lambda m: m.group(0).replace("{", "\\u007b").replace("}", "\\u007d"), text)

    @classmethod
    def from_json(cls, text: str) -> Plan:
        try:
            raw = json.loads(text)
            if raw.get("version") != PLAN_VERSION:
                raise ValueError(f"plan version {raw.get('version')!r}, this moviola reads "
                                 f"{PLAN_VERSION}")
            timelines = [otio.adapters.read_from_string(json.dumps(t), "otio_json")
                         for t in raw["timelines"]]
            tasks = [Task(int(t["index"]), str(t["clip"]), int(t["unit"]), str(t["folder"]),
                          str(t["key"]), int(t["source"])) for t in raw["tasks"]]
            if any(not 0 <= t.source < len(timelines) for t in tasks):
                raise ValueError("a task names a timeline the plan does not hold")
            return cls(str(raw["job"]), dict(raw["params"]), [str(s) for s in raw["stems"]],
                       timelines, tasks, dict(raw.get("per_clip") or {}))
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


def task_key(job: str, params: dict[str, Any], units: list[WorkUnit]) -> str:
    return cache_key("farm-task", job, params,
                     [[u.clip_name, u.track_index, list(u.item_path), u.first_frame, u.frame_count,
                       media_fingerprint(u)] for u in units])


def make_plan(inputs: list[str], job: str, params: dict[str, Any],
              input_root: str | None = None,
              per_clip: dict[str, dict[str, Any]] | None = None) -> tuple[Plan, str]:
    """The plan for ``job`` over the inputs (one timeline; several episodes for match cuts),
    and the input root its media paths are relative to. ``per_clip`` holds parameters of
    single clips by name (a matte's keyframes); a matte runs only on the clips it names.
    Their mask files join the media under the input root (:mod:`.masks`)."""
    per_clip = dict(per_clip or {})
    if job == "matte" and not per_clip:
        raise InvalidParamsError("a matte on the farm needs each clip's keyframes: --prompts FILE "
                                 "({\"clip name\": {\"keyframes\": [...]}})",
                                 detail={"param": "prompts"})
    if job not in JOBS:
        raise InvalidParamsError(f"farm jobs are {', '.join(JOBS)}; not {job!r}",
                                 detail={"param": "job"})
    reserved = RESERVED_PARAMS + (("inputs",) if job == "matchcuts" else ())
    clash = sorted(set(params) & set(reserved))
    if clash:
        raise InvalidParamsError(f"the farm sets {', '.join(clash)} itself (input root, output root)",
                                 detail={"param": clash[0]})
    if job != "matchcuts" and len(inputs) != 1:
        raise InvalidParamsError(f"{job} on the farm takes one input (a timeline); several are "
                                 f"for matchcuts", detail={"param": "input"})
    read = []
    for path in inputs:
        with resolve_input(os.path.abspath(path)) as source:
            base_dir = os.path.dirname(source.path)
            read.append((source.timeline, base_dir, source.stem,
                         work_units(source.timeline, base_dir=base_dir, check_files=False)))
    roots = [input_root_of(timeline, base_dir) for timeline, base_dir, _, _ in read]
    roots += [os.path.dirname(path) for path in mask_paths(per_clip)]
    root = os.path.abspath(input_root) if input_root else os.path.commonpath(roots)
    timelines = [relative_timeline(t, base_dir, root) for t, base_dir, _, _ in read]
    stems = [stem for _, _, stem, _ in read]
    if job == "matchcuts":
        names = [safe_name(stem) for stem in stems]
        tasks = [Task(i, stem, WHOLE, f"tasks/{i:03d}_{names[i]}", task_key(job, params, units), i)
                 for i, (_, _, stem, units) in enumerate(read)]
    else:
        units = list(enumerate(read[0][3]))
        if job == "matte":
            unknown = sorted(set(per_clip) - {u.clip_name for _, u in units})
            if unknown:
                raise InvalidParamsError(f"prompts name clips the edit does not have: "
                                         f"{', '.join(unknown)}", detail={"param": "prompts"})
            units = [(i, u) for i, u in units if u.clip_name in per_clip]
        tasks = [Task(n, unit.clip_name, i, f"tasks/{n:03d}_{safe_name(unit.clip_name)}",
                      task_key(job, {**params, **mask_key_params(per_clip.get(unit.clip_name, {}),
                                                                 unit.clip_name)}, [unit]))
                 for n, (i, unit) in enumerate(units)]
    if not tasks:
        raise InvalidParamsError(f"{os.path.basename(inputs[0])}: no video clips to run on the farm",
                                 path=os.path.abspath(inputs[0]))
    stored, bundled = portable_masks(per_clip, root)
    return Plan(job, dict(params), stems, timelines, tasks, stored, bundled), root
