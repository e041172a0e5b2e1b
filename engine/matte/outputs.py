"""Writing mattes: EXR (half, one ``A`` channel; the default), 16-bit grey PNG, or ProRes 4444
with alpha; and the result timeline with one matte track per object.

Image sequences go through :class:`..jobs.clip_outputs.ClipOutputs` (one folder per clip,
frame numbers = the source media's), so a Nuke Read of the matte lines up with the plate.
A ProRes movie holds the clip's frames in order; its timeline clip refers to the movie.
Both are written into the clip's staging folder and swapped in by
:func:`write_result_timeline` (see :mod:`..jobs.clip_outputs`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import opentimelineio as otio

from moviola.plugin.errors import InvalidParamsError
from moviola.plugin.results import add_result_tracks, result_timeline, write_timeline
from moviola.plugin.timeline import WorkUnit

from ..inputs import ResolvedInput
from ..jobs.clip_outputs import ClipOutputs, safe_name
from ..kernels.convert import to_uint16
from ..media.outputs import resolve_output
from ..media.writers import ImageSequenceWriter, ProResWriter

if TYPE_CHECKING:
    from ..kernels.stages import OpenCLStages

__all__ = ["MatteOutput", "check_format", "header_attributes", "write_result_timeline"]

FORMATS = ("exr", "png", "prores")


def check_format(fmt: str, width: int, height: int) -> None:
    """Refuse, before any work, a format the plate's size cannot be written in."""
    if fmt == "prores" and (width % 2 or height % 2):
        raise InvalidParamsError(f"ProRes needs an even frame size; the plate is {width}x{height}: "
                                 "use format exr or png", detail={"param": "format"})


def header_attributes(record: dict[str, Any]) -> dict[str, Any]:
    """Provenance as file-header attributes (``moviola/...``), JSON text for structures."""
    out = {}
    for key, value in record.items():
        if value is None:
            continue
        if not isinstance(value, (str, int, float)) or isinstance(value, bool):
            value = json.dumps(value, sort_keys=True, default=str)
        out[f"moviola/{key}"] = value
    return out


@dataclass
class MatteOutput:
    """One object's matte for one clip: a writer, and what it wrote."""

    outputs: ClipOutputs
    unit: WorkUnit
    index: int
    fmt: str
    first_frame: int
    rate: Fraction
    size: tuple[int, int]
    attributes: dict[str, Any]
    frames: list[int] = field(default_factory=list)
    movie: Path | None = None

    def __post_init__(self) -> None:
        if self.fmt == "prores":
            stem = safe_name(self.unit.clip_name)
            # Written in the clip's staging folder, like image sequences; moved with it.
            folder = self.outputs.folder(self.index, self.unit).path
            self.movie = resolve_output(folder, f"{stem}_{self.outputs.kind}.mov")
            self._movie_writer: ProResWriter | None = ProResWriter(self.movie, self.rate, *self.size,
                                                                   alpha=True)
            self._seq: ImageSequenceWriter | None = None
        else:
            options: dict[str, Any] = {"attributes": self.attributes}
            if self.fmt == "exr":
                options.update(channels=("A",), pixel_type="half")
            else:
                options.update(bit_depth=16)
            self._seq = self.outputs.writer(self.index, self.unit, self.first_frame, self.fmt,
                                            **options)
            self._movie_writer = None

    @property
    def ordered(self) -> bool:
        """True when frames must be written in order, from one thread (a movie)."""
        return self._movie_writer is not None

    def write(self, alpha: np.ndarray, frame: int, stages: OpenCLStages | None = None) -> None:
        """Write one frame's alpha (HxW float32 0..1). ``stages``: the OpenCL device that
        quantises to 16 bits for PNG and ProRes (None: the CPU; the same integers)."""
        alpha = np.clip(alpha, 0.0, 1.0)
        if self.fmt in ("png", "prores"):
            # ProRes takes 16-bit input as it is, so both formats get the same integers.
            q = to_uint16(alpha, stages)
            if self._movie_writer is not None:
                self._movie_writer.write(np.repeat(q[..., None], 4, axis=2))  # RGB = A = matte
            else:
                self._sequence().write(q, frame)
        else:
            self._sequence().write(alpha.astype(np.float32), frame)
        self.frames.append(frame)

    def finish(self, metadata: dict[str, Any]) -> dict[str, Any]:
        """Close the writer and record the output; returns its summary for the result."""
        self.frames.sort()
        if self._movie_writer is not None:
            assert self.movie is not None   # set with the movie writer
            self._movie_writer.close()
            # The timeline needs a sequence-shaped record to place the clip; the movie then
            # replaces its media reference (see write_result_timeline).
            final = self.outputs.final_path(self.movie)
            summary = self.outputs.add(self.unit, _MovieAsSequence(self.movie), self.frames,
                                       {**metadata, "movie": str(final)})
            summary["movie"] = str(final)
            return summary
        seq = self._sequence()
        seq.paths.sort()
        return self.outputs.add(self.unit, seq, self.frames, metadata)

    def _sequence(self) -> ImageSequenceWriter:
        assert self._seq is not None   # set whenever there is no movie writer
        return self._seq

    def abort(self) -> None:
        if self._movie_writer is not None:
            self._movie_writer.abort()

    def discard(self) -> None:
        """Stop and remove what this run staged; the previous result stays."""
        self.abort()
        self.outputs.discard()


class _MovieAsSequence:
    """The attributes ClipOutputs.add reads, for a movie (one file, no frame numbers)."""

    def __init__(self, movie: Path) -> None:
        self.paths = [movie]
        self.pattern = str(movie)
        self.name = movie.stem
        self.ext = movie.suffix.lstrip(".")
        self.padding = 0


def write_result_timeline(source: ResolvedInput, out_dir: str,
                          per_object: list[tuple[str, ClipOutputs, dict[str, Any]]]) -> str:
    """``<out>/<input stem>.matte.otio``: the source timeline plus one matte track per object
    (``(track name, outputs, provenance)``), each clip aligned with its source clip."""
    for _, outputs, _ in per_object:
        outputs.commit()   # every object's folders swap in just before the timeline
    timeline = result_timeline(source.timeline)
    for track_name, outputs, record in per_object:
        if outputs.outputs:
            tracks = add_result_tracks(timeline, outputs.outputs, track_name=track_name,
                                       kind="matte", provenance=record)
            for track in tracks:
                _movies_in_place(track)
    path = resolve_output(out_dir, f"{source.stem}.matte.otio")
    write_timeline(timeline, path)
    return str(path)


def _movies_in_place(track: otio.schema.Track) -> None:
    """Point clips written as a movie at the movie instead of a frame sequence (a sequence
    with a movie encoded for export keeps its sequence; the movie stays in its metadata)."""
    for clip in track.find_clips():
        meta = clip.metadata.get("moviola", {})
        movie = meta.get("movie")
        old = clip.media_reference
        if not movie or getattr(old, "name_suffix", ".mov").lower() != ".mov":
            continue
        clip.media_reference = otio.schema.ExternalReference(
            target_url=movie, available_range=old.available_range)
        clip.media_reference.name = Path(movie).name
