"""QC figures with matplotlib (Agg backend): per-image panels, threshold curves, method comparison.

Every function returns PNG bytes; callers write them atomically.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence

import numpy as np


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight")
    _pyplot().close(fig)
    return buf.getvalue()


def _display_range(img: np.ndarray) -> tuple[float, float]:
    lo, hi = np.percentile(img, [1.0, 99.8])
    if hi <= lo:
        hi = lo + 1.0
    return float(lo), float(hi)


def restoration_panel(title: str, gt: np.ndarray, prediction: np.ndarray, source: np.ndarray | None,
                      maps: Mapping[str, np.ndarray], metrics: Mapping[str, Mapping[str, float]]) -> bytes:
    """3x3 panel (ZeroCostDL4Mic layout): images on top, SSIM maps, then RSE maps, with colour bars.

    Parameters
    ----------
    title : str
        Figure title (file name and slice).
    gt, prediction, source : numpy.ndarray, (Y, X)
        The slice shown; ``source`` may be ``None``.
    maps : mapping
        ``ssim_prediction``, ``rse_prediction`` and, with a source, ``ssim_source``, ``rse_source``.
    metrics : mapping
        ``{"prediction": {...}, "source": {...}}`` with ``ssim``, ``psnr``, ``sqrt_mae``, ``rmse``.
    """
    plt = _pyplot()
    fig, axes = plt.subplots(3, 3, figsize=(13, 12.5))
    fig.suptitle(title)
    cols = [("source", source), ("prediction", prediction)]

    def show(ax, img, label, cmap="gray", vmin=None, vmax=None):
        if img is None:
            ax.axis("off")
            ax.text(0.5, 0.5, f"no {label}", ha="center", va="center", transform=ax.transAxes)
            return
        if vmin is None:
            vmin, vmax = _display_range(img)
        im = ax.imshow(img, cmap=cmap, vmin=vmin, vmax=vmax, interpolation="nearest")
        ax.set_title(label)
        ax.set_xticks([])
        ax.set_yticks([])
        fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)

    show(axes[0, 0], gt, "ground truth")
    # one RSE scale for both maps, fitted to them (on 0-1 a good prediction's map is all black)
    rse = [maps[f"rse_{n}"] for n, _ in cols if maps.get(f"rse_{n}") is not None]
    rse_max = max((float(np.percentile(m, 99.5)) for m in rse), default=1.0) or 1.0
    for k, (name, img) in enumerate(cols, start=1):
        show(axes[0, k], img, name)
        m = metrics.get(name) or {}
        ssim_label = f"SSIM GT vs {name}" + (f"\nmSSIM {m['ssim']:.3f}" if "ssim" in m else "")
        rse_label = f"RSE GT vs {name}" + (f"\nRMSE {m['rmse']:.3f}, PSNR {m['psnr']:.2f} dB" if "psnr" in m else "")
        show(axes[1, k], maps.get(f"ssim_{name}"), ssim_label, cmap="CMRmap", vmin=0.0, vmax=1.0)
        show(axes[2, k], maps.get(f"rse_{name}"), rse_label, cmap="CMRmap", vmin=0.0, vmax=rse_max)
    for ax in (axes[1, 0], axes[2, 0]):
        ax.axis("off")
    lines = []
    for name in ("prediction", "source"):
        m = metrics.get(name)
        if m:
            lines += [f"{name} vs GT:", f"  SSIM {m['ssim']:.4f}", f"  PSNR {m['psnr']:.2f} dB",
                      f"  RMSE {m['rmse']:.4f}", f"  sqrt(MAE) {m['sqrt_mae']:.4f}", ""]
    verdict = metrics.get("verdict")
    if verdict:
        lines += ["verdict:", f"  {verdict}"]
    axes[1, 0].text(0.0, 1.0, "\n".join(lines), va="top", ha="left", transform=axes[1, 0].transAxes,
                    fontsize=10, family="monospace")
    return _png(fig)


def threshold_curves(thresholds: Sequence[float], curves: Mapping[str, Sequence[float]], title: str,
                     criterion: str = "iou") -> bytes:
    """Precision / recall / F1 (and any other given curve) against the matching threshold."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 5))
    for name, values in curves.items():
        ax.plot(thresholds, values, marker="o", label=name)
    ax.set_xlabel(f"{criterion.upper()} threshold (match when score >= threshold)")
    ax.set_ylabel("value")
    ax.set_ylim(-0.02, 1.02)
    ax.grid(True, alpha=0.3)
    ax.legend()
    ax.set_title(title)
    return _png(fig)


#: How the figures name the raw input (QC's ``source``; the flagship table's ``Raw`` row).
SOURCE_LABEL = "source (raw input)"


def comparison_chart(methods: Sequence[str], per_image: Mapping[str, Mapping[str, Sequence[float]]],
                     title: str, best: str | None = None) -> bytes:
    """Bars of the mean PSNR, structure SSIM and whole-image SSIM per method (ranked order), each image as a dot.

    The raw input is grey; only ``best`` (the method first on both PSNR and structure SSIM, from
    :func:`fijax.qc.compare_methods`) is red, so the figure never crowns a method one metric favours
    and another does not. Each panel names the method that metric puts first and says when it is not
    ``best``. Without structure values (older callers) the structure panel is left out.
    """
    import textwrap

    plt = _pyplot()
    metrics = [("psnr", "PSNR", " (dB)"), ("fg_ssim", "structure SSIM", ""), ("ssim", "whole-image SSIM", "")]
    metrics = [m for m in metrics if all(m[0] in per_image[x] for x in methods)]
    fig, axes = plt.subplots(1, len(metrics), figsize=(max(9, 2.0 * len(methods) + 5), 5), layout="constrained")
    axes = np.atleast_1d(axes)
    x = np.arange(len(methods))
    names = ["\n".join(textwrap.wrap(SOURCE_LABEL if m in ("source", "Raw") else m, 22)) for m in methods]
    methods_only = [i for i, m in enumerate(methods) if m not in ("source", "Raw")] or list(range(len(methods)))

    def mean(m: str, metric: str) -> float:
        vals = np.asarray(per_image[m][metric], dtype=float)
        vals = vals[np.isfinite(vals)]
        return float(vals.mean()) if vals.size else float("nan")

    for ax, (metric, label, unit) in zip(axes, metrics, strict=True):
        means = [mean(m, metric) for m in methods]
        lead = max(methods_only, key=lambda i: -np.inf if np.isnan(means[i]) else means[i])
        colors = ["0.65" if m in ("source", "Raw") else ("C3" if m == best else "C0") for m in methods]
        ax.bar(x, means, color=colors, alpha=0.85)
        for i, m in enumerate(methods):
            vals = np.asarray(per_image[m][metric], dtype=float)
            ax.plot(np.full(vals.size, i), vals, "k.", alpha=0.6)
            ax.annotate(f"{means[i]:.1f}" if metric == "psnr" else f"{means[i]:.3f}", (i, means[i]),
                        xytext=(0, 3), textcoords="offset points", ha="center", fontsize=8)
        ax.set_xticks(x)
        ax.set_xticklabels(names, rotation=25, ha="right", fontsize=8)
        ax.set_ylabel(f"mean {label}{unit} vs ground truth")
        ax.grid(True, axis="y", alpha=0.3)
        first = methods[lead]
        note = "" if first == best else (" (not the agreed best)" if best else " (no agreed best)")
        ax.set_title(f"{label}: first {first}{note}", fontsize=10)
    fig.suptitle(title)
    return _png(fig)
