"""The training loop shared by every task (CARE, N2V/N2V2, segmentation, ...).

:func:`train` takes images, a :class:`~fijax.engine.config.TrainConfig` and a name, trains in a
*run folder* (``FIJAX_HOME/runs/NAME``) and, when done, registers the model as a new version in
the :class:`~fijax.registry.models.ModelRegistry`. Per epoch it validates, appends the CSV log
(epoch, step, loss, val_loss, lr, seconds, elapsed), adapts the learning rate, writes
``weights_last.npz`` / ``weights_best.npz`` and the full training state (``state.npz``, the
commit point of the epoch). After a crash, ``kill -9`` or cancellation ``train(..., resume=True)``
continues from the last completed epoch and produces the same weights as an uninterrupted run:
batches and keys depend only on the seed and the step number.

The jitted step is functional (``nnx.split`` once; ``jax.jit`` over parameters, statistics and
optimizer state): augmentation (random flips and 90° rotations), the task's batch transform
(N2V masking) and dropout all run on the device from a key ``fold_in(seed, step)``. With more
than one local device the batch is sharded over all of them (data parallel).
"""

from __future__ import annotations

import json
import logging
import math
import os
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx

from fijax.engine import data as D
from fijax.engine.checkpoint import (
    assign_model_arrays,
    load_npz,
    model_arrays,
    restore_tree,
    save_npz,
    tree_arrays,
)
from fijax.engine.config import HOST_ONLY_FIELDS, TrainConfig, make_config
from fijax.engine.domain import DOMAIN_FILE
from fijax.engine.model import TrainedModel, build_unet
from fijax.engine.tasks import Task, get_task
from fijax.engine.unet import UNetSpec
from fijax.errors import CancelledError, InputError
from fijax.io.atomic import atomic_write_text
from fijax.io.hashing import pixels_sha256, sha256_file
from fijax.io.image import Image
from fijax.io.locks import FileLock, is_locked, locked
from fijax.io.table import csv_text
from fijax.paths import fijax_home
from fijax.registry.models import ModelRegistry, check_name
from fijax.versions import jar_coordinates, library_versions

log = logging.getLogger(__name__)
#: Lock file inside a run folder, held by the training writing in it.
RUN_LOCK = ".run.lock"

Progress = Callable[[float, str], None]
LOG_FIELDS = ["epoch", "step", "loss", "val_loss", "lr", "seconds", "elapsed"]


@dataclass
class TrainResult:
    """What :func:`train` returns.

    Attributes
    ----------
    trained : TrainedModel
        The selected weights (best or last, per ``config.select``) in a ready-to-predict bundle.
    history : list of dict
        One row per epoch (the CSV log).
    metrics : dict
        Final and best losses, epochs and steps run, stop reason.
    record : ModelRecord or None
        The registry record (None when ``register=False``).
    run_dir : Path
        Where training ran (removed after registration unless ``keep_run``).
    """

    trained: TrainedModel
    history: list[dict]
    metrics: dict
    record: Any = None
    run_dir: Path | None = None
    card: dict = field(default_factory=dict)


def _as_list(images: Any) -> list:
    if images is None:
        return []
    if isinstance(images, Image | np.ndarray):
        return [images]
    return list(images)


def _samples(images: Sequence, ndim: int, origins: list[str] | None = None) -> list[np.ndarray]:
    """All samples of ``images``; ``origins`` (when given) receives ``title[#plane]`` per sample."""
    out: list[np.ndarray] = []
    for i, img in enumerate(images):
        got = D.to_samples(img, ndim)
        out.extend(got)
        if origins is not None:
            title = img.title if isinstance(img, Image) else f"array{i}"
            origins.extend([title] if len(got) == 1 else [f"{title}#{j}" for j in range(len(got))])
    return out


def describe_data(sources: Sequence, targets: Sequence | None, files: dict | None = None) -> dict:
    """Provenance of the training data: per image title, shape, sha256 of the pixels, pixel size."""
    def one(img: Any, i: int) -> dict:
        arr = img.data if isinstance(img, Image) else np.asarray(img)
        d = {"title": img.title if isinstance(img, Image) else f"array{i}", "shape": list(arr.shape),
             "dtype": str(arr.dtype), "sha256": pixels_sha256(arr)}
        if isinstance(img, Image):
            d["axes"] = img.axes
            if img.pixel_size is not None:
                d["pixel_size"] = list(img.pixel_size)
                d["unit"] = img.unit
            meta = {k: v for k, v in img.metadata.items() if isinstance(v, str | int | float | bool)}
            if meta:  # microscope/ImageJ metadata found in the file (for reports)
                d["metadata"] = meta
        return d

    desc: dict[str, Any] = {"sources": [one(s, i) for i, s in enumerate(sources)]}
    if targets:
        desc["targets"] = [one(t, i) for i, t in enumerate(targets)]
    if files:
        desc["files"] = files
    return desc


