"""Write result timelines: the product's real output.

Runs inside host applications: Python 3.9+, OpenTimelineIO and the stdlib only.

Each matte or depth result becomes a clip on a new video track above the source clips, at
the same record time, referring to the written frames through an ``ImageSequenceReference``.
OTIO maps a time to a frame number as ``start_frame + int((t - available_range.start) at
rate)`` (truncating), so references here start their available_range at the exact,
frame-aligned source-media time of the first written frame, at the media rate, and the
clip's source_range starts there too.

Hosts read formats differently (docs/timelines.md, "Results"): OTIO keeps the image
sequences; FCP7 XML and EDL have no image-sequence form that Premiere or Resolve import as
moving media (a single frame path comes in as a still), so they refer to a movie per
generated clip, which the engine encodes when asked (``metadata["moviola"]["movie"]``).
:func:`write_timeline` makes that swap, and for FCP7 XML also puts clip in/out and markers
on the sequence's frame grid, marker notes in ``<comment>`` and track names in ``<name>``.
"""

from __future__ import annotations

import json
import os
import pathlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Optional, Union

import opentimelineio as otio
from opentimelineio.opentime import RationalTime, TimeRange

from .errors import InvalidParamsError, OutputPathError
from .temp_names import temp_name
from .timeline import WorkUnit, url_to_path

__all__ = ["SequenceOutput", "MarkerSpec", "result_timeline", "add_result_track",
           "add_result_tracks", "add_markers", "write_timeline", "write_track_edls",
           "host_timeline", "reference_path", "WRITE_ADAPTERS"]

NAMESPACE = "moviola"

#: Extensions :func:`write_timeline` knows, and the adapter each one uses. (.otioz is left
#: out on purpose: its writer copies the media into the archive.)
WRITE_ADAPTERS = {".otio": "otio_json", ".xml": "fcp_xml", ".edl": "cmx_3600"}


@dataclass(frozen=True)
class SequenceOutput:
    """An image sequence written for one source clip.

    By Moviola's convention output frame numbers equal the source media's frame numbers, so
    ``start_frame`` is normally ``unit.first_frame``.
    """

    unit: WorkUnit
    directory: str
    name_prefix: str
    name_suffix: str
    start_frame: int
    frame_count: int
    padding: int = 4
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def last_frame(self) -> int:
        return self.start_frame + self.frame_count - 1

    @property
    def pattern(self) -> str:
        """printf-style path of the frames, e.g. ``/out/shotA_matte.%04d.exr``."""
        digits = f"%0{self.padding}d" if self.padding > 0 else "%d"
        # A literal % anywhere in the path must survive printf-style expansion.
        return os.path.join(_escape_percent(self.directory),
                            _escape_percent(self.name_prefix) + digits
                            + _escape_percent(self.name_suffix))

    def frame_path(self, frame: int) -> str:
        """Path of one frame file."""
        return os.path.join(self.directory, f"{self.name_prefix}"
                            f"{frame:0{max(self.padding, 1)}d}{self.name_suffix}")


@dataclass(frozen=True)
class MarkerSpec:
    """A marker to put on a timeline (timeline time) or a clip (the clip's source time)."""

    name: str
    marked_range: TimeRange
    color: str = "RED"
    note: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)


def _escape_percent(text: str) -> str:
    return text.replace("%", "%%")


