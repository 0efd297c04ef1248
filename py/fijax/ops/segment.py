"""Operation ``segment``: instance segmentation with a trained ``seg`` model (labels + object table).

Training goes through the engine's training loop with ``task="seg"`` (labels as the targets);
see :mod:`fijax.engine.segmentation` and ``docs/segmentation.md``.
"""

from __future__ import annotations

from collections.abc import Mapping

import pydantic

from fijax.errors import InputError
from fijax.io.image import Image
from fijax.ops import OpContext, OpResult, operation


class SegmentOptions(pydantic.BaseModel):
    """Options of ``segment`` (macro: ``run("FiJAX Segment", "model=nuclei samples=20")``)."""

    model_config = pydantic.ConfigDict(extra="forbid")

    model: str = pydantic.Field(description="registered segmentation model, NAME[:VERSION]")
    samples: int = pydantic.Field(0, ge=0, le=1000, description="Monte-Carlo dropout passes for per-object "
                                  "confidence spread (0: deterministic confidence only)")
    seed: int = pydantic.Field(0, description="seed of the dropout masks")
    prob_thresh: float | None = pydantic.Field(None, ge=0, lt=1, description="interior probability of seeds "
                                               "(default: tuned with the model)")
    fg_thresh: float | None = pydantic.Field(None, ge=0, lt=1, description="foreground probability of object "
                                             "pixels (default: tuned with the model)")
    min_size: int | None = pydantic.Field(None, ge=0, description="smallest object in pixels (default: tuned)")
    n_tiles: int | None = pydantic.Field(None, ge=1, description="tiles per spatial axis (default: by memory)")
    probabilities: bool = pydantic.Field(True, description="also return the class probability maps")


@operation("segment", SegmentOptions, inputs=("image",), long_running=True,
           summary="instance segmentation (3-class U-Net + watershed): labels, probabilities, object table")
def segment_op(inputs: Mapping[str, Image], options: SegmentOptions, ctx: OpContext) -> OpResult:
    """Segment ``image`` with the model ``options.model``; one table row per object."""
    from fijax.engine.segmentation import model_params, segment
    from fijax.engine.watershed import SegParams
    from fijax.registry.models import ModelRegistry

    image = inputs["image"]
    trained = ModelRegistry().load(options.model)
    if trained.config.task != "seg":
        raise InputError(f"model {options.model!r} is a {trained.config.task!r} model, not a segmentation "
                         "('seg') model; use predict")
    tuned = model_params(trained)
    params = SegParams(options.prob_thresh if options.prob_thresh is not None else tuned.prob_thresh,
                       options.fg_thresh if options.fg_thresh is not None else tuned.fg_thresh,
                       options.min_size if options.min_size is not None else tuned.min_size)
    res = segment(trained, image, params=params, samples=options.samples, seed=options.seed,
                  n_tiles=options.n_tiles, progress=ctx.progress, check_cancelled=ctx.check_cancelled)
    images = {"labels": Image(res.labels, res.labels_axes, f"{image.title}-labels", image.pixel_size, image.unit)}
    if options.probabilities:
        images["probabilities"] = Image(res.probabilities, res.probabilities_axes, f"{image.title}-probabilities",
                                        image.pixel_size, image.unit,
                                        metadata={"channels": ["background", "interior", "boundary"]})
    record = trained.record
    values = {"model": record.ref if record is not None else options.model, "objects": len(res.table),
              "samples": options.samples, **{k: v for k, v in params.to_dict().items()}}
    return OpResult(images=images, table=res.table, values=values)
