"""Real timeline files, as editors' tools wrote them, read clip by clip and run through a job.

Every file in ``shared/data/timelines`` is read and each video clip compared with OTIO's own
numbers (record time, source range). Then the files are relinked, in memory, to stand-in
movies at the timecodes and rates they name, whose every frame draws its own index
(:func:`synthetic.frame_pattern`), and run through ``proxy``: every frame written must be the
media frame the host shows at that record time, counted from the movie's own start timecode,
through dissolves, freeze frames, speed changes, stills and nested stacks.
"""

from __future__ import annotations

import argparse
import math
from fractions import Fraction
from pathlib import Path

import numpy as np
import opentimelineio as otio
import pytest
from opentimelineio.opentime import RationalTime, TimeRange

from moviola.cli.jobs_cmd import rate_arg
from moviola.engine.inputs import edl_rate_from_media, resolve_input
from moviola.engine.media.sequence import read_image
from moviola.plugin.errors import InvalidParamsError, MediaDecodeError
from moviola.plugin.timeline import read_timeline, url_to_path, work_units
from shared_data import MISSING_REASON, SHARED_DATA
from synthetic import frame_pattern, read_frame_index, write_video

TIMELINES = SHARED_DATA / "timelines"
pytestmark = pytest.mark.skipif(not TIMELINES.is_dir(), reason=MISSING_REASON)

# The one file whose rate the list cannot say and its timecodes show (frame 24 exists).
RATES = {"25fps.edl": 25}
NOT_TIMELINES = {"premiere_example_filter.xml"}   # a Premiere effect preset, not a sequence


def _files() -> list[Path]:
    if not TIMELINES.is_dir():
        return []
    return sorted(p for p in TIMELINES.glob("*/*") if p.suffix in (".edl", ".xml", ".otio"))


def _read(path: Path) -> otio.schema.Timeline:
    return read_timeline(path, rate=RATES.get(path.name))


def _video_clips(timeline: otio.schema.Timeline) -> list[tuple[otio.schema.Track, otio.schema.Clip]]:
    """Every enabled video clip, nested ones included, in track then time order."""
    found = []
    for track in timeline.video_tracks():
        if track.enabled:
            found.extend((track, c) for c in track.find_clips() if c.enabled)
    return found


def _record_offset(track: otio.schema.Track) -> RationalTime:
    """Track time 0 in record time: the EDL reader's negative track start, else zero."""
    sr = track.source_range
    if sr is not None and sr.start_time.value < 0:
        return RationalTime(0, sr.start_time.rate) - sr.start_time
    return RationalTime(0, 24)


# --- every file, clip by clip --------------------------------------------------------------

