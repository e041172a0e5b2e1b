"""Probing video files and image sequences: exact counts, rates, timecode, rotation, errors."""

from __future__ import annotations

from fractions import Fraction

import av
import msgpack
import numpy as np
import OpenImageIO as oiio
import pytest

from moviola.engine.media.probe import MediaInfo, probe
from moviola.plugin.errors import MediaDecodeError, MediaNotFoundError, MoviolaError
from synthetic import decode_all, image_frames, write_sequence, write_vfr_video, write_video

NTSC = Fraction(24000, 1001)


@pytest.fixture(scope="module")
def media(tmp_path_factory):
    d = tmp_path_factory.mktemp("probe")
    return {
        "mov": write_video(d / "tc.mov", 30, rate=NTSC, timecode="01:00:00:00"),
        "mp4": write_video(d / "tc.mp4", 30, rate=NTSC, timecode="01:00:00:00"),
        "mkv": write_video(d / "ntsc.mkv", 30, rate=NTSC),
        "prores": write_video(d / "p.mov", 8, rate=Fraction(25), codec="prores"),
        "dir": d,
    }


@pytest.mark.parametrize("kind", ["mov", "mp4"])
def test_ntsc_rate_and_timecode_are_exact(media, kind):
    info = probe(media[kind])
    assert info.kind == "video"
    assert info.codec == "h264"
    assert info.frame_rate == NTSC  # exactly, not 23.976
    assert info.variable_frame_rate is False
    assert info.frame_count == 30
    assert info.start_frame == 0 and info.last_frame == 29
    assert info.start_timecode == "01:00:00:00"
    assert info.duration_s == pytest.approx(30 * 1001 / 24000)
    assert (info.width, info.height, info.coded_width, info.coded_height) == (128, 96, 128, 96)
    assert info.pixel_format == "yuv420p" and info.bit_depth == 8
    assert info.rotation == 0
    assert info.path == str(media[kind].resolve())


def test_frame_count_matches_a_full_decode(media):
    assert probe(media["mov"]).frame_count == len(decode_all(media["mov"]))


def test_matroska_millisecond_timestamps_still_constant_rate(media):
    # 24000/1001 in a 1 ms time base gives 41/42 ms steps: that is rounding, not VFR.
    info = probe(media["mkv"])
    assert info.frame_rate == NTSC
    assert info.variable_frame_rate is False
    assert info.frame_count == 30
    assert info.start_timecode is None


def test_prores_reports_ten_bits(media):
    info = probe(media["prores"])
    assert info.codec == "prores"
    assert info.bit_depth == 10
    assert info.frame_rate == 25
    assert info.frame_count == 8


def test_variable_frame_rate(tmp_path):
    pts = write_vfr_video(tmp_path / "vfr.mp4", 20)
    info = probe(tmp_path / "vfr.mp4")
    assert info.variable_frame_rate is True
    assert info.frame_count == 20
    # The last frame lasts as long as the encoder said (one 1/24 s step).
    assert info.duration_s == pytest.approx((pts[-1] + 1000) / 24000)
    assert float(info.frame_rate) == pytest.approx(20 / info.duration_s, rel=1e-4)


@pytest.mark.parametrize("rotation", [-90, 90, 180])
def test_rotation_from_display_matrix(tmp_path, rotation):
    path = write_video(tmp_path / "rot.mp4", 3, rotation=rotation)
    info = probe(path)
    assert info.rotation == rotation
    assert (info.coded_width, info.coded_height) == (128, 96)
    expected = (96, 128) if rotation in (90, -90) else (128, 96)
    assert (info.width, info.height) == expected


def test_to_wire_is_msgpack_friendly(media):
    info = probe(media["mov"])
    wire = info.to_wire()
    assert wire["frame_rate"] == "24000/1001"
    assert wire["frame_rate_float"] == pytest.approx(23.976, abs=1e-3)
    back = msgpack.unpackb(msgpack.packb(wire))
    assert back["frame_count"] == 30 and back["start_timecode"] == "01:00:00:00"
    assert Fraction(back["frame_rate"]) == NTSC


# ---- image sequences -------------------------------------------------------------------------

@pytest.fixture(scope="module")
def exr_seq(tmp_path_factory):
    d = tmp_path_factory.mktemp("seq")
    write_sequence(d, "shot", "exr", image_frames(5), start=1001)
    return d


@pytest.mark.parametrize("spelling", ["shot.%04d.exr", "shot.####.exr", "shot.@@@@.exr",
                                      "shot.1003.exr", "."])
def test_sequence_spellings_agree(exr_seq, spelling):
    info = probe(exr_seq / spelling if spelling != "." else exr_seq)
    assert info.kind == "image_sequence"
    assert info.path == str(exr_seq.resolve() / "shot.%04d.exr")
    assert info.codec == "exr"
    assert info.pixel_format == "rgb_half"
    assert info.bit_depth == 16
    assert (info.start_frame, info.last_frame, info.frame_count) == (1001, 1005, 5)
    assert info.frame_rate == 24 and info.missing_frames == ()
    assert (info.width, info.height) == (64, 48)
    assert info.duration_s == pytest.approx(5 / 24)


