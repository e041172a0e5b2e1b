"""Workspace > Scripts > Utility > Moviola: run a Moviola job on the clips picked in the
current timeline. Resolve runs it with a live ``resolve`` object in its globals.

`moviola install resolve` keeps this file and ``moviola_resolve`` in
``<moviola home>/bridges/resolve/`` and lists a launcher under Scripts/Utility that puts that
folder and the client on sys.path first. Run by hand, MOVIOLA_BRIDGE_PATH (os.pathsep list)
names the folders to add.
"""

import os
import sys

for _path in os.environ.get("MOVIOLA_BRIDGE_PATH", "").split(os.pathsep):
    if _path and _path not in sys.path:
        sys.path.insert(0, _path)

from moviola_resolve.menu import main  # noqa: E402  (the path is set just above)

main(globals()["resolve"])