def hardware_description() -> dict[str, Any]:
    """CPU model and cores, and each accelerator's name and memory (for the model report)."""
    import os
    import platform

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    hw: dict[str, Any] = {"cpu": cpu, "cpu_cores": os.cpu_count(), "platform": platform.platform(),
                          "accelerators": []}
    for d in jax.local_devices():
        if d.platform == "cpu":
            continue
        mem = None
        try:
            mem = (d.memory_stats() or {}).get("bytes_limit")
        except Exception:  # not every backend reports memory
            mem = None
        hw["accelerators"].append({"platform": d.platform, "name": getattr(d, "device_kind", ""),
                                   "memory_gib": round(mem / 2 ** 30, 2) if mem else None})
    return hw


def device_description() -> str:
    """E.g. ``cpu ×1 (cpu)`` or ``gpu ×1 (NVIDIA H100 80GB HBM3)``."""
    devs = jax.local_devices()
    return f"{devs[0].platform} ×{len(devs)} ({getattr(devs[0], 'device_kind', '')})"


def augment(key: jax.Array, x: jax.Array, y: jax.Array | None, ops: Sequence[str],
            ndim: int) -> tuple[jax.Array, jax.Array | None]:
    """Random per-sample flips (each spatial axis) and 90° rotations in the YX plane (square patches)."""
    b = x.shape[0]
    keys = jax.random.split(key, ndim + 1)

    def sel(flag: jax.Array, a: jax.Array, bb: jax.Array) -> jax.Array:
        return jnp.where(flag.reshape((b,) + (1,) * (a.ndim - 1)), a, bb)

    if "flip" in ops:
        for axis in range(1, ndim + 1):
            flag = jax.random.bernoulli(keys[axis - 1], 0.5, (b,))
            x = sel(flag, jnp.flip(x, axis), x)
            if y is not None:
                y = sel(flag, jnp.flip(y, axis), y)
    if "rot90" in ops and x.shape[-2] == x.shape[-3]:
        k = jax.random.randint(keys[-1], (b,), 0, 4)
        axes = (ndim - 1, ndim)
        for r in (1, 2, 3):
            flag = k == r
            x = sel(flag, jnp.rot90(x, r, axes=axes), x) if r != 2 else sel(flag, jnp.flip(x, axes), x)
            if y is not None:
                y = sel(flag, jnp.rot90(y, r, axes=axes), y) if r != 2 else sel(flag, jnp.flip(y, axes), y)
    return x, y


class _Plateau:
    """ReduceLROnPlateau (Keras semantics: factor, patience, min_lr; min_delta 0)."""

    def __init__(self, lr: float, factor: float, patience: int, min_lr: float):
        self.lr, self.factor, self.patience, self.min_lr = lr, factor, patience, min_lr
        self.best, self.stale = math.inf, 0

    def update(self, value: float) -> float:
        if value < self.best:
            self.best, self.stale = value, 0
        else:
            self.stale += 1
            if self.stale >= self.patience:
                self.lr, self.stale = max(self.lr * self.factor, self.min_lr), 0
        return self.lr

    def state(self) -> dict:
        return {"lr": self.lr, "best": self.best if math.isfinite(self.best) else None, "stale": self.stale}

    def load(self, st: dict) -> None:
        self.lr, self.stale = st["lr"], st["stale"]
        self.best = st["best"] if st["best"] is not None else math.inf


def _cosine_lr(config: TrainConfig, step: int, total: int) -> float:
    lr0 = config.learning_rate
    if step < config.warmup_steps:
        return lr0 * (step + 1) / config.warmup_steps
    t = (step - config.warmup_steps) / max(1, total - config.warmup_steps)
    return config.min_lr + 0.5 * (lr0 - config.min_lr) * (1.0 + math.cos(math.pi * min(1.0, t)))


def _sharding() -> Any:
    devs = jax.local_devices()
    if len(devs) < 2:
        return None
    mesh = jax.sharding.Mesh(np.array(devs), ("data",))
    return jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec("data"))


_COMPILED: dict[tuple, tuple[Callable, Callable]] = {}


def step_cache_key(config: TrainConfig, task: Task, graphdef: Any) -> tuple:
    """Key under which jitted steps are reused by later runs with the same network and settings."""
    traced = config.model_dump(mode="json", exclude=HOST_ONLY_FIELDS)
    return (task.name, json.dumps(traced, sort_keys=True), graphdef)


