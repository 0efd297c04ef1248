"""Operation ``predict``: tiled prediction with a registered model (optionally Monte-Carlo dropout)."""

from __future__ import annotations

from collections.abc import Mapping

import pydantic

from fijax.io.image import Image
from fijax.ops import OpContext, OpResult, operation

__all__ = ["PredictOptions", "predict_op"]


class PredictOptions(pydantic.BaseModel):
    """Options of ``predict``."""

    model_config = pydantic.ConfigDict(extra="forbid")

    model: str = pydantic.Field(description="NAME[:VERSION] of a registered model (latest version by default)")
    samples: int = pydantic.Field(0, ge=0, le=1000, description="Monte-Carlo dropout passes (0: deterministic)")
    n_tiles: list[int] | None = pydantic.Field(None, description="tiles per spatial axis (default: automatic)")
    batch_size: int | None = pydantic.Field(None, ge=1, description="tiles per forward pass")
    memory_mb: int = pydantic.Field(4096, ge=16, description="memory budget of one batch of tiles (MiB)")
    seed: int = pydantic.Field(0, ge=0, lt=2**32, description="seed of the dropout masks")
    check: bool = pydantic.Field(False, description="also run the domain check (values domain_score, in_domain)")


@operation("predict", PredictOptions, inputs=("image",), summary="Restore an image with a registered model")
def predict_op(inputs: Mapping[str, Image], options: PredictOptions, ctx: OpContext) -> OpResult:
    """Predict; images: ``prediction`` (+ ``std`` with samples, ``scale`` for Laplace models)."""
    from fijax.engine.model import load_model
    from fijax.engine.predict import output_axes

    image = inputs["image"]
    trained = load_model(options.model)
    ctx.check_cancelled()
    checked = {}
    if options.check:  # GT-free: is the image like the training data? (about half a prediction)
        from fijax.ops.check import check_values

        row = check_values(trained, image)  # before predicting: no reference fails fast
        checked = {"domain_score": row["domain_score"], "in_domain": row["in_domain"],
                   "domain_threshold": row["threshold"], "domain_windows": row["windows"]}
    if getattr(trained.task, "predict_operation", None) == "segment":  # labels + probabilities + object table
        from fijax.ops.segment import segment_result

        res = segment_result(trained, image, samples=options.samples, seed=options.seed,
                             n_tiles=tuple(options.n_tiles) if options.n_tiles else None,
                             batch_size=options.batch_size, budget=options.memory_mb << 20, ctx=ctx)
        res.values.update(checked)
        return res
    outs = trained.predict(image, n_tiles=tuple(options.n_tiles) if options.n_tiles else None,
                           budget=options.memory_mb << 20, batch_size=options.batch_size,
                           samples=options.samples, seed=options.seed, progress=ctx.progress,
                           check_cancelled=ctx.check_cancelled)
    rec = trained.record
    images = {}
    for name, arr in outs.items():
        title = f"{image.title}-{rec.name}" if name == "prediction" else f"{image.title}-{rec.name}-{name}"
        images[name] = Image(arr, axes=output_axes(image.axes, arr), title=title, pixel_size=image.pixel_size,
                             unit=image.unit, metadata={"model": rec.ref, "output": name})
    return OpResult(images=images, values={"model": rec.ref, "weights_sha256": rec.weights_sha256,
                                           "samples": options.samples, "outputs": sorted(outs), **checked})
