"""Read timelines and turn their clips into work units.

Runs inside host applications: Python 3.9+, OpenTimelineIO and the stdlib only.

A :class:`WorkUnit` says which media frames one clip uses and where the clip sits on the
timeline. Frame math is exact: a clip's media frame is its source time minus the media's
``available_range`` start, expressed at the media rate and rounded to the nearest frame, so
timecode starts (01:00:00:00 at 23.976) and source ranges at another rate map to one frame.

Clips that do not play their media frame for frame say which media frame each record frame
shows (:attr:`WorkUnit.frames`): a still image is one frame held, a ``FreezeFrame`` holds the
frame at the clip's source in, and a ``LinearTimeWarp`` shows, at record frame ``i``, the
media frame under source time ``in + i * time_scalar`` (the frame whose span holds that time,
as hosts show a retimed clip without frame blending). Any other effect is reported per clip
as not honoured.
"""

from __future__ import annotations

import math
import os
import re
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any, Optional, Union
from xml.etree import ElementTree

import opentimelineio as otio
from opentimelineio.opentime import RationalTime, TimeRange

from .errors import InvalidParamsError, MediaDecodeError, MediaNotFoundError

__all__ = ["WorkUnit", "read_timeline", "work_units", "timeline_from_media", "parse_rate",
           "url_to_path", "is_still_path", "STILL_SUFFIXES"]

# Rates written as 23.976 and friends are 24000/1001 etc.; OTIO's timecode code needs the
# exact value.
_NTSC_RATES = tuple(n * 1000.0 / 1001.0 for n in (24, 30, 48, 60, 120))

#: A clip whose media is one of these files is a still: one picture held for the clip's length,
#: whatever digits its name holds (``board_0000.png`` is not frame 0 of a sequence).
STILL_SUFFIXES = frozenset({".exr", ".dpx", ".cin", ".png", ".tif", ".tiff", ".jpg", ".jpeg",
                            ".tga", ".bmp", ".hdr", ".sgi", ".rgb", ".webp", ".psd", ".gif"})

#: Time effects the mapping honours; any other effect is reported on its clip.
_TIME_EFFECTS = (otio.schema.FreezeFrame, otio.schema.LinearTimeWarp)


@dataclass(frozen=True)
class WorkUnit:
    """One clip of a timeline, resolved to the media frames it uses.

    ``media_kind`` is "video", "image_sequence" (``media_path`` is then a printf pattern),
    "still" (one image file held), "missing" or "generator". ``first_frame`` is a 0-based
    index into a movie, or the frame number in a sequence's file names. ``record_start``
    is track time (from the timeline's start); ``record_start_global`` adds the timeline's
    global_start_time when it has one (an EDL's first record timecode otherwise).
    ``source_range`` is the clip's trimmed range, further trimmed when an enclosing nested
    stack shows only part of the clip. ``clip_index`` is the clip's index in its immediate
    parent; ``item_path`` holds the indexes from the top-level track down to the clip
    (longer than one inside nested stacks). ``first_frame_time`` is the source-media time
    of ``first_frame`` at the media rate. ``problems`` are human-readable notes (missing
    media, transitions needing handles, clips running past the media, effects not honoured).

    ``frames`` is empty when record frame ``i`` shows media frame ``first_frame + i``. For a
    still, a freeze frame or a speed change it holds the media frame each record frame shows
    (``frame_count`` of them); ``first_frame`` is then the first of them, and ``first_frame +
    i`` numbers the record frames of the clip's outputs.
    """

    clip_name: str
    track_name: str
    track_index: int
    clip_index: int
    media_path: Optional[str]
    media_kind: str
    rate: float
    first_frame: int
    frame_count: int
    record_start: RationalTime
    record_duration: RationalTime
    source_range: TimeRange
    problems: tuple[str, ...] = ()
    record_start_global: Optional[RationalTime] = None
    first_frame_time: Optional[RationalTime] = None
    frame_step: int = 1
    item_path: tuple[int, ...] = ()
    frames: tuple[int, ...] = ()

    @property
    def last_frame(self) -> int:
        """Number of the clip's last frame: the last media frame of a clip played frame for
        frame, else ``first_frame + frame_count - 1`` (see ``frames``)."""
        return self.first_frame + self.frame_count - 1

    @property
    def retimed(self) -> bool:
        """True when record frames do not show consecutive media frames (see ``frames``)."""
        return bool(self.frames)

    def shown_frames(self) -> list[int]:
        """The media frame shown at each record frame of the clip, in record order."""
        if self.frames:
            return list(self.frames)
        return list(range(self.first_frame, self.first_frame + self.frame_count))

    @property
    def media_span(self) -> tuple[int, int]:
        """First and last media frame the clip reads (inclusive)."""
        if self.frames:
            return min(self.frames), max(self.frames)
        return self.first_frame, self.last_frame

    @property
    def record_range(self) -> TimeRange:
        """Where the clip sits on the timeline, in track time."""
        return TimeRange(self.record_start, self.record_duration)


