"""Frame-accurate decoding: every frame read is the frame that was drawn, however it is reached."""

from __future__ import annotations

import inspect
import random
from fractions import Fraction

import numpy as np
import OpenImageIO as oiio
import pytest

from moviola.engine.media.sequence import SequenceReader
from moviola.engine.media.source import FrameSource, open_source
from moviola.engine.media.video import VideoReader
from moviola.plugin.errors import FrameRangeError, MediaDecodeError
from synthetic import (
    decode_all,
    frame_pattern,
    image_frames,
    read_frame_index,
    write_rotated_video,
    write_sequence,
    write_vfr_video,
    write_video,
)

NTSC = Fraction(24000, 1001)
N = 40


@pytest.fixture(scope="module")
def videos(tmp_path_factory):
    d = tmp_path_factory.mktemp("decode")
    return {
        # GOP 12 with B-frames: decode order differs from presentation order.
        "h264": write_video(d / "h264.mp4", N, rate=NTSC, gop=12, timecode="01:00:00:00"),
        "h264_mkv": write_video(d / "h264.mkv", N, rate=NTSC, gop=12),
        "prores": write_video(d / "prores.mov", 12, rate=Fraction(24), codec="prores"),
        "ffv1": write_video(d / "ffv1.mkv", 12, rate=Fraction(25), codec="ffv1", gop=4),
    }


def _count_seeks(reader: VideoReader) -> list[int]:
    seeks: list[int] = []
    original = reader._seek

    def spy(kpos: int) -> None:
        seeks.append(kpos)
        original(kpos)

    reader._seek = spy  # type: ignore[method-assign]
    return seeks


@pytest.mark.parametrize("name", ["h264", "h264_mkv", "prores"])
def test_sequential_decode_shows_every_frame_in_order(videos, name):
    with VideoReader(videos[name]) as r:
        got = [(n, read_frame_index(img)) for n, img in r.frames()]
    assert got == [(n, n) for n in range(r.info.frame_count)]


def test_frames_streams_without_seeking_per_frame(videos):
    with VideoReader(videos["h264"]) as r:
        seeks = _count_seeks(r)
        it = r.frames(5, 35)
        assert inspect.isgenerator(it)     # lazy: bounded memory
        numbers = [n for n, _ in it]
    assert numbers == list(range(5, 35))
    assert len(seeks) == 1                 # one seek to the keyframe before 5, then forward


def test_random_access_equals_sequential_decode(videos):
    reference = decode_all(videos["h264"])
    assert [read_frame_index(img) for _, img in reference] == list(range(N))
    order = list(range(N))
    random.Random(3).shuffle(order)
    with VideoReader(videos["h264"]) as r:
        for n in order:
            img = r.read(n)
            assert img.dtype == np.uint8 and img.shape == (96, 128, 3)
            assert np.array_equal(img, reference[n][1]), f"frame {n}"


def test_seeking_backwards_and_last_frame(videos):
    with VideoReader(videos["h264"]) as r:
        for n in [N - 1, 2, 30, 29, 13, 0, 12, 11, N - 1, N - 2]:
            assert read_frame_index(r.read(n)) == n
        assert r.first_frame == 0 and r.last_frame == N - 1


def test_reading_forward_in_a_gop_does_not_seek(videos):
    with VideoReader(videos["h264"]) as r:
        r.read(13)
        seeks = _count_seeks(r)
        for n in (14, 16, 20):
            assert read_frame_index(r.read(n)) == n
        assert seeks == []
        r.read(30)                         # next GOP: seeking is cheaper
        assert len(seeks) == 1


def test_time_of_is_exact(videos):
    with VideoReader(videos["h264"]) as r:
        assert r.time_of(0) == 0
        assert r.time_of(30) == Fraction(30 * 1001, 24000)
        assert isinstance(r.time_of(7), Fraction)


