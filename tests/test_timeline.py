"""Reading timelines and turning clips into work units (moviola.plugin.timeline)."""

from __future__ import annotations

import dataclasses
import math
import os
from fractions import Fraction

import opentimelineio as otio
import pytest

from moviola.plugin.errors import InvalidParamsError, MediaDecodeError, MediaNotFoundError
from moviola.plugin.timeline import (
    WorkUnit,
    parse_rate,
    read_timeline,
    timeline_from_media,
    url_to_path,
    work_units,
)

RT = otio.opentime.RationalTime
TR = otio.opentime.TimeRange
NTSC = 24000 / 1001
HOUR = 86400  # 01:00:00:00 in frames at 24 / 23.976 (non-drop)


def touch(path):
    os.makedirs(os.path.dirname(str(path)), exist_ok=True)
    open(str(path), "wb").close()
    return str(path)


def movie_clip(name, url, src_start, src_dur, rate=24.0, avail=None):
    ref = otio.schema.ExternalReference(target_url=url, available_range=avail)
    return otio.schema.Clip(name=name, media_reference=ref,
                            source_range=TR(RT(src_start, rate), RT(src_dur, rate)))


def one_track(*items, kind=otio.schema.TrackKind.Video, name="V1"):
    track = otio.schema.Track(name=name, kind=kind)
    for item in items:
        track.append(item)
    return track


def timeline_of(*tracks, **kw):
    return otio.schema.Timeline(name="t", tracks=list(tracks), **kw)


def half_up(x):
    return int(math.floor(x + Fraction(1, 2)))


# --- frame math ----------------------------------------------------------------------------

def test_timecode_start_at_23976(tmp_path):
    path = touch(tmp_path / "a.mov")
    avail = TR(RT.from_timecode("01:00:00:00", NTSC), RT(1000, NTSC))
    clip = movie_clip("A", path, HOUR + 48, 24, rate=NTSC, avail=avail)
    (u,) = work_units(timeline_of(one_track(clip)))
    assert u.media_kind == "video" and u.problems == ()
    assert u.media_path == path
    assert (u.first_frame, u.frame_count, u.last_frame) == (48, 24, 71)
    assert u.rate == pytest.approx(NTSC)
    assert u.first_frame_time == RT(HOUR + 48, NTSC)
    assert u.record_start == RT(0, NTSC) and u.record_duration == RT(24, NTSC)
    assert u.source_range == clip.source_range


def test_source_range_at_another_rate(tmp_path):
    path = touch(tmp_path / "a.mov")
    avail = TR(RT(HOUR, NTSC), RT(1000, NTSC))
    # 48 kHz ticks: exactly 100 frames into the media, 24 frames long.
    clip = movie_clip("A", path, (HOUR + 100) * 2002, 24 * 2002, rate=48000, avail=avail)
    # 24 fps record-style numbers that do not land on a 23.976 frame.
    clip2 = movie_clip("B", path, 86500, 10, rate=24, avail=avail)
    u, u2 = work_units(timeline_of(one_track(clip, clip2)))
    assert (u.first_frame, u.frame_count) == (100, 24)
    assert u.rate == pytest.approx(NTSC)
    exact = Fraction(86500, 24) * Fraction(24000, 1001) - HOUR
    assert u2.first_frame == half_up(exact) == 14
    assert u2.frame_count == half_up(exact + Fraction(10, 24) * Fraction(24000, 1001)) - 14


def test_image_sequence_start_frame_1001(tmp_path):
    ref = otio.schema.ImageSequenceReference(
        target_url_base=str(tmp_path / "plates") + "/", name_prefix="shot.", name_suffix=".exr",
        start_frame=1001, frame_step=1, rate=24, frame_zero_padding=4,
        available_range=TR(RT(0, 24), RT(100, 24)))
    clip = otio.schema.Clip(name="S", media_reference=ref, source_range=TR(RT(10, 24), RT(20, 24)))
    tl = timeline_of(one_track(clip))
    (u,) = work_units(tl)
    assert u.media_kind == "missing"  # no frame files yet
    assert any("media missing" in p for p in u.problems)
    touch(tmp_path / "plates" / "shot.1011.exr")
    (u,) = work_units(tl)
    assert u.media_kind == "image_sequence" and u.problems == ()
    assert u.media_path == str(tmp_path / "plates" / "shot.%04d.exr")
    assert (u.first_frame, u.frame_count) == (1011, 20)
    assert u.media_path % u.first_frame == str(tmp_path / "plates" / "shot.1011.exr")
    # Same answer as OTIO's own mapping.
    assert ref.frame_for_time(clip.source_range.start_time) == u.first_frame
    assert ref.frame_for_time(clip.source_range.end_time_inclusive()) == u.last_frame


