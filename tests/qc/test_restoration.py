"""Restoration metrics against scikit-image and the shared test vectors (docs: shared/reference/qc-metrics.md §5)."""

from __future__ import annotations

import numpy as np
import pytest
from skimage import data
from skimage.metrics import normalized_root_mse, peak_signal_noise_ratio, structural_similarity

from fijax.errors import InputError
from fijax.qc import (
    mse,
    norm_minmse,
    nrmse,
    percentile_normalize,
    psnr,
    restoration_metrics,
    rmse,
    rse_map,
    sqrt_mae,
    ssim,
)
from fijax.qc.restoration import exact_taps, gaussian_taps

WANG = dict(gaussian_weights=True, sigma=1.5, use_sample_covariance=False)
SKIMAGE_DEFAULT = dict(gaussian_weights=False, use_sample_covariance=True)


@pytest.fixture(scope="module")
def camera() -> np.ndarray:
    cam = data.camera()
    assert int(cam.sum(dtype=np.int64)) == 33_832_495  # the vectors' anchor
    return cam


@pytest.fixture(scope="module")
def r1(camera):
    yy, xx = np.mgrid[0:512, 0:512]
    gt = camera / 255.0
    pred = 0.9 * gt + 0.05 + 0.05 * np.sin(0.3 * xx + 0.7 * yy)
    return gt, pred


def test_gaussian_taps_match_scipy():
    # §3.1: normalised taps for sigma 1.5, truncate 3.5 (11 taps)
    t = gaussian_taps(1.5)
    assert len(t) == 11
    np.testing.assert_allclose(t[:6], [0.00102838, 0.00759876, 0.03600077, 0.10936069, 0.21300554, 0.26601172],
                               atol=5e-9)
    q = np.asarray(exact_taps(t))
    assert q.astype(np.float32).astype(np.float64).tolist() == q.tolist()
    assert np.sum(q) == 1.0
    np.testing.assert_allclose(q, t, atol=1e-7)


def test_r1_vectors(r1):
    gt, pred = r1
    assert ssim(gt, pred, data_range=1) == pytest.approx(0.6633213911687414, abs=1e-5)
    assert ssim(gt, pred, data_range=1, **SKIMAGE_DEFAULT) == pytest.approx(0.6214802547820921, abs=1e-5)
    assert ssim(gt, pred, data_range=1, gaussian_weights=True, use_sample_covariance=True) == pytest.approx(
        0.662263, abs=1e-5)
    assert ssim(gt, pred, data_range=1, gaussian_weights=False, use_sample_covariance=False) == pytest.approx(
        0.624069, abs=1e-5)
    assert ssim(gt, pred, data_range=2, **SKIMAGE_DEFAULT) == pytest.approx(0.797252, abs=1e-5)
    m, smap = ssim(gt, pred, data_range=1, full=True)
    assert smap.dtype == np.float32 and smap.shape == gt.shape
    assert float(smap.mean(dtype=np.float64)) == pytest.approx(0.662888, abs=1e-5)
    assert float(smap[5:-5, 5:-5].mean(dtype=np.float64)) == pytest.approx(m, abs=1e-7)
    assert smap[0, 0] == pytest.approx(0.717057, abs=1e-4)
    assert smap[256, 256] == pytest.approx(0.582325, abs=1e-4)
    assert smap[100, 200] == pytest.approx(0.878516, abs=1e-4)
    assert psnr(gt, pred, data_range=1) == pytest.approx(26.816067, rel=1e-6)
    assert mse(gt, pred) == pytest.approx(0.0020815810311623235, rel=1e-6)
    assert nrmse(gt, pred) == pytest.approx(0.078295, abs=1e-6)
    assert nrmse(gt, pred, normalization="min-max") == pytest.approx(0.045624, abs=1e-6)
    assert nrmse(gt, pred, normalization="mean") == pytest.approx(0.090145, abs=1e-6)


@pytest.mark.parametrize("kw", [WANG, SKIMAGE_DEFAULT, dict(gaussian_weights=False, use_sample_covariance=False,
                                                               win_size=5),
                                dict(gaussian_weights=True, sigma=0.8, use_sample_covariance=False)])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_ssim_maps_match_skimage_including_borders(r1, kw, dtype):
    gt, pred = (a[:200, 100:331].astype(dtype) for a in r1)  # non-square, odd width
    m, smap = ssim(gt, pred, data_range=1, full=True, **kw)
    # Reference on the exact input values (float64): scikit-image's own float32 path errs by up to
    # 1.3e-4 on this pair's map, more than this kernel (5e-5).
    m_ref, s_ref = structural_similarity(gt.astype(np.float64), pred.astype(np.float64), data_range=1,
                                         full=True, **kw)
    assert m == pytest.approx(m_ref, abs=1e-5)
    np.testing.assert_allclose(smap, s_ref, atol=1e-4, rtol=0)


