"""Automatic estimation of the mixed Poisson-Gaussian noise parameters, as PureDenoise does it.

Model: ``raw = alpha * Poisson(x) + delta + N(0, sigma^2)``, so a block of locally constant
signal has ``Var = alpha * (mean - delta) + sigma^2``. The image is cut into blocks; each
block gets a robust mean (Huber M-estimate) and a robust variance (MAD of a zero-mean,
unit-energy 3x3 high-pass filter, which removes constant and linear trends); a robust line
``var = alpha * mean + beta`` through the blocks gives the gain. The offset and the Gaussian
std come from the darkest 5 % of blocks (histogram modes of their means and variances), which
assumes the image has some background. The whole procedure is averaged over 4 cycle spins.
"""

from __future__ import annotations

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


def estimate_noise(image: np.ndarray, *, seed: int = 0) -> tuple[float, float, float]:
    """Estimate ``(alpha, delta, sigma)`` of ``raw = alpha * Poisson(x) + delta + N(0, sigma^2)`` from one 2D image.

    Parameters
    ----------
    image : array (Y, X)
        Raw camera values of one frame. The image needs some dark background: the offset and
        Gaussian std are read from its darkest 5 % of blocks.
    seed : int
        Seed of the 3 random circular shifts (the first of the 4 spins is unshifted).

    Returns
    -------
    alpha, delta, sigma : float
        Detector gain, offset and Gaussian noise standard deviation.

    Raises
    ------
    InputError
        For a non-2D, non-finite or too small image (under 32 pixels along an axis after
        padding to multiples of 16), or when the fit gives a gain <= 0.
    """
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
    rng = np.random.default_rng(seed)
    results = []
    for spin in range(_SPINS):
        shift = (0, 0) if spin == 0 else (int(rng.integers(0, ny)), int(rng.integers(0, nx)))
        results.append(_estimate_once(np.roll(padded, shift, axis=(0, 1)), block))
    alpha, delta, sigma = (float(v) for v in np.mean(results, axis=0))
    if not np.isfinite(alpha) or alpha <= 0 or not np.isfinite(sigma) or sigma < 0:
        raise InputError(f"automatic noise estimation failed (alpha={alpha:.4g}, sigma={sigma:.4g}); "
                         "pass alpha, delta and sigma explicitly")
    return alpha, delta, sigma


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
