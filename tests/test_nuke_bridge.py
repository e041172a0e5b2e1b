"""The Nuke bridge against a fake ``nuke`` (tests/fakes, the documented API name for name) and a
real engine on real clips: frames and points between Nuke and the engine, the Read → Copy matte
tree, progress and cancel, prompts kept on the node, a Roto's alpha as a matte keyframe, the depth
Read, a Nuke Studio import, the menu, and the bridge on Python 3.9 without heavy modules."""

from __future__ import annotations

import glob
import json
import os
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import OpenImageIO as oiio
import pytest

from host_pythons import HEAVY, need_python39, oldest_python
from matte_clips import render_matte_clip
from moviola.plugin import errors

ROOT = Path(__file__).resolve().parent.parent
FAKES = Path(__file__).resolve().parent / "fakes"
BRIDGE = ROOT / "host_bridges" / "nuke"
for _path in (str(FAKES), str(BRIDGE)):
    if _path not in sys.path:
        sys.path.insert(0, _path)

import hiero.core  # noqa: E402  (the fakes)
import nuke  # noqa: E402
from moviola_nuke import commands, coords, frames, mask_render, prompts  # noqa: E402
from moviola_nuke.background import BackgroundJob  # noqa: E402
from moviola_nuke.hiero_import import import_result  # noqa: E402
from moviola_nuke.read_node import engine_path, nuke_pattern, read_source  # noqa: E402
from moviola_nuke.result_nodes import stored_record  # noqa: E402


@pytest.fixture(autouse=True)
def fresh_script():
    nuke._reset()
    hiero.core._reset()
    yield
    nuke._reset()


def finish(job: BackgroundJob) -> None:
    """Wait for the worker, then run what it queued for Nuke's main thread."""
    assert job.join(120), "the job's worker thread did not end"
    nuke._pump_main_thread()


def make_read(path: str, first: int, last: int, size: tuple[int, int], frame_mode: str = "expression",
              frame: str = "") -> nuke.Node:
    read = nuke.createNode("Read", inpanel=False)
    read.setInput(0, None)
    read["file"].setValue(path)
    for name, value in (("first", first), ("last", last), ("origfirst", first), ("origlast", last)):
        read[name].setValue(value)
    read["format"].setValue(f"{size[0]} {size[1]}")
    read["frame_mode"].setValue(frame_mode)
    read["frame"].setValue(frame)
    return read


# --- frames and points (pure) ----------------------------------------------------------------

def test_movie_frames_count_from_one_in_nuke_and_zero_in_the_engine():
    movie = frames.ReadTiming.from_knobs(True, 1, 24)
    assert movie.media_frame(1) == 0 and movie.media_frame(24) == 23
    assert movie.script_frame(0) == 1 and movie.media_range == (0, 23)
    started = frames.ReadTiming.from_knobs(True, 1, 24, "start at", "1001")
    assert started.media_frame(1001) == 0 and started.script_frame(23) == 1024
    assert started.script_range == (1001, 1024)
    assert frames.ReadTiming.from_knobs(True, 1, 24, "start_at", "1001") == started


def test_sequence_frames_are_file_numbers_shifted_by_the_frame_mode():
    plain = frames.ReadTiming.from_knobs(False, 1001, 1010)
    assert plain.media_frame(1003) == 1003 and plain.media_range == (1001, 1010)
    offset = frames.ReadTiming.from_knobs(False, 1001, 1010, "offset", "-1000")
    assert offset.media_frame(3) == 1003 and offset.script_frame(1001) == 1
    start = frames.ReadTiming.from_knobs(False, 1001, 1010, "start at", "1")
    assert start.media_frame(1) == 1001 and start.script_range == (1, 10)
    expr = frames.ReadTiming.from_knobs(False, 1001, 1010, "expression", "frame+5")
    assert expr.media_frame(1000) == 1005 and expr.script_frame(1005) == 1000
    with pytest.raises(errors.InvalidParamsError, match="not a plain shift"):
        frames.ReadTiming.from_knobs(False, 1001, 1010, "expression", "frame*2")


