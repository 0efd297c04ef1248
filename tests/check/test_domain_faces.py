"""The domain check through its other faces: macro command, predict option, compare without GT."""

from __future__ import annotations

from fijax import ops
from fijax.bridge.commands._run import run_command
from fijax.data.families import family_images
from fijax.io.image import Image
from fijax.ops.check import CHECK_COLUMNS


def test_macro_command_fills_one_results_row(blobs_model, monkeypatch):
    _, _, home = blobs_model
    monkeypatch.setenv("FIJAX_HOME", str(home))
    img = Image(family_images("membranes", 1, 64, seed=31)[1][0], axes="YX", title="membranes")
    out = run_command("FiJAX Check", "model=blobs", {"image": img})
    assert len(out.rows) == 1 and list(out.rows[0]) == list(CHECK_COLUMNS)
    assert out.rows[0]["image"] == "membranes" and out.rows[0]["in_domain"] is False
    assert "check" in ops.load_all() and "models_calibrate" in ops.load_all()  # hence POST /ops/check


def test_predict_option_and_compare_without_gt(blobs_model, monkeypatch):
    _, _, home = blobs_model
    monkeypatch.setenv("FIJAX_HOME", str(home))
    img = Image(family_images("membranes", 1, 64, seed=32)[1][0], axes="YX", title="m")
    r = ops.get("predict")({"image": img}, {"model": "blobs", "check": True})
    assert r.values["in_domain"] is False and r.values["domain_score"] > r.values["domain_threshold"]
    assert "domain_score" not in ops.get("predict")({"image": img}, {"model": "blobs"}).values
    res = ops.get("compare_denoisers")({"image": img}, {"model": "blobs", "methods": "gaussian,dl",
                                                        "mc_samples": 2, "figure": False})
    dl = next(row for row in res.table if row["kind"] == "dl")
    assert dl["in_domain"] is False and dl["domain_score"] > 0 and "false alarms" in dl["domain_note"]
    assert "OUT OF DOMAIN for DL blobs:1" in res.values["message"] and res.values["out_of_domain"] == "DL blobs:1"
    gauss = next(row for row in res.table if row["kind"] == "classical")
    assert "in_domain" not in gauss
