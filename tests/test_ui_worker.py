"""The panel's worker pool never lets a pool thread free Qt objects.

Python's cycle collector runs in whichever thread crosses a threshold; a pool thread that
collects a closed panel's widgets makes Qt destroy them off the UI thread, which crashed a test
run with a segmentation fault. These tests fill the heap with cyclic garbage, let pool threads
allocate far past the thresholds, and check where the garbage was freed.
"""

from __future__ import annotations

import gc
import threading

import pytest

pytest.importorskip("pytestqt")

from moviola.ui import gc_guard  # noqa: E402
from moviola.ui.worker import EngineWorker  # noqa: E402


class _Cycle:
    """A reference cycle that records the thread that finally frees it."""

    freed_on: list[str] = []

    def __init__(self) -> None:
        self.me = self

    def __del__(self) -> None:
        _Cycle.freed_on.append(threading.current_thread().name)


def _allocate(_client, _task) -> list:
    # Far more live container allocations than generation 0's threshold (700 by default): the
    # interpreter would collect in this thread, part way through.
    return [[i] for i in range(200_000)]


def test_cyclic_garbage_is_freed_on_the_ui_thread_while_pool_threads_allocate(qtbot):
    gc.collect()
    _Cycle.freed_on.clear()
    worker = EngineWorker(connect=lambda: None, threads=2)
    try:
        assert not gc.isenabled()
        for _ in range(500):
            _Cycle()
        results = []
        for _ in range(4):
            worker.call(_allocate, on_done=results.append, engine=False)
        qtbot.waitUntil(lambda: len(results) == 4, timeout=20000)
        qtbot.waitUntil(lambda: len(_Cycle.freed_on) == 500,
                        timeout=4 * gc_guard.COLLECT_EVERY_MS + 5000)
        assert set(_Cycle.freed_on) == {threading.main_thread().name}
    finally:
        worker.shutdown()
    assert gc.isenabled()


def test_collection_is_handed_back_only_when_the_last_worker_shuts_down(qtbot):
    first = EngineWorker(connect=lambda: None)
    second = EngineWorker(connect=lambda: None)
    first.shutdown()
    assert not gc.isenabled()
    first.shutdown()  # a second shutdown does not release someone else's hold
    assert not gc.isenabled()
    second.shutdown()
    assert gc.isenabled()


def test_a_host_that_turned_collection_off_keeps_it_off(qtbot):
    gc.disable()
    try:
        worker = EngineWorker(connect=lambda: None)
        worker.shutdown()
        assert not gc.isenabled()
    finally:
        gc.enable()
