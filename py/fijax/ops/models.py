"""Operations ``models`` (list registered models) and ``model_show`` (one model card)."""

from __future__ import annotations

from collections.abc import Mapping

import pydantic

from fijax.io.image import Image
from fijax.ops import OpContext, OpResult, operation

__all__ = ["ModelShowOptions", "ModelsOptions", "model_show_op", "models_op"]


class ModelsOptions(pydantic.BaseModel):
    """Options of ``models``."""

    model_config = pydantic.ConfigDict(extra="forbid")

    name: str | None = pydantic.Field(None, description="only the versions of this model")


class ModelShowOptions(pydantic.BaseModel):
    """Options of ``model_show``."""

    model_config = pydantic.ConfigDict(extra="forbid")

    model: str = pydantic.Field(description="NAME[:VERSION] (latest by default)")
    verify: bool = pydantic.Field(True, description="check the weights' sha256")


@operation("models", ModelsOptions, summary="List registered models")
def models_op(inputs: Mapping[str, Image], options: ModelsOptions, ctx: OpContext) -> OpResult:
    """One table row per model version (name, version, task, created, val_loss, epochs, parent, path)."""
    from fijax.registry.models import ModelRegistry, check_name

    if options.name is not None:
        check_name(options.name)
    rows = [r.summary() for r in ModelRegistry().list(options.name)]
    return OpResult(table=rows, values={"count": len(rows)})


@operation("model_show", ModelShowOptions, summary="Show a registered model's card")
def model_show_op(inputs: Mapping[str, Image], options: ModelShowOptions, ctx: OpContext) -> OpResult:
    """The model card as values (``verified`` tells whether the weights passed their sha256 check)."""
    from fijax.registry.models import ModelRegistry

    reg = ModelRegistry()
    rec = reg.get(options.model)
    if options.verify:
        reg.verify(rec)
    return OpResult(values=dict(rec.card, verified=options.verify),
                    files={"log": rec.path / "log.csv", "card": rec.path / "card.json"})
