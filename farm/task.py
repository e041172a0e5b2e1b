"""One farm task: one clip of the plan, run in-process through the job's own code.

The worker builds an :class:`~moviola.engine.engine_view.EngineView` of its own (no engine
daemon), gives the job a timeline in which every other clip is a gap (so record times stay
those of the edit), and runs ``JobKind.prepare`` then ``JobKind.run`` exactly as the engine's
runner does. The job writes through its staged folders and atomic writes, so a killed task
leaves no partial frame under a final name; the task's manifest is written last, after
every frame, and a task whose manifest matches is complete and is skipped.
"""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path
from typing import Any, Callable

import opentimelineio as otio

from moviola.engine.engine_view import EngineView
from moviola.engine.jobs.base import JobContext
from moviola.engine.jobs.registry import JobRegistry
from moviola.engine.media.outputs import ensure_dir, resolve_output, write_bytes
from moviola.plugin.errors import InvalidParamsError, MediaNotFoundError, MoviolaError
from moviola.plugin.results import write_timeline
from moviola.plugin.timeline import WorkUnit, work_units

from .masks import local_masks, mask_key_params
from .plan import REDUCE_JOBS, WHOLE, Plan, Task, absolute_timeline, task_key

MANIFEST = "moviola_task.json"
INPUT_NAME = "clip.otio"
# Where the shots and match-cut cache lives (engine/media/cache.py reads it).
CACHE_ENV = "MOVIOLA_MATCHCUTS_CACHE"


def one_clip_timeline(timeline: otio.schema.Timeline, keep: int) -> otio.schema.Timeline:
    """``timeline`` with every video clip but unit ``keep`` replaced by a gap of its length,
    and no audio: the task's job sees one clip, at its record time in the edit."""
    out = timeline.deepcopy()
    units = work_units(out, check_files=False)
    video = [t for t in out.tracks if isinstance(t, otio.schema.Track)
             and t.kind == otio.schema.TrackKind.Video]
    for index, unit in reversed(list(enumerate(units))):
        if index == keep:
            continue
        parent: Any = video[unit.track_index]
        for step in unit.item_path[:-1]:
            parent = parent[step]
        at = unit.item_path[-1]
        gap = otio.schema.Gap(source_range=otio.opentime.TimeRange(
            otio.opentime.RationalTime(0, parent[at].duration().rate), parent[at].duration()))
        parent[at] = gap
    for track in [t for t in out.tracks if getattr(t, "kind", None) == otio.schema.TrackKind.Audio]:
        out.tracks.remove(track)
    return out


def task_folder(output_root: str, task: Task) -> Path:
    """The task's folder; a plan naming a folder outside the output root is refused."""
    try:
        return ensure_dir(resolve_output(output_root, task.folder))
    except MoviolaError as exc:
        raise type(exc)(f"clip {task.clip!r}: {exc.message}", path=exc.path,
                        detail={**exc.detail, "clip": task.clip}) from exc


def read_manifest(folder: Path) -> dict[str, Any] | None:
    try:
        return dict(json.loads((folder / MANIFEST).read_text()))
    except (OSError, ValueError, TypeError):
        return None


def is_complete(folder: Path, manifest: dict[str, Any] | None, key: str) -> bool:
    """The manifest is for this key and every file it lists is there at its size."""
    if not manifest or manifest.get("key") != key:
        return False
    for rel, size in manifest.get("files", {}).items():
        try:
            if (folder / rel).stat().st_size != size:
                return False
        except OSError:
            return False
    return True


def _units(plan: Plan, task: Task, timeline: otio.schema.Timeline) -> list[WorkUnit]:
    """The clips the task reads (one, or an episode's), with missing media named here rather
    than deep in the job."""
    units = work_units(timeline, check_files=True)
    if task.unit != WHOLE:
        if not 0 <= task.unit < len(units) or units[task.unit].clip_name != task.clip:
            raise InvalidParamsError(f"clip {task.clip!r}: the plan's timeline has no such clip "
                                     f"at {task.unit}", detail={"clip": task.clip})
        units = [units[task.unit]]
    for unit in units:
        if unit.media_kind == "missing" or unit.media_path is None:
            raise MediaNotFoundError(f"clip {unit.clip_name!r}: media not found "
                                     f"({'; '.join(unit.problems) or 'no media reference'})",
                                     path=unit.media_path, detail={"clip": unit.clip_name})
    return units


