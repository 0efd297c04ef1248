"""Automatic estimation of the mixed Poisson-Gaussian noise parameters.

Model: ``raw = alpha * Poisson(x) + delta + N(0, sigma^2)``, so locally constant signal has
``Var = alpha * (mean - delta) + sigma^2``: a line ``var = alpha * mean + beta`` with
``beta = sigma^2 - alpha * delta``.

Two methods (:func:`estimate_noise_details`):

* ``"levelsets"`` (default): robust to large flat or dark areas, clipped regions and textured
  foreground, after Foi et al. (2008). Only smooth pixels away from structure and clipping are
  used; they are grouped into level sets of their local mean, each level's noise variance is a
  MAD of a zero-mean detail, and the line is a weighted, Huber-robust fit. Implausible results
  (non-positive or poorly determined gain, a bad fit, heavy clipping, too few smooth pixels) are
  reported and warned about (:class:`NoiseEstimateWarning`).
* ``"plugin"``: the PureDenoise plugin's procedure. The image is cut into blocks; each block gets
  a robust mean (Huber M-estimate) and a robust variance (MAD of a zero-mean, unit-energy 3x3
  high-pass filter); a robust line through the blocks gives the gain; the offset and the Gaussian
  std come from the darkest 5 % of blocks (histogram modes), averaged over 4 cycle spins. Blocks
  straddling structure and a dark-dominated image bias it (issue 12: alpha 0.87, sigma 2.95
  instead of 1 and 2 on a peak-20 image with a large dark background).
"""

from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from scipy import ndimage

from fijax.classical.haar import level_counts, pad_frames
from fijax.errors import InputError

#: Huber threshold on residuals scaled by their interquartile spread.
_HUBER = 0.75
#: Zero-mean, unit-energy 3x3 kernel: white noise keeps its variance, linear trends vanish.
_KERNEL = np.array([[2.0, -1.0, 2.0], [-1.0, -4.0, -1.0], [2.0, -1.0, 2.0]]) / 6.0
_SPINS = 4


def _iqr(x: np.ndarray, axis: int | None = None) -> np.ndarray:
    q1, q3 = np.quantile(x, [0.25, 0.75], axis=axis)
    return q3 - q1


def _huber_weights(r: np.ndarray) -> np.ndarray:
    ar = np.abs(r)
    return np.where(ar < _HUBER, 1.0, _HUBER / np.maximum(ar, 1e-300))


def _robust_means(blocks: np.ndarray, tol: float = 1e-3, max_iter: int = 5000) -> np.ndarray:
    """Huber M-estimate of the mean of each row of ``blocks`` (IRLS, IQR-scaled residuals)."""
    m = np.median(blocks, axis=1)
    scale = np.maximum(_iqr(blocks, axis=1), 1e-12)
    for _ in range(max_iter):
        w = _huber_weights((blocks - m[:, None]) / scale[:, None])
        m_new = np.sum(w * blocks, axis=1) / np.sum(w, axis=1)
        done = np.max(np.abs(m_new - m) / scale) < tol
        m = m_new
        if done:
            break
    return m


def _robust_line(x: np.ndarray, y: np.ndarray, tol: float = 1e-6, max_iter: int = 5000) -> tuple[float, float]:
    """Huber IRLS fit of ``y = a x + b``; returns ``(a, b)``."""
    design = np.stack([x, np.ones_like(x)], axis=1)
    coef = np.linalg.lstsq(design, y, rcond=None)[0]
    for _ in range(max_iter):
        res = y - design @ coef
        scale = max(float(_iqr(res)), 1e-12)
        w = _huber_weights(res / scale)
        sw = np.sqrt(w)
        new = np.linalg.lstsq(design * sw[:, None], y * sw, rcond=None)[0]
        done = np.max(np.abs(new - coef)) <= tol * (np.max(np.abs(coef)) + 1e-12)
        coef = new
        if done:
            break
    return float(coef[0]), float(coef[1])


