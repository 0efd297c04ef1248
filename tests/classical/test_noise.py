"""Automatic noise-parameter estimation (the plugin's block regression)."""

from __future__ import annotations

import numpy as np
import pytest
from pd_synth import blobs_scene, noisy

from fijax.classical import estimate_noise, puredenoise
from fijax.classical.noise import estimate_noise_stack
from fijax.errors import InputError


@pytest.mark.parametrize("alpha, delta, sigma", [(1.0, 0.0, 1.0), (3.0, 100.0, 5.0), (10.0, 500.0, 20.0)])
@pytest.mark.parametrize("seed", [0, 1])
def test_estimate_within_10_percent(alpha, delta, sigma, seed):
    x = blobs_scene(512, 40.0, seed=seed)
    raw = noisy(x, alpha, delta, sigma, seed=seed + 100)
    a, d, s = estimate_noise(raw, method="plugin")
    assert abs(a / alpha - 1) < 0.10, a
    assert abs(s / sigma - 1) < 0.10, s
    assert abs(d - delta) < 0.5 * sigma, d
    # the robust default: the gain, and the variance law at the dark level (offset and sigma are
    # only identified together: an offset on the line with its sigma gives the same variances)
    a, d, s = estimate_noise(raw)
    assert abs(a / alpha - 1) < 0.10, a
    for q in (5, 50):  # the dark level and the median level of the noise-free image
        level = alpha * float(np.percentile(x, q)) + delta
        true_var = alpha * (level - delta) + sigma ** 2
        est_var = a * (level - d) + s ** 2
        assert abs(est_var / true_var - 1) < 0.25, (q, est_var, true_var)


def test_global_estimate_corrects_for_frame_averaging():
    x = blobs_scene(256, 40.0, seed=3)
    stack = np.stack([noisy(x, 2.0, 50.0, 4.0, seed=s) for s in range(5)])
    a, d, s = estimate_noise_stack(stack, "global")
    assert a.shape == (5,) and np.all(a == a[0])
    # estimated on the mean of 3 frames: gain and std must be scaled back to one frame
    assert abs(a[0] / 2.0 - 1) < 0.15 and abs(s[0] / 4.0 - 1) < 0.15, (a[0], s[0])
    ai, _, si = estimate_noise_stack(stack[:2], "individual")
    assert ai.shape == (2,) and np.all(np.abs(ai / 2.0 - 1) < 0.2)


def test_denoiser_with_estimated_parameters_close_to_true_ones():
    x = blobs_scene(256, 20.0, seed=5)
    raw = noisy(x, 2.0, 10.0, 2.0, seed=5)
    truth = 2.0 * x + 10.0
    auto, params = puredenoise(raw, cycle_spins=4, return_params=True)
    known = puredenoise(raw, cycle_spins=4, alpha=2.0, delta=10.0, sigma=2.0)
    mse_auto, mse_known = np.mean((auto - truth) ** 2), np.mean((known - truth) ** 2)
    assert mse_auto < 1.15 * mse_known, (mse_auto, mse_known, params)


def test_estimate_rejects_bad_input():
    with pytest.raises(InputError, match="2D"):
        estimate_noise(np.ones((2, 32, 32)))
    with pytest.raises(InputError, match="NaN"):
        estimate_noise(np.full((64, 64), np.nan))
    with pytest.raises(InputError, match="too small"):
        estimate_noise(np.ones((8, 8)))
    # no noise at all: the fitted gain is not positive -> a clear failure, not garbage
    with pytest.raises(InputError, match="estimation failed|too flat"):
        estimate_noise(np.full((128, 128), 5.0))
    with pytest.raises(InputError, match="estimation failed"):
        estimate_noise(np.full((128, 128), 5.0), method="plugin")
