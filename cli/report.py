"""How the command line prints: a human summary on stdout, or JSON with --json.

Progress goes to stderr so stdout stays clean for pipes and for ``--json``.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any, Callable

from moviola.plugin.client import Event


def emit_json(data: Any) -> None:
    json.dump(data, sys.stdout, indent=2, sort_keys=False, default=str)
    sys.stdout.write("\n")


def progress_printer(label: str, *, quiet: bool = False) -> Callable[[Event], None]:
    """A progress callback: a redrawn line on a terminal, sparse lines otherwise."""
    stream = sys.stderr
    last = [0.0]

    def show(event: Event) -> None:
        if quiet:
            return
        body = event.body
        fraction = float(body.get("fraction", 0.0))
        message = body.get("message", "")
        if stream.isatty():
            bar = "#" * int(fraction * 30)
            stream.write(f"\r{label} [{bar:<30}] {fraction * 100:5.1f}% {message[:40]:<40}")
            stream.flush()
        elif time.monotonic() - last[0] > 2.0:
            stream.write(f"{label}: {fraction * 100:.0f}% {message}\n")
            last[0] = time.monotonic()

    return show


def end_progress(quiet: bool = False) -> None:
    if not quiet and sys.stderr.isatty():
        sys.stderr.write("\n")


def human_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.1f} {unit}" if unit != "B" else f"{int(n)} B"
        n /= 1024
    return str(n)


def frame_span(frames: list[int]) -> str:
    return f"{frames[0]}-{frames[-1]} ({len(frames)} frames)" if frames else "no frames"
