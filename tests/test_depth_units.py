"""Depth building blocks on their own: metrics, links and the banded solve, hole filling,
normalisations, plate conversion, working sizes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from moviola.engine.depth import metrics
from moviola.engine.depth.base import Prediction, even_shape
from moviola.engine.depth.epipolar import FLOW_NOISE_PX
from moviola.engine.depth.estimates import combine
from moviola.engine.depth.fill import fill
from moviola.engine.depth.links import Link, measure_link
from moviola.engine.depth.measured import (
    MEASURED_FLOOR,
    NEIGHBOUR_FILLED_MAX,
    PLANE_FILLED_MAX,
    fill_and_grade,
    measurement_quality,
)
from moviola.engine.depth.normalise import plan
from moviola.engine.depth.plane import fill_from_planes, fit_plane
from moviola.engine.depth.stabilise import Stabiliser, solve_banded
from moviola.engine.imaging.display import display_rgb8
from moviola.plugin import errors


def test_scale_shift_alignment_and_scores():
    rng = np.random.default_rng(0)
    depth = rng.uniform(2.0, 10.0, (40, 50)).astype(np.float32)
    inverse = 1.0 / depth
    assert metrics.fit_scale_shift(3.0 * inverse - 0.2, inverse) == pytest.approx((1 / 3, 0.2 / 3))
    rel, d1 = metrics.evaluate(5.0 * inverse + 1.0, depth)   # any affine copy is perfect
    assert rel == pytest.approx(0.0, abs=1e-5) and d1 == 1.0
    assert metrics.abs_rel(depth * 1.1, depth) == pytest.approx(0.1, rel=1e-5)
    assert metrics.delta1(depth * 1.3, depth) == 0.0 and metrics.delta1(depth * 1.2, depth) == 1.0
    flat = np.ones_like(depth)
    rel_flat, _ = metrics.evaluate(flat + 1e-6 * rng.random(depth.shape), depth)
    assert rel_flat > 0.2


def test_flicker_is_zero_for_truth_and_catches_rescaled_frames():
    depths = [np.full((8, 8), 4.0 + 0.1 * i, np.float32) for i in range(5)]
    ident = np.meshgrid(np.arange(8, dtype=np.float32), np.arange(8, dtype=np.float32))
    corr = [None] + [(ident[0], ident[1], np.ones((8, 8), bool))] * 4
    assert metrics.flicker(depths, depths, corr) == pytest.approx(0.0, abs=1e-7)
    wobbly = [d * (1.1 if i % 2 else 0.9) for i, d in enumerate(depths)]
    assert metrics.flicker(wobbly, depths, corr) > 0.15


def test_banded_cholesky_matches_dense_solve():
    rng = np.random.default_rng(3)
    n, band = 40, 5
    m = rng.normal(size=(n, n))
    full = m @ m.T + n * np.eye(n)
    full[np.abs(np.subtract.outer(np.arange(n), np.arange(n))) >= band] = 0.0
    full += 5 * n * np.eye(n)  # still positive definite after banding
    lower = np.zeros((band, n))
    for k in range(band):
        lower[k, :n - k] = np.diagonal(full, -k)
    rhs = rng.normal(size=n)
    assert np.allclose(solve_banded(lower, rhs), np.linalg.solve(full, rhs), atol=1e-10)


def test_links_trim_outliers_and_the_solve_recovers_scales_and_shifts():
    rng = np.random.default_rng(1)
    x = rng.uniform(0.1, 1.0, 5000)
    y = 2.0 * x + 0.3
    y[:200] = rng.uniform(-5, 5, 200)          # occlusions the flow check missed
    link = measure_link(7, 8, x, y, 5000)
    assert link.mxy / link.mxx == pytest.approx(np.mean(x[200:] * y[200:]) / np.mean(x[200:] ** 2), rel=1e-3)
    assert measure_link(0, 1, x[:10], y[:10], 100) is None   # too few matches

    # Frames whose raw values are truth * s_t + b_t: flow-like links between neighbours.
    truth = [rng.uniform(0.1, 1.0, (30, 40)).astype(np.float32) for _ in range(6)]
    scales = [1.0, 0.5, 2.0, 1.5, 0.8, 1.2]
    shifts = [0.0, 0.1, -0.2, 0.05, 0.3, -0.1]
    stab = Stabiliser("affine", flow_weight=0.0)
    for i, (t, s, b) in enumerate(zip(truth, scales, shifts)):
        raw = (t * s + b).astype(np.float32)
        links = []
        if i:
            prev = (truth[i] * scales[i - 1] + shifts[i - 1]).ravel()
            links.append(measure_link(i - 1, i, prev, raw.ravel(), raw.size))
        stab.add(Prediction(i, raw, np.zeros((30, 40, 3), np.uint8), links=links))
    aligned = stab.solve()
    recovered = [(aligned.apply(i, truth[i] * scales[i] + shifts[i])) for i in range(6)]
    # one affine map for the whole clip remains (the gauge, set by the weak prior): the same
    # for every frame
    ref = metrics.fit_scale_shift(recovered[0], truth[0])
    for i in range(6):
        assert metrics.fit_scale_shift(recovered[i], truth[i]) == pytest.approx(ref, rel=1e-3, abs=1e-3)
    assert aligned.links == 5 and aligned.residual < 1e-3


def test_invalid_frames_stay_out_of_the_solve():
    stab = Stabiliser("scale", flow_weight=0.0)
    stab.add(Prediction(0, np.ones((4, 4), np.float32), np.zeros((4, 4, 3), np.uint8), valid=False))
    stab.add(Prediction(1, np.full((4, 4), 2.0, np.float32), np.zeros((4, 4, 3), np.uint8)))
    aligned = stab.solve()
    assert set(aligned.scale) == {1} and aligned.scale[1] == pytest.approx(1.0)


def test_link_normal_block_is_the_misfit():
    x, y = np.array([1.0, 2.0, 3.0]), np.array([2.0, 4.5, 5.0])
    link = Link(0, 1, 1.0, x.mean(), y.mean(), (x * x).mean(), (y * y).mean(), (x * y).mean(), 0.0)
    theta = np.array([1.5, 0.2, 0.7, -0.1])
    direct = np.mean((theta[0] * x + theta[1] - theta[2] * y - theta[3]) ** 2)
    assert theta @ link.normal_block(True) @ theta == pytest.approx(direct)


def test_fill_keeps_trusted_pixels_and_fills_holes_from_neighbours():
    values = np.tile(np.linspace(1.0, 2.0, 32, dtype=np.float32), (32, 1))
    confidence = np.ones_like(values)
    confidence[10:20, 10:20] = 0.0
    holed = values.copy()
    holed[10:20, 10:20] = 99.0
    out = fill(holed, confidence)
    assert np.allclose(out[confidence > 0], values[confidence > 0])
    assert np.abs(out[10:20, 10:20] - values[10:20, 10:20]).max() < 0.15
    assert not np.any(fill(values, np.zeros_like(values)))


def ground_and_wall(h=60, w=80):
    """Inverse depth of a ground plane (zero at the horizon, a third of the way down) under a
    wall (constant), in a frame of ``h`` x ``w`` pixels."""
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    ground = (0.01 * (ys - h / 3) + 0.001 * xs) * (60.0 / h)
    wall = np.full((h, w), 0.08, np.float32)
    return np.where(ground > wall, ground, wall).astype(np.float32), ground, ys


def test_the_dominant_plane_is_found_among_noise_and_other_surfaces():
    q, ground, _ = ground_and_wall()
    rng = np.random.default_rng(0)
    noisy = (q * (1.0 + 0.01 * rng.normal(size=q.shape))).astype(np.float32)
    measured = rng.random(q.shape) > 0.3
    plane = fit_plane(noisy, measured)
    on_ground = ground > 0.08
    assert plane is not None and plane.residual < 0.02
    assert np.abs(plane.values(q.shape)[on_ground] / ground[on_ground] - 1.0).max() < 0.05
    assert fit_plane(rng.uniform(0.1, 1.0, q.shape).astype(np.float32), measured) is None


@pytest.mark.parametrize("scale", [1, 6])     # 60x80, and 360x480: planes found on a coarser grid
def test_holes_take_the_plane_their_measured_neighbours_lie_on(scale):
    q, ground, _ = ground_and_wall(60 * scale, 80 * scale)
    holes = np.zeros(q.shape, bool)
    in_ground = (slice(30 * scale, 40 * scale), slice(30 * scale, 50 * scale))   # far from the wall
    in_wall = (slice(5 * scale, 12 * scale), slice(30 * scale, 50 * scale))
    holes[in_ground] = holes[in_wall] = True
    planes = fill_from_planes(q, ~holes, holes)
    assert planes.used[in_ground].all()
    assert np.allclose(planes.values[in_ground], ground[in_ground], rtol=0.01)
    assert planes.support[in_ground].min() >= 0.5 and not planes.used[~holes].any()
    # The wall is a plane too (constant inverse depth): its hole takes the wall's depth.
    assert planes.used[in_wall].all() and np.allclose(planes.values[in_wall], 0.08, rtol=0.01)


def test_confidence_is_graded_by_how_well_a_pixel_was_measured_and_what_filled_it():
    q = np.full((40, 40), 0.5, np.float32)
    # Expected relative error FLOW_NOISE_PX / parallax: 2 px of parallax at the threshold.
    parallax = np.tile(np.linspace(2.0, 20.0, 40, dtype=np.float32), (40, 1))
    precision = (parallax / (FLOW_NOISE_PX * q)) ** 2
    spread = np.zeros_like(q)
    quality = measurement_quality(q, precision, None, spread)
    assert quality[:, 0].max() == pytest.approx(0.0, abs=1e-6) and np.all(np.diff(quality[0]) > 0)
    off_line = np.full_like(q, 0.5)
    assert np.allclose(measurement_quality(q, precision, off_line, spread), 0.5 * quality)
    assert np.all(measurement_quality(q, precision, None, np.full_like(q, 0.05)) < 0.51 * quality + 1e-6)
    sure = np.ones(q.shape, bool)
    sure[10:30, 10:30] = False
    independent = np.zeros(q.shape, bool)
    independent[18:22, 18:22] = True
    graded = fill_and_grade(q, np.where(sure, precision, 0.0), sure, independent, quality)
    assert graded.confidence[sure].min() >= MEASURED_FLOOR and graded.confidence[~sure].max() < MEASURED_FLOOR
    assert not graded.confidence[independent].any()
    # A flat map is a plane: its hole is filled from it, a little below the measured floor.
    assert graded.from_plane[~sure & ~independent].all() and np.allclose(graded.values, 0.5, rtol=1e-3)
    assert graded.confidence[12, 20] == pytest.approx(PLANE_FILLED_MAX, rel=0.05)
    # A bumpy map is no plane: filled from the neighbours, lower deeper into the hole.
    bumpy = (q * np.random.default_rng(1).uniform(0.4, 1.6, q.shape)).astype(np.float32)
    graded = fill_and_grade(bumpy, np.where(sure, precision, 0.0), sure, independent, quality)
    assert not graded.from_plane.any()
    assert NEIGHBOUR_FILLED_MAX > graded.confidence[12, 20] > graded.confidence[16, 20] > 0.0


def test_estimates_that_disagree_are_marked():
    rng = np.random.default_rng(2)
    truth = rng.uniform(0.2, 1.0, (30, 30)).astype(np.float32)
    precision = np.ones_like(truth)
    other = truth * 2.0                     # another unit, the same depths ...
    other[:, 20:] *= 1.2                    # ... except on the right, off by 20 %
    q, total, spread, _ = combine(0, [(0, truth, precision), (1, other, precision)], truth.size)
    assert spread[:, :20].max() < 1e-5 and spread[:, 20:].min() > 0.05
    assert np.allclose(total, 1.0 + 4.0)    # the second, halved to the first's unit, is 4x as precise
    _, _, alone, _ = combine(0, [(0, truth, precision)], truth.size)
    assert not alone.any()


def test_normalisations_say_what_is_near():
    ranges = [(0.1, 0.5), (0.12, 0.45)]
    rel = plan("relative", "inverse_depth", False, ranges)
    assert rel.convention == "inverse_depth" and rel.near_is.startswith("1.0")
    assert rel.output(np.array([0.1, 0.5], np.float32)) == pytest.approx([0.0, 1.0])
    nf = plan("near-far", "inverse_depth", False, ranges)
    assert nf.convention == "depth" and (nf.near, nf.far) == pytest.approx((2.0, 10.0))
    assert nf.output(np.array([0.5, 0.1, 0.25], np.float32)) == pytest.approx([0.0, 1.0, 0.25])
    assert nf.preview(np.array([0.0], np.float32))[0] == pytest.approx(1.0)  # preview: near white
    metric = plan("metric", "depth", True, [(1.5, 12.0)])
    assert metric.output(np.array([3.0], np.float32))[0] == 3.0 and metric.units == "m"
    # a metric model's relative pass is built on its inverse depth
    from_metric = plan("relative", "depth", True, [(2.0, 10.0)])
    assert from_metric.output(np.array([2.0, 10.0], np.float32)) == pytest.approx([1.0, 0.0])
    header = nf.header()
    assert header["moviola/depth/convention"] == "depth" and "moviola/depth/near" in header
    assert "Z = 1 / u" in nf.record()["formula"]
    with pytest.raises(errors.InvalidParamsError, match="metric model"):
        plan("metric", "inverse_depth", False, ranges)
    with pytest.raises(errors.InvalidParamsError):
        plan("relative", "inverse_depth", False, [(0.5, 0.5)])


def test_plates_become_8bit_rgb():
    grey16 = np.full((4, 5), 65535, np.uint16)
    assert display_rgb8(grey16).shape == (4, 5, 3) and display_rgb8(grey16).max() == 255
    linear = np.full((2, 2, 4), 0.18, np.float32)
    assert display_rgb8(linear)[0, 0, 0] == round(0.18 ** (1 / 2.2) * 255)
    assert even_shape(1920, 1080, 518, multiple=14, upscale=True) == (924, 518)
    assert even_shape(160, 120, 360) == (160, 120)  # never above the plate unless asked


def test_unmeasured_frames_take_the_nearest_measured_map():
    from moviola.engine.depth.pipeline import Analysis
    from moviola.engine.depth.stabilise import Alignment

    alignment = Alignment("scale", {3: 1.0, 7: 2.0}, {3: 0.0, 7: 0.0}, {3: (0, 1), 7: (0, 1)})
    analysis = Analysis(list(range(1, 10)), [3, 7], alignment, {"status": "partial"}, (8, 8), (8, 8))
    assert [analysis.source_of(n) for n in range(1, 10)] == [3, 3, 3, 3, 3, 7, 7, 7, 7]


def test_the_cache_keeps_confidence_and_held_frames_have_none(tmp_path):
    from moviola.engine.depth.cache import PredictionCache
    from moviola.engine.depth.pipeline import Analysis
    from moviola.engine.depth.stabilise import Alignment
    from moviola.engine.depth.upsample import upsample_confidence

    measured = np.zeros((4, 6), np.float32)
    measured[:, 3:] = 1.0
    with PredictionCache(str(tmp_path), "t") as cache:
        cache.save(1, np.ones((4, 6), np.float32), measured)
        cache.save(2, np.ones((4, 6), np.float32))          # a backend without confidence
        assert np.array_equal(cache.load_confidence(1), measured)
        assert cache.load_confidence(2) is None
        alignment = Alignment("scale", {1: 2.0}, {1: 0.0}, {1: (0, 1)})
        analysis = Analysis([1, 5], [1], alignment, {"status": "partial"}, (6, 4), (6, 4))
        assert np.array_equal(analysis.confidence_of(cache, 1), measured)
        held = analysis.confidence_of(cache, 5)       # frame 5 holds frame 1's map
        assert held.shape == (4, 6) and not held.any()
        assert np.array_equal(analysis.aligned_map(cache, 5), np.full((4, 6), 2.0, np.float32))
    # Bilinear to the plate: 0 and 1 far from the boundary, the share of measured around it.
    full = upsample_confidence(measured, (12, 8))
    assert full.shape == (8, 12) and full[:, 0].max() == 0.0 and full[:, -1].min() == 1.0
    assert 0.0 < full[0, 5] < 1.0 and full.min() >= 0.0 and full.max() <= 1.0


def test_a_depth_movie_shows_depth_z_not_the_confidence_after_it(tmp_path):
    import glob

    import av

    from moviola.engine.media.clip_movie import encode_clip_movie
    from moviola.engine.media.writers import ImageSequenceWriter

    writer = ImageSequenceWriter(tmp_path, "d", "exr", pixel_type="float",
                                 channels=("R", "G", "B", "depth.Z", "depth.confidence"))
    ramp = np.repeat(np.linspace(0.0, 1.0, 64, dtype=np.float32)[None, :], 48, axis=0)
    for n in (1, 2):
        image = np.zeros((48, 64, 5), np.float32)
        image[..., 3] = ramp                     # depth rises left to right
        image[..., 4] = 1.0 - ramp               # confidence falls: the opposite picture
        writer.write(image, n)
    frames = sorted(glob.glob(str(tmp_path / "**" / "*.exr"), recursive=True))
    movie = encode_clip_movie([Path(f) for f in frames], tmp_path / "d.mov", 24.0, "depth", None)
    with av.open(str(movie)) as container:
        grey = next(container.decode(video=0)).to_ndarray(format="gray").astype(float)
    assert grey[:, -8:].mean() > grey[:, :8].mean() + 150
