"""Depth quality on ray-cast scenes with exact depth: AbsRel and delta<1.25 after least-squares
scale/shift alignment (per clip and per frame), and temporal flicker on static points.

Thresholds, and why (figures measured on these scenes, 160x120, 20 frames; see docs/depth.md):

- parallax, truck (sideways): AbsRel 0.066, delta1 0.94, flicker 0.022. Asserted: AbsRel <= 0.09,
  delta1 >= 0.90, flicker <= 0.035: about a third of headroom for platform differences in
  OpenCV's flow and RANSAC, still far from the baselines.
- parallax, dolly in: AbsRel 0.081, delta1 0.91, flicker 0.030 (the focus of expansion sits
  in the middle of the frame, where a dolly has no parallax; filled from the planes around
  it: 0.094, 0.88 and 0.028 from the neighbours alone). Asserted: <= 0.13, >= 0.82, <= 0.04.
- "wide margin" over the best of a constant and a planar (ground-plane) baseline, which on
  these scenes reach AbsRel 0.24 and delta1 0.61 at best: AbsRel at most half of the
  baseline's, delta1 at least 0.25 higher.
- stabilisation must cut flicker: to at most 0.75x the unaligned pass's (measured 0.58x on
  the truck, 0.70x on the dolly: each frame's plane fill adds a little flicker where the
  dolly shows no depth, 0.65x with the neighbours alone).
- the stabiliser on a relative "model" (the true inverse depth, each frame with a random
  scale in 0.5..2 and shift): the clip-wide AbsRel of the unaligned frames is ~0.25; aligned
  through flow it must drop below 0.01 on the truck and pan, and flicker below a tenth.
  On the dolly the flow links damp the real approach (measured AbsRel 0.094): asserted
  <= 0.12, the documented bias.
- ``pass`` (the truck with a near ball entering half-way, so each frame's depth range changes):
  per-frame normalisation, what flickering passes do, pumps (AbsRel 0.10, flicker 0.011);
  the aligned pass must be at least 4x better on both (measured 0.004 and 0.0006).
- the temporal filter (strength 0.5) on a relative model with 3 % per-frame noise: flicker
  must drop to at most 0.6x (measured 0.44x) without raising AbsRel.
- parallax must call a pan and a locked-off camera not valid.
- the verdict is measured, not assumed: wherever parallax says ``valid`` (truck, dolly, crane,
  orbit, the faster dolly that drifts, the truck past a ball rolling on its own, the pass),
  delta1 after one clip-wide affine fit must reach 0.85 (the issue's goal; measured 0.870 to
  0.967, see benchmarks/depth_quality.py). A dolly creeping in near the focus of expansion
  (measured delta1 0.81) must be ``partial`` with the reason and under half of its pixels
  observable (measured 0.39 to 0.46 per frame; the dolly's lowest frame 0.59). The rolling
  ball must be found (independent motion in at least 5 frames, on about its true share of
  the frame: measured 2.6 % against 4.2 %; 90 % of a pair's flagged pixels on or next to it),
  a static truck must show none. A stabilisation residual above 0.25 must make a valid clip
  ``partial``. A second motion that fits as well but shapes the depth differently (by 10 % or
  more) makes a pair ambiguous (a note in the verdict).
- what parallax cannot show is filled from the frame's dominant planes where the measured
  pixels around it lie on one: delta1 on the filled pixels must beat the neighbours-only fill
  by 0.05 on the dolly and 0.02 on the drifting dolly (measured +0.11, +0.04), and lose at
  most 0.02 on the slow dolly and the rolling ball (measured +0.01, -0.004).
- the confidence is graded and ranks the error: the quarter of a clip's pixels with the
  lowest confidence must have at least 1.4x the mean error of the highest quarter (measured
  2.6x dolly, 2.1x dolly_slow, 4.5x mover, 1.8x crane).
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from depth_passes import ground_truth, parallax_pass
from depth_scenes import make_scene
from moviola.engine.depth import metrics
from moviola.engine.depth.base import Prediction
from moviola.engine.depth.epipolar import ambiguity, intrinsics
from moviola.engine.depth.measured import MEASURED_FLOOR
from moviola.engine.depth.parallax import ParallaxBackend
from moviola.engine.depth.stabilise import Alignment, Stabiliser
from moviola.engine.depth.temporal import TemporalFilter
from moviola.engine.depth.upsample import upsample

FRAMES = 20


def baselines(gts, corr):
    h, w = gts[0].shape
    rng = np.random.default_rng(0)
    planar = [np.repeat(np.arange(h, dtype=np.float32)[:, None], w, axis=1) for _ in gts]
    constant = [1.0 + 1e-6 * rng.random((h, w)).astype(np.float32) for _ in gts]
    scores = [metrics.evaluate_clip(b, gts, corr) for b in (planar, constant)]
    return min(s.abs_rel for s in scores), max(s.delta1 for s in scores)


@pytest.mark.parametrize("motion, max_rel, min_d1, max_flicker", [
    ("truck", 0.09, 0.90, 0.035),
    ("dolly", 0.13, 0.82, 0.04),
])
def test_parallax_beats_baselines_by_a_wide_margin(motion, max_rel, min_d1, max_flicker):
    scene = make_scene(motion, FRAMES)
    gts, corr = ground_truth(scene)
    run = parallax_pass(scene)
    assert run.verdict["status"] == "valid" and run.verdict["frames_measured"] == FRAMES
    scores = metrics.evaluate_clip(run.maps, gts, corr)
    assert scores.abs_rel <= max_rel and scores.delta1 >= min_d1
    assert scores.flicker <= max_flicker
    base_rel, base_d1 = baselines(gts, corr)
    assert scores.abs_rel <= 0.5 * base_rel
    assert scores.delta1 >= base_d1 + 0.25
    raw = parallax_pass(scene, stabilize=False)
    assert scores.flicker <= 0.75 * metrics.evaluate_clip(raw.maps, gts, corr).flicker


@pytest.mark.parametrize("motion", ["pan", "static"])
def test_parallax_says_when_it_is_not_valid(motion):
    scene = make_scene(motion, 10)
    backend = ParallaxBackend()
    predictions = list(backend.predict((i, scene.image(i)) for i in range(len(scene))))
    assert len(predictions) == len(scene) and not any(p.valid for p in predictions)
    verdict = backend.verdict()
    assert verdict["status"] == "not_valid" and "does not translate" in verdict["reason"]


@pytest.mark.parametrize("motion", ["truck", "dolly", "crane", "orbit", "dolly_drift", "mover",
                                    "pass"])
def test_where_parallax_says_valid_the_pass_is_good(motion):
    scene = make_scene(motion, FRAMES)
    gts, corr = ground_truth(scene)
    run = parallax_pass(scene)
    verdict = run.verdict
    assert verdict["status"] == "valid", verdict
    assert metrics.evaluate_clip(run.maps, gts, corr).delta1 >= 0.85
    assert verdict["observable_share"] >= 0.5 and verdict["stabilisation_residual"] <= 0.25


def test_forward_motion_near_the_focus_of_expansion_is_partial():
    scene = make_scene("dolly_slow", FRAMES)
    gts, corr = ground_truth(scene)
    run = parallax_pass(scene)
    verdict = run.verdict
    assert verdict["status"] == "partial" and "too little parallax" in verdict["reason"]
    assert verdict["observable_share"] < 0.5 and verdict["frames_measured"] == FRAMES
    assert len(verdict["low_parallax_frames"]) == FRAMES - verdict["frames_observable"]
    # Partial, not useless: the filled pass still beats a ground-plane ramp by far.
    assert metrics.evaluate_clip(run.maps, gts, corr).delta1 >= baselines(gts, corr)[1] + 0.15


# delta1 on the filled pixels (confidence under MEASURED_FLOOR, the same pixels either way) with
# the plane fill and with the neighbours alone; measured: dolly 0.849 against 0.739, dolly_drift
# 0.828 / 0.785, dolly_slow 0.755 / 0.744, mover 0.719 / 0.723 (the rolling ball's surroundings).
@pytest.mark.parametrize("motion, min_gain", [("dolly", 0.05), ("dolly_drift", 0.02),
                                              ("dolly_slow", -0.02), ("mover", -0.02)])
def test_planes_fill_what_parallax_cannot_show(motion, min_gain):
    scene = make_scene(motion, FRAMES)
    gts, corr = ground_truth(scene)
    runs = [parallax_pass(scene, backend=ParallaxBackend(fill_planes=planes))
            for planes in (True, False)]
    filled = [c < MEASURED_FLOOR for c in runs[0].confidence]
    assert all(np.array_equal(f, c < MEASURED_FLOOR) for f, c in zip(filled, runs[1].confidence))
    with_planes, alone = (metrics.delta1_where(r.maps, gts, filled) for r in runs)
    assert with_planes >= alone + min_gain
    assert runs[0].verdict["status"] == runs[1].verdict["status"]
    overall = [metrics.evaluate_clip(r.maps, gts, corr).delta1 for r in runs]
    assert overall[0] >= overall[1] - 0.01


# Mean relative error of the lowest-confidence quarter of a clip's pixels against the highest
# (after the clip-wide fit); measured: dolly 0.114 / 0.043, dolly_slow 0.154 / 0.074, mover
# 0.143 / 0.032, crane 0.077 / 0.042, truck 0.097 / 0.028.
@pytest.mark.parametrize("motion", ["dolly", "dolly_slow", "mover", "crane"])
def test_confidence_ranks_the_error(motion):
    scene = make_scene(motion, FRAMES)
    gts, _ = ground_truth(scene)
    run = parallax_pass(scene)
    quartiles = metrics.error_by_confidence(run.maps, gts, run.confidence)
    assert quartiles[0] >= 1.4 * quartiles[-1]
    levels = np.concatenate([c.ravel() for c in run.confidence])
    assert 0.0 <= levels.min() and levels.max() <= 1.0
    assert len(np.unique(np.round(levels, 2))) >= 20       # graded, not measured-or-not


def test_independent_motion_is_found_and_filled():
    scene = make_scene("mover", FRAMES)
    backend = ParallaxBackend()
    predictions = list(backend.predict((i, scene.image(i)) for i in range(len(scene))))
    verdict = backend.verdict()
    true_share = np.mean([scene.moving_mask(i).mean() for i in range(len(scene))])
    assert verdict["frames_independent"] >= 5
    assert 0.3 * true_share <= verdict["independent_share"] <= 1.5 * true_share
    assert any("independent motion" in note for note in verdict["notes"])
    # Where it is found, it is the ball: most flagged pixels of a pair lie on or next to it.
    pair = backend._pair(cv2.cvtColor(scene.image(4), cv2.COLOR_RGB2GRAY),
                         cv2.cvtColor(scene.image(8), cv2.COLOR_RGB2GRAY))
    near = cv2.dilate(scene.moving_mask(4).astype(np.uint8), np.ones((9, 9), np.uint8)) > 0
    assert pair.valid and pair.independent is not None and pair.independent.sum() >= 50
    assert np.mean(near[pair.independent]) >= 0.9
    assert predictions[4].info["independent"] > 0
    still = ParallaxBackend()
    truck = make_scene("truck", FRAMES)
    list(still.predict((i, truck.image(i)) for i in range(len(truck))))
    assert still.verdict()["frames_independent"] == 0


def test_frames_that_disagree_on_the_unit_make_the_clip_partial():
    scene = make_scene("truck", 10)
    backend = ParallaxBackend()
    list(backend.predict((i, scene.image(i)) for i in range(len(scene))))
    assert backend.verdict()["status"] == "valid"
    frames = range(len(scene))
    drifting = Alignment("scale", {f: 1.0 for f in frames}, {f: 0.0 for f in frames}, {},
                         residual=0.6)
    verdict = backend.verdict(drifting)
    assert verdict["status"] == "partial" and "one depth unit" in verdict["reason"]


def test_a_motion_that_fits_as_well_but_shapes_depth_otherwise_is_ambiguous():
    rng = np.random.default_rng(0)
    K = intrinsics(160, 120, 45.0)
    pa = rng.uniform([0, 0], [159, 119], (500, 2))
    rays = np.c_[(pa - K[:2, 2]) / K[0, 0], np.ones(len(pa))]
    points = rays * rng.uniform(2.0, 12.0, (len(pa), 1))
    truck = (np.eye(3), np.array([-1.0, 0.0, 0.0]))
    moved = points + truck[1] * 0.1
    pb = moved[:, :2] / moved[:, 2:] * K[0, 0] + K[:2, 2]
    forward = (np.eye(3), np.array([-0.6, 0.0, -0.8]))
    near_truck = (np.eye(3), np.array([-0.999, 0.0, -0.045]))
    # As good a fit, different depths: ambiguous; the same depths, or a far worse fit: not.
    assert ambiguity(pa, pb, K, [truck, forward], [0.05, 0.06], 0) > 0.1
    assert ambiguity(pa, pb, K, [truck, near_truck], [0.05, 0.06], 0) < 0.05
    assert ambiguity(pa, pb, K, [truck, forward], [0.05, 0.5], 0) == 0.0


def relative_model(scene, seed=0, noise=0.0):
    """The true inverse depth, each frame with its own random scale and shift (and optional
    smooth multiplicative noise): what an affine-invariant model returns at best."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(len(scene)):
        u = 1.0 / scene.depth(i)
        wobble = 1.0
        if noise:
            n = cv2.GaussianBlur(rng.normal(size=u.shape).astype(np.float32), (0, 0), 3)
            wobble = 1.0 + noise * n / n.std()
        out.append(((rng.uniform(0.5, 2.0) * u + rng.uniform(-0.05, 0.05)) * wobble).astype(np.float32))
    return out


