"""Synthetic scenes and noise for the classical (PURE-LET) tests."""

from __future__ import annotations

import numpy as np


def blobs_scene(n: int, peak: float, seed: int) -> np.ndarray:
    """Fluorescence-like scene: Gaussian blobs and a ramp on a zero background."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:n, :n] / n
    x = np.zeros((n, n))
    for _ in range(12):
        cy, cx = rng.uniform(0.15, 0.85, 2)
        r = rng.uniform(0.04, 0.12)
        x += peak * rng.uniform(0.3, 1.0) * np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * r * r))
    x += peak * 0.3 * xx * (yy > 0.5)
    return x


def noisy(x: np.ndarray, alpha: float, delta: float, sigma: float, seed: int) -> np.ndarray:
    """``alpha * Poisson(x) + delta + N(0, sigma^2)``."""
    rng = np.random.default_rng(seed)
    return alpha * rng.poisson(x) + delta + rng.normal(0.0, sigma, x.shape)


def psnr(estimate: np.ndarray, truth: np.ndarray, peak: float) -> float:
    return float(10 * np.log10(peak**2 / np.mean((np.asarray(estimate, float) - truth) ** 2)))