def _plain(value: Any) -> Any:
    """Make ``value`` something OTIO metadata can hold (dicts, lists, str, numbers)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (RationalTime, TimeRange)):
        return value  # OTIO serialises these itself
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    return str(value)


def result_timeline(source: otio.schema.Timeline) -> otio.schema.Timeline:
    """A deep copy of ``source`` to add result tracks to (the source stays untouched).

    Unnamed image-sequence references get a name: the FCP7 XML writer fails without one.
    """
    copy_ = source.deepcopy()
    for clip in copy_.find_clips():
        if isinstance(clip.media_reference, otio.schema.ImageSequenceReference):
            _fcp_xml_hints(clip.media_reference)
    return copy_


def _fcp_xml_hints(ref: otio.schema.ImageSequenceReference) -> None:
    """Let the FCP7 XML writer handle an image sequence.

    otio-fcp-adapter 1.0 fails on ImageSequenceReference (it wants a name and a URL), and
    FCP7 XML has no image sequences anyway. The adapter copies ``metadata["fcp_xml"]`` into
    the ``<file>`` element, so a name, ``<media><video/></media>`` and a ``pathurl`` to the
    first frame make it write a file the host can import and relink.
    """
    if not ref.name:
        ref.name = ref.name_prefix + "#" * max(ref.frame_zero_padding, 1) + ref.name_suffix
    hints = dict(ref.metadata.get("fcp_xml", {}))
    hints.setdefault("media", {"video": {}})
    if "pathurl" not in hints:
        first = (ref.target_url_for_image_number(0) if ref.available_range
                 else ref.target_url_base + ref.name_prefix
                 + str(ref.start_frame).zfill(ref.frame_zero_padding) + ref.name_suffix)
        url = _as_file_url(first)
        if "://" in url:  # a relative base cannot become a URL; leave it for relinking
            hints["pathurl"] = url
    ref.metadata["fcp_xml"] = hints


def _url_base(directory: str) -> str:
    """A file:// URL of the folder, ending in '/' (OTIO joins base and name with '/');
    characters such as '%' and spaces are percent-encoded, as URLs need."""
    base = pathlib.Path(os.path.abspath(directory)).as_uri()
    return base if base.endswith("/") else base + "/"


@dataclass(frozen=True)
class _Placed:
    out: SequenceOutput
    record: TimeRange      # where the result clip goes, in track time
    head: int              # clip frames skipped at the start (output starts later)


def _place(out: SequenceOutput) -> _Placed:
    """The part of the source clip an output covers; normally all of it."""
    unit = out.unit
    lo = max(out.start_frame, unit.first_frame)
    hi = min(out.last_frame, unit.last_frame)
    if hi < lo:
        raise InvalidParamsError(
            f"output frames {out.start_frame}-{out.last_frame} miss clip "
            f"{unit.clip_name!r} (frames {unit.first_frame}-{unit.last_frame})")
    if lo == unit.first_frame and hi == unit.last_frame:
        # Keep the source clip's own values so the record ranges match exactly.
        return _Placed(out, unit.record_range, 0)
    head = lo - unit.first_frame
    rate = unit.rate
    return _Placed(out, TimeRange(unit.record_start + RationalTime(head, rate),
                                  RationalTime(hi - lo + 1, rate)), head)


def _result_clip(placed: _Placed, kind: str, provenance: dict[str, Any]) -> otio.schema.Clip:
    out, unit = placed.out, placed.out.unit
    rate = unit.rate
    first_time = unit.first_frame_time
    if first_time is None:  # a unit built by hand: media assumed to start at frame 0
        first_time = RationalTime(unit.first_frame, rate)
    first_value = first_time.value_rescaled_to(rate)
    # Source-media time of the first written frame, an exact frame at the media rate.
    ref_start = RationalTime(first_value + out.start_frame - unit.first_frame, rate)
    ref = otio.schema.ImageSequenceReference(
        target_url_base=_url_base(out.directory), name_prefix=out.name_prefix,
        name_suffix=out.name_suffix, start_frame=out.start_frame, frame_step=1, rate=rate,
        frame_zero_padding=out.padding,
        available_range=TimeRange(ref_start, RationalTime(out.frame_count, rate)))
    ref.name = f"{out.name_prefix}[{out.start_frame}-{out.last_frame}]{out.name_suffix}"
    _fcp_xml_hints(ref)
    # Start on an exact frame at the media rate: frame_for_time truncates, so a start at
    # another rate (or a hair below the frame) would name the previous file.
    clip_start = RationalTime(first_value + placed.head, rate)
    clip = otio.schema.Clip(name=f"{unit.clip_name} · {kind}", media_reference=ref,
                            source_range=TimeRange(clip_start, placed.record.duration))
    meta = dict(provenance)
    meta.update(out.metadata)
    meta.update({"kind": kind, "source_clip": unit.clip_name, "source_track": unit.track_name,
                 "frames": [out.start_frame, out.last_frame], "pattern": out.pattern})
    clip.metadata[NAMESPACE] = _plain(meta)
    return clip


# Record times at two rates (a 25 fps clip on a 24 fps track) meet with float error.
_TIME_EPSILON_S = 1e-6


def _not_before(t: RationalTime, end: RationalTime) -> bool:
    return t.to_seconds() >= end.to_seconds() - _TIME_EPSILON_S


def _by_time(outputs: Sequence[SequenceOutput]) -> list[_Placed]:
    return sorted((_place(o) for o in outputs), key=lambda p: p.record.start_time.to_seconds())


def add_result_track(timeline: otio.schema.Timeline, outputs: Sequence[SequenceOutput], *,
                     track_name: str, kind: str, provenance: dict[str, Any]
                     ) -> otio.schema.Track:
    """Add one video track above the existing video tracks holding ``outputs``.

    Each output becomes a clip ``"<source clip> · <kind>"`` at its source clip's record
    time (Gaps between), with ``metadata["moviola"]`` = provenance plus kind, source clip and
    frame range; the track's ``metadata["moviola"]`` is ``provenance``. An output that
    covers only part of its clip's frames gets a clip for that part. Mutates ``timeline``
    (copy it first with :func:`result_timeline`). Outputs must not overlap in record time
    (see :func:`add_result_tracks`).
    """
    placed = _by_time(outputs)
    for a, b in zip(placed, placed[1:]):
        if not _not_before(b.record.start_time, a.record.end_time_exclusive()):
            raise InvalidParamsError(
                f"outputs for {a.out.unit.clip_name!r} and {b.out.unit.clip_name!r} overlap "
                f"on the timeline; use add_result_tracks to spread them over several tracks")
    track = otio.schema.Track(name=track_name, kind=otio.schema.TrackKind.Video)
    track.metadata[NAMESPACE] = _plain(dict(provenance, kind=kind))

    # Record times are relative to the timeline's start; a trimmed root stack shifts them.
    root_range = timeline.tracks.source_range
    origin = root_range.start_time if root_range is not None else None
    cursor: Optional[RationalTime] = None
    for p in placed:
        start = p.record.start_time if origin is None else p.record.start_time + origin
        if cursor is None:
            cursor = RationalTime(0, start.rate)
        gap = start - cursor
        if gap.to_seconds() > _TIME_EPSILON_S:
            track.append(otio.schema.Gap(duration=gap))
        track.append(_result_clip(p, kind, provenance))
        cursor = start + p.record.duration

    # Above the topmost video track; NLEs read stack order as bottom-to-top.
    stack = timeline.tracks
    last_video = -1
    for i, child in enumerate(stack):
        if isinstance(child, otio.schema.Track) and child.kind == otio.schema.TrackKind.Video:
            last_video = i
    stack.insert(last_video + 1, track)
    return track


def add_result_tracks(timeline: otio.schema.Timeline, outputs: Sequence[SequenceOutput], *,
                      track_name: str, kind: str, provenance: dict[str, Any]
                      ) -> list[otio.schema.Track]:
    """Like :func:`add_result_track`, spreading overlapping outputs over as few tracks as
    needed (``track_name``, ``track_name 2``...); e.g. results for clips on V1 and V2."""
    lanes: list[list[_Placed]] = []
    for p in _by_time(outputs):
        for lane in lanes:
            if _not_before(p.record.start_time, lane[-1].record.end_time_exclusive()):
                lane.append(p)
                break
        else:
            lanes.append([p])
    return [add_result_track(timeline, [p.out for p in lane], kind=kind,
                             provenance=provenance,
                             track_name=track_name if i == 0 else f"{track_name} {i + 1}")
            for i, lane in enumerate(lanes)]


def add_markers(target: Union[otio.schema.Timeline, otio.core.Item],
                markers: Sequence[MarkerSpec]) -> list[otio.schema.Marker]:
    """Put markers on a timeline (its top stack; ranges in timeline time) or on an item
    (ranges in the item's source time). Colours are OTIO names: RED, GREEN, BLUE..."""
    holder = target.tracks if isinstance(target, otio.schema.Timeline) else target
    colours = {c for c in dir(otio.schema.MarkerColor) if not c.startswith("_")}
    made = []
    for spec in markers:
        colour = spec.color.upper()
        if colour not in colours:
            raise InvalidParamsError(f"marker colour {spec.color!r} is not one of "
                                     f"{', '.join(sorted(colours))}")
        meta = {NAMESPACE: _plain(spec.metadata)} if spec.metadata else {}
        marker = otio.schema.Marker(name=spec.name, marked_range=spec.marked_range,
                                    color=colour, metadata=meta)
        if hasattr(marker, "comment"):
            marker.comment = spec.note
        elif spec.note:  # OTIO before 0.17 has no comment field
            marker.metadata.setdefault(NAMESPACE, {})["note"] = spec.note
        holder.markers.append(marker)
        made.append(marker)
    return made


def host_timeline(timeline: otio.schema.Timeline, adapter: str) -> otio.schema.Timeline:
    """A copy of ``timeline`` as hosts import it through ``adapter`` ("fcp_xml",
    "cmx_3600"; any other adapter gets the timeline itself).

    Every generated clip refers to its movie (a clip without one is an error: an image
    sequence path would come in as a still). For FCP7 XML also: plain paths become file://
    URLs, clip in/out and markers go on the sequence's frame grid (Premiere and Resolve read
    them so, whatever the file's own rate), clip markers count from the media's start,
    marker notes go to ``<comment>``, track names to the track's ``<name>`` and a generated
    clip's provenance to its ``<logginginfo><description>``.
    """
    if adapter not in ("fcp_xml", "cmx_3600"):
        return timeline
    tl = timeline.deepcopy()
    for clip in tl.find_clips():
        _movie_in_place(clip)
    _on_sequence_grid(tl, fcp_xml=adapter == "fcp_xml")
    return tl


def _movie_in_place(clip: otio.schema.Clip) -> None:
    """Point a generated clip (one with ``metadata["moviola"]["pattern"]``) at its movie."""
    meta = clip.metadata.get(NAMESPACE, {})
    ref = clip.media_reference
    if "pattern" not in meta or not isinstance(ref, otio.schema.ImageSequenceReference):
        return
    movie = meta.get("movie")
    if not movie:
        raise InvalidParamsError(
            f"clip {clip.name!r} refers to an image sequence, which FCP7 XML and EDL hosts "
            "import as a still: encode a movie of it first (a job's 'export' parameter)",
            path=str(meta.get("pattern")))
    # The movie starts at the timecode of the sequence's first frame: same available range.
    new_ref = otio.schema.ExternalReference(target_url=_as_file_url(str(movie)),
                                            available_range=ref.available_range)
    new_ref.name = os.path.basename(str(movie))
    clip.media_reference = new_ref


def _on_sequence_grid(tl: otio.schema.Timeline, fcp_xml: bool) -> None:
    """Clips and gaps on the sequence's frame grid (an EDL, too, is one rate); for FCP7 XML
    also its markers, track names and provenance."""
    rate = _sequence_rate(tl)
    if fcp_xml:
        for marker in tl.tracks.markers:
            _marker_for_fcp(marker, RationalTime(0, rate), rate)
    for track in tl.tracks:
        if not isinstance(track, otio.schema.Track):
            continue
        if track.name and fcp_xml:
            track.metadata.setdefault("fcp_xml", {}).setdefault("name", track.name)
        for item in track:
            if isinstance(item, otio.schema.Gap):
                item.source_range = TimeRange(RationalTime(0, rate), _on_grid(item.duration(), rate))
            elif isinstance(item, otio.schema.Clip):
                _clip_on_grid(item, rate, fcp_xml)


def _sequence_rate(tl: otio.schema.Timeline) -> float:
    if tl.global_start_time is not None:
        return tl.global_start_time.rate
    return tl.duration().rate


def _on_grid(t: RationalTime, rate: float) -> RationalTime:
    return RationalTime(round(t.to_seconds() * rate), rate)


def _clip_on_grid(clip: otio.schema.Clip, rate: float, fcp_xml: bool) -> None:
    """In/out on the sequence's frame grid; for FCP7 XML, markers too, counted from the
    media's start (an EDL's LOC lines keep source timecode)."""
    ref = clip.media_reference
    avail = ref.available_range if ref is not None else None
    media_start = avail.start_time if avail is not None else RationalTime(0, rate)
    src = clip.source_range or clip.trimmed_range()
    offset = _on_grid(src.start_time - media_start, rate)
    # The adapter writes in = start - media start (rescaled), so keep the media start exact.
    clip.source_range = TimeRange(media_start.rescaled_to(rate) + offset,
                                  _on_grid(src.duration, rate))
    if not fcp_xml:
        return
    for marker in clip.markers:
        _marker_for_fcp(marker, media_start, rate)
    meta = clip.metadata.get(NAMESPACE)
    if meta and "pattern" in meta:
        hints = clip.metadata.setdefault("fcp_xml", {})
        hints.setdefault("logginginfo", {"description": json.dumps(
            _jsonable(meta), sort_keys=True, ensure_ascii=False)})


def _marker_for_fcp(marker: otio.schema.Marker, origin: RationalTime, rate: float) -> None:
    marked = marker.marked_range
    marker.marked_range = TimeRange(_on_grid(marked.start_time - origin, rate),
                                    _on_grid(marked.duration, rate))
    note = getattr(marker, "comment", "") or marker.metadata.get(NAMESPACE, {}).get("note", "")
    if note:
        marker.metadata.setdefault("fcp_xml", {})["comment"] = str(note)


def _jsonable(value: Any) -> Any:
    if isinstance(value, (RationalTime, TimeRange)):
        return str(value)
    if hasattr(value, "items"):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)) or type(value).__name__ == "AnyVector":
        return [_jsonable(v) for v in value]
    return value


