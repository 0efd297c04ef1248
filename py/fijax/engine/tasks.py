"""Pluggable training tasks: what a network learns and how its output is read.

A :class:`Task` bundles everything the generic training loop and the tiled predictor need to
know about one kind of model:

* the number of output channels of the U-Net head (:meth:`Task.out_channels`),
* host-side checks and target preparation (:meth:`Task.check_data`, :meth:`Task.prepare_target`,
  :meth:`Task.patch_mask`),
* the on-device batch transform (:meth:`Task.batch`, e.g. N2V blind-spot masking) and the
  loss (:meth:`Task.loss`), both traced inside the jitted training step,
* prediction post-processing (:meth:`Task.outputs`) and how each output is mapped back to
  image units (:meth:`Task.output_kinds`).

CARE, N2V and N2V2 are defined here; other modules (segmentation) subclass :class:`Task` and
call :func:`register_task`. Tasks are stateless; their settings come from the
:class:`~fijax.engine.config.TrainConfig` (task-specific ones under ``config.extra``).
"""

from __future__ import annotations

import math
from typing import Literal

import jax
import jax.numpy as jnp
import numpy as np

from fijax.engine.config import TrainConfig
from fijax.errors import InputError, NotFoundError

#: How an output is mapped back to image units: "intensity" (x·(hi−lo)+lo), "spread"
#: (x·(hi−lo), standard deviations and scales) or "raw" (kept as is: probabilities, classes).
OutputKind = Literal["intensity", "spread", "raw"]


class Task:
    """Base class of a training task (override what differs)."""

    name: str = "base"
    #: Whether training needs target images (supervised).
    needs_target: bool = True
    #: Whether targets are percentile-normalised like inputs (False for label images).
    normalize_target: bool = True

    def out_channels(self, config: TrainConfig, in_channels: int, target_channels: int) -> int:
        """Channels of the network head."""
        return target_channels

    def default_residual(self, config: TrainConfig, in_channels: int, out_channels: int) -> bool:
        """Residual connection when the configuration leaves it open."""
        return False

    def check_data(self, config: TrainConfig, sources: list[np.ndarray],
                   targets: list[np.ndarray] | None) -> None:
        """Raise :class:`InputError` when the data does not suit the task."""
        if self.needs_target and targets is None:
            raise InputError(f"task {self.name!r} needs target images")

    def prepare_target(self, config: TrainConfig, target: np.ndarray) -> np.ndarray:
        """Turn one (un-normalised) target sample ``(*spatial, C)`` into training targets."""
        return target

    def patch_mask(self, config: TrainConfig, source: np.ndarray, target: np.ndarray | None) -> np.ndarray | None:
        """Boolean map of allowed patch *centres* (``spatial`` shape) or ``None`` for all."""
        return None

    def batch(self, key: jax.Array, x: jax.Array, y: jax.Array | None,
              config: TrainConfig) -> tuple[jax.Array, jax.Array, jax.Array | None]:
        """Return ``(inputs, targets, weights)`` for a batch (traced, on device)."""
        return x, y, None

    def loss(self, pred: jax.Array, targets: jax.Array, weights: jax.Array | None,
             config: TrainConfig) -> jax.Array:
        """Scalar loss (traced)."""
        raise NotImplementedError

    def outputs(self, pred: jax.Array, config: TrainConfig) -> dict[str, jax.Array]:
        """Named prediction outputs from the raw network output (traced)."""
        return {"prediction": pred}

    def output_kinds(self, config: TrainConfig) -> dict[str, OutputKind]:
        """How each output of :meth:`outputs` is mapped back to image units."""
        return {"prediction": "intensity"}

    def finalize(self, config: TrainConfig, trained, split, run_dir, progress) -> dict:
        """After the last epoch, before registration: task-specific tuning and QC (default: none).

        ``trained`` is the selected network (:class:`~fijax.engine.model.TrainedModel`), ``split``
        the :class:`~fijax.engine.data.Split` with the full validation samples, ``run_dir`` the run
        folder. Returns ``{"card": {...}, "metrics": {...}, "files": [names in run_dir]}`` (all
        optional): merged into the model card / metrics, the files registered with the model.
        """
        return {}


