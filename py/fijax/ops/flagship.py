"""Operation ``compare_denoisers``: the flagship "DL vs classical" workflow in one call.

Given a noisy image (and optionally its ground truth and one or more registered models) it runs
Gaussian and Median filters (ImageJ's own when the macro passes their outputs in), PureDenoise
(PURE-LET) and the DL model(s), then

- with GT: scores every output and the raw input against the GT with :func:`fijax.qc.compare_methods`
  (ZeroCostDL4Mic protocol: ``norm_minmse`` then SSIM/PSNR/NRMSE), fills one table (one row per
  method, the raw input as the ``Raw`` baseline row, ranked by SSIM), returns the SSIM and RSE maps
  of every output, and writes ``comparison.csv``, ``comparison.png`` (outputs, SSIM maps, RSE maps:
  the layout of the seed paper's Fig. 3), QC's ``compare.csv``/``compare.png`` and
  ``provenance.json`` to the output folder;
- without GT: says so (``values["ground_truth"]``) and returns the Monte-Carlo-dropout uncertainty
  map of each DL model (std over ``mc_samples`` stochastic passes) instead of QC maps, and the
  GT-free domain check of each DL model (``domain_score``, ``in_domain`` columns; see
  :mod:`fijax.engine.domain`): an out-of-domain image is named in the message.

Macro: ``run("FiJAX Compare Denoisers", "image=noisy gt=gt gaussian=g median=m model=demo out=[dir]")``
(see ``macros/compare_denoisers.ijm``); CLI: ``fijax compare-denoisers``; HTTP: ``POST /ops/compare_denoisers``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pydantic

from fijax.errors import InputError
from fijax.io import Image, atomic_write_bytes, atomic_write_text
from fijax.io.table import csv_text
from fijax.ops import OpContext, OpResult, operation

METHOD_KEYS = ("gaussian", "median", "puredenoise", "dl")

#: Columns of ``comparison.csv`` and of the Results table (one row per method in the order of
#: :func:`fijax.qc.compare_methods`: PSNR and structure SSIM; the raw input last). ``verdict``:
#: against PureDenoise when it ran (:func:`fijax.qc.baseline.baseline_verdict`), else against the
#: raw input.
TABLE_COLUMNS = ("rank", "method", "kind", "ssim", "psnr", "nrmse", "sqrt_mae", "rmse", "fg_ssim", "ssim_gain",
                 "psnr_gain", "verdict")

#: Columns of the table without ground truth.
NO_GT_COLUMNS = ("method", "kind", "mean", "std", "uncertainty_mean", "uncertainty_max", "domain_score",
                 "in_domain", "domain_note")

NO_GT_MESSAGE = ("no ground truth given: outputs cannot be scored; showing the Monte-Carlo-dropout "
                 "uncertainty map of the DL model(s) instead (high values = unreliable pixels)")


class CompareDenoisersOptions(pydantic.BaseModel):
    """Options of ``compare_denoisers``."""

    model_config = pydantic.ConfigDict(extra="forbid")

    model: str | None = pydantic.Field(None, description="registered model(s) NAME[:VERSION], comma-separated")
    methods: str = pydantic.Field("gaussian,median,puredenoise,dl",
                                  description="comma-separated subset of gaussian, median, puredenoise, dl")
    gaussian_sigma: float = pydantic.Field(2.0, gt=0, description="sigma of the Gaussian filter (pixels)")
    median_radius: float = pydantic.Field(2.0, gt=0, description="radius of the Median filter (ImageJ's)")
    cycle_spins: int = pydantic.Field(4, ge=1, le=10, description="PureDenoise cycle spins")
    mc_samples: int = pydantic.Field(8, ge=2, le=200, description="MC-dropout passes without GT")
    normalize: bool = pydantic.Field(True, description="norm_minmse before the metrics (ZeroCostDL4Mic)")
    seed: int = pydantic.Field(0, ge=0, lt=2**32, description="seed of PureDenoise's cycle spins and the dropout masks")
    figure: bool = pydantic.Field(True, description="write comparison.png (needs an output folder)")

    @pydantic.field_validator("methods")
    @classmethod
    def _methods(cls, v: str) -> str:
        names = [m.strip().lower() for m in v.split(",") if m.strip()]
        bad = [m for m in names if m not in METHOD_KEYS]
        if bad or not names:
            raise ValueError(f"unknown method(s) {bad or v!r}; choose from {', '.join(METHOD_KEYS)}")
        return ",".join(names)

    def method_list(self) -> list[str]:
        return self.methods.split(",")

    def model_refs(self) -> list[str]:
        return [m.strip() for m in (self.model or "").split(",") if m.strip()]


# ---------------------------------------------------------------------------------------------
# Classical filters (used when the caller did not run ImageJ's own)
# ---------------------------------------------------------------------------------------------

def imagej_median(data: np.ndarray, radius: float) -> np.ndarray:
    """Median over ImageJ's circular kernel (``RankFilters``: dx² + dy² <= radius² + 1) per YX plane.

    Edges repeat the nearest pixel, as ImageJ does.
    """
    from scipy import ndimage

    r2 = radius * radius + 1
    r = int(math.floor(math.sqrt(r2 + 1e-10)))
    yy, xx = np.mgrid[-r:r + 1, -r:r + 1]
    footprint = (yy * yy + xx * xx) <= r2
    a = np.asarray(data, np.float32)
    planes = a.reshape((-1,) + a.shape[-2:])
    out = np.stack([ndimage.median_filter(p, footprint=footprint, mode="nearest") for p in planes])
    return out.reshape(a.shape)


def _check_input(image: Image, role: str) -> None:
    if image.axes[-2:] != "YX":
        raise InputError(f"compare_denoisers: the {role} image needs Y and X as its last axes, got {image.axes!r}")
    if "C" in image.axes and image.shape[image.axes.index("C")] > 1:
        raise InputError(f"compare_denoisers: the {role} image has {image.shape[image.axes.index('C')]} channels; "
                         "compare one channel at a time")
    if not np.all(np.isfinite(image.data)):
        raise InputError(f"compare_denoisers: the {role} image contains NaN or infinite values")


def _squeeze_c(image: Image) -> Image:
    if "C" in image.axes:
        i = image.axes.index("C")
        return image.with_data(np.take(image.data, 0, axis=i), axes=image.axes.replace("C", ""))
    return image


# ---------------------------------------------------------------------------------------------
# The operation
# ---------------------------------------------------------------------------------------------

@operation("compare_denoisers", CompareDenoisersOptions, inputs=("image",),
           optional_inputs=("gt", "gaussian", "median"), long_running=True,
           summary="DL model(s) vs Gaussian, Median and PureDenoise, scored against GT (or MC-dropout "
                   "uncertainty without GT)")
def compare_denoisers(inputs: Mapping[str, Image], options: CompareDenoisersOptions, ctx: OpContext) -> OpResult:
    """Run every method on ``image`` and compare them (see the module docstring)."""
    from fijax import ops
    from fijax.data import pixels_sha256

    noisy = inputs["image"]
    gt = inputs.get("gt")
    _check_input(noisy, "noisy")
    noisy = _squeeze_c(noisy)
    if gt is not None:
        _check_input(gt, "ground-truth")
        gt = _squeeze_c(gt)
        if gt.shape != noisy.shape:
            raise InputError(f"compare_denoisers: ground truth shape {gt.shape} differs from the noisy image's "
                             f"{noisy.shape}")
    wanted = options.method_list()
    refs = options.model_refs()
    # Asked for explicitly, "dl" needs a model; by default the comparison runs without one.
    if "dl" in wanted and not refs and "methods" in options.model_fields_set:
        raise InputError("compare_denoisers: method 'dl' needs model=NAME[:VERSION]")
    models = _load_models(refs) if "dl" in wanted else []
    for key in ("gaussian", "median"):
        given = inputs.get(key)
        if given is not None:
            _check_input(given, key)
            if _squeeze_c(given).shape != noisy.shape:
                raise InputError(f"compare_denoisers: the {key} image's shape {given.shape} differs from the "
                                 f"noisy image's {noisy.shape}")

    outputs: dict[str, Image] = {}
    kinds: dict[str, str] = {}
    n_steps = len(wanted) + len(models) + 1
    step = 0

    def progress(msg: str) -> None:
        nonlocal step
        ctx.check_cancelled()
        ctx.progress(step / n_steps, msg)
        step += 1

    data32 = noisy.data.astype(np.float32)
    if "gaussian" in wanted:
        progress("Gaussian")
        if inputs.get("gaussian") is not None:
            name = f"Gaussian (ImageJ, sigma={options.gaussian_sigma:g})"
            out = _squeeze_c(inputs["gaussian"]).data.astype(np.float32)
        else:
            name = f"Gaussian (sigma={options.gaussian_sigma:g})"
            res = ops.get("gaussian")({"image": noisy.with_data(data32)}, {"sigma": options.gaussian_sigma}, ctx)
            out = next(iter(res.images.values())).data
        outputs[name], kinds[name] = noisy.with_data(out, title=name), "classical"
    if "median" in wanted:
        progress("Median")
        if inputs.get("median") is not None:
            name = f"Median (ImageJ, radius={options.median_radius:g})"
            out = _squeeze_c(inputs["median"]).data.astype(np.float32)
        else:
            name = f"Median (radius={options.median_radius:g})"
            out = imagej_median(data32, options.median_radius)
        outputs[name], kinds[name] = noisy.with_data(out, title=name), "classical"
    pure_params: dict[str, Any] = {}
    if "puredenoise" in wanted:
        progress("PureDenoise")
        res = ops.get("puredenoise")({"image": noisy.with_data(data32)},
                                     {"cycle_spins": options.cycle_spins, "seed": options.seed}, ctx)
        name = "PureDenoise"
        outputs[name], kinds[name] = next(iter(res.images.values())).with_data(
            next(iter(res.images.values())).data, title=name), "classical"
        if res.table:
            pure_params = {k: float(res.table[0][k]) for k in ("alpha", "delta", "sigma")}
    uncertainty: dict[str, Image] = {}
    domain: dict[str, dict[str, Any]] = {}
    model_facts = []
    for ref, trained in models:
        progress(f"DL {ref}")
        name = f"DL {ref}"
        if gt is None and trained.spec.dropout > 0:
            pred = trained.predict(noisy.data.astype(np.float32), axes=noisy.axes,
                                   samples=options.mc_samples, seed=options.seed)
            uncertainty[name] = noisy.with_data(_match_axes(pred["std"], noisy), title=f"Uncertainty {name}")
        else:
            pred = trained.predict(noisy.data.astype(np.float32), axes=noisy.axes)
        outputs[name], kinds[name] = noisy.with_data(_match_axes(pred["prediction"], noisy), title=name), "dl"
        if gt is None:
            domain[name] = _domain_check(trained, noisy)
        rec = trained.record
        model_facts.append({"ref": ref, "task": trained.config.task, "dropout": trained.spec.dropout,
                            "weights_sha256": getattr(rec, "weights_sha256", None),
                            "mc_samples": options.mc_samples if name in uncertainty else 0})
    if not outputs:
        raise InputError("compare_denoisers: no method to run (give methods=... and, for dl, model=...)")

    progress("QC")
    values: dict[str, Any] = {
        "ground_truth": "given" if gt is not None else "none",
        "methods": ", ".join(outputs),
        "noisy_sha256": pixels_sha256(noisy.data),
        "seed": options.seed,
    }
    if pure_params:
        values.update({f"puredenoise_{k}": v for k, v in pure_params.items()})
    images: dict[str, Image] = dict(outputs)
    files: dict[str, Any] = {}
    if gt is not None:
        values["gt_sha256"] = pixels_sha256(gt.data)
        table, maps, summary = _score(gt, noisy, outputs, kinds, options, ctx)
        images.update(maps)
        values.update(_ranking_values(table, summary))
        columns = TABLE_COLUMNS
    else:
        values["message"] = NO_GT_MESSAGE if uncertainty else (
            "no ground truth given: outputs cannot be scored" + (
                "; no DL model with dropout, so no MC-dropout uncertainty map either" if models
                else "; give model=NAME (trained with dropout) for an MC-dropout uncertainty map"))
        table = []
        for name, img in outputs.items():
            row: dict[str, Any] = {"method": name, "kind": kinds[name], "mean": float(img.data.mean()),
                                   "std": float(img.data.std())}
            if name in uncertainty:
                u = uncertainty[name].data
                row.update(uncertainty_mean=float(u.mean()), uncertainty_max=float(u.max()))
            row.update(domain.get(name, {}))
            table.append(row)
        out_of_domain = [n for n, d in domain.items() if d.get("in_domain") is False]
        if out_of_domain:
            values["message"] += ("; OUT OF DOMAIN for " + ", ".join(out_of_domain) + ": the image is unlike "
                                  "the model's training data, do not trust its output without ground truth")
        values["out_of_domain"] = ", ".join(out_of_domain)
        images.update({img.title: img for img in uncertainty.values()})
        columns = NO_GT_COLUMNS
    provenance = {"operation": "compare_denoisers", "options": options.model_dump(mode="json"),
                  "date": datetime.now(UTC).isoformat(timespec="seconds"), "models": model_facts,
                  "inputs": {k: pixels_sha256(v.data) for k, v in inputs.items()}, **_versions()}
    if ctx.out_dir is not None:
        out = ctx.out_dir
        out.mkdir(parents=True, exist_ok=True)
        files["comparison_csv"] = atomic_write_text(out / "comparison.csv", _csv(columns, table))
        if options.figure:
            png = comparison_figure(noisy, gt, outputs, images, uncertainty, table)
            files["comparison_png"] = atomic_write_bytes(out / "comparison.png", png)
        files["provenance"] = atomic_write_text(out / "provenance.json",
                                                json.dumps(dict(provenance, table=table, values=values),
                                                           indent=2, default=str) + "\n")
        files.update({k: v for k, v in ctx_files(ctx).items()})
    ctx.progress(1.0, "done")
    values["models"] = ", ".join(f["ref"] for f in model_facts)
    return OpResult(images=images, table=table, values=values, files=files)


def _domain_check(trained: Any, image: Image) -> dict[str, Any]:
    """Domain-check columns of a DL row (a note instead when the model has no reference)."""
    from fijax.ops.check import check_values

    try:
        row = check_values(trained, image)
    except InputError as exc:
        return {"domain_note": str(exc)}
    return {"domain_score": row["domain_score"], "in_domain": row["in_domain"],
            "domain_note": f"threshold {row['threshold']:.3g} at {row['false_alarm_rate']:.0%} false alarms"}


def ctx_files(ctx: OpContext) -> dict[str, Any]:
    """Files QC's comparison wrote in ``ctx.out_dir`` (compare.csv/png, summary.json)."""
    out = ctx.out_dir
    names = {"qc_compare_csv": "compare.csv", "qc_compare_png": "compare.png", "qc_summary": "summary.json"}
    return {k: out / v for k, v in names.items() if out is not None and (out / v).is_file()}


