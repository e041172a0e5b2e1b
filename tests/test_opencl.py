"""OpenCL kernels (engine/kernels) against the CPU path on the same inputs, on whatever OpenCL
device is installed (PoCL's CPU driver in CI: equality and fallbacks, not GPU speed).

Tolerances: mattes, per-pixel alpha difference <= 1/255 on 99.9 % of pixels; depth, relative
difference <= 1e-4.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from moviola.engine.depth.temporal import TemporalFilter
from moviola.engine.depth.upsample import upsample
from moviola.engine.imaging import flow
from moviola.engine.kernels import choice, runtime
from moviola.engine.matte.refine import refine_alpha

DEVICES = runtime.list_devices()
needs_opencl = pytest.mark.skipif(not DEVICES, reason="no OpenCL device (install '.[opencl]' "
                                                      "and pyopencl[pocl])")


@pytest.fixture(scope="module")
def stages():
    if not DEVICES:
        pytest.skip("no OpenCL device")
    picked = choice.choose("opencl", DEVICES)
    assert picked.stages is not None, picked.problems
    return picked.stages


def _plate(h: int, w: int, seed: int = 0) -> np.ndarray:
    """A plate with edges, gradients and noise: what the filters react to."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    base = np.stack([x / w, y / h, ((x - w / 2) ** 2 + (y - h / 2) ** 2 < (min(h, w) / 3) ** 2)
                     * 0.8], axis=2)
    return np.clip(base * 255 + rng.normal(0, 6, (h, w, 3)), 0, 255).astype(np.uint8)


def _soft(h: int, w: int) -> np.ndarray:
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    d = np.sqrt((x - w / 2) ** 2 + (y - h / 2) ** 2) - min(h, w) / 3.2
    return np.clip(0.5 - d / 2, 0, 1).astype(np.float32)


def _assert_alpha_close(gpu: np.ndarray, cpu: np.ndarray) -> None:
    assert gpu.shape == cpu.shape and gpu.dtype == np.float32
    close = np.abs(gpu - cpu) <= 1 / 255
    assert close.mean() >= 0.999, f"{(~close).sum()} pixels differ by more than 1/255"


def _assert_depth_close(gpu: np.ndarray, cpu: np.ndarray) -> None:
    assert gpu.shape == cpu.shape
    rel = np.abs(gpu - cpu) / np.maximum(np.abs(cpu), 1e-6)
    assert rel.max() <= 1e-4, f"largest relative difference {rel.max():.2e}"


@needs_opencl
@pytest.mark.parametrize("plate_hw, soft_hw", [((97, 131), (25, 33)), ((360, 640), (90, 160)),
                                                ((601, 803), (151, 201))])
def test_refine_matches_cpu(stages, plate_hw, soft_hw):
    plate, soft = _plate(*plate_hw), _soft(*soft_hw)
    _assert_alpha_close(refine_alpha(soft, plate, stages=stages), refine_alpha(soft, plate))


@needs_opencl
def test_refine_touching_borders_and_strips(stages):
    # The object runs off every side, so the band meets the image borders; the crop is taller
    # than one strip, so strip seams are crossed.
    plate = _plate(700, 300, seed=3)
    soft = np.zeros((175, 75), np.float32)
    soft[:, 20:60] = 1.0
    soft[:30, :] = 1.0
    cpu = refine_alpha(soft, plate, radius=3)
    _assert_alpha_close(refine_alpha(soft, plate, radius=3, stages=stages), cpu)


@needs_opencl
def test_refine_4k(stages):
    plate = _plate(2160, 3840, seed=1)
    soft = _soft(540, 960)
    _assert_alpha_close(refine_alpha(soft, plate, stages=stages), refine_alpha(soft, plate))


@needs_opencl
@pytest.mark.parametrize("small_hw, plate_hw", [((37, 53), (101, 157)), ((270, 480), (1080, 1920)),
                                                ((540, 960), (2160, 3840)), ((64, 64), (64, 200))])