# --- reading ---------------------------------------------------------------------------------

def read_timeline(path: Union[str, os.PathLike[str]], rate: Optional[float] = None,
                  **adapter_options: Any) -> otio.schema.Timeline:
    """Read an .otio/.otioz/.otiod, FCP7 .xml or .edl file and return its timeline.

    ``rate`` is an EDL's frame rate (a CMX list does not say it; 24 when not given); other
    formats carry their own rates and ignore it. ``adapter_options`` go to the adapter.
    Raises :class:`MediaNotFoundError` when the file is absent and :class:`MediaDecodeError`
    when it cannot be parsed or holds no Timeline; for an EDL the error names the line, its
    number and what was expected there, for an XML file that is not FCP7 what it is instead.
    """
    p = os.path.abspath(os.fspath(path))
    if not os.path.exists(p):
        raise MediaNotFoundError("timeline file not found", path=p)
    suffix = os.path.splitext(p)[1].lower()
    if suffix == ".edl":
        adapter_options["rate"] = parse_rate(rate if rate is not None else 24)
    elif suffix == ".xml":
        _require_fcp_xml(p)
    try:
        obj = otio.adapters.read_from_file(p, **adapter_options)
    except Exception as exc:  # adapters raise anything from ValueError to ElementTree errors
        if suffix == ".edl":
            found = _edl_problem(p, adapter_options["rate"])
            if found is not None:
                line, text, expected = found
                raise MediaDecodeError(f"{os.path.basename(p)} line {line}: {expected}; "
                                       f"found {text!r}", path=p,
                                       detail={"line": line, "text": text,
                                               "expected": expected}) from exc
        raise MediaDecodeError(f"cannot read timeline: {type(exc).__name__}: {exc}",
                               path=p) from exc
    timeline = _first_timeline(obj)
    if timeline is None:
        raise MediaDecodeError(f"file holds a {type(obj).__name__}, not a timeline", path=p)
    if suffix == ".edl":
        timeline.metadata.setdefault(_NAMESPACE, {})["edl_rate"] = adapter_options["rate"]
    return timeline


_NAMESPACE = "moviola"


def _require_fcp_xml(path: str) -> None:
    """A typed error naming what an .xml file is when it is not FCP7 XML (``<xmeml>``)."""
    try:
        root = next(ElementTree.iterparse(path, events=("start",)))[1]
    except (ElementTree.ParseError, StopIteration, OSError) as exc:
        raise MediaDecodeError(f"not an FCP7 XML file: it is not well-formed XML ({exc})",
                               path=path) from exc
    tag = root.tag.split("}")[-1]
    if tag != "xmeml":
        raise MediaDecodeError(f"not an FCP7 XML file: its root element is <{tag}>, an FCP7 "
                               f"XML export starts with <xmeml> (this may be a preset or "
                               f"another program's XML)", path=path, detail={"root": tag})


