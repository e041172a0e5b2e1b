# Moviola for Nuke, GUI only: the "Moviola" menu and toolbar, and the dockable panel.
import nuke
import nukescripts
from moviola_nuke import commands

COMMANDS = (
    ("Matte…", commands.matte_selected, "ctrl+alt+m"),
    ("Alpha as Matte Keyframe", commands.alpha_keyframe_selected, ""),
    ("Alpha as Matte Keyframe on Frame…", lambda: commands.alpha_keyframe_selected(ask_frame=True), ""),
    ("Depth", commands.depth_selected, ""),
    ("Shots (Nuke Studio)", commands.shots_selected, ""),
)

_menu = nuke.menu("Nuke").addMenu("Moviola")
_toolbar = nuke.menu("Nodes").addMenu("Moviola")
for _label, _command, _shortcut in COMMANDS:
    _menu.addCommand(_label, _command, _shortcut)
    _toolbar.addCommand(_label, _command)

# The class is named, not passed: Nuke imports it when the pane opens (panel.py imports Qt).
nukescripts.panels.registerWidgetAsPanel(commands.PANEL_CLASS, "Moviola", commands.PANEL_ID)
