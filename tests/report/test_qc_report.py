"""QC report: tables, verdicts, map panels, evaluation images, training-overlap warning, label matching."""

from __future__ import annotations

import json

import numpy as np
import pytest
from report_helpers import Doc, png_ok

from fijax.engine.model import load_model
from fijax.errors import InputError
from fijax.io import read_tiff, write_tiff
from fijax.qc.dataset import qc_dataset, qc_labels_dataset
from fijax.report.qc import qc_facts, write_qc_report


def _predict_folder(src_dir, out_dir):
    trained = load_model("care_demo")
    out_dir.mkdir(parents=True, exist_ok=True)
    for p in sorted(src_dir.glob("*.tif")):
        img = read_tiff(p)
        write_tiff(out_dir / p.name, img.with_data(trained.predict(img)["prediction"]))


@pytest.fixture(scope="module")
def qc_dirs(env):
    """QC of held-out data (no overlap) and of the training data itself (overlap)."""
    root, data = env["root"], env["data"]
    _predict_folder(data / "eval_src", root / "pred_eval")
    _predict_folder(data / "train_src", root / "pred_train")
    qc_dataset(data / "eval_gt", root / "pred_eval", data / "eval_src", root / "qc_eval")
    qc_dataset(data / "train_gt", root / "pred_train", data / "train_src", root / "qc_train")
    return {"eval": root / "qc_eval", "train": root / "qc_train"}


def test_qc_report_tables_verdicts_maps(env, qc_dirs):
    paths = write_qc_report(qc_dirs["eval"], model="care_demo", origin="synthetic held-out image (seed 99)")
    facts = json.loads(paths["json"].read_text())
    summary = json.loads((qc_dirs["eval"] / "summary.json").read_text())
    doc = Doc(paths["html"].read_text())
    for sec in ("evaluation", "overlap", "verdict", "means", "prediction-vs-gt", "source-vs-gt", "per-slice",
                "maps", "versions", "methods"):
        assert sec in doc.sections, sec
    # both comparisons, with the QC's own numbers
    assert doc.column("prediction-vs-gt-table", "file") == ["new"]
    assert float(doc.column("prediction-vs-gt-table", "ssim")[0]) == pytest.approx(summary["means"]["pred_ssim"],
                                                                                  rel=1e-5)
    assert float(doc.column("source-vs-gt-table", "psnr")[0]) == pytest.approx(summary["means"]["source_psnr"],
                                                                              rel=1e-5)
    # verdicts and their rule
    assert summary["verdict"] in doc.paragraphs["dataset-verdict"]
    assert doc.column("verdicts-table", "verdict") == [summary["images"]["new"]]
    assert "BOTH" in doc.paragraphs["verdict-rule"]
    # SSIM and RSE map panel
    assert png_ok(doc.images["fig-panel-new"])
    assert set(facts["panels"][0]["maps"]) == {"SSIM_GTvsPrediction", "RSE_GTvsPrediction", "SSIM_GTvsSource",
                                                "RSE_GTvsSource"}
    # number and origin of evaluation images
    ev = doc.kv("evaluation-table")
    assert ev["number of images"] == "1" and ev["origin"] == "synthetic held-out image (seed 99)"
    # held-out data: checked, no overlap, no warning
    assert facts["overlap"]["checked"] and facts["overlap"]["overlapping"] == []
    assert "overlap-warning" not in doc.divs
    assert "None of the evaluation images were used for training" in facts["methods"]
    assert "Quality control on 1 image(s) with ground truth (synthetic held-out image (seed 99))" in facts["methods"]


def test_overlap_with_training_files_is_flagged(env, qc_dirs, tmp_path):
    paths = write_qc_report(qc_dirs["train"], tmp_path, model="care_demo")
    facts = json.loads(paths["json"].read_text())
    doc = Doc(paths["html"].read_text())
    ov = facts["overlap"]
    assert {(o["role"], o["name"]) for o in ov["overlapping"]} >= {("source", "img0"), ("source", "img1"),
                                                                    ("ground_truth", "img0")}
    assert "Warning" in doc.divs["overlap-warning"] and "care_demo:1" in doc.divs["overlap-warning"]
    assert doc.column("overlap-table", "by")[0] == "file sha256"
    assert "not an independent validation" in facts["methods"]
    # origin not given: marked for the user to fill in
    assert "[FILL IN: origin of the evaluation images]" in doc.kv("evaluation-table")["origin"]


