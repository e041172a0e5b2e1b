"""Per-clip image-sequence outputs and the result timeline that refers to them.

Every job that turns clips into frames (proxy now; mattes and depth next) writes one image
sequence per work unit into its own folder under the job's output folder, numbered with the
source media's frame numbers, then one result OTIO: the source timeline plus a track of
clips referring to those sequences, aligned with their source clips.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from moviola.plugin.results import SequenceOutput, add_result_tracks, result_timeline, write_timeline
from moviola.plugin.timeline import WorkUnit

from moviola.plugin.errors import FrameRangeError, InvalidParamsError

from ..inputs import ResolvedInput, is_timeline_path
from ..media.outputs import resolve_output
from ..media.writers import ImageSequenceWriter

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_name(text: str, fallback: str = "clip") -> str:
    """A file-name stem from a clip name: no separators, no dots at the ends."""
    return _UNSAFE.sub("_", text).strip("._") or fallback


def check_range(frame_range: list[int] | None, input_path: str) -> None:
    """Typed errors for a ``range`` parameter, before the job is queued."""
    if frame_range is None:
        return
    if len(frame_range) != 2 or frame_range[1] < frame_range[0]:
        raise InvalidParamsError("range must be [first, last] with first <= last",
                                 detail={"param": "range"})
    if is_timeline_path(input_path):
        raise InvalidParamsError("range applies to a single movie or sequence; a timeline's "
                                 "clips already say which frames to use", detail={"param": "range"})


def plan_clips(source: ResolvedInput, frame_range: list[int] | None
               ) -> tuple[list[tuple[WorkUnit, int, int]], list[str]]:
    """The clips with media and the source frames to do of each (``range`` clamps them),
    plus the problems the timeline reported (missing media, transitions...)."""
    problems: list[str] = []
    plans = []
    for unit in source.units:
        problems.extend(f"{unit.clip_name}: {p}" for p in unit.problems)
        if unit.media_kind not in ("video", "image_sequence"):
            continue
        first, last = unit.first_frame, unit.last_frame
        if frame_range is not None:
            first, last = max(first, frame_range[0]), min(last, frame_range[1])
            if last < first:
                raise FrameRangeError(f"range {frame_range} lies outside the media frames "
                                      f"{unit.first_frame}-{unit.last_frame}", path=unit.media_path)
        plans.append((unit, first, last))
    return plans, problems


class ClipOutputs:
    """Plans folders and writers per work unit, and collects what was written."""

    def __init__(self, out_dir: str, kind: str) -> None:
        self.out_dir = out_dir
        self.kind = kind
        self.outputs: list[SequenceOutput] = []
        self.files: list[str] = []

    def writer(self, index: int, unit: WorkUnit, first_frame: int, fmt: str,
               **options: Any) -> ImageSequenceWriter:
        stem = safe_name(unit.clip_name)
        # resolve_output keeps the per-clip folder inside the job's output folder.
        folder = resolve_output(self.out_dir, f"{self.kind}/{index:03d}_{stem}")
        return ImageSequenceWriter(folder, f"{stem}_{self.kind}", fmt, start_frame=first_frame,
                                   **options)

    def add(self, unit: WorkUnit, writer: ImageSequenceWriter, frames: list[int],
            metadata: dict[str, Any] | None = None) -> dict[str, Any]:
        """Record a finished sequence; return its summary for the job result."""
        paths = [str(p) for p in writer.paths]
        pattern = Path(writer.pattern)
        self.outputs.append(SequenceOutput(
            unit=unit, directory=str(pattern.parent), name_prefix=f"{writer.name}.",
            name_suffix=f".{writer.ext}", start_frame=frames[0], frame_count=len(frames),
            padding=writer.padding, metadata=metadata or {}))
        self.files.extend(paths)
        return {"clip": unit.clip_name, "track": unit.track_name, "media": unit.media_path,
                "pattern": writer.pattern, "frames": frames, "files": paths,
                "record_start": unit.record_start.to_frames(), "record_rate": unit.record_start.rate}

    def write_result(self, source: ResolvedInput, track_name: str, provenance: dict[str, Any]) -> str:
        """Write ``<out>/<input stem>.<kind>.otio``; return its path."""
        timeline = result_timeline(source.timeline)
        if self.outputs:
            add_result_tracks(timeline, self.outputs, track_name=track_name, kind=self.kind,
                              provenance=provenance)
        path = resolve_output(self.out_dir, f"{source.stem}.{self.kind}.otio")
        write_timeline(timeline, path)
        return str(path)
