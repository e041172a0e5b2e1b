"""Start the engine in this process: lock, log, bind, serve.

``python -m moviola.engine`` and ``moviola engine start`` both end up in :func:`run_engine`.
A lock file in the Moviola folder keeps a second engine for the same user from starting: two
clients that both find no engine and both start one still end up talking to one engine.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from moviola.plugin.discovery import moviola_home, read_discovery

from .config import Settings, load_settings
from .logs import setup_logging

log = logging.getLogger("moviola.engine")

EXIT_ALREADY_RUNNING = 3


class EngineAlreadyRunning(RuntimeError):
    pass


@contextmanager
def single_instance(lock_path: Path) -> Iterator[None]:
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    handle = open(lock_path, "a+")
    try:
        if os.name == "nt":
            import msvcrt
            try:
                msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
            except OSError:
                raise EngineAlreadyRunning(str(lock_path)) from None
        else:
            import fcntl
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                raise EngineAlreadyRunning(str(lock_path)) from None
        yield
    finally:
        handle.close()  # the OS releases the lock, also when the engine crashes


def run_engine(settings: Settings, *, foreground_log: bool = True) -> int:
    from .server import Engine  # zmq and the job registry load only when serving

    setup_logging(settings.log_path, settings.log_level, to_stderr=foreground_log)
    try:
        with single_instance(moviola_home() / "engine.lock"):
            engine = Engine(settings)
            engine.bind()
            for sig in (signal.SIGINT, signal.SIGTERM):
                signal.signal(sig, lambda *_: engine.stop())
            if hasattr(signal, "SIGXFSZ"):  # a file size limit fails that write (EFBIG), not the engine
                signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            engine.serve_forever()
    except EngineAlreadyRunning:
        found = read_discovery()
        where = f" at {found.endpoint} (pid {found.pid})" if found else ""
        print(f"moviola: an engine is already running for this user{where}", file=sys.stderr)
        return EXIT_ALREADY_RUNNING
    return 0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m moviola.engine",
                                     description="Run the Moviola engine in the foreground.")
    add_engine_flags(parser)
    return parser.parse_args(argv)


def add_engine_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", help="interface to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, help="TCP port (default: any free port)")
    parser.add_argument("--max-jobs", type=int, dest="max_jobs", help="jobs run at once")
    parser.add_argument("--log-level", dest="log_level", help="DEBUG, INFO, WARNING...")
    parser.add_argument("--quiet", action="store_true", help="log to the file only")


def settings_from_args(args: argparse.Namespace) -> Settings:
    return load_settings({"host": args.host, "port": args.port, "max_jobs": args.max_jobs,
                          "log_level": args.log_level})


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    return run_engine(settings_from_args(args), foreground_log=not args.quiet)