def expected_key(plan: Plan, task: Task, timeline: otio.schema.Timeline, input_root: str,
                 mask_root: str | None = None) -> tuple[dict[str, Any], str]:
    """The task's own parameters (a matte clip's prompts, its masks on this machine) and the
    key its manifest must have (with each mask's content hash)."""
    own = plan.per_clip.get(task.clip, {}) if task.unit != WHOLE else {}
    own = local_masks(own, task.clip, input_root, mask_root)
    return own, task_key(plan.job, {**plan.params, **mask_key_params(own, task.clip)},
                         _units(plan, task, timeline))


def shared_cache(output_root: str) -> None:
    """Shots and per-shot vectors go to one cache under the output root, which every task
    and the last step see (the map fills it, the reduce reads it)."""
    os.environ[CACHE_ENV] = str(Path(output_root).resolve() / ".moviola_cache" / "matchcuts")


def output_files(result: dict[str, Any]) -> list[str]:
    """Every file a job's result names: frames, timelines, lists."""
    found: list[str] = []
    for key in ("files", "otio", "marked_otio", "csv", "review_otio", "json"):
        value = result.get(key)
        values = value if isinstance(value, list) else [value]
        found.extend(v for v in values if isinstance(v, str) and v)
    return found


def job_params(plan: Plan, input_path: str, out: str | None) -> dict[str, Any]:
    if plan.job == "matchcuts":
        return {**plan.params, "inputs": [input_path], "out": out}
    return {**plan.params, "input": input_path, "out": out}


def run_job(plan: Plan, raw: dict[str, Any], engine: EngineView | None,
            progress: Callable[[dict[str, Any]], None] | None, label: str) -> dict[str, Any]:
    """``prepare`` then ``run``, as the engine's runner does, in this process."""
    view = engine or EngineView.load()
    kind = JobRegistry.default().get(plan.job)
    params, prepared = kind.prepare(raw, view)
    ctx = JobContext(label, progress or (lambda body: None), threading.Event(), engine=view,
                     prepared=prepared)
    return kind.run(params, ctx)


def run_task(plan: Plan, index: int, input_root: str, output_root: str, *,
             mask_root: str | None = None, engine: EngineView | None = None,
             progress: Callable[[dict[str, Any]], None] | None = None) -> dict[str, Any]:
    """Run task ``index`` unless its output is already complete; return its manifest, with
    ``skipped`` saying which it was. ``mask_root``: where the bundle's inline masks are."""
    started = time.perf_counter()
    task = plan.task(index)
    folder = task_folder(output_root, task)
    timeline = absolute_timeline(plan.timelines[task.source], input_root)
    own, key = expected_key(plan, task, timeline, input_root, mask_root)
    manifest = read_manifest(folder)
    if manifest is not None and is_complete(folder, manifest, key):
        return {**manifest, "skipped": True, "task_s": round(time.perf_counter() - started, 4)}
    if plan.job in REDUCE_JOBS:
        shared_cache(output_root)
    if task.unit == WHOLE:
        clip_input = folder / f"{plan.stems[task.source]}.otio"
        write_timeline(timeline, clip_input)
    else:
        clip_input = folder / INPUT_NAME
        write_timeline(one_clip_timeline(timeline, task.unit), clip_input)
    # Match cuts map: shots and vectors into the cache; the pair search is the last step's.
    out = None if plan.job == "matchcuts" else str(folder)
    try:
        result = run_job(plan, {**job_params(plan, str(clip_input), out), **own}, engine,
                         progress, f"farm-{index:04d}")
    except MoviolaError as exc:
        raise type(exc)(f"clip {task.clip!r}: {exc.message}", path=exc.path,
                        detail={**exc.detail, "clip": task.clip}) from exc
    files = {}
    for path in output_files(result):
        rel = os.path.relpath(path, folder)
        files[rel.replace(os.sep, "/")] = os.stat(path).st_size
    otio_path = result.get("otio") if isinstance(result.get("otio"), str) else None
    manifest = {"key": key, "job": plan.job, "task": index, "clip": task.clip,
                "otio": os.path.relpath(otio_path, folder).replace(os.sep, "/") if otio_path else None,
                "files": files, "problems": result.get("problems", []),
                "cache": result.get("cache"),
                "job_s": (result.get("timings") or {}).get("job_s")}
    # Written last: its presence says every file above is complete.
    write_bytes(folder / MANIFEST, json.dumps(manifest, indent=1, sort_keys=True).encode())
    return {**manifest, "skipped": False, "task_s": round(time.perf_counter() - started, 4)}