@pytest.mark.parametrize("path", [p for p in _files() if p.name not in NOT_TIMELINES],
                         ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_clip_matches_otio_own_numbers(path: Path) -> None:
    timeline = _read(path)
    units = work_units(timeline, check_files=False)
    clips = _video_clips(timeline)
    assert len(units) == len(clips), [u.clip_name for u in units]
    by_clip = {}
    for track, clip in clips:
        # OTIO's own place of the clip on its top-level track, through any nesting.
        record = clip.transformed_time_range(clip.trimmed_range(), track)
        by_clip.setdefault(clip.name, []).append((track, clip, record))
    for unit in units:
        candidates = by_clip[unit.clip_name]
        matches = [(t, c, r) for t, c, r in candidates
                   if r.start_time <= unit.record_start < r.end_time_exclusive()
                   or r.duration.value == 0]
        assert matches, (unit.clip_name, unit.record_start)
        track, clip, record = matches[0]
        # Where a nested stack hides part of the clip, the unit is the part shown.
        assert record.start_time <= unit.record_start
        assert unit.record_range.end_time_exclusive() <= record.end_time_exclusive()
        skipped = unit.record_start - record.start_time
        assert unit.source_range.start_time == clip.trimmed_range().start_time + skipped
        assert unit.record_duration == unit.source_range.duration
        offset = _record_offset(track)
        if offset.value:
            assert unit.record_start_global == offset + unit.record_start
        elif timeline.global_start_time is not None:
            assert unit.record_start_global == timeline.global_start_time + unit.record_start


def _edl_record_ins(path: Path, rate: float) -> list[RationalTime]:
    """Record-in timecodes of the video events, straight from the list's text."""
    ins = []
    for line in path.read_text().splitlines():
        fields = line.split()
        if fields and fields[0].isdigit() and len(fields) >= 8 and "V" in fields[2]:
            ins.append(otio.opentime.from_timecode(fields[-2], rate))
    return ins


@pytest.mark.parametrize("name", ["premiere_example.edl", "cdl.edl", "gap_test.edl",
                                  "speed_effects_small.edl", "25fps.edl"])
def test_edl_clips_sit_at_their_record_timecode(name: str) -> None:
    path = TIMELINES / "edl" / name
    rate = RATES.get(name, 24)
    units = work_units(_read(path), check_files=False)
    expected = _edl_record_ins(path, rate)
    got = [u.record_start_global or u.record_start for u in units]
    if name == "cdl.edl":   # the list starts at 00:00:00:00
        got = [u.record_start for u in units]
    assert [t.to_frames() for t in got] == [t.to_frames() for t in expected]


def test_no_video_clip_is_lost_from_real_edls() -> None:
    for path in sorted((TIMELINES / "edl").glob("*.edl")):
        units = work_units(_read(path), check_files=False)
        if path.name == "multi_audio.edl":
            assert units == []   # audio events only
        else:
            assert units, path.name


def test_speed_effects_map_every_record_frame() -> None:
    units = {u.clip_name: u for u in work_units(_read(TIMELINES / "edl" / "speed_effects_small.edl"),
                                                check_files=False)}
    freeze = units["Z682_156 (LAY3)"]
    assert freeze.retimed and freeze.frame_count == 17
    assert set(freeze.shown_frames()) == {freeze.source_range.start_time.to_frames()}
    warp = units["Z686_5A (LAY2) (47.56 FPS)"]
    start = warp.source_range.start_time.to_frames()
    assert warp.frame_count == 36
    assert warp.shown_frames() == [start + math.floor(j * 47.6 / 24 + 1e-6) for j in range(36)]
    assert warp.media_span == (start, start + 69)   # about 71 source frames, not 36


def test_effects_not_honoured_are_reported_per_clip() -> None:
    units = work_units(_read(TIMELINES / "fcp7" / "premiere_generators.xml"), check_files=False)
    noted = [u.clip_name for u in units if any("not honoured" in p for p in u.problems)]
    assert noted == ["Graphic"]


def test_a_25_fps_edl_needs_its_rate_and_the_error_says_where() -> None:
    path = TIMELINES / "edl" / "25fps.edl"
    with pytest.raises(MediaDecodeError) as caught:
        read_timeline(path)
    message = str(caught.value)
    assert "25fps.edl line 13" in message and "01:00:01:24" in message and "rate" in message
    assert caught.value.detail["line"] == 13
    assert len(work_units(read_timeline(path, rate=25), check_files=False)) == 4


def test_a_garbage_edl_line_is_named_with_its_number(tmp_path: Path) -> None:
    bad = tmp_path / "bad.edl"
    bad.write_text("TITLE: x\n\n001  AX V C 01:00:00:00 01:00:01:00 01:00:00:00 01:00:01:00\n"
                   "002  AX V C 01:00:00:00 01:0X:01:00\n")
    with pytest.raises(MediaDecodeError) as caught:
        read_timeline(bad)
    assert "bad.edl line 4" in str(caught.value) and "source in" in str(caught.value)


def test_an_xml_that_is_not_fcp7_says_what_it_is() -> None:
    with pytest.raises(MediaDecodeError) as caught:
        read_timeline(TIMELINES / "fcp7" / "premiere_example_filter.xml")
    assert "not an FCP7 XML" in str(caught.value) and "<filter>" in str(caught.value)
    assert "No top-level sequences" not in str(caught.value)


# --- stand-in media and a job --------------------------------------------------------------

def _timecode(frames: int, rate: float) -> str:
    return otio.opentime.to_timecode(RationalTime(frames, rate), rate)


def _standin_key(clip: otio.schema.Clip) -> str:
    """Clips share a stand-in when they share a file; clips without one go by their name."""
    ref = clip.media_reference
    if isinstance(ref, otio.schema.ExternalReference) and ref.available_range is not None:
        return ref.target_url
    return clip.name


def _relink(timeline: otio.schema.Timeline, folder: Path) -> dict[str, int]:
    """Point every video clip at a stand-in movie covering what the clip reads; return each
    movie's first frame in source time (frames at its rate), by path."""
    needs: dict[str, list[tuple[int, int, float]]] = {}
    clips = [c for _, c in _video_clips(timeline)
             if not isinstance(c.media_reference, otio.schema.GeneratorReference)]
    for clip in clips:
        ref = clip.media_reference
        if isinstance(ref, otio.schema.ExternalReference) and ref.available_range is not None:
            avail = ref.available_range   # the file's own range: the stand-in has exactly it
            rate = avail.duration.rate
            lo = round(avail.start_time.value_rescaled_to(rate))
            hi = lo + round(avail.duration.value_rescaled_to(rate))
        else:   # an EDL's event: cover the source range, retimed or not, with a margin
            src = clip.trimmed_range()
            rate = src.duration.rate
            speed = max([1.0] + [e.time_scalar for e in clip.effects
                                 if isinstance(e, otio.schema.LinearTimeWarp)])
            lo = round(src.start_time.value_rescaled_to(rate)) - 3
            hi = lo + 6 + math.ceil(src.duration.value_rescaled_to(rate) * speed)
        needs.setdefault(_standin_key(clip), []).append((lo, hi, rate))
    starts = {}
    movies = {}
    for i, (key, spans) in enumerate(sorted(needs.items())):
        lo, hi, rate = min(s[0] for s in spans), max(s[1] for s in spans), spans[0][2]
        movie = folder / f"standin_{i:02d}.mov"
        write_video(movie, hi - lo, rate=Fraction(rate).limit_denominator(1001), codec="mpeg4",
                    size=(96, 64), timecode=_timecode(lo, rate), gop=6, bframes=0)
        starts[str(movie)] = lo
        movies[key] = movie
    for clip in clips:
        movie = movies[_standin_key(clip)]
        old = clip.media_reference
        avail = old.available_range if isinstance(old, otio.schema.ExternalReference) else None
        clip.media_reference = otio.schema.ExternalReference(target_url=str(movie),
                                                             available_range=avail)
    return starts


def _expected_frames(clip: otio.schema.Clip, unit, movie_start: int) -> list[int]:
    """The movie frame the host shows at each record frame of ``unit``, from the clip's own
    numbers: source in + j x speed, counted from the movie's start timecode."""
    speed = 1.0
    for effect in clip.effects:
        if isinstance(effect, otio.schema.FreezeFrame):
            speed = 0.0
        elif isinstance(effect, otio.schema.LinearTimeWarp):
            speed *= effect.time_scalar
    ref = clip.media_reference
    rate = ref.available_range.duration.rate
    record_rate = unit.record_duration.rate
    first = clip.trimmed_range().start_time.value_rescaled_to(rate) - movie_start
    skipped = (unit.source_range.start_time - clip.trimmed_range().start_time).value_rescaled_to(record_rate)
    count = round(unit.record_duration.value_rescaled_to(record_rate)) if speed != 1.0 \
        else round(unit.source_range.duration.value_rescaled_to(rate))
    step = speed * rate / record_rate if speed != 1.0 else 1.0
    base = skipped * (rate / record_rate) if speed == 1.0 else skipped * step
    return [math.floor(first + base + j * step + 1e-6) for j in range(count)]


JOB_FILES = ["edl/premiere_example.edl", "edl/dissolve_test.edl", "edl/dissolve_test_2.edl",
             "edl/speed_effects_small.edl", "edl/25fps.edl", "edl/gap_test.edl",
             "edl/transition_duration.edl", "edl/cdl.edl", "fcp7/premiere_example.xml",
             "otio/simple_cut.otio", "otio/transition.otio", "otio/nested_example.otio"]


@pytest.mark.parametrize("name", JOB_FILES)
def test_proxy_writes_the_frame_the_host_shows(client, tmp_path: Path, name: str) -> None:
    source = TIMELINES / name
    timeline = _read(source)
    starts = _relink(timeline, tmp_path)
    relinked = tmp_path / f"{source.stem}.otio"
    otio.adapters.write_to_file(timeline, str(relinked))

    result = client.submit("proxy", {"input": str(relinked), "out": str(tmp_path / "out"),
                                     "format": "png", "max_width": 0}).wait()
    with resolve_input(str(relinked)) as resolved:
        units, timeline_read = resolved.units, resolved.timeline
    playable = sorted((u for u in units if u.media_kind == "video"),
                      key=lambda u: (u.track_name, u.record_start.to_seconds()))
    written = sorted(result["clips"], key=lambda o: (o["track"], o["record_start"] / o["record_rate"]))
    assert len(written) == len(playable) > 0
    on_result_track = _result_track_frames(result["otio"])
    for unit, out in zip(playable, written):
        assert out["clip"] == unit.clip_name
        clip = _find_clip(timeline_read, unit)
        expected = _expected_frames(clip, unit, starts[unit.media_path])
        got = [read_frame_index(read_image(f)) for f in out["files"]]
        assert got == expected, (unit.clip_name, out["pattern"])
        # And the result timeline shows them at the clip's record frames, as a host plays it.
        rate = unit.record_duration.rate
        first = round(unit.record_start.value_rescaled_to(rate))
        count = round(unit.record_duration.value_rescaled_to(rate))
        if unit.retimed or unit.rate == rate:
            assert [on_result_track.get(first + j) for j in range(count)] == expected, unit.clip_name


def _find_clip(timeline: otio.schema.Timeline, unit) -> otio.schema.Clip:
    item = timeline.video_tracks()[unit.track_index]
    for index in unit.item_path:
        item = item[index]
    return item


def test_stills_are_held_whatever_their_names(client, tmp_path: Path) -> None:
    """A title card without digits and a board whose name ends in 0000 each show one picture
    for the clip's whole length; a movie between them plays on."""
    from synthetic import write_sequence

    write_sequence(tmp_path, "title", "png", [frame_pattern(700, 96, 64)], start=0, padding=0)
    (tmp_path / "title.0.png").rename(tmp_path / "A_title.png")
    write_sequence(tmp_path, "board", "png", [frame_pattern(900 + i, 96, 64) for i in range(3)],
                   start=0, padding=4)
    (tmp_path / "board.0000.png").rename(tmp_path / "board_0000.png")
    movie = write_video(tmp_path / "plate.mov", 30, rate=Fraction(24), codec="mpeg4",
                        size=(96, 64), timecode="01:00:00:00", gop=6, bframes=0)
    track = otio.schema.Track(name="V1")
    for name, path, length in (("title", tmp_path / "A_title.png", 4),
                               ("board", tmp_path / "board_0000.png", 5)):
        track.append(otio.schema.Clip(
            name=name, media_reference=otio.schema.ExternalReference(
                target_url=path.as_uri(),
                available_range=TimeRange(RationalTime(3, 24), RationalTime(13, 24))),
            source_range=TimeRange(RationalTime(0, 24), RationalTime(length, 24))))
    track.append(otio.schema.Clip(
        name="plate", media_reference=otio.schema.ExternalReference(target_url=str(movie)),
        source_range=TimeRange(RationalTime(86400 + 10, 24), RationalTime(6, 24))))
    edit = tmp_path / "stills.otio"
    otio.adapters.write_to_file(otio.schema.Timeline(tracks=[track]), str(edit))

    units = work_units(str(edit))
    assert [u.media_kind for u in units] == ["still", "still", "video"]
    assert all(u.problems == () for u in units)
    result = client.submit("proxy", {"input": str(edit), "out": str(tmp_path / "out"),
                                     "format": "png", "max_width": 0}).wait()
    got = {c["clip"]: [read_frame_index(read_image(f)) for f in c["files"]] for c in result["clips"]}
    assert got == {"title": [700] * 4, "board": [900] * 5, "plate": list(range(10, 16))}


def test_an_edl_rate_is_guessed_from_the_movie_it_names(tmp_path: Path) -> None:
    movie = write_video(tmp_path / "shot.mov", 40, rate=Fraction(25), codec="mpeg4",
                        size=(96, 64), timecode="01:00:00:00", gop=6, bframes=0)
    edl = tmp_path / "cut.edl"
    edl.write_text("TITLE: cut\nFCM: NON-DROP FRAME\n\n"
                   "001  AX       V     C        01:00:00:24 01:00:01:10 01:00:00:00 01:00:00:11\n"
                   f"* FROM CLIP NAME:  shot\n* FROM FILE: {movie}\n")
    assert edl_rate_from_media(str(edl)) == 25.0
    with resolve_input(str(edl)) as resolved:
        (unit,) = resolved.units
    assert unit.rate == 25.0 and unit.first_frame == 24 and unit.frame_count == 11
    assert unit.record_start_global == RationalTime(90000, 25)
    assert np.array_equal(unit.shown_frames(), list(range(24, 35)))


def _result_track_frames(result_otio: str) -> dict[int, int]:
    """What the result track shows: record frame (global, at the track's rate) -> the index
    drawn in the file OTIO names for it."""
    timeline = otio.adapters.read_from_file(result_otio)
    track = next(t for t in timeline.video_tracks() if t.name == "Moviola proxy")
    shown = {}
    for i, item in enumerate(track):
        if not isinstance(item, otio.schema.Clip):
            continue
        place = track.range_of_child_at_index(i)
        ref = item.media_reference
        rate = place.duration.rate
        for j in range(round(place.duration.value)):
            source = item.trimmed_range().start_time + RationalTime(j, rate)
            number = ref.frame_for_time(source)
            path, _ = url_to_path(ref.target_url_for_image_number(number - ref.start_frame))
            shown[round(place.start_time.value) + j] = read_frame_index(read_image(path))
    return shown


def test_jobs_take_an_edl_rate(client) -> None:
    edl = TIMELINES / "edl" / "25fps.edl"
    result = client.submit("probe", {"input": str(edl), "rate": 25}).wait()
    assert result["timeline"]["clips"] == 4
    with pytest.raises(MediaDecodeError, match="line 13"):
        client.submit("probe", {"input": str(edl)}).wait()
    with pytest.raises(InvalidParamsError, match="positive"):
        client.submit("probe", {"input": str(edl), "rate": -25})


def test_cli_rate_option() -> None:
    assert rate_arg("25") == 25.0 and rate_arg("23.976") == 24000 / 1001
    assert rate_arg("30000/1001") == 30000 / 1001
    with pytest.raises(argparse.ArgumentTypeError):
        rate_arg("fast")


def test_shots_names_retimed_clips_instead_of_misplacing_cuts(client, tmp_path: Path) -> None:
    timeline = _read(TIMELINES / "edl" / "speed_effects_small.edl")
    _relink(timeline, tmp_path)
    relinked = tmp_path / "speed.otio"
    otio.adapters.write_to_file(timeline, str(relinked))
    result = client.submit("shots", {"input": str(relinked), "cache": False,
                                     "backend": "classical"}).wait()
    retimed = [p for p in result["problems"] if "retimed clip" in p]
    assert len(retimed) == 2 and any("Z686_5A" in p for p in retimed)
