"""Start the engine in this process: lock, log, bind, serve.

``python -m moviola.engine`` and ``moviola engine start`` both end up in :func:`run_engine`.
A lock file in the Moviola folder keeps a second engine for the same user from starting: two
clients that both find no engine and both start one still end up talking to one engine. The
lock is held until the process ends, not until the server loop ends: an engine that is still
exiting is still the engine.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import time
from pathlib import Path
from typing import IO

from moviola.plugin.discovery import lock_path, read_discovery
from moviola.plugin.errors import MoviolaError
from moviola.plugin.private_files import open_private, private_dir

from .config import Settings, load_settings
from .logs import setup_logging

log = logging.getLogger("moviola.engine")

EXIT_ALREADY_RUNNING = 3
EXIT_CANNOT_LISTEN = 4


class EngineAlreadyRunning(RuntimeError):
    pass


# Clients probe the lock with a shared lock for an instant (discovery.engine_lock_held); a
# start that lands in that instant retries instead of taking it for a running engine.
LOCK_RETRY_S = 0.5
_held_lock: list[IO[str]] = []  # kept open for the life of the process


def hold_single_instance_lock(path: Path) -> None:
    """Take the per-user lock for the rest of this process, or raise EngineAlreadyRunning.

    The lock is never released by hand: the OS drops it when the process ends, however it
    ends, so a lingering engine keeps out a second one and a crashed one does not.
    """
    private_dir(path.parent)
    handle = open_private(path, "a+")
    deadline = time.monotonic() + LOCK_RETRY_S
    while True:
        try:
            _lock(handle)
            break
        except OSError:
            if time.monotonic() >= deadline:
                handle.close()
                raise EngineAlreadyRunning(str(path)) from None
            time.sleep(0.05)
    if os.name != "nt":  # Windows locks bytes of the file itself; clients cannot read it there
        # Clients compare this with the discovery file's pid, which may be stale.
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
    _held_lock.append(handle)


def _lock(handle: IO[str]) -> None:
    if sys.platform == "win32":   # the spelling type checkers follow; the same test as os.name
        import msvcrt
        msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
    else:
        import fcntl
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)


def run_engine(settings: Settings, *, foreground_log: bool = True) -> int:
    from .server import Engine  # zmq and the job registry load only when serving

    setup_logging(settings.log_path, settings.log_level, to_stderr=foreground_log)
    try:
        hold_single_instance_lock(lock_path())
    except EngineAlreadyRunning:
        found = read_discovery()
        where = f" at {found.endpoint} (pid {found.pid})" if found else ""
        print(f"moviola: an engine is already running for this user{where}", file=sys.stderr)
        return EXIT_ALREADY_RUNNING
    engine = Engine(settings)
    try:
        engine.bind()
    except MoviolaError as exc:  # an address it cannot or may not listen on
        print(f"moviola: {exc}", file=sys.stderr)
        return EXIT_CANNOT_LISTEN
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: engine.stop())
    if hasattr(signal, "SIGXFSZ"):  # a file size limit fails that write (EFBIG), not the engine
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    engine.serve_forever()
    stuck = engine.runner.active_count()
    if stuck:
        # Jobs that ignored cancel through the grace period hold worker threads that Python
        # would join at exit, forever. The discovery file is gone already; end the process.
        log.error("exiting with %d job(s) that did not stop within %.0f s of being cancelled",
                  stuck, settings.shutdown_grace_s)
        logging.shutdown()
        os._exit(0)
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