def _hist_mode(v: np.ndarray) -> float:
    """Mode of ``v`` on a histogram of ``len(v)`` bins of width ``max(v) / len(v)`` (plugin rule)."""
    top = float(np.max(np.abs(v)))
    if top <= 0:
        return 0.0
    scale = v.size / top
    idx = np.rint(v * scale).astype(np.int64)
    vals, counts = np.unique(idx, return_counts=True)
    return float(vals[np.argmax(counts)] / scale)


def _estimate_once(frame: np.ndarray, block: tuple[int, int]) -> tuple[float, float, float]:
    by, bx = block
    ny, nx = frame.shape
    hp = ndimage.convolve(frame, _KERNEL, mode="wrap")

    def blocks_of(a: np.ndarray) -> np.ndarray:
        return a.reshape(ny // by, by, nx // bx, bx).transpose(0, 2, 1, 3).reshape(-1, by * bx)

    means = _robust_means(blocks_of(frame))
    hb = blocks_of(hp)
    mad = np.median(np.abs(hb - np.median(hb, axis=1, keepdims=True)), axis=1)
    variances = (1.4826 * mad) ** 2
    order = np.argsort(means, kind="stable")
    means, variances = means[order], variances[order]
    gain, _ = _robust_line(means, variances)
    dark = int(round(0.05 * means.size)) + 1
    offset = _hist_mode(means[:dark])
    sigma = float(np.sqrt(max(_hist_mode(variances[:dark]), 0.0)))
    return gain, offset, sigma


def _checked(image: np.ndarray) -> np.ndarray:
    """Validate one 2D frame; float64 copy."""
    arr = np.asarray(image)
    if arr.ndim != 2:
        raise InputError(f"estimate_noise needs one 2D frame, got shape {arr.shape}")
    if not (np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)) or arr.dtype == bool:
        raise InputError(f"estimate_noise needs a numeric image, got dtype {arr.dtype}")
    arr = arr.astype(np.float64)
    if not np.all(np.isfinite(arr)):
        raise InputError("estimate_noise: the image contains NaN or infinite values")
    if min(arr.shape) < 2:
        raise InputError(f"estimate_noise needs an image of at least 2x2 pixels, got {arr.shape}")
    padded, _ = pad_frames(arr)
    ny, nx = padded.shape
    jy, jx = level_counts(ny, nx)
    block = (2 ** max(jy - 1, 1), 2 ** max(jx - 1, 1))
    if min(jy, jx) < 1 or ny // block[0] * (nx // block[1]) < 64:
        raise InputError(f"estimate_noise: image {arr.shape} is too small for a noise estimate; "
                         "pass alpha, delta and sigma")
    return arr


def _plugin_estimate(arr: np.ndarray, seed: int) -> tuple[float, float, float]:
    """The plugin's block regression, averaged over 4 cycle spins."""
    padded, _ = pad_frames(arr)
    ny, nx = padded.shape
    jy, jx = level_counts(ny, nx)
    block = (2 ** max(jy - 1, 1), 2 ** max(jx - 1, 1))
    rng = np.random.default_rng(seed)
    results = []
    for spin in range(_SPINS):
        shift = (0, 0) if spin == 0 else (int(rng.integers(0, ny)), int(rng.integers(0, nx)))
        results.append(_estimate_once(np.roll(padded, shift, axis=(0, 1)), block))
    alpha, delta, sigma = (float(v) for v in np.mean(results, axis=0))
    return alpha, delta, sigma


def estimate_noise(image: np.ndarray, *, seed: int = 0, method: str = "levelsets") -> tuple[float, float, float]:
    """Estimate ``(alpha, delta, sigma)`` of ``raw = alpha * Poisson(x) + delta + N(0, sigma^2)`` from one 2D image.

    Parameters
    ----------
    image : array (Y, X)
        Raw camera values of one frame.
    seed : int
        Seed of the plugin method's random cycle spins.
    method : {"levelsets", "plugin"}
        The robust level-set fit (default) or the PureDenoise plugin's block regression; see
        :func:`estimate_noise_details`.

    Returns
    -------
    alpha, delta, sigma : float
        Detector gain, offset and Gaussian noise standard deviation.

    Warns
    -----
    NoiseEstimateWarning
        When the estimate fails a plausibility check (the message says which).

    Raises
    ------
    InputError
        For a non-2D, non-finite or too small image (under 32 pixels along an axis after
        padding to multiples of 16), or when the fit gives a gain <= 0.
    """
    est = estimate_noise_details(image, method=method, seed=seed)
    if not est.plausible:
        warnings.warn("implausible noise estimate (alpha={:.4g}, delta={:.4g}, sigma={:.4g}): {}".format(
            est.alpha, est.delta, est.sigma, "; ".join(est.warnings)), NoiseEstimateWarning, stacklevel=2)
    return est.alpha, est.delta, est.sigma