_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


def write_track_edls(timeline: otio.schema.Timeline, folder: Union[str, os.PathLike[str]],
                     stem: str, **adapter_options: Any) -> list[str]:
    """Write one EDL per generated video track (an EDL holds one track):
    ``<folder>/<stem>.<track name>.edl``, each clip referring to its movie. Returns the
    paths written; none when the timeline has no generated track."""
    written = []
    for index, track in enumerate(timeline.tracks):
        if not (isinstance(track, otio.schema.Track)
                and track.kind == otio.schema.TrackKind.Video and NAMESPACE in track.metadata):
            continue
        one = otio.schema.Timeline(name=f"{timeline.name or stem} {track.name}".strip(),
                                   global_start_time=timeline.global_start_time)
        copy_ = track.deepcopy()
        start = timeline.global_start_time
        if start is not None and start.value:
            # The CMX writer ignores global_start_time; a track trimmed from -start (as the
            # CMX reader itself reads a list) puts record timecodes where the edit has them.
            copy_.source_range = TimeRange(RationalTime(-start.value, start.rate),
                                           copy_.duration().rescaled_to(start.rate))
        one.tracks.append(copy_)
        name = _UNSAFE_NAME.sub("_", track.name or f"track{index + 1}").strip("._")
        written.append(write_timeline(one, os.path.join(os.fspath(folder),
                                                         f"{stem}.{name}.edl"), **adapter_options))
    return written


