"""Training report and methods paragraph: every item the issue lists, parsed from HTML and JSON."""

from __future__ import annotations

import json

import pytest
from report_helpers import MICROSCOPE_INFO, Doc, png_ok

from fijax.engine.config import TrainConfig
from fijax.errors import InputError, NotFoundError
from fijax.io.hashing import sha256_file
from fijax.registry.models import ModelRegistry
from fijax.report.training import FACT_KEYS, facts_from_html, training_facts, write_training_report


@pytest.fixture(scope="module")
def reports(env):
    out = env["root"] / "reports"
    return {name: write_training_report(name, out / name) for name in ("care_demo", "care_child")}


def test_json_has_every_item(env, reports):
    facts = json.loads(reports["care_demo"]["json"].read_text())
    assert set(FACT_KEYS) <= set(facts)
    rec = ModelRegistry().get("care_demo")
    assert facts["model"]["name"] == "care_demo" and facts["model"]["version"] == 1
    assert facts["model"]["weights_sha256"] == sha256_file(rec.weights_path)
    assert facts["date"] == rec.created and facts["training_seconds"] > 0
    assert facts["algorithm"]["doi"] == "10.1038/s41592-018-0216-7"  # CARE, Weigert et al. 2018
    # every hyperparameter of the configuration, resolved
    assert set(TrainConfig.model_fields) <= set(facts["hyperparameters"])
    assert facts["hyperparameters"]["kernel"] is not None and facts["hyperparameters"]["loss"] == "mae"
    assert facts["augmentation"]["ops"] == ["flip", "rot90"] and len(facts["augmentation"]["description"]) == 2
    # training data: files with sha256 of their bytes, counts, pixel size, metadata found in the files
    files = facts["data"]["training"]["files"]
    src_files = sorted((env["data"] / "train_src").glob("*.tif")) + sorted((env["data"] / "train_gt").glob("*.tif"))
    assert {f["sha256"] for f in files} == {sha256_file(p) for p in src_files}
    assert facts["data"]["training"]["image_count"] == 2
    assert facts["data"]["training"]["patch_count"] == 2 * 3 * 4  # epochs × steps × batch
    assert facts["data"]["validation"]["patch_count"] > 0 and facts["data"]["validation"]["split"]
    assert facts["data"]["pixel_size"] == [{"zyx": [1.0, 0.13, 0.13], "unit": "micron"}]
    md = facts["data"]["microscope_metadata"]
    assert any(MICROSCOPE_INFO in str(v) for m in md.values() for v in m.values())
    assert facts["seeds"]["seed"] == 0
    assert facts["versions"]["jax"] and facts["versions"]["flax"] and facts["versions"]["fijax"]
    assert isinstance(facts["jars"], list) and facts["device"].startswith(("cpu", "gpu", "cuda", "tpu"))
    assert [r["epoch"] for r in facts["loss_curve"]] == [1, 2]
    assert all(r["loss"] > 0 and r["val_loss"] > 0 for r in facts["loss_curve"])
    assert facts["examples"]["count"] > 0 and facts["examples"]["columns"] == ["source", "target", "prediction"]
    assert facts["metrics"]["val_loss"] == pytest.approx(facts["loss_curve"][-1]["val_loss"])
    assert facts["parent"] is None and facts["trained_from"] == "scratch"


def test_html_is_self_contained_and_complete(reports):
    text = reports["care_demo"]["html"].read_text()
    assert "<link" not in text and "src=\"http" not in text  # nothing fetched from elsewhere
    doc = Doc(text)
    for sec in ("model", "algorithm", "hyperparameters", "augmentation", "data", "seeds", "versions", "device",
                "loss-curves", "examples", "metrics", "parent", "methods"):
        assert sec in doc.sections, sec
    for fig in ("fig-loss-linear", "fig-loss-log", "fig-examples"):
        assert png_ok(doc.images[fig]), fig
    facts = json.loads(reports["care_demo"]["json"].read_text())
    model = doc.kv("model-table")
    assert model["name"] == "care_demo" and model["version"] == "1" and model["date (created, UTC)"] == facts["date"]
    assert "Weigert" in doc.kv("algorithm-table")["reference"]
    hyper = doc.kv("hyperparameters-table")
    assert set(TrainConfig.model_fields) <= set(hyper) and hyper["learning_rate"] == "0.002"
    assert doc.column("augmentation-table", "augmentation") == ["flip", "rot90"]
    assert set(doc.column("files-table", "sha256")) == {f["sha256"] for f in facts["data"]["training"]["files"]}
    assert doc.kv("data-table")["pixel size (Z, Y, X)"].endswith("micron")
    assert MICROSCOPE_INFO in doc.column("metadata-table", "value")
    assert doc.kv("seeds-table")["seed"] == "0"
    assert doc.kv("versions-table")["jax"] == facts["versions"]["jax"]
    assert doc.kv("device-table")["device"] == facts["device"]
    assert len(doc.tables["log-table"]) == 1 + 2  # header + one row per epoch
    assert float(doc.kv("metrics-table")["val_loss"]) == pytest.approx(facts["metrics"]["val_loss"], rel=1e-5)
    assert "from scratch" in doc.paragraphs["parent-none"]
    assert doc.paragraphs["methods-text"] == facts["methods"]
    embedded = facts_from_html(text)
    assert embedded["model"] == facts["model"] and embedded["loss_curve"] == facts["loss_curve"]


