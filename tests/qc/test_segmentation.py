"""Segmentation matching against the shared vectors (S1-S4) and, when installed, stardist itself."""

from __future__ import annotations

import numpy as np
import pytest

from fijax.errors import InputError
from fijax.qc import label_overlap, matching, matching_dataset, semantic_iou

try:  # stardist imports without TensorFlow (numba + csbdeep); it is in the `test` extra
    from stardist.matching import matching as sd_matching
    from stardist.matching import matching_dataset as sd_matching_dataset
except ImportError:  # pragma: no cover - depends on the environment
    sd_matching = sd_matching_dataset = None

needs_stardist = pytest.mark.skipif(sd_matching is None, reason="stardist is not installed (pip install .[test])")


def s1() -> tuple[np.ndarray, np.ndarray]:
    gt = np.zeros((10, 10), np.uint16)
    gt[0:4, 0:4] = 1
    gt[0:4, 6:10] = 2
    gt[6:10, 0:4] = 3
    gt[6:10, 6:10] = 5
    pred = np.zeros((10, 10), np.uint16)
    pred[0:4, 0:4] = 7
    pred[0:4, 7:10] = 3
    pred[6:8, 0:4] = 1
    pred[8:10, 0:4] = 2
    pred[4:6, 4:6] = 9
    return gt, pred


FIELDS = ("tp", "fp", "fn", "precision", "recall", "accuracy", "f1", "mean_true_score", "mean_matched_score",
          "panoptic_quality")


@pytest.mark.parametrize("thr, expected", [
    (0.1, (3, 2, 1, 0.6, 0.75, 0.5, 0.666667, 0.5625, 0.75, 0.5)),
    (0.5, (3, 2, 1, 0.6, 0.75, 0.5, 0.666667, 0.5625, 0.75, 0.5)),  # IoU exactly 0.5 matches (>=)
    (0.5000001, (2, 3, 2, 0.4, 0.5, 0.285714, 0.444444, 0.4375, 0.875, 0.388889)),
    (0.75, (2, 3, 2, 0.4, 0.5, 0.285714, 0.444444, 0.4375, 0.875, 0.388889)),
    (0.9, (1, 4, 3, 0.2, 0.25, 0.125, 0.222222, 0.25, 1.0, 0.222222)),
    (1.0, (1, 4, 3, 0.2, 0.25, 0.125, 0.222222, 0.25, 1.0, 0.222222)),
])
def test_s1_vectors(thr, expected):
    gt, pred = s1()
    m = matching(gt, pred, thr)
    assert (m.n_true, m.n_pred, m.criterion, m.thresh) == (4, 5, "iou", thr)
    for name, value in zip(FIELDS, expected, strict=True):
        assert getattr(m, name) == pytest.approx(value, abs=1e-6), name


def test_s1_criteria_threshold_zero_and_swap():
    gt, pred = s1()
    iot = matching(gt, pred, 0.5, criterion="iot")
    assert (iot.tp, iot.fp, iot.fn) == (3, 2, 1)
    assert iot.mean_matched_score == pytest.approx(0.75) and iot.panoptic_quality == pytest.approx(0.5)
    iop = matching(gt, pred, 0.5, criterion="iop")
    assert iop.tp == 3 and iop.mean_matched_score == pytest.approx(1.0)
    assert iop.panoptic_quality == pytest.approx(0.666667, abs=1e-6)
    zero = matching(gt, pred, 0)
    assert (zero.tp, zero.fp, zero.fn) == (4, 1, 0) and zero.panoptic_quality == pytest.approx(0.5)
    assert matching(gt, pred, None).tp == 4  # None means 0, as StarDist
    swapped = matching(pred, gt, 0.5)
    assert (swapped.tp, swapped.fp, swapped.fn, swapped.n_true, swapped.n_pred) == (3, 1, 2, 5, 4)
    assert (swapped.precision, swapped.recall) == (pytest.approx(0.75), pytest.approx(0.6))
    assert semantic_iou(gt, pred) == pytest.approx(44 / 68)