def test_r0_r2_integer_path(camera):
    noisy = np.clip(camera + 20 * np.random.RandomState(5).randn(512, 512), 0, 255).astype(np.uint8)
    assert int(noisy.sum(dtype=np.int64)) == 33_823_161
    assert ssim(camera, noisy, **SKIMAGE_DEFAULT) == pytest.approx(0.36745183279103666, abs=1e-5)
    assert ssim(camera, noisy) == pytest.approx(0.3579642362365813, abs=1e-5)
    assert ssim(camera / 255, noisy / 255, data_range=1) == pytest.approx(0.3579642362365813, abs=1e-5)
    assert psnr(camera, noisy) == pytest.approx(22.409353, rel=1e-6)
    assert nrmse(camera, noisy) == pytest.approx(0.130038, abs=1e-6)
    rolled = np.roll(camera, 1, axis=1)
    assert ssim(camera, rolled, **SKIMAGE_DEFAULT) == pytest.approx(0.766861, abs=1e-5)
    assert ssim(camera, rolled) == pytest.approx(0.757120, abs=1e-5)
    assert psnr(camera, rolled) == pytest.approx(24.123674, rel=1e-6)
    assert nrmse(camera, rolled) == pytest.approx(0.106747, abs=1e-6)


def test_r3_formula_pair():
    i, j = np.mgrid[0:32, 0:32]
    a = ((3 * i + 5 * j) % 17) / 16
    b = a + 0.05 * (((i + 2 * j) % 5) - 2)
    assert a.sum() == pytest.approx(511.25) and b.sum() == pytest.approx(511.15)
    assert ssim(a, b, data_range=1, **SKIMAGE_DEFAULT) == pytest.approx(0.974136, abs=1e-5)
    assert ssim(a, b, data_range=1) == pytest.approx(0.974199, abs=1e-5)
    assert psnr(a, b, data_range=1) == pytest.approx(23.014543, rel=1e-6)
    assert nrmse(a, b) == pytest.approx(0.120692, abs=1e-6)


def test_uint16_follows_dtype_like_skimage():
    rng = np.random.default_rng(3)
    a = rng.integers(0, 4000, (40, 48)).astype(np.uint16)
    b = np.clip(a + rng.normal(0, 200, a.shape), 0, 65535).astype(np.uint16)
    with pytest.warns(UserWarning):
        ref = structural_similarity(a, b)
    assert ssim(a, b, **SKIMAGE_DEFAULT) == pytest.approx(ref, abs=1e-5)
    assert psnr(a, b) == pytest.approx(peak_signal_noise_ratio(a, b), rel=1e-6)
    signed = a.astype(np.int16) - 2000  # negative values: PSNR uses the dtype span, like skimage
    assert psnr(signed, b.astype(np.int16) - 2000) == pytest.approx(
        peak_signal_noise_ratio(signed, b.astype(np.int16) - 2000), rel=1e-6)


