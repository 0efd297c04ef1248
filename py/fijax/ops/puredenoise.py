"""Operation ``puredenoise``: PURE-LET denoising of mixed Poisson-Gaussian images (PureDenoise baseline).

Also holds :func:`parse_macro_options`, which maps the PureDenoise plugin's macro options
(``parameters='3 4' estimation=[Auto Global]``, ``estimation='Manual 1.0 0.0 1.0'``) onto
:class:`PureDenoiseOptions`, so existing macros port by renaming the command.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Literal

import numpy as np
import pydantic

from fijax.classical.puredenoise import puredenoise as _puredenoise
from fijax.errors import InputError
from fijax.io.image import Image
from fijax.ops import OpContext, OpResult, operation


class PureDenoiseOptions(pydantic.BaseModel):
    """Options of ``puredenoise`` (see :func:`fijax.classical.puredenoise`)."""

    model_config = pydantic.ConfigDict(extra="forbid")

    cycle_spins: int = pydantic.Field(4, ge=1, le=10, description="cycle spins, 1 (fast) to 10 (HQ)")
    frames: int = pydantic.Field(1, ge=1, le=11, description="odd multi-frame window along T/Z, 1 to 11")
    alpha: float | None = pydantic.Field(None, gt=0, description="detector gain; estimated when omitted")
    delta: float | None = pydantic.Field(None, description="detector offset; estimated when omitted")
    sigma: float | None = pydantic.Field(None, ge=0, description="Gaussian noise std; estimated when omitted")
    estimation: Literal["global", "individual"] = "global"
    seed: int = pydantic.Field(0, ge=0, lt=2**32, description="random seed (0 to 2^32-1)")
    plugin_compat: bool = False

    @pydantic.field_validator("frames")
    @classmethod
    def _odd(cls, v: int) -> int:
        if v % 2 == 0:
            raise ValueError(f"frames must be odd, got {v}")
        return v


def _frames_of(image: Image) -> list[tuple[tuple, np.ndarray]]:
    """Split an image into independent channel stacks ``(index, (frames, Y, X))``."""
    data = image.data
    if "Y" not in image.axes or "X" not in image.axes:
        raise InputError(f"puredenoise needs Y and X axes, got axes {image.axes!r}")
    if image.axes[-2:] != "YX":
        raise InputError(f"puredenoise expects Y and X as the last axes, got {image.axes!r}")
    if "C" not in image.axes:
        return [((...,), data.reshape((-1,) + data.shape[-2:]))]
    ci = image.axes.index("C")
    out = []
    for c in range(data.shape[ci]):
        sub = np.take(data, c, axis=ci)
        index = tuple([slice(None)] * ci + [c])
        out.append((index, sub.reshape((-1,) + sub.shape[-2:])))
    return out


@operation("puredenoise", PureDenoiseOptions, inputs=("image",),
           summary="PURE-LET denoising of Poisson-Gaussian images (PureDenoise baseline)")
def puredenoise_op(inputs: Mapping[str, Image], options: PureDenoiseOptions, ctx: OpContext) -> OpResult:
    """Denoise ``image``; channels separately, frames (T and Z flattened) jointly in the window."""
    image = inputs["image"]
    out = np.empty(image.shape, dtype=np.float32)
    rows = []
    warned: list[str] = []
    parts = _frames_of(image)
    for i, (index, stack) in enumerate(parts):

        def on_frame(z: int, nz: int, i: int = i) -> None:
            ctx.check_cancelled()
            ctx.progress((i + z / nz) / len(parts), f"channel {i + 1}/{len(parts)}, frame {z + 1}/{nz}")

        res, params = _puredenoise(stack, cycle_spins=options.cycle_spins, frames=options.frames,
                                   alpha=options.alpha, delta=options.delta, sigma=options.sigma,
                                   estimation=options.estimation, seed=options.seed,
                                   plugin_compat=options.plugin_compat, return_params=True, on_frame=on_frame)
        target_shape = out[index].shape
        out[index] = res.reshape(target_shape)
        for z, (a, d, s) in enumerate(zip(params["alpha"], params["delta"], params["sigma"], strict=True)):
            rows.append({"channel": i, "frame": z, "alpha": a, "delta": d, "sigma": s,
                         "noise_plausible": params["plausible"]})
        warned.extend(params["warnings"])
    ctx.progress(1.0, "done")
    result = image.with_data(out, title=f"Denoised-{image.title}")
    values = {"cycle_spins": options.cycle_spins, "frames": options.frames, "seed": options.seed,
              "estimation": "manual" if None not in (options.alpha, options.delta, options.sigma)
              else options.estimation}
    if values["estimation"] != "manual":
        # an implausible automatic estimate makes a poor baseline: say so with the result
        values["noise_plausible"] = not warned
        if warned:
            values["noise_warnings"] = " | ".join(dict.fromkeys(warned))
    return OpResult(images={result.title: result}, table=rows, values=values)


_TOKEN = re.compile(r"([A-Za-z_][\w.]*)(?:=(\[[^\]]*\]|'[^']*'|\"[^\"]*\"|\S+))?")


def _macro_pairs(text: str) -> dict[str, str]:
    """Split an ImageJ macro option string into ``{key: value}`` (brackets/quotes removed; bare keys -> '')."""
    pairs = {}
    for key, value in _TOKEN.findall(text or ""):
        if value[:1] in "['\"" and len(value) >= 2:
            value = value[1:-1]
        pairs[key.lower()] = value.strip()
    return pairs


def _number(value: str, name: str) -> float:
    try:
        return float(value)
    except ValueError:
        raise InputError(f"PureDenoise macro option {name}: not a number: {value!r}") from None


def parse_macro_options(text: str, ignore: tuple[str, ...] = ("image", "output")) -> dict:
    """Map the PureDenoise plugin's macro options onto ``puredenoise`` options.

    Accepted (plugin syntax, square brackets or quotes): ``parameters='NF CS'`` (frames, cycle
    spins; default ``'3 4'``), ``estimation='Auto Global'`` (default), ``'Auto Individual'``,
    ``'Manual a d s'`` (gain, offset, sigma), or ``estimation=[Manual]`` with separate
    ``gain=`` (or ``alpha=``), ``offset=`` (``delta=``) and ``sigma=`` keys; plus fijax's
    ``seed=`` and the bare flag ``plugin_compat``. As in the plugin, CS is clamped to 1-10 and
    NF to 1-11, an even NF acts as NF - 1, and a window longer than the stack uses all frames.

    ``ignore`` lists keys handled by the caller (the input image and the output title).

    Returns
    -------
    dict
        Raw options for :class:`PureDenoiseOptions`.

    Raises
    ------
    InputError
        For unknown keys, malformed numbers or an unknown estimation mode.
    """
    pairs = {k: v for k, v in _macro_pairs(text).items() if k not in ignore}
    known = {"parameters", "estimation", "gain", "alpha", "offset", "delta", "sigma", "seed", "plugin_compat"}
    unknown = sorted(set(pairs) - known)
    if unknown:
        raise InputError(f"PureDenoise: unknown macro option(s): {', '.join(unknown)}")
    fields = (pairs.get("parameters") or "3 4").split()
    if len(fields) != 2:
        raise InputError(f"PureDenoise: parameters must be 'NF CS' (frames, cycle spins), got {pairs['parameters']!r}")
    nf = int(round(_number(fields[0], "parameters (NF)")))
    cs = int(round(_number(fields[1], "parameters (CS)")))
    nf = min(max(nf, 1), 11)
    if nf % 2 == 0:
        nf -= 1
    opts: dict = {"frames": nf, "cycle_spins": min(max(cs, 1), 10)}
    words = (pairs.get("estimation") or "Auto Global").split()
    mode = " ".join(words[:2]).lower()
    if mode in ("auto global", "auto", "global"):
        opts["estimation"] = "global"
    elif mode in ("auto individual", "individual"):
        opts["estimation"] = "individual"
    elif words and words[0].lower() == "manual":
        nums = words[1:]
        if nums and len(nums) != 3:
            raise InputError(f"PureDenoise: estimation='Manual a d s' needs 3 numbers, got {' '.join(nums)!r}")
        gain = nums[0] if nums else pairs.get("gain", pairs.get("alpha", "1.0"))
        offset = nums[1] if nums else pairs.get("offset", pairs.get("delta", "0.0"))
        sig = nums[2] if nums else pairs.get("sigma", "0.0")
        opts.update(alpha=_number(gain, "gain"), delta=_number(offset, "offset"), sigma=_number(sig, "sigma"))
    else:
        raise InputError(f"PureDenoise: estimation must be 'Auto Global', 'Auto Individual' or 'Manual', "
                         f"got {pairs.get('estimation')!r}")
    if "seed" in pairs:
        opts["seed"] = int(_number(pairs["seed"], "seed"))
    if "plugin_compat" in pairs:
        opts["plugin_compat"] = pairs["plugin_compat"].lower() not in ("false", "0", "no")
    return opts