def _versions() -> dict[str, Any]:
    from fijax.versions import library_versions

    return {"versions": library_versions()}


def _match_axes(pred: np.ndarray, like: Image) -> np.ndarray:
    pred = np.asarray(pred, np.float32)
    if pred.shape != like.shape and pred.size == like.data.size:
        pred = pred.reshape(like.shape)
    if pred.shape != like.shape:
        raise InputError(f"model output shape {pred.shape} does not match the input {like.shape}")
    return pred


def _load_models(refs: list[str]) -> list[tuple[str, Any]]:
    from fijax.engine.model import load_model

    out = []
    for ref in refs:
        trained = load_model(ref)
        if trained.config.ndim != 2:
            raise InputError(f"compare_denoisers: model {ref!r} is {trained.config.ndim}D; use a 2D model")
        rec = trained.record
        out.append((rec.ref if rec is not None else ref, trained))
    return out


def _score(gt: Image, noisy: Image, outputs: dict[str, Image], kinds: dict[str, str],
           options: CompareDenoisersOptions, ctx: OpContext) -> tuple[list[dict], dict[str, Image], dict]:
    """Rank every output and the raw input on the GT; SSIM/RSE maps of each."""
    from fijax.qc.dataset import compare_methods
    from fijax.qc.restoration import restoration_metrics

    baseline = "PureDenoise" if "PureDenoise" in outputs else None
    res = compare_methods({"image": gt}, {n: {"image": img} for n, img in outputs.items()},
                          source={"image": noisy}, out_dir=ctx.out_dir, baseline=baseline,
                          normalize=options.normalize,
                          data_range=None if options.normalize else _data_range(gt),
                          plot=options.figure, is_cancelled=ctx.is_cancelled)
    raw = next(r for r in res.rows if r["method"] == "source")
    table = []
    for r in res.rows:
        name = "Raw" if r["method"] == "source" else r["method"]
        row = {"rank": r["rank"], "method": name, "kind": "input" if name == "Raw" else kinds[name],
               "ssim": r["mean_ssim"], "psnr": r["mean_psnr"], "nrmse": r["mean_nrmse"],
               "sqrt_mae": r["mean_sqrt_mae"], "rmse": r["mean_rmse"],
               "fg_ssim": r["mean_fg_ssim"],
               "ssim_gain": r["mean_ssim"] - raw["mean_ssim"], "psnr_gain": r["mean_psnr"] - raw["mean_psnr"],
               "verdict": "raw input" if name == "Raw" else (r["verdict_vs_baseline"] or r["verdict_vs_source"])}
        table.append(row)
    maps: dict[str, Image] = {}
    for name, img in {"Raw": noisy, **outputs}.items():
        ctx.check_cancelled()
        m = restoration_metrics(gt.data, img.data, normalize=options.normalize,
                                data_range=None if options.normalize else _data_range(gt), maps=True)
        maps[f"SSIM map {name}"] = gt.with_data(np.asarray(m["ssim_map"], np.float32), title=f"SSIM map {name}")
        maps[f"RSE map {name}"] = gt.with_data(np.asarray(m["rse_map"], np.float32), title=f"RSE map {name}")
    return table, maps, res.summary