def _compiled(config: TrainConfig, task: Task, gd_train: Any, gd_eval: Any, tx: Any) -> tuple[Callable, Callable]:
    """Jitted ``step`` and ``evaluate`` for this configuration (cached: one compilation per process)."""
    key = step_cache_key(config, task, gd_train)
    if key in _COMPILED:
        return _COMPILED[key]
    cfg = config

    def loss_fn(params, rest, x, y, key):
        k_aug, k_task, k_drop = jax.random.split(key, 3)
        x, y = augment(k_aug, x, y, cfg.augment, cfg.ndim)
        inp, tgt, w = task.batch(k_task, x, y, cfg)
        net = nnx.merge(gd_train, params, rest)
        pred = net(inp, dropout_key=k_drop if cfg.dropout > 0 else None)
        new_rest = nnx.split(net, nnx.Param, ...)[2]
        return task.loss(pred, tgt, w, cfg), new_rest

    def step(params, rest, opt_state, x, y, key, lr):
        opt_state.hyperparams["learning_rate"] = lr
        # rest (BatchNorm statistics) is differentiated too, so that BatchNorm may update it in the
        # same trace as the parameters (nnx refuses mutations across trace levels); its gradient is dropped
        (loss, new_rest), (grads, _) = jax.value_and_grad(loss_fn, argnums=(0, 1), has_aux=True)(
            params, rest, x, y, key)
        updates, opt_state = tx.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), new_rest, opt_state, loss

    def evaluate(params, rest, x, y, key):
        inp, tgt, w = task.batch(key, x, y, cfg)
        net = nnx.merge(gd_eval, params, rest)
        return task.loss(net(inp), tgt, w, cfg)

    if len(_COMPILED) > 16:
        _COMPILED.clear()
    _COMPILED[key] = (jax.jit(step, donate_argnums=(0, 1, 2)), jax.jit(evaluate))
    return _COMPILED[key]


class _Engine:
    """Jitted train/eval steps over a split model (one compilation per input shape)."""

    def __init__(self, model: nnx.Module, config: TrainConfig, task: Task):
        self.config, self.task = config, task
        model.train()
        self.gd_train, self.params, self.rest = nnx.split(model, nnx.Param, ...)
        model.eval()
        self.gd_eval = nnx.split(model, nnx.Param, ...)[0]
        self.tx = optax.inject_hyperparams(optax.adam)(learning_rate=config.learning_rate)
        self.opt_state = self.tx.init(self.params)
        self.sharding = _sharding()
        if self.sharding is not None:  # data parallel: replicate the state on every device
            rep = jax.sharding.NamedSharding(self.sharding.mesh, jax.sharding.PartitionSpec())
            self.params, self.rest, self.opt_state = jax.device_put((self.params, self.rest, self.opt_state), rep)
        self._step, self._eval = _compiled(config, task, self.gd_train, self.gd_eval, self.tx)

    def put(self, a: np.ndarray | None) -> jax.Array | None:
        if a is None:
            return None
        if self.sharding is not None and a.shape[0] % len(jax.local_devices()) == 0:
            return jax.device_put(a, self.sharding)
        return jnp.asarray(a)

    def step(self, x: np.ndarray, y: np.ndarray | None, key: jax.Array, lr: float) -> jax.Array:
        self.params, self.rest, self.opt_state, loss = self._step(
            self.params, self.rest, self.opt_state, self.put(x), self.put(y), key, jnp.float32(lr))
        return loss

    def evaluate(self, xs: np.ndarray, ys: np.ndarray | None, key: jax.Array, batch: int) -> float:
        total, n = 0.0, 0
        for i in range(0, len(xs), batch):
            xb = xs[i:i + batch]
            yb = None if ys is None else ys[i:i + batch]
            total += float(self._eval(self.params, self.rest, self.put(xb), self.put(yb),
                                      jax.random.fold_in(key, i))) * len(xb)
            n += len(xb)
        return total / max(n, 1)

    def model(self) -> nnx.Module:
        net = nnx.merge(self.gd_eval, self.params, self.rest)
        net.eval()
        return net

    def load_model_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        net = self.model()
        assign_model_arrays(net, arrays)
        _, self.params, self.rest = nnx.split(net, nnx.Param, ...)
        if self.sharding is not None:
            rep = jax.sharding.NamedSharding(self.sharding.mesh, jax.sharding.PartitionSpec())
            self.params, self.rest = jax.device_put((self.params, self.rest), rep)


def _write_log(path: Path, history: list[dict]) -> None:
    atomic_write_text(path, csv_text(history, LOG_FIELDS, extra=False))


def runs_of(name: str, root: Path | None = None) -> Path:
    """The folder holding the run folders of ``name`` (one per training: ``runs/NAME/RUN``)."""
    return (root or fijax_home()) / "runs" / name