def test_points_flip_and_undo_proxy_and_reformat():
    size = (200, 100)
    assert coords.nuke_to_engine((10, 90), size) == (10, 10)          # bottom-left → top-left
    assert coords.nuke_to_engine((5, 45), size, proxy_scale=0.5) == (10, 10)
    half = coords.Reformat(100, 50, "width")                          # half size, centred
    assert coords.nuke_to_engine((5, 45), size, [half]) == pytest.approx((10, 10))
    fit = coords.Reformat(400, 400, "fit")                            # 2x, letterboxed
    assert coords.nuke_to_engine((20, 280), size, [fit]) == pytest.approx((10, 10))
    distort = coords.Reformat(100, 200, "distort")
    assert coords.nuke_to_engine((5, 180), size, [distort]) == pytest.approx((10, 10))
    chain = [half, coords.Reformat(300, 300, "none")]
    point = coords.engine_to_nuke((37.5, 12.25), size, chain)
    assert coords.nuke_to_engine(point, size, chain) == pytest.approx((37.5, 12.25))
    with pytest.raises(errors.InvalidParamsError, match="outside the 200x100 plate"):
        coords.nuke_to_engine((250, 10), size)


def test_read_paths_between_nuke_and_the_engine():
    assert engine_path("/s/plate.####.exr") == "/s/plate.%04d.exr"
    assert engine_path("/s/plate.%05d.exr 1001-1100") == "/s/plate.%05d.exr"
    assert nuke_pattern("/o/matte.%04d.exr") == "/o/matte.####.exr"


# --- clicks on a real engine -----------------------------------------------------------------

W, H, SQUARE, STEP = 160, 96, 16, 24


def square_frame(i: int) -> np.ndarray:
    """A white square whose place tells the frame: x moves STEP px a frame, y in the top half."""
    img = np.full((H, W, 3), 30, np.uint8)
    x0, y0 = 8 + STEP * i, 12
    img[y0:y0 + SQUARE, x0:x0 + SQUARE] = 235
    return img


def square_centre_nuke(i: int, size=(W, H)) -> tuple[float, float]:
    return 8 + STEP * i + SQUARE / 2, size[1] - (12 + SQUARE / 2)


@pytest.fixture(scope="module")
def squares(tmp_path_factory):
    folder = tmp_path_factory.mktemp("squares")
    movie = folder / "squares.mov"
    with av.open(str(movie), "w") as out:
        stream = out.add_stream("libx264", rate=Fraction(24))
        stream.width, stream.height, stream.pix_fmt = W, H, "yuv420p"
        stream.options = {"crf": "4"}
        for i in range(5):
            out.mux(stream.encode(av.VideoFrame.from_ndarray(square_frame(i), format="rgb24")))
        out.mux(stream.encode())
    for i in range(5):
        cv2.imwrite(str(folder / f"plate.{1001 + i:04d}.png"), square_frame(i))
    return folder


def preview_at(client, read, nuke_frame, point, reformats=(), proxy_scale=1.0):
    source = read_source(read)
    (key,) = prompts.keyframes_to_engine([{"frame": nuke_frame, "include": [point]}], source.timing,
                                         (source.width, source.height), reformats, proxy_scale)
    result = client.submit("matte_preview", {"input": source.path, "frame": key["frame"],
                                             "include": key["include"], "backend": "classical"}).wait()
    mask = cv2.imdecode(np.frombuffer(result["mask_png"], np.uint8), cv2.IMREAD_UNCHANGED)
    return key, mask.astype(np.float32) / np.iinfo(mask.dtype).max


def on_square(mask: np.ndarray, i: int) -> float:
    x0 = 8 + STEP * i
    return float(mask[12 + 3:12 + SQUARE - 3, x0 + 3:x0 + SQUARE - 3].mean())