def _reduce(err: jax.Array, loss: str) -> jax.Array:
    return jnp.mean(jnp.abs(err)) if loss == "mae" else jnp.mean(err * err)


class CareTask(Task):
    """CARE: supervised restoration from source/target pairs (MAE, MSE or Laplace NLL)."""

    name = "care"
    needs_target = True

    def out_channels(self, config, in_channels, target_channels):
        return 2 * target_channels if config.loss == "laplace" else target_channels

    def default_residual(self, config, in_channels, out_channels):
        target = out_channels // 2 if config.loss == "laplace" else out_channels
        return in_channels == target

    def check_data(self, config, sources, targets):
        super().check_data(config, sources, targets)
        if len(sources) != len(targets):
            raise InputError(f"{len(sources)} source image(s) but {len(targets)} target image(s)")
        for i, (s, t) in enumerate(zip(sources, targets, strict=True)):
            if s.shape[:-1] != t.shape[:-1]:
                raise InputError(f"source and target #{i} differ in shape: {s.shape[:-1]} vs {t.shape[:-1]}")

    def patch_mask(self, config, source, target):
        """CSBDeep's background filter: max-filtered target ≥ threshold × its 99.9th percentile."""
        if config.background_threshold is None or target is None:
            return None
        from scipy.ndimage import maximum_filter

        t = target.max(axis=-1)
        size = tuple(max(1, p // 2) for p in config.patch_size)
        filtered = maximum_filter(t, size=size, mode="reflect")
        keep = filtered >= config.background_threshold * np.percentile(t, 99.9)
        return keep

    def loss(self, pred, targets, weights, config):
        c = targets.shape[-1]
        if config.loss == "laplace":
            mu, scale = pred[..., :c], jax.nn.softplus(pred[..., c:]) + 1e-3
            return jnp.mean(jnp.abs(mu - targets) / scale + jnp.log(scale)) + math.log(2.0)
        return _reduce(pred - targets, config.loss)

    def outputs(self, pred, config):
        if config.loss == "laplace":
            c = pred.shape[-1] // 2
            return {"prediction": pred[..., :c], "scale": jax.nn.softplus(pred[..., c:]) + 1e-3}
        return {"prediction": pred}

    def output_kinds(self, config):
        kinds: dict[str, OutputKind] = {"prediction": "intensity"}
        if config.loss == "laplace":
            kinds["scale"] = "spread"
        return kinds


def _reflect(c: jax.Array, size: int) -> jax.Array:
    period = 2 * (size - 1) if size > 1 else 1
    c = jnp.abs(c) % period
    return jnp.where(c >= size, period - c, c)


def blind_spot_coords(key: jax.Array, batch: int, shape: tuple[int, ...], percent: float) -> jax.Array:
    """Stratified blind-spot positions: one random pixel per grid box.

    The patch is cut into ``n_a = round(S_a / g)`` boxes per axis with ``g = (100/percent)**(1/ndim)``
    (CAREamics' float grid), so about ``percent`` % of the pixels are picked and no two picks collide.

    Returns
    -------
    jax.Array
        Integer coordinates of shape ``(batch, n_boxes, ndim)``.
    """
    nd = len(shape)
    g = (100.0 / percent) ** (1.0 / nd)
    counts = [max(1, int(round(s / g))) for s in shape]
    grids = jnp.meshgrid(*[jnp.arange(n) for n in counts], indexing="ij")
    box = jnp.stack([gr.ravel() for gr in grids], axis=-1)  # (n_boxes, nd)
    side = jnp.array([s / n for s, n in zip(shape, counts, strict=True)], jnp.float32)
    u = jax.random.uniform(key, (batch, box.shape[0], nd))
    coords = jnp.floor((box[None] + u) * side).astype(jnp.int32)
    return jnp.minimum(coords, jnp.array(shape, jnp.int32) - 1)


def n2v_manipulate(key: jax.Array, x: jax.Array, percent: float, radius: int,
                   replacement: str) -> tuple[jax.Array, jax.Array]:
    """Blind-spot masking of a batch ``(B, *spatial, C)``.

    Picks ~``percent`` % of the pixels (:func:`blind_spot_coords`) and replaces them by a random
    neighbour within ``radius`` (centre excluded; ``"uniform"``, N2V) or by the median of the
    neighbourhood without its centre (``"median"``, N2V2). Borders are mirrored.

    Returns
    -------
    masked : jax.Array
        The manipulated batch.
    mask : jax.Array
        ``(B, *spatial, 1)`` float mask, 1 at manipulated pixels.
    """
    b, spatial = x.shape[0], x.shape[1:-1]
    nd = len(spatial)
    k1, k2 = jax.random.split(key)
    coords = blind_spot_coords(k1, b, spatial, percent)  # (B, n, nd)
    n = coords.shape[1]
    bidx = jnp.broadcast_to(jnp.arange(b)[:, None], (b, n))
    offs_np = np.stack(np.meshgrid(*[np.arange(-radius, radius + 1)] * nd, indexing="ij"), -1).reshape(-1, nd)
    offs = jnp.asarray(offs_np[np.any(offs_np != 0, axis=-1)], jnp.int32)  # centre excluded (static)
    if replacement == "median":
        nb = coords[:, :, None, :] + offs[None, None]  # (B, n, K, nd)
        nb = jnp.stack([_reflect(nb[..., a], spatial[a]) for a in range(nd)], -1)
        vals = x[(bidx[..., None],) + tuple(nb[..., a] for a in range(nd))]  # (B, n, K, C)
        repl = jnp.median(vals, axis=2)
    else:
        pick = jax.random.randint(k2, (b, n), 0, offs.shape[0])
        off = offs[pick]
        nb = jnp.stack([_reflect(coords[..., a] + off[..., a], spatial[a]) for a in range(nd)], -1)
        same = jnp.all(nb == coords, axis=-1, keepdims=True)
        alt = jnp.stack([_reflect(coords[..., a] - off[..., a], spatial[a]) for a in range(nd)], -1)
        nb = jnp.where(same, alt, nb)
        repl = x[(bidx,) + tuple(nb[..., a] for a in range(nd))]  # (B, n, C)
    idx = (bidx,) + tuple(coords[..., a] for a in range(nd))
    masked = x.at[idx].set(repl)
    mask = jnp.zeros(x.shape[:-1] + (1,), x.dtype).at[idx + (0,)].set(1.0)
    return masked, mask


class N2VTask(Task):
    """Noise2Void: self-supervised blind-spot training on noisy images only."""

    name = "n2v"
    needs_target = False

    def out_channels(self, config, in_channels, target_channels):
        return in_channels

    def default_residual(self, config, in_channels, out_channels):
        return False  # n2v and CAREamics default

    def check_data(self, config, sources, targets):
        if targets is not None:
            raise InputError(f"task {self.name!r} is self-supervised and takes no target images")

    def batch(self, key, x, y, config):
        masked, mask = n2v_manipulate(key, x, config.mask_percent, config.neighborhood_radius,
                                      config.replacement or "uniform")
        return masked, x, mask

    def loss(self, pred, targets, weights, config):
        err = pred - targets
        err = jnp.abs(err) if config.loss == "mae" else err * err
        return jnp.sum(err * weights) / (jnp.sum(weights) * targets.shape[-1] + 1e-12)


class N2V2Task(N2VTask):
    """N2V2: N2V with blur-pool, no top skip and median replacement (config resolves these)."""

    name = "n2v2"


_TASKS: dict[str, Task] = {}


def register_task(task: Task) -> Task:
    """Make ``task`` available to training and prediction under ``task.name``."""
    _TASKS[task.name] = task
    return task


#: Tasks defined in other modules, imported on first use (they call :func:`register_task`).
_LAZY_TASKS: dict[str, str] = {"seg": "fijax.engine.segmentation"}


def get_task(name: str) -> Task:
    """Return the registered task ``name``; unknown names raise :class:`NotFoundError`."""
    if name not in _TASKS and name in _LAZY_TASKS:
        import importlib

        importlib.import_module(_LAZY_TASKS[name])
    if name not in _TASKS:
        raise NotFoundError(f"unknown task {name!r}; known: {', '.join(sorted(set(_TASKS) | set(_LAZY_TASKS)))}")
    return _TASKS[name]


def known_tasks() -> list[str]:
    return sorted(set(_TASKS) | set(_LAZY_TASKS))


for _t in (CareTask(), N2VTask(), N2V2Task()):
    register_task(_t)
