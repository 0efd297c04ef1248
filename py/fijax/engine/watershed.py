"""3-class probabilities → integer label images by seeded watershed, and tuning of its thresholds.

Post-processing of one sample's probabilities ``p`` (``(*spatial, 3)``: background, interior,
boundary):

1. *seeds*: connected components of ``p_interior > prob_thresh`` (face connectivity);
2. *mask*: ``1 - p_background > fg_thresh`` (interior or boundary);
3. watershed (:func:`skimage.segmentation.watershed`) of ``1 - p_interior`` from the seeds inside
   the mask, so boundary pixels go to the nearest interior; mask components without any seed
   become objects of their own (a faint object is not dropped for lack of a confident core);
4. objects smaller than ``min_size`` pixels are removed and ids made consecutive (1..n).

:func:`tune` picks ``prob_thresh``, ``fg_thresh`` and ``min_size`` on validation samples by
StarDist-compatible matching F1 at IoU 0.5 (:func:`fijax.qc.segmentation.matching_dataset`).
"""

from __future__ import annotations

import itertools
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from fijax.errors import InputError


@dataclass(frozen=True)
class SegParams:
    """Post-processing parameters saved with a segmentation model.

    Attributes
    ----------
    prob_thresh : float
        Interior probability above which pixels seed objects.
    fg_thresh : float
        Foreground (interior + boundary) probability above which pixels belong to an object.
    min_size : int
        Smallest object kept, in pixels (voxels in 3D).
    """

    prob_thresh: float = 0.5
    fg_thresh: float = 0.5
    min_size: int = 0

    def __post_init__(self) -> None:
        for name in ("prob_thresh", "fg_thresh"):
            v = getattr(self, name)
            if not 0.0 <= v < 1.0:
                raise InputError(f"{name} must be in [0, 1), got {v}")
        if self.min_size < 0:
            raise InputError(f"min_size must be >= 0, got {self.min_size}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any] | None) -> SegParams:
        d = d or {}
        return cls(float(d.get("prob_thresh", 0.5)), float(d.get("fg_thresh", 0.5)), int(d.get("min_size", 0)))


def check_probabilities(prob: Any) -> np.ndarray:
    """Validate ``(*spatial, 3)`` class probabilities (2D or 3D)."""
    p = np.asarray(prob, np.float32)
    if p.ndim not in (3, 4) or p.shape[-1] != 3:
        raise InputError(f"expected probabilities of shape (*spatial, 3) in 2D or 3D, got {p.shape}")
    if not np.all(np.isfinite(p)):
        raise InputError("probabilities contain NaN or infinite values")
    return p


def _components(mask: np.ndarray) -> tuple[np.ndarray, int]:
    from scipy.ndimage import label

    lab, n = label(mask)
    return lab.astype(np.int32, copy=False), int(n)


def remove_small(labels: np.ndarray, min_size: int) -> np.ndarray:
    """Drop objects smaller than ``min_size`` pixels and renumber the rest 1..n (order of first id)."""
    labels = np.asarray(labels)
    n = int(labels.max()) if labels.size else 0
    if n == 0:
        return labels.astype(np.int32, copy=False)
    sizes = np.bincount(labels.ravel(), minlength=n + 1)
    keep = sizes >= max(min_size, 1)
    keep[0] = False
    lut = np.zeros(n + 1, np.int32)
    lut[keep] = np.arange(1, int(keep.sum()) + 1, dtype=np.int32)
    return lut[labels]


def probabilities_to_labels(prob: Any, params: SegParams | None = None) -> np.ndarray:
    """Seeded watershed of one sample's 3-class probabilities into an int32 label image.

    Parameters
    ----------
    prob : array-like
        ``(*spatial, 3)`` probabilities (background, interior, boundary), 2D or 3D.
    params : SegParams, optional
        Thresholds (defaults: 0.5, 0.5, 0).

    Returns
    -------
    ndarray of int32
        Labels 0 (background), 1..n (objects), shape ``spatial``.
    """
    from skimage.segmentation import watershed

    params = params or SegParams()
    p = check_probabilities(prob)
    interior = p[..., 1]
    mask = (1.0 - p[..., 0]) > params.fg_thresh
    seeds, n_seeds = _components((interior > params.prob_thresh) & mask)
    if n_seeds:
        labels = watershed(1.0 - interior, markers=seeds, mask=mask).astype(np.int32, copy=False)
    else:
        labels = np.zeros(mask.shape, np.int32)
    orphans, n_orphans = _components(mask & (labels == 0))
    if n_orphans:
        labels = np.where(orphans > 0, orphans + n_seeds, labels).astype(np.int32)
    return remove_small(labels, params.min_size)


def size_candidates(labels: list[np.ndarray]) -> list[int]:
    """``min_size`` values worth trying: 0 and fractions of the median true object size."""
    sizes = np.concatenate([np.bincount(np.asarray(y, np.int64).ravel())[1:] for y in labels] or [np.zeros(0)])
    sizes = sizes[sizes > 0]
    if sizes.size == 0:
        return [0]
    med = float(np.median(sizes))
    return sorted({0, *(int(round(f * med)) for f in (0.1, 0.25, 0.5))})


@dataclass
class TuneResult:
    """Best parameters and the grid that was searched.

    Attributes
    ----------
    params : SegParams
        The chosen parameters.
    f1 : float
        Pooled F1 at IoU 0.5 on the validation samples with ``params``.
    grid : list of dict
        One row per tried combination (params, f1, mean F1 over IoU 0.5..0.9).
    """

    params: SegParams
    f1: float
    grid: list[dict]


def tune(probs: list[np.ndarray], labels: list[np.ndarray], *,
         prob_thresholds: tuple[float, ...] = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8),
         fg_thresholds: tuple[float, ...] = (0.3, 0.4, 0.5, 0.6, 0.7),
         min_sizes: list[int] | None = None) -> TuneResult:
    """Grid-search the post-processing thresholds on validation samples.

    The score is the pooled matching F1 at IoU 0.5; ties go to the higher mean F1 over IoU
    0.5, 0.55, ..., 0.9 (better-shaped objects), then to the earlier grid point.

    Parameters
    ----------
    probs : list of ndarray
        Predicted ``(*spatial, 3)`` probabilities, one per validation sample.
    labels : list of ndarray
        True label images, same spatial shapes.
    """
    from fijax.qc.segmentation import matching_dataset

    if not probs or len(probs) != len(labels):
        raise InputError(f"tuning needs matching lists of probabilities and labels, got {len(probs)} "
                         f"and {len(labels)}")
    taus = [round(0.5 + 0.05 * i, 2) for i in range(9)]
    sizes = size_candidates(labels) if min_sizes is None else list(min_sizes)
    best: tuple[float, float] | None = None
    best_params = SegParams()
    grid = []
    probs = [check_probabilities(p) for p in probs]
    for pt, ft in itertools.product(prob_thresholds, fg_thresholds):
        base = [probabilities_to_labels(p, SegParams(pt, ft, 0)) for p in probs]  # size filter below
        for ms in sizes:
            params = SegParams(pt, ft, ms)
            preds = [remove_small(b, ms) for b in base]
            res = matching_dataset(labels, preds, thresh=taus)
            f1, mean_f1 = float(res[0].f1), float(np.mean([r.f1 for r in res]))
            grid.append(dict(params.to_dict(), f1=f1, mean_f1=mean_f1))
            if best is None or (f1, mean_f1) > best:
                best, best_params = (f1, mean_f1), params
    return TuneResult(best_params, best[0] if best else 0.0, grid)