def test_z1_zerocost_pipeline(camera):
    yy, xx = np.mgrid[0:512, 0:512]
    gt = camera.astype(np.uint16) * 16 + 100
    assert int(gt.sum(dtype=np.int64)) == 567_534_320
    source = np.clip(gt + (((7 * xx + 13 * yy) % 61) - 30) * 8, 0, 65535).astype(np.uint16)
    pred = (gt * 0.002 + 0.1 + 0.4 * np.sin(0.05 * xx) * np.cos(0.07 * yy)).astype(np.float32)
    mp = restoration_metrics(gt, pred)
    ms = restoration_metrics(gt, source)
    assert mp["ssim"][0] == pytest.approx(0.9575234446, abs=1e-5)
    assert ms["ssim"][0] == pytest.approx(0.6402516718, abs=1e-5)
    assert mp["sqrt_mae"][0] == pytest.approx(0.1410976048, rel=1e-5)
    assert ms["sqrt_mae"][0] == pytest.approx(0.1730145355, rel=1e-5)
    assert mp["psnr"][0] == pytest.approx(32.2014227477, rel=1e-6)
    assert ms["psnr"][0] == pytest.approx(29.2082158681, rel=1e-6)
    assert mp["rmse"][0] == pytest.approx(0.024543, abs=1e-6)
    assert ms["rmse"][0] == pytest.approx(0.034641, abs=1e-6)
    assert mp["ssim_map"][256, 256] == pytest.approx(0.996071, abs=1e-4)
    assert ms["ssim_map"][256, 256] == pytest.approx(0.489801, abs=1e-4)
    assert mp["rse_map"][256, 256] == pytest.approx(0.011341, abs=1e-5)
    assert ms["rse_map"][256, 256] == pytest.approx(0.059088, abs=1e-5)
    g0, xn = norm_minmse(gt, pred)
    assert float(g0.min()) == pytest.approx(-0.512146, abs=1e-5)
    assert float(g0.max()) == pytest.approx(0.499759, abs=1e-5)
    assert abs(float(xn.mean(dtype=np.float64))) < 1e-6
    # The ZeroCost "NRMSE" is not an RMSE: the honest functions say what they compute.
    assert sqrt_mae(g0, xn) == pytest.approx(np.sqrt(np.mean(np.abs(g0.astype(np.float64) - xn))), rel=1e-6)
    assert rmse(g0, xn) == pytest.approx(0.024543, abs=1e-6)


def test_norm_minmse_matches_reference_formula():
    rng = np.random.default_rng(0)
    gt = rng.gamma(2.0, 50.0, (37, 45)).astype(np.float32)
    x = (0.3 * gt + rng.normal(0, 5, gt.shape) + 17).astype(np.float32)
    mi, ma = np.percentile(gt, [0.1, 99.9])
    g = (gt - np.float32(mi)) / (np.float32(ma) - np.float32(mi) + np.float32(1e-20))
    g0_ref = g - g.mean(dtype=np.float64)
    x0 = x.astype(np.float64) - x.mean(dtype=np.float64)
    s = np.cov(x0.ravel(), g0_ref.ravel())[0, 1] / np.var(x0)  # ddof=1 over ddof=0, as the reference
    g0, xn = norm_minmse(gt, x)
    np.testing.assert_allclose(g0, g0_ref, atol=2e-6)
    np.testing.assert_allclose(xn, s * x0, atol=2e-6)
    # constant image: zero variance gives scale 0, not NaN
    _, flat = norm_minmse(gt, np.full_like(gt, 3.0))
    assert np.all(flat == 0)


def test_percentile_normalize():
    rng = np.random.default_rng(1)
    x = rng.normal(100, 20, (2, 30, 31))
    out = percentile_normalize(x, 3, 99.8)
    assert out.dtype == np.float32 and out.shape == x.shape
    for z in range(2):
        lo, hi = np.percentile(x[z], [3, 99.8])
        np.testing.assert_allclose(out[z], (x[z] - lo) / (hi - lo), rtol=1e-5, atol=1e-6)
    clipped = percentile_normalize(x, 3, 99.8, clip=True)
    assert clipped.min() == 0.0 and clipped.max() == 1.0


def test_stacks_are_per_slice(r1):
    gt, pred = r1
    a = np.stack([gt[:64, :64], gt[64:128, :64], gt[:64, 64:128]]).reshape(3, 1, 64, 64)
    b = np.stack([pred[:64, :64], pred[64:128, :64], pred[:64, 64:128]]).reshape(3, 1, 64, 64)
    values, smap = ssim(a, b, data_range=1, full=True)
    assert values.shape == (3, 1) and smap.shape == a.shape
    for k in range(3):
        ref, ref_map = structural_similarity(a[k, 0], b[k, 0], data_range=1, full=True, **WANG)
        assert values[k, 0] == pytest.approx(ref, abs=1e-5)
        np.testing.assert_allclose(smap[k, 0], ref_map, atol=1e-4)
        assert psnr(a, b, data_range=1)[k, 0] == pytest.approx(
            peak_signal_noise_ratio(a[k, 0], b[k, 0], data_range=1), rel=1e-6)
        assert nrmse(a, b)[k, 0] == pytest.approx(normalized_root_mse(a[k, 0], b[k, 0]), rel=1e-5)
    assert isinstance(ssim(gt[:64, :64], pred[:64, :64], data_range=1), float)


