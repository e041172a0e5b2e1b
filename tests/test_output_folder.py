"""A job given no ``out`` writes under ``<output_dir>/<input stem>`` (the output_dir setting)."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import pytest

from engine_harness import start_engine_process
from moviola.engine.config import Settings
from moviola.engine.jobs.output_folder import output_folder
from moviola.plugin import errors
from synthetic import write_video


def test_out_wins_then_output_dir_then_a_typed_error(tmp_path):
    settings = Settings(output_dir=str(tmp_path / "renders"))
    assert output_folder("/given", "/plates/a.mov", settings) == "/given"
    assert output_folder(None, "/plates/shot.%04d.exr", settings) == str(tmp_path / "renders" / "shot")
    assert output_folder(None, "/edits/reel1.otio", settings) == str(tmp_path / "renders" / "reel1")
    with pytest.raises(errors.InvalidParamsError, match="output_dir") as caught:
        output_folder(None, "/plates/a.mov", Settings())
    assert caught.value.detail == {"param": "out"}


def test_engine_without_output_dir_refuses_a_job_without_out(client, tmp_path):
    media = write_video(tmp_path / "a.mp4", 4, rate=Fraction(24), size=(64, 48))
    with pytest.raises(errors.InvalidParamsError, match="output folder"):
        client.submit("proxy", {"input": str(media)})


def test_proxy_without_out_writes_under_output_dir(tmp_path):
    media = write_video(tmp_path / "plate.mp4", 6, rate=Fraction(24), size=(64, 48))
    renders = tmp_path / "renders"
    running = start_engine_process(tmp_path / "home", output_dir=str(renders))
    try:
        with running.client(timeout=20.0) as client:
            result = client.submit("proxy", {"input": str(media)}).wait()
    finally:
        running.stop()
    assert Path(result["otio"]) == renders / "plate" / "plate.proxy.otio"
    assert len(result["files"]) == 6
    assert all(Path(f).is_relative_to(renders / "plate") for f in result["files"])