def test_sweep_uses_one_overlap_and_returns_a_list():
    gt, pred = s1()
    sweep = matching(gt, pred, [0.1, 0.5, 0.9])
    assert isinstance(sweep, list) and [m.tp for m in sweep] == [3, 3, 1]
    ov = label_overlap(gt, pred)
    assert ov.n_true == 4 and ov.n_pred == 5
    assert ov.true_ids.tolist() == [1, 2, 3, 5] and ov.pred_ids.tolist() == [1, 2, 3, 7, 9]
    assert sorted(ov.overlap.tolist()) == [8, 8, 12, 16]


def test_s2_hungarian_not_greedy():
    gt = np.array([[1, 2, 2, 2]], np.uint16)
    pred = np.array([[1, 1, 1, 2]], np.uint16)
    m = matching(gt, pred, 0.3)
    assert (m.tp, m.fp, m.fn) == (2, 0, 0)  # greedy-by-IoU would find 1
    assert m.f1 == 1.0 and m.mean_matched_score == pytest.approx(1 / 3)
    m = matching(gt, pred, 0.5)
    assert (m.tp, m.fp, m.fn) == (1, 1, 1)
    assert m.accuracy == pytest.approx(1 / 3) and m.mean_true_score == pytest.approx(0.25)
    assert m.panoptic_quality == pytest.approx(0.25)


def test_s3_empty_images_give_zero_not_nan():
    gt, pred = s1()
    empty = np.zeros((10, 10), np.uint16)
    for y_true, y_pred, counts in ((empty, empty, (0, 0, 0)), (empty, pred, (0, 5, 0)), (gt, empty, (0, 0, 4))):
        m = matching(y_true, y_pred, 0.5)
        assert (m.tp, m.fp, m.fn) == counts
        assert all(getattr(m, f) == 0 for f in FIELDS[3:])
    assert semantic_iou(empty, empty) == 0.0


def test_s4_dataset_aggregation():
    gt, pred = s1()
    pooled = matching_dataset([gt, gt], [pred, gt], 0.5)
    assert (pooled.tp, pooled.fp, pooled.fn, pooled.n_true, pooled.n_pred) == (7, 2, 1, 8, 9)
    for name, value in (("precision", 0.777778), ("recall", 0.875), ("accuracy", 0.7), ("f1", 0.823529),
                        ("mean_true_score", 0.78125), ("mean_matched_score", 0.892857),
                        ("panoptic_quality", 0.735294)):
        assert getattr(pooled, name) == pytest.approx(value, abs=1e-6), name
    assert pooled.by_image is False
    per = matching_dataset([gt, gt], [pred, gt], 0.5, by_image=True)
    assert (per.tp, per.fp, per.fn) == (7, 2, 1)
    for name, value in (("precision", 0.8), ("recall", 0.875), ("accuracy", 0.75), ("f1", 0.833333),
                        ("mean_true_score", 0.78125), ("mean_matched_score", 0.875), ("panoptic_quality", 0.75)):
        assert getattr(per, name) == pytest.approx(value, abs=1e-6), name
    assert len(matching_dataset([gt], [pred], [0.3, 0.6])) == 2


def test_stardist_regression_disks():
    # StarDist's own test: 5 disks shifted by 0, 5 and 10 rows
    yy, xx = np.mgrid[0:128, 0:128]
    y = np.zeros((128, 128), np.uint16)
    for k, (cy, cx) in enumerate([(20, 20), (20, 90), (64, 64), (100, 30), (100, 100)], start=1):
        y[(yy - cy) ** 2 + (xx - cx) ** 2 < 12 ** 2] = k
    for shift in (0, 5, 10):
        shifted = np.roll(y, shift, axis=0)
        iou = matching(y, shifted, 0).mean_matched_score
        assert (matching(y, shifted, 0.5 * iou).tp, matching(y, shifted, 0.5 * iou).fn) == (5, 0)
        if shift:
            m = matching(y, shifted, min(1.0, 2 * iou))
            assert (m.tp, m.fp, m.fn) == (0, 5, 5)


def test_ids_any_range_and_3d():
    gt, pred = s1()
    ref = matching(gt, pred, 0.5)
    for dt, scale in ((np.int32, 1000), (np.uint32, 70_000), (np.int64, 5_000_000_000)):
        m = matching(gt.astype(dt) * scale, pred.astype(dt) * scale + (pred > 0) * 3, 0.5)
        assert m == ref
    vol_t = np.stack([gt, gt])
    vol_p = np.stack([pred, pred])
    m3 = matching(vol_t, vol_p, 0.5)
    assert (m3.tp, m3.fp, m3.fn) == (3, 2, 1)  # objects span both planes: counted once