# CMX 3600: event number, reel, channels, transition (C, D, Wnnn, K...), an optional
# duration, then source in/out and record in/out timecodes.
_TC = r"\d{1,2}[:;.]\d{2}[:;.]\d{2}[:;.]\d{2}"
_EDL_EVENT = re.compile(r"^\d+\s+\S+\s+\S+\s+\S+(\s+\d+)?\s+(" + _TC + r")\s+(" + _TC
                        + r")\s+(" + _TC + r")\s+(" + _TC + r")\s*$")
_EDL_OTHER = re.compile(r"^(TITLE:|FCM|SPLIT|M2\s|\*|>>>|AUD|FROM |TO |SWM|%|\d+\s)",
                        re.IGNORECASE)
_EDL_EXPECTED = ("an event line: number, reel, channels, transition, [duration], "
                 "source in, source out, record in, record out")


def _edl_problem(path: str, rate: float) -> Optional[tuple[int, str, str]]:
    """The first line of an EDL that does not read as CMX 3600 at ``rate``:
    ``(line number, text, what was expected)``; None when every line looks right."""
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            lines = fh.read().splitlines()
    except OSError:
        return None
    frames_per_second = int(math.ceil(rate - 1e-6))
    for number, raw in enumerate(lines, 1):
        line = raw.strip()
        if not line:
            continue
        if line[0].isdigit():
            m = _EDL_EVENT.match(line)
            if m is None:
                return number, line, _EDL_EXPECTED
            for tc in m.groups()[1:]:
                ff = int(re.split(r"[:;.]", tc)[-1])
                if ff >= frames_per_second:
                    return (number, line,
                            f"timecodes of a {_rate_text(rate)} fps list (frames 00-"
                            f"{frames_per_second - 1}), but {tc} has frame {ff:02d}: give the "
                            f"list's frame rate (e.g. rate {ff + 1 if ff + 1 in (25, 30) else 30})")
        elif not _EDL_OTHER.match(line):
            return number, line, _EDL_EXPECTED + ", a comment (*) or a header (TITLE:, FCM:)"
    return None


def _rate_text(rate: float) -> str:
    return f"{rate:.3f}".rstrip("0").rstrip(".")


def _first_timeline(obj: Any) -> Optional[otio.schema.Timeline]:
    if isinstance(obj, otio.schema.Timeline):
        return obj
    if isinstance(obj, otio.schema.SerializableCollection):
        for child in obj:
            found = _first_timeline(child)
            if found is not None:
                return found
    return None


# --- paths -----------------------------------------------------------------------------------

def url_to_path(url: str, base_dir: Optional[str] = None) -> tuple[Optional[str], Optional[str]]:
    """Turn a target_url into an absolute local path: ``(path, problem)``.

    ``file://`` URLs are decoded (``%20`` -> space), relative paths are resolved against
    ``base_dir`` (the timeline file's folder). Other schemes give ``(url, problem)``.
    """
    if not url:
        return None, "media reference has no target_url"
    parsed = urllib.parse.urlparse(url)
    if parsed.scheme.lower() == "file":
        path = urllib.request.url2pathname(parsed.path)
        if parsed.netloc and parsed.netloc.lower() != "localhost":
            path = "//" + parsed.netloc + path  # UNC share
    elif len(parsed.scheme) > 1:  # one letter is a Windows drive, not a scheme
        return url, f"media is not a local file: {url}"
    else:
        path = url
    if not os.path.isabs(path):
        path = os.path.join(base_dir or os.getcwd(), path)
    return os.path.normpath(path), None


