"""The Moviola panel docked in Nuke: the shared widget, opened on the selected Read, whose
Apply runs through the bridge (progress in Nuke's task, nodes built on the main thread).

``menu.py`` registers :class:`NukePanel` by name with ``nukescripts.panels``; Nuke creates it
with no arguments when the pane opens.
"""

from __future__ import annotations

from typing import Any

from moviola.ui.panel import MoviolaPanel

from .background import BackgroundJob
from .commands import PANEL_CLASS, PANEL_ID, apply_matte
from .prompts import MASK_NODE, add_mask_keyframe
from .read_node import ReadSource

__all__ = ["NukePanel", "show_panel"]

_open: list[NukePanel] = []     # the docked instance(s), newest last


class NukePanel(MoviolaPanel):
    """:class:`MoviolaPanel` that knows the Read it works on and builds Nuke nodes on Apply."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(autostart=True, parent=parent)
        self.node: Any = None
        self.source: ReadSource | None = None
        self.job: BackgroundJob | None = None
        self.node_masks: list[dict[str, Any]] = []   # keyframes from a Roto's alpha, kept as given
        # Apply goes through the bridge: Nuke's progress task, nodes on the main thread.
        self.matte.apply.run_button.clicked.disconnect()
        self.matte.apply.run_button.clicked.connect(self.apply_in_nuke)
        _open.append(self)

    def open_on(self, node: Any, source: ReadSource, record: dict[str, Any] | None) -> None:
        """Show ``source`` (the Read's full-res file) and the prompts of an earlier run."""
        self.node, self.source = node, source
        self.matte.model.reset()
        # The panel edits clicks, boxes and matte files; a keyframe that is a node's alpha goes
        # back unchanged on Apply, its clicks (restored below) refining it.
        self.node_masks = [{"frame": int(k["frame"]), "object": int(k.get("object", 1)),
                            "include": [], "exclude": [], MASK_NODE: k[MASK_NODE]}
                           for k in (record or {}).get("keyframes", []) if k.get(MASK_NODE)]
        for key in (record or {}).get("keyframes", []):
            frame = int(key["frame"])
            for x, y in key.get("include", []):
                self.matte.model.add_point(frame, x, y, True)
            for x, y in key.get("exclude", []):
                self.matte.model.add_point(frame, x, y, False)
            if key.get("box"):
                self.matte.model.set_box(frame, tuple(key["box"]))
        if record and record.get("out"):
            self.set_output_dir(record["out"])
        self.open_media(source.path)

    def keyframes_for_apply(self) -> list[dict[str, Any]]:
        """The panel's keyframes, with the node-alpha keyframes of the run it opened on."""
        keyframes = self.matte.model.to_wire()
        for key in self.node_masks:
            keyframes = add_mask_keyframe(keyframes, key)
        return keyframes

    def apply_in_nuke(self) -> None:
        keyframes = self.keyframes_for_apply()
        if self.node is None or not keyframes:
            self.show_message("Apply needs a Read and at least one keyframe", error=True)
            return
        self.job = apply_matte(self.node, keyframes, out=self.output_dir,
                               backend=self.matte.backend)
        self.show_message("matte: propagating (progress in Nuke's task bar)")


def show_panel(node: Any, source: ReadSource, record: dict[str, Any] | None) -> NukePanel:
    """The docked panel (made and docked if none is open), opened on ``source``."""
    if not _open:
        import nukescripts

        pane = nukescripts.panels.registerWidgetAsPanel(PANEL_CLASS, "Moviola", PANEL_ID, True)
        pane.addToPane()
    panel = _open[-1]
    panel.open_on(node, source, record)
    return panel
