"""Engine logging: a rotating file in the user's Moviola folder, plus stderr in the foreground."""

from __future__ import annotations

import logging
import logging.handlers
import sys
from pathlib import Path

from moviola.plugin.private_files import open_private, private_dir

FORMAT = "%(asctime)s %(levelname)-7s %(name)s [%(threadName)s] %(message)s"


class PrivateRotatingFileHandler(logging.handlers.RotatingFileHandler):
    """A rotating log whose files are the owner's only: logs name paths, jobs and clients."""

    def _open(self):
        return open_private(self.baseFilename, self.mode, encoding=self.encoding)


def setup_logging(log_path: Path, level: str = "INFO", *, to_stderr: bool = False) -> None:
    private_dir(log_path.parent)
    root = logging.getLogger("moviola")
    root.setLevel(level.upper())
    for handler in list(root.handlers):
        root.removeHandler(handler)
    file_handler = PrivateRotatingFileHandler(
        log_path, maxBytes=5 * 1024 * 1024, backupCount=3, encoding="utf-8")
    file_handler.setFormatter(logging.Formatter(FORMAT))
    root.addHandler(file_handler)
    if to_stderr:
        stream = logging.StreamHandler(sys.stderr)
        stream.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
        root.addHandler(stream)