def _sequence_pattern(ref: otio.schema.ImageSequenceReference,
                      base_dir: Optional[str]) -> tuple[Optional[str], Optional[str]]:
    folder, problem = url_to_path(ref.target_url_base or ".", base_dir)
    if folder is None or problem:
        return folder, problem
    pad = ref.frame_zero_padding
    digits = f"%0{pad}d" if pad > 0 else "%d"
    # A literal % in a file name must survive printf-style expansion.
    prefix = ref.name_prefix.replace("%", "%%")
    suffix = ref.name_suffix.replace("%", "%%")
    return os.path.join(folder, prefix + digits + suffix), None


# --- frame math ------------------------------------------------------------------------------

def _nearest(value: float) -> int:
    # floor(x + 0.5), not round(): Python's round() goes to even on exact halves.
    return int(math.floor(value + 0.5))


def _frames(t: RationalTime, rate: float) -> float:
    return t.value_rescaled_to(rate)


@dataclass
class _Media:
    kind: str
    path: Optional[str]
    rate: float
    base: int                      # frame number at the media's start time
    start: Optional[RationalTime]  # available_range start, if any
    length: Optional[int]          # available frames, if known
    step: int
    problems: list[str]


def _describe_media(clip: otio.schema.Clip, clip_rate: float,
                    base_dir: Optional[str]) -> _Media:
    ref = clip.media_reference
    avail = ref.available_range if ref is not None else None
    problems: list[str] = []
    rate = clip_rate
    if avail is not None:
        rate = avail.duration.rate if avail.duration.rate > 0 else avail.start_time.rate
    base, step = 0, 1
    path: Optional[str] = None
    kind = "video"

    if ref is None or isinstance(ref, otio.schema.MissingReference):
        kind = "missing"
        problems.append(f"media missing: clip {clip.name!r} has no media reference")
    elif isinstance(ref, otio.schema.GeneratorReference):
        kind = "generator"
    elif isinstance(ref, otio.schema.ImageSequenceReference):
        kind = "image_sequence"
        if ref.rate > 0:
            rate = ref.rate  # frame_for_time counts frames at the reference's own rate
        base, step = ref.start_frame, max(1, ref.frame_step)
        path, problem = _sequence_pattern(ref, base_dir)
        if problem:
            kind = "missing"
            problems.append(problem)
        if step > 1:
            problems.append(f"sequence has frame_step {step}: only every {step}th frame exists")
    elif isinstance(ref, otio.schema.ExternalReference):
        path, problem = url_to_path(ref.target_url, base_dir)
        if problem:
            kind = "missing"
            problems.append(problem)
        elif path is not None and is_still_path(path):
            # A still's own range says nothing about its frames: it is one picture.
            kind, rate, avail = "still", clip_rate, None
    else:
        kind = "missing"
        problems.append(f"unsupported media reference {type(ref).__name__}")

    length = _nearest(_frames(avail.duration, rate)) if avail is not None else None
    return _Media(kind, path, rate, base, avail.start_time if avail else None, length, step,
                  problems)


def is_still_path(path: str) -> bool:
    """True when ``path`` names a single image file (a still), judged by its extension."""
    return os.path.splitext(path)[1].lower() in STILL_SUFFIXES


def _check_exists(media: _Media, first_frame: int) -> None:
    if media.path is None or media.kind not in ("video", "image_sequence", "still"):
        return
    if media.kind in ("video", "still"):
        if not os.path.isfile(media.path):
            media.kind = "missing"
            media.problems.append(f"media missing: {media.path}")
        return
    try:
        probe = media.path % first_frame
    except (TypeError, ValueError):
        probe = media.path
    if not os.path.isfile(probe):
        media.kind = "missing"
        media.problems.append(f"media missing: {media.path} (frame {first_frame}: {probe})")


# --- walking the timeline --------------------------------------------------------------------

def _intersect(a: TimeRange, b: Optional[TimeRange]) -> Optional[TimeRange]:
    if b is None or (a.start_time >= b.start_time and a.end_time_exclusive() <= b.end_time_exclusive()):
        return a
    start = max(a.start_time, b.start_time)
    end = min(a.end_time_exclusive(), b.end_time_exclusive())
    if end <= start:
        return None
    return TimeRange.range_from_start_end_time(start, end)