def test_prores_is_read_as_16_bit(videos):
    with VideoReader(videos["prores"]) as r:
        img = r.read(7)
        assert img.dtype == np.uint16 and img.shape == (96, 128, 3)
        assert read_frame_index(img) == 7
        assert read_frame_index(r.read(2)) == 2


def test_lossless_video_is_pixel_exact(videos):
    with VideoReader(videos["ffv1"]) as r:
        for n in [11, 0, 6, 5, 3, 11]:
            assert np.array_equal(r.read(n), frame_pattern(n)), f"frame {n}"


def test_variable_frame_rate_frames_and_times(tmp_path):
    pts = write_vfr_video(tmp_path / "vfr.mp4", 20)
    with VideoReader(tmp_path / "vfr.mp4") as r:
        assert r.info.frame_count == 20
        # Frame n is the n-th timestamp, never time * average rate.
        assert [r.time_of(n) for n in range(20)] == [Fraction(t, 24000) for t in pts]
        for n in [19, 4, 5, 0, 13, 12, 6]:
            assert read_frame_index(r.read(n)) == n
        assert [read_frame_index(img) for _, img in r.frames()] == list(range(20))


@pytest.mark.parametrize("name", ["bframes.avi", "raw.h264", "stream.ts"])
def test_containers_without_real_pts(tmp_path, name):
    # AVI hands the decoder made-up pts (B-frames come out with pts out of order) and a raw
    # stream has none: frames are then counted from the start instead of matched by pts.
    path = write_video(tmp_path / name, 30, gop=10)
    with VideoReader(path) as r:
        assert r.info.frame_count == 30
        assert r.index.pts_reliable is (name == "stream.ts")
        for n in [7, 3, 29, 0, 15, 16]:
            assert read_frame_index(r.read(n)) == n
        assert [read_frame_index(img) for _, img in r.frames(20, 30)] == list(range(20, 30))


@pytest.mark.parametrize("rotation", [-90, 90, 180])
def test_rotation_is_applied(tmp_path, rotation):
    path = write_rotated_video(tmp_path / "rot.mov", 4, rotation=rotation)
    k = rotation // 90
    with VideoReader(path) as r:
        img = r.read(2)
        assert img.shape[:2] == (r.info.height, r.info.width)
        assert img.flags.c_contiguous
        # Undo the display turn: the stored frame is the one that was drawn.
        assert read_frame_index(np.rot90(img, -k)) == 2


def test_phone_portrait_turns_clockwise(tmp_path):
    # -90 (what phones write for portrait) shows the stored top row as the right column.
    path = write_rotated_video(tmp_path / "rot.mp4", 2, rotation=-90, codec="ffv1")
    drawn = frame_pattern(1)
    with VideoReader(path) as r:
        img = r.read(1)
    assert np.array_equal(img[:, -1], drawn[0])


def test_out_of_range_frames(videos):
    with VideoReader(videos["h264"]) as r:
        for bad in (-1, N, 10_000):
            with pytest.raises(FrameRangeError) as err:
                r.read(bad)
            assert err.value.detail["last"] == N - 1
        with pytest.raises(FrameRangeError):
            list(r.frames(30, N + 1))
        with pytest.raises(FrameRangeError):
            r.time_of(N)


def test_closed_reader_refuses_reads(videos):
    r = VideoReader(videos["ffv1"])
    r.close()
    r.close()  # idempotent
    with pytest.raises(ValueError):
        r.read(0)


# ---- image sequences -------------------------------------------------------------------------

