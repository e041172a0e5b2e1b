"""One job from Resolve to Resolve: read the selection, send it to the engine, put the
result back as Resolve items, and say plainly what happened."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from moviola.plugin.client import EngineClient, Event

from .connect import Capabilities, capabilities, current_timeline
from .markers import matchcut_markers, put_markers, review_timeline, shot_markers
from .place import PlacedSequence, place_sequences
from .selection import SelectedItem, pick
from .work_timeline import WorkTimeline, build_work_timeline

__all__ = ["JOBS", "Report", "run_job"]

#: Jobs offered in Resolve. The matte needs clicks: it runs in the Moviola panel.
JOBS = ("shots", "matchcuts", "depth", "proxy")
TRACK_NAMES = {"depth": "Moviola depth", "proxy": "Moviola proxy"}


@dataclass
class Report:
    job: str
    selected: list[SelectedItem]
    work: WorkTimeline
    result: dict[str, Any]
    placed: list[PlacedSequence] = field(default_factory=list)
    markers: int = 0
    review: Any = None
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        lines = [f"Moviola {self.job}: {len(self.selected)} clip(s), timeline read via {self.work.read_via}"]
        if self.placed:
            tracks = sorted({p.track_index for p in self.placed})
            lines.append(f"{len(self.placed)} sequence(s) in the Moviola bin, on video track(s) "
                         f"{', '.join(map(str, tracks))}")
        if self.job in ("shots", "matchcuts"):
            lines.append(f"{self.markers} marker(s) on the timeline")
        if self.review is not None:
            lines.append(f"review timeline: {self.review.GetName()}")
        lines.extend(self.notes)
        return "\n".join(lines)


def _params(job: str, work: WorkTimeline, out: str | None, extra: Mapping[str, Any]) -> dict[str, Any]:
    params: dict[str, Any] = {"inputs": [work.path]} if job == "matchcuts" else {"input": work.path}
    if out is not None:
        params["out"] = out
    params.update(extra)
    return params


def _sequences(result: Mapping[str, Any], work: WorkTimeline
               ) -> list[tuple[SelectedItem, str, int, int, int]]:
    """(source item, pattern, first, last, absolute record frame) for each clip written."""
    outputs = []
    for clip in result.get("clips", []):
        key = clip.get("clip")
        if key not in work.items or not clip.get("frames"):
            continue
        item, unit = work.items[key], work.units[key]
        first, last = int(clip["frames"][0]), int(clip["frames"][-1])
        outputs.append((item, str(clip["pattern"]), first, last, item.start + (first - unit.first_frame)))
    return outputs


def run_job(resolve: Any, job: str, *, how: str = "current", colour: str | None = None,
            out: str | None = None, params: Mapping[str, Any] | None = None,
            client: EngineClient | None = None, in_process: bool = True,
            on_progress: Callable[[Event], None] | None = None, work_folder: str | None = None) -> Report:
    """Run ``job`` on the items ``how`` picks in the current timeline and bring the result back.

    ``out`` is the engine's output folder (default: its output_dir setting); the work
    timeline goes to ``work_folder`` (default: a new temporary folder).
    """
    if job not in JOBS:
        raise ValueError(f"{job!r} does not run from Resolve: use one of {', '.join(JOBS)} "
                         "(mattes: open the Moviola panel)")
    caps: Capabilities = capabilities(resolve, in_process=in_process)
    project, timeline = current_timeline(resolve)
    selected = pick(timeline, how, colour)
    folder = work_folder or tempfile.mkdtemp(prefix="moviola-resolve-")
    work = build_work_timeline(resolve, timeline, selected, caps, folder)
    own_client = client is None
    engine = client or EngineClient.connect(autostart=True, client_name="resolve")
    try:
        result = engine.submit(job, _params(job, work, out, params or {})).wait(on_progress)
    finally:
        if own_client:
            engine.close()
    report = Report(job=job, selected=selected, work=work, result=result,
                    notes=list(caps.notes) + list(work.notes) + [str(p) for p in result.get("problems", [])])
    if job in TRACK_NAMES:
        report.placed = place_sequences(project, timeline, caps, TRACK_NAMES[job], _sequences(result, work))
    elif job == "shots":
        placed, skipped = put_markers(timeline, shot_markers(result), "shot")
        report.markers, report.notes = len(placed), report.notes + skipped
    else:
        placed, skipped = put_markers(timeline, matchcut_markers(result, work), "matchcut")
        report.markers, report.notes = len(placed), report.notes + skipped
        report.review = review_timeline(project, timeline, caps, result, work,
                                        float((params or {}).get("review_seconds", 2.0)))
    if out is None and result.get("otio"):
        report.notes.append(f"result timeline: {result['otio']}")
    return report


def default_out(project: Any, timeline: Any) -> str:
    """A per-timeline output folder under the user's Moviola home."""
    home = os.environ.get("MOVIOLA_HOME") or os.path.join(os.path.expanduser("~"), ".moviola")
    return os.path.join(home, "resolve", str(project.GetName()), str(timeline.GetName()))
