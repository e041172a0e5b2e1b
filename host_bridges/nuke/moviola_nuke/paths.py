"""Where the bridge finds the client's dependencies inside Nuke (standard library only).

``moviola install nuke`` puts pyzmq, msgpack, OTIO and ``moviola.plugin``/``moviola.ui`` for
Nuke's own Python into ``<bridge folder>/site-packages/py<major>.<minor>``, never into
Nuke's installation; ``MOVIOLA_NUKE_SITE`` (os.pathsep list) adds folders of one's own.
"""

from __future__ import annotations

import os
import sys

__all__ = ["dependency_dirs"]


def dependency_dirs(bridge_dir: str) -> list[str]:
    """The folders to put on Nuke's path, the ones that exist, in order."""
    version = f"py{sys.version_info[0]}.{sys.version_info[1]}"
    candidates = [p for p in os.environ.get("MOVIOLA_NUKE_SITE", "").split(os.pathsep) if p]
    candidates.append(os.path.join(bridge_dir, "site-packages", version))
    return [p for p in candidates if os.path.isdir(p)]
