"""Train a small segmentation model on CPU and check quality, QC files, confidence and the faces.

The model (fixture ``trained`` in conftest.py) is trained once per session (~30 s on 2 busy CPU
cores): synthetic touching round nuclei, a depth-2, 8-filter U-Net, 120 steps of 8 patches of 32².
It must reach F1 >= 0.8 at IoU 0.5 on held-out images generated with another seed.
"""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
from seg_synth import small_config

from fijax.engine.config import preset
from fijax.engine.model import TrainedModel, build_unet, load_model
from fijax.engine.segmentation import QC_THRESHOLDS, model_params, segment
from fijax.engine.train import train
from fijax.errors import InputError, NotFoundError
from fijax.io import Image
from fijax.qc.segmentation import matching_dataset
from fijax.registry.models import ModelRegistry


def test_held_out_f1_at_iou_05(trained, make_nuclei):
    _, res = trained
    xt, yt = make_nuclei(4, 64, seed=123)
    preds = [segment(res.trained, im).labels for im in xt]
    m = matching_dataset(list(yt), preds, thresh=0.5)
    assert m.f1 >= 0.8, m
    assert m.n_true > 80


def test_model_folder_holds_tuned_thresholds_and_qc(trained):
    root, res = trained
    rec = ModelRegistry(root).get("nuclei")
    assert rec.task == "seg" and rec.version == 1
    folder = rec.path
    for name in ("segmentation.json", "qc_matching.csv", "qc_f1.png", "weights.npz", "log.csv"):
        assert (folder / name).is_file(), name
        assert name in rec.card["files"]
    rows = list(csv.DictReader((folder / "qc_matching.csv").open()))
    assert [float(r["thresh"]) for r in rows] == pytest.approx(list(QC_THRESHOLDS))
    f1 = [float(r["f1"]) for r in rows]
    assert all(a >= b - 1e-9 for a, b in zip(f1, f1[1:], strict=False))  # F1 falls with the IoU threshold
    assert (folder / "qc_f1.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    seg = json.loads((folder / "segmentation.json").read_text())
    assert seg["tuned"] and len(seg["tuning_grid"]) > 10
    assert seg["postprocess"] == rec.card["segmentation"]["postprocess"]
    assert rec.card["metrics"]["val_f1_iou50"] == pytest.approx(f1[0])
    loaded = load_model("nuclei", registry=ModelRegistry(root))
    assert model_params(loaded).to_dict() == seg["postprocess"]
    assert rec.card["versions"]["numpy"] and rec.card["seed"] == 1 and rec.card["data"]["sources"][0]["sha256"]


def test_monte_carlo_confidence_table(trained, make_nuclei):
    _, res = trained
    xt, _ = make_nuclei(1, 64, seed=77)
    det = segment(res.trained, xt[0])
    mc = segment(res.trained, xt[0], samples=4, seed=3)
    np.testing.assert_array_equal(det.labels, mc.labels)  # labels come from the deterministic pass
    assert len(mc.table) == int(mc.labels.max()) > 5
    areas = np.bincount(mc.labels.ravel())
    for row in mc.table:
        assert row["area"] == areas[row["label"]]
        assert 0.0 <= row["confidence"] <= 1.0 and row["confidence_std"] >= 0.0 and row["samples"] == 4
    assert any(r["confidence_std"] > 0 for r in mc.table)  # dropout does change the passes
    assert "confidence_std" not in det.table[0]
    assert det.probabilities.shape == (3, 64, 64) and det.probabilities_axes == "CYX"  # ImageJ order
    np.testing.assert_allclose(det.probabilities.sum(0), 1.0, rtol=1e-5)
    again = segment(res.trained, xt[0], samples=4, seed=3)
    assert again.table == mc.table  # seeded


def test_monte_carlo_needs_dropout_and_seg_model():
    cfg = small_config(dropout=0.0).resolved()
    net, spec = build_unet(cfg, 1, 4)
    with pytest.raises(InputError, match="dropout"):
        segment(TrainedModel(net, cfg, spec), np.zeros((32, 32), np.float32), samples=2)
    care = preset("quick", task="care").resolved()
    net, spec = build_unet(care, 1, 1)
    with pytest.raises(InputError, match="not a segmentation"):
        segment(TrainedModel(net, care, spec), np.zeros((32, 32), np.float32))


def test_stack_gives_per_plane_labels_and_indexed_rows(trained, make_nuclei):
    _, res = trained
    xt, _ = make_nuclei(2, 48, seed=31)
    out = segment(res.trained, Image(xt, "TYX", "stack"))
    assert out.labels.shape == (2, 48, 48) and out.labels_axes == "TYX"
    assert out.probabilities_axes == "TCYX" and out.probabilities.shape == (2, 3, 48, 48)
    assert {r["t"] for r in out.table} == {0, 1}
    single = segment(res.trained, xt[1])
    np.testing.assert_array_equal(out.labels[1], single.labels)


def test_segment_operation_and_macro_adapter(trained, make_nuclei, monkeypatch):
    from fijax import ops
    from fijax.bridge import commands

    root, _ = trained
    monkeypatch.setenv("FIJAX_HOME", str(root))
    xt, _ = make_nuclei(1, 64, seed=55)
    image = Image(xt[0], "YX", "cells", pixel_size=(1.0, 0.5, 0.5), unit="micron")
    res = ops.get("segment")({"image": image}, {"model": "nuclei", "samples": 2})
    labels = res.images["labels"]
    assert labels.axes == "YX" and labels.data.dtype == np.int32 and labels.pixel_size == (1.0, 0.5, 0.5)
    assert res.images["probabilities"].axes == "CYX"
    assert res.values["objects"] == len(res.table) == labels.data.max() and res.values["model"] == "nuclei:1"
    assert {"label", "area", "confidence", "confidence_std"} <= set(res.table[0])
    strict = ops.get("segment")({"image": image}, {"model": "nuclei", "min_size": 10_000, "probabilities": False})
    assert strict.values["objects"] == 0 and list(strict.images) == ["labels"]
    with pytest.raises(NotFoundError):
        ops.get("segment")({"image": image}, {"model": "missing"})
    with pytest.raises(InputError, match="prob_thresh"):
        ops.get("segment")({"image": image}, {"model": "nuclei", "prob_thresh": 1.5})

    via_predict = ops.get("predict")({"image": image}, {"model": "nuclei"})  # predict delegates to segment
    assert list(via_predict.images) == ["labels", "probabilities"] and via_predict.table
    np.testing.assert_array_equal(via_predict.images["labels"].data, labels.data)
    checked = ops.get("predict")({"image": image}, {"model": "nuclei", "check": True})  # + GT-free domain check
    assert isinstance(checked.values["in_domain"], bool) and checked.values["domain_score"] > 0
    np.testing.assert_array_equal(checked.images["labels"].data, labels.data)

    cmd = commands.get("FiJAX Segment")
    assert cmd.op == "segment" and cmd.required == ("model",)
    call = commands.CommandCall(label=cmd.label, options={"model": "nuclei"}, images={"image": image})
    out = cmd.func(call)
    np.testing.assert_array_equal(out.images["labels"].data, labels.data)


def test_transfer_learning_from_a_registered_seg_model(trained, make_nuclei):
    root, _ = trained
    reg = ModelRegistry(root)
    x, y = make_nuclei(6, 64, seed=4)
    res = train(small_config(epochs=1, steps_per_epoch=3), list(x), list(y), name="nuclei-ft",
                registry=reg, parent="nuclei")
    assert res.record.card["parent"]["name"] == "nuclei"
    assert "segmentation" in res.record.card and (res.record.path / "qc_matching.csv").is_file()


def test_interrupted_seg_training_resumes_and_is_tuned(tmp_path, make_nuclei):
    from fijax.errors import CancelledError

    reg = ModelRegistry(tmp_path / "home")
    x, y = make_nuclei(4, 48, seed=21)
    cfg = small_config(depth=1, filters=4, epochs=2, steps_per_epoch=3, val_fraction=0.25)
    with pytest.raises(CancelledError):
        train(cfg, list(x), list(y), name="nuc-resume", registry=reg, stop_after_steps=4)
    assert reg.list() == []
    res = train(cfg, list(x), list(y), name="nuc-resume", registry=reg, resume=True)
    assert len(res.history) == 2 and res.metrics["steps"] == 6
    assert (res.record.path / "segmentation.json").is_file() and "val_f1_iou50" in res.metrics


def test_bad_training_data_fails_before_anything_is_written(tmp_path, make_nuclei):
    reg = ModelRegistry(tmp_path / "home")
    x, y = make_nuclei(3, 64, seed=2)
    cfg = small_config()
    cases = [
        (list(x), None, "needs target images"),
        (list(x), [yy[:, :60] for yy in y], "differ in shape"),
        (list(x), list(y[:2]), "label sample"),
        (list(x), [np.zeros_like(yy) for yy in y], "no objects"),
        (list(x), [yy.astype(np.float32) + 0.5 for yy in y], "non-integer"),
        (list(x), [yy - 1 for yy in y], "negative"),
    ]
    for src, lab, message in cases:
        with pytest.raises(InputError, match=message):
            train(cfg, src, lab, name="bad", registry=reg)
    assert reg.list() == [] and not (tmp_path / "home" / "runs" / "bad").exists()


def test_3d_pipeline(tmp_path, make_nuclei):
    x, y = make_nuclei(4, 16, seed=6, ndim=3, radius=(3.0, 4.5))
    cfg = preset("quick", task="seg", ndim=3, depth=1, filters=4, epochs=1, steps_per_epoch=3,
                 patch_size=(8, 16, 16), batch_size=2, val_fraction=0.25)
    res = train(cfg, list(x), list(y), name="nuclei3d", registry=ModelRegistry(tmp_path))
    out = segment(res.trained, x[0])
    assert out.labels.shape == (16, 16, 16) and out.labels_axes == "ZYX"
    assert out.probabilities.shape == (16, 3, 16, 16) and out.probabilities_axes == "ZCYX"
    assert (res.record.path / "qc_f1.png").is_file()
