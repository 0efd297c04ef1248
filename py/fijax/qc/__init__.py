"""Quality-control metrics (restoration and segmentation), pure JAX/NumPy, plus dataset QC.

Restoration (JAX-jitted, float32, per 2D slice; see :mod:`fijax.qc.restoration`):
:func:`ssim`, :func:`psnr`, :func:`mse`, :func:`rmse`, :func:`nrmse`, :func:`sqrt_mae`
(ZeroCostDL4Mic's "NRMSE"), :func:`rse_map`, :func:`norm_minmse`, :func:`percentile_normalize`,
:func:`restoration_metrics`.

Segmentation (StarDist-compatible; see :mod:`fijax.qc.segmentation`): :func:`matching`,
:func:`matching_dataset`, :func:`label_overlap`, :func:`semantic_iou`.

Datasets (CSV, TIFF maps, PNG panels, verdicts; see :mod:`fijax.qc.dataset`): :func:`qc_dataset`,
:func:`qc_labels_dataset`, :func:`compare_methods`. These are imported lazily (they pull in
matplotlib), so ``import fijax.qc`` stays light.
"""

from __future__ import annotations

from typing import Any

from fijax.qc.restoration import (
    gaussian_taps,
    mse,
    norm_minmse,
    nrmse,
    percentile_normalize,
    psnr,
    restoration_metrics,
    rmse,
    rse_map,
    sqrt_mae,
    ssim,
)
from fijax.qc.segmentation import (
    DatasetMatching,
    LabelOverlap,
    Matching,
    label_overlap,
    matching,
    matching_dataset,
    semantic_iou,
)

_LAZY = {"qc_dataset", "qc_labels_dataset", "compare_methods", "VERDICT_RULE", "verdict"}

__all__ = [
    "DatasetMatching", "LabelOverlap", "Matching", "gaussian_taps", "label_overlap", "matching",
    "matching_dataset", "mse", "norm_minmse", "nrmse", "percentile_normalize", "psnr", "restoration_metrics",
    "rmse", "rse_map", "semantic_iou", "sqrt_mae", "ssim", *sorted(_LAZY),
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from fijax.qc import dataset

        return getattr(dataset, name)
    raise AttributeError(f"module 'fijax.qc' has no attribute {name!r}")