def test_upsample_matches_cpu(stages, small_hw, plate_hw):
    rng = np.random.default_rng(2)
    values = (rng.random(small_hw, dtype=np.float32) * 5 + 0.5).astype(np.float32)
    guide = _plate(*plate_hw, seed=4)
    _assert_depth_close(upsample(values, guide, stages=stages), upsample(values, guide))


@needs_opencl
@pytest.mark.parametrize("small_hw, plate_hw", [((37, 53), (101, 157)), ((1, 1), (3, 5)),
                                                ((270, 480), (1080, 1920))])
def test_upsample_is_bit_exact_and_quantizes_on_the_device(stages, small_hw, plate_hw):
    # The CPU's order of operations, no contraction, correctly rounded division: the same
    # floats, so a 16-bit PNG of them has the same integers.
    if not stages.runtime.exact_division:
        pytest.skip("this device has no correctly rounded division")
    rng = np.random.default_rng(3)
    values = rng.uniform(-0.1, 1.1, small_hw).astype(np.float32)   # clipped at both ends
    guide = _plate(*plate_hw, seed=5)
    assert np.array_equal(upsample(values, guide, stages=stages), upsample(values, guide))
    cpu = upsample(values, guide, dtype=np.uint16)
    gpu = upsample(values, guide, stages=stages, dtype=np.uint16)
    assert cpu.dtype == gpu.dtype == np.uint16 and cpu.shape == plate_hw
    assert np.array_equal(gpu, cpu)
    if values.size > 1:
        assert cpu.min() == 0 and cpu.max() == 65535   # both clipping ends were crossed


@needs_opencl
@pytest.mark.parametrize("outside", [None, 0.0])
def test_warp_matches_cpu_sample(stages, outside):
    rng = np.random.default_rng(5)
    h, w = 83, 117
    image = (rng.random((h, w), dtype=np.float32) + 0.5).astype(np.float32)
    field = (rng.normal(0, 6, (h, w, 2))).astype(np.float32)   # many targets off the frame
    cpu = flow.sample(image, field, outside=outside)
    gpu = stages.warp(image, field, outside)
    assert np.abs(gpu - cpu).max() <= 1e-4 * 1.5


@needs_opencl
def test_temporal_filter_matches_cpu(stages):
    rng = np.random.default_rng(6)
    h, w = 120, 213
    cpu, gpu = TemporalFilter(0.5), TemporalFilter(0.5, stages=stages)
    for k in range(3):
        image = np.roll(_plate(h, w, seed=7), 3 * k, axis=1)
        values = (1.0 + rng.normal(0, 0.02, (h, w))).astype(np.float32)
        _assert_depth_close(gpu(values, image), cpu(values, image))


@needs_opencl
def test_buffers_are_reused_across_frames(stages):
    plate, soft = _plate(360, 640), _soft(90, 160)
    refine_alpha(soft, plate, stages=stages)
    held = stages.runtime.held_bytes
    for _ in range(3):
        refine_alpha(soft, plate, stages=stages)
    assert stages.runtime.held_bytes == held


@needs_opencl
def test_threads_share_two_buffer_sets_with_the_cpu_results(stages):
    # Frames refined and upsampled from four threads at once: each stage takes one of the two
    # buffer sets (its own queue and kernel objects), so results never mix and memory stays
    # at two sets; every result equals the single-threaded device's and is within tolerance
    # of the CPU's.
    plate, soft = _plate(360, 640, seed=11), _soft(90, 160)
    values = np.random.default_rng(12).random((90, 160), dtype=np.float32) + 0.5
    alone = refine_alpha(soft, plate, stages=stages), upsample(values, plate, stages=stages)

    def frame(k: int) -> tuple[np.ndarray, np.ndarray]:
        return refine_alpha(soft, plate, stages=stages), upsample(values + k, plate, stages=stages)

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(frame, range(8)))
    assert stages.runtime.set_count <= runtime.BUFFER_SETS
    for k, (alpha, depth) in enumerate(results):
        assert np.array_equal(alpha, alone[0])
        _assert_depth_close(depth, upsample(values + k, plate))
    _assert_alpha_close(alone[0], refine_alpha(soft, plate))