def test_image_sequence_with_timecode_start():
    ref = otio.schema.ImageSequenceReference(
        target_url_base="/plates/", name_prefix="shot_", name_suffix=".dpx", start_frame=1001,
        rate=NTSC, frame_zero_padding=6, available_range=TR(RT(HOUR, NTSC), RT(200, NTSC)))
    clip = otio.schema.Clip(name="S", media_reference=ref,
                            source_range=TR(RT(HOUR + 5, NTSC), RT(30, NTSC)))
    (u,) = work_units(timeline_of(one_track(clip)), check_files=False)
    assert u.media_path == os.path.normpath("/plates/shot_%06d.dpx")
    assert u.first_frame == 1006 == ref.frame_for_time(clip.source_range.start_time)
    assert u.last_frame == ref.frame_for_time(clip.source_range.end_time_inclusive())


def test_clip_outside_media_is_a_problem_not_an_error():
    avail = TR(RT(0, 24), RT(50, 24))
    clip = movie_clip("A", "/m/a.mov", 40, 20, avail=avail)
    (u,) = work_units(timeline_of(one_track(clip)), check_files=False)
    assert any("past the end" in p for p in u.problems)


def test_without_available_range_media_starts_at_zero():
    clip = movie_clip("A", "/m/a.mov", 12, 6)
    (u,) = work_units(timeline_of(one_track(clip)), check_files=False)
    assert (u.first_frame, u.frame_count, u.rate) == (12, 6, 24.0)


# --- structure -----------------------------------------------------------------------------

def test_gaps_are_skipped_and_record_times_follow_them():
    a = movie_clip("A", "/m/a.mov", 0, 24)
    b = movie_clip("B", "/m/b.mov", 0, 12)
    track = one_track(otio.schema.Gap(duration=RT(10, 24)), a,
                      otio.schema.Gap(duration=RT(5, 24)), b)
    ua, ub = work_units(timeline_of(track), check_files=False)
    assert (ua.clip_name, ua.clip_index, ua.record_start) == ("A", 1, RT(10, 24))
    assert (ub.clip_name, ub.clip_index, ub.record_start) == ("B", 3, RT(39, 24))
    assert ub.record_range == b.range_in_parent()


def test_transition_is_noted_not_a_crash():
    a = movie_clip("A", "/m/a.mov", 10, 24)
    b = movie_clip("B", "/m/b.mov", 10, 24)
    tr = otio.schema.Transition(in_offset=RT(6, 24), out_offset=RT(6, 24))
    ua, ub = work_units(timeline_of(one_track(a, tr, b)), check_files=False)
    assert any(p.startswith("transition out: 12 frames") for p in ua.problems)
    assert any(p.startswith("transition in: 12 frames") for p in ub.problems)
    assert (ua.first_frame, ua.frame_count) == (10, 24)  # nothing extended
    assert ub.record_start == RT(24, 24) and ub.clip_index == 2


def test_nested_stack_offsets_and_trimming():
    n1 = movie_clip("N1", "/m/n1.mov", 100, 15)
    n2 = movie_clip("N2", "/m/n2.mov", 200, 15)
    audio = one_track(movie_clip("snd", "/m/s.wav", 0, 30), kind=otio.schema.TrackKind.Audio)
    nested = otio.schema.Stack(name="nest", source_range=TR(RT(10, 24), RT(20, 24)))
    nested.append(one_track(n1, n2, name="inner"))
    nested.append(audio)
    a = movie_clip("A", "/m/a.mov", 0, 24)
    c = movie_clip("C", "/m/c.mov", 0, 8)
    units = work_units(timeline_of(one_track(a, nested, c)), check_files=False)
    assert [u.clip_name for u in units] == ["A", "N1", "N2", "C"]
    _, u1, u2, uc = units
    # N1 spans stack time 0-15; the stack shows 10-30, so 5 frames of N1 remain.
    assert u1.record_start == RT(24, 24) and u1.record_duration == RT(5, 24)
    assert u1.source_range == TR(RT(110, 24), RT(5, 24))
    assert (u1.first_frame, u1.frame_count) == (110, 5)
    assert u1.item_path == (1, 0, 0) and u1.clip_index == 0 and u1.track_name == "V1"
    assert u2.record_start == RT(29, 24) and u2.record_duration == RT(15, 24)
    assert (u2.first_frame, u2.frame_count) == (200, 15)
    assert uc.record_start == RT(44, 24)


def test_missing_media_is_reported(tmp_path):
    missing_ref = otio.schema.Clip(name="M", media_reference=otio.schema.MissingReference(),
                                   source_range=TR(RT(0, 24), RT(10, 24)))
    absent = movie_clip("X", str(tmp_path / "nope.mov"), 0, 10)
    um, ux = work_units(timeline_of(one_track(missing_ref, absent)))
    assert um.media_kind == "missing" and um.media_path is None and um.problems
    assert ux.media_kind == "missing"
    assert ux.problems == ("media missing: " + str(tmp_path / "nope.mov"),)
    _, ux = work_units(timeline_of(one_track(missing_ref.deepcopy(), absent.deepcopy())),
                       check_files=False)
    assert ux.media_kind == "video"


