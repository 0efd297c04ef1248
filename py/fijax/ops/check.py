"""Operations ``check`` (is an image in a model's training domain? no GT needed) and ``models_calibrate``.

``check`` scores an image with the model's encoder against the domain reference stored with the
model (:mod:`fijax.engine.domain`): ``domain_score`` (≈ 1 in domain), ``in_domain`` (score at most
the threshold calibrated on validation data to the stated false-alarm rate). Models registered
before domain references existed get a clear error: retrain or run ``models_calibrate``, which
fits a reference for an existing model from in-domain raw images and adds it to the model folder.

Macro: ``run("FiJAX Check", "model=denoiser")`` (active image; one Results row); CLI:
``fijax check --model NAME IN... --out DIR``, ``fijax predict --check``, ``fijax models calibrate``;
HTTP: ``POST /ops/check``, ``POST /ops/models_calibrate``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pydantic

from fijax.io.image import Image
from fijax.ops import OpContext, OpResult, operation

__all__ = ["CalibrateOptions", "CheckOptions", "check_values", "summary_json"]

#: Columns of ``check.csv`` and of the macro's Results row.
CHECK_COLUMNS = ("image", "model", "domain_score", "in_domain", "threshold", "windows", "windows_out",
                 "false_alarm_rate", "seconds")


class CheckOptions(pydantic.BaseModel):
    """Options of ``check``."""

    model_config = pydantic.ConfigDict(extra="forbid")

    model: str = pydantic.Field(description="NAME[:VERSION] of a registered model (latest by default)")


class CalibrateOptions(pydantic.BaseModel):
    """Options of ``models_calibrate``."""

    model_config = pydantic.ConfigDict(extra="forbid")

    model: str = pydantic.Field(description="NAME[:VERSION] of a registered model")
    data: list[str] = pydantic.Field(min_length=1, description="in-domain raw TIFF files or folders")
    false_alarm_rate: float = pydantic.Field(0.05, gt=0, lt=0.5, description="rate the threshold is set to")
    seed: int = 0

    @pydantic.field_validator("data", mode="before")
    @classmethod
    def _list(cls, v: Any) -> Any:
        return [v] if isinstance(v, str) else v


def check_values(trained: Any, image: Image) -> dict[str, Any]:
    """The domain check of ``image`` with a loaded, registered model (one ``check.csv`` row)."""
    from fijax.engine.domain import check_image, load_reference

    rec = trained.record
    reference = load_reference(rec)
    res = check_image(trained.model, trained.config, reference, image)
    return {"image": image.title, "model": rec.ref, **res.row(),
            "false_alarm_rate": reference.meta["false_alarm_rate"], "seconds": round(res.seconds, 4)}


def summary_json(rows: list[dict[str, Any]], reference_meta: dict[str, Any] | None = None) -> dict[str, Any]:
    """``summary.json`` of a check: ``images`` maps each stem to exactly ``domain_score`` and ``in_domain``."""
    out = [r["image"] for r in rows if not r["in_domain"]]
    model = rows[0]["model"] if rows else None
    summary: dict[str, Any] = {
        "model": model,
        "images": {r["image"]: {"domain_score": float(r["domain_score"]), "in_domain": bool(r["in_domain"])}
                   for r in rows},
        "in_domain_count": len(rows) - len(out), "out_of_domain": out,
        "false_alarm_rate": rows[0]["false_alarm_rate"] if rows else None,
        "verdict": ("all images in the model's training domain" if not out else
                    f"{len(out)} of {len(rows)} image(s) out of the model's training domain: its outputs "
                    "there are not trustworthy without ground truth"),
    }
    if reference_meta:
        summary["method"] = {k: reference_meta.get(k) for k in ("method", "aggregate", "window", "n_reference",
                                                                 "n_calibration", "origin")}
    return summary


@operation("check", CheckOptions, inputs=("image",),
           summary="Domain check without ground truth: is the image like the model's training data?")
def check_op(inputs: Mapping[str, Image], options: CheckOptions, ctx: OpContext) -> OpResult:
    """One table row (``check.csv`` columns); values the same facts."""
    from fijax.engine.model import load_model

    trained = load_model(options.model)
    ctx.check_cancelled()
    row = check_values(trained, inputs["image"])
    return OpResult(table=[row], values=dict(row))


@operation("models_calibrate", CalibrateOptions, long_running=True,
           summary="Add a domain reference to a registered model from in-domain images")
def calibrate_op(inputs: Mapping[str, Image], options: CalibrateOptions, ctx: OpContext) -> OpResult:
    """Fit, save and register ``domain.npz`` for the model; values: the reference summary."""
    import tempfile
    from datetime import UTC, datetime

    from fijax.engine.domain import DOMAIN_FILE, reference_from_images
    from fijax.engine.model import load_model
    from fijax.io import read_tiff
    from fijax.io.hashing import sha256_file
    from fijax.ops.train import collect_tiffs
    from fijax.registry.models import ModelRegistry

    reg = ModelRegistry()
    trained = load_model(options.model, registry=reg)
    rec = trained.record
    files = collect_tiffs(options.data)
    ctx.progress(0.1, f"reading {len(files)} image(s)")
    images = [read_tiff(f) for f in files]
    ctx.check_cancelled()
    ref = reference_from_images(trained.model, trained.config, images, false_alarm_rate=options.false_alarm_rate,
                                seed=options.seed, origin=f"fijax models calibrate on {len(files)} file(s)")
    with tempfile.TemporaryDirectory() as tmp:
        path = ref.save(Path(tmp) / DOMAIN_FILE)
        summary = dict(ref.summary(), calibrated=datetime.now(UTC).isoformat(timespec="seconds"),
                       data={str(f): sha256_file(f) for f in files})
        rec = reg.add_files(rec, {DOMAIN_FILE: path}, {"domain_reference": summary})
    ctx.progress(1.0, "domain reference added")
    return OpResult(values={"model": rec.ref, "threshold": ref.threshold, "false_alarm_rate": options.false_alarm_rate,
                            "n_reference": ref.meta["n_reference"], "n_calibration": ref.meta["n_calibration"],
                            "domain_sha256": rec.card["files"][DOMAIN_FILE]},
                    files={"domain": rec.path / DOMAIN_FILE})
