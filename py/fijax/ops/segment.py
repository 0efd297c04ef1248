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
    seed: int = pydantic.Field(0, ge=0, lt=2**32, description="seed of the dropout masks")
    prob_thresh: float | None = pydantic.Field(None, ge=0, lt=1, description="interior probability of seeds "
                                               "(default: tuned with the model)")
    fg_thresh: float | None = pydantic.Field(None, ge=0, lt=1, description="foreground probability of object "
                                             "pixels (default: tuned with the model)")
    min_size: int | None = pydantic.Field(None, ge=0, description="smallest object in pixels (default: tuned)")
    n_tiles: int | None = pydantic.Field(None, ge=1, description="tiles per spatial axis (default: by memory)")
    probabilities: bool = pydantic.Field(True, description="also return the class probability maps")


def segment_result(trained, image: Image, *, params=None, samples: int = 0, seed: int = 0,
                   n_tiles: int | tuple[int, ...] | None = None, batch_size: int | None = None,
                   budget: int | None = None, probabilities: bool = True,
                   ctx: OpContext | None = None) -> OpResult:
    """Segment ``image`` with a loaded ``seg`` model into an :class:`OpResult` (shared by ``predict``).

    Images: ``labels`` (int32, the input's calibration) and, with ``probabilities``, the class
    maps along C (background, interior, boundary); table: one row per object; values: model,
    object count, thresholds used.
    """
    from fijax.engine.segmentation import model_params, segment

    ctx = ctx or OpContext()
    if trained.config.task != "seg":
        raise InputError(f"model is a {trained.config.task!r} model, not a segmentation ('seg') model; use predict")
    params = params or model_params(trained)
    res = segment(trained, image, params=params, samples=samples, seed=seed, n_tiles=n_tiles,
                  batch_size=batch_size, budget=budget, progress=ctx.progress, check_cancelled=ctx.check_cancelled)
    rec = trained.record
    ref = rec.ref if rec is not None else "unregistered"
    meta = {"model": ref}
    images = {"labels": Image(res.labels, res.labels_axes, f"{image.title}-labels", image.pixel_size, image.unit,
                              metadata=dict(meta, output="labels"))}
    if probabilities:
        images["probabilities"] = Image(res.probabilities, res.probabilities_axes, f"{image.title}-probabilities",
                                        image.pixel_size, image.unit,
                                        metadata=dict(meta, output="probabilities",
                                                      channels=["background", "interior", "boundary"]))
    values = {"model": ref, "objects": len(res.table), "samples": samples, **params.to_dict()}
    if rec is not None:
        values["weights_sha256"] = rec.weights_sha256
    return OpResult(images=images, table=res.table, values=values)


@operation("segment", SegmentOptions, inputs=("image",), long_running=True,
           summary="instance segmentation (3-class U-Net + watershed): labels, probabilities, object table")
def segment_op(inputs: Mapping[str, Image], options: SegmentOptions, ctx: OpContext) -> OpResult:
    """Segment ``image`` with the model ``options.model``; one table row per object."""
    from fijax.engine.model import load_model
    from fijax.engine.segmentation import model_params
    from fijax.engine.watershed import SegParams

    trained = load_model(options.model)
    if trained.config.task != "seg":
        raise InputError(f"model {options.model!r} is a {trained.config.task!r} model, not a segmentation "
                         "('seg') model; use predict")
    tuned = model_params(trained)
    params = SegParams(options.prob_thresh if options.prob_thresh is not None else tuned.prob_thresh,
                       options.fg_thresh if options.fg_thresh is not None else tuned.fg_thresh,
                       options.min_size if options.min_size is not None else tuned.min_size)
    return segment_result(trained, inputs["image"], params=params, samples=options.samples, seed=options.seed,
                          n_tiles=options.n_tiles, probabilities=options.probabilities, ctx=ctx)
