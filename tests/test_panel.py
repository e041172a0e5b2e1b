"""The panel against a real engine: clicks → preview overlay, apply → propagated masks shown in
sync with the plate, depth and match-cut modes, and a clear message when no engine answers.

Qt runs offscreen (conftest). The sample is the engine's built-in one, small for speed.
"""

from __future__ import annotations

import os
import time

import opentimelineio as otio
import pytest

pytest.importorskip("pytestqt")
from qtpy import QtCore, QtGui  # noqa: E402

from moviola.plugin import errors  # noqa: E402
from moviola.ui.frames import image_from_png  # noqa: E402
from moviola.ui.panel import MoviolaPanel  # noqa: E402
from moviola.ui.prompts import PromptModel  # noqa: E402

MATTE_CLIP = 1  # shot_A of the sample edit: a disc crossing a textured background
WAIT_MS = 20000


@pytest.fixture(scope="module")
def sample(engine, tmp_path_factory):
    out = tmp_path_factory.mktemp("panel-sample")
    with engine.client() as client:
        return client.submit("sample", {"out": str(out), "width": 320, "height": 180,
                                        "seconds_per_shot": 1.0}).wait()


@pytest.fixture
def panel(engine, qtbot, tmp_path):
    widget = MoviolaPanel(output_dir=str(tmp_path / "out"), poll_ms=500)
    qtbot.addWidget(widget)
    widget.resize(1100, 640)
    widget.show()
    yield widget
    widget.shutdown()


def open_clip(qtbot, panel, sample, clip=MATTE_CLIP):
    panel.open_media(sample["timeline"], clip=clip)
    qtbot.waitUntil(lambda: panel.media is not None and panel.viewer.plate is not None,
                    timeout=WAIT_MS)
    return sample["edit"][clip]


def click(qtbot, viewer, x, y, button=QtCore.Qt.LeftButton, modifier=QtCore.Qt.NoModifier):
    qtbot.mouseClick(viewer, button, modifier, viewer.to_widget(x, y).toPoint())


def mask_value(frame_image, x, y):
    image = frame_image.image
    sx = int(x * image.width() / frame_image.source_width)
    sy = int(y * image.height() / frame_image.source_height)
    return QtGui.qGray(image.pixel(sx, sy))


# --- the pure parts --------------------------------------------------------------------------

def test_prompt_model_edits_undo_and_redo():
    model = PromptModel()
    seen = []
    model.subscribe(seen.append)
    model.add_point(10, 5, 6)
    model.add_point(10, 50, 60, include=False)
    model.set_box(10, (40, 30, 4, 3))
    assert model.to_wire() == [{"frame": 10, "object": 1, "include": [[5.0, 6.0]],
                                "exclude": [[50.0, 60.0]], "box": [4.0, 3.0, 40.0, 30.0]}]
    model.move_point(10, 0, 7, 8)
    model.delete_point(10, 1)
    assert model.prompts(10) == {"include": [[7.0, 8.0]], "exclude": [], "box": [4.0, 3.0, 40.0, 30.0]}
    assert model.undo() and model.prompts(10)["exclude"] == [[50.0, 60.0]]
    assert model.undo() and model.prompts(10)["include"] == [[5.0, 6.0]]
    assert model.redo() and model.prompts(10)["include"] == [[7.0, 8.0]]
    model.add_point(20, 1, 1, include=False)   # exclude only: listed, not usable
    assert model.frames() == [10, 20] and [k.frame for k in model.usable_keyframes()] == [10]
    assert not model.can_redo                  # a new edit drops the redo branch
    with pytest.raises(IndexError):
        model.move_point(20, 3, 0, 0)
    assert seen and seen[-1] == 20


def test_frame_job_returns_the_frame_as_png(client, sample):
    result = client.submit("frame", {"input": sample["video"], "frame": 30, "max_width": 160}).wait()
    image = image_from_png(result["png"])
    assert (image.width(), image.height()) == (result["width"], result["height"]) == (160, 90)
    assert (result["source_width"], result["source_height"]) == (320, 180)
    assert result["frame"] == 30 and (result["first_frame"], result["last_frame"]) == (0, 95)
    via_timeline = client.submit("frame", {"input": sample["timeline"], "clip": 1, "frame": 5,
                                           "max_width": 0}).wait()
    assert via_timeline["width"] == 320
    with pytest.raises(errors.FrameRangeError):
        client.submit("frame", {"input": sample["video"], "frame": 96}).wait()


