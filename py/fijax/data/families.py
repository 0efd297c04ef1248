"""Structure families with ground truth for out-of-domain tests: blobs, curves, spots, membranes.

Each generator returns a clean image in photons (background ``bg``, structures up to ``peak``);
:func:`noisy` adds Poisson–Gaussian camera noise. Used by ``bench/ood.py`` (train on one family,
apply to the others) and by the domain-check tests.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy import ndimage


def _scale(img: np.ndarray, peak: float, bg: float) -> np.ndarray:
    img = img - img.min()
    m = img.max()
    return (bg + (peak - bg) * (img / m if m > 0 else img)).astype(np.float32)


def blobs(size: int, rng: np.random.Generator, peak: float = 12.0, bg: float = 1.0) -> np.ndarray:
    """Nucleus-like discs (radius 5–10 px), soft edges, varying brightness."""
    yy, xx = np.mgrid[:size, :size]
    img = np.zeros((size, size), np.float32)
    for _ in range(max(3, size * size // 900)):
        cy, cx, r = rng.uniform(0, size), rng.uniform(0, size), rng.uniform(5, 10)
        img = np.maximum(img, rng.uniform(0.5, 1.0) * ((yy - cy) ** 2 + (xx - cx) ** 2 <= r * r))
    return _scale(ndimage.gaussian_filter(img, 1.5), peak, bg)


def curves(size: int, rng: np.random.Generator, peak: float = 12.0, bg: float = 1.0) -> np.ndarray:
    """Thin curvilinear filaments (1 px wide, smooth random walks, blurred σ = 1)."""
    img = np.zeros((size, size), np.float32)
    for _ in range(max(3, size // 12)):
        p = rng.uniform(0, size, 2)
        ang = rng.uniform(0, 2 * np.pi)
        for _ in range(size * 2):
            ang += rng.normal(0, 0.08)
            p = p + 0.5 * np.array([np.sin(ang), np.cos(ang)])
            iy, ix = int(p[0]) % size, int(p[1]) % size
            img[iy, ix] = 1.0
    return _scale(ndimage.gaussian_filter(img, 1.0), peak, bg)


def spots(size: int, rng: np.random.Generator, peak: float = 12.0, bg: float = 1.0) -> np.ndarray:
    """Diffraction-limited spots (σ = 1.3 px) of varying brightness."""
    img = np.zeros((size, size), np.float32)
    n = max(5, size * size // 150)
    img[rng.integers(0, size, n), rng.integers(0, size, n)] = rng.uniform(0.3, 1.0, n)
    return _scale(ndimage.gaussian_filter(img, 1.3), peak, bg)


def membranes(size: int, rng: np.random.Generator, peak: float = 12.0, bg: float = 1.0) -> np.ndarray:
    """Cell membranes: boundaries of a Voronoi tessellation (cells ~15 px), textured, blurred."""
    n = max(4, size * size // 250)
    seeds = rng.uniform(0, size, (n, 2))
    yy, xx = np.mgrid[:size, :size]
    d = (yy[..., None] - seeds[:, 0]) ** 2 + (xx[..., None] - seeds[:, 1]) ** 2
    lab = np.argmin(d, axis=-1)
    edge = (ndimage.maximum_filter(lab, 3) != ndimage.minimum_filter(lab, 3)).astype(np.float32)
    texture = ndimage.gaussian_filter(rng.uniform(0.4, 1.0, (size, size)), 2.0)
    return _scale(ndimage.gaussian_filter(edge * texture, 0.8), peak, bg)


#: Family name → generator ``f(size, rng, peak=, bg=)``.
FAMILIES: dict[str, Callable[..., np.ndarray]] = {"blobs": blobs, "curves": curves, "spots": spots,
                                                  "membranes": membranes}


def noisy(clean: np.ndarray, rng: np.random.Generator, read_sigma: float = 1.0) -> np.ndarray:
    """Poisson shot noise on ``clean`` photons plus Gaussian read noise ``read_sigma``."""
    return (rng.poisson(clean) + rng.normal(0.0, read_sigma, clean.shape)).astype(np.float32)


def family_images(name: str, n: int, size: int, seed: int, peak: float = 12.0,
                  read_sigma: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """``n`` (ground truth, noisy) pairs of one family as arrays ``(n, size, size)``."""
    gen = FAMILIES[name]
    rng = np.random.default_rng(seed)
    gt = np.stack([gen(size, rng, peak=peak) for _ in range(n)])
    return gt, np.stack([noisy(g, rng, read_sigma) for g in gt])