@needs_opencl
def test_a_third_frame_waits_for_a_buffer_set(stages):
    rt = stages.runtime
    entered = threading.Event()

    def third() -> None:
        with rt.buffers():
            entered.set()

    with rt.buffers() as first, rt.buffers() as second:
        assert first is not second and {first.index, second.index} == {0, 1}
        waiting = threading.Thread(target=third)
        waiting.start()
        assert not entered.wait(0.3)          # both sets taken: the third caller waits
    waiting.join(10)
    assert entered.is_set() and rt.set_count == runtime.BUFFER_SETS
    with rt.buffers() as again:
        assert again.index == 0               # one caller at a time reuses the first set


def test_no_device_falls_back_with_a_problem():
    picked = choice.choose("opencl", [{"type": "cpu", "name": "x"}])
    assert picked.stages is None and picked.pixels == "cpu"
    assert "no OpenCL device" in picked.problems[0]
    assert choice.choose("auto", []).problems == []


@needs_opencl
def test_build_failure_falls_back_with_a_problem(monkeypatch):
    monkeypatch.setenv(runtime.FAULT_ENV, "build")
    picked = choice.choose("opencl", DEVICES)
    assert picked.stages is None
    assert "failed to build" in picked.problems[0] and "CPU path" in picked.problems[0]


@needs_opencl
def test_auto_prefers_a_gpu_and_says_why():
    cpu_only = [dict(d, kind="cpu") for d in DEVICES]
    assert choice.choose("auto", cpu_only).stages is None
    assert "CPU path is faster" in choice.choose("auto", cpu_only).reason
    as_gpu = [dict(DEVICES[0], kind="gpu")]
    picked = choice.choose("auto", as_gpu)
    assert picked.stages is not None and "OpenCL GPU" in picked.reason


# --- whole jobs through a live engine: --device opencl against --device cpu --------------

def _read(path):
    import OpenImageIO as oiio
    return oiio.ImageBuf(str(path)).get_pixels(oiio.FLOAT)


@pytest.fixture(scope="module")
def matte_clip(tmp_path_factory):
    from matte_clips import render_matte_clip
    return render_matte_clip(tmp_path_factory.mktemp("ocl-matte") / "clip.mp4", width=320,
                             height=240, frames=6)


def _matte(client, clip, out, device):
    keyframes = [{"frame": 0, "object": 1, **clip.clicks(0)}]
    params = {"input": str(clip.path), "out": str(out), "keyframes": keyframes,
              "backend": "classical", "working_size": 96}
    if device is not None:
        params["device"] = device
    return client.submit("matte", params).wait()


@needs_opencl
def test_matte_job_opencl_gives_the_cpu_files(client, matte_clip, tmp_path):
    cpu = _matte(client, matte_clip, tmp_path / "cpu", "cpu")
    ocl = _matte(client, matte_clip, tmp_path / "ocl", "opencl")
    assert cpu["device"]["pixels"] == "cpu"
    assert ocl["device"]["pixels"] == "opencl" and ocl["device"]["opencl_device"]
    assert ocl["problems"] == [] and ocl["frames"] == cpu["frames"]
    for a, b in zip(cpu["files"], ocl["files"], strict=True):
        _assert_alpha_close(_read(b)[..., 0], _read(a)[..., 0])


@needs_opencl
def test_depth_job_opencl_gives_the_cpu_files(client, tmp_path):
    from depth_scenes import make_scene, write_sequence
    scene = make_scene("truck", 8)
    pattern = write_sequence(scene, tmp_path / "truck", start=1)
    results = {d: client.submit("depth", {"input": pattern, "out": str(tmp_path / d),
                                          "working_size": 64, "device": d}).wait()
               for d in ("cpu", "opencl")}
    assert results["opencl"]["device"]["pixels"] == "opencl"
    assert not [p for p in results["opencl"]["problems"] if "device" in p]
    for a, b in zip(results["cpu"]["files"], results["opencl"]["files"], strict=True):
        _assert_depth_close(_read(b), _read(a))


