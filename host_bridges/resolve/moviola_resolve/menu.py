"""What Workspace > Scripts > Moviola does: ask for the clips and the job, run it, say what
happened in Resolve's Console. The dialog is Resolve's UIManager where the edition allows it,
else a Qt dialog when PySide is importable here, else the defaults (the current clip, shots)
or MOVIOLA_RESOLVE_JOB / MOVIOLA_RESOLVE_PICK / MOVIOLA_RESOLVE_COLOUR."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from moviola.plugin.errors import MoviolaError

from .connect import INSTEAD, Capabilities, capabilities, current_timeline
from .run import JOBS, default_out, run_job
from .selection import PICKS

__all__ = ["Choice", "choose", "main"]

PICK_LABELS = {"current": "Current video clip", "colour": "Clips of one clip colour",
               "in_out": "Clips between in and out"}
CLIP_COLOURS = ("Orange", "Apricot", "Yellow", "Lime", "Olive", "Green", "Teal", "Navy", "Blue",
                "Purple", "Violet", "Pink", "Tan", "Beige", "Brown", "Chocolate")
MATTE = "matte (opens the Moviola panel)"


@dataclass(frozen=True)
class Choice:
    job: str
    how: str
    colour: str | None = None


def _defaults() -> Choice:
    return Choice(job=os.environ.get("MOVIOLA_RESOLVE_JOB", "shots"),
                  how=os.environ.get("MOVIOLA_RESOLVE_PICK", "current"),
                  colour=os.environ.get("MOVIOLA_RESOLVE_COLOUR") or None)


def _ui_manager_choice(fusion: Any) -> Choice | None:  # pragma: no cover - needs Resolve
    """A small Fusion UIManager dialog (documented for Fusion scripts; untested in Resolve)."""
    ui = fusion.UIManager
    import bmd  # present in Resolve's script environment
    disp = bmd.UIDispatcher(ui)
    win = disp.AddWindow({"ID": "MoviolaWin", "WindowTitle": "Moviola"}, ui.VGroup([
        ui.ComboBox({"ID": "Job"}), ui.ComboBox({"ID": "Pick"}), ui.ComboBox({"ID": "Colour"}),
        ui.HGroup([ui.Button({"ID": "Run", "Text": "Run"}), ui.Button({"ID": "Cancel", "Text": "Cancel"})])]))
    items = win.GetItems()
    for job in (*JOBS, MATTE):
        items["Job"].AddItem(job)
    for how in PICKS:
        items["Pick"].AddItem(PICK_LABELS[how])
    for colour in CLIP_COLOURS:
        items["Colour"].AddItem(colour)
    chosen: list[Choice] = []

    def run(_: Any) -> None:
        chosen.append(Choice(job=items["Job"].CurrentText, how=PICKS[items["Pick"].CurrentIndex],
                             colour=items["Colour"].CurrentText))
        disp.ExitLoop()

    win.On.Run.Clicked = run
    win.On.Cancel.Clicked = lambda _: disp.ExitLoop()
    win.On.MoviolaWin.Close = lambda _: disp.ExitLoop()
    win.Show()
    disp.RunLoop()
    win.Hide()
    return chosen[0] if chosen else None


def _qt_choice() -> Choice | None:  # pragma: no cover - interactive
    from qtpy import QtWidgets  # only when Qt is installed for this Python

    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([])
    job, ok = QtWidgets.QInputDialog.getItem(None, "Moviola", "Job", [*JOBS, MATTE], 0, False)
    if not ok:
        return None
    label, ok = QtWidgets.QInputDialog.getItem(None, "Moviola", "Clips", list(PICK_LABELS.values()), 0, False)
    if not ok:
        return None
    how = next(k for k, v in PICK_LABELS.items() if v == label)
    colour = None
    if how == "colour":
        colour, ok = QtWidgets.QInputDialog.getItem(None, "Moviola", "Clip colour",
                                                    list(CLIP_COLOURS), 0, False)
        if not ok:
            return None
    del app
    return Choice(job=job, how=how, colour=colour)


def _qt_available() -> bool:
    try:
        import qtpy  # noqa: F401
    except Exception:  # qtpy raises its own error when no binding is installed
        return False
    return True


def choose(resolve: Any, caps: Capabilities) -> Choice | None:
    if caps.ui_manager:
        fusion = resolve.Fusion()
        if fusion is not None:
            return _ui_manager_choice(fusion)
    if _qt_available():
        return _qt_choice()
    return _defaults()


def _open_panel() -> str:  # pragma: no cover - interactive
    if not _qt_available():
        return ("Mattes need clicks on the picture: install PySide6 (or PySide2) and qtpy for this "
                "Python, or run `moviola panel` and open the clip there.")
    from qtpy import QtWidgets

    from moviola.ui.panel import MoviolaPanel

    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([])
    panel = MoviolaPanel()
    panel.show()
    app.exec_() if hasattr(app, "exec_") else app.exec()
    return "panel closed"


def main(resolve: Any, choice: Choice | None = None) -> str:
    """Run one Moviola job from a Resolve script; return (and print) what happened."""
    try:
        caps = capabilities(resolve, in_process=True)
        choice = choice or choose(resolve, caps)
        if choice is None:
            message = "Moviola: cancelled"
        elif choice.job == MATTE or choice.job == "matte":
            message = _open_panel()
        else:
            project, timeline = current_timeline(resolve)
            report = run_job(resolve, choice.job, how=choice.how, colour=choice.colour,
                             out=default_out(project, timeline))
            message = report.summary()
    except MoviolaError as exc:
        message = f"Moviola: {exc}"
        if exc.code in ("host_unavailable", "engine_unreachable"):
            message += "\n" + INSTEAD
    print(message)
    return message
