"""The model card and training report carry the intended domain, calibration, hardware and test QC."""

from __future__ import annotations

import json

import numpy as np
import pytest
import tifffile

from fijax import ops
from fijax.cli.main import main
from fijax.data.families import family_images
from fijax.engine.model import load_model
from fijax.errors import InputError
from fijax.qc.baseline import VERDICTS
from fijax.qc.dataset import qc_dataset
from fijax.registry.models import ModelRegistry
from fijax.report.training import facts_from_html, training_facts, write_training_report


def _pairs(folder, fam, n, seed):
    (folder / "source").mkdir(parents=True)
    (folder / "target").mkdir()
    gt, noisy = family_images(fam, n, 64, seed=seed)
    for i in range(n):
        tifffile.imwrite(folder / "source" / f"{fam}{i}.tif", noisy[i])
        tifffile.imwrite(folder / "target" / f"{fam}{i}.tif", gt[i])
    return gt, noisy


def test_report_shows_calibration_domain_hardware(blobs_model, tmp_path):
    _, reg, _ = blobs_model
    paths = write_training_report(reg.get("blobs"), tmp_path / "rep", registry=reg)
    html = paths["html"].read_text()
    facts = facts_from_html(html)
    uc = facts["uncertainty_calibration"]
    assert uc["available"] and len(uc["curve"]) >= 5 and "fig-calibration" in html
    assert facts["intended_domain"]["description"] == "nuclei, widefield"
    assert facts["validation_images"] and "validation-images-table" in html
    assert facts["hardware"]["cpu_cores"] >= 1 and "hardware-table" in html
    assert facts["domain_reference"]["threshold"] > 0
    assert facts["test_qc"] is None and "test-qc-none" in html


def test_report_model_qc_dir_lists_test_verdicts(blobs_model, tmp_path, monkeypatch):
    _, reg, home = blobs_model
    monkeypatch.setenv("FIJAX_HOME", str(home))
    gt, noisy = family_images("blobs", 2, 64, seed=77)
    pred = load_model("blobs", registry=reg).predict(noisy, axes="TYX")["prediction"]
    qc_dir = tmp_path / "qc"
    qc_dataset({"a": gt[0], "b": gt[1]}, {"a": pred[0], "b": pred[1]}, {"a": noisy[0], "b": noisy[1]},
               qc_dir, baseline="puredenoise", maps=False, panels=False)
    out = tmp_path / "rep"
    assert main(["report", "model", "blobs", "--qc", str(qc_dir), "--out", str(out)]) == 0
    facts = json.loads(next(out.glob("*_training_report.json")).read_text())
    assert set(facts["test_qc"]["images"]) == {"a", "b"}
    assert set(facts["test_qc"]["images"].values()) <= set(VERDICTS)
    assert main(["report", "model", "blobs", "--qc", str(tmp_path / "nothing"), "--out", str(out)]) == 2


def test_train_with_test_folder_stores_qc_and_domain(tmp_path):
    train_dir, test_dir = tmp_path / "train", tmp_path / "test"
    _pairs(train_dir, "spots", 3, seed=1)
    _pairs(test_dir, "spots", 2, seed=2)
    (test_dir / "source" / "extra.tif").write_bytes((test_dir / "source" / "spots0.tif").read_bytes())
    opts = {"name": "sp", "task": "care", "preset": "quick", "epochs": 2, "steps_per_epoch": 3,
            "config": {"val_patches": 4}, "source_paths": [str(train_dir / "source")],
            "target_paths": [str(train_dir / "target")], "test": str(test_dir), "description": "spots"}
    with pytest.raises(InputError, match=r"no file with the same name as source image\(s\) extra"):
        ops.get("train")({}, opts)
    assert ModelRegistry().list() == []  # refused before training: nothing registered
    (test_dir / "source" / "extra.tif").unlink()
    res = ops.get("train")({}, opts)
    assert res.values["test_verdict"] in VERDICTS and res.values["test_images"] == 2
    rec = ModelRegistry().get("sp")
    assert rec.card["test_qc"]["n_images"] == 2 and "qc_test.csv" in rec.card["files"]
    rows = (rec.path / "qc_test.csv").read_text().splitlines()
    assert rows[0].startswith("file,verdict,") and "domain_score" in rows[0] and len(rows) == 3
    facts = training_facts("sp")
    assert facts["test_qc"]["origin"] == str(test_dir)
    assert "qc_test" in facts["stored_qc"]["tables"]
    assert np.isfinite(float(facts["stored_qc"]["tables"]["qc_test"][0]["pred_psnr"]))
