"""Result timelines: tracks of generated image sequences, markers, writing (moviola.plugin.results)."""

from __future__ import annotations

import os

import opentimelineio as otio
import pytest

from moviola.plugin.errors import InvalidParamsError, OutputPathError
from moviola.plugin.results import (
    MarkerSpec,
    SequenceOutput,
    add_markers,
    add_result_track,
    add_result_tracks,
    result_timeline,
    write_timeline,
)
from moviola.plugin.timeline import read_timeline, timeline_from_media, work_units

RT = otio.opentime.RationalTime
TR = otio.opentime.TimeRange
NTSC = 24000 / 1001
HOUR = 86400
PROVENANCE = {"engine_version": "0.1.0", "job": "matte", "model": "classical",
              "weights_sha256": None, "params": {"clicks": [(10, 20, 1)]}}


def plain(value):
    """OTIO metadata as dicts and lists (AnyVector never equals a list)."""
    if hasattr(value, "items"):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
        return value
    return [plain(v) for v in value]


def movie_clip(name, url, src_start, src_dur, rate, avail):
    ref = otio.schema.ExternalReference(target_url=url, available_range=avail)
    return otio.schema.Clip(name=name, media_reference=ref,
                            source_range=TR(RT(src_start, rate), RT(src_dur, rate)))


def source_timeline():
    """V1: gap, a 23.976 movie with a 01:00:00:00 start, a sequence from 1001; A1: audio."""
    a = movie_clip("shotA", "/plates/a.mov", HOUR + 48, 24, NTSC,
                   TR(RT(HOUR, NTSC), RT(1000, NTSC)))
    seq = otio.schema.ImageSequenceReference(
        target_url_base="/plates/b/", name_prefix="b.", name_suffix=".exr", start_frame=1001,
        rate=NTSC, frame_zero_padding=4, available_range=TR(RT(0, NTSC), RT(200, NTSC)))
    b = otio.schema.Clip(name="shotB", media_reference=seq,
                         source_range=TR(RT(7, NTSC), RT(30, NTSC)))
    v1 = otio.schema.Track(name="V1", kind=otio.schema.TrackKind.Video)
    v1.extend([otio.schema.Gap(duration=RT(12, NTSC)), a, otio.schema.Gap(duration=RT(3, NTSC)),
               b])
    a1 = otio.schema.Track(name="A1", kind=otio.schema.TrackKind.Audio)
    a1.append(otio.schema.Gap(duration=RT(100, NTSC)))
    return otio.schema.Timeline(name="edit", tracks=[v1, a1])


def outputs_for(units, out_dir, kind="matte"):
    return [SequenceOutput(unit=u, directory=str(out_dir), name_prefix=f"{u.clip_name}_{kind}.",
                           name_suffix=".exr", start_frame=u.first_frame,
                           frame_count=u.frame_count, metadata={"frame_range": [
                               u.first_frame, u.last_frame]})
            for u in units]


def clip_at(timeline, unit):
    """The source clip a unit came from, found by its path."""
    item = timeline.video_tracks()[unit.track_index]
    for i in unit.item_path:
        item = item[i]
    return item


def build(tmp_path, source=None):
    source = source or source_timeline()
    units = work_units(source, check_files=False)
    result = result_timeline(source)
    track = add_result_track(result, outputs_for(units, tmp_path / "out"), track_name="Mattes",
                             kind="matte", provenance=PROVENANCE)
    return source, units, result, track


def test_result_track_sits_above_the_video_tracks(tmp_path):
    source, units, result, track = build(tmp_path)
    assert len(source.tracks) == 2  # the source is left alone
    assert [t.name for t in result.tracks] == ["V1", "Mattes", "A1"]
    assert result.video_tracks()[-1] is track
    assert track.metadata["moviola"]["job"] == "matte"
    assert plain(track.metadata["moviola"]["params"]) == {"clicks": [[10, 20, 1]]}


def test_result_clips_align_with_source_clips(tmp_path):
    source, units, result, track = build(tmp_path)
    clips = list(track.find_clips())
    assert [c.name for c in clips] == ["shotA · matte", "shotB · matte"]
    for unit, clip in zip(units, clips):
        assert clip.range_in_parent() == clip_at(source, unit).range_in_parent()
        assert clip.range_in_parent() == unit.record_range


def test_frame_for_time_gives_the_written_frame_numbers(tmp_path):
    source, units, result, track = build(tmp_path)
    v1 = result.video_tracks()[0]
    for unit, clip in zip(units, track.find_clips()):
        ref = clip.media_reference
        sr = clip.source_range
        assert ref.frame_for_time(sr.start_time) == unit.first_frame
        assert ref.frame_for_time(sr.end_time_inclusive()) == unit.last_frame
        assert ref.target_url_for_image_number(0).endswith(
            f"{unit.clip_name}_matte.{unit.first_frame:04d}.exr")
        # Every record frame: the result shows the frame number of the source frame there.
        src_clip = clip_at(result, unit)
        src_ref = src_clip.media_reference
        for k in range(unit.frame_count):
            t = unit.record_start + RT(k, unit.rate)
            src_time = v1.transformed_time(t, src_clip)
            res_time = track.transformed_time(t, clip)
            if isinstance(src_ref, otio.schema.ImageSequenceReference):
                src_frame = src_ref.frame_for_time(src_time)
            else:
                src_frame = round((src_time - src_ref.available_range.start_time).value_rescaled_to(
                    unit.rate))
            assert ref.frame_for_time(res_time) == src_frame == unit.first_frame + k
    # shotA: 01:00:00:02 at 23.976 is frame 48 of the movie, and the output's frame 48.
    a_ref = track.find_clips()[0].media_reference
    assert a_ref.available_range.start_time == RT(HOUR + 48, NTSC)
    assert a_ref.start_frame == 48 and a_ref.rate == pytest.approx(NTSC)


