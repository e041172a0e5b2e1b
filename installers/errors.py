"""The one error an install, uninstall or doctor run raises; it never travels over the wire."""

from __future__ import annotations

from moviola.plugin.errors import MoviolaError


class InstallError(MoviolaError, OSError):
    """An install could not be done: a host without a bridge, a failed wheel download, a bad file."""

    code = "install_failed"
