"""The export step of a frame job: results in the forms hosts import as they are.

OTIO keeps the image sequences. FCP7 XML and EDL refer to a movie per generated clip
(:mod:`..media.clip_movie`), encoded into the clip's staging folder before the folders are
swapped in, so a movie is never a mix of two runs either; the clip's OTIO metadata names it
(``metadata["moviola"]["movie"]``). ``export`` names what to add: ``"xml"`` writes
``<stem>.xml``, ``"edl"`` one ``<stem>.<track>.edl`` per generated track.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import opentimelineio as otio

from moviola.plugin.results import SequenceOutput, write_timeline, write_track_edls

from ..media.clip_movie import encode_clip_movie, start_timecode
from ..media.outputs import resolve_output

if TYPE_CHECKING:
    from .clip_outputs import ClipOutputs

__all__ = ["EXPORT_FORMATS", "EXPORT_HELP", "movies_for", "export_result"]

EXPORT_FORMATS = ("xml", "edl")
EXPORT_HELP = ("also write the result as FCP7 XML (xml) and/or one EDL per generated track "
               "(edl), each clip referring to a ProRes movie of its frames")


def movies_for(outputs: ClipOutputs, style: str) -> list[SequenceOutput]:
    """Encode a movie per recorded output (one the job wrote itself is kept); return the
    outputs with ``metadata["movie"]`` set to the movie's final path."""
    done = []
    for out in outputs.outputs:
        if out.metadata.get("movie"):
            done.append(out)
            continue
        staged = outputs.staged_dir(out.directory)
        frames = [staged / Path(out.frame_path(n)).name
                  for n in range(out.start_frame, out.last_frame + 1)]
        name = out.name_prefix.rstrip(".") + ".mov"
        movie = resolve_output(staged, name)
        unit = out.unit
        first_time = unit.first_frame_time
        first_value = (round(first_time.value_rescaled_to(unit.rate)) if first_time is not None
                       else unit.first_frame) + out.start_frame - unit.first_frame
        encode_clip_movie(frames, movie, unit.rate, style, start_timecode(first_value, unit.rate))
        outputs.files.append(str(Path(out.directory) / name))
        meta: dict[str, Any] = dict(out.metadata, movie=str(Path(out.directory) / name))
        done.append(dataclasses.replace(out, metadata=meta))
    return done


def export_result(timeline: otio.schema.Timeline, out_dir: str, stem: str,
                  export: Sequence[str]) -> list[str]:
    """Write the host forms ``export`` asks for next to the OTIO; return their paths."""
    written = []
    if "xml" in export:
        written.append(write_timeline(timeline, resolve_output(out_dir, f"{stem}.xml")))
    if "edl" in export:
        written.extend(write_track_edls(timeline, out_dir, stem))
    return written
