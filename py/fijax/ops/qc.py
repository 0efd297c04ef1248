"""Operations ``qc``, ``qc_labels`` and ``qc_dataset``: quality control against ground truth.

* ``qc`` (images ``gt``, ``prediction``, optional ``source`` and ``baseline``, or the option
  ``baseline=puredenoise``): the Results table gets one row per comparison and slice
  (``prediction vs GT``, ``source vs GT``, ``baseline vs GT``, with whole-image and structure
  metrics), the SSIM and RSE maps come back as images, and ``values`` hold the image means in
  ``metrics.csv`` column names (``pred_ssim``, ``baseline_fg_ssim`` ...) plus ``verdict`` — so a
  macro ``call()`` can pick a single metric.
* ``qc_labels`` (images ``gt``, ``prediction``): StarDist matching over a threshold sweep; one
  Results row per threshold; ``values`` hold the numbers at 0.5 (or the first threshold).
* ``qc_dataset`` (paths, no images): the dataset QC the CLI runs (:func:`fijax.qc.qc_dataset` or,
  with ``labels``, :func:`fijax.qc.qc_labels_dataset`), writing into ``ctx.out_dir``.

With ``ctx.out_dir`` set, ``qc`` and ``qc_labels`` also write the dataset outputs (CSV, maps,
panel, summary) there.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pydantic

from fijax.errors import InputError
from fijax.io.image import Image
from fijax.ops import OpContext, OpResult, get, operation
from fijax.qc.baseline import BASELINE_VERDICT_RULE
from fijax.qc.dataset import (
    ALL_METRICS,
    DEFAULT_LABEL_THRESHOLDS,
    VERDICT_RULE,
    qc_dataset,
    qc_labels_dataset,
)

__all__ = ["QCDatasetOptions", "QCLabelsOptions", "QCOptions", "run_qc_dataset"]


class QCOptions(pydantic.BaseModel):
    """Options of ``qc`` (macro: ``run("FiJAX QC", "ground=[GT] prediction=[pred] source=[raw]")``)."""

    model_config = pydantic.ConfigDict(extra="forbid")

    normalize: bool = pydantic.Field(True, description="ZeroCostDL4Mic norm_minmse per slice, data_range=1")
    data_range: float | None = pydantic.Field(None, gt=0, description="intensity span (only with normalize=false)")
    maps: bool = pydantic.Field(True, description="return the SSIM and RSE maps as images")
    baseline: str | None = pydantic.Field(
        None, description="'puredenoise': compute the baseline from the source (or give a baseline image input)")


class QCLabelsOptions(pydantic.BaseModel):
    """Options of ``qc_labels``."""

    model_config = pydantic.ConfigDict(extra="forbid")

    thresholds: list[float] = pydantic.Field(default_factory=lambda: list(DEFAULT_LABEL_THRESHOLDS),
                                             min_length=1, description="matching thresholds (score >= t)")
    criterion: Literal["iou", "iot", "iop"] = "iou"

    @pydantic.field_validator("thresholds", mode="before")
    @classmethod
    def _split(cls, v: Any) -> Any:
        # Macro options arrive as text: "0.5" or "0.5,0.75,0.9" or "0.5 0.75".
        if isinstance(v, str):
            return [x for x in v.replace(",", " ").split() if x]
        if isinstance(v, int | float):
            return [v]
        return v


class QCDatasetOptions(pydantic.BaseModel):
    """Options of ``qc_dataset`` (paths: a TIFF file or a folder of TIFFs paired by file name)."""

    model_config = pydantic.ConfigDict(extra="forbid")

    gt: str = pydantic.Field(description="ground-truth TIFF file or folder")
    prediction: str = pydantic.Field(description="prediction TIFF file or folder")
    source: str | None = pydantic.Field(None, description="source (raw input) TIFF file or folder")
    baseline: str | None = pydantic.Field(
        None, description="another method's outputs (TIFF file or folder) or 'puredenoise' (computed from the source)")
    labels: bool = pydantic.Field(False, description="label images: instance matching instead of restoration QC")
    normalize: bool = True
    data_range: float | None = pydantic.Field(None, gt=0)
    thresholds: list[float] = pydantic.Field(default_factory=lambda: list(DEFAULT_LABEL_THRESHOLDS), min_length=1)
    criterion: Literal["iou", "iot", "iop"] = "iou"
    maps: bool = True
    panels: bool = True


def _long_rows(rows: list[dict[str, Any]], has_source: bool, has_baseline: bool = False) -> list[dict[str, Any]]:
    """metrics.csv rows -> one row per comparison (the Results-table layout)."""
    out = []
    for r in rows:
        for who, label in (("pred", "prediction vs GT"), ("source", "source vs GT"), ("baseline", "baseline vs GT")):
            if (who == "source" and not has_source) or (who == "baseline" and not has_baseline):
                continue
            out.append({"file": r["file"], "slice": r["slice"], "comparison": label,
                        **{m: r[f"{who}_{m}"] for m in ALL_METRICS},
                        # the verdict judges the prediction: the reference rows carry none (cell left empty)
                        "verdict": r["verdict"] if who == "pred" else ""})
    return out


def baseline_spec(word: str | None, image: Image | None, name: str) -> Any:
    """The ``baseline`` argument of :func:`fijax.qc.qc_dataset` from an option word and/or an image input."""
    if word is not None and image is not None:
        raise InputError("give the baseline either as an image or as baseline=puredenoise, not both")
    if image is not None:
        return {name: image}
    if word is None:
        return None
    if word.strip().lower() != "puredenoise":
        raise InputError(f"baseline: unknown method {word!r}; give 'puredenoise' or a baseline image")
    return "puredenoise"


@operation("qc", QCOptions, inputs=("gt", "prediction"), optional_inputs=("source", "baseline"),
           summary="QC of a prediction (with the source and a baseline method) against ground truth: SSIM, PSNR, "
                   "RMSE on the image and the structure, maps, verdict")
def qc_op(inputs: Mapping[str, Image], options: QCOptions, ctx: OpContext) -> OpResult:
    """Restoration QC of one image (2D, stack or 3D, per slice) with SSIM/RSE maps and a verdict."""
    gt, pred, src = inputs["gt"], inputs["prediction"], inputs.get("source")
    name = gt.title or "image"
    if options.data_range is not None and options.normalize:
        raise InputError("data_range applies only with normalize=false")
    base = baseline_spec(options.baseline, inputs.get("baseline"), name)
    res = qc_dataset({name: gt}, {name: pred}, {name: src} if src is not None else None, ctx.out_dir,
                     baseline=base, normalize=options.normalize, data_range=options.data_range,
                     keep_maps=options.maps, progress=ctx.progress, is_cancelled=ctx.is_cancelled)
    images = {}
    for key, arr in res.maps.items():
        images[key] = gt.with_data(np.asarray(arr, dtype=np.float32), title=key)
    image_row = res.images[0]
    values = {k: v for k, v in image_row.items() if k not in ("file",)}
    values["verdict_rule"] = BASELINE_VERDICT_RULE if base is not None else VERDICT_RULE
    values["normalize"] = options.normalize
    if base is not None:
        values["baseline"] = res.summary["baseline"]["kind"]
    return OpResult(images=images, table=_long_rows(res.rows, src is not None, base is not None), values=values,
                    files=dict(res.files))


@operation("qc_labels", QCLabelsOptions, inputs=("gt", "prediction"),
           summary="Instance-segmentation QC (StarDist matching) over IoU thresholds")
def qc_labels_op(inputs: Mapping[str, Image], options: QCLabelsOptions, ctx: OpContext) -> OpResult:
    """Match a predicted label image to the ground truth at each threshold."""
    gt, pred = inputs["gt"], inputs["prediction"]
    name = gt.title or "labels"
    res = qc_labels_dataset({name: gt}, {name: pred}, ctx.out_dir, thresholds=options.thresholds,
                            criterion=options.criterion, plot=ctx.out_dir is not None,
                            progress=ctx.progress, is_cancelled=ctx.is_cancelled)
    pick = next((r for r in res.rows if abs(r["thresh"] - 0.5) < 1e-12), res.rows[0])
    values = {k: v for k, v in pick.items() if k != "file"}
    return OpResult(table=res.rows, values=values, files=dict(res.files))


@operation("qc_dataset", QCDatasetOptions, summary="QC of a dataset of TIFF files (CSV, maps, panels, verdicts)",
           long_running=True)
def qc_dataset_op(inputs: Mapping[str, Image], options: QCDatasetOptions, ctx: OpContext) -> OpResult:
    """Run dataset QC on files or folders; writes into ``ctx.out_dir`` when set."""
    return run_qc_dataset(options, ctx)


def run_qc_dataset(options: QCDatasetOptions | Mapping[str, Any], ctx: OpContext | None = None) -> OpResult:
    """Dataset QC (restoration or labels) as an :class:`OpResult`; the CLI's entry point.

    ``table`` holds the ``metrics.csv`` (or ``matching.csv``) rows, ``values`` the summary
    (``verdict``, means, counts), ``files`` what was written under ``ctx.out_dir``.
    """
    options = get("qc_dataset").parse_options(options)
    ctx = ctx or OpContext()
    if options.labels:
        if options.source is not None:
            raise InputError("--source does not apply to label QC (--labels)")
        if options.baseline is not None:
            raise InputError("--baseline does not apply to label QC (--labels)")
        res = qc_labels_dataset(Path(options.gt), Path(options.prediction), ctx.out_dir,
                                thresholds=options.thresholds, criterion=options.criterion,
                                plot=options.panels, progress=ctx.progress, is_cancelled=ctx.is_cancelled)
        values = {"kind": "labels", "at_0.5": res.summary.get("at_0.5"), "n_images": len({r["file"] for r in res.rows}),
                  "ignored": res.summary.get("ignored", {})}
        return OpResult(table=res.rows, values=values, files=dict(res.files))
    if options.data_range is not None and options.normalize:
        raise InputError("data_range applies only without normalisation (--no-normalize)")
    res = qc_dataset(Path(options.gt), Path(options.prediction),
                     Path(options.source) if options.source else None, ctx.out_dir,
                     baseline=options.baseline, normalize=options.normalize, data_range=options.data_range,
                     maps=options.maps,
                     panels=options.panels, progress=ctx.progress, is_cancelled=ctx.is_cancelled)
    values = {k: res.summary[k] for k in ("verdict", "verdict_rule", "n_images", "n_slices", "n_images_improved",
                                          "n_images_better_than_baseline", "n_images_by_verdict", "images",
                                          "baseline", "means", "ignored")}
    return OpResult(table=res.rows, values=values, files=dict(res.files))
