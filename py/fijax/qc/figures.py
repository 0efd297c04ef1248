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
                     title: str) -> bytes:
    """Bars of the mean SSIM and PSNR per method in ranked (SSIM) order, each image's value as a dot.

    The source (raw input) is grey, the best method by SSIM red; when PSNR ranks another method first
    the PSNR panel says so, so the bars never seem to contradict the ranking.
    """
    import textwrap

    plt = _pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(max(8, 1.6 * len(methods) + 4), 5), layout="constrained")
    x = np.arange(len(methods))
    names = ["\n".join(textwrap.wrap(SOURCE_LABEL if m in ("source", "Raw") else m, 22)) for m in methods]
    means = {metric: [float(np.mean(per_image[m][metric])) for m in methods] for metric in ("ssim", "psnr")}
    methods_only = [i for i, m in enumerate(methods) if m not in ("source", "Raw")] or list(range(len(methods)))
    best = {metric: max(methods_only, key=lambda i: means[metric][i]) for metric in means}
    for ax, metric, unit in ((axes[0], "ssim", ""), (axes[1], "psnr", " (dB)")):
        colors = ["0.65" if m in ("source", "Raw") else ("C3" if i == best["ssim"] else "C0")
                  for i, m in enumerate(methods)]
        ax.bar(x, means[metric], color=colors, alpha=0.85)
        for i, m in enumerate(methods):
            vals = np.asarray(per_image[m][metric], dtype=float)
            ax.plot(np.full(vals.size, i), vals, "k.", alpha=0.6)
            ax.annotate(f"{means[metric][i]:.3f}" if metric == "ssim" else f"{means[metric][i]:.1f}",
                        (i, means[metric][i]), xytext=(0, 3), textcoords="offset points", ha="center",
                        fontsize=8)
        ax.set_xticks(x)
        ax.set_xticklabels(names, rotation=25, ha="right", fontsize=8)
        ax.set_ylabel(f"mean {metric.upper()}{unit} vs ground truth")
        ax.grid(True, axis="y", alpha=0.3)
    axes[0].set_title(f"SSIM (ranking metric): best {methods[best['ssim']]}", fontsize=10)
    psnr_title = f"PSNR: best {methods[best['psnr']]}"
    if best["psnr"] != best["ssim"]:
        psnr_title += " (PSNR and SSIM disagree)"
    axes[1].set_title(psnr_title, fontsize=10)
    fig.suptitle(title)
    return _png(fig)
