"""How the command line prints: a human summary on stdout, or JSON with --json.

Progress goes to stderr so stdout stays clean for pipes; ``--json`` shows none.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any, TextIO

from moviola.plugin.client import Event


def emit_json(data: Any) -> None:
    json.dump(data, sys.stdout, indent=2, sort_keys=False, default=str)
    sys.stdout.write("\n")


# What a job's done/total count, for the rate ("frames/s"); frames unless listed.
UNITS = {"probe": "files", "install_model": "B", "matchcuts": "steps"}
# Without a terminal (logs, pipes) a line at most this often, plus the last one.
LOG_INTERVAL_S = 2.0


class ProgressBar:
    """A progress callback for :meth:`Job.wait` with rate and time left (tqdm).

    On a terminal: one redrawn bar on stderr. Otherwise: a plain line every
    :data:`LOG_INTERVAL_S` and one at the end, so logs get the same figures without carriage
    returns. ``quiet`` (``--json``) draws nothing. Use as a context manager.
    """

    def __init__(self, label: str, *, unit: str = "frames", quiet: bool = False,
                 stream: TextIO | None = None) -> None:
        self.label, self.unit, self.quiet = label, unit, quiet
        self.scale = unit == "B"   # bytes: shown as kB, MB, GB
        self.stream = stream if stream is not None else sys.stderr
        self.bar: Any = None
        self.started = time.monotonic()
        self.last_line = 0.0
        self.done, self.total, self.message = 0, 0, ""

    def __call__(self, event: Event) -> None:
        if self.quiet:
            return
        body = event.body
        self.done = int(body.get("done", 0))
        self.total = int(body.get("total", 0))
        self.message = str(body.get("message", ""))
        if self.stream.isatty():
            self._draw()
        elif time.monotonic() - self.last_line >= LOG_INTERVAL_S:
            self._line()

    def _draw(self) -> None:
        from tqdm import tqdm
        if self.bar is None:
            self.bar = tqdm(total=self.total or None, desc=self.label, unit=self.unit,
                            file=self.stream, dynamic_ncols=True, leave=True,
                            unit_scale=self.scale)
        if self.total and self.bar.total != self.total:
            self.bar.total = self.total
        self.bar.update(self.done - self.bar.n)
        self.bar.set_postfix_str(self.message[:40], refresh=True)

    def _line(self) -> None:
        from tqdm import tqdm
        meter = tqdm.format_meter(self.done, self.total or None,
                                  time.monotonic() - self.started, prefix=self.label,
                                  unit=self.unit, postfix=self.message or None, ncols=0,
                                  unit_scale=self.scale)
        self.stream.write(meter + "\n")
        self.stream.flush()
        self.last_line = time.monotonic()

    def close(self) -> None:
        if self.quiet:
            return
        if self.bar is not None:
            self.bar.close()
            self.bar = None
        elif self.done and not self.stream.isatty():
            self._line()                       # the closing figures

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def human_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.1f} {unit}" if unit != "B" else f"{int(n)} B"
        n /= 1024
    return str(n)


def frame_span(frames: list[int]) -> str:
    return f"{frames[0]}-{frames[-1]} ({len(frames)} frames)" if frames else "no frames"
