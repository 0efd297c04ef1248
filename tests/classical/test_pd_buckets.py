"""Shape buckets of PURE-LET: few compiled programs, results unchanged or within the documented tolerance."""

from __future__ import annotations

import numpy as np
import pytest

from fijax.classical import puredenoise
from fijax.classical.haar import BLOCK, bucket_side, pad_frames


def _psnr(est: np.ndarray, x: np.ndarray, peak: float) -> float:
    return float(10 * np.log10(peak**2 / np.mean((est.astype(np.float64) - x) ** 2)))


def test_bucket_sides_are_few_and_tight():
    sides = {bucket_side(n) for n in range(2, 2049)}
    assert all(s % BLOCK == 0 for s in sides)
    for n in range(2, 2049):
        b = bucket_side(n)
        assert b >= n and b <= max(n + BLOCK, 1.25 * n + BLOCK)
    assert len(sides) <= 8 + 4 * 4 + 1  # 16..128 by 16, then four per octave up to 2048
    for n in (64, 128, 256, 320, 512, 1024, 2048):
        assert bucket_side(n) == n  # common sizes are their own bucket


def test_pad_to_a_bucket_is_centred_and_mirrored():
    v = np.arange(150 * 140, dtype=float).reshape(1, 150, 140)
    padded, crop = pad_frames(v, (160, 160))
    assert padded.shape == (1, 160, 160)
    np.testing.assert_array_equal(padded[(0, *crop)], v[0])
    np.testing.assert_array_equal(padded[0, 4], padded[0, 5])  # half-sample symmetric edge
    with pytest.raises(Exception, match="cannot pad"):
        pad_frames(v, (128, 160))


def test_bucket_sized_frames_are_bit_identical(camera256):
    rng = np.random.default_rng(3)
    y = rng.poisson(camera256 * 10) + rng.normal(0, 1, camera256.shape)
    a = puredenoise(y, alpha=1.0, delta=0.0, sigma=1.0, cycle_spins=2, bucket=True)
    b = puredenoise(y, alpha=1.0, delta=0.0, sigma=1.0, cycle_spins=2, bucket=False)
    np.testing.assert_array_equal(a, b)


def test_bucketed_estimate_is_within_tolerance_of_the_plugin_padding(camera256):
    # 150x140: plugin padding 160x144, bucket 160x160 (different levels and margins)
    x = camera256[40:190, 60:200] * 10
    rng = np.random.default_rng(4)
    y = rng.poisson(x) + rng.normal(0, 1.0, x.shape)
    kw = {"alpha": 1.0, "delta": 0.0, "sigma": 1.0, "cycle_spins": 2, "return_params": True}
    a, pa = puredenoise(y, bucket=True, **kw)
    b, pb = puredenoise(y, bucket=False, **kw)
    assert tuple(pa["padded"]) == (160, 160) and tuple(pb["padded"]) == (160, 144)
    assert a.shape == b.shape == y.shape
    # documented tolerance: within 0.15 dB PSNR, and per pixel far below the noise (std ~3.3 at peak 10)
    assert abs(_psnr(a, x, 10) - _psnr(b, x, 10)) < 0.15
    assert np.sqrt(np.mean((a - b) ** 2)) < 0.25 * np.std(y - x)
