"""QC of whole datasets: pairing files, metrics tables, TIFF maps, PNG panels, verdicts, comparisons.

Outputs of :func:`qc_dataset` in ``out_dir`` (all written atomically)
--------------------------------------------------------------------
``metrics.csv``
    One row per image (2D) or per 2D slice (stacks, 3D; leading axes flattened), columns
    :data:`METRIC_COLUMNS`: ``file, slice, verdict``, then for ``pred`` (prediction vs GT) and
    ``source`` (source vs GT) each of ``ssim, psnr, rmse, nrmse, sqrt_mae``, then
    ``ssim_gain = pred_ssim - source_ssim`` and ``psnr_gain``. ``sqrt_mae`` is
    ZeroCostDL4Mic's "NRMSE" (sqrt of the mean absolute error); ``nrmse`` is scikit-image's
    euclidean NRMSE. Source columns are empty without a source.
``images.csv``
    One row per file: ``file, n_slices, verdict`` and the slice means of every metric column.
``summary.json``
    Dataset means, the dataset verdict, :data:`VERDICT_RULE`, the options (normalisation, data
    range, SSIM settings), input file names with sha256, library versions and the UTC date.
``maps/``
    ``SSIM_GTvsPrediction_<name>.tif``, ``RSE_GTvsPrediction_<name>.tif`` and, with a source,
    ``SSIM_GTvsSource_<name>.tif``, ``RSE_GTvsSource_<name>.tif``: float32, same axes as the input
    (ZeroCostDL4Mic's names).
``panels/<name>.png``
    GT, source, prediction; SSIM maps; RSE maps, with colour bars (middle slice of a stack).

Metrics follow ZeroCostDL4Mic by default (``normalize=True``): each (GT, image) slice pair is
normalised with :func:`fijax.qc.norm_minmse` and measured with ``data_range=1``; SSIM uses the
Wang et al. settings. ``normalize=False`` measures raw pixels with ``data_range``.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from fijax.errors import CancelledError, InputError
from fijax.io import Image, atomic_write_bytes, atomic_write_text, read_tiff, write_tiff
from fijax.io.datasets import pair_by_name, tiffs_by_name
from fijax.io.hashing import pixels_sha256, sha256_file
from fijax.io.table import csv_text, jsonable
from fijax.qc._checks import check_finite
from fijax.qc.baseline import (
    BASELINE_VERDICT_RULE,
    BETTER,
    DOES_NOT_IMPROVE,
    IMPROVES,
    NO_SOURCE,
    NOT_BETTER,
    STRUCTURE_METRICS,
    STRUCTURE_RULE,
    baseline_verdict,
    structure_mask,
    structure_metrics,
)
from fijax.qc.restoration import restoration_metrics
from fijax.qc.segmentation import aggregate_matching, matching, semantic_iou

__all__ = [
    "ALL_METRICS", "COMPARE_COLUMNS", "RANKED_BY", "DEFAULT_LABEL_THRESHOLDS", "LABEL_COLUMNS", "METRIC_COLUMNS", "METRICS",
    "VERDICT_RULE", "QCResult", "compare_methods", "load_baseline", "load_set", "qc_dataset", "qc_labels_dataset",
    "verdict",
]

#: Metrics computed for prediction-vs-GT (``pred_*``) and source-vs-GT (``source_*``).
METRICS = ("ssim", "psnr", "rmse", "nrmse", "sqrt_mae")

#: Whole-image metrics, then the structure-restricted ones (:mod:`fijax.qc.baseline`).
ALL_METRICS = METRICS + STRUCTURE_METRICS

#: Who is measured against the GT: the prediction, the raw source, the baseline method.
ROLES = ("pred", "source", "baseline")

#: Columns of ``metrics.csv`` (one row per 2D image or slice).
METRIC_COLUMNS = (
    ["file", "slice", "verdict"]
    + [f"{who}_{m}" for m in ALL_METRICS for who in ROLES]
    + ["fg_fraction", "ssim_gain", "psnr_gain", "psnr_gain_vs_baseline", "fg_ssim_gain_vs_baseline"]
)

#: The verdict rule, stated in ``summary.json``, the docs and the CLI output.
VERDICT_RULE = (
    "'improves' only when the prediction is closer to the ground truth than the source on BOTH "
    "SSIM and PSNR (pred_ssim > source_ssim and pred_psnr > source_psnr, same normalisation); "
    "otherwise 'does not improve'. Per slice on its own values, per image on the mean over its "
    "slices, for the dataset on the mean over all slices of all images. Without a source: 'no source'. "
    "No baseline was given, so this verdict does not say whether the model suits these data: a classical "
    "method may do better (give a baseline, e.g. 'puredenoise')."
)

#: Default threshold sweep of label QC.
DEFAULT_LABEL_THRESHOLDS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)

#: Columns of label QC's ``matching.csv`` (one row per image and threshold).
LABEL_COLUMNS = ["file", "criterion", "thresh", "tp", "fp", "fn", "precision", "recall", "accuracy", "f1",
                 "n_true", "n_pred", "mean_true_score", "mean_matched_score", "panoptic_quality",
                 "foreground_iou"]

#: Columns of ``compare.csv`` (one row per method, best first; the raw input last).
COMPARE_COLUMNS = (["rank", "method", "n_slices"] + [f"mean_{m}" for m in ALL_METRICS]
                   + ["rank_psnr", "rank_fg_ssim", "rank_ssim", "verdict_vs_source", "verdict_vs_baseline"])

#: How :func:`compare_methods` ranks.
RANKED_BY = ("mean of the positions on whole-image PSNR and on structure SSIM (ties: PSNR); whole-image SSIM "
             "is reported, not ranked on (background-dominated); the raw input is listed last")

def verdict(pred_ssim: float, pred_psnr: float, source_ssim: float | None, source_psnr: float | None) -> str:
    """Apply :data:`VERDICT_RULE` to one set of (mean) metrics."""
    if source_ssim is None or source_psnr is None or _missing(source_ssim) or _missing(source_psnr):
        return NO_SOURCE
    return IMPROVES if (pred_ssim > source_ssim and pred_psnr > source_psnr) else DOES_NOT_IMPROVE


def _missing(v: Any) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


@dataclass
class QCResult:
    """What a dataset QC returns (and, with ``out_dir``, wrote).

    Attributes
    ----------
    rows : list of dict
        One dict per table row (``metrics.csv`` / ``matching.csv`` / ``compare.csv`` columns).
    images : list of dict
        Per-image rows (``images.csv``) or, for comparisons, per (method, image, slice) rows.
    summary : dict
        Contents of ``summary.json``.
    files : dict of str to Path
        Written files by role (``metrics``, ``summary``, ``panel:<name>``, ``map:<kind>:<name>`` ...).
    maps : dict
        In-memory SSIM/RSE maps by name when ``keep_maps=True`` (used by the ``qc`` operation).
    """

    rows: list[dict[str, Any]] = field(default_factory=list)
    images: list[dict[str, Any]] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)
    files: dict[str, Path] = field(default_factory=dict)
    maps: dict[str, np.ndarray] = field(default_factory=dict)


# ---------------------------------------------------------------------------------------------
# Loading and pairing
# ---------------------------------------------------------------------------------------------

def load_set(spec: Any, role: str) -> tuple[dict[str, Image], dict[str, str]]:
    """Load one side of a dataset: a TIFF file, a folder of TIFFs, an array/Image, or a name→array map.

    Returns
    -------
    (dict, dict)
        ``{name: Image}`` (name = file stem) and ``{name: sha256}`` (of the file, or of the pixels).
    """
    if isinstance(spec, Image | np.ndarray):
        img = spec if isinstance(spec, Image) else Image(np.asarray(spec))
        return {img.title or "image": img}, {img.title or "image": pixels_sha256(img.data)}
    if isinstance(spec, Mapping):
        images, hashes = {}, {}
        for name, value in spec.items():
            img = value if isinstance(value, Image) else Image(np.asarray(value), title=str(name))
            images[str(name)] = img
            hashes[str(name)] = pixels_sha256(img.data)
        if not images:
            raise InputError(f"{role}: no images given")
        return images, hashes
    if isinstance(spec, str | os.PathLike):
        images, hashes = {}, {}
        for name, f in tiffs_by_name(spec, role).items():
            images[name] = read_tiff(f)
            hashes[name] = sha256_file(f)
        return images, hashes
    raise InputError(f"{role}: expected a TIFF file, a folder, an array or a mapping of arrays, "
                     f"got {type(spec).__name__}")


def unpaired(gt: dict[str, Image], other: dict[str, Image]) -> list[str]:
    """Names in ``other`` without a GT partner, which QC ignores (e.g. ``*_std`` files ``fijax predict
    --samples`` writes next to the predictions); empty when one file on each side pairs by position."""
    if len(gt) == 1 and len(other) == 1:
        return []
    return sorted(n for n in other if n not in gt)


def _pair(gt: dict[str, Image], other: dict[str, Image], role: str) -> dict[str, Image]:
    """Match ``other`` to the GT names (:func:`fijax.io.datasets.pair_by_name`)."""
    return pair_by_name(gt, other, role, "GT")


def _planes(img: Image, role: str, name: str) -> np.ndarray:
    if img.data.ndim < 2 or img.axes[-2:] != "YX":
        raise InputError(f"{name} ({role}): expected Y and X as the last axes, got axes {img.axes!r}")
    return img.data


def _check_same_shape(name: str, gt: Image, other: Image, role: str) -> None:
    if gt.data.shape != other.data.shape:
        raise InputError(f"{name}: shape mismatch, GT {gt.data.shape} ({gt.axes}) vs {role} "
                         f"{other.data.shape} ({other.axes})")


def _middle_slice(a: np.ndarray) -> tuple[np.ndarray, int]:
    flat = a.reshape((-1,) + a.shape[-2:])
    k = flat.shape[0] // 2
    return flat[k], k


def _fmt(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float | np.floating):
        return "" if math.isnan(float(v)) else repr(float(v))
    if isinstance(v, np.integer):
        return str(int(v))
    return str(v)


def _csv(columns: Sequence[str], rows: Sequence[Mapping[str, Any]]) -> str:
    """QC tables: exactly ``columns``, full-precision numbers, NaN as a blank cell."""
    return csv_text(rows, columns, extra=False, fmt=_fmt)


def _provenance() -> dict[str, Any]:
    from fijax.versions import library_versions

    return {"date_utc": datetime.now(UTC).isoformat(timespec="seconds"), "versions": library_versions()}


def _mean(values: Sequence[float]) -> float:
    vals = [float(v) for v in values if not _missing(v)]
    return float(np.mean(vals)) if vals else float("nan")


# ---------------------------------------------------------------------------------------------
# Restoration QC
# ---------------------------------------------------------------------------------------------

def load_baseline(spec: Any, gt_set: dict[str, Image], src_set: dict[str, Image] | None, *,
                  cycle_spins: int = 4, progress: Callable[[float, str], None] | None = None,
                  is_cancelled: Callable[[], bool] | None = None,
                  ) -> tuple[dict[str, Image], dict[str, str], dict[str, Any]]:
    """The baseline method's outputs, paired with the GT names.

    Parameters
    ----------
    spec : path, array, Image, mapping or ``"puredenoise"``
        Another method's outputs (a TIFF file or folder paired by name, arrays), or the word
        ``"puredenoise"``: PURE-LET computed here from each source image with automatically
        estimated noise parameters (:func:`fijax.classical.puredenoise`, ``cycle_spins``).
    gt_set, src_set : dict
        The GT and source sets (``src_set`` is needed for ``"puredenoise"``).

    Returns
    -------
    (dict, dict, dict)
        ``{name: Image}``, ``{name: sha256}`` and a description (``kind``, ``spec``, and for
        PureDenoise the noise parameters and estimate warnings per image).

    Raises
    ------
    InputError
        An unknown word, a missing file or folder, ``"puredenoise"`` without a source, or a
        PureDenoise failure (named with the image).
    """
    progress = progress or (lambda f, m: None)
    if isinstance(spec, str) and spec.strip().lower() == "puredenoise":
        if src_set is None:
            raise InputError("baseline 'puredenoise' is computed from the source: give the source images too")
        import warnings

        from fijax.classical import puredenoise

        out: dict[str, Image] = {}
        hashes: dict[str, str] = {}
        info: dict[str, Any] = {"kind": "puredenoise", "spec": "puredenoise", "cycle_spins": cycle_spins,
                                "estimation": "automatic, per frame", "noise": {}}
        for k, (name, src) in enumerate(src_set.items()):
            if is_cancelled is not None and is_cancelled():
                raise CancelledError("QC cancelled")
            progress(k / max(len(src_set), 1), f"PureDenoise baseline: {name}")
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                try:
                    den, params = puredenoise(src.data, cycle_spins=cycle_spins, estimation="individual",
                                              return_params=True)
                except InputError as exc:
                    raise InputError(f"baseline puredenoise on {name}: {exc}") from exc
            out[name] = src.with_data(np.asarray(den, np.float32), title=f"PureDenoise-{name}")
            hashes[name] = pixels_sha256(out[name].data)
            info["noise"][name] = {
                "alpha": params["alpha"], "delta": params["delta"], "sigma": params["sigma"],
                **({"plausible": params["plausible"], "warnings": params.get("warnings", [])}
                   if "plausible" in params else {}),
                "other_warnings": [str(w.message) for w in caught
                                   if str(w.message) not in params.get("warnings", [])],
            }
        return out, hashes, info
    if isinstance(spec, str | os.PathLike) and not Path(spec).exists():
        raise InputError(f"baseline: {str(spec)!r} is neither an existing file or folder nor 'puredenoise'")
    imgs, hashes = load_set(spec, "baseline")
    kind = "files" if isinstance(spec, str | os.PathLike) else "arrays"
    return _pair(gt_set, imgs, "baseline"), hashes, {"kind": kind, "spec": str(spec) if kind == "files" else kind}


def _judge(row: Mapping[str, Any], has_source: bool, has_baseline: bool) -> str:
    """Apply the verdict rule to a ``metrics.csv``-style row (slice values or means)."""
    def part(who: str) -> dict[str, Any]:
        return {m: row.get(f"{who}_{m}") for m in ALL_METRICS}

    return baseline_verdict(part("pred"), part("source") if has_source else None,
                            part("baseline") if has_baseline else None)


def _metrics_with_structure(g: Image, x: Image, mask: np.ndarray, normalize: bool,
                            data_range: float | None, maps: bool = True) -> dict[str, np.ndarray]:
    m = restoration_metrics(g.data, x.data, normalize=normalize, data_range=data_range, maps=True)
    rng = 1.0 if normalize else _resolved_range(g.data, x.data, data_range)
    m.update(structure_metrics(mask, m["ssim_map"], m["rse_map"], rng))
    if not maps:
        m.pop("ssim_map")
        m.pop("rse_map")
    return m


def _resolved_range(a: np.ndarray, b: np.ndarray, data_range: float | None) -> float:
    from fijax.qc._checks import resolve_data_range

    return float(resolve_data_range(a, b, data_range, "qc"))


def qc_dataset(gt: Any, prediction: Any, source: Any = None, out_dir: str | os.PathLike | None = None, *,
               baseline: Any = None, normalize: bool = True, data_range: float | None = None, maps: bool = True,
               panels: bool = True, keep_maps: bool = False, cycle_spins: int = 4,
               progress: Callable[[float, str], None] | None = None,
               is_cancelled: Callable[[], bool] | None = None) -> QCResult:
    """Restoration QC of a dataset: prediction, source and baseline vs GT, whole image and structure, verdicts.

    Parameters
    ----------
    gt, prediction, source : path, array, Image or mapping
        A TIFF file, a folder of TIFFs (paired by file name), an array/:class:`~fijax.io.Image`,
        or ``{name: array}``. ``source`` (the raw input) is optional but needed for verdicts.
    out_dir : path, optional
        Where to write ``metrics.csv``, ``images.csv``, ``summary.json``, ``maps/`` and
        ``panels/`` (see the module docstring). Nothing is written when omitted.
    baseline : path, array, Image, mapping or ``"puredenoise"``, optional
        A second method's outputs to beat (see :func:`load_baseline`); with it the verdicts are
        those of :data:`fijax.qc.baseline.BASELINE_VERDICT_RULE`. PureDenoise outputs computed
        here are written to ``baseline/<name>.tif``.
    normalize : bool
        ZeroCostDL4Mic protocol (default): :func:`~fijax.qc.norm_minmse` per slice, ``data_range=1``.
    data_range : float, optional
        Only with ``normalize=False``; required then for float images.
    maps, panels : bool
        Write the TIFF maps / PNG panels (with ``out_dir``).
    keep_maps : bool
        Keep the maps in memory in :attr:`QCResult.maps` (``SSIM_GTvsPrediction_<name>`` ...).
    cycle_spins : int
        Cycle spins of the PureDenoise baseline.

    Returns
    -------
    QCResult
        ``rows`` (``metrics.csv``), ``images`` (``images.csv``), ``summary`` (``summary.json``).
    """
    progress = progress or (lambda f, m: None)
    gt_set, gt_hash = load_set(gt, "ground truth")
    pred_set, pred_hash = load_set(prediction, "prediction")
    ignored = {"prediction": unpaired(gt_set, pred_set)}
    pred_set = _pair(gt_set, pred_set, "prediction")
    src_set: dict[str, Image] | None = None
    src_hash: dict[str, str] = {}
    if source is not None:
        src_set, src_hash = load_set(source, "source")
        ignored["source"] = unpaired(gt_set, src_set)
        src_set = _pair(gt_set, src_set, "source")
    for name, g in gt_set.items():
        _planes(g, "GT", name)
        _check_same_shape(name, g, pred_set[name], "prediction")
        if src_set is not None:
            _check_same_shape(name, g, src_set[name], "source")
    base_set: dict[str, Image] | None = None
    base_hash: dict[str, str] = {}
    base_info: dict[str, Any] | None = None
    if baseline is not None:
        base_set, base_hash, base_info = load_baseline(baseline, gt_set, src_set, cycle_spins=cycle_spins,
                                                       progress=progress, is_cancelled=is_cancelled)
        for name, g in gt_set.items():
            _check_same_shape(name, g, base_set[name], "baseline")
    has_source, has_baseline = src_set is not None, base_set is not None
    out = Path(out_dir) if out_dir is not None else None
    result = QCResult()
    names = list(gt_set)
    for k, name in enumerate(names):
        if is_cancelled is not None and is_cancelled():
            raise CancelledError("QC cancelled")
        progress(k / len(names), f"QC {name}")
        g = gt_set[name]
        p = pred_set[name]
        s = src_set[name] if src_set is not None else None
        b = base_set[name] if base_set is not None else None
        for img, role in ((g, "GT"), (p, "prediction"), (s, "source"), (b, "baseline")):
            if img is not None:  # name the file that holds the NaN, not the pair's GT name
                check_finite(img.data, f"{name}: {role} file {img.title!r}")
        mask = structure_mask(g.data)
        try:
            mp = _metrics_with_structure(g, p, mask, normalize, data_range)
            ms = _metrics_with_structure(g, s, mask, normalize, data_range) if s is not None else None
            mb = _metrics_with_structure(g, b, mask, normalize, data_range) if b is not None else None
        except InputError as exc:
            raise InputError(f"{name}: {exc}") from exc
        n_slices = mp["ssim"].size
        img_rows = []
        for z in range(n_slices):
            row: dict[str, Any] = {"file": name, "slice": z}
            for m in ALL_METRICS:
                for who, mm in (("pred", mp), ("source", ms), ("baseline", mb)):
                    row[f"{who}_{m}"] = float(mm[m][z]) if mm is not None else None
            row["fg_fraction"] = float(mp["fg_fraction"][z])
            if ms is not None:
                row["ssim_gain"] = row["pred_ssim"] - row["source_ssim"]
                row["psnr_gain"] = row["pred_psnr"] - row["source_psnr"]
            if mb is not None:
                row["psnr_gain_vs_baseline"] = row["pred_psnr"] - row["baseline_psnr"]
                row["fg_ssim_gain_vs_baseline"] = row["pred_fg_ssim"] - row["baseline_fg_ssim"]
            row["verdict"] = _judge(row, has_source, has_baseline)
            img_rows.append(row)
        result.rows.extend(img_rows)
        summary_row: dict[str, Any] = {"file": name, "n_slices": n_slices}
        for col in METRIC_COLUMNS[3:]:
            vals = [r.get(col) for r in img_rows]
            summary_row[col] = _mean(vals) if any(v is not None for v in vals) else None
        summary_row["verdict"] = _judge(summary_row, has_source, has_baseline)
        result.images.append(summary_row)
        map_items = {"SSIM_GTvsPrediction": mp["ssim_map"], "RSE_GTvsPrediction": mp["rse_map"]}
        if ms is not None:
            map_items.update({"SSIM_GTvsSource": ms["ssim_map"], "RSE_GTvsSource": ms["rse_map"]})
        if mb is not None:
            map_items.update({"SSIM_GTvsBaseline": mb["ssim_map"], "RSE_GTvsBaseline": mb["rse_map"]})
        if keep_maps:
            for kind, arr in map_items.items():
                result.maps[f"{kind}_{name}"] = arr
        if out is not None and maps:
            for kind, arr in map_items.items():
                target = out / "maps" / f"{kind}_{name}.tif"
                write_tiff(target, g.with_data(arr.astype(np.float32), title=f"{kind}_{name}"))
                result.files[f"map:{kind}:{name}"] = target
            target = out / "maps" / f"Structure_{name}.tif"
            write_tiff(target, g.with_data(mask.astype(np.uint8) * 255, title=f"Structure_{name}"))
            result.files[f"map:Structure:{name}"] = target
        if out is not None and b is not None and base_info is not None and base_info["kind"] == "puredenoise":
            target = out / "baseline" / f"{name}.tif"
            write_tiff(target, b)
            result.files[f"baseline:{name}"] = target
        if out is not None and panels:
            result.files[f"panel:{name}"] = _write_panel(out, name, g, p, s, mp, ms, summary_row, normalize)
    progress(1.0, "QC done")
    dataset_row = {}
    for col in METRIC_COLUMNS[3:]:
        vals = [r.get(col) for r in result.rows]
        dataset_row[col] = _mean(vals) if any(v is not None for v in vals) else None
    dataset_verdict = _judge(dataset_row, has_source, has_baseline)
    improving = (IMPROVES, BETTER, NOT_BETTER)
    n_improved = sum(1 for r in result.images if r["verdict"] in improving)
    by_verdict: dict[str, int] = {}
    for r in result.images:
        by_verdict[r["verdict"]] = by_verdict.get(r["verdict"], 0) + 1
    result.summary = {
        "kind": "restoration",
        "ignored": {k: v for k, v in ignored.items() if v},
        "verdict": dataset_verdict,
        "verdict_rule": BASELINE_VERDICT_RULE if has_baseline else VERDICT_RULE,
        "structure_rule": STRUCTURE_RULE,
        "baseline": base_info,
        "n_images": len(names), "n_slices": len(result.rows), "n_images_improved": n_improved,
        "n_images_better_than_baseline": (sum(1 for r in result.images if r["verdict"] == BETTER)
                                          if has_baseline else None),
        "n_images_by_verdict": by_verdict,
        "means": dataset_row,
        "images": {r["file"]: r["verdict"] for r in result.images},
        "options": {"normalize": normalize, "normalization": "norm_minmse (GT percentiles 0.1/99.9, "
                    "zero-mean, least-squares scale), data_range=1" if normalize else "none",
                    "data_range": 1.0 if normalize else data_range,
                    "ssim": {"gaussian_weights": True, "sigma": 1.5, "truncate": 3.5,
                             "use_sample_covariance": False, "K1": 0.01, "K2": 0.03, "crop": 5,
                             "padding": "reflect (half-sample symmetric)"},
                    "sqrt_mae": "ZeroCostDL4Mic 'NRMSE' = sqrt(mean |GT - x|)",
                    "nrmse": "scikit-image normalized_root_mse, euclidean"},
        "inputs": {"ground_truth": gt_hash, "prediction": pred_hash, "source": src_hash or None,
                   "baseline": base_hash or None},
        "columns": METRIC_COLUMNS,
        **_provenance(),
    }
    if out is not None:
        result.files["metrics"] = atomic_write_text(out / "metrics.csv", _csv(METRIC_COLUMNS, result.rows))
        image_cols = ["file", "n_slices", "verdict"] + METRIC_COLUMNS[3:]
        result.files["images"] = atomic_write_text(out / "images.csv", _csv(image_cols, result.images))
        result.files["summary"] = atomic_write_text(
            out / "summary.json", json.dumps(jsonable(result.summary), indent=2) + "\n")
    return result


def _write_panel(out: Path, name: str, g: Image, p: Image, s: Image | None, mp: dict, ms: dict | None,
                 summary_row: dict, normalize: bool) -> Path:
    from fijax.qc.figures import restoration_panel

    gt2, z = _middle_slice(g.data)
    pred2, _ = _middle_slice(p.data)
    src2 = _middle_slice(s.data)[0] if s is not None else None
    maps2 = {"ssim_prediction": _middle_slice(mp["ssim_map"])[0], "rse_prediction": _middle_slice(mp["rse_map"])[0]}
    metrics: dict[str, Any] = {"prediction": {m: float(mp[m][z]) for m in METRICS}}
    if ms is not None:
        maps2.update({"ssim_source": _middle_slice(ms["ssim_map"])[0], "rse_source": _middle_slice(ms["rse_map"])[0]})
        metrics["source"] = {m: float(ms[m][z]) for m in METRICS}
    metrics["verdict"] = f"{summary_row['verdict']}\n  (image: mean of {summary_row['n_slices']} slice(s))"
    n = g.data.reshape((-1,) + g.data.shape[-2:]).shape[0]
    title = f"{name}" + (f" - slice {z} of {n}" if n > 1 else "") + (
        " - metrics on norm_minmse-normalised pairs" if normalize else "")
    png = restoration_panel(title, gt2, pred2, src2, maps2, metrics)
    return atomic_write_bytes(out / "panels" / f"{name}.png", png)


# ---------------------------------------------------------------------------------------------
# Label QC
# ---------------------------------------------------------------------------------------------

def qc_labels_dataset(gt: Any, prediction: Any, out_dir: str | os.PathLike | None = None, *,
                      thresholds: Sequence[float] = DEFAULT_LABEL_THRESHOLDS, criterion: str = "iou",
                      plot: bool = True, progress: Callable[[float, str], None] | None = None,
                      is_cancelled: Callable[[], bool] | None = None) -> QCResult:
    """Instance-segmentation QC over a threshold sweep (StarDist ``matching`` numbers).

    Label images are matched as a whole (a 3D label volume is matched volumetrically, as
    StarDist does). One overlap table per image serves every threshold.

    Writes (with ``out_dir``): ``matching.csv`` (:data:`LABEL_COLUMNS`, one row per image and
    threshold; ``foreground_iou`` is the semantic IoU of the foreground masks),
    ``matching_dataset.csv`` (pooled over images per threshold, ``file = "(dataset)"``),
    ``matching_vs_threshold.png`` (precision, recall, F1, accuracy and PQ of the pooled dataset)
    and ``summary.json``.
    """
    progress = progress or (lambda f, m: None)
    ths = [float(t) for t in thresholds]
    if not ths:
        raise InputError("thresholds: give at least one threshold")
    bad = [t for t in ths if not 0.0 <= t <= 1.0]  # also NaN
    if bad:
        raise InputError(f"thresholds must be between 0 and 1 (overlap scores), got {bad[0]:g}")
    gt_set, gt_hash = load_set(gt, "ground truth")
    pred_set, pred_hash = load_set(prediction, "prediction")
    ignored = {"prediction": unpaired(gt_set, pred_set)}
    pred_set = _pair(gt_set, pred_set, "prediction")
    out = Path(out_dir) if out_dir is not None else None
    result = QCResult()
    per_thresh: list[list] = [[] for _ in ths]
    names = list(gt_set)
    for k, name in enumerate(names):
        if is_cancelled is not None and is_cancelled():
            raise CancelledError("QC cancelled")
        progress(k / len(names), f"matching {name}")
        g, p = gt_set[name], pred_set[name]
        _check_same_shape(name, g, p, "prediction")
        try:
            res = matching(g.data, p.data, ths, criterion)  # type: ignore[arg-type]
            fg = semantic_iou(g.data, p.data)
        except InputError as exc:
            raise InputError(f"{name}: {exc}") from exc
        for i, r in enumerate(res):
            per_thresh[i].append(r)
            result.rows.append({"file": name, **r._asdict(), "foreground_iou": fg})
    progress(1.0, "matching done")
    dataset_rows = []
    for rs in per_thresh:
        d = aggregate_matching(rs, by_image=False)
        dataset_rows.append({"file": "(dataset)", **d._asdict()})
    result.images = dataset_rows
    at_05 = next((r for r in dataset_rows if abs(r["thresh"] - 0.5) < 1e-12), None)
    result.summary = {
        "kind": "labels", "criterion": criterion, "thresholds": ths,
        "ignored": {k: v for k, v in ignored.items() if v},
        "matching": "Hungarian (StarDist criterion), match when score >= threshold, pooled over images",
        "accuracy_definition": "tp / (tp + fp + fn) (DSB-2018 / cellpose 'AP')",
        "dataset": dataset_rows, "at_0.5": at_05,
        "inputs": {"ground_truth": gt_hash, "prediction": pred_hash},
        "columns": LABEL_COLUMNS, **_provenance(),
    }
    if out is not None:
        result.files["matching"] = atomic_write_text(out / "matching.csv", _csv(LABEL_COLUMNS, result.rows))
        cols = [c for c in LABEL_COLUMNS if c != "foreground_iou"] + ["by_image"]
        result.files["matching_dataset"] = atomic_write_text(out / "matching_dataset.csv",
                                                             _csv(cols, dataset_rows))
        if plot:
            from fijax.qc.figures import threshold_curves

            curves = {k: [r[k] for r in dataset_rows]
                      for k in ("precision", "recall", "f1", "accuracy", "panoptic_quality")}
            png = threshold_curves(ths, curves, f"{len(names)} image(s), {criterion} matching", criterion)
            result.files["plot"] = atomic_write_bytes(out / "matching_vs_threshold.png", png)
        result.files["summary"] = atomic_write_text(out / "summary.json",
                                                    json.dumps(jsonable(result.summary), indent=2) + "\n")
    return result


# ---------------------------------------------------------------------------------------------
# Method comparison
# ---------------------------------------------------------------------------------------------

def _rank_positions(methods: list[str], means: dict[str, dict[str, float]], key: str) -> dict[str, int]:
    """1-based position of each method when sorted by ``key`` (higher is better; NaN last)."""
    def k(m: str) -> float:
        v = means[m].get(key)
        return -math.inf if v is None or math.isnan(v) else float(v)

    order = sorted(methods, key=k, reverse=True)
    return {m: i + 1 for i, m in enumerate(order)}


def _disagreements(methods: list[str], ranks: dict[str, dict[str, int]]) -> list[str]:
    """Sentences naming which metric puts which method first, when the metrics disagree."""
    labels = {"ssim": "whole-image SSIM", "psnr": "whole-image PSNR", "fg_ssim": "structure SSIM"}
    firsts = {k: next(m for m in methods if ranks[k][m] == 1) for k in labels}
    out = []
    pairs = (("ssim", "psnr"), ("ssim", "fg_ssim"), ("psnr", "fg_ssim"))
    for a, b in pairs:
        if firsts[a] != firsts[b]:
            out.append(f"{labels[a]} ranks {firsts[a]} first but {labels[b]} ranks {firsts[b]} first")
    return out


def compare_methods(gt: Any, methods: Mapping[str, Any], source: Any = None,
                    out_dir: str | os.PathLike | None = None, *, baseline: str | None = None,
                    normalize: bool = True, data_range: float | None = None, plot: bool = True,
                    cycle_spins: int = 4, progress: Callable[[float, str], None] | None = None,
                    is_cancelled: Callable[[], bool] | None = None) -> QCResult:
    """Rank any number of restoration outputs (DL models, PureDenoise, Fiji filters) on one GT.

    Every method (and the source, as the row ``source``) is measured against the GT with the
    same protocol as :func:`qc_dataset` (by default each pair is normalised with ``norm_minmse``,
    so outputs in different intensity units compare fairly), on the whole image and on the
    structure (:data:`fijax.qc.baseline.STRUCTURE_RULE`).

    Ranking (:data:`RANKED_BY`): by the mean of each method's positions on whole-image PSNR and
    on structure SSIM, ties by PSNR. Whole-image SSIM is reported but does not rank: it is
    dominated by the background and favours outputs that flatten it. ``best`` is the method first
    on both PSNR and structure SSIM, or None ("no single best") when they disagree;
    ``disagreements`` names the metrics that put different methods first (whole-image SSIM
    included).

    Parameters
    ----------
    baseline : str, optional
        The method every other is judged against (:func:`fijax.qc.baseline.baseline_verdict`,
        column ``verdict_vs_baseline``): the name of one of ``methods``, ``"puredenoise"``
        (PURE-LET computed from the source, added as the method ``PureDenoise``) or a TIFF file
        or folder (added as the method ``baseline``).

    Writes (with ``out_dir``): ``compare.csv`` (:data:`COMPARE_COLUMNS`, best first;
    ``verdict_vs_source`` applies :data:`VERDICT_RULE` to the method's means),
    ``compare_per_image.csv`` (``method, file, slice`` and each metric), ``compare.png`` and
    ``summary.json``.
    """
    progress = progress or (lambda f, m: None)
    if not methods:
        raise InputError("compare: give at least one method (NAME=PATH)")
    bad = [n for n in methods if not str(n).strip() or str(n) == "source"]
    if bad:
        raise InputError(f"compare: invalid method name(s) {bad!r} ('source' is reserved for the raw input)")
    gt_set, gt_hash = load_set(gt, "ground truth")
    entries: dict[str, dict[str, Image]] = {}
    hashes: dict[str, dict[str, str]] = {}
    for name, spec in methods.items():
        imgs, h = load_set(spec, f"method {name}")
        entries[str(name)] = _pair(gt_set, imgs, f"method {name}")
        hashes[str(name)] = h
    src_set = None
    if source is not None:
        imgs, h = load_set(source, "source")
        src_set = _pair(gt_set, imgs, "source")
        entries = {"source": src_set, **entries}
        hashes["source"] = h
    base_name: str | None = None
    base_info: dict[str, Any] | None = None
    if baseline is not None:
        if str(baseline) in entries and str(baseline) != "source":
            base_name = str(baseline)
            base_info = {"kind": "method", "spec": base_name}
        else:
            imgs, h, base_info = load_baseline(baseline, gt_set, src_set, cycle_spins=cycle_spins,
                                               progress=progress, is_cancelled=is_cancelled)
            base_name = "PureDenoise" if base_info["kind"] == "puredenoise" else "baseline"
            if base_name in entries:
                raise InputError(f"compare: a method is already named {base_name!r}; name the baseline method "
                                 f"with --baseline {base_name}")
            entries[base_name] = imgs
            hashes[base_name] = h
    per_method: dict[str, dict[str, list[float]]] = {m: {k: [] for k in ALL_METRICS} for m in entries}
    long_rows: list[dict[str, Any]] = []
    total = len(entries) * len(gt_set)
    step = 0
    masks = {name: structure_mask(g.data) for name, g in gt_set.items()}
    for method, imgs in entries.items():
        for name, g in gt_set.items():
            if is_cancelled is not None and is_cancelled():
                raise CancelledError("comparison cancelled")
            progress(step / total, f"{method}: {name}")
            step += 1
            x = imgs[name]
            _check_same_shape(name, g, x, f"method {method}")
            try:
                m = _metrics_with_structure(g, x, masks[name], normalize, data_range, maps=False)
            except InputError as exc:
                raise InputError(f"{method} / {name}: {exc}") from exc
            for z in range(m["ssim"].size):
                row = {"method": method, "file": name, "slice": z, **{k: float(m[k][z]) for k in ALL_METRICS}}
                long_rows.append(row)
                for k in ALL_METRICS:
                    per_method[method][k].append(row[k])
    progress(1.0, "comparison done")
    means = {m: {k: _mean(per_method[m][k]) for k in ALL_METRICS} for m in entries}
    src_means = means.get("source")
    base_means = means.get(base_name) if base_name else None
    ranked = [m for m in entries if m != "source"]
    ranks = {k: _rank_positions(ranked, means, k) for k in ("ssim", "psnr", "fg_ssim")}
    score = {m: (ranks["psnr"][m] + ranks["fg_ssim"][m]) / 2.0 for m in ranked}
    order = sorted(ranked, key=lambda m: (score[m], -(means[m]["psnr"] if not math.isnan(means[m]["psnr"])
                                                       else -math.inf)))
    if "source" in entries:
        order.append("source")
    best = next((m for m in ranked if ranks["psnr"][m] == 1 and ranks["fg_ssim"][m] == 1), None)
    disagreements = _disagreements(ranked, ranks) if len(ranked) > 1 else []
    ranking = []
    for i, method in enumerate(order, start=1):
        mm = means[method]
        v = ("raw input" if method == "source" else
             verdict(mm["ssim"], mm["psnr"], src_means["ssim"] if src_means else None,
                     src_means["psnr"] if src_means else None))
        if method == "source":
            vb = "raw input"
        elif base_name is None:
            vb = None
        elif method == base_name:
            vb = "baseline"
        else:
            vb = baseline_verdict(mm, src_means, base_means)
        ranking.append({"rank": i, "method": method, "n_slices": len(per_method[method]["ssim"]),
                        **{f"mean_{k}": mm[k] for k in ALL_METRICS},
                        "rank_psnr": ranks["psnr"].get(method), "rank_fg_ssim": ranks["fg_ssim"].get(method),
                        "rank_ssim": ranks["ssim"].get(method), "verdict_vs_source": v,
                        "verdict_vs_baseline": vb})
    result = QCResult(rows=ranking, images=long_rows)
    result.summary = {
        "kind": "compare", "ranking": ranking, "ranked_by": RANKED_BY, "best": best,
        "best_rule": "first on both whole-image PSNR and structure SSIM; none when they disagree",
        "disagreements": disagreements,
        "verdict_rule": VERDICT_RULE, "baseline_verdict_rule": BASELINE_VERDICT_RULE if base_name else None,
        "structure_rule": STRUCTURE_RULE, "baseline": base_name, "baseline_info": base_info,
        "verdicts_vs_baseline": ({r["method"]: r["verdict_vs_baseline"] for r in ranking
                                  if r["method"] not in ("source", base_name)} if base_name else None),
        "raw_input": "source" if src_means else None,
        "options": {"normalize": normalize, "data_range": 1.0 if normalize else data_range},
        "inputs": {"ground_truth": gt_hash, **hashes}, "columns": COMPARE_COLUMNS, **_provenance(),
    }
    out = Path(out_dir) if out_dir is not None else None
    if out is not None:
        result.files["compare"] = atomic_write_text(out / "compare.csv", _csv(COMPARE_COLUMNS, ranking))
        result.files["per_image"] = atomic_write_text(
            out / "compare_per_image.csv", _csv(["method", "file", "slice", *ALL_METRICS], long_rows))
        if plot:
            from fijax.qc.figures import comparison_chart

            n = len(gt_set)
            title = (f"Methods against the ground truth ({n} image{'s' * (n != 1)}), ranked by PSNR and structure "
                     f"SSIM; " + (f"best: {best} (red)" if best else "no single best") + "; grey: raw input")
            if disagreements:
                title += "\nmetrics disagree: " + "; ".join(disagreements)
            png = comparison_chart([r["method"] for r in ranking], per_method, title, best=best)
            result.files["plot"] = atomic_write_bytes(out / "compare.png", png)
        result.files["summary"] = atomic_write_text(out / "summary.json",
                                                    json.dumps(jsonable(result.summary), indent=2) + "\n")
    return result
