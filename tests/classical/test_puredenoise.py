"""PURE-LET denoiser: transform, PURE unbiasedness, quality bounds, shapes, determinism, errors."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from pd_synth import blobs_scene, noisy, psnr

from fijax.classical import puredenoise
from fijax.classical.haar import analysis_level, level_counts, pad_frames, synthesis_level
from fijax.classical.puredenoise import pure_system
from fijax.errors import InputError


def test_haar_is_unnormalized_and_invertible():
    v = np.random.default_rng(0).random((2, 32, 48))
    low, details = analysis_level(jnp.asarray(v), (-1, -2))
    assert set(details) == {(-1,), (-2,), (-1, -2)}
    # lowpass = plain 2x2 block sums (keeps Poisson statistics)
    np.testing.assert_allclose(low, v.reshape(2, 16, 2, 24, 2).sum(axis=(2, 4)), rtol=1e-6)
    # HH = (a + d) - (b + c)
    hh = v[:, ::2, ::2] + v[:, 1::2, 1::2] - v[:, ::2, 1::2] - v[:, 1::2, ::2]
    np.testing.assert_allclose(details[(-1, -2)], hh, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(synthesis_level(low, details, (-1, -2)), v, atol=1e-5)


def test_level_rule_and_padding():
    assert level_counts(512, 512) == (5, 5)   # coarsest lowpass 16x16
    assert level_counts(256, 256) == (4, 4)
    assert level_counts(16, 16) == (0, 0)
    padded, crop = pad_frames(np.arange(30 * 20, dtype=float).reshape(1, 30, 20))
    assert padded.shape == (1, 32, 32)
    assert crop == (slice(1, 31), slice(6, 26))
    # half-sample symmetric: the first padded row repeats the first row
    np.testing.assert_array_equal(padded[0, 0, 6:26], padded[0, 1, 6:26])


def test_pure_is_an_unbiased_estimate_of_the_oracle_correlation(camera256):
    """c_k (PURE) must match mean(theta * phi_k) computed with the clean image, up to noise."""
    x = camera256 * 20.0 + 1.0
    sig = 1.5
    hp = (-1,)
    with jax.enable_x64(True):
        _, clean_det = analysis_level(jnp.asarray(x[None]), (-1, -2))
        theta = clean_det[hp][0]
        cs, oracles, naives = [], [], []
        for seed in range(4):
            y = noisy(x, 1.0, 0.0, sig, seed)
            low, det = analysis_level(jnp.asarray(y[None]), (-1, -2))
            phi, m, c = pure_system(det[hp], low, jnp.asarray([4 * sig**2]), hp, 0)
            flat = phi.reshape(phi.shape[0], -1)
            cs.append(np.asarray(c))
            oracles.append(np.asarray(jnp.mean(flat * theta.reshape(-1), axis=1)))
            naives.append(np.asarray(jnp.mean(flat * det[hp][0].reshape(-1), axis=1)))
    c, oracle, naive = (np.mean(v, axis=0) for v in (cs, oracles, naives))
    shrink = [0, 1, 3, 4]  # functions of the noisy coefficient itself: the naive estimate is far off
    assert np.all(np.abs(naive[shrink] - oracle[shrink]) > 2 * np.abs(oracle[shrink]))
    assert np.all(np.abs(c[shrink] - oracle[shrink]) < 0.1 * np.abs(oracle[shrink])), (c, oracle)
    # predictor functions use neighbours only: unbiased, noisier
    assert np.all(np.abs(c[[2, 5]] - oracle[[2, 5]]) < 0.25 * np.abs(oracle[[2, 5]])), (c, oracle)


def test_quality_on_cameraman_peak10(camera256):
    """Luisier's protocol, one realisation: published UWT PURE-LET 24.68 dB at peak 10 (sigma 1)."""
    peak, sig = 10.0, 1.0
    x = camera256 * peak
    y = noisy(x, 1.0, 0.0, sig, seed=0)
    out = puredenoise(y, alpha=1.0, delta=0.0, sigma=sig, cycle_spins=4)
    p_in, p_out = psnr(y, x, peak), psnr(out, x, peak)
    assert p_out - p_in > 10.0, (p_in, p_out)
    assert abs(p_out - 24.68) < 1.5, p_out
    # the plugin's regularised solve gives nearly the same result
    compat = puredenoise(y, alpha=1.0, delta=0.0, sigma=sig, cycle_spins=4, plugin_compat=True)
    assert abs(psnr(compat, x, peak) - p_out) < 0.3


