"""Per-clip image-sequence outputs and the result timeline that refers to them.

Every job that turns clips into frames (proxy, depth; mattes through their own outputs) writes one image
sequence per work unit into its own folder under the job's output folder, numbered with the
source media's frame numbers, then one result OTIO: the source timeline plus a track of
clips referring to those sequences, aligned with their source clips.

A run never mixes with the previous one: each clip's frames go to a staging folder beside its
final folder (:class:`..media.staging.StagedFolder`), and only a finished job swaps its
folders in, just before it writes the result OTIO. A cancelled, failed or killed run leaves
the previous folders and OTIO as they were.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol

from moviola.plugin.errors import DiskFullError, NothingProducedError, OutputWriteError
from moviola.plugin.results import SequenceOutput, add_result_tracks, result_timeline, write_timeline
from moviola.plugin.timeline import WorkUnit

from ..inputs import ResolvedInput
from ..media.outputs import ensure_dir, resolve_output, sweep_stale
from ..media.staging import StagedFolder
from ..media.writers import ImageSequenceWriter
from .base import ClipFailures, ClipOutcome
from .common_params import clamp_range
from .result_export import export_result, movies_for

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_name(text: str, fallback: str = "clip") -> str:
    """A file-name stem from a clip name: no separators, no dots at the ends."""
    return _UNSAFE.sub("_", text).strip("._") or fallback


def plan_clips(source: ResolvedInput, frame_range: list[int] | None
               ) -> tuple[list[tuple[WorkUnit, int, int]], list[str]]:
    """The clips with media and the source frames to do of each (``range`` clamps them),
    plus the problems the timeline reported (missing media, transitions...)."""
    problems: list[str] = []
    plans = []
    for unit in source.units:
        problems.extend(f"{unit.clip_name}: {p}" for p in unit.problems)
        if unit.media_kind not in ("video", "image_sequence", "still"):
            continue
        plans.append((unit, *clamp_range(unit, frame_range)))
    if not plans:
        # Nothing to do is a failure, not an empty success: say why, write nothing.
        raise NothingProducedError(
            f"{source.stem}: no video clips with media to work on"
            + (f" ({'; '.join(problems[:5])})" if problems else ""),
            detail={"reason": "no_video_clips", "problems": problems[:50]})
    return plans, problems


def require_frames(unit: WorkUnit, frames: list[int], first: int, last: int) -> None:
    """A clip that gave no frames (its range lies past the media's end) is that clip's
    failure, named, not an empty sequence."""
    if not frames:
        raise NothingProducedError(
            f"{unit.clip_name}: nothing in range (frames {first}-{last} are not in the media)",
            path=unit.media_path, detail={"reason": "nothing_in_range"})


class ClipWriteFailures(ClipFailures):
    """:class:`ClipFailures`, except that a failed write (disk full, size limit, I/O error)
    stops the whole job: the next clip would meet the same disk."""

    @contextmanager
    def clip(self, label: str) -> Iterator[ClipOutcome]:
        fatal: list[BaseException] = []
        with super().clip(label) as outcome:
            try:
                yield outcome
            except (DiskFullError, OutputWriteError) as exc:
                fatal.append(exc)
        if fatal:
            raise fatal[0]


class WrittenFiles(Protocol):
    """What :meth:`ClipOutputs.add` reads of a finished writer: an image sequence (or a
    movie standing in for one)."""

    paths: list[Path]
    name: str
    ext: str
    padding: int

    @property
    def pattern(self) -> str: ...


class ClipOutputs:
    """Plans folders and writers per work unit, and collects what was written.

    Use it as a context manager: what was staged and not committed by :meth:`commit` (or
    :meth:`write_result`) is removed on exit, so a cancel or a failure leaves the previous
    result in place.
    """

    def __init__(self, out_dir: str, kind: str) -> None:
        self.out_dir = out_dir
        self.kind = kind
        self.outputs: list[SequenceOutput] = []
        self.files: list[str] = []
        self.exports: list[str] = []   # FCP7 XML and EDLs written beside the OTIO
        self._stages: dict[Path, StagedFolder] = {}   # final folder -> its staging
        self._added: set[Path] = set()
        sweep_stale(ensure_dir(out_dir))   # timelines and caches of killed runs

    def folder(self, index: int, unit: WorkUnit) -> StagedFolder:
        """The clip's folder, staged: write into ``.path``; ``.final`` is where it will be."""
        stem = safe_name(unit.clip_name)
        # resolve_output keeps the per-clip folder inside the job's output folder.
        final = resolve_output(self.out_dir, f"{self.kind}/{index:03d}_{stem}")
        if final not in self._stages:
            self._stages[final] = StagedFolder(final)
        return self._stages[final]

    def final_path(self, staged: str | Path) -> Path:
        """Where a file written in a staging folder will be once committed."""
        staged = Path(staged)
        for final, stage in self._stages.items():
            if staged.parent == stage.path:
                return final / staged.name
        return staged

    def writer(self, index: int, unit: WorkUnit, first_frame: int, fmt: str,
               **options: Any) -> ImageSequenceWriter:
        stem = safe_name(unit.clip_name)
        return ImageSequenceWriter(self.folder(index, unit).path, f"{stem}_{self.kind}", fmt,
                                   start_frame=first_frame, **options)

    def add(self, unit: WorkUnit, writer: WrittenFiles, frames: list[int],
            metadata: dict[str, Any] | None = None) -> dict[str, Any]:
        """Record a finished sequence (to be committed); return its summary for the job
        result, with the final paths."""
        paths = [str(self.final_path(p)) for p in writer.paths]
        pattern = self.final_path(writer.pattern)
        self._added.add(pattern.parent)
        self.outputs.append(SequenceOutput(
            unit=unit, directory=str(pattern.parent), name_prefix=f"{writer.name}.",
            name_suffix=f".{writer.ext}", start_frame=frames[0], frame_count=len(frames),
            padding=writer.padding, metadata=metadata or {}))
        self.files.extend(paths)
        return {"clip": unit.clip_name, "track": unit.track_name, "media": unit.media_path,
                "pattern": str(pattern), "frames": frames, "files": paths,
                "record_start": unit.record_start.to_frames(), "record_rate": unit.record_start.rate}

    def commit(self) -> None:
        """Swap the recorded clips' folders in; drop the staging of clips that failed."""
        for final, stage in self._stages.items():
            if final in self._added:
                stage.commit()
            else:
                stage.discard()

    def discard(self) -> None:
        """Remove every staging folder not committed; final folders stay as they were."""
        for stage in self._stages.values():
            stage.discard()

    def __enter__(self) -> ClipOutputs:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.discard()

    def staged_dir(self, final_dir: str | Path) -> Path:
        """The staging folder of a clip's final folder (where its files are until commit)."""
        stage = self._stages.get(Path(final_dir))
        return stage.path if stage is not None else Path(final_dir)

    def require_output(self, problems: list[str]) -> None:
        """Raise the typed error of a job that produced nothing (every clip failed, or none
        had frames in range), listing the clips' problems; nothing is written."""
        if self.outputs:
            return
        in_range = [p for p in problems if "nothing in range" in p]
        reason = "nothing_in_range" if in_range and len(in_range) == len(
            [p for p in problems if ": " in p]) else "all_clips_failed"
        raise NothingProducedError(
            ("no clip had frames in range" if reason == "nothing_in_range"
             else "every clip failed") + ": " + "; ".join(problems[:5]),
            detail={"reason": reason, "problems": problems[:50]})

    def write_result(self, source: ResolvedInput, track_name: str, provenance: dict[str, Any],
                     *, problems: list[str] | None = None, export: Sequence[str] = (),
                     movie_style: str = "picture") -> str:
        """Commit the clips' folders, then write ``<out>/<input stem>.<kind>.otio``; return
        its path. ``export`` ("xml", "edl") adds the FCP7 XML and one EDL per generated
        track, referring to a movie per clip encoded first (see :mod:`.result_export`).
        Raises :class:`NothingProducedError` when no clip produced anything."""
        self.require_output(problems or [])
        if export:
            self.outputs = movies_for(self, movie_style)
        self.commit()
        timeline = result_timeline(source.timeline)
        add_result_tracks(timeline, self.outputs, track_name=track_name, kind=self.kind,
                          provenance=provenance)
        path = resolve_output(self.out_dir, f"{source.stem}.{self.kind}.otio")
        if export:
            self.exports = export_result(timeline, self.out_dir, f"{source.stem}.{self.kind}",
                                         export)
        write_timeline(timeline, path)
        return str(path)
