"""GT-free domain check: in/out separation, threshold calibration, references old and new, the faces."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
import tifffile

from fijax import ops
from fijax.cli.main import main
from fijax.data.families import family_images
from fijax.engine import domain as DOM
from fijax.engine.model import load_model
from fijax.errors import InputError
from fijax.io.image import Image

SIZE = 64  # the session fixture blobs_model (conftest.py) trains on 64² images


def test_in_domain_scores_below_out_of_domain(blobs_model):
    res, reg, _ = blobs_model
    trained = load_model("blobs", registry=reg)
    ref = DOM.load_reference(reg.get("blobs"))
    _, held_in = family_images("blobs", 5, SIZE, seed=50)
    _, out = family_images("membranes", 5, SIZE, seed=51)
    s_in = [DOM.check_image(trained.model, trained.config, ref, x) for x in held_in]
    s_out = [DOM.check_image(trained.model, trained.config, ref, x) for x in out]
    assert max(r.domain_score for r in s_in) < min(r.domain_score for r in s_out)
    assert sum(r.in_domain for r in s_in) >= 4
    assert not any(r.in_domain for r in s_out)
    assert all(r.windows == 4 for r in s_in)  # 64² image, 32² training patches


def test_threshold_calibration_hits_the_stated_rate():
    rng = np.random.default_rng(0)
    ref = DOM.fit_reference(rng.normal(size=(2000, 6)), rng.normal(size=(4000, 6)), window=(8, 8),
                            false_alarm_rate=0.05)
    fresh = ref.window_scores(rng.normal(size=(20000, 6)))
    assert np.mean(fresh > ref.threshold) == pytest.approx(0.05, abs=0.012)
    # images of 5 independent windows: the median exceeds threshold_for(5) at most ~5 % of the time
    med = np.median(fresh.reshape(-1, 5), axis=1)
    assert np.mean(med > ref.threshold_for(5)) == pytest.approx(0.05, abs=0.02)
    assert ref.threshold_for(5) < ref.threshold_for(1) == ref.threshold
    assert DOM.median_quantile(1, 0.05) == pytest.approx(0.95, abs=1e-6)
    shifted = ref.window_scores(rng.normal(1.5, 1.0, size=(500, 6)))
    assert np.mean(shifted > ref.threshold) > 0.5
    with pytest.raises(InputError, match="false-alarm rate"):
        DOM.fit_reference(rng.normal(size=(50, 3)), rng.normal(size=(50, 3)), window=(8, 8), false_alarm_rate=0.7)


def test_card_records_domain_uncertainty_and_hardware(blobs_model):
    res, reg, _ = blobs_model
    card = reg.get("blobs").card
    dr = card["domain_reference"]
    assert dr["method"] == DOM.METHOD and dr["false_alarm_rate"] == 0.05 and dr["window"] == [32, 32]
    assert card["files"][DOM.DOMAIN_FILE] and (reg.get("blobs").path / DOM.DOMAIN_FILE).is_file()
    uc = card["uncertainty_calibration"]
    assert uc["available"] and -1.0 <= uc["spearman"] <= 1.0 and uc["samples"] == 16
    assert 5 <= len(uc["curve"]) <= 10 and sum(b["pixels"] for b in uc["curve"]) == uc["pixels"]
    stds = [b["std"] for b in uc["curve"]]
    assert stds == sorted(stds)  # bins ordered by std
    dom = card["intended_domain"]
    assert dom["description"] == "nuclei, widefield" and dom["image_count"] == 6
    assert dom["pixel_size"] == [{"zyx": [1.0, 0.2, 0.2], "unit": "micron"}]
    assert {"p1", "p50", "p99", "mean", "std", "noise"} <= set(dom["images"][0])
    assert card["validation_images"] == ["blobs" + s[-1] for s in card["validation_images"]]  # titles
    assert len(card["validation_images"]) == 1  # 10 % of 6 images, rounded
    assert card["hardware"]["cpu_cores"] >= 1 and card["hardware"]["cpu"]


def test_no_reference_is_a_clear_error_and_calibrate_adds_one(blobs_model, tmp_path, monkeypatch):
    _, reg, home = blobs_model
    monkeypatch.setenv("FIJAX_HOME", str(home))
    rec = reg.get("blobs")
    old_files = {f: rec.path / f for f in ("weights.npz", "config.json", "log.csv")}
    old_card = {k: v for k, v in rec.card.items() if k not in ("domain_reference", "files")}
    old = reg.register("old", old_files, old_card)  # as registered before domain references existed
    img = Image(family_images("blobs", 1, SIZE, seed=9)[1][0], axes="YX", title="b")
    with pytest.raises(InputError, match=r"no domain reference; retrain or run `fijax models calibrate"):
        ops.get("check")({"image": img}, {"model": old.ref})
    folder = tmp_path / "indomain"
    folder.mkdir()
    for i, x in enumerate(family_images("blobs", 4, SIZE, seed=3)[1]):
        tifffile.imwrite(folder / f"b{i}.tif", x)
    assert main(["models", "calibrate", old.ref, "--data", str(folder)]) == 0
    card = reg.get(old.ref).card
    assert card["domain_reference"]["n_reference"] == DOM.REFERENCE_PATCHES and DOM.DOMAIN_FILE in card["files"]
    assert json.loads((reg.get(old.ref).path / "card.json").read_text())["files"] == card["files"]
    r = ops.get("check")({"image": img}, {"model": old.ref})
    assert set(r.table[0]) == set(ops.check.CHECK_COLUMNS) and isinstance(r.values["in_domain"], bool)
    # a tampered reference is refused, not used
    with open(reg.get(old.ref).path / DOM.DOMAIN_FILE, "ab") as fh:
        fh.write(b"x")
    with pytest.raises(InputError, match="sha256"):
        ops.get("check")({"image": img}, {"model": old.ref})
    with pytest.raises(InputError, match="cannot be replaced"):
        reg.add_files(reg.get(old.ref), {"weights.npz": folder / "b0.tif"}, {})


def test_cli_check_and_predict_check_write_the_files(blobs_model, tmp_path, monkeypatch):
    _, _, home = blobs_model
    monkeypatch.setenv("FIJAX_HOME", str(home))
    src = tmp_path / "in"
    src.mkdir()
    tifffile.imwrite(src / "nuc.tif", family_images("blobs", 1, SIZE, seed=21)[1][0])
    tifffile.imwrite(src / "mem.tif", family_images("membranes", 1, SIZE, seed=22)[1][0])
    out = tmp_path / "check"
    assert main(["check", "--model", "blobs", str(src), "--out", str(out)]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert set(summary["images"]) == {"nuc", "mem"}
    for v in summary["images"].values():
        assert set(v) == {"domain_score", "in_domain"}
        assert isinstance(v["domain_score"], float) and isinstance(v["in_domain"], bool)
    assert summary["images"]["mem"]["in_domain"] is False and summary["out_of_domain"] == ["mem"]
    rows = list(csv.DictReader(open(out / "check.csv")))
    assert [r["image"] for r in rows] == ["mem", "nuc"] and list(rows[0]) == list(ops.check.CHECK_COLUMNS)
    pred = tmp_path / "pred"
    assert main(["predict", "--model", "blobs", str(src), "--out", str(pred), "--check"]) == 0
    assert (pred / "mem.tif").is_file() and (pred / "nuc.tif").is_file()
    s2 = json.loads((pred / "summary.json").read_text())
    assert s2["images"] == summary["images"]
    assert main(["check", "--model", "nosuch", str(src), "--out", str(out)]) == 2