def test_movie_with_timecode_from_media_info(tmp_path):
    tl = timeline_from_media("/plates/p.mov", {"frame_rate": 23.976, "frame_count": 100,
                                               "start_timecode": "01:00:00:00"})
    (u,) = work_units(tl, check_files=False)
    res = result_timeline(tl)
    track = add_result_track(res, outputs_for([u], tmp_path), track_name="Depth",
                             kind="depth", provenance=PROVENANCE)
    clip = track[0]
    ref = clip.media_reference
    assert ref.frame_for_time(clip.source_range.start_time) == 0
    assert ref.frame_for_time(clip.source_range.end_time_inclusive()) == 99
    assert clip.source_range == u.source_range


def test_source_range_at_another_rate_stays_aligned(tmp_path):
    # A 24 fps source_range over 23.976 media: nearest frames, same record range.
    media = TR(RT(HOUR, NTSC), RT(1000, NTSC))
    clip = movie_clip("mixed", "/plates/m.mov", 86500, 10, 24, media)
    v1 = otio.schema.Track(name="V1")
    v1.extend([otio.schema.Gap(duration=RT(5, 24)), clip])
    source = otio.schema.Timeline(tracks=[v1])
    source, (u,), result, track = build(tmp_path, source)
    res_clip = track[1]
    assert res_clip.range_in_parent() == clip.range_in_parent()
    ref = res_clip.media_reference
    assert ref.frame_for_time(res_clip.source_range.start_time) == u.first_frame == 14


def test_nested_stack_clip_lands_at_its_top_level_time(tmp_path):
    inner = otio.schema.Track(name="inner")
    inner.append(movie_clip("N", "/p/n.mov", 100, 20, 24, TR(RT(0, 24), RT(500, 24))))
    nest = otio.schema.Stack(name="nest", source_range=TR(RT(5, 24), RT(10, 24)))
    nest.append(inner)
    v1 = otio.schema.Track(name="V1")
    v1.extend([otio.schema.Gap(duration=RT(30, 24)), nest])
    source, (u,), result, track = build(tmp_path, otio.schema.Timeline(tracks=[v1]))
    res_clip = track[1]
    assert res_clip.range_in_parent() == TR(RT(30, 24), RT(10, 24)) == u.record_range
    assert res_clip.media_reference.frame_for_time(res_clip.source_range.start_time) == 105


def test_clip_metadata_under_moviola(tmp_path):
    source, units, result, track = build(tmp_path)
    meta = plain(track.find_clips()[0].metadata["moviola"])
    assert meta["kind"] == "matte" and meta["source_clip"] == "shotA"
    assert meta["frames"] == [48, 71] and meta["frame_range"] == [48, 71]
    assert meta["engine_version"] == "0.1.0" and meta["model"] == "classical"
    assert meta["pattern"] == os.path.join(str(tmp_path / "out"), "shotA_matte.%04d.exr")


def test_write_read_back_and_fcp_xml(tmp_path):
    source, units, result, track = build(tmp_path)
    add_markers(result, [MarkerSpec("A→B cut", TR(RT(20, NTSC), RT(1, NTSC)), color="green",
                                    note="same silhouette, score 0.91",
                                    metadata={"score": 0.91})])
    add_markers(track[1], [MarkerSpec("check edge", TR(RT(HOUR + 50, NTSC), RT(2, NTSC)),
                                      color="YELLOW")])
    path = write_timeline(result, tmp_path / "result.otio")
    assert os.listdir(str(tmp_path)) == ["result.otio"]  # no temp file left
    back = read_timeline(path)
    assert [t.name for t in back.tracks] == ["V1", "Mattes", "A1"]
    (m,) = back.tracks.markers
    assert (m.name, m.color, m.comment) == ("A→B cut", "GREEN", "same silhouette, score 0.91")
    assert m.metadata["moviola"]["score"] == 0.91
    back_track = back.video_tracks()[1]
    assert back_track[1].markers[0].name == "check edge"
    back_clip = back_track[1]
    assert back_clip.media_reference.frame_for_time(back_clip.source_range.start_time) == 48
    assert plain(back_clip.metadata["moviola"]["frames"]) == [48, 71]

    xml = otio.adapters.write_to_string(back, "fcp_xml")
    assert "shotA · matte" in xml
    # A host imports a lone frame path as a still: FCP7 XML needs the clip's movie.
    with pytest.raises(InvalidParamsError, match="still"):
        write_timeline(back, tmp_path / "result.xml")
    for clip in back_track.find_clips():
        name = clip.metadata["moviola"]["source_clip"]
        clip.metadata["moviola"]["movie"] = str(tmp_path / "out" / f"{name}_matte.mov")
    xml_path = write_timeline(back, tmp_path / "result.xml")
    from_xml = read_timeline(xml_path)
    assert len(from_xml.video_tracks()) == 2
    assert "A→B cut" in [m.name for m in from_xml.tracks.markers]
    res_clip = from_xml.video_tracks()[1][1]
    assert res_clip.media_reference.target_url.startswith("file://")
    assert res_clip.media_reference.target_url.endswith("shotA_matte.mov")


