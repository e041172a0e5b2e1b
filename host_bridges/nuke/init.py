# Moviola for Nuke: runs on every launch, GUI or not (render, -t), so no UI here.
# It puts the bridge and the client's wheels for this Python on the path; menu.py adds the menu.
import os
import sys

import nuke


def _moviola_paths():
    try:
        here = os.path.dirname(os.path.abspath(__file__))
    except NameError:   # a host that runs init.py without __file__: the plug-in path has us
        here = next((p for p in nuke.pluginPath()
                     if os.path.isdir(os.path.join(p, "moviola_nuke"))), "")
    if not here:
        return
    if here not in sys.path:
        sys.path.insert(0, here)
    if os.path.isfile(os.path.join(here, "moviola_bootstrap.py")):
        # Installed by `moviola install nuke`: its wheels for this Python, and the engine command.
        import moviola_bootstrap

        moviola_bootstrap.activate(here)
        return
    from moviola_nuke.paths import dependency_dirs  # a checkout: MOVIOLA_NUKE_SITE, site-packages

    for folder in dependency_dirs(here):
        nuke.pluginAddPath(folder, addToSysPath=True)


_moviola_paths()