def test_generator_reference():
    gen = otio.schema.Clip(name="bars", media_reference=otio.schema.GeneratorReference(
        generator_kind="SMPTEBars"), source_range=TR(RT(0, 24), RT(10, 24)))
    (u,) = work_units(timeline_of(one_track(gen)))
    assert u.media_kind == "generator" and u.media_path is None


def test_relative_target_url_resolves_against_timeline_folder(tmp_path):
    media = touch(tmp_path / "media" / "a.mov")
    tl = timeline_of(one_track(movie_clip("A", "media/a.mov", 0, 10)))
    (u,) = work_units(tl, base_dir=str(tmp_path))
    assert u.media_path == media and u.media_kind == "video"
    path = str(tmp_path / "edit.otio")
    otio.adapters.write_to_file(tl, path)
    (u,) = work_units(path)  # a path: base_dir defaults to its folder
    assert u.media_path == media


def test_file_url_with_escaped_space(tmp_path):
    media = touch(tmp_path / "my shot.mov")
    url = "file://" + str(tmp_path).replace(" ", "%20") + "/my%20shot.mov"
    (u,) = work_units(timeline_of(one_track(movie_clip("A", url, 0, 10))))
    assert u.media_path == media and u.media_kind == "video"


def test_url_to_path_variants():
    assert url_to_path("file://localhost/x/a%20b.mov") == (os.path.normpath("/x/a b.mov"), None)
    path, problem = url_to_path("https://example.com/a.mov")
    assert path == "https://example.com/a.mov" and "not a local file" in problem
    assert url_to_path("", None)[0] is None


def test_disabled_clip_and_audio_tracks_are_skipped():
    a = movie_clip("A", "/m/a.mov", 0, 10)
    off = movie_clip("OFF", "/m/off.mov", 0, 10)
    off.enabled = False
    b = movie_clip("B", "/m/b.mov", 0, 10)
    v2 = one_track(movie_clip("TOP", "/m/top.mov", 0, 10), name="V2")
    a1 = one_track(movie_clip("SND", "/m/s.wav", 0, 10), kind=otio.schema.TrackKind.Audio,
                   name="A1")
    tl = timeline_of(one_track(a, off, b), a1, v2)
    units = work_units(tl, check_files=False)
    assert [(u.clip_name, u.track_index, u.clip_index) for u in units] == [
        ("A", 0, 0), ("B", 0, 2), ("TOP", 1, 0)]
    assert units[1].record_start == RT(20, 24)  # the disabled clip still takes its time
    assert [u.clip_name for u in work_units(tl, check_files=False, tracks="audio")] == ["SND"]
    assert len(work_units(tl, check_files=False, tracks="all")) == 4
    with pytest.raises(InvalidParamsError):
        work_units(tl, tracks="subtitles")


def test_global_start_time():
    tl = timeline_of(one_track(otio.schema.Gap(duration=RT(5, 24)),
                               movie_clip("A", "/m/a.mov", 0, 10)),
                     global_start_time=RT(HOUR, 24))
    (u,) = work_units(tl, check_files=False)
    assert u.record_start == RT(5, 24)
    assert u.record_start_global == RT(HOUR + 5, 24)


# --- reading files -------------------------------------------------------------------------

def test_read_timeline_errors(tmp_path):
    with pytest.raises(MediaNotFoundError) as err:
        read_timeline(tmp_path / "absent.otio")
    assert isinstance(err.value, FileNotFoundError)
    assert err.value.path == str(tmp_path / "absent.otio")
    bad = tmp_path / "bad.otio"
    bad.write_text("{ not json")
    with pytest.raises(MediaDecodeError) as err:
        read_timeline(bad)
    assert "cannot read timeline" in str(err.value) and str(bad) in str(err.value)
    clip_file = str(tmp_path / "clip.otio")
    otio.adapters.write_to_file(movie_clip("A", "/m/a.mov", 0, 10), clip_file)
    with pytest.raises(MediaDecodeError, match="Clip, not a timeline"):
        read_timeline(clip_file)


def test_read_timeline_takes_first_timeline_of_a_collection(tmp_path):
    tl = timeline_of(one_track(movie_clip("A", "/m/a.mov", 0, 10)))
    tl.name = "inner"
    coll = otio.schema.SerializableCollection(name="c", children=[
        movie_clip("loose", "/m/x.mov", 0, 1), tl])
    path = str(tmp_path / "coll.otio")
    otio.adapters.write_to_file(coll, path)
    assert read_timeline(path).name == "inner"


