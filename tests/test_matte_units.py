"""Fast unit tests of the matte building blocks: metrics, prompts, planning, refinement,
streaming, temporal smoothing, backends."""

from __future__ import annotations

import tracemalloc

import cv2
import numpy as np
import pytest

from matte_clips import render_matte_clip
from moviola.engine.matte.backend import backend_status, create_backend
from moviola.engine.matte.classical import ClassicalBackend
from moviola.engine.matte.frames import reverse_frames, working_size
from moviola.engine.matte.metrics import boundary_f, region_j
from moviola.engine.matte.plan import plan_object
from moviola.engine.matte.prompts import Keyframe, Prompts, check_keyframes, parse_keyframes
from moviola.engine.matte.propagate import propagate
from moviola.engine.matte.refine import guided_filter_color, guided_filter_gray, refine_alpha
from moviola.engine.media.frame_source import FrameSource
from moviola.engine.media.info import MediaInfo
from moviola.plugin import errors


def disc(h, w, cx, cy, r):
    ys, xs = np.mgrid[0:h, 0:w]
    return ((xs + 0.5 - cx) ** 2 + (ys + 0.5 - cy) ** 2 <= r * r).astype(np.float32)


# ---- metrics ---------------------------------------------------------------------------------

def test_j_and_f_match_their_definitions():
    a = disc(120, 160, 80, 60, 30)
    assert region_j(a, a) == 1.0 and boundary_f(a, a) == 1.0
    empty = np.zeros_like(a)
    assert region_j(empty, empty) == 1.0 == boundary_f(empty, empty)
    assert region_j(a, np.zeros_like(a)) == 0.0 and boundary_f(a, np.zeros_like(a)) == 0.0
    shifted = np.roll(a, 1, axis=1)  # one pixel: within the boundary tolerance (2 px here)
    assert boundary_f(shifted, a) == 1.0 and 0.9 < region_j(shifted, a) < 1.0
    far = np.roll(a, 8, axis=1)
    assert boundary_f(far, a) < 0.5
    b = disc(120, 160, 80, 60, 15)
    assert region_j(b, a) == pytest.approx(b.sum() / a.sum(), rel=1e-6)


# ---- prompts ---------------------------------------------------------------------------------

def test_keyframes_parse_sort_and_check():
    kfs = parse_keyframes([{"frame": 9, "object": 2, "box": [1, 2, 30, 40]},
                           {"frame": 3, "include": [[5, 6]], "exclude": [[7.5, 8]]}])
    assert [(k.object_id, k.frame) for k in kfs] == [(1, 3), (2, 9)]
    assert kfs[0].prompts.scaled(0.5, 2).include == ((2.5, 12.0),)
    assert kfs[0].prompts.digest() == Prompts(((5.0, 6.0),), ((7.5, 8.0),)).digest()
    check_keyframes(kfs, 64, 48, 0, 9)
    with pytest.raises(errors.FrameRangeError):
        check_keyframes(kfs, 64, 48, 0, 8)
    with pytest.raises(errors.InvalidParamsError, match="not inside the 20x48 image"):
        check_keyframes(kfs, 20, 48, 0, 9)
    for bad, match in [([{"frame": 1, "include": [[1, 2]], "colour": 3}], "unknown field"),
                       ([{"frame": 1, "include": [[1]]}], r"\[x, y\]"),
                       ([{"frame": 1, "include": [[1, float("nan")]]}], "finite"),
                       ([{"frame": 1.5, "include": [[1, 2]]}], "integer"),
                       ([{"frame": 1, "include": [[1, 2]]}, {"frame": 1, "box": [0, 0, 2, 2]}], "already"),
                       ([], "at least one")]:
        with pytest.raises(errors.InvalidParamsError, match=match):
            parse_keyframes(bad)


# ---- planning --------------------------------------------------------------------------------

def kf(frame):
    return Keyframe(frame, 1, Prompts(((1.0, 1.0),)))


