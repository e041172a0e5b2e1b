"""Screenshots of the panel's three modes from a real run on the built-in sample.

Writes into a temporary folder; with ``MOVIOLA_SCREENSHOTS=1`` into ``docs/images/`` (the
pictures the README and docs/panel.md show):

    MOVIOLA_SCREENSHOTS=1 .venv/bin/python -m pytest -q tests/test_panel_screenshots.py
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

pytest.importorskip("pytestqt")
from qtpy import QtGui  # noqa: E402

from moviola.ui.panel import MoviolaPanel  # noqa: E402

DOCS_IMAGES = Path(__file__).resolve().parents[1] / "docs" / "images"
WAIT_MS = 60000


@pytest.fixture
def folder(tmp_path):
    return DOCS_IMAGES if os.environ.get("MOVIOLA_SCREENSHOTS") == "1" else tmp_path


def save(qtbot, panel, path: Path) -> None:
    qtbot.waitUntil(lambda: panel.status.jobs == [], timeout=WAIT_MS)  # the status line caught up
    image = panel.grab().toImage()
    assert not image.isNull() and image.width() == panel.width()
    assert image.save(str(path), "PNG")


def test_screenshots_of_each_mode(qtbot, engine, tmp_path, folder):
    with engine.client() as client:
        sample = client.submit("sample", {"out": str(tmp_path / "sample")}).wait()
    panel = MoviolaPanel(output_dir=str(tmp_path / "out"), poll_ms=500)
    qtbot.addWidget(panel)
    panel.resize(1280, 720)
    panel.show()
    try:
        qtbot.waitUntil(lambda: panel.status.connected is True, timeout=WAIT_MS)

        # matte: a click and a box on the disc of shot A, applied, seen mid-clip
        clip = 1
        target = sample["edit"][clip]
        panel.open_media(sample["timeline"], clip=clip)
        qtbot.waitUntil(lambda: panel.viewer.plate is not None, timeout=WAIT_MS)
        matte = panel.matte
        with qtbot.waitSignal(matte.previewShown, timeout=WAIT_MS):
            matte.model.add_point(panel.frame, *target["object"]["centre"])
        with qtbot.waitSignal(matte.previewShown, timeout=WAIT_MS):
            matte.model.set_box(panel.frame, target["object"]["box"])
        with qtbot.waitSignal(matte.apply.finished, timeout=WAIT_MS):
            matte.apply_matte()
        panel.set_frame(panel.frame + target["duration"] // 2)
        want = panel.frame
        qtbot.waitUntil(lambda: panel.viewer.layer_frame == want == panel.viewer.plate_frame,
                        timeout=WAIT_MS)
        save(qtbot, panel, folder / "panel-matte.png")
        matte.view.setCurrentText("Isolate")
        save(qtbot, panel, folder / "panel-matte-isolate.png")
        matte.view.setCurrentText("Overlay")

        # depth: the parallax pass of the same clip, in false colour beside the plate
        panel.set_mode(panel.depth_mode)
        with qtbot.waitSignal(panel.depth_mode.job.finished, timeout=WAIT_MS):
            panel.depth_mode.compute()
        qtbot.waitUntil(lambda: panel.viewer.layer_frame == want == panel.viewer.plate_frame
                        and panel.viewer.layer_kind == "depth", timeout=WAIT_MS)
        save(qtbot, panel, folder / "panel-depth.png")

        # match cuts: the sample edit's suggestions, the best pair shown and accepted
        panel.set_mode(panel.matchcuts)
        mode = panel.matchcuts
        with qtbot.waitSignal(mode.job.finished, timeout=WAIT_MS):
            mode.find_matches()
        qtbot.waitUntil(lambda: mode.view.a is not None and mode.view.b is not None,
                        timeout=WAIT_MS)
        mode.decide("accepted")
        mode.list.setCurrentRow(0)
        qtbot.waitUntil(lambda: mode.view.a is not None and mode.view.b is not None,
                        timeout=WAIT_MS)
        save(qtbot, panel, folder / "panel-matchcuts.png")
    finally:
        panel.shutdown()
    for name in ("panel-matte.png", "panel-depth.png", "panel-matchcuts.png"):
        assert QtGui.QImage(str(folder / name)).width() == 1280