def _trust_facts(cfg: TrainConfig, trained: TrainedModel, split: D.Split, origins: list[str], sources: list,
                 description: str | None, sampler: D.PatchSampler, val_sampler: D.PatchSampler,
                 val: tuple[np.ndarray, np.ndarray | None], rdir: Path, progress: Progress) -> dict[str, Any]:
    """Card facts on what the model is for and how far to trust it (issue 12).

    Validation images, hardware, intended domain, the domain reference (``domain.npz`` written to
    ``rdir``: reference from training patches, threshold from validation patches) and the
    MC-dropout calibration. A failure here never loses the finished training: the card says why.
    """
    from fijax.engine import domain as DOM
    from fijax.engine.uncertainty import mc_calibration

    progress(1.0, "domain reference and uncertainty calibration")
    facts: dict[str, Any] = {
        "validation_images": ([origins[i] for i in split.val_samples] if split.val_samples is not None
                              else {"slab_of": origins, "how": split.how}),
        "hardware": hardware_description(), "intended_domain": DOM.describe_domain(sources, description)}
    rng = np.random.default_rng([cfg.seed, 13])
    try:
        ref = DOM.build_reference(trained.model, sampler.sample(rng, DOM.REFERENCE_PATCHES)[0],
                                  val_sampler.sample(rng, DOM.CALIBRATION_PATCHES)[0],
                                  origin="training patches (reference), validation patches (threshold)")
        ref.save(rdir / DOM.DOMAIN_FILE)
        facts["domain_reference"] = ref.summary()
    except Exception as exc:  # noqa: BLE001 - `fijax models calibrate` can add a reference later
        facts["domain_reference"] = {"error": f"{type(exc).__name__}: {exc}"}
    try:
        facts["uncertainty_calibration"] = mc_calibration(trained, *val, seed=cfg.seed)
    except Exception as exc:  # noqa: BLE001 - as above
        facts["uncertainty_calibration"] = {"available": False, "reason": f"{type(exc).__name__}: {exc}"}
    return facts
def new_run_id() -> str:
    """A run folder name: UTC time, pid and random digits (sortable by start time, never shared)."""
    import secrets
    from datetime import UTC, datetime

    return f"{datetime.now(UTC).strftime('%Y%m%dT%H%M%S%f')}-{os.getpid()}-{secrets.token_hex(3)}"


def interrupted_runs(name: str, root: Path | None = None) -> list[Path]:
    """Run folders of ``name`` that no live process holds (a crash, ``kill -9`` or cancel), oldest first.

    Only folders with a started run (``config.json``) count.
    """
    base = runs_of(name, root)
    if not base.is_dir():
        return []
    return sorted(d for d in base.iterdir() if d.is_dir() and not d.name.startswith(".")
                  and (d / "config.json").is_file() and not is_locked(d / RUN_LOCK))


def run_dir_for(name: str, root: Path | None = None) -> Path:
    """The latest interrupted run folder of ``name`` (what ``resume`` continues); raise when none."""
    runs = interrupted_runs(name, root)
    if not runs:
        raise InputError(f"no interrupted training to resume for {name!r}")
    return runs[-1]


def _describe_run(rdir: Path) -> str:
    try:
        meta = json.loads((rdir / "config.json").read_text())
        epochs = meta["config"]["epochs"]
        done = load_npz(rdir / "state.npz")[1]["epoch"] if (rdir / "state.npz").is_file() else 0
        return f"{rdir.name} ({done}/{epochs} epochs done)"
    except Exception:  # noqa: BLE001 - a description only
        return rdir.name


def _name_lock(name: str | None, root: Path) -> Path:
    """The per-name lock (outside ``runs/NAME``, which is removed once empty)."""
    return root / "locks" / f"runs-{name or 'unnamed'}.lock"


def _tidy_runs(name: str | None, root: Path) -> None:
    """Remove ``runs/NAME`` and ``runs`` when empty (under the name lock: no run is being created)."""
    base = runs_of(name or "unnamed", root)
    with locked(_name_lock(name, root), timeout=60.0):
        for folder in (base, base.parent):
            try:
                folder.rmdir()
            except OSError:  # not empty (other runs) or already gone
                break


def _claim_run(name: str | None, registry: Any, run_dir: str | Path | None, resume: bool,
               restart: bool) -> tuple[Path, FileLock]:
    """Pick (resume) or create this training's run folder and lock it for the process's lifetime.

    Each training writes in its own folder ``runs/NAME/RUN`` and holds its lock, so two trainings
    under one name never touch each other's files; the per-name lock makes choosing and creating
    folders atomic between processes. Interrupted runs are kept unless ``restart`` is given.
    """
    if run_dir is not None:
        rdir = Path(run_dir)
        lock = FileLock(rdir / RUN_LOCK)
        if not lock.acquire(0.0):
            raise InputError(f"run folder {rdir} is in use by another training")
        if not resume and rdir.exists():
            for child in rdir.iterdir():
                if child.name != RUN_LOCK:
                    shutil.rmtree(child) if child.is_dir() else child.unlink()
        return rdir, lock
    base = runs_of(name or "unnamed", registry.root)
    with locked(_name_lock(name, registry.root), timeout=60.0):
        old = interrupted_runs(name or "unnamed", registry.root)
        if resume:
            if not old:
                raise InputError(f"no interrupted training to resume for {name!r}")
            rdir = old[-1]
            lock = FileLock(rdir / RUN_LOCK)
            if not lock.acquire(0.0):
                raise InputError(f"the interrupted run {rdir} of {name!r} was just taken by another process")
            return rdir, lock
        if old and restart:
            for d in old:
                shutil.rmtree(d, ignore_errors=True)
        elif old:
            log.warning("kept %d interrupted training(s) of %r: %s; continue the latest with 'fijax train --name "
                        "%s --resume' (or pass --restart to discard them)", len(old), name,
                        ", ".join(_describe_run(d) for d in old), name)
        rdir = base / new_run_id()
        rdir.mkdir(parents=True)
        lock = FileLock(rdir / RUN_LOCK)
        lock.acquire(0.0)
        return rdir, lock


