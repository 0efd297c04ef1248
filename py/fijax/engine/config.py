"""One pydantic configuration drives training; it is saved with every model.

:class:`TrainConfig` holds network, task, data, augmentation and optimisation settings.
Fields left ``None`` take the task's default when the configuration is *resolved*
(:meth:`TrainConfig.resolved`), so a saved configuration is always complete.

Presets (:func:`preset`):

``quick``
    Small CPU network (8 filters, kernel 3, 32² patches) that trains in seconds; for demos and
    tests.
``care`` / ``n2v`` / ``n2v2``
    The published defaults (CSBDeep CARE: kernel 5 in 2D, MAE, 100×400 steps, batch 16;
    n2v: kernel 3, MSE, BatchNorm, batch 128) — meant for a GPU.
``n2v-fast``
    This project's faster N2V recipe: denser masking, warm-up + cosine learning-rate decay.
``seg``
    3-class instance segmentation (task ``seg``): depth 3, kernel 3, 32 filters, dropout 0.1.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from fijax.errors import InputError

Augmentation = Literal["flip", "rot90"]

#: Config fields that do not change a traced computation: excluded from the keys under which the
#: jitted training steps and prediction forwards are cached (one compilation per network).
HOST_ONLY_FIELDS = frozenset({
    "seed", "epochs", "steps_per_epoch", "learning_rate", "lr_schedule", "warmup_steps", "plateau_factor",
    "plateau_patience", "min_lr", "early_stopping", "select", "preset", "val_fraction", "val_patches",
    "background_threshold", "norm_pmin", "norm_pmax", "target_norm"})


class TrainConfig(BaseModel):
    """Everything that determines a training run (with the data and the seed, the weights)."""

    model_config = ConfigDict(extra="forbid")

    task: str = Field("care", description="care | n2v | n2v2 | any registered task (e.g. seg)")
    ndim: Literal[2, 3] = 2
    # network
    depth: int = Field(2, ge=0, le=6)
    kernel: int | None = Field(None, description="None: 5 in 2D, 3 in 3D (CARE); 3 for N2V")
    filters: int = Field(32, ge=1, le=1024)
    residual: bool | None = Field(None, description="None: task default (CARE: in == out channels)")
    dropout: float = Field(0.0, ge=0.0, lt=1.0, description=">0 enables Monte-Carlo dropout sampling")
    batch_norm: bool | None = None
    n2v2: bool | None = Field(None, description="blur-pool, no top skip (None: True for task n2v2)")
    compact_decoder: bool = Field(False, description="CAREamics' U-Net layout (half-width block outputs)")
    # loss and task-specific settings
    loss: Literal["mae", "mse", "laplace"] | None = Field(None, description="CARE: mae; N2V: mse")
    mask_percent: float = Field(0.2, gt=0.0, le=20.0, description="N2V masked pixels, % (one per grid box)")
    neighborhood_radius: int = Field(5, ge=1, le=10)
    replacement: Literal["uniform", "median"] | None = Field(None, description="N2V: uniform; N2V2: median")
    extra: dict[str, Any] = Field(default_factory=dict, description="options of tasks defined elsewhere")
    # data
    patch_size: tuple[int, ...] = (64, 64)
    background_threshold: float | None = Field(0.4, description="CARE: keep patches whose target max "
                                               ">= threshold × p99.9 (None: off)")
    val_fraction: float = Field(0.1, gt=0.0, lt=0.5)
    val_patches: int = Field(32, ge=1)
    norm_pmin: float = Field(1.0, ge=0.0, lt=50.0)
    norm_pmax: float = Field(99.8, gt=50.0, le=100.0)
    target_norm: Literal["source", "own"] = Field(
        "source", description="CARE targets normalised with the source's percentiles (output in source "
        "units) or their own (CSBDeep; output rescaled with the input's percentiles)")
    augment: list[Augmentation] = Field(default_factory=lambda: ["flip", "rot90"])
    # optimisation
    epochs: int = Field(100, ge=1)
    steps_per_epoch: int = Field(400, ge=1)
    batch_size: int = Field(16, ge=1)
    learning_rate: float = Field(4e-4, gt=0.0)
    lr_schedule: Literal["plateau", "cosine"] = "plateau"
    warmup_steps: int = Field(0, ge=0)
    plateau_factor: float = Field(0.5, gt=0.0, lt=1.0)
    plateau_patience: int = Field(10, ge=1)
    min_lr: float = Field(1e-6, ge=0.0)
    early_stopping: int | None = Field(None, ge=1, description="stop after this many epochs without "
                                       "val_loss improvement")
    select: Literal["best", "last"] | None = Field(None, description="weights kept: CARE best, N2V last")
    seed: int = 0
    preset: str | None = None

    @field_validator("patch_size", mode="before")
    @classmethod
    def _patch(cls, v: Any) -> Any:
        if isinstance(v, int):
            return (v,)
        if isinstance(v, str):
            return tuple(int(p) for p in v.replace("x", ",").split(",") if p.strip())
        return v

    @model_validator(mode="after")
    def _check(self) -> TrainConfig:
        if len(self.patch_size) == 1:
            self.patch_size = self.patch_size * self.ndim
        if len(self.patch_size) != self.ndim:
            raise ValueError(f"patch_size {self.patch_size} does not have {self.ndim} dimensions")
        m = 2 ** self.depth
        if any(p % m or p <= 0 for p in self.patch_size):
            raise ValueError(f"patch_size {self.patch_size} must be positive multiples of 2**depth = {m}")
        if self.kernel is not None and (self.kernel < 1 or self.kernel % 2 == 0):
            raise ValueError(f"kernel must be odd, got {self.kernel}")
        if self.norm_pmin >= self.norm_pmax:
            raise ValueError("norm_pmin must be below norm_pmax")
        return self

    @property
    def is_n2v(self) -> bool:
        return self.task in ("n2v", "n2v2")

    def resolved(self) -> TrainConfig:
        """Return a copy with every ``None`` default filled in from the task."""
        n2v = self.is_n2v
        upd: dict[str, Any] = {}
        if self.kernel is None:
            upd["kernel"] = 3 if (n2v or self.ndim == 3) else 5
        if self.n2v2 is None:
            upd["n2v2"] = self.task == "n2v2"
        if self.loss is None:
            upd["loss"] = "mse" if n2v else "mae"
        if self.replacement is None:
            upd["replacement"] = "median" if (self.task == "n2v2" or self.n2v2) else "uniform"
        if self.batch_norm is None:
            upd["batch_norm"] = False
        if self.select is None:
            upd["select"] = "last" if n2v else "best"
        if self.residual is None and (n2v and (self.task == "n2v2" or self.n2v2)):
            upd["residual"] = False  # N2V2 is a non-residual U-Net
        return self.model_copy(update=upd)


PRESETS: dict[str, dict[str, Any]] = {
    "quick": dict(depth=2, kernel=3, filters=8, patch_size=(32, 32), batch_size=8, epochs=10,
                  steps_per_epoch=25, learning_rate=2e-3, val_patches=16, plateau_patience=3,
                  mask_percent=1.5),
    "care": dict(depth=2, filters=32, patch_size=(64, 64), batch_size=16, epochs=100,
                 steps_per_epoch=400, learning_rate=4e-4, loss="mae"),
    "n2v": dict(depth=2, kernel=3, filters=32, patch_size=(64, 64), batch_size=128, epochs=100,
                steps_per_epoch=400, learning_rate=4e-4, loss="mse", batch_norm=True, mask_percent=0.2),
    "n2v2": dict(depth=2, kernel=3, filters=32, patch_size=(64, 64), batch_size=128, epochs=100,
                 steps_per_epoch=400, learning_rate=4e-4, loss="mse", batch_norm=True, mask_percent=0.2,
                 n2v2=True),
    "n2v-fast": dict(depth=2, kernel=3, filters=32, patch_size=(64, 64), batch_size=16, epochs=20,
                     steps_per_epoch=50, learning_rate=2e-3, loss="mse", mask_percent=1.5,
                     lr_schedule="cosine", warmup_steps=20),
    # 3-class instance segmentation (fijax.engine.segmentation): StarDist's backbone (depth 3, 3x3,
    # 32 filters), dropout 0.1 so Monte-Carlo samples give per-object confidence
    "seg": dict(depth=3, kernel=3, filters=32, patch_size=(64, 64), batch_size=16, epochs=100,
                steps_per_epoch=100, learning_rate=3e-4, dropout=0.1, background_threshold=None),
}


def preset(name: str, task: str = "care", ndim: int = 2, **overrides: Any) -> TrainConfig:
    """Build a :class:`TrainConfig` from a named preset plus overrides.

    In 3D the preset's 2D patch size gets a Z extent of 16 (quick: 8).
    """
    if name not in PRESETS:
        raise InputError(f"unknown preset {name!r}; known: {', '.join(sorted(PRESETS))}")
    values = dict(PRESETS[name])
    if ndim == 3 and "patch_size" not in overrides:
        values["patch_size"] = ((8,) if name == "quick" else (16,)) + tuple(values["patch_size"])
        if name in ("care", "quick") and "kernel" not in overrides and name != "quick":
            values["kernel"] = 3
    values.update(task=task, ndim=ndim, preset=name)
    values.update({k: v for k, v in overrides.items() if v is not None})
    return make_config(values)


def make_config(values: dict[str, Any] | TrainConfig) -> TrainConfig:
    """Validate ``values`` into a :class:`TrainConfig`; problems become :class:`InputError`."""
    if isinstance(values, TrainConfig):
        return values
    import pydantic

    try:
        return TrainConfig.model_validate(values)
    except pydantic.ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'config'}: {e['msg']}"
                             for e in exc.errors())
        raise InputError(f"bad training configuration: {problems}") from exc