def _transition_notes(parent: otio.core.Composition, index: int, rate: float) -> list[str]:
    # A transition needs media beyond the clip's cut: in_offset before an incoming clip,
    # out_offset after an outgoing one. Units extend nothing; they say so.
    notes: list[str] = []
    if index > 0 and isinstance(parent[index - 1], otio.schema.Transition):
        tr = parent[index - 1]
        total = _nearest(_frames(tr.in_offset, rate) + _frames(tr.out_offset, rate))
        notes.append(f"transition in: {total} frames "
                     f"(needs {_nearest(_frames(tr.in_offset, rate))} frames of handle before)")
    if index + 1 < len(parent) and isinstance(parent[index + 1], otio.schema.Transition):
        tr = parent[index + 1]
        total = _nearest(_frames(tr.in_offset, rate) + _frames(tr.out_offset, rate))
        notes.append(f"transition out: {total} frames "
                     f"(needs {_nearest(_frames(tr.out_offset, rate))} frames of handle after)")
    return notes


def _walk(comp: otio.core.Composition, kind: str, shift: RationalTime,
          window: Optional[TimeRange], path: tuple[int, ...], out: list[tuple]) -> None:
    """Collect (clip, parent, index, path, visible range, shift) under ``comp``.

    ``shift`` maps a time in ``comp``'s own coordinates to top-level track time; ``window``
    is the part of ``comp`` that is visible (trimmed by enclosing source_ranges).
    """
    for i, child in enumerate(comp):
        if isinstance(child, (otio.schema.Gap, otio.schema.Transition)):
            continue
        if not getattr(child, "enabled", True):
            continue
        if isinstance(child, otio.schema.Track) and child.kind != kind:
            continue
        try:
            rng = comp.range_of_child_at_index(i)
        except Exception as exc:
            raise MediaDecodeError(f"item {child.name!r} has no duration: {exc}") from exc
        visible = _intersect(rng, window)
        if visible is None:
            continue
        if isinstance(child, otio.schema.Clip):
            out.append((child, comp, i, path + (i,), rng, visible, shift))
        elif isinstance(child, otio.core.Composition):
            inner = child.trimmed_range()
            to_parent = rng.start_time - inner.start_time  # child time -> comp time
            child_window = TimeRange(visible.start_time - to_parent, visible.duration)
            _walk(child, kind, shift + to_parent, child_window, path + (i,), out)