def test_overlapping_outputs_need_several_tracks(tmp_path):
    v1 = otio.schema.Track(name="V1")
    v1.append(movie_clip("low", "/p/l.mov", 0, 20, 24, None))
    v2 = otio.schema.Track(name="V2")
    v2.extend([otio.schema.Gap(duration=RT(10, 24)), movie_clip("high", "/p/h.mov", 0, 20, 24,
                                                                None)])
    tl = otio.schema.Timeline(tracks=[v1, v2])
    outs = outputs_for(work_units(tl, check_files=False), tmp_path)
    with pytest.raises(InvalidParamsError, match="overlap"):
        add_result_track(result_timeline(tl), outs, track_name="M", kind="matte",
                         provenance=PROVENANCE)
    res = result_timeline(tl)
    made = add_result_tracks(res, outs, track_name="M", kind="matte", provenance=PROVENANCE)
    assert [t.name for t in res.tracks] == ["V1", "V2", "M", "M 2"]
    assert [t.name for t in made] == ["M", "M 2"]
    assert made[1][1].range_in_parent() == TR(RT(10, 24), RT(20, 24))


def test_marker_colour_is_checked():
    tl = source_timeline()
    with pytest.raises(InvalidParamsError):
        add_markers(tl, [MarkerSpec("x", TR(RT(0, 24), RT(1, 24)), color="chartreuse")])


def test_write_timeline_errors_and_no_leftovers(tmp_path):
    tl = source_timeline()
    with pytest.raises(OutputPathError):
        write_timeline(tl, tmp_path / "missing" / "a.otio")
    with pytest.raises(InvalidParamsError):
        write_timeline(tl, tmp_path / "a.mp4")
    two = result_timeline(tl)
    two.tracks.append(otio.schema.Track(name="V2"))
    two.tracks[-1].append(movie_clip("x", "/p/x.mov", 0, 5, NTSC, None))
    with pytest.raises(InvalidParamsError):
        write_timeline(two, tmp_path / "a.edl")  # an EDL holds one video track
    assert os.listdir(str(tmp_path)) == []
    edl = write_timeline(timeline_from_media("/p/x.mov", {"frame_rate": 24, "frame_count": 48}),
                         tmp_path / "x.edl")
    assert "001" in open(edl).read()
    write_timeline(tl, tmp_path / "a.otio")
    write_timeline(tl, tmp_path / "a.otio")  # replacing is fine
    assert sorted(os.listdir(str(tmp_path))) == ["a.otio", "x.edl"]


def test_partial_output_and_output_with_handles(tmp_path):
    source = source_timeline()
    ua, ub = work_units(source, check_files=False)
    part = SequenceOutput(unit=ua, directory=str(tmp_path), name_prefix="a.", name_suffix=".exr",
                          start_frame=ua.first_frame + 4, frame_count=10)
    handles = SequenceOutput(unit=ub, directory=str(tmp_path), name_prefix="b.",
                             name_suffix=".exr", start_frame=ub.first_frame - 6,
                             frame_count=ub.frame_count + 12)
    res = result_timeline(source)
    track = add_result_track(res, [part, handles], track_name="M", kind="matte",
                             provenance=PROVENANCE)
    ca, cb = track.find_clips()
    assert ca.range_in_parent() == TR(ua.record_start + RT(4, NTSC), RT(10, NTSC))
    assert ca.media_reference.frame_for_time(ca.source_range.start_time) == ua.first_frame + 4
    assert ca.media_reference.frame_for_time(ca.source_range.end_time_inclusive()) == (
        ua.first_frame + 13)
    assert cb.range_in_parent() == ub.record_range
    assert cb.media_reference.frame_for_time(cb.source_range.start_time) == ub.first_frame
    assert cb.media_reference.frame_for_time(cb.source_range.end_time_inclusive()) == ub.last_frame
    assert handles.frame_path(1002) == os.path.join(str(tmp_path), "b.1002.exr")
    with pytest.raises(InvalidParamsError, match="miss clip"):
        add_result_track(res, [SequenceOutput(unit=ua, directory=str(tmp_path), name_prefix="x.",
                                              name_suffix=".exr", start_frame=5000,
                                              frame_count=3)],
                         track_name="X", kind="matte", provenance=PROVENANCE)
