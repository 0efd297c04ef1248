"""Image-restoration QC metrics: SSIM, PSNR, (N)RMSE, RSE maps, ZeroCostDL4Mic normalisation.

Conventions shared by every function here
-----------------------------------------
* Inputs are (..., Y, X) arrays (or :class:`fijax.io.Image`). A 2D image gives a Python ``float``;
  any leading axes (Z, T, C, a stack of images) are **slices**: each (Y, X) plane is measured on its
  own and the result is an array shaped like the leading axes. 3D data are therefore measured slice
  by slice, as in ZeroCostDL4Mic, never with a volumetric window.
* Computation is float32 in JAX (jitted). The SSIM filters are symmetric shift-and-add sums (no
  convolution or matmul, hence no TF32 path on GPUs); means over a slice are accumulated per row in
  float32 and across rows in float64, as scikit-image accumulates the SSIM mean in float64.
* ``data_range`` is **required for float images** (an :class:`~fijax.errors.InputError` otherwise);
  for integer images it follows the dtype like scikit-image (uint8: 255, uint16: 65535, bool: 1).
* Bad input (empty, NaN/Inf, shape mismatch, non-numeric dtype, image smaller than the window)
  raises :class:`~fijax.errors.InputError`.
"""

from __future__ import annotations

import functools
import math
import warnings
from typing import Any, Literal

import jax
import jax.numpy as jnp
import numpy as np

from fijax.errors import InputError
from fijax.qc._checks import (
    as_array,
    as_stack,
    check_finite,
    check_image_pair,
    dtype_range,
    per_slice,
    positive_range,
    resolve_data_range,
)

__all__ = [
    "exact_taps", "gaussian_taps", "mse", "norm_minmse", "nrmse", "percentile_normalize", "psnr", "restoration_metrics",
    "rmse", "rse_map", "sqrt_mae", "ssim",
]

#: scikit-image truncates its SSIM Gaussian at 3.5 sigma (11 taps for sigma 1.5, as Wang et al.).
SSIM_TRUNCATE = 3.5

#: Rows per band of the CPU SSIM kernel: five float32 maps of a 64-row band stay in cache.
_CPU_BAND_ROWS = 64

# dtypes whose difference float32 computes without losing the difference's own precision
_F32_EXACT = {np.dtype(t) for t in (np.float32, np.float16, np.bool_, np.int8, np.uint8, np.int16, np.uint16)}


def _device(a: np.ndarray) -> np.ndarray:
    """(N, Y, X) slices in a dtype JAX keeps: 64-bit input becomes float32 on the host.

    With 64-bit types disabled, JAX would wrap int64 values beyond 2^31 instead of rounding them.
    """
    a = as_stack(a)
    return a.astype(np.float32) if a.dtype.itemsize == 8 else a


# ---------------------------------------------------------------------------------------------
# SSIM
# ---------------------------------------------------------------------------------------------

def gaussian_taps(sigma: float, truncate: float = SSIM_TRUNCATE) -> tuple[float, ...]:
    """Normalised 1D Gaussian taps exactly as ``scipy.ndimage.gaussian_filter`` builds them.

    The radius is ``int(truncate * sigma + 0.5)``; sigma 0 gives the identity filter (SciPy skips
    such axes).
    """
    radius = int(truncate * float(sigma) + 0.5)
    if sigma <= 1e-15 or radius == 0:
        return (1.0,)
    x = np.arange(-radius, radius + 1, dtype=np.float64)
    w = np.exp(-0.5 / (float(sigma) ** 2) * x ** 2)
    return tuple((w / w.sum()).tolist())


def exact_taps(taps: tuple[float, ...]) -> tuple[float, ...]:
    """Round ``taps`` to float32 values whose exact sum is 1.

    Local variances are E[x^2] - E[x]^2; when float32 taps sum to 1 + d, that difference gains a
    *systematic* error of about -2 d E[x]^2, which shows as a bias of ~1e-5 in the mean SSIM of
    a 7x7 uniform window (float32(1/7) * 7 = 1 + 4.5e-8). Rounding every tap to a multiple of the
    largest tap's float32 ulp and giving the centre tap the remainder removes that bias (the
    weights move by ~1e-8, far below the tolerance).
    """
    t = np.asarray(taps, dtype=np.float64)
    if t.size == 1:
        return (1.0,)
    grid = 2.0 ** (math.floor(math.log2(t.max())) - 23)
    q = np.round(t / grid) * grid
    c = t.size // 2
    q[c] = 1.0 - (q.sum() - q[c])
    if not (np.all(q.astype(np.float32).astype(np.float64) == q) and math.fsum(q) == 1.0):
        return tuple(t.tolist())  # cannot happen for sane taps; keep the plain rounding
    return tuple(q.tolist())


