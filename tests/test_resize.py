"""The one resize helper (engine/media/resize.py) against references: block means for exact
area shrinks, every supported dtype and channel count, odd sizes, stretches, alpha."""

from __future__ import annotations

import numpy as np
import pytest

from moviola.engine.media.resize import fit_width, resize


def block_mean(a: np.ndarray, f: int) -> np.ndarray:
    h, w = a.shape[:2]
    return a.reshape(h // f, f, w // f, f, *a.shape[2:]).astype(np.float64).mean(axis=(1, 3))


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16])
@pytest.mark.parametrize("channels", [None, 1, 3, 4, 6])
def test_exact_2x_and_3x_shrinks_of_floats_are_block_means(dtype, channels):
    rng = np.random.default_rng(0)
    shape = (54, 96) if channels is None else (54, 96, channels)
    a = (rng.random(shape) * 4 - 1).astype(dtype)      # scene-linear: below 0 and above 1
    for f in (2, 3):
        out = resize(a, 96 // f, 54 // f)
        assert out.dtype == a.dtype and out.shape == (54 // f, 96 // f) + a.shape[2:]
        tol = 2e-3 if dtype == np.float16 else 1e-5
        assert np.allclose(out.astype(np.float64), block_mean(a, f), atol=tol)


@pytest.mark.parametrize("dtype,top", [(np.uint8, 255), (np.uint16, 65535)])
@pytest.mark.parametrize("channels", [None, 1, 3, 4])
def test_exact_2x_shrink_of_integers_is_the_rounded_block_mean(dtype, top, channels):
    rng = np.random.default_rng(1)
    shape = (64, 128) if channels is None else (64, 128, channels)
    a = rng.integers(0, top + 1, shape).astype(dtype)
    out = resize(a, 64, 32)
    assert out.dtype == a.dtype and out.shape == (32, 64) + a.shape[2:]
    assert np.abs(out.astype(np.float64) - block_mean(a, 2)).max() <= 0.5 + 1e-9


def test_a_constant_frame_stays_constant_at_odd_sizes_both_ways():
    for dtype, value in ((np.uint8, 200), (np.uint16, 51234), (np.float32, 0.37)):
        a = np.full((37, 53, 3), value, dtype)
        for w, h in ((17, 11), (19, 37), (101, 71), (31, 90), (1, 1)):
            out = resize(a, w, h)
            assert out.shape == (h, w, 3) and out.dtype == a.dtype
            assert np.allclose(out, value, atol=1e-5 if dtype == np.float32 else 0)


def test_odd_area_shrink_keeps_the_mean_and_stretch_does_not_overshoot():
    rng = np.random.default_rng(2)
    a = rng.random((99, 161)).astype(np.float32)
    small = resize(a, 53, 31)                          # non-integer factor: area weights
    assert abs(float(small.mean()) - float(a.mean())) < 2e-3
    matte = (rng.random((20, 30)) > 0.5).astype(np.float32)
    big = resize(matte, 97, 61)                         # bilinear: stays inside 0..1
    assert big.min() >= 0.0 and big.max() <= 1.0
    mixed = resize(matte, 15, 61)                       # shrink one axis, stretch the other
    assert mixed.shape == (61, 15) and mixed.min() >= 0.0 and mixed.max() <= 1.0


def test_straight_alpha_keeps_colour_out_of_transparent_pixels():
    a = np.zeros((4, 4, 4), np.uint8)
    a[:, :2] = (255, 0, 0, 255)                        # opaque red on the left
    a[:, 2:] = (0, 255, 0, 0)                          # invisible green on the right
    out = resize(a, 1, 2, straight_alpha=True)
    assert tuple(out[0, 0]) == (255, 0, 0, 128)        # red at half coverage, no green
    plain = resize(a, 1, 2)                            # premultiplied reading: averages
    assert plain[0, 0, 1] > 0


def test_same_size_is_returned_as_is_and_bad_requests_say_why():
    a = np.zeros((10, 20, 3), np.uint8)
    assert resize(a, 20, 10) is a
    with pytest.raises(ValueError, match="positive"):
        resize(a, 0, 10)
    with pytest.raises(ValueError, match="int32"):
        resize(a.astype(np.int32), 5, 5)


def test_fit_width_never_enlarges_and_keeps_even_heights():
    a = np.zeros((1080, 1920, 3), np.uint16)
    out = fit_width(a, 1000)
    assert out.shape == (562, 1000, 3) and out.dtype == np.uint16
    assert fit_width(a, 4000) is a