def estimate_noise_stack_checked(frames: np.ndarray, estimation: str = "global",
                                 ) -> tuple[tuple[np.ndarray, np.ndarray, np.ndarray], list[str]]:
    """:func:`estimate_noise_stack` plus the implausibility messages (also re-emitted as warnings)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", NoiseEstimateWarning)
        params = estimate_noise_stack(frames, estimation)
    messages = []
    for w in caught:
        if issubclass(w.category, NoiseEstimateWarning):
            messages.append(str(w.message))
        warnings.warn(w.message, w.category, stacklevel=2)
    return params, messages


def estimate_noise_stack(frames: np.ndarray, estimation: str = "global") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-frame ``(alpha, delta, sigma)`` arrays for a stack ``(Z, Y, X)``.

    ``"global"``: one estimate on the average of the ``K = min(3, Z)`` central frames,
    corrected for the averaging (``alpha = K alpha_hat``, ``sigma = sqrt(K) sigma_hat``) and
    used for every frame. ``"individual"``: one estimate per frame.
    """
    frames = np.asarray(frames, dtype=np.float64)
    nz = frames.shape[0]
    if estimation == "individual":
        est = np.array([estimate_noise(f) for f in frames])
        return est[:, 0], est[:, 1], est[:, 2]
    if estimation != "global":
        raise InputError(f"estimation must be 'global' or 'individual', got {estimation!r}")
    k = min(3, nz)
    start = (nz - 1) // 2 - (k - 1) // 2
    start = min(max(start, 0), nz - k)
    alpha, delta, sigma = estimate_noise(frames[start:start + k].mean(axis=0))
    return np.full(nz, k * alpha), np.full(nz, delta), np.full(nz, np.sqrt(k) * sigma)


# ---------------------------------------------------------------------------------------------
# Robust level-set estimate (default): Foi et al. 2008 style
# ---------------------------------------------------------------------------------------------

#: Box size of the local mean; a box is orthogonal to the zero-mean 3x3 detail kernel inside it.
_MEAN_BOX = 5
#: Gaussian scale (px) of the gradient that flags structure; odd filters, independent of the detail.
_GRAD_SIGMA = 1.0
#: A pixel is structure when its smoothed gradient exceeds this many noise standard deviations
#: (noise alone: a Rayleigh tail of exp(-K^2/2), 0.2 %).
_GRAD_K = 3.5
#: Structure flags are dilated by this many pixels. 0: a dilation excludes pixels next to
#: noise-driven gradients, whose detail shares those noisy pixels, and biases the variance low
#: (measured: gain 0.7-0.8x on dark-dominated scenes with 1 px); the ridges of thin lines, which
#: have no gradient, are left to the clipped variance of each level.
_GRAD_DILATE = 0
#: Leave out pixels whose smoothed gradient is above noise (Foi's smoothness mask). Off: on the
#: table of bench/puredenoise_validation.py --estimation it removed the bright pixels of thin or
#: small structures (and, next to them, noisy ones), and the gain came out 0.1-0.7x; the clipped
#: variance of each level set rejects structure outliers well enough.
_STRUCTURE_MASK = False
#: Gaussian scale (px) of the image that orders pixels into level sets.
_LEVEL_SIGMA = 3.0
#: Pixels per level set (at least) and the most level sets.
_MIN_PER_LEVEL = 400
_MAX_LEVELS = 200
#: Variance of a level's (clipped) variance estimate relative to ``2 var^2 / n``.
_MAD_INEFFICIENCY = 1.1


