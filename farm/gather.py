"""The last step: every task's result track laid over the whole edit, one result OTIO.

A task's result timeline is the edit with its clip alone (the others gaps) plus the job's
result tracks; gathering takes each result track's clips at their record times from every
complete task and builds the same tracks over the whole edit, as a direct run writes them.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import opentimelineio as otio

from moviola.engine.media.outputs import resolve_output
from moviola.plugin.errors import MoviolaError, NothingProducedError
from moviola.plugin.results import write_timeline

from .plan import REDUCE_JOBS, Plan, Task, absolute_timeline
from .task import expected_key, is_complete, read_manifest, run_job, shared_cache, task_folder


def _video(timeline: otio.schema.Timeline) -> list[otio.schema.Track]:
    return [t for t in timeline.tracks if isinstance(t, otio.schema.Track)
            and t.kind == otio.schema.TrackKind.Video]


def _lay(name: str, placed: list[tuple[otio.opentime.TimeRange, otio.schema.Clip]],
         rate: float) -> otio.schema.Track:
    track = otio.schema.Track(name=name, kind=otio.schema.TrackKind.Video)
    at = otio.opentime.RationalTime(0, rate)
    for rng, clip in sorted(placed, key=lambda p: p[0].start_time.to_seconds()):
        start = rng.start_time.rescaled_to(rate)
        if start > at:
            track.append(otio.schema.Gap(source_range=otio.opentime.TimeRange(
                otio.opentime.RationalTime(0, rate), start - at)))
        track.append(clip)
        at = start + rng.duration.rescaled_to(rate)
    return track


def gather(plan: Plan, input_root: str, output_root: str,
           mask_root: str | None = None) -> dict[str, Any]:
    """The last step: lay the tracks (depth, matte) or reduce (shots, match cuts).
    ``mask_root``: where the bundle's inline masks are (a task's key holds their hashes)."""
    if plan.job in REDUCE_JOBS:
        return reduce(plan, input_root, output_root, mask_root)
    return lay_tracks(plan, input_root, output_root, mask_root)


def _complete(plan: Plan, input_root: str, output_root: str, mask_root: str | None
              ) -> tuple[list[tuple[Task, dict[str, Any]]], list[str]]:
    """The tasks whose output is complete for this plan (a task left from an earlier export of
    a changed clip is not), and a problem line for each other."""
    done, problems = [], []
    timelines = [absolute_timeline(t, input_root) for t in plan.timelines]
    for task in plan.tasks:
        folder = task_folder(output_root, task)
        manifest = read_manifest(folder)
        try:
            key = expected_key(plan, task, timelines[task.source], input_root, mask_root)[1]
        except MoviolaError as exc:
            problems.append(f"{task.clip}: task {task.index}: {exc}")
            continue
        if manifest is None or not is_complete(folder, manifest, key):
            problems.append(f"{task.clip}: task {task.index} has no complete output")
            continue
        problems.extend(manifest.get("problems", []))
        done.append((task, manifest))
    if not done:
        raise NothingProducedError(f"{plan.stem}: no task of the {plan.job} job is complete",
                                   detail={"problems": problems[:50]})
    return done, problems


def reduce(plan: Plan, input_root: str, output_root: str,
           mask_root: str | None = None) -> dict[str, Any]:
    """Shots: the job over the whole edit; match cuts: the pair search across every episode
    whose task completed. Both read what the tasks put in the shared cache."""
    done, problems = _complete(plan, input_root, output_root, mask_root)
    shared_cache(output_root)
    sources = sorted({task.source for task, _ in done})
    paths = []
    for source in sources:
        paths.append(write_timeline(absolute_timeline(plan.timelines[source], input_root),
                                    resolve_output(output_root, f"inputs/{plan.stems[source]}.otio")))
    out = str(Path(output_root).resolve())
    if plan.job == "matchcuts":
        raw = {**plan.params, "inputs": paths, "out": out}
    else:
        raw = {**plan.params, "input": paths[0], "out": out}
    result = run_job(plan, raw, None, None, "farm-gather")
    problems.extend(result.get("problems", []))
    return {"otio": result.get("otio"), "result": {k: result.get(k) for k in (
                "marked_otio", "review_otio", "json", "csv", "cache")},
            "complete": [task.index for task, _ in done], "tasks": len(plan.tasks),
            "problems": problems}


def lay_tracks(plan: Plan, input_root: str, output_root: str,
               mask_root: str | None = None) -> dict[str, Any]:
    """Write ``<output root>/<stem>.<job>.otio``; clips whose task is not complete are named
    as problems. Nothing complete at all is an error."""
    source = absolute_timeline(plan.timeline, input_root)
    result = source.deepcopy()
    base_tracks = len(_video(source))
    rate = source.duration().rate if source.duration().rate > 0 else 24.0
    tracks: dict[str, list[tuple[otio.opentime.TimeRange, otio.schema.Clip]]] = {}
    complete, problems = _complete(plan, input_root, output_root, mask_root)
    done = [task.index for task, _ in complete]
    for task, manifest in complete:
        folder = task_folder(output_root, task)
        timeline = otio.adapters.read_from_file(str(folder / manifest["otio"]))
        for track in _video(timeline)[base_tracks:]:
            for clip in track.find_clips(shallow_search=True):
                tracks.setdefault(track.name, []).append((clip.range_in_parent(), clip.deepcopy()))
    for name, placed in tracks.items():
        result.tracks.append(_lay(name, placed, rate))
    meta = result.metadata.setdefault("moviola", {})
    meta["farm"] = {"job": plan.job, "params": plan.params, "tasks": len(plan.tasks),
                    "complete": done, "problems": problems}
    path = write_timeline(result, Path(output_root) / f"{plan.stem}.{plan.job}.otio")
    return {"otio": os.path.abspath(path), "complete": done, "tasks": len(plan.tasks),
            "problems": problems}