def test_plan_walks_reach_only_to_the_neighbouring_keyframes():
    walks, plans = plan_object([kf(10), kf(2), kf(20)], 0, 25)
    assert [(w.anchor.frame, w.direction, w.length) for w in walks] == [
        (2, -1, 2), (2, 1, 7), (10, -1, 7), (10, 1, 9), (20, -1, 9), (20, 1, 5)]
    by_frame = {p.frame: p for p in plans}
    assert by_frame[10].keyframe.frame == 10
    assert by_frame[0].backward.frame == 2 and by_frame[0].weight_backward == 1.0
    assert by_frame[25].forward.frame == 20 and by_frame[25].weight_backward == 0.0
    assert by_frame[6].weight_backward == pytest.approx(0.5)
    # A range between two keyframes walks from both, only as far as it needs.
    walks, _ = plan_object([kf(0), kf(50)], 10, 12)
    assert [(w.anchor.frame, w.direction, w.length) for w in walks] == [(0, 1, 12), (50, -1, 40)]


# ---- refinement ------------------------------------------------------------------------------

def test_guided_filter_keeps_constants_and_aligned_edges():
    guide = np.zeros((40, 40), np.float32)
    guide[:, 20:] = 1.0
    flat = np.full((40, 40), 0.3, np.float32)
    assert np.allclose(guided_filter_gray(guide, flat, 4, 1e-3), 0.3, atol=1e-4)
    rgb = np.stack([guide, 1 - guide, guide * 0], axis=2)
    assert np.allclose(guided_filter_gray(guide, guide, 4, 1e-4), guide, atol=1e-3)
    assert np.allclose(guided_filter_color(rgb, guide, 4, 1e-4), guide, atol=1e-3)
    # Where the guide is flat, a mask edge is only smoothed, never sharpened or moved.
    edge = np.zeros((40, 40), np.float32)
    edge[:, 10:] = 1.0
    out = guided_filter_color(np.full((40, 40, 3), 0.5, np.float32), edge, 3, 1e-4)
    assert np.all(np.diff(out, axis=1) >= -1e-6) and abs(out[:, 7:13].mean() - 0.5) < 0.02


def test_refined_alpha_is_closer_to_the_true_soft_edge_than_upscaling(tmp_path):
    clip = render_matte_clip(tmp_path / "c.mp4", frames=8)
    import av
    with av.open(str(clip.path)) as c:
        plates = [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]
    err_up, err_refined = [], []
    for plate, truth in zip(plates, clip.masks):
        # A perfect mask at a quarter of the resolution, as a model at 480 px sees a 1080p plate.
        low = (cv2.resize(truth, (80, 60), interpolation=cv2.INTER_AREA) > 0.5).astype(np.float32)
        up = np.clip(cv2.resize(low, (320, 240), interpolation=cv2.INTER_LINEAR), 0, 1)
        alpha = refine_alpha(low, plate)
        assert alpha.shape == (240, 320) and alpha.dtype == np.float32
        near = cv2.dilate(((truth > 0) & (truth < 1)).astype(np.uint8), np.ones((9, 9), np.uint8)) > 0
        err_up.append(np.abs(up - truth)[near].mean())
        err_refined.append(np.abs(alpha - truth)[near].mean())
    assert np.mean(err_refined) < 0.8 * np.mean(err_up)


# ---- streaming and bounded memory ------------------------------------------------------------