def work_units(timeline: Union[otio.schema.Timeline, str, os.PathLike[str]], *,
               base_dir: Optional[str] = None, check_files: bool = True,
               tracks: str = "video") -> list[WorkUnit]:
    """List the clips of ``timeline`` as :class:`WorkUnit` objects, bottom track first.

    ``timeline`` may be a path (read with :func:`read_timeline`; ``base_dir`` then defaults
    to its folder). ``tracks`` is ``"video"``, ``"audio"`` or ``"all"``. Gaps, transitions
    and disabled items are skipped; clips inside nested stacks are found and placed at their
    time on the top-level track. Missing media gives ``media_kind="missing"`` and a problem
    string, never an exception.
    """
    if not isinstance(timeline, otio.schema.Timeline):
        file_path = os.path.abspath(os.fspath(timeline))
        timeline = read_timeline(file_path)
        if base_dir is None:
            base_dir = os.path.dirname(file_path)
    if tracks not in ("video", "audio", "all"):
        raise InvalidParamsError(f"tracks must be 'video', 'audio' or 'all', not {tracks!r}")
    kinds = [otio.schema.TrackKind.Video, otio.schema.TrackKind.Audio]
    if tracks != "all":
        kinds = [otio.schema.TrackKind.Video if tracks == "video" else otio.schema.TrackKind.Audio]

    root = timeline.tracks
    root_range = root.source_range  # a trimmed root stack shifts every record time
    root_shift = RationalTime(0, 1) - root_range.start_time if root_range else RationalTime(0, 1)
    timeline_gst = timeline.global_start_time
    units: list[WorkUnit] = []
    counters = {k: 0 for k in kinds}
    for ti, track in enumerate(root):
        if not isinstance(track, otio.schema.Track) or track.kind not in kinds:
            continue
        track_index = counters[track.kind]
        counters[track.kind] += 1
        if not track.enabled:
            continue
        found: list[tuple] = []
        rng = root.range_of_child_at_index(ti)
        visible = _intersect(rng, root_range)
        if visible is None:
            continue
        gst = timeline_gst
        inner_start = track.trimmed_range().start_time
        record_tc = _record_timecode_start(track)
        if record_tc is not None:
            # The CMX reader's way of saying "this list starts at record 01:00:00:00": a
            # track range starting at minus that time. Its items start at 0 on the track.
            inner_start = RationalTime(0, record_tc.rate)
            gst = record_tc if gst is None else gst
        to_root = rng.start_time - inner_start
        _walk(track, track.kind, root_shift + to_root,
              TimeRange(visible.start_time - to_root, visible.duration), (), found)
        for clip, parent, index, path, rng_c, vis, shift in found:
            units.append(_make_unit(clip, parent, index, path, rng_c, vis, shift, track,
                                    track_index, gst, base_dir, check_files))
    return units


def _record_timecode_start(track: otio.schema.Track) -> Optional[RationalTime]:
    """The record timecode a track starts at when its source_range starts below zero.

    The CMX 3600 reader stores an EDL's first record timecode as a track ``source_range``
    starting at minus that time. Read as OTIO defines it, that range lies before every item
    and would hide them all; read as meant, it places the track at that timecode.
    """
    sr = track.source_range
    if sr is None or sr.start_time.value >= 0:
        return None
    return RationalTime(0, sr.start_time.rate) - sr.start_time


def _make_unit(clip: otio.schema.Clip, parent: otio.core.Composition, index: int,
               path: tuple[int, ...], rng: TimeRange, visible: TimeRange, shift: RationalTime,
               track: otio.schema.Track, track_index: int, gst: Optional[RationalTime],
               base_dir: Optional[str], check_files: bool) -> WorkUnit:
    trimmed = clip.trimmed_range()
    if visible.start_time == rng.start_time and visible.duration == rng.duration:
        source = trimmed  # keep the OTIO's own values and rates untouched
    else:  # an enclosing stack/track trims this clip
        source = TimeRange(trimmed.start_time + (visible.start_time - rng.start_time),
                           visible.duration)
    media = _describe_media(clip, source.duration.rate, base_dir)
    rate = media.rate
    start = source.start_time
    media_start = media.start if media.start is not None else RationalTime(0, rate)
    problems = list(media.problems)
    scalar, effect_notes = _time_scalar(clip)
    problems.extend(effect_notes)
    shown: tuple[int, ...] = ()
    if media.kind == "still" or scalar != 1.0:
        shown, rate = _mapped_frames(media, scalar, trimmed.start_time, media_start,
                                     visible.start_time - rng.start_time, visible.duration)
        first = shown[0] if shown else media.base
        count = len(shown)
        first_off = min(shown, default=media.base) - media.base
        end_off = max(shown, default=media.base - 1) - media.base + 1
        first_time = RationalTime(
            _nearest(_frames(media_start, rate)) + first - media.base, rate)
    else:
        offset = _frames(start - media_start, rate)
        first_off = _nearest(offset)
        end_off = _nearest(offset + _frames(source.duration, rate))
        first = media.base + first_off
        count = end_off - first_off
        first_time = RationalTime(_nearest(_frames(media_start, rate)) + first_off, rate)

    if media.kind in ("video", "image_sequence"):
        if first_off < 0:
            problems.append(f"clip starts {-first_off} frames before the media")
        if media.length is not None and end_off > media.length:
            problems.append(f"clip runs {end_off - media.length} frames past the end of the media")
    if count <= 0:
        problems.append("clip is shorter than one media frame")
    if check_files:
        before = len(media.problems)
        _check_exists(media, first)
        problems.extend(media.problems[before:])
    problems.extend(_transition_notes(parent, index, rate))

    record_start = visible.start_time + shift
    return WorkUnit(
        clip_name=clip.name, track_name=track.name, track_index=track_index,
        clip_index=index, media_path=media.path, media_kind=media.kind, rate=rate,
        first_frame=first, frame_count=max(0, count), record_start=record_start,
        record_duration=visible.duration, source_range=source, problems=tuple(problems),
        record_start_global=(gst + record_start) if gst is not None else None,
        first_frame_time=first_time, frame_step=media.step, item_path=path, frames=shown,
    )