def train(config: TrainConfig | dict | None, sources: Any, targets: Any = None, *, name: str | None = None,
          registry: Any = None, parent: str | None = None, resume: bool = False,
          data_files: dict | None = None, progress: Progress | None = None,
          check_cancelled: Callable[[], None] | None = None, register: bool = True,
          keep_run: bool = False, run_dir: str | Path | None = None,
          stop_after_steps: int | None = None, description: str | None = None,
          restart: bool = False) -> TrainResult:
    """Train a U-Net for ``config.task`` and register it as a new version of ``name``.

    Parameters
    ----------
    config : TrainConfig or dict
        Training configuration (see :mod:`fijax.engine.config`). On resume the saved one is used,
        except ``epochs`` (to extend or shorten the interrupted run); ``None`` keeps it all.
    sources : Image, ndarray or list of them
        Input images (noisy images for N2V; low-quality sources for CARE).
    targets : Image, ndarray or list, optional
        Targets for supervised tasks, matching ``sources`` one to one.
    name : str, optional
        Model name in the registry; required when ``register`` is true.
    registry : ModelRegistry, optional
        Defaults to the registry under the fijax home.
    parent : str, optional
        ``NAME[:VERSION]`` of a registered model to fine-tune (transfer learning): its architecture
        and weights are the starting point and it is recorded as the parent.
    resume : bool
        Continue the interrupted run of ``name`` from its last completed epoch.
    data_files : dict, optional
        ``{file name: sha256}`` of the files the images came from (recorded in the card).
    progress : callable, optional
        ``progress(fraction, message)`` after every step.
    check_cancelled : callable, optional
        Called before every step; raises :class:`~fijax.errors.CancelledError` to stop (the run
        folder stays resumable).
    register : bool
        Register the result (default). Without it, nothing is written to the registry.
    stop_after_steps : int, optional
        Testing aid: raise :class:`CancelledError` after this many steps of this call.
    description : str, optional
        The user's words on the intended domain (sample, structure, microscope), kept in the card.
    restart : bool
        Delete interrupted runs of ``name`` instead of keeping them (they are kept by default, and
        ``resume`` continues the latest).
    run_dir : path-like, optional
        Use this run folder instead of a new ``FIJAX_HOME/runs/NAME/RUN``.

    Returns
    -------
    TrainResult

    Raises
    ------
    InputError
        Bad configuration or data (checked before anything is written).
    """
    progress = progress or (lambda f, m: None)
    registry = registry if registry is not None else ModelRegistry()
    if register:
        if name is None:
            raise InputError("a model name is needed to register the trained model")
        check_name(name)
    rdir, run_lock = _claim_run(name, registry, run_dir, resume, restart)
    try:
        return _train_in(rdir, config, sources, targets, name=name, registry=registry, parent=parent,
                         resume=resume, data_files=data_files, progress=progress,
                         check_cancelled=check_cancelled, register=register, keep_run=keep_run,
                         stop_after_steps=stop_after_steps, description=description)
    except BaseException:
        # a run that never wrote its configuration has nothing to resume: do not leave it behind
        if run_dir is None and not (rdir / "config.json").is_file():
            shutil.rmtree(rdir, ignore_errors=True)
        raise
    finally:
        run_lock.release()
        if run_dir is None:
            _tidy_runs(name, registry.root)


@dataclass
class _Data:
    """Training data after every check: samples, their description, the validation split, samplers."""

    src_imgs: list
    xs: list[np.ndarray]
    origins: list[str]
    desc: dict
    hash: str
    split: D.Split
    sampler: D.PatchSampler
    val_sampler: D.PatchSampler
    val_x: np.ndarray
    val_y: np.ndarray | None
    in_channels: int
    target_channels: int


