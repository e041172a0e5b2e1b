"""Writers and output safety: EXR/PNG/JPEG/ProRes round trips, atomic files, no escapes."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
import textwrap
from fractions import Fraction
from pathlib import Path

import numpy as np
import OpenImageIO as oiio
import opentimelineio as otio
import pytest

from moviola.engine.media import faults
from moviola.engine.media.outputs import (
    atomic_path,
    resolve_output,
    sweep_stale,
    temp_name,
    write_error,
)
from moviola.engine.media.probe import probe
from moviola.engine.media.sequence import SequenceReader
from moviola.engine.media.video import VideoReader
from moviola.engine.media.writers import ImageSequenceWriter, ProResWriter
from moviola.engine.samples import make_sample
from moviola.plugin.errors import (
    DiskFullError,
    InvalidParamsError,
    OutputPathError,
    OutputWriteError,
)
from synthetic import image_frames


def _files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*") if p.is_file())


def _spec(path: Path) -> oiio.ImageSpec:
    inp = oiio.ImageInput.open(str(path))
    assert inp is not None, oiio.geterror()
    spec = inp.spec()
    inp.close()
    return spec


# ---- resolve_output --------------------------------------------------------------------------

def test_resolve_output_inside(tmp_path):
    out = tmp_path / "out"
    p = resolve_output(out, "matte/shot.1001.exr")
    assert p == out.resolve() / "matte" / "shot.1001.exr"
    assert p.parent.is_dir()                      # folders are created
    assert resolve_output(out, out / "a.exr") == out.resolve() / "a.exr"  # absolute, inside


@pytest.mark.parametrize("name", ["../x.exr", "a/../../x.exr", "/etc/passwd", ".."])
def test_resolve_output_refuses_escapes(tmp_path, name):
    out = tmp_path / "out"
    with pytest.raises(OutputPathError) as err:
        resolve_output(out, name)
    assert str(out.resolve()) in str(err.value)
    assert err.value.detail["name"] == name


def test_resolve_output_refuses_symlink_escape(tmp_path):
    out, elsewhere = tmp_path / "out", tmp_path / "elsewhere"
    out.mkdir()
    elsewhere.mkdir()
    os.symlink(elsewhere, out / "link")
    with pytest.raises(OutputPathError, match="outside"):
        resolve_output(out, "link/x.exr")
    os.symlink(elsewhere / "f.exr", out / "f.exr")  # a file link pointing out
    with pytest.raises(OutputPathError):
        resolve_output(out, "f.exr")


def test_resolve_output_accepts_an_existing_sub_folder(tmp_path):
    # Jobs re-run into the same per-clip folders: that must not be an error.
    first = resolve_output(tmp_path, "proxy/001_clip")
    first.mkdir()
    assert resolve_output(tmp_path, "proxy/001_clip") == first


def test_atomic_commit_onto_a_folder_is_typed(tmp_path):
    (tmp_path / "taken.exr").mkdir()
    with pytest.raises(OutputPathError, match="taken.exr"):
        with atomic_path(tmp_path / "taken.exr") as tmp:
            tmp.write_bytes(b"x")
    assert _files(tmp_path) == []


def test_resolve_output_folder_is_a_file(tmp_path):
    (tmp_path / "out").write_text("x")
    with pytest.raises(OutputPathError, match="file"):
        resolve_output(tmp_path / "out", "a.exr")


# ---- atomic_path -----------------------------------------------------------------------------

def test_atomic_path_commits_on_success(tmp_path):
    final = tmp_path / "result.exr"
    with atomic_path(final) as tmp:
        assert tmp.parent == tmp_path and tmp.suffix == ".exr" and tmp.name.startswith(".")
        tmp.write_bytes(b"done")
        assert not final.exists()
    assert final.read_bytes() == b"done"
    assert _files(tmp_path) == ["result.exr"]


def test_atomic_path_removes_temp_on_failure(tmp_path):
    final = tmp_path / "result.exr"
    final.write_bytes(b"previous")
    with pytest.raises(RuntimeError):
        with atomic_path(final) as tmp:
            tmp.write_bytes(b"half")
            raise RuntimeError("boom")
    assert final.read_bytes() == b"previous"    # the old file is untouched
    assert _files(tmp_path) == ["result.exr"]


# ---- image sequences -------------------------------------------------------------------------

def test_exr_half_rgba_with_provenance(tmp_path):
    frames = image_frames(3, channels=4, dtype="float32")
    w = ImageSequenceWriter(tmp_path, "beauty", "exr", start_frame=1001,
                            attributes={"moviola/model": "sam2.1-tiny",
                                        "moviola/scale": 2.5,
                                        "moviola/prompts": {"points": [[3, 4]]}})
    paths = w.write_all(frames)
    assert [p.name for p in paths] == ["beauty.1001.exr", "beauty.1002.exr", "beauty.1003.exr"]
    assert w.paths == paths
    assert w.pattern == str(tmp_path.resolve() / "beauty.%04d.exr")
    spec = _spec(paths[0])
    assert spec.format == oiio.HALF
    assert tuple(spec.channelnames) == ("R", "G", "B", "A") and spec.alpha_channel == 3
    assert spec.getattribute("compression") == "zip"
    assert spec.getattribute("moviola/model") == "sam2.1-tiny"
    assert spec.getattribute("moviola/scale") == pytest.approx(2.5)
    assert spec.getattribute("moviola/prompts") == '{"points": [[3, 4]]}'
    with SequenceReader(w.pattern) as r:
        back = r.read(1002)
    assert np.allclose(back, frames[1], rtol=1e-3, atol=1e-3)


def test_exr_matte_and_depth_channels(tmp_path):
    matte = image_frames(1, channels=1, dtype="float32", hdr=False)[0]
    w = ImageSequenceWriter(tmp_path, "matte", "exr", channels=("A",))
    spec = _spec(w.write(matte[..., 0]))          # HxW input is accepted
    assert tuple(spec.channelnames) == ("A",) and spec.alpha_channel == 0

    depth = (image_frames(1, channels=1, dtype="float32")[0] * 100).astype(np.float32)
    w = ImageSequenceWriter(tmp_path, "depth", "exr", channels=("depth.Z",), pixel_type="float")
    path = w.write(depth, frame=7)
    assert path.name == "depth.0007.exr"
    spec = _spec(path)
    assert spec.format == oiio.FLOAT
    assert tuple(spec.channelnames) == ("depth.Z",) and spec.z_channel == 0
    with SequenceReader(path) as r:
        assert np.array_equal(r.read(7), depth)   # float is exact


@pytest.mark.parametrize("channels", [1, 2, 3, 4])
def test_png16_round_trip_is_exact(tmp_path, channels):
    frames = image_frames(2, channels=channels, dtype="uint16")
    w = ImageSequenceWriter(tmp_path, "p", "png", start_frame=1)
    w.write_all(frames)
    assert _spec(w.paths[0]).format == oiio.UINT16
    with SequenceReader(w.pattern) as r:
        for n, img in r.frames():
            assert np.array_equal(img, frames[n - 1])


def test_png_from_float_and_8_bit(tmp_path):
    f = image_frames(1, channels=3, dtype="float32", hdr=False)[0]
    p16 = ImageSequenceWriter(tmp_path, "f16", "png").write(f)
    p8 = ImageSequenceWriter(tmp_path, "f8", "png", bit_depth=8).write(f)
    assert _spec(p16).format == oiio.UINT16 and _spec(p8).format == oiio.UINT8
    with SequenceReader(p16) as r:
        assert np.abs(r.read(1001) / 65535.0 - f).max() <= 1 / 65535 + 1e-6


def test_jpeg_proxy_drops_alpha(tmp_path):
    rgba = image_frames(1, channels=4, dtype="uint8")[0]
    path = ImageSequenceWriter(tmp_path, "proxy", "jpg", quality=95).write(rgba)
    spec = _spec(path)
    assert spec.nchannels == 3 and spec.format == oiio.UINT8
    with SequenceReader(path) as r:
        diff = np.abs(r.read(1001).astype(int) - rgba[..., :3].astype(int))
    assert diff.mean() < 4


def test_writer_refuses_bad_input(tmp_path):
    w = ImageSequenceWriter(tmp_path, "x", "exr", channels=("R", "G", "B"))
    with pytest.raises(InvalidParamsError):
        w.write(np.zeros((4, 4, 4), np.float32))  # 3 names, 4 channels
    with pytest.raises(InvalidParamsError):
        w.write(np.zeros((4, 4, 3), np.int32))
    with pytest.raises(InvalidParamsError):
        w.write(np.zeros((4,), np.float32))
    with pytest.raises(InvalidParamsError):
        ImageSequenceWriter(tmp_path, "x", "gif")
    with pytest.raises(OutputPathError):
        ImageSequenceWriter(tmp_path, "../x", "exr")
    assert _files(tmp_path) == []


def test_writes_from_several_threads(tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    frames = image_frames(8, channels=3, dtype="uint8")
    w = ImageSequenceWriter(tmp_path, "t", "png", start_frame=1)
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda i: w.write(frames[i], 1 + i), range(8)))
    assert sorted(p.name for p in w.paths) == [f"t.{n:04d}.png" for n in range(1, 9)]
    assert _files(tmp_path) == sorted(p.name for p in w.paths)
    with SequenceReader(w.pattern) as r:
        assert all(np.array_equal(img, frames[n - 1]) for n, img in r.frames())


def test_failed_write_leaves_no_partial_file(tmp_path, monkeypatch):
    w = ImageSequenceWriter(tmp_path, "m", "exr")
    w.write(np.zeros((8, 8, 3), np.float32))
    real_write = os.write

    def disk_fills(fd, data):  # half the bytes land, then the disk is full
        if len(data) > 4:
            return real_write(fd, bytes(data[: len(data) // 2]))
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "write", disk_fills)
    with pytest.raises(DiskFullError) as err:
        w.write(np.zeros((8, 8, 3), np.float32))
    monkeypatch.undo()
    assert err.value.code == "disk_full" and err.value.path.endswith("m.1002.exr")
    assert "m.1002.exr" in str(err.value)
    assert _files(tmp_path) == ["m.1001.exr"]     # no m.1002.exr, no temp file


@pytest.mark.parametrize("code,error", [(errno.ENOSPC, DiskFullError),
                                        (errno.EDQUOT, DiskFullError),
                                        (errno.EFBIG, OutputWriteError),
                                        (errno.EIO, OutputWriteError)])
def test_write_errors_are_typed(tmp_path, code, error):
    err = write_error(OSError(code, os.strerror(code)), tmp_path / "a.0001.png")
    assert type(err) is error and err.path.endswith("a.0001.png")
    assert err.code == ("disk_full" if error is DiskFullError else "output_write_failed")


@pytest.mark.parametrize("fmt,options", [("exr", {}), ("exr", {"pixel_type": "float"}),
                                         ("png", {"bit_depth": 8}), ("png", {}), ("jpg", {}),
                                         ("tif", {})])
def test_size_limit_fails_typed_and_leaves_nothing(tmp_path, fmt, options):
    # In a child with a small file size limit (SIGXFSZ ignored, as in the engine), every
    # format fails with one typed error, nothing under a final name, and the child lives.
    script = textwrap.dedent(f"""
        import resource, signal, sys
        import numpy as np
        from moviola.engine.media.writers import ImageSequenceWriter
        from moviola.plugin.errors import MoviolaError
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (16000, 16000))
        w = ImageSequenceWriter(sys.argv[1], "f", {fmt!r}, **{options!r})
        noise = np.random.default_rng(0).random((240, 320, 3)).astype(np.float32)
        try:
            w.write(noise)
        except MoviolaError as exc:
            print("ERROR", exc.code, exc.path)
        else:
            print("WROTE")
    """)
    run = subprocess.run([sys.executable, "-c", script, str(tmp_path)], capture_output=True,
                         text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert run.stdout.split()[:2] == ["ERROR", "output_write_failed"], run.stdout + run.stderr
    assert run.stdout.split()[2].endswith(f"f.1001.{'tif' if fmt == 'tif' else fmt}")
    assert _files(tmp_path) == []


def _inject(monkeypatch, text: str) -> None:
    """Plan a write fault as ``$MOVIOLA_FAULT_WRITE`` would; undone after the test."""
    monkeypatch.setattr(faults, "_plan", faults._Plan(text))
    monkeypatch.setattr(faults, "_loaded", True)


def test_fault_hook_codec_and_disk(tmp_path, monkeypatch):
    _inject(monkeypatch, "codec:1")
    w = ImageSequenceWriter(tmp_path, "j", "jpg")
    w.write(np.zeros((8, 8, 3), np.uint8))
    with pytest.raises(OutputWriteError, match="j.1002.jpg"):
        w.write(np.zeros((8, 8, 3), np.uint8))
    _inject(monkeypatch, "ENOSPC")
    with pytest.raises(DiskFullError, match="j.1003.jpg"):
        w.write(np.zeros((8, 8, 3), np.uint8))
    assert _files(tmp_path) == ["j.1001.jpg"]


def test_sweep_removes_only_dead_processes_temp_files(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = tmp_path / f".a.0001.tmp-{dead.pid}-0123abcd.exr"
    stale.write_bytes(b"x")
    (tmp_path / f".clip.staging-{dead.pid}-0123abcd").mkdir()
    (tmp_path / f".clip2.old-{dead.pid}-0123abcd").mkdir()   # a swap cut short: restored
    mine = tmp_path / temp_name("b.0001", "tmp", ".exr")
    mine.write_bytes(b"y")
    (tmp_path / "keep.0001.exr").write_bytes(b"z")
    assert sweep_stale(tmp_path) == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["clip2", mine.name,
                                                                  "keep.0001.exr"])


# ---- ProRes 4444 -----------------------------------------------------------------------------

def _rgba_frames(n: int, w: int = 64, h: int = 48) -> list[np.ndarray]:
    out = []
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    for i in range(n):
        rgb = [(x / w + 0.2 * i) % 1.0, y / h, np.full_like(x, 0.25 + 0.2 * i)]
        alpha = np.clip((x - 8 * i) / w + 0.2, 0.0, 1.0)      # a soft ramp that moves
        out.append(np.stack(rgb + [alpha], axis=2).astype(np.float32))
    return out


def test_prores_4444_alpha_round_trip(tmp_path):
    frames = _rgba_frames(3)
    path = resolve_output(tmp_path, "matte.mov")
    with ProResWriter(path, Fraction(24000, 1001), 64, 48) as w:
        for f in frames:
            w.write(f)
        assert _files(tmp_path) != ["matte.mov"]   # not in place before close
    assert _files(tmp_path) == ["matte.mov"]
    info = probe(path)
    assert info.codec == "prores" and info.frame_count == 3
    assert info.frame_rate == Fraction(24000, 1001)
    assert info.pixel_format.startswith("yuva444p")
    with VideoReader(path, alpha=True) as r:
        assert r._stream.codec_context.profile == "4444"
        for n, img in r.frames():
            assert img.shape == (48, 64, 4) and img.dtype == np.uint16
            back = img.astype(np.float32) / 65535.0
            assert np.abs(back[..., 3] - frames[n][..., 3]).max() < 2e-3
            assert np.abs(back[..., :3] - frames[n][..., :3]).max() < 2e-2
    with VideoReader(path) as r:
        assert r.read(0).shape == (48, 64, 3)      # RGB unless alpha is asked for


def test_prores_without_alpha_and_uint8_input(tmp_path):
    frame = (image_frames(1, channels=3, dtype="uint8")[0])
    with ProResWriter(tmp_path / "rgb.mov", 25, 64, 48, alpha=False) as w:
        w.write(frame)
    info = probe(tmp_path / "rgb.mov")
    assert info.pixel_format.startswith("yuv444p")
    with VideoReader(tmp_path / "rgb.mov", alpha=True) as r:
        img = r.read(0)
    assert img.shape == (48, 64, 3)
    assert np.abs(img.astype(np.float32) / 257.0 - frame).mean() < 2.0


def test_prores_disk_full_is_typed_and_leaves_nothing(tmp_path, monkeypatch):
    _inject(monkeypatch, "ENOSPC")
    with pytest.raises(DiskFullError, match="x.mov"):
        with ProResWriter(tmp_path / "x.mov", 24, 64, 48) as w:
            w.write(_rgba_frames(1)[0])
    assert _files(tmp_path) == []


def test_prores_failure_leaves_nothing(tmp_path):
    with pytest.raises(RuntimeError):
        with ProResWriter(tmp_path / "x.mov", 24, 64, 48) as w:
            w.write(_rgba_frames(1)[0])
            raise RuntimeError("job cancelled")
    assert _files(tmp_path) == []
    with pytest.raises(InvalidParamsError):
        with ProResWriter(tmp_path / "y.mov", 24, 64, 48) as w:
            w.write(np.zeros((10, 10, 4), np.uint8))  # wrong size
    assert _files(tmp_path) == []


# ---- the demo sample -------------------------------------------------------------------------

def test_make_sample(tmp_path):
    s = make_sample(tmp_path, width=160, height=96, seconds_per_shot=1.0)
    assert _files(tmp_path) == ["moviola_sample.mp4", "moviola_sample.otio"]
    per_shot = 24
    assert s.frame_count == 4 * per_shot and s.cuts == (24, 48, 72)
    info = probe(s.video_path)
    assert (info.frame_count, info.width, info.height) == (96, 160, 96)
    assert info.frame_rate == 24

    timeline = otio.adapters.read_from_file(str(s.timeline_path))
    (track,) = timeline.video_tracks()
    kinds = [type(item).__name__ for item in track]
    assert kinds == ["Clip", "Clip", "Gap", "Clip", "Clip"]
    clips = [item for item in track if isinstance(item, otio.schema.Clip)]
    assert [c.metadata["moviola"]["sample_shot"] for c in clips] == ["C", "A", "D", "B"]
    starts = [c.source_range.start_time.to_frames() for c in clips]
    assert starts == [ev.source_start for ev in s.edit]
    assert starts != sorted(starts)                     # edited out of media order
    for clip, ev in zip(clips, s.edit, strict=True):
        assert clip.media_reference.target_url == str(s.video_path)
        assert clip.range_in_parent().start_time.to_frames() == ev.record_start
        shot = next(t for t in s.shots if t.name == ev.shot)
        assert shot.first_frame <= ev.source_start
        assert ev.source_start + ev.duration - 1 <= shot.last_frame
    assert s.media_frame(s.gaps[0][0]) is None

    # The object is where the ground truth says, in its colour.
    with VideoReader(s.video_path) as r:
        for ev in s.edit:
            shot = next(t for t in s.shots if t.name == ev.shot)
            frame = ev.source_start + 3
            mask = shot.mask(frame, s.width, s.height)
            img = r.read(frame).astype(np.float32)
            inside = img[mask > 0.99].mean(axis=0)
            assert np.abs(inside - np.array(shot.colour)).max() < 12, shot.name