# --- matte mode ------------------------------------------------------------------------------

def test_clicks_send_interactive_requests_and_show_the_mask(qtbot, panel, sample):
    target = open_clip(qtbot, panel, sample)
    viewer, matte = panel.viewer, panel.matte
    assert panel.frame == target["source_start"]
    assert viewer.source_size == (320, 180)
    cx, cy = target["object"]["centre"]
    with qtbot.waitSignal(matte.previewShown, timeout=WAIT_MS):
        click(qtbot, viewer, cx, cy)
    sent = matte.preview_requests[-1]
    assert sent["frame"] == panel.frame and not sent["exclude"]
    (x, y), = sent["include"]
    assert abs(x - cx) < 1.5 and abs(y - cy) < 1.5      # widget → full-resolution pixels
    assert viewer.layer is not None and viewer.layer_frame == viewer.plate_frame == panel.frame
    assert mask_value(viewer.layer, cx, cy) > 200 and mask_value(viewer.layer, 5, 5) < 30

    # a drag is a box; Alt+click and right click are excludes
    x0, y0, x1, y1 = target["object"]["box"]
    with qtbot.waitSignal(matte.previewShown, timeout=WAIT_MS):
        qtbot.mousePress(viewer, QtCore.Qt.LeftButton, pos=viewer.to_widget(x0, y0).toPoint())
        qtbot.mouseMove(viewer, viewer.to_widget(x1, y1).toPoint())
        qtbot.mouseRelease(viewer, QtCore.Qt.LeftButton, pos=viewer.to_widget(x1, y1).toPoint())
    box = matte.preview_requests[-1]["box"]
    assert all(abs(a - b) < 1.5 for a, b in zip(box, (x0, y0, x1, y1)))
    with qtbot.waitSignal(matte.previewShown, timeout=WAIT_MS):
        click(qtbot, viewer, 300, 170, modifier=QtCore.Qt.AltModifier)
    with qtbot.waitSignal(matte.previewShown, timeout=WAIT_MS):
        click(qtbot, viewer, 10, 170, button=QtCore.Qt.RightButton)
    assert len(matte.preview_requests[-1]["exclude"]) == 2

    # move a point by dragging it, delete one with Shift+click, then undo and redo
    with qtbot.waitSignal(matte.previewShown, timeout=WAIT_MS):
        qtbot.mousePress(viewer, QtCore.Qt.LeftButton, pos=viewer.to_widget(cx, cy).toPoint())
        qtbot.mouseMove(viewer, viewer.to_widget(cx + 4, cy + 2).toPoint())
        qtbot.mouseRelease(viewer, QtCore.Qt.LeftButton, pos=viewer.to_widget(cx + 4, cy + 2).toPoint())
    (mx, my), = matte.preview_requests[-1]["include"]
    assert abs(mx - cx - 4) < 1.5 and abs(my - cy - 2) < 1.5
    with qtbot.waitSignal(matte.previewShown, timeout=WAIT_MS):
        click(qtbot, viewer, 10, 170, modifier=QtCore.Qt.ShiftModifier)
    assert len(matte.preview_requests[-1]["exclude"]) == 1
    with qtbot.waitSignal(matte.previewShown, timeout=WAIT_MS):
        matte.undo_button.click()
    assert len(matte.preview_requests[-1]["exclude"]) == 2
    with qtbot.waitSignal(matte.previewShown, timeout=WAIT_MS):
        matte.redo_button.click()
    assert len(matte.preview_requests[-1]["exclude"]) == 1
    assert matte.keyframe_list.count() == 1 and "1 in, 1 out, box" in matte.keyframe_list.item(0).text()

    matte.view.setCurrentText("Isolate")
    assert viewer.mask_view == "isolate"
    viewer.grab()  # paints both views without error
    matte.view.setCurrentText("Overlay")