@needs_opencl
def test_matte_preview_on_opencl_gives_the_cpu_mask(client, matte_clip):
    from moviola.engine.matte.preview import decode_mask_png

    def preview(device):
        return client.submit("matte_preview", {"input": str(matte_clip.path), "frame": 0,
                                               "backend": "classical", "working_size": 96,
                                               "device": device, **matte_clip.clicks(0)}).wait()
    cpu, ocl = preview("cpu"), preview("opencl")
    assert cpu["device"]["pixels"] == "cpu" and cpu["problems"] == []
    assert ocl["device"]["pixels"] == "opencl" and ocl["problems"] == []
    masks = [decode_mask_png(r["mask_png"], r["width"], r["height"]) for r in (cpu, ocl)]
    assert 0.0 < masks[0].mean() < 1.0 and (masks[0] % 1.0 > 0).any()   # a soft edge, refined
    _assert_alpha_close(masks[1], masks[0])


@needs_opencl
def test_preview_refines_on_the_device_it_is_given(stages, matte_clip, monkeypatch):
    # The routing itself: the real device stages, counted, refine the preview's edge.
    from moviola.engine.matte.classical import ClassicalBackend
    from moviola.engine.matte.preview import FrameStates, preview_mask
    from moviola.engine.matte.prompts import parse_prompts
    clicks = matte_clip.clicks(0)
    prompts = parse_prompts(clicks.get("include"), clicks.get("exclude"), clicks.get("box"))
    calls = []
    real = stages.guided_band

    def counted(*args, **kwargs):
        calls.append(args[1].shape)
        return real(*args, **kwargs)

    monkeypatch.setattr(stages, "guided_band", counted)
    backend = ClassicalBackend(working_size=96)
    on_cpu = preview_mask(str(matte_clip.path), 0, prompts, backend, states=FrameStates())
    assert calls == []
    on_device = preview_mask(str(matte_clip.path), 0, prompts, backend, states=FrameStates(),
                             stages=stages)
    assert len(calls) == 1 and on_device["bbox"] == on_cpu["bbox"]


@needs_opencl
def test_matte_walks_record_the_device_that_computed_them(client, matte_clip, tmp_path):
    # The device is not in the cache key (results agree within tolerance): a rerun on OpenCL
    # reuses the CPU's walks and reports them as computed on the CPU.
    cpu = _matte(client, matte_clip, tmp_path / "out", "cpu")
    assert cpu["computed_frames"] > 0
    assert {tuple(w["devices"]) for w in cpu["objects"][0]["walks"]} == {("cpu",)}
    again = _matte(client, matte_clip, tmp_path / "out", "opencl")
    assert again["computed_frames"] == 0 and again["reused_frames"] == cpu["computed_frames"]
    assert {tuple(w["devices"]) for w in again["objects"][0]["walks"]} == {("cpu",)}
    fresh = client.submit("matte", {"input": str(matte_clip.path), "out": str(tmp_path / "ocl"),
                                    "keyframes": [{"frame": 0, "object": 1,
                                                   **matte_clip.clicks(0)}],
                                    "backend": "classical", "working_size": 96,
                                    "device": "opencl"}).wait()
    name = fresh["device"]["opencl_device"]
    assert {tuple(w["devices"]) for w in fresh["objects"][0]["walks"]} == {(f"opencl: {name}",)}