def reference_path(ref: otio.core.MediaReference, frame: Optional[int] = None,
                   base_dir: Optional[str] = None) -> str:
    """The local file a media reference names: a movie's path, or for an image sequence the
    file of media frame ``frame`` (its number in the file names; the first frame when None).
    References are ``file://`` URLs in result timelines; a relative one is resolved against
    ``base_dir``. Raises :class:`InvalidParamsError` for a reference that names no local file."""
    if isinstance(ref, otio.schema.ImageSequenceReference):
        number = ref.start_frame if frame is None else frame
        url = ref.target_url_base + ref.name_prefix + str(number).zfill(
            ref.frame_zero_padding) + ref.name_suffix
    else:
        url = getattr(ref, "target_url", "") or ""
    path, problem = url_to_path(url, base_dir)
    if path is None or problem:
        raise InvalidParamsError(problem or "media reference names no file")
    return path


def _as_file_url(url: str) -> str:
    if url and os.path.isabs(url) and "://" not in url:
        return pathlib.Path(url).as_uri()
    return url


def write_timeline(timeline: otio.schema.Timeline, path: Union[str, os.PathLike[str]],
                   **adapter_options: Any) -> str:
    """Write ``timeline`` to ``path`` atomically (temp file in the same folder, named by
    :func:`.temp_names.temp_name`, then rename); the extension picks the format: .otio,
    .xml (FCP7 XML) or .edl (one video track; see :func:`write_track_edls`). FCP7 XML and
    EDL get :func:`host_timeline`'s copy. Returns the absolute path written."""
    p = os.path.abspath(os.fspath(path))
    ext = os.path.splitext(p)[1].lower()
    adapter = WRITE_ADAPTERS.get(ext)
    if adapter is None:
        raise InvalidParamsError(f"cannot write {ext or 'files without an extension'}; use "
                                 f"{', '.join(sorted(WRITE_ADAPTERS))}", path=p)
    folder = os.path.dirname(p)
    if not os.path.isdir(folder):
        raise OutputPathError("output folder does not exist", path=folder)
    to_write = host_timeline(timeline, adapter)
    if adapter == "fcp_xml":
        for clip in to_write.find_clips():   # source plates that are image sequences
            ref = clip.media_reference
            if isinstance(ref, otio.schema.ImageSequenceReference):
                _fcp_xml_hints(ref)
            elif isinstance(ref, otio.schema.ExternalReference):
                ref.target_url = _as_file_url(ref.target_url)
    try:
        text = otio.adapters.write_to_string(to_write, adapter, **adapter_options)
    except Exception as exc:  # e.g. an EDL cannot hold several video tracks
        raise InvalidParamsError(f"cannot write this timeline as {adapter}: "
                                 f"{type(exc).__name__}: {exc}", path=p) from exc
    # os.open with 0o666 lets the umask decide the final mode (mkstemp would force 0600).
    # The temp name carries the pid, so a sweep of the folder removes a killed write's file.
    stem, ext = os.path.splitext(os.path.basename(p))
    tmp = os.path.join(folder, temp_name(stem, "tmp", ext))
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    except OSError as exc:
        raise OutputPathError(f"cannot write in output folder: {exc}", path=folder) from exc
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, p)
    except OSError as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise OutputPathError(f"cannot write timeline: {exc}", path=p) from exc
    return p
