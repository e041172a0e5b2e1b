"""Command-line progress: rate and time left on a terminal and in logs, nothing with --json;
through a real engine job (the test ``sleep`` kind) and on its own."""

from __future__ import annotations

import argparse
import io
import re

from moviola.cli.jobs_cmd import run_job
from moviola.cli.report import ProgressBar
from moviola.plugin.client import Event


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def event(done: int, total: int, message: str = "") -> Event:
    return Event(type="progress", job_id="j", body={"done": done, "total": total,
                                                    "fraction": done / total, "message": message})


def args(json: bool) -> argparse.Namespace:
    return argparse.Namespace(no_autostart=True, timeout=30.0, json=json)


def test_terminal_bar_shows_rate_and_time_left():
    screen = Terminal()
    with ProgressBar("proxy", stream=screen) as show:
        for done in (10, 20, 48):
            show(event(done, 96, "clip_a"))
    drawn = screen.getvalue()
    assert "48/96" in drawn and "frames/s" in drawn and "clip_a" in drawn
    assert re.search(r"<\d\d:\d\d", drawn)                     # time left


def test_log_lines_are_plain_and_end_with_the_totals():
    log = io.StringIO()
    with ProgressBar("probe", unit="files", stream=log) as show:
        show(event(1, 3, "a.mov"))
        show(event(3, 3, "c.mov"))                              # within the interval: held
    lines = log.getvalue().splitlines()
    assert "\r" not in log.getvalue() and len(lines) == 2
    assert "1/3" in lines[0] and "3/3" in lines[-1] and "files/s" in lines[-1]


def test_quiet_bar_writes_nothing():
    log = Terminal()
    with ProgressBar("proxy", quiet=True, stream=log) as show:
        show(event(5, 10))
    assert log.getvalue() == ""


def test_a_real_job_reports_frames_per_second_and_json_stays_clean(engine, capsys):
    run_job(args(json=False), "sleep", {"steps": 12, "step_s": 0.02}, lambda result: None)
    err = capsys.readouterr().err
    assert "sleep" in err and "12/12" in err and "frames/s" in err
    run_job(args(json=True), "sleep", {"steps": 12, "step_s": 0.02}, lambda result: None)
    captured = capsys.readouterr()
    assert captured.err == "" and captured.out.lstrip().startswith("{")