def test_an_extended_walk_lists_both_devices(tmp_path):
    from moviola.engine.matte.cache import UNRECORDED, MatteCache
    cache = MatteCache(str(tmp_path))
    mask = np.full((4, 6), 0.5, np.float32)
    first = cache.walk_writer("k", 0)
    first.add(mask)
    first.commit({"anchor": 0}, device="cpu")
    assert cache.walk_record("k")["devices"] == ["cpu"]
    more = cache.walk_writer("k", cache.walk_length("k"))
    more.add(mask)
    more.commit({"anchor": 0}, device="opencl: gpu")
    assert cache.walk_record("k") == {"length": 2, "anchor": 0, "devices": ["cpu", "opencl: gpu"]}
    same = cache.walk_writer("k", 2)
    same.commit({"anchor": 0}, device="opencl: gpu")
    assert cache.walk_record("k")["devices"] == ["cpu", "opencl: gpu"]
    (cache.root / "old").mkdir()
    (cache.root / "old" / "walk.json").write_text('{"length": 1}')   # stored before devices
    cache.walk_writer("old", 1).commit({}, device="cpu")
    assert cache.walk_record("old")["devices"] == [UNRECORDED, "cpu"]
    assert cache.walk_record("missing") == {}


def _read_u16(path):
    import OpenImageIO as oiio
    image = oiio.ImageBuf(str(path))
    assert image.spec().format == oiio.UINT16
    return image.get_pixels(oiio.UINT16)


@needs_opencl
@pytest.mark.parametrize("smoothing", [0.0, 0.5])
def test_depth_png_job_opencl_gives_the_cpu_integers(client, tmp_path, smoothing):
    # 16-bit PNG depth quantised where it was upsampled. Without temporal smoothing every
    # device stage gives the CPU's exact floats, so the files hold the same integers; the
    # temporal blend is within 1e-4 relative, so with it they are within that, quantised.
    from depth_scenes import make_scene, write_sequence
    if not choice.choose("opencl", DEVICES).stages.runtime.exact_division:
        pytest.skip("this device has no correctly rounded division")
    pattern = write_sequence(make_scene("truck", 8), tmp_path / "truck", start=1)
    results = {d: client.submit("depth", {"input": pattern, "out": str(tmp_path / d),
                                          "working_size": 64, "format": "png16",
                                          "smoothing": smoothing, "device": d}).wait()
               for d in ("cpu", "opencl")}
    assert results["opencl"]["device"]["pixels"] == "opencl"
    assert len(results["cpu"]["files"]) == len(results["opencl"]["files"]) == 8
    for a, b in zip(results["cpu"]["files"], results["opencl"]["files"], strict=True):
        assert str(b).endswith(".png")
        cpu, ocl = _read_u16(a), _read_u16(b)
        if smoothing == 0.0:
            assert np.array_equal(ocl, cpu)
        else:
            diff = np.abs(ocl.astype(np.int64) - cpu.astype(np.int64))
            assert (diff <= 1e-4 * cpu.astype(np.float64) + 1).all(), int(diff.max())


def test_job_without_an_opencl_device_runs_on_the_cpu_with_a_problem(tmp_path):
    # A fresh engine where no OpenCL driver answers, its device setting opencl: a job that
    # names no device takes the setting, still succeeds, and says why it ran on the CPU.
    from engine_harness import start_engine_process
    from matte_clips import render_matte_clip
    clip = render_matte_clip(tmp_path / "clip.mp4", width=128, height=96, frames=3)
    running = start_engine_process(tmp_path / "home", fault_opencl="no_device", device="opencl")
    try:
        with running.client(timeout=10.0) as c:
            hello = c.hello()
            result = _matte(c, clip, tmp_path / "out", None)
        assert not hello["runtimes"]["opencl"]
        assert not [d for d in hello["devices"] if d["type"] == "opencl"]
        assert result["device"]["asked"] == "opencl" and result["device"]["pixels"] == "cpu"
        assert any("no OpenCL device" in p for p in result["problems"])
        assert len(result["files"]) == 3
    finally:
        running.stop()


def test_panel_device_choice(qtbot):
    from moviola.ui.device_choice import DeviceBox
    box = DeviceBox()
    qtbot.addWidget(box)
    assert box.params() == {}            # the engine's setting decides
    box.setCurrentIndex(box.findText("OpenCL GPU"))
    assert box.params() == {"device": "opencl"}


