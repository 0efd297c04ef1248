"""Training data: images → samples, percentile normalisation, validation split, patch sampling.

A *sample* is one array ``(*spatial, C)`` (channels last) that the network sees whole or in
patches. 2D models treat the T and Z planes of a stack as separate samples; 3D models treat T.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fijax.engine.config import TrainConfig
from fijax.errors import InputError
from fijax.io.image import Image, default_axes


def to_samples(image: Image | np.ndarray, ndim: int, axes: str | None = None) -> list[np.ndarray]:
    """Split an image into samples ``(*spatial, C)`` for a ``ndim``-D network.

    Parameters
    ----------
    image : Image or ndarray
        The image; a bare array takes ``axes`` or the default axes for its rank.
    ndim : int
        Spatial dimensions of the network (2: YX, 3: ZYX).
    """
    data, axes = batch_layout(image, ndim, axes)
    return [np.ascontiguousarray(s) for s in data]


def batch_layout(image: Image | np.ndarray, ndim: int, axes: str | None = None) -> tuple[np.ndarray, str]:
    """Return the image as ``(N, *spatial, C)`` float32 and the axes of the N dimension (e.g. ``"TZ"``)."""
    if isinstance(image, Image):
        data, axes = image.data, image.axes
    else:
        data = np.asarray(image)
        axes = axes or default_axes(data.ndim)
    if len(axes) != data.ndim:
        raise InputError(f"axes {axes!r} do not match an array of {data.ndim} dimensions")
    spatial = "YX" if ndim == 2 else "ZYX"
    if any(a not in axes for a in spatial):
        raise InputError(f"a {ndim}D model needs axes {spatial}, the image has {axes!r}")
    stack = [a for a in axes if a not in spatial and a != "C"]
    order = [axes.index(a) for a in stack] + [axes.index(a) for a in spatial]
    data = np.transpose(data, order + ([axes.index("C")] if "C" in axes else []))
    if "C" not in axes:
        data = data[..., None]
    n = int(np.prod(data.shape[:len(stack)])) if stack else 1
    data = data.reshape((n,) + data.shape[len(stack):]).astype(np.float32, copy=False)
    if not np.all(np.isfinite(data)):
        raise InputError("image contains NaN or infinite values")
    return data, "".join(stack)


def percentiles(sample: np.ndarray, pmin: float, pmax: float) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel ``(lo, hi)`` percentiles of a sample ``(*spatial, C)``; ``hi > lo`` guaranteed."""
    flat = sample.reshape(-1, sample.shape[-1])
    lo, hi = np.percentile(flat, [pmin, pmax], axis=0).astype(np.float32)
    hi = np.where(hi - lo < 1e-6, lo + 1.0, hi).astype(np.float32)  # constant images: unit range
    return lo, hi