def _ranking_values(table: list[dict], summary: dict) -> dict[str, Any]:
    """Values naming the best method: only one leading on both PSNR and structure SSIM (compare_methods)."""
    first = next(r for r in table if r["method"] != "Raw")
    raw = next(r for r in table if r["method"] == "Raw")
    return {"best_method": summary["best"] or "none (metrics disagree)", "best_ssim": first["ssim"],
            "best_psnr": first["psnr"], "first_ranked": first["method"],
            "metrics_disagree": "; ".join(summary["disagreements"]) or "no",
            "raw_ssim": raw["ssim"], "raw_psnr": raw["psnr"]}


def _data_range(gt: Image) -> float:
    return float(gt.data.max() - gt.data.min()) or 1.0


def _csv(columns: tuple[str, ...], rows: list[dict]) -> str:
    return csv_text(rows, columns, extra=False, fmt=lambda v: f"{v:.6g}" if isinstance(v, float) else v)


def _plane(a: np.ndarray) -> np.ndarray:
    a = np.asarray(a)
    while a.ndim > 2:
        a = a[a.shape[0] // 2]
    return a


def comparison_figure(noisy: Image, gt: Image | None, outputs: dict[str, Image], images: dict[str, Image],
                      uncertainty: dict[str, Image], table: list[dict]) -> bytes:
    """PNG: top row the source, every output and the GT (same display range); below, the SSIM and RSE
    maps (with GT; one colour scale per row, the RSE scale fitted to the maps) and the methods ranked by
    SSIM -- the ranking metric -- with PSNR beside each bar; without GT, the MC-dropout std maps (in
    the image's intensity units). Middle slice of a stack."""
    import io
    import textwrap

    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    from fijax.qc.figures import SOURCE_LABEL

    def label(name: str) -> str:
        return "\n".join(textwrap.wrap(SOURCE_LABEL if name == "Raw" else name, 24))

    by_method = {r["method"]: r for r in table}
    ref = _plane((gt if gt is not None else noisy).data)
    lo, hi = np.percentile(ref, [0.5, 99.8])
    cols = ["Raw", *outputs]
    unc = [n for n in cols if n in uncertainty] if gt is None else []
    n_rows = 3 if gt is not None else 1
    n_cols = len(cols) + (1 if gt is not None else len(unc))  # without GT: the std maps follow on the right
    fig = plt.figure(figsize=(2.25 * n_cols + 0.9, 2.35 * n_rows + 0.7), layout="constrained")
    grid = fig.add_gridspec(n_rows, n_cols)
    img_axes = []
    for j, name in enumerate(cols):
        ax = fig.add_subplot(grid[0, j])
        img_axes.append(ax)
        ax.imshow(_plane((noisy if name == "Raw" else outputs[name]).data), cmap="gray", vmin=lo, vmax=hi)
        r = by_method.get(name, {})
        sub = f"\nSSIM {r['ssim']:.3f}, PSNR {r['psnr']:.1f} dB" if "ssim" in r else ""
        ax.set_title(f"{label(name)}{sub}", fontsize=8)
        ax.set_axis_off()
    if gt is not None:
        ax = fig.add_subplot(grid[0, -1])
        ax.imshow(ref, cmap="gray", vmin=lo, vmax=hi)
        ax.set_title("ground truth", fontsize=8)
        ax.set_axis_off()
        # SSIM maps on 0-1; RSE maps on one scale fitted to the data (99.5th percentile of all maps), so
        # the methods compare at a glance and the maps are not black on a 0-1 scale
        rse = [_plane(images[f"RSE map {n}"].data) for n in cols if f"RSE map {n}" in images]
        rse_max = max((float(np.percentile(m, 99.5)) for m in rse), default=1.0) or 1.0
        for i, (kind, cmap, vmax, unit) in enumerate((("SSIM map", "magma", 1.0, "local SSIM (0-1)"),
                                                      ("RSE map", "inferno", rse_max,
                                                       "|GT - image| (normalised intensity)")), start=1):
            row = []
            im = None
            for j, name in enumerate(cols):
                m = images.get(f"{kind} {name}")
                if m is None:
                    continue
                ax = fig.add_subplot(grid[i, j])
                im = ax.imshow(_plane(m.data), cmap=cmap, vmin=0.0, vmax=vmax)
                ax.set_title(f"{kind.split()[0]}: {label(name)}", fontsize=7)
                ax.set_axis_off()
                row.append(ax)
            if im is not None:
                fig.colorbar(im, ax=row, shrink=0.85, pad=0.01).set_label(unit, fontsize=7)
        ax = fig.add_subplot(grid[1:, -1])
        ranked = sorted(table, key=lambda r: (-r["ssim"], -r["psnr"]))
        names = [r["method"] for r in ranked]
        best_ssim = next((r for r in ranked if r["method"] != "Raw"), ranked[0])
        best_psnr = max((r for r in ranked if r["method"] != "Raw"), key=lambda r: r["psnr"], default=best_ssim)
        colors = ["0.65" if n == "Raw" else ("C3" if n == best_ssim["method"] else "C0") for n in names]
        ax.barh(range(len(names)), [r["ssim"] for r in ranked], color=colors)
        for k, r in enumerate(ranked):
            ax.text(r["ssim"] + 0.01, k, f"{r['ssim']:.3f} ({r['psnr']:.1f} dB)", va="center", fontsize=6)
        ax.set_yticks(range(len(names)), [label(n).replace("\n", " ")[:28] for n in names], fontsize=6)
        ax.invert_yaxis()
        ax.set_xlim(0, 1.35)
        ax.set_xlabel("SSIM vs GT (PSNR in brackets)", fontsize=7)
        ax.tick_params(axis="x", labelsize=6)
        note = f"best by SSIM: {best_ssim['method']}"
        if best_psnr["method"] != best_ssim["method"]:
            note += f"\nbest by PSNR: {best_psnr['method']}\n(the metrics disagree)"
        ax.set_title("ranked by SSIM\n" + note, fontsize=7)
        fig.suptitle("Denoisers against the ground truth (SSIM and RSE maps: GT vs each image)", fontsize=10)
    elif unc:
        for j, name in enumerate(unc, start=len(cols)):
            ax = fig.add_subplot(grid[0, j])
            im = ax.imshow(_plane(uncertainty[name].data), cmap="viridis")
            ax.set_title(f"MC-dropout std: {label(name)}", fontsize=7)
            ax.set_axis_off()
            fig.colorbar(im, ax=ax, shrink=0.85, pad=0.01).set_label(
                "std (intensity units of the input)", fontsize=7)
        fig.suptitle("No ground truth given: Monte-Carlo-dropout uncertainty instead of QC", fontsize=10)
    else:
        fig.suptitle("No ground truth given", fontsize=10)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=120)
    plt.close(fig)
    return buf.getvalue()
