"""How far to trust the Monte-Carlo-dropout std map: its calibration on the validation split.

At the end of training (models with dropout and a ground-truth target), every validation patch is
predicted ``samples`` times with dropout on; per pixel the MC mean, the MC std and the actual
error ``|mean − target|`` (normalised units) are compared:

* ``spearman`` / ``pearson``: rank and linear correlation of std with |error| (over pixels);
* ``error_to_std``: mean |error| / mean std (1 = std as large as the error on average; > 1 means
  the std underestimates the error that many times);
* ``curve``: pixels binned by std (deciles); per bin the mean std, mean |error| and RMSE — a
  reliability curve (a calibrated std gives RMSE ≈ std in every bin).

Stored in the model card (``uncertainty_calibration``) and drawn in the training report.
"""

from __future__ import annotations

from typing import Any

import jax
import numpy as np

#: Dropout passes and pixels used for the calibration.
SAMPLES = 16
MAX_PIXELS = 200_000


def _why_not(trained: Any, val_y: np.ndarray | None) -> str | None:
    spec, config = trained.spec, trained.config
    if spec.dropout <= 0:
        return "the model has no dropout (train with --dropout to get an uncertainty map)"
    if val_y is None:
        return "the validation split has no ground-truth target (self-supervised training)"
    if trained.task.output_kinds(config).get("prediction") != "intensity":
        return f"task {config.task!r} predicts no intensity image"
    if val_y.shape[-1] != spec.out_channels:
        return "targets and predictions differ in channels"
    return None


def mc_calibration(trained: Any, val_x: np.ndarray, val_y: np.ndarray | None, *, samples: int = SAMPLES,
                   bins: int = 10, seed: int = 0) -> dict[str, Any]:
    """MC-dropout std vs |error| on normalised validation patches ``(N, *patch, C)``.

    Returns
    -------
    dict
        ``{"available": False, "reason": ...}`` when not applicable; else ``available``,
        ``samples``, ``pixels``, ``spearman``, ``pearson``, ``mean_std``, ``mean_abs_error``,
        ``error_to_std`` and ``curve`` (list of ``{"std", "abs_error", "rmse", "pixels"}``).
    """
    from scipy.stats import spearmanr

    from fijax.engine.predict import make_forward

    reason = _why_not(trained, val_y)
    if reason:
        return {"available": False, "reason": reason}
    forward = make_forward(trained.model, trained.config)
    x = np.asarray(val_x, np.float32)
    base = jax.random.key(seed)
    m1 = np.zeros(x.shape[:-1] + (trained.spec.out_channels,), np.float64)
    m2 = np.zeros_like(m1)
    for s in range(samples):
        p = np.asarray(forward(x, jax.random.fold_in(base, s))["prediction"], np.float64)
        m1 += p
        m2 += p * p
    mean = m1 / samples
    std = np.sqrt(np.maximum(m2 / samples - mean * mean, 0.0)).ravel()
    err = np.abs(mean - np.asarray(val_y, np.float64)).ravel()
    if std.size > MAX_PIXELS:  # a fixed subsample keeps the rank correlation cheap
        idx = np.random.default_rng(seed).choice(std.size, MAX_PIXELS, replace=False)
        std, err = std[idx], err[idx]
    rho = float(spearmanr(std, err).statistic) if np.ptp(std) > 0 and np.ptp(err) > 0 else float("nan")
    r = float(np.corrcoef(std, err)[0, 1]) if np.ptp(std) > 0 and np.ptp(err) > 0 else float("nan")
    edges = np.unique(np.quantile(std, np.linspace(0, 1, bins + 1)))
    which = np.clip(np.searchsorted(edges, std, side="right") - 1, 0, max(len(edges) - 2, 0))
    curve = []
    for b in range(max(len(edges) - 1, 1)):
        sel = which == b
        if sel.any():
            curve.append({"std": float(std[sel].mean()), "abs_error": float(err[sel].mean()),
                          "rmse": float(np.sqrt(np.mean(err[sel] ** 2))), "pixels": int(sel.sum())})
    mean_std, mean_err = float(std.mean()), float(err.mean())
    return {"available": True, "samples": samples, "pixels": int(std.size), "patches": int(len(x)),
            "units": "normalised intensity (training percentiles)", "spearman": rho, "pearson": r,
            "mean_std": mean_std, "mean_abs_error": mean_err,
            "error_to_std": mean_err / mean_std if mean_std > 0 else float("inf"), "curve": curve}
