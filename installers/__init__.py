"""Putting Moviola's host bridges where Nuke and Resolve look for them, and checking the result.

``install`` copies a bridge into the host's per-user folder with the client libraries built
for the host's own Python; ``uninstall`` removes what its manifest says install wrote;
``doctor`` says what works and what to fix. The command line is ``moviola.cli.install_cmd``.
"""