def test_parent_model_is_reported(reports):
    facts = json.loads(reports["care_child"]["json"].read_text())
    assert facts["parent"]["name"] == "care_demo" and facts["parent"]["version"] == 1
    assert facts["trained_from"] == "care_demo:1"
    doc = Doc(reports["care_child"]["html"].read_text())
    assert doc.kv("parent-table")["name"] == "care_demo"
    assert "fine-tuned from model care_demo version 1" in facts["methods"]


def test_methods_paragraph_covers_reporting_items(reports):
    facts = json.loads(reports["care_demo"]["json"].read_text())
    text = reports["care_demo"]["methods"].read_text()
    assert text.strip() == facts["methods"]
    for needle in ("CARE", "doi:10.1038/s41592-018-0216-7",            # algorithm and citation
                   f"fijax {facts['versions']['fijax']}", facts["date"][:10],  # tool version, model date
                   "version 1", "2 source/target image pair(s)", "0.13 × 0.13 micron",  # model, data
                   "[FILL IN: repository and DOI/accession of the training data]",  # deposition fields
                   "[FILL IN: repository and DOI of the model",
                   "batch size 4", "patches of 32×32", "learning rate of 0.002", "MAE loss", "seed 0",  # hyperparams
                   f"jax {facts['versions']['jax']}",                     # libraries
                   "Quality control", "Predictions were computed with fijax"):  # validation, prediction tool
        assert needle in text, needle


def test_unknown_model_and_missing_fields(env, tmp_path):
    with pytest.raises(NotFoundError, match="unknown model 'nope'"):
        training_facts("nope")
    with pytest.raises(NotFoundError, match="no version 7"):
        training_facts("care_demo:7")
    reg = ModelRegistry()
    rec = reg.get("care_demo")
    broken = reg.register("broken", {"weights.npz": rec.weights_path, "log.csv": rec.path / "log.csv"},
                          {"task": "care", "config": rec.card["config"]})
    with pytest.raises(InputError, match="lacks field.*unet.*versions.*device.*data.*metrics"):
        write_training_report(broken, tmp_path)
    assert not list(tmp_path.iterdir())  # nothing half-written


def test_cli_report_model(env, tmp_path, capsys):
    from fijax.cli.main import main

    assert main(["report", "model", "care_demo:1", "--out", str(tmp_path), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["model"] == "care_demo:1"
    assert Doc(open(out["html"]).read()).kv("model-table")["name"] == "care_demo"
    assert main(["report", "model", "nope"]) == 2
    assert "unknown model" in capsys.readouterr().err


def test_op_writes_job_artifacts_and_macro_command(env, tmp_path):
    from fijax import ops
    from fijax.ops import OpContext

    res = ops.get("report_model")({}, {"model": "care_demo"}, OpContext(out_dir=tmp_path))
    assert all(p.parent == tmp_path and p.is_file() for p in res.files.values())  # the server's artifacts
    assert res.values["methods"].startswith("Images were processed with CARE")

    from fijax.bridge import commands

    cmd = commands.get("FiJAX Report")
    call = commands.CommandCall("FiJAX Report", {"model": "care_demo", "out": str(tmp_path / "m")}, {})
    res = cmd.func(call)
    assert res.values["model"] == "care_demo:1" and (tmp_path / "m" / "care_demo_v1_training_report.html").is_file()
    with pytest.raises(InputError, match="model=NAME"):
        cmd.func(commands.CommandCall("FiJAX Report", {}, {}))


@pytest.mark.jvm
def test_fijax_report_macro_in_imagej(env, ij, tmp_path):
    res = ij.run_macro(f'run("FiJAX Report", "model=care_demo:1 out=[{tmp_path}]");')
    row = res.results[0]
    assert row["model"] == "care_demo:1" and row["html"].endswith("care_demo_v1_training_report.html")
    assert Doc(open(row["html"]).read()).kv("model-table")["name"] == "care_demo"


def test_segmentation_model_report(tmp_path, monkeypatch):
    """A seg model: class-map example patches and the validation QC the task stored with the model."""
    from fijax.engine.config import preset
    from fijax.engine.seg_synthetic import touching_nuclei
    from fijax.engine.train import train
    from fijax.io import Image

    monkeypatch.setenv("FIJAX_HOME", str(tmp_path / "home"))
    x, y = touching_nuclei(6, size=64)
    train(preset("quick", "seg", epochs=1, steps_per_epoch=2, batch_size=4), [Image(a, "YX") for a in x],
          [Image(b, "YX") for b in y], name="seg_demo")
    paths = write_training_report("seg_demo", tmp_path / "out")
    facts = json.loads(paths["json"].read_text())
    assert facts["examples"]["columns"] == ["source", "target (classes)", "prediction (classes)"]
    assert "segmentation" in facts["algorithm"]["name"]
    doc = Doc(paths["html"].read_text())
    assert "validation-qc" in doc.sections and png_ok(doc.images["fig-qc_f1"])
    thr = [float(t) for t in doc.column("qc_matching-table", "thresh")]
    assert thr[0] == pytest.approx(0.5) and len(thr) == len(facts["stored_qc"]["tables"]["qc_matching"])
