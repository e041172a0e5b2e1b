"""The ``moviola`` command: parse, dispatch, map typed errors to exit codes.

Every subcommand talks to the engine through the client; only ``engine start`` runs the
engine in this process.
"""

from __future__ import annotations

import argparse
import sys

from moviola.plugin._version import __version__
from moviola.plugin.errors import EngineNotRunningError, EngineTimeoutError, MoviolaError

from . import (
    demo,
    depth_cmd,
    engine_cmd,
    farm_cmd,
    install_cmd,
    jobs_cmd,
    matte_cmd,
    models_cmd,
    panel_cmd,
    shots_cmd,
)
from .interrupt import EXIT_INTERRUPTED, JobInterrupted
from .report import emit_json

EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_ENGINE = 3


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="moviola", description="Moviola: AI assist for editors "
                                     "and compositors, driven by a local engine.")
    parser.add_argument("--version", action="version", version=f"moviola {__version__}")
    parser.add_argument("--no-autostart", action="store_true", dest="no_autostart",
                        help="fail instead of starting an engine when none runs")
    parser.add_argument("--timeout", type=float, default=10.0,
                        help="seconds to wait for each engine answer (default 10)")
    sub = parser.add_subparsers(dest="command", required=True)
    engine_cmd.add_parser(sub)
    jobs_cmd.add_parsers(sub)
    matte_cmd.add_parsers(sub)
    depth_cmd.add_parsers(sub)
    shots_cmd.add_parsers(sub)
    models_cmd.add_parsers(sub)
    panel_cmd.add_parsers(sub)
    install_cmd.add_parsers(sub)
    farm_cmd.add_parsers(sub)
    demo.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except JobInterrupted as stop:
        if getattr(args, "json", False):
            emit_json({"error": stop.to_wire()})
        print(f"moviola: {stop.line}", file=sys.stderr)
        return EXIT_INTERRUPTED
    except KeyboardInterrupt:   # outside a job's wait (connecting, a prompt): nothing to cancel
        return EXIT_INTERRUPTED
    except MoviolaError as exc:
        if getattr(args, "json", False):
            emit_json({"error": exc.to_wire()})
        print(f"moviola: error [{exc.code}]: {exc}", file=sys.stderr)
        return EXIT_ENGINE if isinstance(exc, (EngineNotRunningError, EngineTimeoutError)) else EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