@pytest.mark.parametrize("ext,dtype,pixel_type,bits,tol", [
    ("exr", "float32", "half", None, 2e-3),   # half: relative precision ~1e-3
    ("exr", "float32", "float", None, 0.0),
    ("png", "uint16", "uint16", None, 0),
    ("tif", "uint16", "uint16", None, 0),
    ("tif", "uint8", "uint8", None, 0),
    ("dpx", "uint16", "uint16", 10, 65535 / 1023),
])
def test_sequence_round_trips(tmp_path, ext, dtype, pixel_type, bits, tol):
    frames = image_frames(4, channels=3, dtype=dtype)
    write_sequence(tmp_path, "plate", ext, frames, start=1001, pixel_type=pixel_type, bits=bits)
    with open_source(tmp_path / f"plate.%04d.{ext}") as r:
        assert isinstance(r, SequenceReader) and isinstance(r, FrameSource)
        assert (r.first_frame, r.last_frame) == (1001, 1004)
        got = dict(r.frames())
        assert sorted(got) == [1001, 1002, 1003, 1004]
        for i, n in enumerate(range(1001, 1005)):
            img = got[n]
            assert img.dtype == np.dtype(dtype) and img.shape == frames[i].shape
            diff = np.abs(img.astype(np.float64) - frames[i].astype(np.float64))
            if ext == "exr" and pixel_type == "half":
                assert (diff <= tol * np.maximum(1.0, np.abs(frames[i]))).all()
                assert img.max() > 1.0         # HDR values survive
            else:
                assert diff.max() <= tol
        assert np.array_equal(r.read(1003), got[1003])


def test_exr_all_channels_as_stored(tmp_path):
    matte = image_frames(2, channels=1, dtype="float32", hdr=False)
    write_sequence(tmp_path, "matte", "exr", matte, start=1, channel_names=("A",))
    rgba = image_frames(1, channels=4, dtype="uint16")
    write_sequence(tmp_path, "rgba", "png", rgba, start=1)
    with SequenceReader(tmp_path / "matte.0002.exr") as r:
        img = r.read(2)
        assert img.shape == (48, 64, 1) and img.dtype == np.float32
        assert r.info.pixel_format == "a_half"
    with SequenceReader(tmp_path / "rgba.####.png") as r:
        img = r.read(1)
        # Straight alpha comes back as stored: no premultiplication on read.
        assert np.array_equal(img, rgba[0])


def test_exr_data_window_is_placed_in_display_window(tmp_path):
    spec = oiio.ImageSpec(4, 2, 1, oiio.FLOAT)
    spec.x, spec.y = 3, 5
    spec.full_x, spec.full_y, spec.full_width, spec.full_height = 0, 0, 10, 8
    spec.channelnames = ("Z",)
    out = oiio.ImageOutput.create(str(tmp_path / "dw.0001.exr"))
    assert out.open(str(tmp_path / "dw.0001.exr"), spec)
    out.write_image(np.full((2, 4, 1), 7.0, np.float32))
    out.close()
    with SequenceReader(tmp_path / "dw.0001.exr") as r:
        assert (r.info.width, r.info.height) == (10, 8)
        img = r.read(1)
    assert img.shape == (8, 10, 1)
    assert (img[5:7, 3:7] == 7.0).all() and img.sum() == 7.0 * 8


def test_sequence_holes_and_range(tmp_path):
    paths = write_sequence(tmp_path, "h", "png", image_frames(4, dtype="uint8"), start=10)
    paths[1].unlink()
    with SequenceReader(tmp_path / "h.%04d.png") as r:
        assert r.info.missing_frames == (11,)
        assert r.read(12).shape == (48, 64, 3)
        with pytest.raises(MediaDecodeError, match="h.0011.png"):
            r.read(11)
        with pytest.raises(MediaDecodeError):
            list(r.frames())
        with pytest.raises(FrameRangeError):
            r.read(9)
        with pytest.raises(FrameRangeError):
            r.read(14)
        assert [n for n, _ in r.frames(12, 14)] == [12, 13]


def test_open_source_picks_the_reader(videos, tmp_path):
    with open_source(videos["ffv1"]) as r:
        assert isinstance(r, VideoReader) and isinstance(r, FrameSource)
    write_sequence(tmp_path, "s", "png", image_frames(1, dtype="uint8"))
    with open_source(tmp_path) as r:
        assert isinstance(r, SequenceReader)
