"""Synthetic fluorescence-like images with Poisson-Gaussian noise, generated in the tests."""

from __future__ import annotations

import numpy as np
from scipy.ndimage import gaussian_filter


def fluorescence(n: int, size: int = 96, seed: int = 0, spots: int = 30, ndim: int = 2) -> np.ndarray:
    """Ground-truth-like images: blurred point sources and filaments on a dim background (photons)."""
    rng = np.random.default_rng(seed)
    shape = (size,) * ndim
    out = []
    for _ in range(n):
        img = np.zeros(shape, np.float32)
        idx = tuple(rng.integers(0, size, (ndim, spots)))
        img[idx] = rng.uniform(0.5, 1.0, spots)
        for _ in range(3):  # a few straight filaments
            p0 = rng.uniform(0, size, ndim)
            d = rng.normal(size=ndim)
            d /= np.linalg.norm(d)
            t = np.arange(size)
            pts = np.clip((p0[:, None] + d[:, None] * (t - size / 2)).round().astype(int), 0, size - 1)
            img[tuple(pts)] = 0.3
        img = gaussian_filter(img, 2.0)
        out.append(10.0 + 90.0 * img / img.max())
    return np.stack(out).astype(np.float32)


def poisson_gaussian(gt: np.ndarray, photons: float = 1.0, sigma: float = 4.0, seed: int = 1) -> np.ndarray:
    """Poisson shot noise at ``photons`` × gt counts (rescaled back) plus Gaussian read noise."""
    rng = np.random.default_rng(seed)
    return (rng.poisson(gt * photons) / photons + rng.normal(0.0, sigma, gt.shape)).astype(np.float32)


def psnr(x: np.ndarray, gt: np.ndarray) -> float:
    """PSNR with the ground truth's range as data range."""
    rng = float(gt.max() - gt.min())
    return float(10 * np.log10(rng ** 2 / np.mean((np.asarray(x, np.float64) - gt) ** 2)))