def _time_scalar(clip: otio.schema.Clip) -> tuple[float, list[str]]:
    """How fast the clip plays its media (0 for a freeze frame, 1 without time effects), and
    a note for each effect the mapping does not honour."""
    scalar = 1.0
    notes = []
    for effect in clip.effects:
        if isinstance(effect, otio.schema.FreezeFrame):
            scalar = 0.0
        elif isinstance(effect, otio.schema.LinearTimeWarp):
            scalar *= float(effect.time_scalar)
        else:
            name = effect.effect_name or effect.name or type(effect).__name__
            notes.append(f"effect {name!r} is not honoured: frames are read as if it were absent")
    return scalar, notes


def _mapped_frames(media: _Media, scalar: float, source_in: RationalTime,
                   media_start: RationalTime, skip: RationalTime, duration: RationalTime
                   ) -> tuple[tuple[int, ...], float]:
    """The media frame each record frame shows, for a still or a retimed clip, and the rate
    those record frames run at.

    Record frame ``j`` of the clip (counted from its unskipped start, at the record rate)
    shows the media frame whose span holds source time ``source_in + j * scalar`` frames; a
    still shows its one picture. ``skip`` is the part of the clip an enclosing stack hides.
    """
    record_rate = duration.rate
    j0 = _nearest(_frames(skip, record_rate))
    n = _nearest(_frames(duration, record_rate))
    if media.kind == "still":
        return (media.base,) * max(0, n), record_rate
    start = _frames(source_in - media_start, media.rate)
    per_record_frame = scalar * media.rate / record_rate
    # A hair of tolerance: 1.98333 * 30 must be frame 59, not 58.99999.
    shown = tuple(media.base + int(math.floor(start + (j0 + j) * per_record_frame + 1e-6))
                  for j in range(max(0, n)))
    return shown, record_rate


# --- a timeline for a plain movie or sequence --------------------------------------------------

def parse_rate(value: Any) -> float:
    """A frame rate from a float, an int or a ``"num/den"`` string; 23.976 -> 24000/1001."""
    try:
        if isinstance(value, str) and "/" in value:
            num, den = value.split("/", 1)
            rate = float(num) / float(den)
        else:
            rate = float(value)
    except (TypeError, ValueError, ZeroDivisionError):
        raise InvalidParamsError(f"frame rate {value!r} is not a number or 'num/den'") from None
    if not rate > 0 or math.isinf(rate):
        raise InvalidParamsError(f"frame rate must be positive, not {value!r}")
    for ntsc in _NTSC_RATES:
        if abs(rate - ntsc) < 0.005:
            return ntsc
    return rate


_PATTERN = re.compile(r"^(?P<prefix>.*?)(?P<digits>%0?(?P<pad>\d*)d|#+|@+)(?P<suffix>[^%#@]*)$")