class NoiseEstimateWarning(UserWarning):
    """The automatic noise estimate looks implausible (see :attr:`NoiseEstimate.warnings`)."""


@dataclass
class NoiseEstimate:
    """Result of :func:`estimate_noise_details`.

    Attributes
    ----------
    alpha, delta, sigma : float
        Gain, offset and Gaussian std of ``raw = alpha * Poisson(x) + delta + N(0, sigma^2)``.
    beta : float
        Intercept of the fitted variance line ``var = alpha * mean + beta`` (``sigma^2 - alpha delta``).
    alpha_se : float
        Standard error of ``alpha`` from the weighted fit.
    chi2 : float
        Reduced chi-square of the level sets about the line (about 1 when the model fits).
    n_levels, n_pixels : int
        Level sets and smooth pixels used.
    smooth_fraction, clipped_fraction : float
        Share of pixels judged smooth, share of pixels at a clipping level.
    method : str
        ``"levelsets"`` or ``"plugin"``.
    plausible : bool
        False when any check failed; the reasons are in ``warnings``.
    warnings : list of str
    levels : list of (mean, variance, count)
        The level sets (for plots and diagnostics).
    """

    alpha: float
    delta: float
    sigma: float
    beta: float = float("nan")
    alpha_se: float = float("nan")
    chi2: float = float("nan")
    n_levels: int = 0
    n_pixels: int = 0
    smooth_fraction: float = float("nan")
    clipped_fraction: float = 0.0
    method: str = "levelsets"
    plausible: bool = True
    warnings: list[str] = field(default_factory=list)
    levels: list[tuple[float, float, int]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """JSON-able dict without the level sets."""
        d = asdict(self)
        d.pop("levels")
        return d


def _clipped_mask(arr: np.ndarray) -> tuple[np.ndarray, float]:
    """Pixels at a saturation or zero-clip level: the extreme value held by >= 0.2 % of the pixels."""
    mask = np.zeros(arr.shape, bool)
    for v in (arr.min(), arr.max()):
        hit = arr == v
        if hit.mean() >= 0.002:
            mask |= hit
    return mask, float(mask.mean())


def _noise_gain(filt: Any, shape: tuple[int, int] = (64, 64)) -> float:
    """Std of ``filt`` applied to unit white noise (exact, from the impulse response)."""
    imp = np.zeros(shape)
    imp[shape[0] // 2, shape[1] // 2] = 1.0
    return float(np.sqrt(np.sum(filt(imp) ** 2)))


def _grad_mag(img: np.ndarray) -> tuple[np.ndarray, float]:
    gy = ndimage.gaussian_filter(img, _GRAD_SIGMA, order=(1, 0), mode="reflect")
    gx = ndimage.gaussian_filter(img, _GRAD_SIGMA, order=(0, 1), mode="reflect")
    gain = _noise_gain(lambda a: ndimage.gaussian_filter(a, _GRAD_SIGMA, order=(1, 0), mode="reflect"))
    return np.hypot(gx, gy), gain


def _levels(g: np.ndarray, m: np.ndarray, d: np.ndarray, g_std: Any) -> np.ndarray:
    """Level sets of the smoothed image: rows ``(mean, variance of the detail, count)``.

    Pixels are ordered by ``g``, a heavily smoothed image, and cut into levels at least
    ``_MIN_PER_LEVEL`` pixels and ``2 g_std(value)`` wide (``g_std``: std of the noise in ``g``
    at that value), so that a flat region falls into one or two levels. Narrower levels would
    spread a flat background over a range of "means" that only reflects noise, with the same
    variance, and that spread, heavily weighted, flattens the fitted line (errors in
    variables). A level's mean is the average of its pixels' local means ``m``; a level mixing
    pixels of different intensity still follows the line, since the detail measures each
    pixel's own noise.
    """
    order = np.argsort(g, kind="stable")
    gs, ms, ds = g[order], m[order], d[order]
    n = gs.size
    if n < 2 * _MIN_PER_LEVEL:
        return np.empty((0, 3))
    rows = []
    i = 0
    while i < n:
        j = int(np.searchsorted(gs, gs[i] + 2.0 * float(g_std(gs[i])), side="right"))
        j = max(j, i + _MIN_PER_LEVEL)
        if n - j < _MIN_PER_LEVEL:
            j = n
        rows.append((float(np.mean(ms[i:j])), _clipped_variance(ds[i:j]), j - i))
        i = j
    return np.asarray(rows)


def _clipped_variance(dd: np.ndarray) -> float:
    """Variance of the core of ``dd``: a MAD start, then twice the variance of the values within 3 std.

    Structure left in a level set shows as outliers; the 3-std clip drops them while keeping most
    of the efficiency of the sample variance (the MAD alone needs ~2.7 times more samples).
    Divided by 0.9733, the share of a normal variance inside +/- 3 std.
    """
    med = float(np.median(dd))
    var = (1.4826 * float(np.median(np.abs(dd - med)))) ** 2
    for _ in range(2):
        if var <= 0:
            break
        core = dd[np.abs(dd - med) <= 3.0 * np.sqrt(var)]
        if core.size < 2:
            break
        med = float(np.mean(core))
        var = float(np.mean((core - med) ** 2)) / 0.9733
    return var


def _fit_line(levels: np.ndarray, max_iter: int = 50) -> tuple[float, float, float, float]:
    """Weighted robust fit of ``var = a * mean + b`` over level sets; returns ``(a, b, se_a, chi2)``.

    Weights are ``n / model^2`` (the variance of a variance estimate is ``~2 var^2 / n``),
    recomputed from the model each iteration (weights from the noisy observed variances would bias
    the line down), with Huber down-weighting of standardised residuals beyond 2.
    """
    x, y, n = levels[:, 0], levels[:, 1], levels[:, 2]
    design = np.stack([x, np.ones_like(x)], axis=1)
    w = n.astype(float)
    coef = np.zeros(2)
    for _ in range(max_iter):
        sw = np.sqrt(w)
        new = np.linalg.lstsq(design * sw[:, None], y * sw, rcond=None)[0]
        model = np.maximum(design @ new, 1e-3 * max(float(np.median(y)), 1e-12))
        sd = model * np.sqrt(2.0 * _MAD_INEFFICIENCY / n)
        r = (y - design @ new) / sd
        hub = np.where(np.abs(r) <= 2.0, 1.0, 2.0 / np.maximum(np.abs(r), 1e-12))
        w = hub / sd ** 2
        done = np.allclose(new, coef, rtol=1e-7, atol=1e-12)
        coef = new
        if done:
            break
    sw = np.sqrt(w)
    a_mat = design * sw[:, None]
    cov = np.linalg.pinv(a_mat.T @ a_mat)
    model = np.maximum(design @ coef, 1e-12)
    sd = model * np.sqrt(2.0 * _MAD_INEFFICIENCY / n)
    chi2 = float(np.sum(((y - design @ coef) / sd) ** 2) / max(len(y) - 2, 1))
    return float(coef[0]), float(coef[1]), float(np.sqrt(max(cov[0, 0], 0.0))), chi2


def _levelset_estimate(arr: np.ndarray) -> NoiseEstimate:
    """Robust Poisson-Gaussian fit on smooth level sets (Foi et al. 2008 style, MAD per level)."""
    clipped, clip_frac = _clipped_mask(arr)
    d = ndimage.convolve(arr, _KERNEL, mode="reflect")
    m = ndimage.uniform_filter(arr, _MEAN_BOX, mode="reflect")
    excluded = ndimage.binary_dilation(clipped, iterations=_MEAN_BOX // 2) if clip_frac > 0 else clipped
    border = np.zeros(arr.shape, bool)
    b = _MEAN_BOX // 2
    border[:b], border[-b:], border[:, :b], border[:, -b:] = True, True, True, True
    keep = ~excluded & ~border
    g = ndimage.gaussian_filter(arr, _LEVEL_SIGMA, mode="reflect")
    g_gain = _noise_gain(lambda x: ndimage.gaussian_filter(x, _LEVEL_SIGMA, mode="reflect"))
    var0 = _clipped_variance(d[keep])

    def g_std0(v: float) -> float:
        return g_gain * np.sqrt(var0)

    # pass 1 gives a first noise model, which sets the widths of the final level sets (and, with
    # _STRUCTURE_MASK, which pixels count as smooth).
    smooth = keep
    lv = _levels(g[keep], m[keep], d[keep], g_std0)
    a1, b1 = float("nan"), float("nan")
    if lv.shape[0] >= 2:
        a1, b1, _, _ = _fit_line(lv)
        floor = 0.05 * max(float(np.min(lv[:, 1])), 1e-12)
        var_model = (np.maximum(a1 * m + b1, floor) if a1 > 0 else np.full(arr.shape, float(np.median(lv[:, 1]))))
        grad, gain = _grad_mag(arr) if _STRUCTURE_MASK else (np.zeros(arr.shape), 0.0)
        structure = grad > _GRAD_K * gain * np.sqrt(var_model)
        if _GRAD_DILATE:
            structure = ndimage.binary_dilation(structure, structure=np.ones((3, 3), bool),
                                                iterations=_GRAD_DILATE)
        if _STRUCTURE_MASK and (keep & ~structure).sum() >= 4 * _MIN_PER_LEVEL:
            smooth = keep & ~structure

    def g_std1(v: float) -> float:
        if np.isfinite(a1) and a1 > 0:
            return g_gain * np.sqrt(max(a1 * v + b1, 0.05 * var0))
        return g_std0(v)

    lv = _levels(g[smooth], m[smooth], d[smooth], g_std1)
    if lv.shape[0] < 2:
        raise InputError(f"estimate_noise: image {arr.shape} is too small or too flat for a noise estimate; "
                         "pass alpha, delta and sigma")
    a, bb, se, chi2 = _fit_line(lv)
    est = NoiseEstimate(alpha=a, delta=float("nan"), sigma=float("nan"), beta=bb, alpha_se=se, chi2=chi2,
                        n_levels=int(lv.shape[0]), n_pixels=int(smooth.sum()),
                        smooth_fraction=float(smooth.mean()), clipped_fraction=clip_frac,
                        levels=[(float(r[0]), float(r[1]), int(r[2])) for r in lv])
    if not np.isfinite(a) or a <= 0:
        return est
    # Offset: the mean of the most populated of the darkest level sets (the background when there
    # is one). Only alpha and beta are identified by the variances; any offset on the line with
    # its sigma gives the same variance law. A low percentile would sit below a background by
    # ~2 noise std of the smoothed image and take that much variance off sigma^2.
    k = int(np.argmax(lv[: max(3, lv.shape[0] // 4), 2]))
    delta = float(lv[k, 0])
    # sigma^2: the line at the offset, or, when larger, that level's measured variance: an
    # underestimated variance costs PURE-LET far more than an overestimated one (the table: gain
    # 0.8x can lose 1-2 dB, 1.3x a few tenths).
    s2 = max(bb + a * delta, float(lv[k, 1]))
    if s2 < 0:  # the line says the dark level has less than Poisson variance: no Gaussian part
        delta = -bb / a
        s2 = 0.0
    est.delta, est.sigma = delta, float(np.sqrt(s2))
    return est


def _plausibility(est: NoiseEstimate, arr: np.ndarray) -> None:
    """Fill ``est.warnings`` / ``est.plausible`` with the checks an estimate must pass."""
    w = est.warnings
    if not np.isfinite(est.alpha) or est.alpha <= 0:
        w.append(f"fitted gain alpha={est.alpha:.4g} is not positive")
    else:
        if np.isfinite(est.alpha_se) and est.alpha_se > 0.25 * est.alpha:
            w.append(f"gain poorly determined (alpha {est.alpha:.4g} +/- {est.alpha_se:.2g}): the image has too "
                     "little intensity range in smooth regions")
        if np.isfinite(est.chi2) and est.chi2 > 6.0:
            w.append(f"local variances do not follow a Poisson-Gaussian line (reduced chi-square {est.chi2:.3g}): "
                     "texture, non-Poisson noise, or processed (filtered, compressed) data")
        if est.levels:
            top = max(r[0] for r in est.levels)
            photons = (top - est.delta) / est.alpha
            if photons < 0.5:
                w.append(f"brightest smooth level is {photons:.2g} photons above the offset: the gain is not "
                         "identifiable")
    if est.method == "levelsets" and est.n_levels < 5:
        w.append(f"only {est.n_levels} level sets of smooth pixels")
    if est.clipped_fraction > 0.05:
        w.append(f"{100 * est.clipped_fraction:.1f}% of pixels are clipped (saturated or cut at zero); those "
                 "regions were excluded")
    if np.isfinite(est.smooth_fraction) and est.smooth_fraction < 0.05:
        w.append(f"only {100 * est.smooth_fraction:.1f}% of pixels are smooth enough to measure the noise")
    est.plausible = not w


def estimate_noise_details(image: np.ndarray, *, method: str = "levelsets", seed: int = 0) -> NoiseEstimate:
    """Estimate the Poisson-Gaussian parameters of one 2D image, with diagnostics and plausibility checks.

    Parameters
    ----------
    image : array (Y, X)
        Raw camera values of one frame.
    method : {"levelsets", "plugin"}
        ``"levelsets"`` (default, robust): a Foi et al. (2008) style fit. Local means (5x5 box)
        and a zero-mean, unit-energy 3x3 detail are computed at every pixel; pixels near
        clipped values and the image border are left out (Foi's smoothness mask is off, see
        ``_STRUCTURE_MASK``); the remaining pixels are grouped into level sets of a
        heavily smoothed image (at least 400 pixels and twice that image's noise std wide), each
        with a 3-std-clipped variance of the detail, and ``var = alpha mean + beta`` is fitted
        with weights ``n / var^2`` and Huber down-weighting. The offset is the 1st percentile of
        the mean of the most populated of the darkest quarter of level sets (the background);
        ``sigma^2`` is ``beta + alpha delta`` or, if larger, that level's variance. If the fit gives no positive gain, the plugin method is
        tried and its result returned with a warning. ``"plugin"``: the PureDenoise plugin's
        block regression (averaged over 4 spins).
    seed : int
        Seed of the plugin method's cycle spins.

    Returns
    -------
    NoiseEstimate
        The parameters, fit diagnostics, and ``plausible``/``warnings``.

    Raises
    ------
    InputError
        Bad input (non-2D, non-finite, too small), or a non-positive gain.
    """
    arr = _checked(image)
    if method == "plugin":
        alpha, delta, sigma = _plugin_estimate(arr, seed)
        est = NoiseEstimate(alpha=alpha, delta=delta, sigma=sigma, method="plugin",
                            beta=sigma ** 2 - alpha * delta)
    elif method == "levelsets":
        est = _levelset_estimate(arr)
        if not np.isfinite(est.alpha) or est.alpha <= 0:
            failed = est.alpha
            try:
                alpha, delta, sigma = _plugin_estimate(arr, seed)
            except InputError:
                alpha = float("nan")
            if np.isfinite(alpha) and alpha > 0:
                est = NoiseEstimate(alpha=alpha, delta=delta, sigma=sigma, method="plugin (fallback)",
                                    beta=sigma ** 2 - alpha * delta)
                est.warnings.append(f"level-set fit gave no positive gain ({failed:.3g}); the plugin's block "
                                    "estimate was used instead")
    else:
        raise InputError(f"method must be 'levelsets' or 'plugin', got {method!r}")
    _plausibility(est, arr)
    if not np.isfinite(est.alpha) or est.alpha <= 0 or not np.isfinite(est.sigma) or est.sigma < 0:
        raise InputError(f"automatic noise estimation failed (alpha={est.alpha:.4g}, sigma={est.sigma:.4g}); "
                         "pass alpha, delta and sigma explicitly")
    return est