def test_pixel_hash_catches_a_resaved_training_image(env, tmp_path):
    img = read_tiff(env["data"] / "train_src" / "img0.tif")
    copy = write_tiff(tmp_path / "renamed.tif", img, compress=True)  # other bytes, same pixels
    facts = qc_facts(env["root"] / "qc_eval", model="care_demo", eval_files=[copy])
    hits = facts["overlap"]["overlapping"]
    assert [(h["name"], h["by"]) for h in hits] == [("renamed.tif", "pixel sha256")]
    assert facts["overlap"]["warning"]


def test_label_qc_report(env, tmp_path):
    gt = np.zeros((64, 64), np.uint16)
    gt[4:20, 4:20], gt[30:50, 30:50], gt[5:15, 40:60] = 1, 2, 3
    pred = gt.copy()
    pred[5:15, 40:60] = 0  # one object missed
    pred[4:12, 4:20] = 1
    qc_labels_dataset({"cells": gt}, {"cells": pred}, tmp_path / "qc_labels")
    paths = write_qc_report(tmp_path / "qc_labels", origin="hand-made labels")
    facts = json.loads(paths["json"].read_text())
    doc = Doc(paths["html"].read_text())
    assert facts["kind"] == "labels" and "matching" in doc.sections
    thr = [float(t) for t in doc.column("matching-table", "thresh")]
    assert thr == pytest.approx([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9])
    at05 = doc.column("matching-table", "f1")[thr.index(0.5)]
    assert float(at05) == pytest.approx(2 * 2 / (2 * 2 + 0 + 1))  # tp 2, fp 0, fn 1
    assert png_ok(doc.images["fig-matching"])
    assert doc.column("matching-per-image-table", "file")[0] == "cells"
    assert "F1 score of 0.8 at IoU ≥ 0.5" in facts["methods"]


def test_bad_qc_input(env, tmp_path):
    with pytest.raises(InputError, match="QC folder not found"):
        qc_facts(tmp_path / "missing")
    with pytest.raises(InputError, match="no summary.json"):
        qc_facts(tmp_path)
    (tmp_path / "summary.json").write_text("{not json")
    with pytest.raises(InputError, match="unreadable JSON"):
        qc_facts(tmp_path)
    (tmp_path / "summary.json").write_text(json.dumps({"kind": "restoration"}))
    with pytest.raises(InputError, match="images.csv/metrics.csv are missing"):
        qc_facts(tmp_path)
    with pytest.raises(InputError, match="unknown model"):
        qc_facts(env["root"] / "qc_eval", model="nope")


def test_cli_report_qc(env, qc_dirs, tmp_path, capsys):
    from fijax.cli.main import main

    assert main(["report", "qc", str(qc_dirs["train"]), "--model", "care_demo", "--out", str(tmp_path), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["kind"] == "restoration" and out["images"] == 2 and "also training data" in out["overlap_warning"]
    assert (tmp_path / "qc_report.html").is_file()
    assert main(["report", "qc", str(tmp_path / "nowhere")]) == 2


def test_macro_qc_report(env, qc_dirs, tmp_path):
    from fijax.bridge import commands

    res = commands.get("FiJAX Report").func(commands.CommandCall(
        "FiJAX Report", {"qc": str(qc_dirs["eval"]), "origin": "held out", "out": str(tmp_path)}, {}))
    assert res.values["kind"] == "restoration" and res.values["images"] == 1


def test_compare_report(env, qc_dirs, tmp_path):
    from scipy.ndimage import gaussian_filter

    from fijax.qc.dataset import compare_methods

    data, root = env["data"], env["root"]
    src = read_tiff(data / "eval_src" / "new.tif")
    blurred = {"new": gaussian_filter(src.data, 1.5)}
    compare_methods(data / "eval_gt", {"care_demo": root / "pred_eval", "gaussian": blurred}, data / "eval_src",
                    tmp_path / "cmp")
    paths = write_qc_report(tmp_path / "cmp", origin="held out")
    facts = json.loads(paths["json"].read_text())
    doc = Doc(paths["html"].read_text())
    assert facts["kind"] == "compare" and facts["evaluation"]["image_count"] == 1
    assert set(doc.column("ranking-table", "method")) == {"care_demo", "gaussian", "source"}
    assert doc.column("ranking-table", "rank") == ["1", "2", "3"]
    assert "Methods were compared on 1 image(s)" in facts["methods"]