def _split_pattern(path: str) -> tuple[str, str, str, int]:
    """Split ``/x/shot.%04d.exr`` (or ``####``) into folder, prefix, suffix and padding."""
    folder, name = os.path.split(path)
    m = _PATTERN.match(name)
    if m is None:
        raise InvalidParamsError(f"image sequence path has no frame number pattern "
                                 f"(%04d or ####): {path}")
    digits = m.group("digits")
    pad = int(m.group("pad") or 0) if digits.startswith("%") else len(digits)
    return folder, m.group("prefix"), m.group("suffix"), pad


def _scan_sequence(folder: str, prefix: str, suffix: str) -> list[int]:
    pat = re.compile(re.escape(prefix) + r"(-?\d+)" + re.escape(suffix) + "$")
    try:
        names = os.listdir(folder)
    except OSError:
        return []
    return sorted(int(m.group(1)) for m in map(pat.match, names) if m)


def timeline_from_media(path: Union[str, os.PathLike[str]], info: Optional[dict[str, Any]]
                        ) -> otio.schema.Timeline:
    """A one-clip timeline for a plain movie or image sequence.

    ``info`` holds ``frame_rate`` (float or "num/den"), ``frame_count``, ``start_frame``,
    optional ``start_timecode`` ("HH:MM:SS:FF"), ``width``, ``height`` and ``kind``
    ("video" or "image_sequence"; a path with %04d or #### is a sequence). For a sequence
    without ``info`` the folder is scanned and 24 fps assumed.
    """
    p = os.path.abspath(os.fspath(path))
    info = dict(info or {})
    name = os.path.basename(p)
    is_seq = info.get("kind") == "image_sequence" or (
        "kind" not in info and _PATTERN.match(name) is not None)
    if "frame_rate" not in info and not is_seq:
        raise InvalidParamsError("timeline_from_media needs info with frame_rate and "
                                 "frame_count for a movie file", path=p)
    rate = parse_rate(info.get("frame_rate", 24.0))
    start_frame = info.get("start_frame")
    count = info.get("frame_count")
    meta: dict[str, Any] = {k: info[k] for k in ("width", "height", "kind") if k in info}

    if is_seq:
        folder, prefix, suffix, pad = _split_pattern(p)
        if start_frame is None or count is None:
            frames = _scan_sequence(folder, prefix, suffix)
            if not frames:
                raise MediaNotFoundError("no frames of the image sequence found", path=p)
            start_frame = frames[0] if start_frame is None else start_frame
            count = (frames[-1] - start_frame + 1) if count is None else count
        if "frame_rate" not in info:
            meta["rate_assumed"] = True
        name = prefix.rstrip("._- ") or name
    if count is None or int(count) <= 0:
        raise InvalidParamsError(f"frame_count must be a positive integer, not {count!r}",
                                 path=p)
    start_frame = int(start_frame or 0)
    tc = info.get("start_timecode")
    try:
        start = RationalTime.from_timecode(tc, rate) if tc else RationalTime(start_frame, rate)
    except ValueError as exc:
        raise InvalidParamsError(f"bad start_timecode {tc!r} at {rate:.3f} fps: {exc}", path=p) from exc
    avail = TimeRange(start, RationalTime(int(count), rate))

    if is_seq:
        ref = otio.schema.ImageSequenceReference(
            target_url_base=folder.rstrip("/\\") + "/", name_prefix=prefix, name_suffix=suffix,
            start_frame=start_frame, frame_step=1, rate=rate, frame_zero_padding=pad,
            available_range=avail)
    else:
        ref = otio.schema.ExternalReference(target_url=p, available_range=avail)
    ref.name = os.path.basename(p)
    if meta:
        ref.metadata["moviola"] = meta
    clip = otio.schema.Clip(name=name, media_reference=ref, source_range=avail)
    track = otio.schema.Track(name="V1", kind=otio.schema.TrackKind.Video)
    track.append(clip)
    return otio.schema.Timeline(name=name, tracks=[track])