class Synthetic(FrameSource):
    """A long clip drawn on demand: a disc drifting over noise."""

    def __init__(self, count, w=160, h=120, noise=0.0):
        self.count, self.w, self.h, self.noise_level = count, w, h, noise
        self.noise = (np.random.default_rng(0).uniform(0, 80, (h + 40, w + 200, 3))).astype(np.uint8)
        self.reads = []

    @property
    def info(self):
        return MediaInfo("synthetic", "video", "raw", self.w, self.h, self.w, self.h, "rgb24", 24,
                         False, self.count, self.count / 24, 0, None, 0, 8)

    def mask(self, n):
        if not self.noise_level:
            return disc(self.h, self.w, 40 + n * 0.4, 60, 25)
        ys, xs = np.mgrid[0:self.h, 0:self.w]  # a soft, 4-pixel edge: where chatter lives
        d = np.sqrt((xs + 0.5 - 40 - n * 0.4) ** 2 + (ys + 0.5 - 60) ** 2)
        return np.clip((25 - d) / 4 + 0.5, 0, 1).astype(np.float32)

    def read(self, n):
        n = self._check_frame(n)
        self.reads.append(n)
        bg = self.noise[20:20 + self.h, (n % 200):(n % 200) + self.w].astype(np.float32)
        m = self.mask(n)[..., None]
        img = bg * (1 - m) + np.array([230, 120, 40]) * m
        if self.noise_level:  # sensor noise, new every frame
            img += np.random.default_rng(n).normal(0, self.noise_level, img.shape)
        return np.clip(img, 0, 255).astype(np.uint8)

    def close(self):
        pass


def test_reverse_frames_come_backwards_in_chunks():
    source = Synthetic(40)
    order = [n for n, _ in reverse_frames(source, 3, 30, max_side=0, chunk=8)]
    assert order == list(range(30, 2, -1))
    assert source.reads[:8] == list(range(23, 31))  # decoded forward, handed out backwards


def _peak_bytes(count):
    source = Synthetic(count)
    backend = ClassicalBackend(working_size=0)
    image = source.read(0)
    tracemalloc.start()
    propagate(source, backend, 0, image, source.mask(0), +1, count - 1, lambda n, m: None)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak


def test_memory_stays_flat_however_long_the_clip():
    short, long = _peak_bytes(30), _peak_bytes(150)
    assert long < 1.3 * short + 1_000_000


def test_temporal_smoothing_suppresses_chatter():
    source = Synthetic(24, noise=12.0)

    class Raw(ClassicalBackend):
        TEMPORAL_BLEND = 1.0

    def chatter(backend):
        masks = {}
        propagate(source, backend, 0, source.read(0), source.mask(0), +1, 23,
                  lambda n, m: masks.__setitem__(n, m))
        # Frame-to-frame change beyond what the true motion explains.
        return np.mean([np.abs((masks[n] - masks[n - 1]) - (source.mask(n) - source.mask(n - 1))).mean()
                        for n in range(2, 24)])

    assert chatter(ClassicalBackend(working_size=0)) < 0.8 * chatter(Raw(working_size=0))


# ---- backends --------------------------------------------------------------------------------

def test_backend_table_and_auto():
    status = backend_status()
    assert status["classical"]["available"] is True
    assert create_backend("classical").NAME == "classical"
    if not status["sam2"]["available"]:
        assert create_backend("auto").NAME == "classical"
        with pytest.raises(errors.InvalidParamsError, match="sam2"):
            create_backend("sam2")
    with pytest.raises(errors.InvalidParamsError, match="unknown matte backend"):
        create_backend("nope")


def test_working_size_never_upscales():
    assert working_size(1920, 1080, 480) == (480, 270)
    assert working_size(320, 240, 480) == (320, 240)
    assert working_size(1080, 1920, 0) == (1080, 1920)


def test_classical_keyframe_from_a_box_alone(tmp_path):
    clip = render_matte_clip(tmp_path / "c.mp4", width=160, height=120, frames=2)
    import av
    with av.open(str(clip.path)) as c:
        image = next(c.decode(video=0)).to_ndarray(format="rgb24")
    ys, xs = np.nonzero(clip.mask(0) > 0.5)
    box = (float(xs.min() - 3), float(ys.min() - 3), float(xs.max() + 4), float(ys.max() + 4))
    mask = ClassicalBackend().segment(image, Prompts(box=box))
    assert region_j(mask, clip.mask(0)) > 0.85
