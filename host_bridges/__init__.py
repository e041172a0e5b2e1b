"""The code that runs inside each host's own Python, shipped for ``moviola install`` to copy.

``nuke/`` (plug-in folder for ~/.nuke), ``resolve/`` (Workspace > Scripts), and
``moviola_bootstrap`` (copied beside each bridge: puts the installed client on sys.path).
"""
