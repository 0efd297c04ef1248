"""Operation ``gaussian``: ImageJ-compatible Gaussian blur in JAX (see :mod:`fijax.classical.filters`)."""

from __future__ import annotations

import pydantic

from fijax.classical.filters import gaussian_blur
from fijax.errors import InputError
from fijax.ops import OpResult, operation


class GaussianOptions(pydantic.BaseModel):
    """Options of ``gaussian`` (macro: ``run("FiJAX Gaussian", "sigma=2")``)."""

    model_config = pydantic.ConfigDict(extra="forbid")

    sigma: float = pydantic.Field(gt=0, description="standard deviation (pixels, or calibrated units with scaled)")
    sigma_y: float | None = pydantic.Field(default=None, gt=0, description="Y sigma when different from X")
    scaled: bool = pydantic.Field(default=False, description="sigma is in calibrated units (ImageJ's 'scaled')")
    accuracy: float | None = pydantic.Field(default=None, gt=0, lt=1, description="kernel accuracy (ImageJ's default)")


@operation("gaussian", GaussianOptions, inputs=("image",), summary="Gaussian blur matching ImageJ's Gaussian Blur...")
def gaussian(inputs, options: GaussianOptions, ctx) -> OpResult:
    """Gaussian blur of every XY plane, matching ImageJ's ``Gaussian Blur...``."""
    image = inputs["image"]
    if "Y" not in image.axes or "X" not in image.axes:
        raise InputError(f"gaussian needs Y and X axes, image has {image.axes!r}")
    sx = options.sigma
    sy = options.sigma_y if options.sigma_y is not None else options.sigma
    if options.scaled and image.pixel_size is not None:
        _, py, px = image.pixel_size
        sx, sy = sx / px, sy / py
    data = image.data
    # Move Y, X last (they are already last for canonical axes; this keeps other layouts right).
    order = [i for i, a in enumerate(image.axes) if a not in "YX"] + [image.axes.index("Y"), image.axes.index("X")]
    moved = data.transpose(order)
    ctx.check_cancelled()
    out = gaussian_blur(moved, (sy, sx), options.accuracy)
    inverse = [order.index(i) for i in range(len(order))]
    out = out.transpose(inverse)
    return OpResult(images={"blurred": image.with_data(out, title=f"{image.title}-blurred")})
