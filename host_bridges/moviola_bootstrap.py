"""Make an installed Moviola bridge runnable inside its host's own Python.

``moviola install`` copies this file beside each bridge, with ``moviola_host.json`` (written
by the installer) and ``site-packages/py3.X/`` per host Python version (pyzmq, msgpack,
OpenTimelineIO wheels built for it, and the pure-Python ``moviola.plugin``).
``activate(folder)`` puts that folder on sys.path and tells the client how to start the engine,
which runs from Moviola's own environment, never from the host.

Standard library only, and Python 3.6 syntax: Resolve runs whatever Python the user has.
"""

import json
import os
import sys

CONFIG_NAME = "moviola_host.json"
SITE_PACKAGES = "site-packages"

_active = {}


def activate(folder):
    """Put the client on sys.path and set how the engine starts; returns the install's config.

    The site-packages folder goes last on sys.path: a module the host ships itself (Hiero's
    OpenTimelineIO) stays the host's. ``$MOVIOLA_PYTHON`` or ``$MOVIOLA_ENGINE_COMMAND``
    set by the user win over the installer's choice. Calling it again does nothing.
    """
    folder = os.path.abspath(folder)
    if folder in _active:
        return _active[folder]
    with open(os.path.join(folder, CONFIG_NAME), encoding="utf-8") as handle:
        config = json.load(handle)
    version = "{}.{}".format(*sys.version_info[:2])
    site = os.path.join(folder, SITE_PACKAGES, "py" + version)
    if not os.path.isdir(site):
        installed = ", ".join(config.get("host_pythons", []))
        host = config.get("host", "all")
        raise ImportError(f"Moviola was installed for Python {installed}, and this host runs "
                          f"Python {version}: run `moviola install {host} --host-python {version}`")
    if site not in sys.path:
        sys.path.append(site)
    if not os.environ.get("MOVIOLA_ENGINE_COMMAND") and config.get("engine_python"):
        os.environ.setdefault("MOVIOLA_PYTHON", config["engine_python"])
    _active[folder] = config
    return config
