"""Synthetic touching round nuclei (images + label images) and a tiny ``seg`` configuration."""

from __future__ import annotations

import numpy as np
from scipy.ndimage import gaussian_filter


def nuclei(n: int, size: int = 64, seed: int = 0, radius: tuple[float, float] = (4.5, 7.0),
           density: float = 0.7, noise: float = 0.08, ndim: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """``n`` images of touching round nuclei and their label images.

    Disk (ball) centres are drawn at random, rejecting a centre closer than 0.75 × (r1 + r2) to an
    earlier one, so neighbours overlap or touch; a pixel inside several disks goes to the one whose
    scaled distance ``d / r`` is smallest, which splits clumps along straight lines (touching objects
    without background between them). Intensities vary per nucleus; the image is blurred (σ 1) with
    Gaussian noise ``noise`` (relative to the mean nucleus intensity 1).

    Returns
    -------
    images : ndarray float32, (n, *shape)
    labels : ndarray int32, (n, *shape)
    """
    rng = np.random.default_rng(seed)
    shape = (size,) * ndim
    grid = np.stack(np.meshgrid(*[np.arange(s, dtype=np.float32) for s in shape], indexing="ij"), -1)
    mean_area = np.pi * np.mean(radius) ** 2 if ndim == 2 else 4 / 3 * np.pi * np.mean(radius) ** 3
    target = int(density * np.prod(shape) / mean_area)
    images, labels = [], []
    for _ in range(n):
        centres, radii = [], []
        for _ in range(50 * target):
            if len(centres) >= target:
                break
            c = rng.uniform(2, size - 2, ndim)
            r = rng.uniform(*radius)
            if all(np.linalg.norm(c - c2) >= 0.75 * (r + r2) for c2, r2 in zip(centres, radii, strict=True)):
                centres.append(c)
                radii.append(r)
        best = np.full(shape, np.inf, np.float32)
        lab = np.zeros(shape, np.int32)
        img = np.zeros(shape, np.float32)
        for k, (c, r) in enumerate(zip(centres, radii, strict=True)):
            d = np.linalg.norm(grid - c, axis=-1) / r
            win = (d <= 1.0) & (d < best)
            best[win] = d[win]
            lab[win] = k + 1
        levels = rng.uniform(0.6, 1.4, len(centres) + 1)
        levels[0] = 0.0
        img = levels[lab] * (1.0 - 0.3 * np.minimum(best, 1.0) ** 2)  # a little shading per nucleus
        img = gaussian_filter(img.astype(np.float32), 1.0) + rng.normal(0.0, noise, shape)
        images.append(img.astype(np.float32))
        labels.append(lab)
    return np.stack(images), np.stack(labels)


def small_config(**kw):
    """A tiny CPU configuration of the ``seg`` task (depth 2, 8 filters, 6 x 20 steps of 8 x 32²)."""
    from fijax.engine.config import preset

    values = dict(depth=2, filters=8, epochs=6, steps_per_epoch=20, patch_size=(32, 32), batch_size=8,
                  val_fraction=0.2, learning_rate=3e-3, dropout=0.1, seed=1)
    values.update(kw)
    return preset("quick", task="seg", **values)