def stabilise_relative(scene, raw):
    stab = Stabiliser("affine", flow_weight=1.0, flow_offsets=(1, 2))
    for i, values in enumerate(raw):
        stab.add(Prediction(i, values, scene.image(i)))
    aligned = stab.solve()
    return [aligned.apply(i, v) for i, v in enumerate(raw)]


@pytest.mark.parametrize("motion", ["truck", "pan"])
def test_stabiliser_removes_per_frame_scale_and_shift(motion):
    scene = make_scene(motion, FRAMES if motion == "truck" else 10)
    gts, corr = ground_truth(scene)
    raw = relative_model(scene)
    before = metrics.evaluate_clip(raw, gts, corr)
    after = metrics.evaluate_clip(stabilise_relative(scene, raw), gts, corr)
    assert before.abs_rel > 0.15 and after.abs_rel < 0.01
    assert after.flicker < 0.1 * before.flicker
    noisy = relative_model(scene, noise=0.03)
    assert (metrics.evaluate_clip(stabilise_relative(scene, noisy), gts, corr).flicker
            < 0.2 * metrics.evaluate_clip(noisy, gts, corr).flicker)


def per_frame_normalised(raw):
    out = []
    for values in raw:
        lo, hi = np.percentile(values, [1, 99])
        out.append((values - lo) / (hi - lo))
    return out


