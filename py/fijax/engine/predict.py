"""Tiled, batched, jitted prediction with Monte-Carlo dropout.

Each sample is percentile-normalised (the configuration's pmin/pmax, per image and channel),
reflect-padded once to a multiple of ``2**depth`` and cut into equally sized windows that
overlap by the network's halo (:meth:`~fijax.engine.unet.UNetSpec.halo`, an upper bound of the
receptive-field radius). Window starts are multiples of ``2**depth`` (so pooling grids align)
and each window keeps only its core, so the stitched result equals the untiled prediction up to
floating-point reassociation (seam-free, no blending needed). Windows are batched and run
through one jitted forward (one compilation per window shape). Outputs are mapped back to image
units with the input's percentiles (:meth:`Task.output_kinds`).

``samples=N`` keeps dropout active and returns the mean and standard deviation of N passes
(Monte-Carlo dropout); the network needs ``dropout > 0``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from fijax.engine import data as D
from fijax.engine.config import HOST_ONLY_FIELDS, TrainConfig
from fijax.engine.tasks import get_task
from fijax.engine.unet import UNet
from fijax.errors import InputError
from fijax.io.image import Image

#: Default memory budget of one batch of windows (bytes).
DEFAULT_BUDGET = 4 << 30


def _bytes_per_voxel(model: UNet) -> int:
    """Rough peak activation memory per input voxel of a forward pass (float32)."""
    s = model.spec
    # level l holds ~4 maps of filters·2**l channels at 1/2**(ndim·l) of the voxels
    total = sum(4 * s.filters * 2 ** lvl / 2 ** (s.ndim * lvl) for lvl in range(s.depth + 1))
    return int(4 * (total + s.in_channels + 2 * s.out_channels)) + 1


def _axis_windows(length: int, core: int, halo: int) -> tuple[int, list[tuple[int, int, int]]]:
    """Window size and ``(window_start, keep_start, keep_end)`` per tile along one padded axis."""
    size = core + 2 * halo
    if size >= length:
        return length, [(0, 0, length)]
    out = []
    for s in range(0, length, core):
        e = min(s + core, length)
        a = min(max(s - halo, 0), length - size)
        out.append((a, s, e))
    return size, out


def plan_tiles(shape: tuple[int, ...], model: UNet, n_tiles: tuple[int, ...] | int | None = None,
               budget: int = DEFAULT_BUDGET, batch_size: int = 1) -> tuple[tuple[int, ...], list]:
    """Choose window size and tiles for a padded spatial ``shape``.

    With ``n_tiles`` (per axis or one int for all) the cores split each axis into that many parts;
    otherwise the largest cube-ish core whose window batch fits ``budget`` bytes is used.
    """
    spec = model.spec
    m, halo = spec.divisor, spec.halo()
    nd = len(shape)
    if n_tiles is not None:
        nt = (n_tiles,) * nd if isinstance(n_tiles, int) else tuple(n_tiles)
        if len(nt) != nd or any(t < 1 for t in nt):
            raise InputError(f"n_tiles {n_tiles} must give a positive count for each of {nd} axes")
        cores = [max(m, int(math.ceil(L / t / m)) * m) for L, t in zip(shape, nt, strict=True)]
    else:
        max_vox = max(1, budget // (_bytes_per_voxel(model) * max(1, batch_size)))
        cores = list(shape)
        while math.prod(min(c + 2 * halo, L) for c, L in zip(cores, shape, strict=True)) > max_vox:
            i = int(np.argmax(cores))
            if cores[i] <= m:
                break
            cores[i] = max(m, int(math.ceil(cores[i] / 2 / m)) * m)
    sizes, per_axis = [], []
    for L, c in zip(shape, cores, strict=True):
        size, wins = _axis_windows(L, c, halo)
        sizes.append(size)
        per_axis.append(wins)
    tiles = [list(t) for t in np.array(np.meshgrid(*[np.arange(len(w)) for w in per_axis], indexing="ij"))
             .reshape(nd, -1).T] if nd else [[]]
    return tuple(sizes), [[per_axis[a][i] for a, i in enumerate(t)] for t in tiles]


_FORWARDS: dict[tuple, tuple[Callable, Callable]] = {}


def make_forward(model: UNet, config: TrainConfig) -> Callable:
    """A jitted ``f(x, key_or_None) -> dict`` of task outputs (dropout active when a key is given).

    The compiled functions are cached per network structure and task settings, so predicting
    with several models of one architecture compiles once per window shape.
    """
    task = get_task(config.task)
    gd, params, rest = nnx.split(model, nnx.Param, ...)
    key = (task.name, json.dumps(config.model_dump(mode="json", exclude=HOST_ONLY_FIELDS), sort_keys=True), gd)
    if key not in _FORWARDS:
        @jax.jit
        def det(params, rest, x):
            return task.outputs(nnx.merge(gd, params, rest)(x), config)

        @jax.jit
        def mc(params, rest, x, key):
            return task.outputs(nnx.merge(gd, params, rest)(x, dropout_key=key), config)

        if len(_FORWARDS) > 16:
            _FORWARDS.clear()
        _FORWARDS[key] = (det, mc)
    det, mc = _FORWARDS[key]

    def forward(x: jax.Array, key: jax.Array | None = None) -> dict:
        return det(params, rest, x) if key is None else mc(params, rest, x, key)

    return forward


def _pad(x: np.ndarray, m: int) -> tuple[np.ndarray, tuple[int, ...]]:
    spatial = x.shape[:-1]
    pads = [(0, (-s) % m) for s in spatial] + [(0, 0)]
    if any(p[1] for p in pads):
        mode = "reflect" if min(spatial) > 1 else "edge"
        x = np.pad(x, pads, mode=mode)
    return x, spatial


def predict_sample(forward: Callable, model: UNet, x: np.ndarray, *, n_tiles=None, budget: int = DEFAULT_BUDGET,
                   batch_size: int | None = None, key: jax.Array | None = None) -> dict[str, np.ndarray]:
    """Predict one normalised sample ``(*spatial, C)``; returns raw task outputs (normalised units)."""
    spec = model.spec
    xp, spatial = _pad(x, spec.divisor)
    win, tiles = plan_tiles(xp.shape[:-1], model, n_tiles, budget, batch_size or 1)
    if batch_size is None:  # as many windows per pass as the budget holds
        batch_size = budget // (_bytes_per_voxel(model) * math.prod(win))
    bs = max(1, min(batch_size, len(tiles)))
    outs: dict[str, np.ndarray] = {}
    for b0 in range(0, len(tiles), bs):
        group = tiles[b0:b0 + bs]
        batch = np.stack([xp[tuple(slice(a, a + w) for (a, _, _), w in zip(t, win, strict=True))]
                          for t in group])
        if len(group) < bs:  # keep one compiled shape
            batch = np.concatenate([batch, np.repeat(batch[-1:], bs - len(group), axis=0)])
        k = None if key is None else jax.random.fold_in(key, b0)
        res = forward(jnp.asarray(batch), k)
        res = {name: np.asarray(v) for name, v in res.items()}
        for name, v in res.items():
            if name not in outs:
                outs[name] = np.zeros(xp.shape[:-1] + (v.shape[-1],), np.float32)
            for j, t in enumerate(group):
                dst = tuple(slice(s, e) for (_, s, e) in t)
                src = tuple(slice(s - a, e - a) for (a, s, e) in t)
                outs[name][dst] = v[j][src]
    crop = tuple(slice(0, s) for s in spatial)
    return {k: v[crop] for k, v in outs.items()}


def predict(model: UNet, config: TrainConfig, image: Image | np.ndarray, axes: str | None = None, *,
            n_tiles: tuple[int, ...] | int | None = None, budget: int = DEFAULT_BUDGET,
            batch_size: int | None = None, samples: int = 0, seed: int = 0,
            progress: Callable[[float, str], None] | None = None,
            check_cancelled: Callable[[], None] | None = None) -> dict[str, np.ndarray]:
    """Predict an image (2D/3D, stacks, channels) with a trained network.

    Parameters
    ----------
    model : UNet
        Trained network (eval mode).
    config : TrainConfig
        Its resolved configuration (task, normalisation).
    image : Image or ndarray
        Input; axes from the Image or ``axes`` (default for the rank).
    n_tiles : int or tuple, optional
        Tiles per spatial axis; default: chosen from ``budget``.
    budget : int
        Memory budget (bytes) of one batch of windows (default 4 GiB: a 2048² image in one window
        for a 32-filter depth-2 U-Net; fewer windows waste less on overlaps).
    batch_size : int, optional
        Windows per forward pass (default: the largest windows that fit ``budget`` one at a time,
        then as many per pass as fit; fewer, larger windows waste less on overlaps).
    samples : int
        Monte-Carlo dropout passes (0: one deterministic pass).
    seed : int
        Seed of the dropout masks.

    Returns
    -------
    dict of str to ndarray
        Task outputs with the input's stack axes, spatial axes and a channel axis when the input
        had one or the output has several channels. With ``samples``: ``prediction`` is the MC
        mean and ``std`` its standard deviation (plus ``<name>_std`` for other intensity outputs).
    """
    if samples < 0:
        raise InputError("samples must be >= 0")
    if samples > 0 and model.spec.dropout <= 0:
        raise InputError("Monte-Carlo sampling needs a model trained with dropout > 0 (this one has none)")
    task = get_task(config.task)
    kinds = task.output_kinds(config)
    data, stack_axes = D.batch_layout(image, config.ndim, axes)
    if data.shape[-1] != model.spec.in_channels:
        raise InputError(f"the model expects {model.spec.in_channels} channel(s), the image has {data.shape[-1]}")
    in_axes = image.axes if isinstance(image, Image) else (axes or None)
    forward = make_forward(model, config)
    results: dict[str, list[np.ndarray]] = {}
    base = jax.random.key(seed)
    for i, sample in enumerate(data):
        if check_cancelled is not None:
            check_cancelled()
        lo, hi = D.percentiles(sample, config.norm_pmin, config.norm_pmax)
        xn = D.normalize(sample, lo, hi)
        out_kinds = dict(kinds)
        if samples == 0:
            out = predict_sample(forward, model, xn, n_tiles=n_tiles, budget=budget, batch_size=batch_size)
        else:
            acc: dict[str, tuple[np.ndarray, np.ndarray]] = {}
            for s in range(samples):
                o = predict_sample(forward, model, xn, n_tiles=n_tiles, budget=budget, batch_size=batch_size,
                                   key=jax.random.fold_in(jax.random.fold_in(base, i), s))
                for k, v in o.items():
                    m1, m2 = acc.get(k, (0.0, 0.0))
                    acc[k] = (m1 + v, m2 + v.astype(np.float64) ** 2)
                if progress is not None:  # MC sampling of a large image takes a while
                    progress((i + (s + 1) / samples) / len(data),
                             f"image {i + 1}/{len(data)} sample {s + 1}/{samples}")
                if check_cancelled is not None:
                    check_cancelled()
            out = {}
            for k, (m1, m2) in acc.items():
                mean = m1 / samples
                out[k] = mean.astype(np.float32)
                std_name = "std" if k == "prediction" else f"{k}_std"
                out[std_name] = np.sqrt(np.maximum(m2 / samples - mean.astype(np.float64) ** 2, 0.0))
                out_kinds[std_name] = "raw" if kinds.get(k, "raw") == "raw" else "spread"
        scale = hi - lo
        for k, v in out.items():
            kind = out_kinds.get(k, "raw")
            if kind == "intensity" and v.shape[-1] == lo.shape[0]:
                v = v * scale + lo
            elif kind == "spread" and v.shape[-1] == lo.shape[0]:
                v = v * scale
            results.setdefault(k, []).append(np.asarray(v, np.float32))
        if progress is not None:
            progress((i + 1) / len(data), f"predicted {i + 1}/{len(data)}")
    return {k: _restore_layout(np.stack(v), image, in_axes, stack_axes, config.ndim) for k, v in results.items()}


def _restore_layout(out: np.ndarray, image: Any, axes: str | None, stack_axes: str, ndim: int) -> np.ndarray:
    """``(N, *spatial, C)`` back to the input's axis order (C kept when present or > 1 channel)."""
    if axes is None:
        axes = image.axes if isinstance(image, Image) else ""
    src = image.data if isinstance(image, Image) else np.asarray(image)
    axes = axes or ("YX" if src.ndim == 2 else "ZYX" if src.ndim == 3 else "TZYX" if src.ndim == 4 else "TZCYX")
    spatial = "YX" if ndim == 2 else "ZYX"
    stack_shape = [src.shape[axes.index(a)] for a in stack_axes]
    c = out.shape[-1]
    out = out.reshape(stack_shape + list(out.shape[1:]))
    cur = stack_axes + spatial + "C"
    target = "".join(a for a in axes if a != "C")
    keep_c = "C" in axes or c > 1
    if keep_c:
        target = target + "C" if "C" not in axes else axes
    else:
        out = out[..., 0]
        cur = cur[:-1]
    return np.transpose(out, [cur.index(a) for a in target])


def output_axes(image_axes: str, out: np.ndarray) -> str:
    """Axes of an array returned by :func:`predict` for an input with ``image_axes``."""
    if out.ndim == len(image_axes):
        return image_axes
    return image_axes + "C" if out.ndim == len(image_axes) + 1 else image_axes.replace("C", "")
