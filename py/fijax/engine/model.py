"""A trained model: network + configuration + task, as saved in a model folder."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from fijax.engine.checkpoint import assign_model_arrays, load_npz
from fijax.engine.config import TrainConfig, make_config
from fijax.engine.predict import predict
from fijax.engine.tasks import Task, get_task
from fijax.engine.unet import UNet, UNetSpec, make_unet
from fijax.errors import InputError
from fijax.registry.models import ModelRegistry


def build_unet(config: TrainConfig, in_channels: int, target_channels: int,
               seed: int | None = None) -> tuple[UNet, UNetSpec]:
    """Create the U-Net a (resolved) configuration asks for, initialised from ``seed``."""
    task = get_task(config.task)
    out = task.out_channels(config, in_channels, target_channels)
    residual = config.residual if config.residual is not None else task.default_residual(config, in_channels, out)
    spec = UNetSpec(ndim=config.ndim, in_channels=in_channels, out_channels=out, depth=config.depth,
                    kernel=config.kernel or 3, filters=config.filters, residual=bool(residual),
                    dropout=config.dropout, batch_norm=bool(config.batch_norm), n2v2=bool(config.n2v2),
                    compact_decoder=config.compact_decoder)
    model = make_unet(spec, config.seed if seed is None else seed)
    model.eval()
    return model, spec


@dataclass
class TrainedModel:
    """Network, configuration and task of a trained (or registered) model.

    Attributes
    ----------
    model : UNet
        The network in eval mode.
    config : TrainConfig
        Resolved training configuration.
    spec : UNetSpec
        Architecture.
    record : ModelRecord or None
        The registry record when loaded from the registry.
    """

    model: UNet
    config: TrainConfig
    spec: UNetSpec
    record: Any = None
    extra: dict = field(default_factory=dict)

    @property
    def task(self) -> Task:
        return get_task(self.config.task)

    @classmethod
    def from_folder(cls, folder: str | Path, record: Any = None, weights: str = "weights.npz") -> TrainedModel:
        """Load ``config.json`` and ``weights`` from a model folder (no hash check here)."""
        folder = Path(folder)
        try:
            meta = json.loads((folder / "config.json").read_text())
        except (OSError, ValueError) as exc:
            raise InputError(f"{folder}: no readable config.json ({exc})") from exc
        config = make_config(meta["config"])
        spec = UNetSpec(**meta["unet"])
        model = make_unet(spec, 0)
        arrays, _ = load_npz(folder / weights)
        assign_model_arrays(model, arrays)
        model.eval()
        return cls(model, config, spec, record, {k: v for k, v in meta.items() if k not in ("config", "unet")})

    def predict(self, image: Any, axes: str | None = None, **kwargs: Any) -> dict[str, np.ndarray]:
        """Tiled prediction; see :func:`fijax.engine.predict.predict`."""
        return predict(self.model, self.config, image, axes=axes, **kwargs)


def load_model(ref: str, version: int | None = None, registry: ModelRegistry | None = None) -> TrainedModel:
    """Load the registered model ``NAME[:VERSION]`` (its weights' sha256 verified first).

    Parameters
    ----------
    ref : str
        ``NAME`` (latest version) or ``NAME:VERSION``.
    version : int, optional
        Version, when ``ref`` does not carry one.
    registry : ModelRegistry, optional
        Defaults to the registry under the fijax home.

    Raises
    ------
    NotFoundError
        Unknown name or version.
    InputError
        Weights missing or failing their sha256 check.
    """
    registry = registry if registry is not None else ModelRegistry()
    record = registry.get(ref, version)
    registry.verify(record)
    return TrainedModel.from_folder(record.path, record=record)
