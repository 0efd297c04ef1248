"""Instance-segmentation QC: StarDist-compatible object matching and semantic (foreground) IoU.

:func:`matching` and :func:`matching_dataset` return the fields and numbers of
``stardist.matching.matching`` / ``matching_dataset`` (stardist 0.9.x):

* label 0 is background; any non-negative integer ids (not necessarily consecutive) are objects;
* scores between every true and predicted object: ``iou`` = |T∩P| / |T∪P|, ``iot`` = |T∩P| / |T|,
  ``iop`` = |T∩P| / |P|, rounded to float32 as StarDist does (so e.g. an IoU of exactly 7/10 is
  0.69999999 and does *not* reach ``thresh=0.7`` — in StarDist either);
* one-to-one assignment by the Hungarian criterion StarDist uses: maximise the number of pairs with
  score >= thresh (**inclusive**), then the total score / (2 min(n_true, n_pred));
* a pair is a true positive when its score >= thresh; ratios are 0 (not NaN) when tp == 0, so empty
  images give 0.

How it is computed (no per-object Python loops): the non-zero entries of the true x pred
contingency table (a few thousand pairs) come from run-length-encoded (true, pred) pixel keys and
one ``bincount`` (:func:`label_overlap`); that one overlap serves every threshold of a sweep. For ``iou`` with ``thresh > 0.5`` the pairs above threshold cannot share an
object, so the assignment is the set of those pairs; otherwise the assignment is a sparse
minimum-cost perfect matching (``scipy.sparse.csgraph.min_weight_full_bipartite_matching``) on the
overlap graph, which has the same optimum as StarDist's dense ``linear_sum_assignment``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import min_weight_full_bipartite_matching

from fijax.errors import InputError
from fijax.qc._checks import as_array

__all__ = ["DatasetMatching", "LabelOverlap", "Matching", "label_overlap", "matching", "matching_dataset",
           "semantic_iou"]

Criterion = Literal["iou", "iot", "iop"]

class Matching(NamedTuple):
    """Matching statistics of one image at one threshold (the fields of StarDist's ``Matching``)."""

    criterion: str
    thresh: float
    fp: int
    tp: int
    fn: int
    precision: float
    recall: float
    accuracy: float
    f1: float
    n_true: int
    n_pred: int
    mean_true_score: float
    mean_matched_score: float
    panoptic_quality: float


class DatasetMatching(NamedTuple):
    """Matching statistics of a dataset at one threshold (StarDist's ``DatasetMatching``)."""

    criterion: str
    thresh: float
    fp: int
    tp: int
    fn: int
    precision: float
    recall: float
    accuracy: float
    f1: float
    n_true: int
    n_pred: int
    mean_true_score: float
    mean_matched_score: float
    panoptic_quality: float
    by_image: bool


# ---------------------------------------------------------------------------------------------
# Input checks and relabelling
# ---------------------------------------------------------------------------------------------

def check_labels(y: Any, name: str) -> np.ndarray:
    """Validate a label image: integer dtype, non-empty, non-negative. Returns the array."""
    arr = as_array(y, name)
    if not np.issubdtype(arr.dtype, np.integer):
        hint = (" (a bool mask: label its connected objects first, e.g. skimage.measure.label)"
                if arr.dtype == bool else
                " (convert with .astype(np.int32) if the values are whole numbers)")
        raise InputError(f"{name} must be a label image with an integer dtype, got {arr.dtype}{hint}")
    if arr.size == 0:
        raise InputError(f"{name} is empty (shape {arr.shape})")
    if np.issubdtype(arr.dtype, np.signedinteger) and arr.min() < 0:
        raise InputError(f"{name} has negative labels (min {arr.min()}); labels must be >= 0 (0 = background)")
    return arr


def _pair_keys(t: np.ndarray, p: np.ndarray) -> tuple[np.ndarray, int]:
    """Pack each pixel's (true id, pred id) into one unsigned key; returns (keys, bit shift)."""
    tmax, pmax = int(t.max()), int(p.max())
    if tmax < (1 << 16) and pmax < (1 << 16):
        return (t.astype(np.uint32) << np.uint32(16)) | p.astype(np.uint32), 16
    if tmax < (1 << 32) and pmax < (1 << 32):
        return (t.astype(np.uint64) << np.uint64(32)) | p.astype(np.uint64), 32
    # Ids beyond 32 bits (hashes): compress them to their rank first (one sort each).
    t = np.unique(t, return_inverse=True)[1].reshape(-1) + (0 if t.min() == 0 else 1)
    p = np.unique(p, return_inverse=True)[1].reshape(-1) + (0 if p.min() == 0 else 1)
    return _pair_keys(t, p)


# ---------------------------------------------------------------------------------------------
# Overlap (computed once per image pair)
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class LabelOverlap:
    """Sparse contingency table of a (true, pred) label pair.

    Attributes
    ----------
    true_idx, pred_idx : numpy.ndarray
        0-based object indices of each overlapping pair (objects sorted by original id).
    overlap : numpy.ndarray
        Pixels shared by each pair.
    true_area, pred_area : numpy.ndarray
        Object areas in pixels (n_true,), (n_pred,).
    true_ids, pred_ids : numpy.ndarray
        Original label ids of the objects.
    """

    true_idx: np.ndarray
    pred_idx: np.ndarray
    overlap: np.ndarray
    true_area: np.ndarray
    pred_area: np.ndarray
    true_ids: np.ndarray
    pred_ids: np.ndarray

    @property
    def n_true(self) -> int:
        return int(self.true_area.size)

    @property
    def n_pred(self) -> int:
        return int(self.pred_area.size)

    def scores(self, criterion: Criterion = "iou") -> np.ndarray:
        """Score of each overlapping pair, float32 as StarDist's safe divide produces."""
        o = self.overlap.astype(np.float64)
        ta = self.true_area[self.true_idx].astype(np.float64)
        pa = self.pred_area[self.pred_idx].astype(np.float64)
        if criterion == "iou":
            s = o / (ta + pa - o)
        elif criterion == "iot":
            s = o / ta
        elif criterion == "iop":
            s = o / pa
        else:
            raise InputError(f"matching criterion must be 'iou', 'iot' or 'iop', got {criterion!r}")
        return s.astype(np.float32)


def label_overlap(y_true: Any, y_pred: Any) -> LabelOverlap:
    """Sparse overlap (contingency) table of two label images of equal shape.

    The (true, pred) id pairs of all pixels are packed into one integer key per pixel; label
    images are piecewise constant, so the keys are run-length encoded first (a few hundred
    thousand runs for a 2048x2048 image) and only the runs are sorted and counted. Background
    pairs give the object areas; pairs of two objects give the overlaps.
    """
    t = check_labels(y_true, "y_true")
    p = check_labels(y_pred, "y_pred")
    if t.shape != p.shape:
        raise InputError(f"shape mismatch: y_true has shape {t.shape}, y_pred has shape {p.shape}")
    key, shift = _pair_keys(t.reshape(-1), p.reshape(-1))
    starts = np.flatnonzero(key[1:] != key[:-1]) + 1
    lengths = np.diff(starts, prepend=0, append=key.size)
    run_keys = key[np.concatenate(([0], starts))]
    if shift == 16 and key.size < (1 << 32):
        # Sort (key, run length) packed in one uint64: a plain sort is several times faster than
        # the argsort behind np.unique(return_inverse=True).
        packed = np.sort((run_keys.astype(np.uint64) << np.uint64(32)) | lengths.astype(np.uint64))
        sorted_keys = packed >> np.uint64(32)
        first = np.flatnonzero(np.concatenate(([True], sorted_keys[1:] != sorted_keys[:-1])))
        pair_keys = sorted_keys[first]
        pixels = np.add.reduceat((packed & np.uint64(0xFFFFFFFF)).astype(np.int64), first)
    else:
        pair_keys, inverse = np.unique(run_keys, return_inverse=True)
        pixels = np.bincount(inverse.reshape(-1), weights=lengths).astype(np.int64)
    pair_keys = pair_keys.astype(np.int64)
    tid = (pair_keys >> shift).astype(np.int64)
    pid = (pair_keys & ((1 << shift) - 1)).astype(np.int64)
    true_ids, t_inv = np.unique(tid, return_inverse=True)
    pred_ids, p_inv = np.unique(pid, return_inverse=True)
    t_area = np.bincount(t_inv.reshape(-1), weights=pixels).astype(np.int64)
    p_area = np.bincount(p_inv.reshape(-1), weights=pixels).astype(np.int64)
    t_off = 1 if true_ids[0] == 0 else 0
    p_off = 1 if pred_ids[0] == 0 else 0
    both = (tid > 0) & (pid > 0)
    return LabelOverlap(
        true_idx=t_inv.reshape(-1)[both] - t_off, pred_idx=p_inv.reshape(-1)[both] - p_off,
        overlap=pixels[both], true_area=t_area[t_off:], pred_area=p_area[p_off:],
        true_ids=true_ids[t_off:], pred_ids=pred_ids[p_off:],
    )


# ---------------------------------------------------------------------------------------------
# Assignment
# ---------------------------------------------------------------------------------------------

def _max_weight_matching(ti: np.ndarray, pi: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Indices of the edges in a maximum-weight matching of a bipartite graph (weights > 0).

    Reduction to a perfect matching: every true node i gets a private dummy partner i', every pred
    node j a dummy j', and each edge (i, j) a mirrored zero-gain edge (j', i'). Costs are C - gain
    with C > max gain, so every perfect matching costs the same constant minus its gain.
    """
    if ti.size == 0:
        return np.zeros(0, dtype=np.int64)
    tu, tl = np.unique(ti, return_inverse=True)
    pu, pl = np.unique(pi, return_inverse=True)
    nt, npr = tu.size, pu.size
    big = float(w.max()) + 1.0
    e = ti.size
    rows = np.concatenate([tl, np.arange(nt), nt + np.arange(npr), nt + pl])
    cols = np.concatenate([pl, npr + np.arange(nt), np.arange(npr), npr + tl])
    cost = np.concatenate([big - w, np.full(nt + npr + e, big)])
    graph = sp.csr_matrix((cost, (rows, cols)), shape=(nt + npr, npr + nt))
    row_ind, col_ind = min_weight_full_bipartite_matching(graph)
    real = (row_ind < nt) & (col_ind < npr)
    r, c = row_ind[real], col_ind[real]
    # Map matched (local true, local pred) back to edge indices (edges are distinct pairs).
    keys = tl.astype(np.int64) * npr + pl
    order = np.argsort(keys, kind="stable")
    pos = np.searchsorted(keys[order], r.astype(np.int64) * npr + c)
    return order[pos]


def _ratio(x: float, y: float) -> float:
    """StarDist's scalar safe divide: 0 where the denominator is ~0."""
    return float(x / y) if abs(y) > 1e-10 else 0.0


def _stats(criterion: str, thr: float, tp: int, n_true: int, n_pred: int, sum_score: float) -> Matching:
    fp = n_pred - tp
    fn = n_true - tp
    return Matching(
        criterion=criterion, thresh=float(thr), fp=int(fp), tp=int(tp), fn=int(fn),
        precision=tp / (tp + fp) if tp > 0 else 0.0,
        recall=tp / (tp + fn) if tp > 0 else 0.0,
        accuracy=tp / (tp + fp + fn) if tp > 0 else 0.0,
        f1=2 * tp / (2 * tp + fp + fn) if tp > 0 else 0.0,
        n_true=int(n_true), n_pred=int(n_pred),
        mean_true_score=_ratio(sum_score, n_true),
        mean_matched_score=_ratio(sum_score, tp),
        panoptic_quality=_ratio(sum_score, tp + fp / 2 + fn / 2),
    )


def _match_one(ov: LabelOverlap, scores: np.ndarray, thr: float, criterion: str) -> Matching:
    n_t, n_p = ov.n_true, ov.n_pred
    n_matched = min(n_t, n_p)
    if n_matched == 0:
        return _stats(criterion, thr, 0, n_t, n_p, 0.0)
    s64 = scores.astype(np.float64)
    if criterion == "iou" and thr > 0.5:
        # IoU > 0.5 with two partners is impossible for label images: the pairs above threshold are
        # disjoint, so every optimal assignment holds exactly them.
        ok = scores >= thr
        return _stats(criterion, thr, int(np.count_nonzero(ok)), n_t, n_p, float(s64[ok].sum()))
    # StarDist's gain: (score >= thr) + score / (2 n_matched), the second term in float32 as there.
    tie = (scores / np.float32(2 * n_matched)).astype(np.float64)
    if thr <= 0:
        # Every pair (even a zero-overlap one) reaches the threshold: all n_matched pairs are TPs and
        # the assignment only maximises the total score.
        chosen = _max_weight_matching(ov.true_idx, ov.pred_idx, tie)
        return _stats(criterion, thr, n_matched, n_t, n_p, float(s64[chosen].sum()))
    gain = (scores >= thr).astype(np.float64) + tie
    keep = gain > 0
    idx = np.flatnonzero(keep)
    chosen = idx[_max_weight_matching(ov.true_idx[keep], ov.pred_idx[keep], gain[keep])]
    ok = scores[chosen] >= thr
    return _stats(criterion, thr, int(np.count_nonzero(ok)), n_t, n_p, float(s64[chosen][ok].sum()))


def _thresholds(thresh: float | Iterable[float] | None) -> tuple[list[float], bool]:
    if thresh is None:
        return [0.0], True
    if np.isscalar(thresh):
        values, single = [thresh], True
    else:
        values, single = list(thresh), False
        if not values:
            raise InputError("thresh: an empty list of thresholds")
    out = []
    for v in values:
        try:
            f = float(v)
        except (TypeError, ValueError):
            raise InputError(f"thresh must be numbers, got {v!r}") from None
        if not np.isfinite(f):
            raise InputError(f"thresh must be finite, got {v!r}")
        if not 0.0 <= f <= 1.0:  # scores are overlaps in [0, 1]: below 0 every pair would match
            raise InputError(f"thresh must be between 0 and 1 (an overlap score), got {v!r}")
        out.append(f)
    return out, single


def matching(y_true: Any, y_pred: Any, thresh: float | Sequence[float] | None = 0.5,
             criterion: Criterion = "iou") -> Matching | list[Matching]:
    """Match the objects of a predicted label image to the ground truth (StarDist ``matching``).

    Parameters
    ----------
    y_true, y_pred : array-like of int, same shape (2D or nD)
        Label images; 0 is background. Integer dtype and non-negative values are required.
    thresh : float or sequence of float
        Score threshold; a pair matches when score >= thresh. A sequence returns a list of results
        computed from one overlap table. ``None`` means 0.
    criterion : {"iou", "iot", "iop"}
        Intersection over union, over the true object, or over the predicted object.

    Returns
    -------
    Matching or list of Matching
        ``criterion, thresh, fp, tp, fn, precision = tp/(tp+fp), recall = tp/(tp+fn),
        accuracy = tp/(tp+fp+fn)`` (the DSB-2018 / cellpose "AP"), ``f1, n_true, n_pred,
        mean_true_score`` (sum of matched scores / n_true), ``mean_matched_score`` (/ tp) and
        ``panoptic_quality`` (/ (tp + fp/2 + fn/2)).
    """
    if criterion not in ("iou", "iot", "iop"):
        raise InputError(f"matching criterion must be 'iou', 'iot' or 'iop', got {criterion!r}")
    thresholds, single = _thresholds(thresh)
    ov = label_overlap(y_true, y_pred)
    scores = ov.scores(criterion)
    results = [_match_one(ov, scores, t, criterion) for t in thresholds]
    return results[0] if single else results


def matching_dataset(y_true: Sequence[Any], y_pred: Sequence[Any],
                     thresh: float | Sequence[float] | None = 0.5, criterion: Criterion = "iou",
                     by_image: bool = False) -> DatasetMatching | list[DatasetMatching]:
    """Matching statistics over a dataset (StarDist ``matching_dataset``).

    Counts (tp, fp, fn, n_true, n_pred) are always summed. ``by_image=False`` (default) pools the
    objects: precision, recall, ... and the score means are recomputed from the summed counts and
    the summed matched scores. ``by_image=True`` averages each image's ratios instead.
    """
    if criterion not in ("iou", "iot", "iop"):
        raise InputError(f"matching criterion must be 'iou', 'iot' or 'iop', got {criterion!r}")
    y_true, y_pred = list(y_true), list(y_pred)
    if len(y_true) != len(y_pred):
        raise InputError(f"y_true and y_pred must have the same length, got {len(y_true)} and {len(y_pred)}")
    if not y_true:
        raise InputError("matching_dataset needs at least one image pair")
    thresholds, single = _thresholds(thresh)
    per_image = []
    for i, (t, p) in enumerate(zip(y_true, y_pred, strict=True)):
        try:
            res = matching(t, p, thresholds, criterion)
        except InputError as exc:
            raise InputError(f"image pair {i}: {exc}") from exc
        per_image.append(res)
    out = [aggregate_matching([r[k] for r in per_image], by_image=by_image) for k in range(len(thresholds))]
    return out[0] if single else out


def aggregate_matching(results: Sequence[Matching], by_image: bool = False) -> DatasetMatching:
    """Combine per-image :class:`Matching` results of one threshold like StarDist's ``matching_dataset``."""
    if not results:
        raise InputError("no matching results to aggregate")
    n = len(results)
    tp = sum(r.tp for r in results)
    fp = sum(r.fp for r in results)
    fn = sum(r.fn for r in results)
    n_true = sum(r.n_true for r in results)
    n_pred = sum(r.n_pred for r in results)
    first = results[0]
    if by_image:
        def avg(field: str) -> float:
            return float(sum(getattr(r, field) for r in results) / n)
        return DatasetMatching(first.criterion, first.thresh, fp, tp, fn, avg("precision"), avg("recall"),
                               avg("accuracy"), avg("f1"), n_true, n_pred, avg("mean_true_score"),
                               avg("mean_matched_score"), avg("panoptic_quality"), True)
    total = sum(r.mean_true_score * r.n_true for r in results)  # the summed matched scores
    pooled = _stats(first.criterion, first.thresh, tp, n_true, n_pred, total)
    assert pooled.fp == fp and pooled.fn == fn
    return DatasetMatching(*pooled, by_image=False)


# ---------------------------------------------------------------------------------------------
# Semantic (foreground) IoU
# ---------------------------------------------------------------------------------------------

def semantic_iou(y_true: Any, y_pred: Any, *, threshold: float | None = None, empty_score: float = 0.0) -> float:
    """Foreground IoU |T ∩ P| / |T ∪ P| of two masks or label images (ZeroCostDL4Mic's "IoU").

    Parameters
    ----------
    y_true, y_pred : array-like, same shape
        Bool masks or integer label images (foreground = value > 0). Float arrays (probabilities)
        need ``threshold``: foreground = value > threshold.
    threshold : float, optional
        Threshold for float input.
    empty_score : float
        Returned when both masks are empty (ZeroCost gives NaN; the project reports 0 like matching).
    """
    masks = []
    for y, name in ((y_true, "y_true"), (y_pred, "y_pred")):
        arr = as_array(y, name)
        if arr.size == 0:
            raise InputError(f"{name} is empty (shape {arr.shape})")
        if np.issubdtype(arr.dtype, np.floating):
            if threshold is None:
                raise InputError(f"{name} is a float array ({arr.dtype}); pass threshold= to binarise it")
            if not np.all(np.isfinite(arr)):
                raise InputError(f"{name} contains NaN or infinite values")
            masks.append(arr > threshold)
        else:
            masks.append(arr > 0)
    if masks[0].shape != masks[1].shape:
        raise InputError(f"shape mismatch: y_true has shape {masks[0].shape}, y_pred has shape {masks[1].shape}")
    inter = int(np.count_nonzero(masks[0] & masks[1]))
    union = int(np.count_nonzero(masks[0] | masks[1]))
    return float(inter / union) if union else float(empty_score)