def _prepare_data(cfg: TrainConfig, task: Task, sources: Any, targets: Any, data_files: dict | None,
                  progress: Progress) -> _Data:
    """Check, normalise and split the training data (nothing is written; bad data raise InputError)."""
    src_imgs, tgt_imgs = _as_list(sources), _as_list(targets)
    if not src_imgs:
        raise InputError("no training images given")
    origins: list[str] = []
    xs = _samples(src_imgs, cfg.ndim, origins)
    ys = _samples(tgt_imgs, cfg.ndim) if tgt_imgs else None
    if ys is None and task.needs_target:
        raise InputError(f"task {cfg.task!r} needs target images")
    task.check_data(cfg, xs, ys)
    chans = {x.shape[-1] for x in xs}
    if len(chans) != 1:
        raise InputError(f"training images differ in channel count: {sorted(chans)}")
    constant = [i for i, x in enumerate(xs) if x.size and float(np.max(x)) == float(np.min(x))]
    if constant and len(constant) == len(xs):
        raise InputError(f"all {len(xs)} training image(s) are constant (every pixel {float(xs[0].flat[0]):g}): "
                         "there is nothing to learn, and the loss would be 0")
    if constant:
        log.warning("%d of %d training image(s) are constant (samples %s): they teach the model nothing",
                    len(constant), len(xs), ", ".join(map(str, constant[:10])))
        progress(0.0, f"warning: {len(constant)} constant training image(s)")
    stats = [D.percentiles(x, cfg.norm_pmin, cfg.norm_pmax) for x in xs]
    norm_x = [D.normalize(x, *st) for x, st in zip(xs, stats, strict=True)]
    if ys is not None:
        if task.normalize_target and cfg.target_norm == "source" and all(
                y.shape[-1] == x.shape[-1] for x, y in zip(xs, ys, strict=True)):
            norm_y = [D.normalize(y, *st) for y, st in zip(ys, stats, strict=True)]
        elif task.normalize_target:
            norm_y = [D.normalize(y, *D.percentiles(y, cfg.norm_pmin, cfg.norm_pmax)) for y in ys]
        else:
            norm_y = [np.asarray(task.prepare_target(cfg, y), np.float32) for y in ys]
    else:
        norm_y = None
    desc = describe_data(src_imgs, tgt_imgs, data_files)
    data_hash = pixels_sha256(np.frombuffer(json.dumps(
        [d["sha256"] for d in desc["sources"] + desc.get("targets", [])]).encode(), np.uint8))
    split = D.split_validation(cfg, norm_x, norm_y, np.random.default_rng([cfg.seed, 7]))
    allowed = None
    if split.train_y is not None:
        allowed = [task.patch_mask(cfg, x, y) for x, y in zip(split.train_x, split.train_y, strict=True)]
    sampler = D.PatchSampler(split.train_x, split.train_y, cfg.patch_size, allowed)
    val_sampler = D.PatchSampler(split.val_x, split.val_y, cfg.patch_size)
    val_x, val_y = val_sampler.sample(np.random.default_rng([cfg.seed, 11]), cfg.val_patches)

    in_ch = xs[0].shape[-1]
    return _Data(src_imgs, xs, origins, desc, data_hash, split, sampler, val_sampler, val_x, val_y, in_ch,
                 norm_y[0].shape[-1] if norm_y is not None else in_ch)


def _from_parent(cfg: TrainConfig, registry: Any, parent: str) -> tuple[TrainConfig, Any]:
    """The configuration with the parent's architecture, and the parent's (verified) record."""
    prec = registry.get(parent)
    registry.verify(prec)
    pcfg = make_config(prec.card["config"])
    if pcfg.ndim != cfg.ndim:
        raise InputError(f"parent {prec.ref} is a {pcfg.ndim}D model, the new configuration {cfg.ndim}D")
    arch = {k: getattr(pcfg, k) for k in ("depth", "kernel", "filters", "residual", "batch_norm", "n2v2",
                                           "dropout", "loss", "compact_decoder")}
    return cfg.model_copy(update=arch), prec