def _filter_axis(p: jax.Array, taps: tuple[float, ...], axis: int, n: int, f=None) -> jax.Array:
    """Correlate ``p`` (already padded by the radius along ``axis``) with symmetric ``taps``.

    ``f`` is applied to each shifted slice first (so products such as x*y are formed inside the
    fused loop instead of being stored). Symmetric taps are paired: r+1 multiplies instead of 2r+1.
    """
    r = len(taps) // 2

    def sl(k: int) -> jax.Array:
        out = jax.lax.slice_in_dim(p, k, k + n, axis=axis)
        return f(out) if f is not None else out

    acc = taps[r] * sl(r)
    for k in range(r):
        acc = acc + taps[k] * (sl(k) + sl(2 * r - k))
    return acc


def _ssim_band(xp, yp, cx, cy, c1, c2, cov_norm, taps, rows, width):
    """SSIM map of one band: ``xp``/``yp`` are (rows + 2r, width + 2r) padded, mean-shifted planes."""
    both = jnp.stack([xp, yp])
    v = jnp.stack([
        _filter_axis(xp, taps, 0, rows),
        _filter_axis(yp, taps, 0, rows),
        _filter_axis(xp, taps, 0, rows, lambda a: a * a),
        _filter_axis(yp, taps, 0, rows, lambda a: a * a),
        _filter_axis(both, taps, 1, rows, lambda a: a[0] * a[1]),
    ])
    h = _filter_axis(v, taps, 2, width)
    mx, my, mxx, myy, mxy = h[0], h[1], h[2], h[3], h[4]
    # Variances from mean-shifted data: E[x^2] - E[x]^2 cancels far less in float32.
    vx = cov_norm * (mxx - mx * mx)
    vy = cov_norm * (myy - my * my)
    vxy = cov_norm * (mxy - mx * my)
    ux = mx + cx
    uy = my + cy
    return ((2 * ux * uy + c1) * (2 * vxy + c2)) / ((ux * ux + uy * uy + c1) * (vx + vy + c2))