def test_sequence_rate_and_timecode_from_header(tmp_path):
    attrs = {"FramesPerSecond": (oiio.TypeDesc("rational"), (24000, 1001)),
             "smpte:TimeCode": (oiio.TypeDesc("timecode"), (0x01000000, 0))}
    write_sequence(tmp_path, "plate", "exr", image_frames(2), start=86400, attributes=attrs)
    info = probe(tmp_path / "plate.%04d.exr")
    assert info.frame_rate == NTSC
    assert info.start_timecode == "01:00:00:00"
    assert info.start_frame == 86400
    # An explicit rate wins over the header.
    assert probe(tmp_path / "plate.%04d.exr", sequence_rate=25).frame_rate == 25


def test_sequence_with_holes(tmp_path):
    paths = write_sequence(tmp_path, "holes", "png", image_frames(6, dtype="uint8"), start=1)
    paths[2].unlink()
    paths[3].unlink()
    info = probe(paths[0])
    assert info.frame_count == 4            # files that exist
    assert info.start_frame == 1 and info.last_frame == 6
    assert info.missing_frames == (3, 4)
    assert info.pixel_format == "rgb_uint8"


def test_unpadded_and_wide_numbers(tmp_path):
    for n in (8, 9, 10, 11):
        write_sequence(tmp_path, "u", "png", image_frames(1, dtype="uint8"), start=n, padding=1)
    info = probe(tmp_path / "u.9.png")
    assert (info.start_frame, info.frame_count) == (8, 4)
    assert info.path.endswith("u.%d.png")


def test_folder_with_two_sequences_is_refused(tmp_path):
    write_sequence(tmp_path, "a", "png", image_frames(2, dtype="uint8"))
    write_sequence(tmp_path, "b", "png", image_frames(2, dtype="uint8"))
    with pytest.raises(MediaDecodeError, match="exactly one"):
        probe(tmp_path)


def test_existing_video_with_pattern_characters_in_its_name(tmp_path):
    path = write_video(tmp_path / "take#2@home 100%d.mov", 3)
    info = probe(path)
    assert info.kind == "video" and info.frame_count == 3


def test_unnumbered_image_is_not_a_sequence(tmp_path):
    write_sequence(tmp_path, "x", "png", image_frames(1, dtype="uint8"))
    (tmp_path / "x.1001.png").rename(tmp_path / "still.png")
    with pytest.raises(MediaDecodeError, match="no frame number"):
        probe(tmp_path / "still.png")


def test_hidden_temp_files_are_ignored(tmp_path):
    write_sequence(tmp_path, "m", "png", image_frames(2, dtype="uint8"))
    (tmp_path / ".m.1003.tmp-abcd1234.png").write_bytes(b"partial")
    assert probe(tmp_path).frame_count == 2


# ---- bad input -------------------------------------------------------------------------------

def test_missing_file(tmp_path):
    with pytest.raises(MediaNotFoundError) as err:
        probe(tmp_path / "nope.mp4")
    assert err.value.path == str(tmp_path / "nope.mp4")
    assert isinstance(err.value, FileNotFoundError)


def test_missing_sequence(tmp_path):
    with pytest.raises(MediaNotFoundError):
        probe(tmp_path / "nope.%04d.exr")
    with pytest.raises(MediaNotFoundError):
        probe(tmp_path / "nope.1001.exr")


@pytest.mark.parametrize("content", [b"this is not a movie\n" * 50, b""],
                         ids=["text", "empty"])
def test_undecodable_file(tmp_path, content):
    path = tmp_path / "fake.mp4"
    path.write_bytes(content)
    with pytest.raises(MediaDecodeError) as err:
        probe(path)
    assert "fake.mp4" in str(err.value)
    assert err.value.code == "media_unreadable"
    assert isinstance(err.value, MoviolaError)


def test_audio_only_file_has_no_video(tmp_path):
    path = tmp_path / "tone.wav"
    with av.open(str(path), "w") as c:
        s = c.add_stream("pcm_s16le", rate=8000, layout="mono")
        frame = av.AudioFrame.from_ndarray(np.zeros((1, 800), np.int16), format="s16",
                                           layout="mono")
        frame.sample_rate = 8000
        for p in s.encode(frame):
            c.mux(p)
        for p in s.encode():
            c.mux(p)
    with pytest.raises(MediaDecodeError, match="no video stream"):
        probe(path)


def test_corrupt_image_in_sequence(tmp_path):
    (tmp_path / "bad.0001.exr").write_bytes(b"not an exr")
    with pytest.raises(MediaDecodeError, match="bad.0001.exr"):
        probe(tmp_path / "bad.%04d.exr")


def test_mediainfo_is_frozen(media):
    info = probe(media["mov"])
    assert isinstance(info, MediaInfo)
    with pytest.raises(AttributeError):
        info.frame_count = 3  # type: ignore[misc]