def _train_in(rdir: Path, config: Any, sources: Any, targets: Any, *, name: str | None, registry: Any,
              parent: str | None, resume: bool, data_files: dict | None, progress: Progress,
              check_cancelled: Callable[[], None] | None, register: bool, keep_run: bool,
              stop_after_steps: int | None, description: str | None = None) -> TrainResult:
    """The body of :func:`train` in the claimed (and locked) run folder ``rdir``."""
    state_path = rdir / "state.npz"
    saved_meta: dict | None = None
    if resume:
        given = make_config(config) if config is not None else None
        if state_path.is_file():
            state_arrays, saved_meta = load_npz(state_path)
            config, parent_meta = make_config(saved_meta["config"]), saved_meta.get("parent")
        elif (rdir / "config.json").is_file():  # interrupted before the first epoch: start it again
            started = json.loads((rdir / "config.json").read_text())
            config, parent_meta = make_config(started["config"]), started.get("parent")
        else:
            raise InputError(f"no interrupted training to resume for {name!r} (no {state_path})")
        if given is not None and given.epochs != config.epochs:  # the one setting a resume may change
            config = config.model_copy(update={"epochs": given.epochs})
        parent = (parent_meta or {}).get("ref")
    cfg = make_config(config).resolved()
    task = get_task(cfg.task)

    # -- data (all checks before anything is written) ------------------------------------------
    # versions first: a malformed jars.txt fails here, not after the training it would be recorded with
    versions = dict(library_versions(), jars=jar_coordinates())
    data = _prepare_data(cfg, task, sources, targets, data_files, progress)
    src_imgs, xs, origins, data_desc, data_hash = data.src_imgs, data.xs, data.origins, data.desc, data.hash
    split, sampler, val_sampler, val_x, val_y = data.split, data.sampler, data.val_sampler, data.val_x, data.val_y
    if saved_meta is not None and saved_meta.get("data_hash") != data_hash:
        raise InputError(f"resume of {name!r}: the training data differ from the interrupted run's")
    prec = None
    if parent is not None:
        cfg, prec = _from_parent(cfg, registry, parent)
    parent_info = None if prec is None else {"name": prec.name, "version": prec.version, "ref": prec.ref,
                                             "weights_sha256": prec.weights_sha256, "task": prec.task}
    model, spec = build_unet(cfg, data.in_channels, data.target_channels)
    if prec is not None:
        pspec = UNetSpec(**prec.card["unet"])
        if (pspec.in_channels, pspec.out_channels) != (spec.in_channels, spec.out_channels):
            raise InputError(f"parent {prec.ref} maps {pspec.in_channels}→{pspec.out_channels} channels, "
                             f"the new data {spec.in_channels}→{spec.out_channels}")
        assign_model_arrays(model, load_npz(prec.weights_path)[0])

    # -- state -----------------------------------------------------------------------------------
    engine = _Engine(model, cfg, task)
    rng = np.random.default_rng([cfg.seed, 3])
    total_steps = cfg.epochs * cfg.steps_per_epoch
    plateau = _Plateau(cfg.learning_rate, cfg.plateau_factor, cfg.plateau_patience, cfg.min_lr)
    history: list[dict] = []
    start_epoch, global_step, elapsed = 0, 0, 0.0
    best_val, best_epoch, stale = math.inf, -1, 0
    if saved_meta is not None:
        engine.load_model_arrays({k[6:]: v for k, v in state_arrays.items() if k.startswith("model/")})
        engine.opt_state = restore_tree(engine.opt_state, state_arrays, "opt")
        if engine.sharding is not None:
            engine.opt_state = jax.device_put(engine.opt_state, jax.sharding.NamedSharding(
                engine.sharding.mesh, jax.sharding.PartitionSpec()))
        rng.bit_generator.state = saved_meta["rng"]
        plateau.load(saved_meta["plateau"])
        history = saved_meta["history"]
        start_epoch, global_step, elapsed = saved_meta["epoch"], saved_meta["step"], saved_meta["elapsed"]
        best_val = saved_meta["best_val"] if saved_meta["best_val"] is not None else math.inf
        best_epoch, stale = saved_meta["best_epoch"], saved_meta["stale"]
    else:
        rdir.mkdir(parents=True, exist_ok=True)  # this run's own folder (see _claim_run)
    meta_base = {"config": cfg.model_dump(mode="json"), "unet": spec.to_dict(), "data_hash": data_hash,
                 "parent": parent_info}
    atomic_write_text(rdir / "config.json", json.dumps(
        dict(meta_base, task=cfg.task, normalization={"method": "percentile", "pmin": cfg.norm_pmin,
                                                      "pmax": cfg.norm_pmax, "per_image": True}),
        indent=2, sort_keys=True))
    base_key = jax.random.key(cfg.seed)
    val_key = jax.random.fold_in(jax.random.key(cfg.seed), 1_000_003)
    stop_reason = "epochs done"
    steps_this_call = 0
    last_loss = float("nan")

    # -- loop -------------------------------------------------------------------------------------
    for epoch in range(start_epoch, cfg.epochs):
        t0 = time.perf_counter()
        losses = []
        for _ in range(cfg.steps_per_epoch):
            if check_cancelled is not None:
                check_cancelled()
            if stop_after_steps is not None and steps_this_call >= stop_after_steps:
                raise CancelledError(f"stopped after {steps_this_call} steps (resumable)")
            lr = (_cosine_lr(cfg, global_step, total_steps) if cfg.lr_schedule == "cosine" else plateau.lr)
            xb, yb = sampler.sample(rng, cfg.batch_size)
            loss = engine.step(xb, yb, jax.random.fold_in(base_key, global_step), lr)
            losses.append(loss)
            global_step += 1
            steps_this_call += 1
            last_loss = float(loss)
            if not math.isfinite(last_loss):
                raise InputError(f"training diverged (loss {last_loss}) at step {global_step}; "
                                 "lower the learning rate")
            progress(global_step / total_steps,
                     f"epoch {epoch + 1}/{cfg.epochs} step {global_step}/{total_steps} loss {last_loss:.4g}")
        train_loss = float(np.mean([float(v) for v in losses]))
        val_loss = engine.evaluate(val_x, val_y, val_key, cfg.batch_size)
        seconds = time.perf_counter() - t0
        elapsed += seconds
        history.append({"epoch": epoch + 1, "step": global_step, "loss": train_loss, "val_loss": val_loss,
                        "lr": lr, "seconds": round(seconds, 4), "elapsed": round(elapsed, 4)})
        if cfg.lr_schedule == "plateau":
            plateau.update(val_loss)
        improved = val_loss < best_val
        arrays = model_arrays(engine.model())
        if improved:
            best_val, best_epoch, stale = val_loss, epoch + 1, 0
            save_npz(rdir / "weights_best.npz", arrays)
        else:
            stale += 1
        save_npz(rdir / "weights_last.npz", arrays)
        _write_log(rdir / "log.csv", history)
        meta = dict(meta_base, epoch=epoch + 1, step=global_step, elapsed=elapsed, rng=rng.bit_generator.state,
                    plateau=plateau.state(), history=history,
                    best_val=best_val if math.isfinite(best_val) else None, best_epoch=best_epoch, stale=stale)
        state = {f"model/{k}": v for k, v in arrays.items()}
        state.update(tree_arrays(engine.opt_state, "opt"))
        save_npz(state_path, state, meta)  # commit point of the epoch
        progress(global_step / total_steps, f"epoch {epoch + 1}/{cfg.epochs} loss {train_loss:.4g} "
                 f"val_loss {val_loss:.4g}")
        if cfg.early_stopping is not None and stale >= cfg.early_stopping:
            stop_reason = f"early stopping after {stale} epochs without improvement"
            break

    # -- select, package, register ----------------------------------------------------------------
    chosen = "weights_best.npz" if (cfg.select == "best" and (rdir / "weights_best.npz").is_file()) \
        else "weights_last.npz"
    shutil.copyfile(rdir / chosen, rdir / "weights.npz")
    # a few (normalised) validation patches travel with the model: report figures, bioimage.io test tensors
    examples = {"source": np.asarray(val_x[:4])}
    if val_y is not None:
        examples["target"] = np.asarray(val_y[:4])
    save_npz(rdir / "examples.npz", examples, {"normalized": True, "origin": "validation patches"})
    final = history[-1] if history else {}
    metrics = {"loss": final.get("loss"), "val_loss": final.get("val_loss"), "best_val_loss":
               best_val if math.isfinite(best_val) else None, "best_epoch": best_epoch,
               "epochs": len(history), "steps": global_step, "selected": chosen.split("_")[1].split(".")[0],
               "stop_reason": stop_reason, "validation": split.how,
               "train_patches_per_epoch": cfg.steps_per_epoch * cfg.batch_size,
               "val_patches": int(len(val_x))}
    data_desc.update(image_count=len(src_imgs), sample_count=len(xs),
                     patch_count=global_step * cfg.batch_size, val_patch_count=int(len(val_x)),
                     validation=split.how)
    card = {"task": cfg.task, "config": cfg.model_dump(mode="json"), "unet": spec.to_dict(),
            "normalization": {"method": "percentile", "pmin": cfg.norm_pmin, "pmax": cfg.norm_pmax,
                              "per_image": True},
            "versions": versions, "device": device_description(), "seed": cfg.seed, "data": data_desc,
            "metrics": metrics, "training_seconds": round(elapsed, 3), "parent": parent_info,
            "log_csv": "log.csv", "weights_file": "weights.npz", "selected_weights": chosen}
    # task-specific tuning and QC on the validation split (segmentation: thresholds, matching)
    finished = task.finalize(cfg, TrainedModel.from_folder(rdir), split, rdir, progress) or {}
    metrics.update(finished.get("metrics", {}))
    card.update(finished.get("card", {}))
    trained = TrainedModel.from_folder(rdir)
    card.update(_trust_facts(cfg, trained, split, origins, src_imgs, description, sampler, val_sampler,
                             (val_x, val_y), rdir, progress))
    record = None
    if register:
        files = {"weights.npz": rdir / "weights.npz", "weights_last.npz": rdir / "weights_last.npz",
                 "config.json": rdir / "config.json", "log.csv": rdir / "log.csv",
                 "examples.npz": rdir / "examples.npz"}
        files.update({f: rdir / f for f in finished.get("files", ())})
        if (rdir / DOMAIN_FILE).is_file():
            files[DOMAIN_FILE] = rdir / DOMAIN_FILE
        if (rdir / "weights_best.npz").is_file():
            files["weights_best.npz"] = rdir / "weights_best.npz"
        record = registry.register(name, files, card)
        trained.record = record
        card = record.card
        if not keep_run:
            shutil.rmtree(rdir, ignore_errors=True)  # our lock stays valid on its open descriptor
    else:
        card["weights_sha256"] = sha256_file(rdir / "weights.npz")
    return TrainResult(trained, history, metrics, record, rdir, card)