def _ssim_plane(x, y, c1, c2, cov_norm, taps, band, crop):
    """SSIM map of one (H, W) plane and its per-row sums over the cropped columns."""
    height, width = x.shape
    r = len(taps) // 2
    cx = jnp.mean(x)
    cy = jnp.mean(y)
    # scipy.ndimage 'reflect' (d c b a | a b c d) is NumPy's 'symmetric' padding.
    p = jnp.pad(jnp.stack([x - cx, y - cy]), ((0, 0), (r, r), (r, r)), mode="symmetric")
    rows = min(band, height)
    n_bands = -(-height // rows)
    extra = n_bands * rows - height
    if extra:
        p = jnp.pad(p, ((0, 0), (0, extra), (0, 0)))

    def one_band(i):
        blk = jax.lax.dynamic_slice_in_dim(p, i * rows, rows + 2 * r, axis=1)
        s = _ssim_band(blk[0], blk[1], cx, cy, c1, c2, cov_norm, taps, rows, width)
        return s, jnp.sum(s[:, crop:width - crop], axis=-1)

    if n_bands == 1:
        s, sums = one_band(0)
    else:
        s, sums = jax.lax.map(one_band, jnp.arange(n_bands))
        s = s.reshape(n_bands * rows, width)
        sums = sums.reshape(n_bands * rows)
    return s[:height], sums[crop:height - crop]


@functools.partial(jax.jit, static_argnames=("taps", "band", "crop", "full", "sequential"))
def _ssim_kernel(x, y, c1, c2, cov_norm, *, taps, band, crop, full, sequential):
    """Batched SSIM over (N, H, W): maps (when ``full``) and per-row sums of the cropped map."""
    x = x.astype(jnp.float32)
    y = y.astype(jnp.float32)

    def plane(xy):
        s, sums = _ssim_plane(xy[0], xy[1], c1, c2, cov_norm, taps, band, crop)
        return (s, sums) if full else (None, sums)

    if sequential:  # CPU: one plane at a time keeps the working set small
        return jax.lax.map(plane, (x, y))
    return jax.vmap(plane)((x, y))


def _band_rows() -> tuple[int, bool]:
    """Band height and whether to loop over slices, for the current JAX backend."""
    if jax.default_backend() == "cpu":
        return _CPU_BAND_ROWS, True
    return 1 << 30, False  # accelerators: one band, all slices in parallel


def ssim(reference: Any, image: Any, *, data_range: float | None = None, full: bool = False,
         gaussian_weights: bool = True, sigma: float = 1.5, use_sample_covariance: bool = False,
         win_size: int | None = None, K1: float = 0.01, K2: float = 0.03,  # noqa: N803 (skimage names)
         ) -> float | np.ndarray | tuple[float | np.ndarray, np.ndarray]:
    """Mean structural similarity (SSIM) of ``image`` against ``reference``, per 2D slice.

    The defaults are Wang et al. (2004) and ZeroCostDL4Mic: Gaussian window sigma 1.5 truncated at
    3.5 sigma (11x11), population covariance, K1 = 0.01, K2 = 0.03. Passing scikit-image's keywords
    (``gaussian_weights=False, use_sample_covariance=True``) reproduces
    ``skimage.metrics.structural_similarity``'s defaults (7x7 uniform window, sample covariance).

    Parameters
    ----------
    reference, image : array-like, shape (..., Y, X)
        Ground truth first (scikit-image's ``im1``), then the image to assess. Same shape.
    data_range : float, optional
        Intensity span used for C1 = (K1 R)^2 and C2 = (K2 R)^2. **Required for float images.**
        For integer images it defaults to the span of ``reference``'s dtype (as scikit-image).
    full : bool
        Also return the SSIM map (float32, same shape as the input, borders computed with
        SciPy-'reflect' padding as scikit-image).
    gaussian_weights : bool
        Gaussian window (default) or a uniform ``win_size`` window.
    sigma : float
        Standard deviation of the Gaussian window.
    use_sample_covariance : bool
        Multiply (co)variances by NP/(NP-1), NP = win_size**2 (scikit-image's default is True;
        Wang et al. and ZeroCostDL4Mic use False).
    win_size : int, optional
        Odd window side. Default 7 for the uniform window and 2*int(3.5*sigma+0.5)+1 for the
        Gaussian one. As in scikit-image, with ``gaussian_weights=True`` the filter ignores it and
        only the crop and NP use it (a warning says so).
    K1, K2 : float
        Stabilising constants.

    Returns
    -------
    mssim : float or numpy.ndarray
        Mean of the SSIM map after cropping (win_size - 1) // 2 pixels on every side (so the mean
        does not depend on the padding). A float for a 2D input, else one value per slice.
    ssim_map : numpy.ndarray
        Only with ``full=True``.
    """
    a, b = check_image_pair(reference, image, ("reference", "image"))
    if K1 < 0 or K2 < 0:
        raise InputError(f"ssim: K1 and K2 must be >= 0, got K1={K1}, K2={K2}")
    if not np.isfinite(sigma) or sigma < 0:
        raise InputError(f"ssim: sigma must be a finite number >= 0, got {sigma}")
    if gaussian_weights:
        taps = gaussian_taps(sigma)
        if win_size is None:
            win_size = len(taps)
        elif win_size != len(taps):
            warnings.warn(f"ssim: with gaussian_weights=True the window follows sigma ({len(taps)} taps); "
                          f"win_size={win_size} only sets the crop and the sample-covariance factor "
                          "(as scikit-image)", UserWarning, stacklevel=2)
    else:
        if win_size is None:
            win_size = 7
        taps = None
    if int(win_size) != win_size or win_size < 1 or win_size % 2 == 0:
        raise InputError(f"ssim: win_size must be an odd positive integer, got {win_size}")
    win_size = int(win_size)
    if taps is None:
        taps = (1.0 / win_size,) * win_size
    height, width = a.shape[-2:]
    if height < win_size or width < win_size:
        raise InputError(f"ssim: images of {height}x{width} pixels are smaller than the {win_size}x{win_size} "
                         "window; pass a smaller odd win_size (uniform window) or a smaller sigma")
    r = len(taps) // 2
    if r > min(height, width):
        raise InputError(f"ssim: the Gaussian radius {r} exceeds the image side {min(height, width)}")
    rng = resolve_data_range(a, b, data_range, "ssim")
    c1 = (K1 * rng) ** 2
    c2 = (K2 * rng) ** 2
    npix = win_size ** 2
    cov_norm = npix / (npix - 1) if use_sample_covariance and npix > 1 else 1.0
    crop = (win_size - 1) // 2
    band, sequential = _band_rows()
    maps, sums = _ssim_kernel(_device(a), _device(b), np.float32(c1), np.float32(c2), np.float32(cov_norm),
                              taps=exact_taps(taps), band=band, crop=crop, full=bool(full),
                              sequential=sequential)
    n_cropped = (height - 2 * crop) * (width - 2 * crop)
    means = np.asarray(sums, dtype=np.float64).sum(axis=-1) / n_cropped
    mssim = per_slice(means, a.shape)
    if full:
        return mssim, np.asarray(maps).reshape(a.shape)
    return mssim


# ---------------------------------------------------------------------------------------------
# Pixel-difference metrics
# ---------------------------------------------------------------------------------------------

def _difference(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a - b`` as float32 with the difference's own precision kept.

    float32 and small integer types subtract exactly enough in float32; float64 (or wide integer)
    input is subtracted in float64 first, so a tiny difference of large values is not lost.
    """
    if a.dtype in _F32_EXACT and b.dtype in _F32_EXACT:
        return np.asarray(_sub32(a, b))
    return np.subtract(a, b, dtype=np.float64).astype(np.float32)


@jax.jit
def _sub32(a, b):
    return a.astype(jnp.float32) - b.astype(jnp.float32)


@jax.jit
def _diff_rows(d):
    """Per-row sums of d^2 and |d| over (N, H, W): float32 rows, added in float64 by the caller."""
    return jnp.sum(d * d, axis=-1), jnp.sum(jnp.abs(d), axis=-1)


@jax.jit
def _value_rows(a):
    """Per-row sums of a and a^2, and per-slice min and max, over (N, H, W)."""
    a = a.astype(jnp.float32)
    return jnp.sum(a, axis=-1), jnp.sum(a * a, axis=-1), jnp.min(a, axis=(-2, -1)), jnp.max(a, axis=(-2, -1))


def _diff_stats(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-slice mean squared and mean absolute differences (float64)."""
    d = as_stack(_difference(a, b))
    sq, ab = _diff_rows(d)
    n = d.shape[-2] * d.shape[-1]
    return (np.asarray(sq, np.float64).sum(-1) / n, np.asarray(ab, np.float64).sum(-1) / n)


def mse(reference: Any, image: Any) -> float | np.ndarray:
    """Mean squared error per 2D slice (scikit-image ``mean_squared_error``)."""
    a, b = check_image_pair(reference, image)
    return per_slice(_diff_stats(a, b)[0], a.shape)


def rmse(reference: Any, image: Any) -> float | np.ndarray:
    """Root mean squared error per 2D slice: sqrt(mean((reference - image)^2))."""
    a, b = check_image_pair(reference, image)
    return per_slice(np.sqrt(_diff_stats(a, b)[0]), a.shape)


def sqrt_mae(reference: Any, image: Any) -> float | np.ndarray:
    """Square root of the mean absolute error per 2D slice: sqrt(mean(|reference - image|)).

    This is what ZeroCostDL4Mic's CARE/Noise2Void notebooks report as "NRMSE" (computed there on
    the :func:`norm_minmse` pair). It is *not* a root-mean-square error; use :func:`rmse` or
    :func:`nrmse` for those.
    """
    a, b = check_image_pair(reference, image)
    return per_slice(np.sqrt(_diff_stats(a, b)[1]), a.shape)


def psnr(reference: Any, image: Any, *, data_range: float | None = None) -> float | np.ndarray:
    """Peak signal-to-noise ratio per 2D slice: 10 log10(data_range^2 / MSE), in dB.

    Parameters
    ----------
    reference, image : array-like, shape (..., Y, X)
    data_range : float, optional
        **Required for float images.** For integer images, as scikit-image: the dtype maximum when
        ``reference`` has no negative values (uint8: 255), else the dtype span.

    Returns
    -------
    float or numpy.ndarray
        ``inf`` where the images are identical.
    """
    a, b = check_image_pair(reference, image)
    if data_range is None:
        if np.issubdtype(a.dtype, np.floating) or np.issubdtype(b.dtype, np.floating):
            raise InputError(f"psnr: data_range is required for floating-point images (got {a.dtype} and "
                             f"{b.dtype}); pass the intensity span of the reference, e.g. data_range=1.0")
        lo, hi = dtype_range(a.dtype)
        rng = hi if a.min() >= 0 else hi - lo
    else:
        rng = positive_range(data_range, "psnr")
    m = _diff_stats(a, b)[0]
    with np.errstate(divide="ignore"):
        return per_slice(10.0 * np.log10(rng * rng / m), a.shape)


def nrmse(reference: Any, image: Any, *,
          normalization: Literal["euclidean", "min-max", "mean"] = "euclidean") -> float | np.ndarray:
    """Normalised root mean squared error per 2D slice, as scikit-image ``normalized_root_mse``.

    ``euclidean``: RMSE / sqrt(mean(reference^2)); ``min-max``: RMSE / (max - min of reference);
    ``mean``: RMSE / mean(reference). A zero denominator gives ``inf`` (or NaN for 0/0).
    """
    a, b = check_image_pair(reference, image)
    if normalization not in ("euclidean", "min-max", "mean"):
        raise InputError(f"nrmse: normalization must be 'euclidean', 'min-max' or 'mean', got {normalization!r}")
    m = _diff_stats(a, b)[0]
    s1, s2, lo, hi = (np.asarray(v, np.float64) for v in _value_rows(_device(a)))
    n = a.shape[-2] * a.shape[-1]
    if normalization == "euclidean":
        denom = np.sqrt(s2.sum(-1) / n)
    elif normalization == "min-max":
        denom = hi - lo
    else:
        denom = s1.sum(-1) / n
    with np.errstate(divide="ignore", invalid="ignore"):
        return per_slice(np.sqrt(m) / denom, a.shape)


def rse_map(reference: Any, image: Any) -> np.ndarray:
    """Root-squared-error map |reference - image| (float32, same shape), ZeroCostDL4Mic's "RSE map"."""
    a, b = check_image_pair(reference, image)
    return np.abs(_difference(a, b))


# ---------------------------------------------------------------------------------------------
# Normalisation
# ---------------------------------------------------------------------------------------------

def _percentiles(a: np.ndarray, pmin: float, pmax: float) -> tuple[np.ndarray, np.ndarray]:
    """Per-slice NumPy 'linear' percentiles (the reference's exact definition), shape (N,)."""
    for p in (pmin, pmax):
        if not 0 <= p <= 100:
            raise InputError(f"percentiles must lie in [0, 100], got {p}")
    if pmin >= pmax:
        raise InputError(f"pmin must be smaller than pmax, got pmin={pmin}, pmax={pmax}")
    lo, hi = np.percentile(as_stack(a), [pmin, pmax], axis=(-2, -1))
    return lo, hi


@jax.jit
def _scale_rows(x, mi, ma, eps):
    """(x - mi) / (ma - mi + eps) per slice, float32 (the CSBDeep/ZeroCost expression)."""
    x = x.astype(jnp.float32)
    return (x - mi[:, None, None]) / (ma[:, None, None] - mi[:, None, None] + eps)


@jax.jit
def _clip01(x):
    return jnp.clip(x, 0.0, 1.0)


def percentile_normalize(x: Any, pmin: float = 3.0, pmax: float = 99.8, *, clip: bool = False,
                         eps: float = 1e-20) -> np.ndarray:
    """Percentile normalisation per 2D slice: (x - p_min) / (p_max - p_min + eps), float32.

    Percentiles are NumPy's default ('linear') over each slice. ``clip`` clips the result to
    [0, 1] (CSBDeep's default is no clipping).
    """
    a = as_array(x, "image")
    if a.size == 0 or a.ndim < 2:
        raise InputError(f"image must be a non-empty array with at least 2 dimensions, got shape {a.shape}")
    check_finite(a, "image")
    lo, hi = _percentiles(a, pmin, pmax)
    out = _scale_rows(_device(a), lo.astype(np.float32), hi.astype(np.float32), np.float32(eps))
    if clip:
        out = _clip01(out)
    return np.asarray(out).reshape(a.shape)


@jax.jit
def _center_rows(g, x):
    """Per-row sums of g and x (for float64 slice means)."""
    return jnp.sum(g, axis=-1), jnp.sum(x.astype(jnp.float32), axis=-1)


@jax.jit
def _centered(g, x, mg, mx):
    g0 = g - mg[:, None, None]
    x0 = x.astype(jnp.float32) - mx[:, None, None]
    return g0, x0, jnp.sum(x0 * g0, -1), jnp.sum(x0, -1), jnp.sum(g0, -1), jnp.sum(x0 * x0, -1)


@jax.jit
def _scaled(x0, s):
    return x0 * s[:, None, None]


def norm_minmse(gt: Any, x: Any, *, pmin: float = 0.1, pmax: float = 99.9,
                ) -> tuple[np.ndarray, np.ndarray]:
    """ZeroCostDL4Mic / CARE evaluation normalisation of a (GT, image) pair, per 2D slice.

    1. The GT is percentile-normalised, (gt - p0.1) / (p99.9 - p0.1 + 1e-20), without clipping.
    2. Both are made zero-mean: g0 = g - mean(g), x0 = x - mean(x).
    3. x0 is scaled onto g0: s = cov(x0, g0) / var(x0) with NumPy's ``cov`` (ddof=1) over ``var``
       (ddof=0), i.e. the least-squares slope times N/(N-1), exactly as the reference.

    The metrics are then computed on (g0, s * x0) with ``data_range=1``. A constant ``x`` (zero
    variance) gets s = 0.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        ``g0`` and ``s * x0``, float32, both zero-mean, same shape as the inputs.
    """
    a, b = check_image_pair(gt, x, ("gt", "image"))
    lo, hi = _percentiles(a, pmin, pmax)
    g = _scale_rows(_device(a), lo.astype(np.float32), hi.astype(np.float32), np.float32(1e-20))
    xs = _device(b)
    n = a.shape[-2] * a.shape[-1]
    sg, sx = _center_rows(g, xs)
    mg = np.asarray(sg, np.float64).sum(-1) / n
    mx = np.asarray(sx, np.float64).sum(-1) / n
    g0, x0, sxg, sx0, sg0, sxx = _centered(g, xs, mg.astype(np.float32), mx.astype(np.float32))
    sxg, sx0, sg0, sxx = (np.asarray(v, np.float64).sum(-1) for v in (sxg, sx0, sg0, sxx))
    cov = (sxg - sx0 * sg0 / n) / max(n - 1, 1)
    var = sxx / n - (sx0 / n) ** 2
    with np.errstate(divide="ignore", invalid="ignore"):
        s = np.where(var > 0, cov / np.where(var > 0, var, 1.0), 0.0)
    xn = _scaled(x0, s.astype(np.float32))
    return np.asarray(g0).reshape(a.shape), np.asarray(xn).reshape(a.shape)


# ---------------------------------------------------------------------------------------------
# Everything at once (what dataset QC uses)
# ---------------------------------------------------------------------------------------------

def restoration_metrics(gt: Any, image: Any, *, normalize: bool = True, data_range: float | None = None,
                        maps: bool = True) -> dict[str, np.ndarray]:
    """All restoration metrics of ``image`` against ``gt``, per 2D slice, in one pass.

    Parameters
    ----------
    gt, image : array-like, shape (..., Y, X)
    normalize : bool
        True (default): ZeroCostDL4Mic protocol, metrics on :func:`norm_minmse` of the pair with
        ``data_range=1``. False: metrics on the raw pixels with ``data_range`` (required for
        floats, dtype span for integers).
    data_range : float, optional
        Only with ``normalize=False``.
    maps : bool
        Also return the SSIM and RSE maps.

    Returns
    -------
    dict
        ``ssim``, ``psnr``, ``mse``, ``rmse``, ``nrmse`` (euclidean), ``sqrt_mae`` (ZeroCost
        "NRMSE"): float64 arrays of shape (n_slices,); with ``maps``: ``ssim_map`` and ``rse_map``,
        float32 arrays shaped like the input. SSIM uses the Wang/ZeroCost settings.
    """
    a, b = check_image_pair(gt, image, ("gt", "image"))
    if normalize:
        if data_range is not None:
            raise InputError("data_range applies only with normalize=False (normalised pairs use data_range=1)")
        ref, img = norm_minmse(a, b)
        rng: float | None = 1.0
    else:
        ref, img = a, b
        rng = resolve_data_range(a, b, data_range, "qc")
    mssim, smap = ssim(ref, img, data_range=rng, full=True)
    m, mae = _diff_stats(ref, img)
    _, s2, _, _ = _value_rows(_device(ref))
    n = a.shape[-2] * a.shape[-1]
    denom = np.sqrt(np.asarray(s2, np.float64).sum(-1) / n)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = {
            "ssim": np.atleast_1d(np.asarray(mssim, np.float64)).reshape(-1),
            "psnr": 10.0 * np.log10(rng * rng / m),
            "mse": m,
            "rmse": np.sqrt(m),
            "nrmse": np.sqrt(m) / denom,
            "sqrt_mae": np.sqrt(mae),
        }
    if maps:
        out["ssim_map"] = smap
        out["rse_map"] = np.abs(_difference(ref, img)).reshape(a.shape)
    return out
