"""Outputs under faults, against real engine processes: a file size limit, a full disk, a
SIGKILL mid-run, a cancelled re-run at another size, and a sequence whose middle frames
change. Every failed write is one typed error naming the file, nothing incomplete appears
under a final name, a result folder is never a mix of two runs, and the engine lives on."""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import OpenImageIO as oiio
import pytest

from engine_harness import start_engine_process, wait_gone
from matte_clips import render_matte_clip
from moviola.plugin import errors
from synthetic import write_sequence, write_video

LIMIT = 40 * 1024   # the tester's `ulimit -f 40`


def _limit_file_size() -> None:
    resource.setrlimit(resource.RLIMIT_FSIZE, (LIMIT, LIMIT))


def _noise_sequence(folder: Path, count: int, size=(320, 240)) -> str:
    """PNG frames of noise: each one far larger than LIMIT in any lossless format."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(7)
    for n in range(count):
        cv2.imwrite(str(folder / f"noise.{1001 + n:04d}.png"),
                    rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8))
    return str(folder / "noise.%04d.png")


def _tree(out: Path) -> list[Path]:
    return sorted(p for p in out.rglob("*") if p.is_file())


def _hidden(out: Path) -> list[str]:
    return sorted(p.name for p in out.rglob(".*"))


def _width(path: Path) -> int:
    buf = oiio.ImageBuf(str(path))
    assert not buf.has_error, buf.geterror()
    buf.get_pixels()   # decode it all: a truncated file fails here
    assert not buf.has_error, f"{path.name}: {buf.geterror()}"
    return buf.spec().width


def _alive_and_working(engine, tmp_path: Path) -> None:
    with engine.client(timeout=10.0) as client:
        assert client.hello()["pid"] == engine.process.pid
        media = write_video(tmp_path / "after.mp4", 4, rate=Fraction(24), size=(64, 48))
        result = client.submit("proxy", {"input": str(media), "out": str(tmp_path / "after"),
                                         "max_width": 32}).wait()
        assert len(result["files"]) == 4


@pytest.fixture
def limited_engine(tmp_path):
    engine = start_engine_process(tmp_path / "home", preexec_fn=_limit_file_size)
    yield engine
    engine.stop()


@pytest.mark.parametrize("fmt", ["png", "jpg", "exr"])
def test_size_limit_fails_typed_and_engine_lives(limited_engine, tmp_path, fmt):
    plates = _noise_sequence(tmp_path / "plates", 8)
    out = tmp_path / "out"
    with limited_engine.client(timeout=10.0) as client:
        with pytest.raises(errors.OutputWriteError) as err:
            client.submit("proxy", {"input": plates, "out": str(out), "format": fmt,
                                    "max_width": 0, "writers": 1}).wait()
    assert err.value.code == "output_write_failed"
    assert err.value.path and Path(err.value.path).name.startswith("noise_proxy.10")
    assert "size limit" in str(err.value)
    assert _tree(out) == []                      # nothing unreadable under a final name
    assert limited_engine.process.poll() is None
    _alive_and_working(limited_engine, tmp_path)


@pytest.fixture
def small_disk(tmp_path):
    """A 3 MB tmpfs where the machine allows mounting one; otherwise None (the test then
    injects ENOSPC through MOVIOLA_FAULT_WRITE)."""
    mount = tmp_path / "small"
    mount.mkdir()
    made = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(mount)],
                          capture_output=True).returncode == 0
    yield mount if made else None
    if made:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True)


def test_full_disk_fails_with_disk_full_and_engine_lives(small_disk, tmp_path):
    plates = _noise_sequence(tmp_path / "plates", 24)    # about 5.5 MB of PNG
    settings = {} if small_disk is not None else {"fault_write": "ENOSPC:3"}
    out = (small_disk or tmp_path) / "out"
    engine = start_engine_process(tmp_path / "home", **settings)
    try:
        with engine.client(timeout=10.0) as client:
            with pytest.raises(errors.DiskFullError) as err:
                client.submit("proxy", {"input": plates, "out": str(out), "format": "png",
                                        "max_width": 0, "writers": 2}).wait()
        assert err.value.code == "disk_full" and err.value.path.endswith(".png")
        assert _tree(out) == []                  # no empty or partial frames left anywhere
        if small_disk is None:
            return   # the injected fault would fail the next job too
        _alive_and_working(engine, tmp_path)
    finally:
        engine.stop()


def _proxy(client, media, out, width, **extra):
    return client.submit("proxy", {"input": str(media), "out": str(out), "format": "png",
                                   "max_width": width, "writers": 1, **extra})


def _final(out: Path) -> list[Path]:
    """Files under final names: none of their path parts hidden."""
    return [p for p in _tree(out) if not any(part.startswith(".") for part in p.relative_to(out).parts)]


def _snapshot(out: Path) -> dict[str, int]:
    return {str(p.relative_to(out)): p.stat().st_size for p in _final(out)}


def _otio_width(otio_path: str) -> int:
    text = Path(otio_path).read_text()
    return json.loads(text)["tracks"]["children"][-1]["children"][0]["metadata"]["moviola"][
        "params"]["max_width"]


def test_sigkill_mid_run_leaves_previous_result_and_next_run_sweeps(tmp_path):
    media = write_video(tmp_path / "clip.mp4", 120, rate=Fraction(24), size=(320, 240))
    out = tmp_path / "out"
    engine = start_engine_process(tmp_path / "home")
    with engine.client(timeout=10.0) as client:
        first = _proxy(client, media, out, 160).wait()
        before = _snapshot(out)
        job = _proxy(client, media, out, 96)
        for event in job.events():
            if not event.final and event.body.get("done", 0) >= 30:
                break
    os.kill(engine.process.pid, signal.SIGKILL)
    assert wait_gone(engine.process.pid)
    assert _snapshot(out) == before              # the old result, untouched
    assert all(_width(p) == 160 for p in _final(out) if p.suffix == ".png")
    assert _otio_width(first["otio"]) == 160
    assert any(".staging-" in name for name in _hidden(out))   # the killed run's, not final

    engine = start_engine_process(tmp_path / "home2")
    try:
        with engine.client(timeout=10.0) as client:
            second = _proxy(client, media, out, 96).wait()
        assert _hidden(out) == []                # the killed run's staging folder is swept
        frames = [p for p in _tree(out) if p.suffix == ".png"]
        assert len(frames) == 120 and all(_width(p) == 96 for p in frames)
        assert _otio_width(second["otio"]) == 96
    finally:
        engine.stop()


def test_cancelled_rerun_at_another_size_keeps_the_old_result(client, tmp_path):
    media = write_video(tmp_path / "clip.mp4", 120, rate=Fraction(24), size=(320, 240))
    out = tmp_path / "out"
    first = _proxy(client, media, out, 160).wait()
    before = _snapshot(out)
    job = _proxy(client, media, out, 96)
    for event in job.events():
        if not event.final and event.body.get("done", 0) >= 36:   # 30 %
            job.cancel()
    with pytest.raises(errors.JobCancelledError):
        job.result()
    assert _snapshot(out) == before
    assert all(_width(p) == 160 for p in _tree(out) if p.suffix == ".png")
    assert _otio_width(first["otio"]) == 160     # the OTIO agrees with the frames
    assert _hidden(out) == []                    # nothing staged is left behind


def test_changed_middle_frames_are_cache_misses(client, tmp_path):
    clip = render_matte_clip(tmp_path / "clip.mp4", width=96, height=64, frames=12)
    with av.open(str(clip.path)) as container:
        frames = [f.to_ndarray(format="rgb24").astype(np.float32) / 255.0
                  for f in container.decode(video=0)]
    plates = tmp_path / "plates"
    write_sequence(plates, "plate", "exr", frames, start=1001)
    params = {"input": str(plates / "plate.%04d.exr"), "out": str(tmp_path / "out"),
              "backend": "classical",
              "keyframes": [{"frame": 1001, "object": 1, **clip.clicks(0)}]}
    first = client.submit("matte", params).wait()
    assert first["computed_frames"] == 11
    again = client.submit("matte", params).wait()
    assert again["computed_frames"] == 0 and again["reused_frames"] == 11
    # Rewrite frames 1004-1009 (the middle, not the first or last file) with other pictures.
    changed = [np.ascontiguousarray(frames[i][:, ::-1]) for i in range(3, 9)]
    write_sequence(plates, "plate", "exr", changed, start=1004)
    third = client.submit("matte", params).wait()
    assert third["reused_frames"] == 0 and third["computed_frames"] == 11
