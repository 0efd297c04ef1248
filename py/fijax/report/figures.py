"""Report figures rendered with matplotlib (Agg) to base64 PNG strings for embedding in HTML."""

from __future__ import annotations

import base64
import io
import math
from collections.abc import Mapping, Sequence

import numpy as np


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def to_b64(fig) -> str:
    """Render a matplotlib figure to a base64-encoded PNG and close it."""
    plt = _pyplot()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def loss_curve(history: Sequence[Mapping[str, float]], log: bool) -> str:
    """Training and validation loss per epoch, linear or log y axis (base64 PNG)."""
    plt = _pyplot()
    epochs = [r["epoch"] for r in history]
    fig, ax = plt.subplots(figsize=(5.5, 3.4))
    for key, label in (("loss", "training loss"), ("val_loss", "validation loss")):
        vals = [r.get(key) for r in history]
        if log:  # a log axis cannot show non-positive losses (e.g. Laplace NLL)
            vals = [v if v is not None and v > 0 else math.nan for v in vals]
        ax.plot(epochs, vals, marker="o", ms=3, label=label)
    if log:
        ax.set_yscale("log")
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss (log scale)" if log else "loss")
    ax.grid(True, alpha=0.3)
    ax.legend()
    return to_b64(fig)


def _plane(a: np.ndarray) -> np.ndarray:
    """A 2D view of one patch ``(*spatial, C)``: middle Z plane, first channel."""
    a = np.asarray(a)
    if a.ndim == 4:  # Z, Y, X, C
        a = a[a.shape[0] // 2]
    return a[..., 0] if a.ndim == 3 else a


def patch_grid(columns: Mapping[str, np.ndarray]) -> str:
    """One row per patch, one column per named stack of patches (e.g. source, target, prediction).

    Columns named ``... (classes)`` hold integer class maps and share one discrete colour scale;
    the others are scaled with the first column's 1–99.8 percentiles.
    """
    plt = _pyplot()
    names = list(columns)
    n_rows = min(len(v) for v in columns.values())
    fig, axes = plt.subplots(n_rows, len(names), figsize=(2.3 * len(names), 2.3 * n_rows), squeeze=False)
    for i in range(n_rows):
        ref = _plane(columns[names[0]][i])
        lo, hi = np.percentile(ref, [1, 99.8])
        for j, name in enumerate(names):
            ax = axes[i, j]
            if "classes" in name:  # class maps: one fixed colour per class, not intensity-scaled
                n = max(int(np.max(columns[c][:n_rows])) for c in names if "classes" in c) + 1
                ax.imshow(_plane(columns[name][i]), cmap="viridis", vmin=0, vmax=max(n - 1, 1),
                          interpolation="nearest")
            else:
                ax.imshow(_plane(columns[name][i]), cmap="magma", vmin=lo, vmax=hi if hi > lo else lo + 1)
            ax.set_xticks([])
            ax.set_yticks([])
            if i == 0:
                ax.set_title(name)
    fig.tight_layout()
    return to_b64(fig)


def image_panel(images: Mapping[str, np.ndarray], cmaps: Mapping[str, str] | None = None,
                ranges: Mapping[str, tuple[float, float]] | None = None) -> str:
    """A row of named 2D images with colour bars (QC panels: source, prediction, GT, maps)."""
    plt = _pyplot()
    cmaps = dict(cmaps or {})
    ranges = dict(ranges or {})
    fig, axes = plt.subplots(1, len(images), figsize=(3.2 * len(images), 3.2), squeeze=False)
    for ax, (name, img) in zip(axes[0], images.items(), strict=True):
        plane = np.asarray(img, np.float32)
        while plane.ndim > 2:
            plane = plane[plane.shape[0] // 2]
        vmin, vmax = ranges.get(name, (None, None))
        im = ax.imshow(plane, cmap=cmaps.get(name, "gray"), vmin=vmin, vmax=vmax)
        ax.set_title(name)
        ax.set_xticks([])
        ax.set_yticks([])
        fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    fig.tight_layout()
    return to_b64(fig)


def xy_plot(x: Sequence[float], series: Mapping[str, Sequence[float]], xlabel: str, ylabel: str) -> str:
    """Lines of several series over one x (e.g. precision/recall/F1 vs IoU threshold)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5.5, 3.4))
    for name, ys in series.items():
        ax.plot(list(x), list(ys), marker="o", ms=3, label=name)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(True, alpha=0.3)
    ax.legend()
    return to_b64(fig)


def calibration_curve(curve: Sequence[Mapping[str, float]]) -> str:
    """MC-dropout reliability curve: per std bin, mean std vs RMSE and mean |error| (base64 PNG).

    A calibrated std lies on the diagonal (RMSE = std); points above it mean the std
    underestimates the error.
    """
    plt = _pyplot()
    std = [b["std"] for b in curve]
    fig, ax = plt.subplots(figsize=(4.6, 3.6))
    ax.plot(std, [b["rmse"] for b in curve], marker="o", ms=4, label="RMSE in bin")
    ax.plot(std, [b["abs_error"] for b in curve], marker="s", ms=3, label="mean |error| in bin")
    hi = max(max(std), max(b["rmse"] for b in curve)) * 1.05 if curve else 1.0
    ax.plot([0, hi], [0, hi], "k--", lw=0.8, label="calibrated (error = std)")
    ax.set_xlabel("MC-dropout std (bin mean, normalised units)")
    ax.set_ylabel("error (normalised units)")
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    return to_b64(fig)