# --- conversions to the output formats: bit-exact -----------------------------------------

@needs_opencl
@pytest.mark.parametrize("dtype", [np.uint16, np.uint8])
@pytest.mark.parametrize("hw", [(1, 1), (97, 131), (2160, 3840)])
def test_quantize_is_bit_exact(stages, dtype, hw):
    rng = np.random.default_rng(8)
    values = rng.uniform(-0.2, 1.2, hw).astype(np.float32)   # out of range at both ends
    top = np.iinfo(dtype).max
    flat = values.reshape(-1)
    ties = ((np.arange(min(flat.size, 1000)) + 0.5) / top).astype(np.float32)  # halves
    flat[:ties.size] = ties
    cpu = np.round(np.clip(values, 0.0, 1.0) * float(top)).astype(dtype)
    gpu = stages.quantize(values, dtype)
    assert gpu.dtype == dtype and gpu.shape == values.shape
    assert np.array_equal(gpu, cpu)


@needs_opencl
def test_png_matte_job_opencl_gives_the_cpu_files(client, matte_clip, tmp_path):
    # 16-bit PNGs quantised on the device: the refined alpha's tolerance, no worse.
    def run(device):
        keyframes = [{"frame": 0, "object": 1, **matte_clip.clicks(0)}]
        return client.submit("matte", {"input": str(matte_clip.path), "out": str(tmp_path / device),
                                       "keyframes": keyframes, "backend": "classical",
                                       "working_size": 96, "format": "png",
                                       "device": device}).wait()
    cpu, ocl = run("cpu"), run("opencl")
    assert ocl["device"]["pixels"] == "opencl" and ocl["problems"] == []
    assert cpu["files"] and len(cpu["files"]) == len(ocl["files"])
    for a, b in zip(cpu["files"], ocl["files"], strict=True):
        assert str(b).endswith(".png")
        _assert_alpha_close(_read(b)[..., 0], _read(a)[..., 0])


# --- the matte propagation: masks carried along the flow, temporal smoothing ---------------

@needs_opencl
@pytest.mark.parametrize("hw", [(1, 1), (61, 97), (540, 960)])
def test_mask_carry_and_smoothing_match_cpu(stages, hw):
    from moviola.engine.matte.flow import warp
    rng = np.random.default_rng(9)
    mask = _soft(*hw)
    field = rng.normal(0, 5, (*hw, 2)).astype(np.float32)   # many from outside the frame
    carried_cpu = warp(mask, field)
    carried = stages.carry_mask(mask, field)
    _assert_alpha_close(carried, carried_cpu)
    assert np.abs(carried - carried_cpu).max() <= 1e-4
    raw = (rng.random(hw) > 0.5).astype(np.float32)
    blend = 0.6
    cpu = blend * raw + (1.0 - blend) * carried_cpu
    gpu = stages.smooth_mask(raw, carried_cpu, blend)
    assert gpu.dtype == np.float32 and np.array_equal(gpu, cpu)


@needs_opencl
def test_propagation_on_the_device_matches_cpu(stages):
    # A disc moving over noise with sensor noise: the tracker and the smoothing both matter.
    from moviola.engine.matte.classical import ClassicalBackend
    from moviola.engine.matte.propagate import propagate
    from test_matte_units import Synthetic
    source = Synthetic(8, noise=12.0)
    results = {}
    for name, device in (("cpu", None), ("ocl", stages)):
        masks: list[np.ndarray] = []
        propagate(source, ClassicalBackend(working_size=0), 0, source.read(0), source.mask(0), +1,
                  7, lambda _n, m, into=masks: into.append(m), stages=device)
        results[name] = masks
    assert len(results["cpu"]) == len(results["ocl"]) == 7
    for a, b in zip(results["cpu"], results["ocl"], strict=True):
        _assert_alpha_close(np.asarray(b, np.float32), np.asarray(a, np.float32))
