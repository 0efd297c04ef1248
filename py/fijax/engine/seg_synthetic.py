"""Synthetic touching round nuclei with ground-truth labels (tests, benchmarks, demos of ``seg``)."""

from __future__ import annotations

import numpy as np
from scipy.ndimage import gaussian_filter


def touching_nuclei(n: int, size: int = 64, seed: int = 0, radius: tuple[float, float] = (4.5, 7.0),
                    density: float = 0.7, noise: float = 0.08, ndim: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """``n`` images of touching round nuclei and their label images.

    Disk (ball) centres are drawn at random, rejecting a centre closer than 0.75 × (r1 + r2) to an
    earlier one (a spatial hash keeps this linear), so neighbours overlap or touch; a pixel inside several disks goes to the one whose
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
    r_lo, r_hi = radius
    mean_size = np.pi * np.mean(radius) ** 2 if ndim == 2 else 4 / 3 * np.pi * np.mean(radius) ** 3
    target = int(density * size ** ndim / mean_size)
    cell = 1.5 * r_hi  # the largest exclusion distance 0.75 * (r1 + r2): neighbours lie in adjacent cells
    images, labels = [], []
    for _ in range(n):
        buckets: dict[tuple[int, ...], list[int]] = {}
        cs = np.zeros((target, ndim))
        rs = np.zeros(target)
        count = 0
        offsets = [tuple(o - 1 for o in off) for off in np.ndindex(*(3,) * ndim)]
        draws_c = rng.uniform(2, size - 2, (50 * target, ndim))
        draws_r = rng.uniform(r_lo, r_hi, 50 * target)
        for c, r in zip(draws_c, draws_r, strict=True):
            if count >= target:
                break
            key = tuple(int(v) for v in c // cell)
            near = [j for off in offsets for j in buckets.get(tuple(k + o for k, o in zip(key, off, strict=True)), ())]
            if near:
                d = np.sqrt(((cs[near] - c) ** 2).sum(-1))
                if np.any(d < 0.75 * (r + rs[near])):
                    continue
            buckets.setdefault(key, []).append(count)
            cs[count], rs[count] = c, r
            count += 1
        centres, radii = cs[:count], rs[:count]
        best = np.full(shape, np.inf, np.float32)
        lab = np.zeros(shape, np.int32)
        for k, (c, r) in enumerate(zip(centres, radii, strict=True)):
            lo = np.maximum(np.floor(c - r).astype(int), 0)
            hi = np.minimum(np.ceil(c + r).astype(int) + 1, size)
            win = tuple(slice(a, b) for a, b in zip(lo, hi, strict=True))
            coords = np.meshgrid(*[np.arange(a, b, dtype=np.float32) for a, b in zip(lo, hi, strict=True)],
                                 indexing="ij")
            d = np.sqrt(sum((g - cc) ** 2 for g, cc in zip(coords, c, strict=True))) / r
            take = (d <= 1.0) & (d < best[win])
            best[win] = np.where(take, d, best[win])
            lab[win] = np.where(take, k + 1, lab[win])
        levels = rng.uniform(0.6, 1.4, len(centres) + 1)
        levels[0] = 0.0
        img = levels[lab] * (1.0 - 0.3 * np.minimum(best, 1.0) ** 2)  # a little shading per nucleus
        img = gaussian_filter(img.astype(np.float32), 1.0) + rng.normal(0.0, noise, shape)
        images.append(img.astype(np.float32))
        labels.append(lab)
    return np.stack(images), np.stack(labels)
