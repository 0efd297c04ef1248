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
    for k, (name, img) in enumerate(cols, start=1):
        show(axes[0, k], img, name)
        m = metrics.get(name) or {}
        ssim_label = f"SSIM GT vs {name}" + (f"\nmSSIM {m['ssim']:.3f}" if "ssim" in m else "")
        rse_label = f"RSE GT vs {name}" + (f"\nRMSE {m['rmse']:.3f}, PSNR {m['psnr']:.2f} dB" if "psnr" in m else "")
        show(axes[1, k], maps.get(f"ssim_{name}"), ssim_label, cmap="CMRmap", vmin=0.0, vmax=1.0)
        show(axes[2, k], maps.get(f"rse_{name}"), rse_label, cmap="CMRmap", vmin=0.0, vmax=1.0)
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


def comparison_chart(methods: Sequence[str], per_image: Mapping[str, Mapping[str, Sequence[float]]],
                     title: str) -> bytes:
    """Bars of the mean SSIM and PSNR per method (ranked order) with each image's value as a dot."""
    plt = _pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(max(8, 1.6 * len(methods) + 4), 5))
    x = np.arange(len(methods))
    for ax, metric, unit in ((axes[0], "ssim", ""), (axes[1], "psnr", " (dB)")):
        means = [float(np.mean(per_image[m][metric])) for m in methods]
        ax.bar(x, means, color="#4c72b0", alpha=0.8)
        for i, m in enumerate(methods):
            vals = np.asarray(per_image[m][metric], dtype=float)
            ax.plot(np.full(vals.size, i), vals, "k.", alpha=0.6)
        ax.set_xticks(x)
        ax.set_xticklabels(methods, rotation=30, ha="right")
        ax.set_ylabel(metric.upper() + unit)
        ax.grid(True, axis="y", alpha=0.3)
    fig.suptitle(title)
    return _png(fig)