def test_apply_propagates_with_progress_and_shows_the_playheads_mask(qtbot, panel, sample):
    target = open_clip(qtbot, panel, sample)
    matte, viewer = panel.matte, panel.viewer
    first, last = panel.media.first_frame, panel.media.last_frame
    with qtbot.waitSignal(matte.previewShown, timeout=WAIT_MS):
        click(qtbot, viewer, *target["object"]["centre"])
    matte.model.set_box(panel.frame, target["object"]["box"])
    qtbot.waitUntil(lambda: matte.apply.run_button.isEnabled(), timeout=WAIT_MS)
    with qtbot.waitSignal(matte.apply.finished, timeout=60000) as done:
        matte.apply.run_button.click()
        assert matte.apply.cancel_button.isEnabled()
    result = done.args[0]
    assert result["frames"] == list(range(first, last + 1))
    fractions = matte.apply.fractions
    assert fractions and fractions == sorted(fractions) and matte.apply.bar.value() == 1000
    assert os.path.exists(result["otio"])

    # scrub fast, in both directions, without waiting; then the shown pair must be the playhead's
    viewer.history.clear()
    for n in list(range(first, last + 1)) + list(range(last, first - 1, -3)):
        panel.set_frame(n)
        QtCore.QCoreApplication.processEvents()
    panel.step(4)
    want = panel.frame
    qtbot.waitUntil(lambda: viewer.plate_frame == want and viewer.layer_frame == want,
                    timeout=WAIT_MS)
    assert viewer.layer.meta["path"] == matte.result_files[want]
    assert all(p == m for p, m in viewer.history if m is not None)  # never a frame off
    # the propagated mask follows the disc: it covers the plate's object on that frame
    assert viewer.layer.image.width() == 320
    coverage = sum(QtGui.qGray(viewer.layer.image.pixel(x, y)) > 128
                   for x in range(0, 320, 4) for y in range(0, 180, 4)) / (80 * 45)
    assert 0.005 < coverage < 0.3
    panel.grab().save(str(panel.output_dir) + "/panel-matte.png")


def test_cancel_stops_a_running_propagation(qtbot, panel, sample, client):
    target = open_clip(qtbot, panel, sample, clip=0)
    matte = panel.matte
    matte.model.add_point(panel.frame, *target["object"]["centre"])
    with qtbot.waitSignal(matte.apply.failed, timeout=WAIT_MS) as failed:
        matte.apply_matte()
        matte.apply.cancel()          # before the job id is even known
    assert failed.args[0] == "cancelled" and not matte.apply.running
    assert client.job_status(matte.apply.job_id)["state"] == "cancelled"
    assert matte.apply.run_button.isEnabled() and matte.result is None


# --- depth and match cuts --------------------------------------------------------------------

def test_depth_mode_shows_the_pass_of_the_frame_beside_the_plate(qtbot, panel, sample):
    # Shot A: its background moves enough for parallax to measure (shot B's barely moves, so
    # the parallax backend rightly calls it not valid).
    open_clip(qtbot, panel, sample, clip=1)
    panel.set_mode(panel.depth_mode)
    assert not panel.viewer.interactive
    with qtbot.waitSignal(panel.depth_mode.job.finished, timeout=60000):
        panel.depth_mode.job.run_button.click()
    panel.step(3)
    want = panel.frame
    qtbot.waitUntil(lambda: panel.viewer.layer_frame == want == panel.viewer.plate_frame,
                    timeout=WAIT_MS)
    assert panel.viewer.layer_kind == "depth" and len(panel.viewer.image_rects()) == 2
    panel.depth_mode.layout_box.setCurrentText("Over")
    panel.depth_mode.colour.setCurrentText("Grey")
    assert len(panel.viewer.image_rects()) == 1 and panel.viewer.depth_colour == "grey"
    panel.viewer.grab()


def test_depth_mode_says_why_parallax_cannot_measure_a_shot(qtbot, panel, sample):
    open_clip(qtbot, panel, sample, clip=3)      # shot B: a flat backdrop that barely moves
    panel.set_mode(panel.depth_mode)
    with qtbot.waitSignal(panel.depth_mode.job.failed, timeout=60000) as failed:
        panel.depth_mode.job.run_button.click()
    assert "not valid" in failed.args[0] and "parallax" in failed.args[0]
    assert panel.depth_mode.job.run_button.isEnabled()


