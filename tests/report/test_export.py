"""bioimage.io export: package contents, ONNX round trip against the JAX prediction, test_model, bad input."""

from __future__ import annotations

import io
import json
import subprocess
import zipfile

import numpy as np
import pytest
from report_helpers import bioimageio_python

from fijax.engine.model import load_model
from fijax.errors import InputError, NotFoundError

pytest.importorskip("jax2onnx", reason="bioimage.io export needs the optional 'export' extra (jax2onnx)")
yaml = pytest.importorskip("yaml")


@pytest.fixture(scope="module")
def package(env, tmp_path_factory):
    """``fijax export care_demo`` once for the module (through the CLI)."""
    from fijax.cli.main import main

    out = tmp_path_factory.mktemp("export") / "care_demo.zip"
    assert main(["export", "care_demo:1", "--out", str(out), "--author", "Ada Lovelace;Analytical Engines",
                 "--license", "MIT", "--cite", "Our paper;10.1234/example.5678", "--tag", "denoising"]) == 0
    with zipfile.ZipFile(out) as zf:
        files = {n: zf.read(n) for n in zf.namelist()}
    return {"path": out, "files": files, "rdf": yaml.safe_load(files["bioimageio.yaml"])}


def _npy(data: bytes) -> np.ndarray:
    return np.load(io.BytesIO(data), allow_pickle=False)


def test_package_fields(package):
    import hashlib

    from fijax.registry.models import ModelRegistry

    rdf, files = package["rdf"], package["files"]
    rec = ModelRegistry().get("care_demo")
    assert rdf["type"] == "model" and rdf["format_version"].startswith("0.5.")
    assert rdf["authors"] == [{"name": "Ada Lovelace", "affiliation": "Analytical Engines"}]
    assert rdf["license"] == "MIT"
    dois = {c.get("doi") for c in rdf["cite"]}
    assert {"10.1038/s41592-018-0216-7", "10.1007/978-3-319-24574-4_28", "10.1234/example.5678"} <= dois
    assert "denoising" in rdf["tags"] and "care" in rdf["tags"]
    (inp,) = rdf["inputs"]
    assert [a["type"] for a in inp["axes"]] == ["batch", "space", "space", "channel"]
    assert [a.get("id") for a in inp["axes"][1:3]] == ["y", "x"]
    pre = inp["preprocessing"][0]
    cfg = rec.card["config"]
    assert pre["id"] == "scale_range" and pre["kwargs"]["axes"] == ["y", "x"]
    assert (pre["kwargs"]["min_percentile"], pre["kwargs"]["max_percentile"]) == (cfg["norm_pmin"], cfg["norm_pmax"])
    assert [o["id"] for o in rdf["outputs"]] == ["prediction"]
    assert rdf["weights"]["onnx"]["opset_version"] >= 7
    # every referenced file is in the zip with its sha256
    refs = [inp["test_tensor"], rdf["outputs"][0]["test_tensor"], inp["sample_tensor"], rdf["documentation"],
            rdf["outputs"][0]["sample_tensor"], rdf["covers"][0],
            rdf["weights"]["onnx"]]
    for ref in refs:
        assert hashlib.sha256(files[ref["source"]]).hexdigest() == ref["sha256"], ref["source"]
    # test input comes from the registry (the model's stored validation patches)
    from fijax.engine.checkpoint import load_npz

    stored, _ = load_npz(rec.path / "examples.npz")
    np.testing.assert_array_equal(_npy(files["test_input.npy"])[0], stored["source"][0])
    # documentation from the training report, with a Validation section; provenance in config
    readme = files["README.md"].decode()
    assert "# Validation" in readme and "Weigert" in readme and rec.weights_sha256 in readme
    assert rdf["config"]["fijax"]["weights_sha256"] == rec.weights_sha256
    assert rdf["config"]["fijax"]["training_data"]  # file names with sha256


