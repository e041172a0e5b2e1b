"""Every frame job exports what hosts import (``--export xml,edl``: a ProRes movie per
generated clip, referred to from FCP7 XML and EDL), and a job that produced nothing fails
through the real command with a typed error, a non-zero exit and no result written."""

from __future__ import annotations

import json
from pathlib import Path

import av
import opentimelineio as otio
import pytest

from depth_scenes import make_scene, write_movie
from matte_clips import render_matte_clip
from moviola.cli.jobs_cmd import export_arg
from moviola.cli.main import main as cli_main
from moviola.plugin.timeline import url_to_path
from shared_data import SHARED_DATA


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict]:
    code = cli_main(["--no-autostart", *argv, "--json"])
    out = capsys.readouterr().out
    return code, json.loads(out) if out.strip() else {}


def _movie(path: str) -> tuple[str, int]:
    """The codec profile's pixel format and the frame count of a movie."""
    with av.open(path) as container:
        stream = container.streams.video[0]
        return stream.codec_context.pix_fmt or "", sum(1 for _ in container.decode(stream))


def _xml_movies(xml: str) -> list[str]:
    """The movies the generated track of an FCP7 XML plays."""
    timeline = otio.adapters.read_from_file(xml)
    clips = timeline.video_tracks()[-1].find_clips()
    return [url_to_path(c.media_reference.target_url)[0] or "" for c in clips]


def test_export_option_parses_formats() -> None:
    assert export_arg("xml,edl") == ["xml", "edl"] and export_arg(" EDL ") == ["edl"]
    with pytest.raises(Exception, match="xml"):
        export_arg("aaf")


def test_depth_exports_a_grey_prores_movie_per_clip(engine, tmp_path: Path, capsys) -> None:
    movie = write_movie(make_scene("truck", 12), tmp_path / "truck.mp4")
    code, result = _run(capsys, "depth", str(movie), "--out", str(tmp_path / "out"),
                        "--backend", "parallax", "--format", "png16", "--export", "xml,edl")
    assert code == 0, result
    xml = [p for p in result["exports"] if p.endswith(".xml")]
    edls = [p for p in result["exports"] if p.endswith(".edl")]
    assert len(xml) == 1 and len(edls) == 1
    [played] = _xml_movies(xml[0])
    assert played.endswith(".mov") and Path(played).is_file()
    pix_fmt, count = _movie(played)
    assert pix_fmt.startswith("yuv444p") and count == len(result["frames"])   # ProRes 4444
    assert Path(played).name in Path(edls[0]).read_text()


def test_matte_exports_a_prores_4444_matte_with_alpha(engine, tmp_path: Path, capsys) -> None:
    clip = render_matte_clip(tmp_path / "small.mp4", width=192, height=144, frames=8)
    x, y = clip.clicks(0)["include"][0]
    code, result = _run(capsys, "matte", str(clip.path), "--frame", "0", "--include", f"{x},{y}",
                        "--backend", "classical", "--format", "png", "--out", str(tmp_path / "out"),
                        "--export", "xml")
    assert code == 0, result
    [xml] = result["exports"]
    [played] = _xml_movies(xml)
    pix_fmt, count = _movie(played)
    assert pix_fmt.startswith("yuva444p") and count == len(result["frames"])   # with alpha
    # The OTIO keeps the image sequence; the movie is named beside it.
    [res] = otio.adapters.read_from_file(result["otio"]).video_tracks()[-1].find_clips()
    assert isinstance(res.media_reference, otio.schema.ImageSequenceReference)
    assert res.metadata["moviola"]["movie"] == played


def _empty_timeline(folder: Path) -> Path:
    path = folder / "empty.otio"
    otio.adapters.write_to_file(otio.schema.Timeline(name="empty"), str(path))
    return path


AUDIO_EDL = SHARED_DATA / "timelines" / "edl" / "multi_audio.edl"


@pytest.mark.parametrize("kind", ["proxy", "depth"])
@pytest.mark.parametrize("which", ["empty", "audio"])
def test_a_job_that_produced_nothing_exits_non_zero_and_writes_nothing(
        engine, tmp_path: Path, capsys, kind: str, which: str) -> None:
    if which == "audio" and not AUDIO_EDL.is_file():
        pytest.skip("shared timelines are absent")
    source = _empty_timeline(tmp_path) if which == "empty" else AUDIO_EDL
    out = tmp_path / "out"
    extra = ["--backend", "parallax"] if kind == "depth" else []
    code = cli_main(["--no-autostart", kind, str(source), "--out", str(out), *extra])
    err = capsys.readouterr().err
    assert code != 0
    assert "[nothing_produced]" in err and "no video clips" in err, err
    written = [p for p in out.rglob("*") if p.is_file()] if out.exists() else []
    assert not [p for p in written if p.suffix in (".otio", ".xml", ".edl")], written


def test_depth_that_failed_every_clip_names_them(client, tmp_path: Path) -> None:
    from moviola.plugin.errors import NothingProducedError

    track = otio.schema.Track(name="V1")
    rt, tr = otio.opentime.RationalTime, otio.opentime.TimeRange
    for name in ("first", "second"):
        junk = tmp_path / f"{name}.mov"
        junk.write_bytes(b"not a movie")
        track.append(otio.schema.Clip(
            name=name, media_reference=otio.schema.ExternalReference(
                target_url=str(junk), available_range=tr(rt(0, 24), rt(48, 24))),
            source_range=tr(rt(0, 24), rt(24, 24))))
    path = tmp_path / "broken.otio"
    otio.adapters.write_to_file(otio.schema.Timeline(name="broken", tracks=[track]), str(path))
    with pytest.raises(NothingProducedError) as caught:
        client.submit("depth", {"input": str(path), "out": str(tmp_path / "out"),
                                "backend": "parallax"}).wait()
    assert caught.value.detail["reason"] == "all_clips_failed"
    assert "first" in str(caught.value) and "second" in str(caught.value)
    assert not (tmp_path / "out" / "broken.depth.otio").exists()