def test_alignment_does_not_pump_when_the_depth_range_changes():
    scene = make_scene("pass", FRAMES)
    gts, corr = ground_truth(scene)
    raw = relative_model(scene)
    pumping = metrics.evaluate_clip(per_frame_normalised(raw), gts, corr)
    aligned = metrics.evaluate_clip(stabilise_relative(scene, raw), gts, corr)
    assert aligned.abs_rel <= 0.25 * pumping.abs_rel
    assert aligned.flicker <= 0.25 * pumping.flicker


def test_temporal_filter_cuts_per_pixel_flicker():
    scene = make_scene("truck", FRAMES)
    gts, corr = ground_truth(scene)
    aligned = stabilise_relative(scene, relative_model(scene, noise=0.03))
    smooth = TemporalFilter(0.5)
    filtered = [smooth(v, scene.image(i)) for i, v in enumerate(aligned)]
    before = metrics.evaluate_clip(aligned, gts, corr)
    after = metrics.evaluate_clip(filtered, gts, corr)
    assert after.flicker <= 0.6 * before.flicker and after.abs_rel <= before.abs_rel


def test_stabiliser_bias_on_a_dolly_is_bounded():
    scene = make_scene("dolly", FRAMES)
    gts, corr = ground_truth(scene)
    after = metrics.evaluate_clip(stabilise_relative(scene, relative_model(scene)), gts, corr)
    assert after.abs_rel <= 0.12 and after.delta1 >= 0.9


def test_edge_aware_upsampling_beats_bilinear_at_depth_edges():
    scene = make_scene("truck", 1, size=(320, 240))
    image, depth = scene.render(0)
    inverse = 1.0 / depth
    low = cv2.resize(inverse, (80, 60), interpolation=cv2.INTER_AREA)
    edges = cv2.Canny((inverse / inverse.max() * 255).astype(np.uint8), 10, 30) > 0
    edges = cv2.dilate(edges.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0

    def error(up):
        e = np.abs(1.0 / np.maximum(up, 1e-3) - depth) / depth
        return e.mean(), e[edges].mean()

    bilinear = error(cv2.resize(low, (320, 240), interpolation=cv2.INTER_LINEAR))
    guided = error(upsample(low, image))
    assert upsample(low, image).shape == (240, 320)
    assert guided[1] < 0.5 * bilinear[1] and guided[0] < bilinear[0]
