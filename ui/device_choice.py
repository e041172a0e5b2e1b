"""The device a matte or depth job runs on, as the panel offers it: a combo box whose first
entry leaves the choice to the engine's ``device`` setting."""

from __future__ import annotations

from typing import Any, Optional

from qtpy import QtWidgets

__all__ = ["DeviceBox"]

# (label, wire value); None: the job names no device, the engine's setting decides.
CHOICES = (("Engine setting", None), ("Auto", "auto"), ("CPU", "cpu"),
           ("OpenCL GPU", "opencl"), ("CUDA", "cuda"))


class DeviceBox(QtWidgets.QComboBox):
    def __init__(self, parent: Optional[QtWidgets.QWidget] = None) -> None:
        super().__init__(parent)
        for label, _ in CHOICES:
            self.addItem(label)
        self.setToolTip("Where the full-resolution pixel work runs (and, for depth, the model). "
                        "Without the device, the job runs on the CPU and says why.")

    @property
    def device(self) -> Optional[str]:
        return CHOICES[max(0, self.currentIndex())][1]

    def params(self) -> dict[str, Any]:
        """``{"device": ...}`` to merge into a job's parameters; empty for the setting."""
        return {} if self.device is None else {"device": self.device}