def test_a_click_at_nuke_coordinates_lands_on_the_right_pixel_of_a_movie(client, squares):
    read = make_read(str(squares / "squares.mov"), 1, 5, (W, H), "start at", "1001")
    key, mask = preview_at(client, read, 1003, square_centre_nuke(2))
    assert key["frame"] == 2                       # Nuke 1003 = file frame 3 = media frame 2
    assert on_square(mask, 2) > 0.9 and mask.mean() < 0.1
    # Clicked in a viewer below a half-size Reformat, in proxy mode: the same pixel.
    half = coords.Reformat(W // 2, H // 2, "width")
    x, y = coords.engine_to_nuke((8 + STEP * 2 + SQUARE / 2, 12 + SQUARE / 2), (W, H), [half])
    key2, mask2 = preview_at(client, read, 1003, (x * 0.5, y * 0.5), [half], proxy_scale=0.5)
    assert key2 == key and on_square(mask2, 2) > 0.9


def test_a_click_lands_on_the_right_pixel_of_an_offset_sequence(client, squares):
    read = make_read(str(squares / "plate.####.png"), 1001, 1005, (W, H), "offset", "-1000")
    key, mask = preview_at(client, read, 4, square_centre_nuke(3))
    assert key["frame"] == 1004
    assert on_square(mask, 3) > 0.9 and on_square(mask, 2) < 0.1 and mask.mean() < 0.1


# --- the matte tree --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def blob(tmp_path_factory):
    return render_matte_clip(tmp_path_factory.mktemp("nuke-matte") / "blob.mp4", width=96,
                             height=72, frames=10)


def test_apply_builds_a_read_copy_tree_that_matches_the_files(engine, blob, tmp_path):
    plate = make_read(str(blob.path), 1, 10, (96, 72), "start at", "1001")
    grade = nuke.createNode("Grade", inpanel=False)     # selected below the Read: walk up
    grade.setInput(0, plate)
    clicks = blob.clicks(0)
    nuke_key = {"frame": 1001, "include": [coords.engine_to_nuke(p, (96, 72)) for p in clicks["include"]],
                "exclude": [coords.engine_to_nuke(p, (96, 72)) for p in clicks["exclude"]]}
    job = commands.apply_matte(grade, [nuke_key], nuke_space=True, out=str(tmp_path / "m"),
                               backend="classical")
    finish(job)
    assert job.error is None, job.error
    (copy,) = nuke.allNodes("Copy")
    matte = copy.input(1)
    assert copy.input(0) is plate and matte.Class() == "Read"          # B = plate, A = matte
    assert copy["from0"].value() == copy["to0"].value() == "rgba.alpha"
    pattern = engine_path(matte["file"].value())
    on_disk = sorted(glob.glob(pattern.replace("%04d", "[0-9]" * 4)))
    assert on_disk == job.result["files"] and len(on_disk) == 10
    assert (matte["first"].value(), matte["last"].value()) == (0, 9)   # media frames in names
    # The matte shows each media frame where the plate does.
    timing = read_source(matte, check_exists=False).timing
    assert [timing.script_frame(f) for f in (0, 9)] == [1001, 1010]
    assert matte["raw"].value() is True and "Moviola matte" in matte["label"].value()
    spec = oiio.ImageInput.open(on_disk[0]).spec()
    assert spec.channelnames == ("A",)               # Nuke reads a lone A as rgba.alpha
    assert (spec.width, spec.height) == (96, 72)
    # Prompts on the generated node, in the engine's terms, with the folder that holds the cache.
    record = stored_record(copy)
    assert record["keyframes"][0]["frame"] == 0
    assert record["keyframes"][0]["include"] == clicks["include"]
    assert record["out"] == str(tmp_path / "m")
    # Worker thread for the engine, main thread for nodes; progress in Nuke's task.
    (task,) = nuke.ProgressTask.instances
    assert task.progress[-1] == 100 and task.thread.name.startswith("moviola-matte")
    assert ("executeInMainThread", "done") in nuke.calls

    # Reopen from the Copy: a re-run reuses the engine's cache and updates the same tree.
    again = commands.apply_matte(copy, record["keyframes"], backend="classical")
    finish(again)
    assert again.error is None and again.result["computed_frames"] == 0
    assert again.result["reused_frames"] > 0
    assert len(nuke.allNodes("Copy")) == 1 and len(nuke.allNodes("Read")) == 2


# --- a Roto's alpha as a keyframe -----------------------------------------------------------

def roto_below(plate: nuke.Node, alpha_at) -> nuke.Node:
    """A Roto whose bg is the plate, drawing ``alpha_at(script frame)`` (rows top first)."""
    roto = nuke.createNode("Roto", inpanel=False)
    roto.setInput(0, plate)
    nuke._set_image(roto, alpha_at)
    return roto


def select_only(*nodes: nuke.Node) -> None:
    for n in nuke.allNodes():
        n.setSelected(n in nodes)


def test_a_roto_alpha_on_one_frame_is_the_matte_keyframe(engine, blob, tmp_path):
    plate = make_read(str(blob.path), 1, 10, (96, 72), "start at", "1001")
    rendered_frames: list[int] = []

    def alpha_at(script_frame: int) -> np.ndarray:
        rendered_frames.append(script_frame)
        return blob.mask(script_frame - 1001)
    roto = roto_below(plate, alpha_at)
    nuke.root()["name"].setValue(str(tmp_path / "shot.nk"))    # a saved script: results beside it
    select_only(roto)
    nuke.frame(1004)                                   # media frame 3
    job = commands.alpha_keyframe_selected()
    assert job is not None, nuke.messages
    (sent,) = job.params["keyframes"]
    assert sent["frame"] == 3 and "mask_node" not in sent
    assert os.path.dirname(sent["mask"]) == mask_render.mask_folder()
    finish(job)
    assert job.error is None, job.error
    assert rendered_frames == [1004] and nuke.allNodes("Write") == []   # the temporary Write is gone
    assert not os.path.exists(sent["mask"])            # removed once the engine was done
    # The keyframe's own output frame is the mask itself: the engine read the Roto's pixels.
    (copy,) = nuke.allNodes("Copy")
    assert copy.input(0) is plate and copy.input(1).Class() == "Read"
    files = job.result["files"]
    assert len(files) == 10
    key_frame = oiio.ImageBuf(files[3]).get_pixels(oiio.FLOAT)[..., 0]
    assert np.abs(key_frame - blob.mask(3)).max() < 0.01
    # The matte walks on from it (a click-free keyframe): the blob is found two frames later.
    later = oiio.ImageBuf(files[5]).get_pixels(oiio.FLOAT)[..., 0] > 0.5
    truth = blob.mask(5) > 0.5
    assert (later & truth).sum() / (later | truth).sum() > 0.6
    # The node, not the temporary file, is what stays on the Copy.
    record = stored_record(copy)
    assert record["keyframes"] == [{"frame": 3, "object": 1, "include": [], "exclude": [],
                                    "mask_node": roto.name()}]
    assert record["out"] == str(tmp_path / "moviola" / "Read1_matte")

    # Another frame, asked for, joins the same matte; frame 1004 is rendered again and its
    # unchanged pixels reuse the engine's cache.
    select_only(roto)
    nuke.answers.append("1008")
    again = commands.alpha_keyframe_selected(ask_frame=True)
    assert again is not None, nuke.messages
    finish(again)
    assert again.error is None, again.error
    assert sorted(rendered_frames) == [1004, 1004, 1008]
    assert len(nuke.allNodes("Copy")) == 1 and len(nuke.allNodes("Read")) == 2
    assert [k["frame"] for k in stored_record(copy)["keyframes"]] == [3, 7]
    assert again.result["reused_frames"] > 0
    assert os.listdir(mask_render.mask_folder()) == []


def test_an_alpha_keyframe_that_cannot_be_rendered_is_a_message_and_nothing_is_sent(blob, tmp_path,
                                                                                      monkeypatch):
    monkeypatch.setenv("MOVIOLA_HOME", str(tmp_path))
    plate = make_read(str(blob.path), 1, 10, (96, 72))
    blur = nuke.createNode("Blur", inpanel=False)       # the plate has no alpha
    blur.setInput(0, plate)
    select_only(blur)
    assert commands.alpha_keyframe_selected() is None
    assert "Blur1 gives no alpha" in nuke.messages[-1]

    def broken(script_frame: int) -> np.ndarray:
        raise RuntimeError("Roto1: the shape's expression has an error")
    roto = roto_below(plate, broken)
    select_only(roto)
    assert commands.alpha_keyframe_selected() is None
    assert "could not render Roto1's alpha at frame 1" in nuke.messages[-1]
    assert "expression has an error" in nuke.messages[-1]
    assert nuke.ProgressTask.instances == []            # no job started
    assert nuke.allNodes("Write") == [] and os.listdir(tmp_path / "nuke-masks") == []
    select_only()
    assert commands.alpha_keyframe_selected() is None and "select a Roto" in nuke.messages[-1]


def test_a_mask_keyframe_joins_the_clicks_on_its_frame():
    clicks = [{"frame": 3, "object": 1, "include": [[4.0, 5.0]], "exclude": [], "mask": "/old.png"},
              {"frame": 9, "object": 1, "include": [[1.0, 1.0]], "exclude": []}]
    merged = prompts.add_mask_keyframe(clicks, {"frame": 3, "object": 1, "mask_node": "Roto1"})
    assert merged[0] == {"frame": 3, "object": 1, "include": [[4.0, 5.0]], "exclude": [],
                         "mask_node": "Roto1"}
    assert merged[1] == clicks[1]
    added = prompts.add_mask_keyframe(clicks, {"frame": 1, "object": 1, "mask_node": "Roto2"})
    assert [k["frame"] for k in added] == [1, 3, 9]
    sent = [{**merged[0], "mask": "/tmp/.Roto1.3.tmp-1-0.exr"}, merged[1]]
    assert prompts.without_rendered_masks(sent) == merged


def test_progress_and_cancel(engine):
    nuke.createNode("NoOp", inpanel=False)
    job = BackgroundJob("sleep", {"steps": 5, "step_s": 0.02}, "steps", lambda r: None).start()
    finish(job)
    task = nuke.ProgressTask.instances[-1]
    assert job.result == {"steps": 5} and task.progress[-1] == 100 and len(task.progress) >= 2
    failures: list = []
    slow = BackgroundJob("sleep", {"steps": 2000, "step_s": 0.02}, "slow", lambda r: None,
                         on_error=failures.append).start()
    while len(nuke.ProgressTask.instances) < 2 or slow.job_id is None:
        assert slow.thread.is_alive()
        slow.thread.join(0.02)
    nuke.ProgressTask.instances[-1]._cancel()
    finish(slow)
    assert isinstance(slow.error, errors.JobCancelledError)
    assert failures == [slow.error] and slow.result is None


def test_a_read_that_is_not_there_is_a_typed_error(tmp_path):
    read = make_read(str(tmp_path / "gone.####.exr"), 1, 3, (64, 48))
    with pytest.raises(errors.MediaNotFoundError, match="does not exist"):
        commands.apply_matte(read, [{"frame": 1, "include": [[5, 5]]}])
    lone = nuke.createNode("Blur", inpanel=False)
    lone.setInput(0, None)
    with pytest.raises(errors.InvalidParamsError, match="no Read node above"):
        commands.run_depth(lone)


def test_depth_read_has_the_channel_as_written_and_its_normalisation(engine, blob, tmp_path):
    plate = make_read(str(blob.path), 1, 10, (96, 72))
    job = commands.run_depth(plate, out=str(tmp_path / "d"), backend="parallax")
    finish(job)
    assert job.error is None, job.error
    depth = next(n for n in nuke.allNodes("Read") if n is not plate)
    files = sorted(glob.glob(engine_path(depth["file"].value()).replace("%04d", "[0-9]" * 4)))
    assert files == job.result["files"]
    spec = oiio.ImageInput.open(files[0]).spec()
    assert depth["moviola_channel"].value() in spec.channelnames
    assert depth["moviola_channel"].value() == job.result["channel"]
    label = depth["label"].value()
    assert job.result["normalize"] in label and job.result["convention"] in label
    assert "confidence in depth.confidence" in label and "depth.confidence" in spec.channelnames
    record = stored_record(depth)
    assert record["kind"] == "depth" and record["normalization"] == job.result["clips"][0]["normalization"]
    assert read_source(depth, check_exists=False).timing.script_frame(0) == 1   # lines up


def test_shots_result_imports_as_a_nuke_studio_sequence(client, tmp_path):
    movie = tmp_path / "cuts.mp4"
    rng = np.random.default_rng(1)
    with av.open(str(movie), "w") as out:
        stream = out.add_stream("libx264", rate=24)
        stream.width, stream.height, stream.pix_fmt = 96, 64, "yuv420p"
        for _shot, colour in enumerate(((200, 40, 40), (40, 200, 40), (40, 40, 200))):
            for _ in range(12):
                img = np.clip(np.array(colour) + rng.normal(0, 6, (64, 96, 3)), 0, 255).astype(np.uint8)
                out.mux(stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")))
        out.mux(stream.encode())
    result = client.submit("shots", {"input": str(movie), "out": str(tmp_path / "shots.otio")}).wait()
    project = hiero.core.newProject("show")
    sequence = import_result(result["otio"], "cuts shots")
    assert project.sequences() == [sequence]
    items = [i for t in sequence.videoTracks() for i in t.items()]
    assert len(items) >= 3
    spans = sorted((i.timelineIn(), i.timelineOut(), i.sourceIn(), i.sourceOut()) for i in items)
    assert spans[0][0] == 0 and spans[-1][1] == 35
    assert {(a, b) for a, b, _, _ in spans} >= {(0, 11), (12, 23), (24, 35)} or len(spans) > 3
    assert all(i.source().mediaSource().filename() == str(movie) for i in items)


# --- loading in Nuke -------------------------------------------------------------------------

def test_init_and_menu_add_the_path_the_menu_and_the_panel(tmp_path, monkeypatch):
    import nukescripts

    site = BRIDGE / "site-packages" / f"py{sys.version_info[0]}.{sys.version_info[1]}"
    monkeypatch.setenv("MOVIOLA_NUKE_SITE", str(tmp_path))
    exec(compile((BRIDGE / "init.py").read_text(), str(BRIDGE / "init.py"), "exec"),
         {"__file__": str(BRIDGE / "init.py"), "__name__": "__main__"})
    assert str(tmp_path) in nuke.pluginPath() and not site.exists()
    nukescripts.panels.registered.clear()
    exec(compile((BRIDGE / "menu.py").read_text(), str(BRIDGE / "menu.py"), "exec"), {"__name__": "__main__"})
    for bar in ("Nuke", "Nodes"):
        assert nuke.menu(bar).findItem("Moviola/Matte…") is not None
        assert nuke.menu(bar).findItem("Moviola/Depth") is not None
    (panel,) = nukescripts.panels.registered
    assert panel.widget == "moviola_nuke.panel.NukePanel" and panel.id == "com.moviola.panel"


def test_panel_opens_on_the_read_and_restores_prompts(engine, qtbot, blob, tmp_path):
    pytest.importorskip("qtpy")
    from moviola_nuke.panel import NukePanel

    plate = make_read(str(blob.path), 1, 10, (96, 72))
    record = {"kind": "matte", "keyframes": [{"frame": 3, "object": 1, "include": [[40.0, 30.0]],
                                              "exclude": [[5.0, 5.0]]}], "out": str(tmp_path)}
    panel = NukePanel()
    qtbot.addWidget(panel)
    panel.open_on(plate, read_source(plate), record)
    assert panel.matte.model.to_wire() == record["keyframes"]
    # A keyframe from a Roto's alpha is not drawn in the panel but goes back on Apply, with
    # the clicks on its frame refining it.
    with_roto = {**record, "keyframes": [{**record["keyframes"][0], "mask_node": "Roto1"},
                                         {"frame": 6, "object": 1, "include": [], "exclude": [],
                                          "mask_node": "Roto1"}]}
    panel.open_on(plate, read_source(plate), with_roto)
    assert panel.keyframes_for_apply() == with_roto["keyframes"]
    panel.open_on(plate, read_source(plate), record)
    assert panel.output_dir == str(tmp_path)
    qtbot.waitUntil(lambda: panel.media is not None, timeout=20000)
    assert (panel.media.first_frame, panel.media.last_frame) == (0, 9)
    panel.shutdown()


# --- Python 3.9, nothing heavy ---------------------------------------------------------------

BRIDGE_SCRIPT = r'''
import json, sys
import nuke
from moviola_nuke import (background, commands, coords, frames, hiero_import, mask_render, prompts,
                          read_node, result_nodes)
exec(open(sys.argv[1]).read(), {"__name__": "__main__"})     # menu.py
timing = frames.ReadTiming.from_knobs(False, 1001, 1005, "offset", "-1000")
keys = prompts.keyframes_to_engine([{"frame": 3, "include": [[10, 90]]}], timing, (200, 100))
read = nuke.createNode("Read")
read["file"].setValue("/nowhere/p.####.exr")
read["first"].setValue(1001); read["last"].setValue(1005)
source = read_node.read_source(read, check_exists=False)
r, copy = result_nodes.build_matte_tree(read, source, {"objects": [{"object": 1, "frames": [1001, 1005],
    "pattern": "/o/m.%04d.exr"}]}, {"keyframes": keys})
print(json.dumps({"version": list(sys.version_info[:2]), "keys": keys, "file": r["file"].value(),
                  "copy": [copy.input(0) is read, copy.input(1) is r],
                  "modules": sorted({m.split(".")[0] for m in sys.modules})}))
'''


def bridge_run(python: str, tmp_path: Path) -> dict:
    (tmp_path / "moviola").mkdir(exist_ok=True)
    if not (tmp_path / "moviola" / "plugin").exists():
        (tmp_path / "moviola" / "plugin").symlink_to(ROOT / "plugin")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(BRIDGE), str(FAKES)])}
    done = subprocess.run([python, "-c", BRIDGE_SCRIPT, str(BRIDGE / "menu.py")], env=env,
                          capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_bridge_imports_nothing_heavy(tmp_path):
    out = bridge_run(sys.executable, tmp_path)
    assert not (set(out["modules"]) & (HEAVY | {"PySide2", "qtpy", "shiboken6"}))
    assert out["keys"] == [{"frame": 1003, "object": 1, "include": [[10.0, 10.0]], "exclude": []}]
    assert out["file"] == "/o/m.####.exr" and out["copy"] == [True, True]


def test_bridge_on_python39(tmp_path):
    python = need_python39(oldest_python())
    out = bridge_run(python, tmp_path)
    assert out["version"] == [3, 9] and out["copy"] == [True, True]