@pytest.mark.parametrize("y_true, y_pred, message", [
    (np.zeros((4, 4), np.float32), np.zeros((4, 4), np.uint16), "integer dtype"),
    (np.zeros((4, 4), bool), np.zeros((4, 4), np.uint16), "bool mask"),
    (np.full((4, 4), -1, np.int32), np.zeros((4, 4), np.int32), "negative"),
    (np.zeros((4, 4), np.uint16), np.zeros((4, 5), np.uint16), "shape mismatch"),
    (np.zeros((0, 4), np.uint16), np.zeros((0, 4), np.uint16), "empty"),
])
def test_bad_labels_raise(y_true, y_pred, message):
    with pytest.raises(InputError, match=message):
        matching(y_true, y_pred)


def test_bad_arguments_raise():
    gt, pred = s1()
    with pytest.raises(InputError, match="criterion"):
        matching(gt, pred, criterion="dice")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="same length"):
        matching_dataset([gt], [pred, pred])
    with pytest.raises(InputError, match="image pair 1"):
        matching_dataset([gt, gt], [pred, pred.astype(np.float32)])
    with pytest.raises(InputError, match="threshold"):
        semantic_iou(gt, pred.astype(np.float32))
    assert semantic_iou(gt, (pred > 0).astype(np.float32), threshold=0.5) == pytest.approx(44 / 68)


def _voronoi(shape, n, rng):
    seeds = rng.integers(0, [shape[0], shape[1]], size=(n, 2))
    yy, xx = np.mgrid[0:shape[0], 0:shape[1]]
    d = (yy[..., None] - seeds[:, 0]) ** 2 + (xx[..., None] - seeds[:, 1]) ** 2
    return (np.argmin(d, axis=-1) + 1).astype(np.int32)


@needs_stardist
def test_random_label_pairs_match_stardist():
    rng = np.random.default_rng(7)
    thresholds = [0.0, 0.1, 0.25, 0.4, 0.5, 0.6, 0.75, 0.9]
    for trial in range(40):
        shape = (int(rng.integers(6, 30)), int(rng.integers(6, 30)))
        gt = _voronoi(shape, int(rng.integers(1, 12)), rng)
        gt[rng.random(shape) < 0.15] = 0
        if trial % 2:
            pred = _voronoi(shape, int(rng.integers(1, 12)), rng)
        else:
            pred = np.roll(gt, int(rng.integers(0, 3)), axis=int(rng.integers(0, 2))) * 3
        pred[rng.random(shape) < 0.1] = 0
        for criterion in ("iou", "iot", "iop"):
            ours = matching(gt.astype(np.uint16), pred.astype(np.uint16), thresholds, criterion)
            ref = sd_matching(gt.astype(np.uint16), pred.astype(np.uint16), thresholds, criterion)
            for a, b in zip(ours, ref, strict=True):
                assert (a.tp, a.fp, a.fn, a.n_true, a.n_pred) == (b.tp, b.fp, b.fn, b.n_true, b.n_pred)
                for f in FIELDS[3:]:
                    assert getattr(a, f) == pytest.approx(float(getattr(b, f)), abs=1e-6), (trial, criterion, f)


@needs_stardist
def test_dataset_matches_stardist():
    rng = np.random.default_rng(11)
    ys = [_voronoi((24, 20), 9, rng) for _ in range(3)]
    ps = [np.roll(y, 2, axis=0) for y in ys]
    for by_image in (False, True):
        ours = matching_dataset(ys, ps, [0.3, 0.5, 0.7], by_image=by_image)
        ref = sd_matching_dataset(ys, ps, [0.3, 0.5, 0.7], by_image=by_image, show_progress=False)
        for a, b in zip(ours, ref, strict=True):
            for f in ("tp", "fp", "fn", "n_true", "n_pred", *FIELDS[3:]):
                assert getattr(a, f) == pytest.approx(float(getattr(b, f)), abs=1e-6), f
