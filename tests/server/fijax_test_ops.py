"""Small real operations registered only for the server tests (imported by the server and its workers
through ``FIJAX_EXTRA_OPS``); the package itself never registers them.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping

import numpy as np
import pydantic
from scipy import ndimage

from fijax.errors import InputError
from fijax.io import Image, atomic_write_text
from fijax.ops import OpContext, OpResult, operation


class BlurOptions(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="forbid")
    sigma: float = pydantic.Field(1.0, gt=0, le=50)


@operation("test_blur", BlurOptions, inputs=("image",), summary="Gaussian blur (test operation)")
def test_blur(inputs: Mapping[str, Image], options: BlurOptions, ctx: OpContext) -> OpResult:
    image = inputs["image"]
    if image.data.ndim != 2:
        raise InputError(f"test_blur needs a 2-D image, got shape {image.shape}")
    out = ndimage.gaussian_filter(image.data.astype(np.float32), options.sigma)
    ctx.progress(0.5, "blurred")
    files = {}
    if ctx.out_dir is not None:  # artifacts only when the caller wants them
        files["stats"] = ctx.out_dir / "stats.csv"
        atomic_write_text(files["stats"], f"mean,max\n{out.mean()},{out.max()}\n")
    return OpResult(images={"blurred": image.with_data(out, title="blurred")},
                    table=[{"mean": float(out.mean()), "max": float(out.max())}],
                    values={"sigma": options.sigma, "input_shape": list(image.shape)}, files=files)


class PairOptions(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="forbid")


@operation("test_pair_mse", PairOptions, inputs=("prediction", "target"), summary="MSE of a pair (test operation)")
def test_pair_mse(inputs: Mapping[str, Image], options: PairOptions, ctx: OpContext) -> OpResult:
    a, b = inputs["prediction"].data, inputs["target"].data
    if a.shape != b.shape:
        raise InputError(f"prediction {a.shape} and target {b.shape} differ in shape")
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return OpResult(table=[{"mse": mse}], values={"mse": mse})


class SleepOptions(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="forbid")
    seconds: float = pydantic.Field(1.0, ge=0, le=600)
    ignore_cancel: bool = False


@operation("test_sleep", SleepOptions, summary="Sleep with progress (test operation)")
def test_sleep(inputs: Mapping[str, Image], options: SleepOptions, ctx: OpContext) -> OpResult:
    t0 = time.monotonic()
    while (elapsed := time.monotonic() - t0) < options.seconds:
        if not options.ignore_cancel:
            ctx.check_cancelled()
        ctx.progress(elapsed / max(options.seconds, 1e-9), f"{elapsed:.1f} s")
        time.sleep(0.02)
    return OpResult(values={"slept": options.seconds})


class TrainOptions(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="forbid")
    steps: int = pydantic.Field(10, ge=1, le=10000)
    step_seconds: float = pydantic.Field(0.1, ge=0, le=10)
    resume: bool = False


@operation("test_train", TrainOptions, long_running=True, summary="Checkpointed fake training (test operation)")
def test_train(inputs: Mapping[str, Image], options: TrainOptions, ctx: OpContext) -> OpResult:
    """Counts steps, writing a checkpoint after each one; resumes from the checkpoint in ``out_dir``."""
    ckpt = ctx.out_dir / "checkpoint.json"
    start = json.loads(ckpt.read_text())["step"] if ckpt.is_file() and options.resume else 0
    for step in range(start, options.steps):
        ctx.check_cancelled()
        time.sleep(options.step_seconds)
        atomic_write_text(ckpt, json.dumps({"step": step + 1}))
        ctx.progress((step + 1) / options.steps, f"step {step + 1}/{options.steps}")
    return OpResult(values={"resumed_from": start, "steps": options.steps, "resume": options.resume},
                    files={"checkpoint": ckpt})