def test_fcp7_xml_round_trip(tmp_path):
    media = touch(tmp_path / "shot a.mov")
    avail = TR(RT(HOUR, 24), RT(500, 24))
    clip = movie_clip("A", "file://" + media.replace(" ", "%20"), HOUR + 20, 30, avail=avail)
    clip2 = movie_clip("B", "file://" + media.replace(" ", "%20"), HOUR + 100, 12, avail=avail)
    tl = timeline_of(one_track(otio.schema.Gap(duration=RT(10, 24)), clip, clip2))
    path = str(tmp_path / "edit.xml")
    otio.adapters.write_to_file(tl, path, adapter_name="fcp_xml")
    back = read_timeline(path)
    units = work_units(back)
    assert [(u.clip_name, u.first_frame, u.frame_count, u.record_start.value) for u in units] == [
        ("A", 20, 30, 10), ("B", 100, 12, 40)]
    assert all(u.media_path == media and u.media_kind == "video" for u in units)


EDL = """TITLE: Reel 1
FCM: NON-DROP FRAME

001  ShotA    V     C        01:00:00:10 01:00:01:10 00:00:00:00 00:00:01:00
* FROM CLIP NAME: shotA.mov

002  ShotB    V     C        00:00:05:00 00:00:06:00 00:00:02:00 00:00:03:00
* FROM CLIP NAME: shotB.mov
"""


def test_edl_read(tmp_path):
    path = tmp_path / "reel.edl"
    path.write_text(EDL)
    units = work_units(read_timeline(path, rate=24))
    assert [u.clip_name for u in units] == ["shotA.mov", "shotB.mov"]
    a, b = units
    assert a.source_range == TR(RT(HOUR + 10, 24), RT(24, 24))
    assert b.record_start == RT(48, 24)  # after a one-second gap
    assert a.media_kind == "missing"  # an EDL names reels, not files


# --- timeline_from_media -------------------------------------------------------------------

def test_timeline_from_movie_with_timecode():
    tl = timeline_from_media("/m/plate.mov", {
        "frame_rate": "24000/1001", "frame_count": 240, "start_frame": 0,
        "start_timecode": "01:00:00:00", "width": 3840, "height": 2160, "kind": "video"})
    (u,) = work_units(tl, check_files=False)
    assert (u.media_kind, u.first_frame, u.frame_count) == ("video", 0, 240)
    assert u.source_range.start_time == RT(HOUR, NTSC)
    assert u.media_path == os.path.normpath("/m/plate.mov")
    ref = tl.tracks[0][0].media_reference
    assert ref.metadata["moviola"]["width"] == 3840


def test_timeline_from_sequence_with_info_and_by_scanning(tmp_path):
    pattern = str(tmp_path / "sh010.%04d.exr")
    info = {"frame_rate": 25, "frame_count": 3, "start_frame": 1001, "kind": "image_sequence",
            "width": 64, "height": 32}
    (u,) = work_units(timeline_from_media(pattern, info), check_files=False)
    assert (u.media_kind, u.first_frame, u.frame_count, u.rate) == ("image_sequence", 1001, 3, 25)
    assert u.media_path == pattern
    for f in (1001, 1002, 1003, 1004):
        touch(tmp_path / f"sh010.{f:04d}.exr")
    tl = timeline_from_media(str(tmp_path / "sh010.####.exr"), None)
    (u,) = work_units(tl)
    assert (u.first_frame, u.frame_count, u.rate, u.problems) == (1001, 4, 24.0, ())
    assert tl.tracks[0][0].media_reference.metadata["moviola"]["rate_assumed"] is True


def test_timeline_from_media_bad_input():
    with pytest.raises(InvalidParamsError):
        timeline_from_media("/m/a.mov", None)
    with pytest.raises(InvalidParamsError):
        timeline_from_media("/m/a.mov", {"frame_rate": "x", "frame_count": 3})
    with pytest.raises(InvalidParamsError):
        timeline_from_media("/m/a.mov", {"frame_rate": 24, "frame_count": 0})
    with pytest.raises(MediaNotFoundError):
        timeline_from_media("/nonexistent/a.%04d.exr", None)


def test_parse_rate():
    assert parse_rate(23.976) == NTSC
    assert parse_rate("30000/1001") == 30000 / 1001
    assert parse_rate(25) == 25.0
    with pytest.raises(InvalidParamsError):
        parse_rate(0)


def test_work_unit_is_frozen():
    (u,) = work_units(timeline_of(one_track(movie_clip("A", "/m/a.mov", 0, 10))),
                      check_files=False)
    assert isinstance(u, WorkUnit)
    with pytest.raises(dataclasses.FrozenInstanceError):
        u.first_frame = 3  # type: ignore[misc]