def test_onnx_reproduces_jax_prediction(package):
    ort = pytest.importorskip("onnxruntime", reason="the ONNX round trip needs onnxruntime")
    from fijax.engine import data as D
    from fijax.io import Image
    from fijax.report.bioimageio import scale_range

    files = package["files"]
    x = _npy(files["test_input.npy"])
    expected = _npy(files["test_output_prediction.npy"])
    trained = load_model("care_demo")
    sess = ort.InferenceSession(files["weights.onnx"], providers=["CPUExecutionProvider"])
    normed = scale_range(x, trained.config.norm_pmin, trained.config.norm_pmax, 2)
    (y,) = sess.run(None, {sess.get_inputs()[0].name: normed})
    np.testing.assert_allclose(y, expected, atol=1e-5)  # the test tensor is what ONNX computes
    # ...and what fijax predict gives, mapped back to image units as predict does
    raw = Image(x[0, ..., 0], "YX")
    jax_pred = trained.predict(raw)["prediction"]
    lo, hi = D.percentiles(x[0], trained.config.norm_pmin, trained.config.norm_pmax)
    onnx_pred = y[0, ..., 0] * (hi[0] - lo[0]) + lo[0]
    span = float(np.ptp(jax_pred))
    assert np.max(np.abs(onnx_pred - jax_pred)) <= 1e-4 * max(span, 1.0)
    # a batch of two (the batch axis is free) gives the same per-sample result
    (y2,) = sess.run(None, {sess.get_inputs()[0].name: np.concatenate([normed, normed])})
    np.testing.assert_allclose(y2[1], y[0], atol=1e-6)


def test_bioimageio_core_test_model(package):
    py = bioimageio_python()
    if py is None:
        pytest.skip("bioimageio.core not installed in a separate environment (its pydantic pin conflicts); "
                    "set FIJAX_BIOIMAGEIO_PYTHON or see docs/reports.md")
    code = ("import json, sys\nfrom pathlib import Path\nfrom bioimageio.core import test_model\n"
            "s = test_model(Path(sys.argv[1]).resolve())\n"
            "print(json.dumps({'status': s.status, 'details': [[d.name, d.status] for d in s.details]}))\n")
    probe = subprocess.run([py, "-c", "import bioimageio.core"], capture_output=True, text=True)
    if probe.returncode != 0:
        pytest.skip(f"{py} cannot import bioimageio.core: {probe.stderr.strip()[-200:]}")
    res = subprocess.run([py, "-c", code, str(package["path"])], capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    report = json.loads(res.stdout.strip().splitlines()[-1])
    assert report["status"] == "passed", report
    names = [d[0] for d in report["details"]]
    assert any("Reproduce test outputs" in n for n in names)


def test_bad_export_input(env, tmp_path):
    from fijax.report.bioimageio import export_bioimageio

    out = tmp_path / "m.zip"
    with pytest.raises(InputError, match="at least one author"):
        export_bioimageio("care_demo", out, license="MIT")
    with pytest.raises(InputError, match="needs a license"):
        export_bioimageio("care_demo", out, authors=["A B"])
    with pytest.raises(InputError, match=r"\.zip"):
        export_bioimageio("care_demo", tmp_path / "m.tar", authors=["A B"], license="MIT")
    with pytest.raises(InputError, match="bad citation"):
        export_bioimageio("care_demo", out, authors=["A B"], license="MIT", cite=["no doi here"])
    with pytest.raises(NotFoundError, match="unknown model"):
        export_bioimageio("nope", out, authors=["A B"], license="MIT")
    assert not out.exists()


def test_export_cli_requires_license(env, tmp_path, capsys):
    from fijax.cli.main import main

    with pytest.raises(SystemExit) as exc:
        main(["export", "care_demo", "--out", str(tmp_path / "m.zip"), "--author", "A"])
    assert exc.value.code == 2 and "--license" in capsys.readouterr().err
    assert main(["export", "nope", "--out", str(tmp_path / "m.zip"), "--author", "A", "--license", "MIT"]) == 2