def test_peak1_quality_is_robust_to_slightly_wrong_parameters(camera256):
    """Published 20.35 dB at peak 1; a 0.7 % offset error or 20 % sigma error must not wreck it."""
    peak, sig = 1.0, 0.1
    x = camera256 * peak
    y = noisy(x, 1.0, 0.0, sig, seed=0)
    exact = psnr(puredenoise(y, alpha=1.0, delta=0.0, sigma=sig, cycle_spins=4), x, peak)
    assert exact > 19.5 and exact - psnr(y, x, peak) > 15.0, exact
    for delta, sigma in ((-0.007, sig), (0.0, 1.2 * sig)):
        wrong = psnr(puredenoise(y, alpha=1.0, delta=delta, sigma=sigma, cycle_spins=4), x, peak)
        # without the plugin's pruning of negatively correlated functions this loses 2-4 dB
        assert wrong > exact - 1.0, (delta, sigma, wrong, exact)


def test_constant_image_is_flattened():
    const, sig = 7.0, 0.7
    x = np.full((256, 256), const)
    y = noisy(x, 1.0, 0.0, sig, seed=1)
    out = puredenoise(y, alpha=1.0, delta=0.0, sigma=sig, cycle_spins=4)
    # 4 levels (same compiled program as the cameraman tests): the untouched 16x16 lowpass alone leaves (const + sig^2) / 256 per pixel
    assert np.mean((out - x) ** 2) < 0.03 * (const + sig**2)


def test_odd_size_scale_dtype_and_determinism():
    x = blobs_scene(100, 30.0, seed=2)[:, :90] + 1.0
    raw = noisy(x, 3.0, 100.0, 4.0, seed=2)
    out = puredenoise(raw, alpha=3.0, delta=100.0, sigma=4.0, cycle_spins=3, seed=5)
    assert out.shape == raw.shape and out.dtype == np.float32
    # the intensity scale of the input is kept and the noise is reduced
    assert abs(out.mean() - raw.mean()) < 0.02 * raw.mean()
    truth = 3.0 * x + 100.0
    assert np.mean((out - truth) ** 2) < 0.5 * np.mean((raw - truth) ** 2)
    again = puredenoise(raw, alpha=3.0, delta=100.0, sigma=4.0, cycle_spins=3, seed=5)
    np.testing.assert_array_equal(out, again)
    other = puredenoise(raw, alpha=3.0, delta=100.0, sigma=4.0, cycle_spins=3, seed=6)
    assert not np.array_equal(out, other)


def test_multiframe_window_beats_single_frame():
    """A static scene: the joint LET over 3 frames must beat frame-by-frame denoising."""
    x = blobs_scene(96, 8.0, seed=4) + 0.5
    # 3 frames and a 3-frame window: every frame sees the whole stack (one compilation)
    stack = np.stack([noisy(x, 1.0, 0.0, 0.5, seed=s) for s in range(3)])
    single = puredenoise(stack, frames=1, alpha=1.0, delta=0.0, sigma=0.5, cycle_spins=1)
    multi = puredenoise(stack, frames=3, alpha=1.0, delta=0.0, sigma=0.5, cycle_spins=1)
    assert multi.shape == stack.shape
    mse_multi, mse_single = (float(np.mean((e - x[None]) ** 2)) for e in (multi, single))
    assert mse_multi < 0.85 * mse_single, (mse_multi, mse_single)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"sigma": -1.0, "alpha": 1.0, "delta": 0.0}, "sigma"),
        ({"alpha": 0.0, "delta": 0.0, "sigma": 1.0}, "alpha"),
        ({"frames": 2}, "frames"),
        ({"frames": 13}, "frames"),
        ({"cycle_spins": 0}, "cycle_spins"),
        ({"cycle_spins": 11}, "cycle_spins"),
        ({"estimation": "bogus"}, "estimation"),
    ],
)
def test_bad_options_raise(kwargs, message):
    img = np.ones((32, 32))
    with pytest.raises(InputError, match=message):
        puredenoise(img, **kwargs)


def test_bad_images_raise():
    with pytest.raises(InputError, match="at least 2x2"):
        puredenoise(np.ones((1, 1)), alpha=1, delta=0, sigma=1)
    with pytest.raises(InputError, match="2D image"):
        puredenoise(np.ones(10), alpha=1, delta=0, sigma=1)
    nan = np.ones((32, 32))
    nan[3, 4] = np.nan
    with pytest.raises(InputError, match="NaN"):
        puredenoise(nan, alpha=1, delta=0, sigma=1)
