"""Fast checks of the segmentation pieces: label checks, 3-class targets, loss, watershed, tuning."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest

from fijax.engine.config import preset
from fijax.engine.seg_targets import BOUNDARY, INTERIOR, check_label_image, make_targets, three_class
from fijax.engine.tasks import get_task, known_tasks
from fijax.engine.watershed import SegParams, probabilities_to_labels, remove_small, tune
from fijax.errors import InputError
from fijax.qc.segmentation import matching


def perfect_probabilities(labels: np.ndarray) -> np.ndarray:
    cls = three_class(labels)
    return np.stack([(cls == k).astype(np.float32) for k in range(3)], -1)


def test_three_class_separates_touching_objects():
    lab = np.zeros((10, 12), np.int32)
    lab[2:8, 1:6] = 1
    lab[2:8, 6:11] = 2  # touches object 1 along x = 5 | 6
    cls = three_class(lab)
    assert np.all(cls[lab == 0] == 0)
    # both sides of the contact line are boundary, so the interiors do not touch
    assert np.all(cls[3:7, 5] == BOUNDARY) and np.all(cls[3:7, 6] == BOUNDARY)
    assert np.all(cls[3:7, 2:5] == INTERIOR) and np.all(cls[3:7, 7:10] == INTERIOR)
    assert np.all(cls[2, 1:11] == BOUNDARY)
    thick = three_class(lab, width=2)
    assert np.all(thick[3:7, 4] == BOUNDARY) and np.all(thick[4:6, 3] == INTERIOR)
    t = make_targets(lab[..., None])
    assert t.shape == (10, 12, 4)
    np.testing.assert_array_equal(t[..., :3].sum(-1), 1.0)
    np.testing.assert_array_equal(t[..., 3], lab)


@pytest.mark.parametrize("ndim", [2, 3])
def test_watershed_of_perfect_probabilities_recovers_the_labels(make_nuclei, ndim):
    size = 64 if ndim == 2 else 32
    _, labels = make_nuclei(2, size, seed=5, ndim=ndim, radius=(4.5, 7.0) if ndim == 2 else (4.0, 6.0))
    for lab in labels:
        assert lab.max() > 5
        pred = probabilities_to_labels(perfect_probabilities(lab))
        m = matching(lab, pred, thresh=[0.5, 0.9])
        assert m[0].f1 == 1.0 and m[1].f1 == 1.0
        assert pred.dtype == np.int32 and pred.max() == m[0].n_pred


def test_watershed_keeps_seedless_objects_and_removes_small_ones():
    p = np.zeros((20, 20, 3), np.float32)
    p[..., 0] = 1.0
    p[2:8, 2:8] = (0.2, 0.4, 0.4)      # faint object: no interior pixel above 0.5
    p[10:18, 10:18] = (0.0, 0.9, 0.1)  # confident object
    p[0, 19] = (0.0, 0.0, 1.0)         # one stray pixel
    lab = probabilities_to_labels(p, SegParams(0.5, 0.5, 0))
    assert lab.max() == 3
    lab = probabilities_to_labels(p, SegParams(0.5, 0.5, 2))
    assert lab.max() == 2 and set(np.unique(lab)) == {0, 1, 2}
    assert np.count_nonzero(lab == lab[4, 4]) == 36
    np.testing.assert_array_equal(remove_small(np.array([[0, 5, 5], [7, 0, 9]]), 2), [[0, 1, 1], [0, 0, 0]])


def test_tuning_finds_thresholds_that_split_blurred_probabilities(make_nuclei):
    from scipy.ndimage import gaussian_filter

    _, labels = make_nuclei(2, 64, seed=9)
    probs = []
    for lab in labels:
        p = perfect_probabilities(lab)
        p = np.stack([gaussian_filter(p[..., k], 1.2) for k in range(3)], -1)
        probs.append(p / p.sum(-1, keepdims=True))
    res = tune(probs, list(labels))
    assert res.f1 >= 0.9
    worst = min(row["f1"] for row in res.grid)
    assert worst < res.f1  # the grid matters
    assert {"prob_thresh", "fg_thresh", "min_size", "f1", "mean_f1"} <= set(res.grid[0])


def test_seg_task_registered_lazily_and_loss_prefers_the_truth():
    assert "seg" in known_tasks()
    task = get_task("seg")
    cfg = preset("quick", task="seg")
    lab = np.zeros((16, 16), np.int32)
    lab[3:9, 3:9] = 1
    t = jnp.asarray(make_targets(lab)[None])
    good = 10.0 * (2 * t[..., :3] - 1)
    bad = -good
    assert float(task.loss(good, t, None, cfg)) < 1e-3 < float(task.loss(bad, t, None, cfg))
    assert task.out_channels(cfg, 1, 4) == 3
    probs = task.outputs(good, cfg)["probabilities"]
    np.testing.assert_allclose(np.asarray(probs.sum(-1)), 1.0, rtol=1e-6)


@pytest.mark.parametrize("bad, message", [
    (np.array([[0, 1.5], [2, 0]]), "non-integer"),
    (np.array([[0, -1], [2, 0]]), "negative"),
    (np.array([[0, np.nan], [2, 0]]), "NaN"),
    (np.array([[True, False]]), "integers"),
    (np.array([["a", "b"]]), "integers"),
    (np.zeros((0, 3), np.int32), "empty"),
])
def test_bad_label_values_are_input_errors(bad, message):
    with pytest.raises(InputError, match=message):
        check_label_image(bad)


def test_float_labels_with_whole_values_are_accepted():
    lab = check_label_image(np.array([[0.0, 3.0], [3.0, 1.0]], np.float32))
    assert lab.dtype == np.int32 and lab.tolist() == [[0, 3], [3, 1]]


def test_finalize_without_tuning_keeps_given_thresholds_and_writes_qc(tmp_path, make_nuclei):
    import csv
    import json

    from fijax.engine.data import Split
    from fijax.engine.model import TrainedModel, build_unet

    cfg = preset("quick", task="seg", depth=1, filters=4,
                 extra={"tune": False, "postprocess": {"prob_thresh": 0.6, "fg_thresh": 0.4, "min_size": 3}})
    cfg = cfg.resolved()
    net, spec = build_unet(cfg, 1, 4)
    x, y = make_nuclei(1, 32, seed=3)
    split = Split([], [], [x[0][..., None]], [make_targets(y[0])], "test")
    (tmp_path / "config.json").write_text(json.dumps({"config": cfg.model_dump(mode="json")}))
    out = get_task("seg").finalize(cfg, TrainedModel(net, cfg, spec), split, tmp_path, lambda f, m: None)
    assert out["card"]["segmentation"]["postprocess"] == {"prob_thresh": 0.6, "fg_thresh": 0.4, "min_size": 3}
    assert sorted(out["files"]) == ["qc_f1.png", "qc_matching.csv", "segmentation.json"]
    assert json.loads((tmp_path / "config.json").read_text())["segmentation"]["postprocess"]["min_size"] == 3
    rows = list(csv.DictReader((tmp_path / "qc_matching.csv").open()))
    assert len(rows) == 9 and all(int(r["n_true"]) == int(y[0].max()) for r in rows)
    assert json.loads((tmp_path / "segmentation.json").read_text())["tuned"] is False
