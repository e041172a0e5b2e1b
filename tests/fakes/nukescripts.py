"""A stand-in for Nuke's ``nukescripts`` module: the dockable-panel calls the Nuke bridge makes.

Covered, as documented for Nuke 11.3-16: ``nukescripts.panels.registerWidgetAsPanel(widget,
name, id, create=False)`` (``widget`` a string naming an importable QWidget class; it returns a
``PythonPanel``), ``PythonPanel.addToPane(pane=None)``, and
``nukescripts.executeInMainThread`` (the same queue as ``nuke.executeInMainThread``).
The fake records each registration in ``panels.registered`` and resolves the widget string the
way Nuke does when the panel is shown (``PythonPanel._make_widget()``, not Nuke's).
"""

from __future__ import annotations

import importlib
import types
from typing import Any

import nuke


class PythonPanel:
    def __init__(self, widget: str, name: str, panel_id: str) -> None:
        self.widget, self.name, self.id = widget, name, panel_id
        self.docked = False
        self.instance: Any = None

    def addToPane(self, pane: Any | None = None) -> None:
        self.docked = True

    def _make_widget(self) -> Any:
        """What Nuke does when the panel opens: import the named class and instantiate it."""
        module, _, cls = self.widget.rpartition(".")
        self.instance = getattr(importlib.import_module(module), cls)()
        return self.instance


def _register(widget: str, name: str, id: str, create: bool = False) -> PythonPanel:
    if not isinstance(widget, str):
        raise TypeError("registerWidgetAsPanel takes the widget's importable class name as a string")
    panel = PythonPanel(widget, name, id)
    panels.registered.append(panel)
    if create:
        panel._make_widget()
    return panel


panels = types.SimpleNamespace(registerWidgetAsPanel=_register, registered=[])
executeInMainThread = nuke.executeInMainThread
executeInMainThreadWithResult = nuke.executeInMainThreadWithResult