def test_match_cut_mode_lists_pairs_shows_frames_and_exports_the_accepted(qtbot, panel, sample):
    open_clip(qtbot, panel, sample, clip=0)
    mode = panel.matchcuts
    panel.set_mode(mode)
    assert panel.central.currentWidget() is mode.view
    with qtbot.waitSignal(mode.job.finished, timeout=60000):
        mode.job.run_button.click()
    assert mode.list.count() == len(mode.pairs) >= 2
    qtbot.waitUntil(lambda: mode.view.a is not None and mode.view.b is not None, timeout=WAIT_MS)
    first = mode.pairs[0]
    assert mode.view.a.frame == first["a"]["end"] - 1 and mode.view.b.frame == first["b"]["start"]
    mode.decide("accepted")                  # moves to the next suggestion
    mode.decide("rejected")
    assert mode.accepted() == [first["rank"]] and mode.list.item(0).text().startswith("✓")
    with qtbot.waitSignal(panel.message, timeout=WAIT_MS):
        mode.export_button.click()
    review = [p for p in mode.exported if p.endswith(".review.accepted.otio")]
    assert len(mode.exported) == 2 and review
    timeline = otio.adapters.read_from_file(review[0])
    assert len(list(timeline.find_clips())) == 2 and len(timeline.tracks.markers) == 1
    marked = otio.adapters.read_from_file([p for p in mode.exported if p not in review][0])
    ranks = {m.metadata["moviola"]["rank"] for c in marked.find_clips() for m in c.markers}
    assert ranks == {first["rank"]}


# --- no engine -------------------------------------------------------------------------------

def test_no_engine_gives_a_clear_message(qtbot, tmp_path):
    panel = MoviolaPanel(discovery_file=tmp_path / "engine.json", output_dir=str(tmp_path),
                         poll_ms=300, timeout=0.5)
    qtbot.addWidget(panel)
    panel.show()
    try:
        qtbot.waitUntil(lambda: panel.status.connected is False, timeout=5000)
        assert panel.status.message.startswith("Engine unreachable")
        assert panel.status.start_button.isVisible()
        panel.open_media(str(tmp_path / "shot.mov"))
        qtbot.waitUntil(lambda: bool(panel.messages and panel.messages[-1][1]), timeout=5000)
        assert panel.messages[-1][0].startswith(f"open {tmp_path / 'shot.mov'}: Engine unreachable")
    finally:
        panel.shutdown()


def test_an_engine_that_stops_answering_is_reported_while_the_ui_keeps_running(qtbot, tmp_path):
    import signal

    from engine_harness import start_engine_process

    # A live engine that holds its lock but does not answer: stopped, as by a debugger.
    stopped = start_engine_process(tmp_path / "home")
    found = stopped.home / "engine.json"
    os.kill(stopped.process.pid, signal.SIGSTOP)
    ticks = []
    timer = QtCore.QTimer()
    timer.timeout.connect(lambda: ticks.append(time.monotonic()))
    timer.start(20)
    panel = MoviolaPanel(discovery_file=found, output_dir=str(tmp_path), poll_ms=300, timeout=0.3)
    qtbot.addWidget(panel)
    try:
        panel.open_media(str(tmp_path / "shot.mov"))
        qtbot.waitUntil(lambda: panel.status.connected is False, timeout=8000)
        assert panel.status.message.startswith("Engine not answering")
        qtbot.waitUntil(lambda: bool(panel.messages and panel.messages[-1][1]), timeout=8000)
        assert "Engine not answering" in panel.messages[-1][0]
    finally:
        timer.stop()
        panel.shutdown()
        os.kill(stopped.process.pid, signal.SIGCONT)
        stopped.stop()
    gaps = [b - a for a, b in zip(ticks, ticks[1:])]
    assert len(ticks) > 10 and max(gaps) < 0.25   # the UI thread kept ticking throughout


def test_the_panel_command_and_window(qtbot, engine, tmp_path):
    from moviola.cli.main import build_parser
    from moviola.ui.panel import MoviolaWindow
    args = build_parser().parse_args(["panel", "--input", "a.otio", "--clip", "2", "--out", "o"])
    assert (args.input, args.clip, args.out) == ("a.otio", 2, "o") and callable(args.func)
    window = MoviolaWindow(output_dir=str(tmp_path), poll_ms=300)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: window.panel.status.connected is True, timeout=WAIT_MS)
    assert window.panel.status.message.startswith("engine ")
    window.close()


def test_the_panel_imports_no_engine_and_no_decoder():
    import subprocess
    import sys
    code = ("import sys, moviola.ui.panel; "
            "print([m for m in ('moviola.engine', 'av', 'cv2', 'OpenImageIO') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                         env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