def normalize(sample: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Map ``lo`` → 0 and ``hi`` → 1 per channel."""
    return ((sample - lo) / (hi - lo)).astype(np.float32)


@dataclass
class Split:
    """Training and validation samples (normalised), never overlapping."""

    train_x: list[np.ndarray]
    train_y: list[np.ndarray] | None
    val_x: list[np.ndarray]
    val_y: list[np.ndarray] | None
    how: str
    #: Indices of the samples held out whole (None when a slab of every sample was held out).
    val_samples: list[int] | None = None


def split_validation(config: TrainConfig, xs: list[np.ndarray], ys: list[np.ndarray] | None,
                     rng: np.random.Generator) -> Split:
    """Hold out whole samples when there are enough (≥ 1/val_fraction), else a slab of each sample.

    The slab is the last ``val_fraction`` (at least one patch) of the longest spatial axis; training
    patches are drawn only from the rest, so training and validation pixels never overlap.

    Raises
    ------
    InputError
        When the samples are too small to give both a training and a validation patch.
    """
    patch = config.patch_size
    for i, x in enumerate(xs):
        if any(p > s for p, s in zip(patch, x.shape[:-1], strict=True)):
            raise InputError(f"patch size {patch} is larger than image #{i} of shape {x.shape[:-1]}")
    n_val = int(round(len(xs) * config.val_fraction))
    if n_val >= 1 and len(xs) - n_val >= 1:
        order = rng.permutation(len(xs))
        val_idx, tr_idx = sorted(order[:n_val].tolist()), sorted(order[n_val:].tolist())
        return Split([xs[i] for i in tr_idx], None if ys is None else [ys[i] for i in tr_idx],
                     [xs[i] for i in val_idx], None if ys is None else [ys[i] for i in val_idx],
                     f"{n_val} of {len(xs)} images held out", val_idx)
    tx, ty, vx, vy = [], [], [], []
    for i, x in enumerate(xs):
        spatial = x.shape[:-1]
        axis = int(np.argmax(spatial))
        length, p = spatial[axis], patch[axis]
        n_v = max(p, int(np.ceil(length * config.val_fraction)))
        if length - n_v < p:
            raise InputError(
                f"too few images for a validation split: {len(xs)} image(s), and image #{i} "
                f"({spatial}) cannot hold a training and a validation patch of {patch} along axis {axis}; "
                "give more images or a smaller patch size")
        cut = length - n_v
        sl_t = [slice(None)] * x.ndim
        sl_v = [slice(None)] * x.ndim
        sl_t[axis], sl_v[axis] = slice(0, cut), slice(cut, None)
        tx.append(x[tuple(sl_t)])
        vx.append(x[tuple(sl_v)])
        if ys is not None:
            ty.append(ys[i][tuple(sl_t)])
            vy.append(ys[i][tuple(sl_v)])
    return Split(tx, ty if ys is not None else None, vx, vy if ys is not None else None,
                 f"last {config.val_fraction:.0%} (≥ 1 patch) of each image's longest axis held out")


class PatchSampler:
    """Random patches from in-memory samples, drawn afresh every step (seeded NumPy generator).

    Parameters
    ----------
    xs, ys : list of ndarray
        Normalised samples ``(*spatial, C)`` (``ys`` None for self-supervised tasks).
    patch : tuple of int
        Patch size.
    allowed : list of ndarray or None
        Optional boolean maps of allowed patch centres per sample (background filter).
    """

    def __init__(self, xs: list[np.ndarray], ys: list[np.ndarray] | None, patch: tuple[int, ...],
                 allowed: list[np.ndarray | None] | None = None):
        self.xs, self.ys, self.patch = xs, ys, tuple(patch)
        self.corners: list[np.ndarray] = []  # flat indices into the grid of valid corners
        self.grids: list[tuple[int, ...]] = []
        for i, x in enumerate(xs):
            grid = tuple(s - p + 1 for s, p in zip(x.shape[:-1], self.patch, strict=True))
            if any(g <= 0 for g in grid):
                raise InputError(f"patch size {self.patch} is larger than image #{i} of shape {x.shape[:-1]}")
            flat = np.arange(int(np.prod(grid)))
            mask = allowed[i] if allowed is not None else None
            if mask is not None:
                half = tuple(p // 2 for p in self.patch)
                centres = mask[tuple(slice(h, h + g) for h, g in zip(half, grid, strict=True))]
                keep = flat[centres.ravel()]
                if keep.size:
                    flat = keep
            self.corners.append(flat)
            self.grids.append(grid)
        counts = np.array([c.size for c in self.corners], np.float64)
        self.weights = counts / counts.sum()

    def sample(self, rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray | None]:
        """Draw ``n`` patches: ``(n, *patch, C)`` inputs and targets."""
        imgs = rng.choice(len(self.xs), size=n, p=self.weights)
        xb = np.empty((n,) + self.patch + (self.xs[0].shape[-1],), np.float32)
        yb = None if self.ys is None else np.empty((n,) + self.patch + (self.ys[0].shape[-1],), np.float32)
        for j, i in enumerate(imgs):
            flat = self.corners[i][rng.integers(self.corners[i].size)]
            corner = np.unravel_index(flat, self.grids[i])
            sl = tuple(slice(c, c + p) for c, p in zip(corner, self.patch, strict=True))
            xb[j] = self.xs[i][sl]
            if yb is not None:
                yb[j] = self.ys[i][sl]
        return xb, yb
