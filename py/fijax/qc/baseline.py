"""Verdicts against a baseline method, and metrics restricted to the structure.

A prediction that beats the raw input can still be worse than a classical method (a model
trained on nuclei and applied to filaments gives a clean background and broadened, dimmed
filaments). Whole-image means are dominated by the background, so the verdict also looks at the
**structure**: the GT foreground.

Structure rule (:data:`STRUCTURE_RULE`)
---------------------------------------
Per 2D slice of the GT: foreground = pixels above the slice's Otsu threshold, dilated by a disk of
radius :data:`FOREGROUND_DILATION` (3 px) so that the edges of thin structures and the halo a
broadening model adds are inside. The structure metrics are computed on the very pair the
whole-image metrics use (``norm_minmse``-normalised by default) over that mask:
``fg_ssim`` = mean of the SSIM map over the mask (inside the 5-px border the mean SSIM ignores),
``fg_psnr`` = PSNR of the masked pixels, ``fg_rmse`` = their RMSE. A constant GT slice has no
foreground: its structure metrics are NaN and the verdict uses the whole-image SSIM instead.

Verdict rule (:data:`BASELINE_VERDICT_RULE`, :func:`baseline_verdict`)
----------------------------------------------------------------------
1. no source -> ``"no source"``;
2. the prediction must beat the source on BOTH whole-image SSIM and PSNR, else ``"does not improve"``;
3. with a baseline: ``"better than baseline"`` only when the prediction beats the baseline on
   whole-image PSNR by more than :data:`PSNR_MARGIN` dB AND on the structure SSIM by more than
   :data:`SSIM_MARGIN`; otherwise ``"not better than baseline"``. Ties go against the prediction.
4. without a baseline the legacy verdict ``"improves"`` is kept (it only says the output beats the
   raw input, not that the model suits the data).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
from scipy import ndimage

__all__ = [
    "BASELINE_VERDICT_RULE", "BETTER", "DOES_NOT_IMPROVE", "FOREGROUND_DILATION", "IMPROVES", "NOT_BETTER",
    "NO_SOURCE", "PSNR_MARGIN", "SSIM_MARGIN", "STRUCTURE_METRICS", "STRUCTURE_RULE", "VERDICTS",
    "baseline_verdict", "is_acceptable", "structure_mask", "structure_metrics",
]

BETTER = "better than baseline"
NOT_BETTER = "not better than baseline"
DOES_NOT_IMPROVE = "does not improve"
NO_SOURCE = "no source"
#: Verdict without a baseline: beats the raw input only.
IMPROVES = "improves"
#: Every verdict value with a baseline (the exact strings of ``summary.json``).
VERDICTS = (BETTER, NOT_BETTER, DOES_NOT_IMPROVE, NO_SOURCE)

#: The prediction must beat the baseline's whole-image PSNR by more than this (dB).
PSNR_MARGIN = 0.1
#: ... and the baseline's structure SSIM by more than this.
SSIM_MARGIN = 0.005
#: Radius (px) of the disk dilating the Otsu foreground of the GT.
FOREGROUND_DILATION = 3
#: Border (px) left out of the structure SSIM, as the mean SSIM crops it (scikit-image ``crop``).
_SSIM_CROP = 5

#: Structure metrics computed for prediction, source and baseline (``pred_fg_ssim`` ...).
STRUCTURE_METRICS = ("fg_ssim", "fg_psnr", "fg_rmse")

STRUCTURE_RULE = (
    f"structure = GT pixels above the Otsu threshold of their 2D slice, dilated by a disk of radius "
    f"{FOREGROUND_DILATION} px; fg_ssim = mean SSIM map over it (5-px border excluded), fg_psnr and fg_rmse "
    "from the squared errors over it, on the same (normalised) pair as the whole-image metrics; "
    "a constant GT slice has no structure (NaN) and the whole-image SSIM stands in for fg_ssim"
)

BASELINE_VERDICT_RULE = (
    "'does not improve' unless the prediction is closer to the ground truth than the source on BOTH "
    "whole-image SSIM and PSNR; then 'better than baseline' only when it also beats the baseline on "
    f"whole-image PSNR by more than {PSNR_MARGIN} dB AND on the structure SSIM (fg_ssim) by more than "
    f"{SSIM_MARGIN}, otherwise 'not better than baseline' (ties go against the prediction). Without a source: "
    "'no source'. Per image on the mean over its slices, for the dataset on the mean over all slices. "
    + STRUCTURE_RULE + "."
)


def _num(v: Any) -> float | None:
    if v is None:
        return None
    f = float(v)
    return None if math.isnan(f) else f


def _structure(m: Mapping[str, Any]) -> float | None:
    s = _num(m.get("fg_ssim"))
    return s if s is not None else _num(m.get("ssim"))


def baseline_verdict(pred: Mapping[str, Any], source: Mapping[str, Any] | None,
                     baseline: Mapping[str, Any] | None = None, *, psnr_margin: float = PSNR_MARGIN,
                     ssim_margin: float = SSIM_MARGIN) -> str:
    """Judge one prediction from its metrics (per slice, image means or dataset means).

    Parameters
    ----------
    pred, source, baseline : mapping
        Metrics against the GT with keys ``ssim``, ``psnr`` and (for the structure) ``fg_ssim``;
        ``source``/``baseline`` may be None or hold None/NaN values (missing).
    psnr_margin, ssim_margin : float
        How much the prediction must beat the baseline by (whole-image PSNR in dB, structure SSIM).

    Returns
    -------
    str
        ``"no source"``, ``"does not improve"``, ``"better than baseline"`` or
        ``"not better than baseline"``; without a baseline ``"improves"`` when it beats the source.

    Examples
    --------
    >>> baseline_verdict({"ssim": .8, "psnr": 30, "fg_ssim": .7}, {"ssim": .2, "psnr": 15},
    ...                  {"ssim": .7, "psnr": 31, "fg_ssim": .8})
    'not better than baseline'
    """
    if source is None or _num(source.get("ssim")) is None or _num(source.get("psnr")) is None:
        return NO_SOURCE
    p_ssim, p_psnr = _num(pred.get("ssim")), _num(pred.get("psnr"))
    if p_ssim is None or p_psnr is None:
        return DOES_NOT_IMPROVE
    if not (p_ssim > float(source["ssim"]) and p_psnr > float(source["psnr"])):
        return DOES_NOT_IMPROVE
    if baseline is None or _num(baseline.get("psnr")) is None:
        return IMPROVES
    b_psnr = float(baseline["psnr"])
    p_struct, b_struct = _structure(pred), _structure(baseline)
    wins_psnr = p_psnr > b_psnr + psnr_margin or (math.isinf(p_psnr) and not math.isinf(b_psnr))
    wins_struct = p_struct is not None and b_struct is not None and p_struct > b_struct + ssim_margin
    return BETTER if (wins_psnr and wins_struct) else NOT_BETTER


def is_acceptable(verdict: str | None) -> bool:
    """Whether a report may call the evaluated model acceptable: only ``"better than baseline"``."""
    return verdict == BETTER


def structure_mask(gt: np.ndarray, radius: int = FOREGROUND_DILATION) -> np.ndarray:
    """The structure (foreground) mask of a GT, per 2D slice (see :data:`STRUCTURE_RULE`).

    Parameters
    ----------
    gt : array (..., Y, X)
    radius : int
        Dilation radius in pixels.

    Returns
    -------
    numpy.ndarray of bool
        Same shape as ``gt``; all False for a constant slice.
    """
    from skimage.filters import threshold_otsu

    a = np.asarray(gt, dtype=np.float64)
    flat = a.reshape((-1,) + a.shape[-2:])
    yy, xx = np.mgrid[-radius:radius + 1, -radius:radius + 1]
    disk = (yy * yy + xx * xx) <= radius * radius
    out = np.zeros(flat.shape, dtype=bool)
    for z, plane in enumerate(flat):
        if not np.all(np.isfinite(plane)) or float(plane.max()) <= float(plane.min()):
            continue
        fg = plane > threshold_otsu(plane)
        out[z] = ndimage.binary_dilation(fg, structure=disk) if radius > 0 else fg
    return out.reshape(a.shape)


def structure_metrics(mask: np.ndarray, ssim_map: np.ndarray, rse_map: np.ndarray,
                      data_range: float) -> dict[str, np.ndarray]:
    """Structure-restricted SSIM, PSNR and RMSE per 2D slice.

    Parameters
    ----------
    mask : bool array (..., Y, X)
        :func:`structure_mask` of the GT.
    ssim_map, rse_map : array (..., Y, X)
        The SSIM map and the absolute-error map of the same pair as the whole-image metrics
        (:func:`fijax.qc.restoration_metrics` with ``maps=True``).
    data_range : float
        The PSNR's data range (1 for normalised pairs).

    Returns
    -------
    dict
        ``fg_ssim``, ``fg_psnr``, ``fg_rmse`` and ``fg_fraction`` (share of pixels in the mask):
        float64 arrays of shape (n_slices,), NaN where the mask is empty.
    """
    shape2 = mask.shape[-2:]
    m = np.asarray(mask, bool).reshape((-1,) + shape2)
    s = np.asarray(ssim_map, np.float64).reshape((-1,) + shape2)
    r = np.asarray(rse_map, np.float64).reshape((-1,) + shape2)
    n = m.shape[0]
    out = {k: np.full(n, np.nan) for k in (*STRUCTURE_METRICS, "fg_fraction")}
    c = _SSIM_CROP
    for z in range(n):
        mz = m[z]
        out["fg_fraction"][z] = float(mz.mean())
        if not mz.any():
            continue
        inner = mz.copy()
        if min(shape2) > 2 * c:
            inner[:c] = False
            inner[-c:] = False
            inner[:, :c] = False
            inner[:, -c:] = False
        out["fg_ssim"][z] = float(s[z][inner if inner.any() else mz].mean())
        mse = float(np.mean(r[z][mz] ** 2))
        out["fg_rmse"][z] = math.sqrt(mse)
        with np.errstate(divide="ignore"):
            out["fg_psnr"][z] = float(10.0 * np.log10(data_range * data_range / mse)) if mse > 0 else math.inf
    return out