def test_rse_map_and_identical_images(r1):
    gt, pred = r1
    r = rse_map(gt, pred)
    assert r.dtype == np.float32
    np.testing.assert_allclose(r, np.abs(gt - pred), atol=1e-7)
    assert psnr(gt, gt, data_range=1) == float("inf")
    assert ssim(gt, gt, data_range=1) == pytest.approx(1.0, abs=1e-6)
    # a tiny difference of large float64 values keeps its precision
    big = gt + 1000.0
    assert mse(big, big + 1e-4) == pytest.approx(1e-8, rel=1e-3)


@pytest.mark.parametrize("call, message", [
    (lambda: ssim(np.zeros((16, 16)), np.zeros((16, 16))), "data_range is required"),
    (lambda: psnr(np.zeros((16, 16)), np.zeros((16, 16))), "data_range is required"),
    (lambda: ssim(np.zeros((16, 16)), np.zeros((16, 17)), data_range=1), "shape mismatch"),
    (lambda: ssim(np.zeros((0, 16)), np.zeros((0, 16)), data_range=1), "empty"),
    (lambda: ssim(np.zeros(16), np.zeros(16), data_range=1), "at least 2 dimensions"),
    (lambda: ssim(np.full((16, 16), np.nan), np.zeros((16, 16)), data_range=1), "NaN"),
    (lambda: psnr(np.zeros((16, 16)), np.full((16, 16), np.inf), data_range=1), "infinite"),
    (lambda: ssim(np.zeros((8, 8)), np.zeros((8, 8)), data_range=1), "smaller than"),
    (lambda: ssim(np.zeros((16, 16)), np.zeros((16, 16)), data_range=1, gaussian_weights=False, win_size=4),
     "odd"),
    (lambda: ssim(np.zeros((16, 16)), np.zeros((16, 16)), data_range=0), "> 0"),
    (lambda: ssim(np.zeros((16, 16), complex), np.zeros((16, 16), complex), data_range=1), "dtype"),
    (lambda: nrmse(np.ones((16, 16)), np.ones((16, 16)), normalization="max"), "normalization"),
    (lambda: norm_minmse(np.ones((16, 16)), np.ones((16, 16)), pmin=50, pmax=10), "pmin"),
])
def test_bad_input_raises_input_error(call, message):
    with pytest.raises(InputError, match=message):
        call()


def test_wide_integer_and_float64_inputs_are_not_wrapped():
    # JAX without x64 would wrap int64 values beyond 2^31: they must be rounded to float32 instead.
    rng = np.random.default_rng(2)
    a = rng.integers(0, 3_000_000_000, (32, 32)).astype(np.int64)
    b = a + rng.integers(0, 10_000_000, (32, 32))
    assert ssim(a, b, data_range=4e9) == pytest.approx(
        structural_similarity(a, b, data_range=4e9, **WANG), abs=1e-5)
    assert nrmse(a, b) == pytest.approx(normalized_root_mse(a, b), rel=1e-5)
    assert psnr(a, b, data_range=4e9) == pytest.approx(peak_signal_noise_ratio(a, b, data_range=4e9), rel=1e-6)


def test_accelerator_code_path_matches_cpu_banding(r1):
    # GPUs run every slice in parallel in one band (vmap); CPUs loop over slices and 64-row bands.
    from fijax.qc.restoration import _ssim_kernel

    gt, pred = r1
    a = np.stack([gt[:150, :90], pred[:150, :90]]).astype(np.float32)
    b = np.stack([pred[:150, :90], gt[:150, :90]]).astype(np.float32)
    taps = exact_taps(gaussian_taps(1.5))
    args = (a, b, np.float32(1e-4), np.float32(9e-4), np.float32(1.0))
    cpu = _ssim_kernel(*args, taps=taps, band=64, crop=5, full=True, sequential=True)
    acc = _ssim_kernel(*args, taps=taps, band=1 << 30, crop=5, full=True, sequential=False)
    # float32 rounding differs between the two fusions (up to ~5e-5 where variances cancel)
    np.testing.assert_allclose(np.asarray(cpu[0]), np.asarray(acc[0]), atol=1e-4)
    np.testing.assert_allclose(np.asarray(cpu[1]), np.asarray(acc[1]), rtol=1e-5)
    for k in range(2):
        _, ref = structural_similarity(a[k].astype(np.float64), b[k].astype(np.float64), data_range=1,
                                       full=True, **WANG)
        np.testing.assert_allclose(np.asarray(acc[0])[k], ref, atol=1e-4)
