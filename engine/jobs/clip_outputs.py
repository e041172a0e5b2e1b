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

from ..inputs import ResolvedInput
from ..media.outputs import resolve_output
from ..media.writers import ImageSequenceWriter

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_name(text: str, fallback: str = "clip") -> str:
    """A file-name stem from a clip name: no separators, no dots at the ends."""
    return _UNSAFE.sub("_", text).strip("._") or fallback


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
