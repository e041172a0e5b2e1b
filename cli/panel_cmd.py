"""``moviola panel [--input PATH] [--clip N] [--out DIR]``: the Qt panel as a window.

Qt is imported only when the command runs (through qtpy: PySide6 or PySide2), so the rest of
the command line works without it.
"""

from __future__ import annotations

import argparse
import sys

from moviola.plugin.errors import MoviolaError


def add_parsers(sub: argparse._SubParsersAction) -> None:
    panel = sub.add_parser("panel", help="open the Moviola panel (needs the ui extra: PySide6, qtpy)")
    panel.add_argument("--input", help="a movie, an image sequence or a timeline to open")
    panel.add_argument("--clip", type=int, default=None,
                       help="for a timeline: index of the clip to show (among clips with media)")
    panel.add_argument("--out", default=None, help="output folder for the panel's jobs "
                                                   "(default: a new temporary folder)")
    panel.set_defaults(func=panel_cmd)


def panel_cmd(args: argparse.Namespace) -> int:
    try:
        from qtpy import QtWidgets

        from moviola.ui.panel import MoviolaWindow
    except Exception as exc:  # qtpy raises its own errors when no binding is installed
        raise MoviolaError(f"the panel needs Qt for Python (pip install 'moviola[ui]'): "
                                    f"{exc}") from exc
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(sys.argv[:1])
    window = MoviolaWindow(autostart=not args.no_autostart, timeout=args.timeout,
                           output_dir=args.out)
    if args.input:
        window.panel.open_media(args.input, clip=args.clip)
    window.show()
    return int(app.exec() if hasattr(app, "exec") else app.exec_())
