"""Cyclic garbage collection on the UI thread only, while engine calls run on pool threads.

Python's cycle collector runs in whichever thread happens to allocate when a threshold is
crossed. If that is a pool thread and the garbage holds Qt objects (a closed panel's widgets, a
pixmap, a timer), Qt destroys them off the UI thread and the host crashes: a segmentation fault
"Garbage-collecting" inside a pool thread, seen in a test run. While any worker is alive,
automatic collection is off and a UI-thread timer runs it instead, with the interpreter's own
thresholds. Reference counting still frees everything that is not in a cycle at once.
"""

from __future__ import annotations

import gc
from typing import Optional

from qtpy import QtCore

__all__ = ["hold", "release", "COLLECT_EVERY_MS"]

COLLECT_EVERY_MS = 500


class _Collector(QtCore.QObject):
    def __init__(self) -> None:
        super().__init__()
        self.holders = 0
        self.was_enabled = True
        self.timer = QtCore.QTimer(self)
        self.timer.setInterval(COLLECT_EVERY_MS)
        self.timer.timeout.connect(self.collect_due)

    def collect_due(self) -> None:
        """Collect the generations whose counts passed their thresholds, as the interpreter would."""
        counts, thresholds = gc.get_count(), gc.get_threshold()
        if counts[0] <= thresholds[0]:
            return
        generation = 0
        if counts[1] > thresholds[1]:
            generation = 2 if counts[2] > thresholds[2] else 1
        gc.collect(generation)


_collector: Optional[_Collector] = None


def hold() -> None:
    """Call on the UI thread before starting pool threads that run Python code."""
    global _collector
    if _collector is None:
        _collector = _Collector()
    if _collector.holders == 0:
        _collector.was_enabled = gc.isenabled()
        gc.disable()
        _collector.timer.start()
    _collector.holders += 1


def release() -> None:
    """Call on the UI thread once the pool threads are done: collect here, then hand back."""
    collector = _collector
    if collector is None or collector.holders == 0:
        return
    collector.holders -= 1
    if collector.holders == 0:
        collector.timer.stop()
        gc.collect()
        if collector.was_enabled:
            gc.enable()
