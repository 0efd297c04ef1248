"""Dataset QC, label QC, method comparison, the operations, CLI commands and macro commands."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
import tifffile

from fijax.errors import InputError
from fijax.io import Image, write_tiff
from fijax.qc import compare_methods, qc_dataset, qc_labels_dataset, restoration_metrics, verdict
from fijax.qc.dataset import COMPARE_COLUMNS, LABEL_COLUMNS, METRIC_COLUMNS

SIZE = 48


def _gt(k: int) -> np.ndarray:
    yy, xx = np.mgrid[0:SIZE, 0:SIZE]
    return (1000 + 800 * np.sin(0.2 * xx + 0.1 * k) * np.cos(0.15 * yy) + 40 * k).astype(np.uint16)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    """GT (uint16), a good float32 prediction, a noisy source; two 2D files and one 3-slice stack."""
    root = tmp_path_factory.mktemp("qcdata")
    rng = np.random.default_rng(0)
    for d in ("gt", "pred", "src"):
        (root / d).mkdir()
    for k in range(2):
        gt = _gt(k)
        write_tiff(root / "gt" / f"img{k}.tif", gt)
        write_tiff(root / "src" / f"img{k}.tif", np.clip(gt + rng.normal(0, 250, gt.shape), 0, None).astype(np.uint16))
        write_tiff(root / "pred" / f"img{k}.tif", (gt * 0.001 + rng.normal(0, 0.02, gt.shape)).astype(np.float32))
    stack = np.stack([_gt(k) for k in range(3)])
    write_tiff(root / "gt" / "stack.tif", Image(stack, axes="ZYX"))
    write_tiff(root / "src" / "stack.tif", Image(stack, axes="ZYX"))  # source == GT: nothing to improve
    write_tiff(root / "pred" / "stack.tif",
               Image((stack + rng.normal(0, 100, stack.shape)).astype(np.float32), axes="ZYX"))
    return root


def _read_csv(path):
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def test_verdict_rule():
    assert verdict(0.8, 30.0, 0.7, 25.0) == "improves"
    assert verdict(0.8, 24.0, 0.7, 25.0) == "does not improve"  # PSNR worse
    assert verdict(0.6, 30.0, 0.7, 25.0) == "does not improve"  # SSIM worse
    assert verdict(0.7, 25.0, 0.7, 25.0) == "does not improve"  # equal is not closer
    assert verdict(0.8, 30.0, None, None) == "no source"


def test_qc_dataset_outputs(dataset, tmp_path):
    out = tmp_path / "qc"
    res = qc_dataset(dataset / "gt", dataset / "pred", dataset / "src", out)
    rows = _read_csv(out / "metrics.csv")
    assert list(rows[0]) == METRIC_COLUMNS
    assert [(r["file"], r["slice"]) for r in rows] == [("img0", "0"), ("img1", "0"), ("stack", "0"),
                                                       ("stack", "1"), ("stack", "2")]
    # numbers in the CSV are the kernels' numbers
    gt = tifffile.imread(dataset / "gt" / "img1.tif")
    pred = tifffile.imread(dataset / "pred" / "img1.tif")
    ref = restoration_metrics(gt, pred, maps=False)
    assert float(rows[1]["pred_ssim"]) == pytest.approx(ref["ssim"][0], abs=1e-12)
    assert float(rows[1]["pred_sqrt_mae"]) == pytest.approx(ref["sqrt_mae"][0], abs=1e-12)
    assert rows[0]["verdict"] == "improves"
    assert rows[2]["verdict"] == "does not improve"  # source identical to GT
    assert float(rows[2]["source_ssim"]) == pytest.approx(1.0, abs=1e-6)
    images = {r["file"]: r for r in _read_csv(out / "images.csv")}
    assert images["img0"]["verdict"] == "improves" and images["stack"]["verdict"] == "does not improve"
    assert images["stack"]["n_slices"] == "3"
    summary = json.loads((out / "summary.json").read_text())
    assert summary["verdict"] in ("improves", "does not improve")
    assert "BOTH" in summary["verdict_rule"] and summary["n_slices"] == 5
    assert len(summary["inputs"]["ground_truth"]["img0"]) == 64  # sha256
    assert "jax" in summary["versions"] and summary["date_utc"]
    ssim_map = tifffile.imread(out / "maps" / "SSIM_GTvsPrediction_stack.tif")
    assert ssim_map.dtype == np.float32 and ssim_map.shape == (3, SIZE, SIZE)
    for kind in ("SSIM_GTvsSource", "RSE_GTvsPrediction", "RSE_GTvsSource"):
        assert (out / "maps" / f"{kind}_img0.tif").is_file()
    png = (out / "panels" / "img0.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert res.files["metrics"] == out / "metrics.csv"
    assert not list(out.rglob("*.part"))  # atomic writes leave no temporaries


def test_qc_without_source_and_in_memory(dataset):
    gt = tifffile.imread(dataset / "gt" / "img0.tif")
    pred = tifffile.imread(dataset / "pred" / "img0.tif")
    res = qc_dataset({"a": gt}, {"a": pred}, keep_maps=True)
    assert res.rows[0]["verdict"] == "no source" and res.rows[0]["source_ssim"] is None
    assert res.summary["verdict"] == "no source"
    assert set(res.maps) == {"SSIM_GTvsPrediction_a", "RSE_GTvsPrediction_a"}
    raw = qc_dataset({"a": gt}, {"a": gt}, normalize=False)
    assert raw.rows[0]["pred_ssim"] == pytest.approx(1.0) and raw.rows[0]["pred_psnr"] == float("inf")
    with pytest.raises(InputError, match="data_range is required"):
        qc_dataset({"a": gt}, {"a": pred}, normalize=False)


def test_qc_dataset_bad_input(dataset, tmp_path):
    (tmp_path / "pred").mkdir()
    write_tiff(tmp_path / "pred" / "other.tif", np.zeros((SIZE, SIZE), np.float32))
    with pytest.raises(InputError, match="no file with the same name"):
        qc_dataset(dataset / "gt", tmp_path / "pred")
    with pytest.raises(InputError, match="no such file"):
        qc_dataset(tmp_path / "missing", tmp_path / "pred")
    with pytest.raises(InputError, match="shape mismatch"):
        qc_dataset({"a": np.zeros((SIZE, SIZE))}, {"a": np.zeros((SIZE, SIZE + 1))})
    bad = np.ones((SIZE, SIZE), np.float32)
    bad[3, 3] = np.nan
    with pytest.raises(InputError, match="a: .*NaN"):
        qc_dataset({"a": np.ones((SIZE, SIZE), np.float32)}, {"a": bad})
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="no .tif"):
        qc_dataset(tmp_path / "empty", tmp_path / "pred")


def _labels(shift: int) -> np.ndarray:
    y = np.zeros((40, 40), np.uint16)
    for k, (r, c) in enumerate([(2, 2), (2, 22), (22, 2), (22, 22)], start=1):
        y[r:r + 14, c:c + 14] = k
    return np.roll(y, shift, axis=1)


def test_label_qc(tmp_path):
    gt_dir, pred_dir = tmp_path / "gt", tmp_path / "pred"
    gt_dir.mkdir()
    pred_dir.mkdir()
    for k, shift in enumerate((0, 3)):
        write_tiff(gt_dir / f"l{k}.tif", _labels(0))
        write_tiff(pred_dir / f"l{k}.tif", _labels(shift))
    out = tmp_path / "out"
    res = qc_labels_dataset(gt_dir, pred_dir, out, thresholds=[0.5, 0.7, 0.9])
    rows = _read_csv(out / "matching.csv")
    assert list(rows[0]) == LABEL_COLUMNS and len(rows) == 6
    # shift 3 of a 14-px square: IoU 11/17 = 0.647 -> matched at 0.5, not at 0.7
    l1 = {r["thresh"]: r for r in rows if r["file"] == "l1"}
    assert (l1["0.5"]["tp"], l1["0.7"]["tp"]) == ("4", "0")
    pooled = _read_csv(out / "matching_dataset.csv")
    assert [r["tp"] for r in pooled] == ["8", "4", "4"]
    assert (out / "matching_vs_threshold.png").read_bytes()[:4] == b"\x89PNG"
    assert res.summary["at_0.5"]["f1"] == pytest.approx(1.0)
    with pytest.raises(InputError, match="integer dtype"):
        qc_labels_dataset({"a": _labels(0).astype(np.float32)}, {"a": _labels(0)})


def test_compare_methods(dataset, tmp_path):
    out = tmp_path / "cmp"
    res = compare_methods(dataset / "gt", {"net": dataset / "pred", "copy": dataset / "gt"},
                          source=dataset / "src", out_dir=out)
    rows = _read_csv(out / "compare.csv")
    assert list(rows[0]) == COMPARE_COLUMNS
    assert [r["method"] for r in rows][0] == "copy"  # the GT itself ranks first
    assert {r["method"] for r in rows} == {"copy", "net", "source"}
    by = {r["method"]: r for r in rows}
    assert by["source"]["verdict_vs_source"] == "raw input" and rows[-1]["method"] == "source"
    assert by["copy"]["verdict_vs_source"] == "improves"
    assert [int(r["rank"]) for r in rows] == [1, 2, 3]
    per = _read_csv(out / "compare_per_image.csv")
    assert len(per) == 3 * 5
    assert (out / "compare.png").is_file() and res.rows[0]["method"] == "copy"
    with pytest.raises(InputError, match="reserved"):
        compare_methods(dataset / "gt", {"source": dataset / "pred"})


def test_operations_and_macro_command(dataset):
    from fijax import ops
    from fijax.io import read_tiff

    gt = read_tiff(dataset / "gt" / "img0.tif")
    pred = read_tiff(dataset / "pred" / "img0.tif")
    src = read_tiff(dataset / "src" / "img0.tif")
    res = ops.get("qc")({"gt": gt, "prediction": pred, "source": src}, {})
    assert [r["comparison"] for r in res.table] == ["prediction vs GT", "source vs GT"]
    assert set(res.images) == {"SSIM_GTvsPrediction_img0", "RSE_GTvsPrediction_img0", "SSIM_GTvsSource_img0",
                               "RSE_GTvsSource_img0"}
    assert res.images["SSIM_GTvsPrediction_img0"].data.dtype == np.float32
    assert res.values["verdict"] == "improves" and res.values["pred_ssim"] > res.values["source_ssim"]
    with pytest.raises(InputError, match="normalize"):
        ops.get("qc")({"gt": gt, "prediction": pred}, {"data_range": 1.0})
    labels = ops.get("qc_labels")({"gt": Image(_labels(0)), "prediction": Image(_labels(3))},
                                  {"thresholds": "0.5 0.7"})
    assert [r["tp"] for r in labels.table] == [4, 0] and labels.values["thresh"] == 0.5

    from fijax.bridge import commands

    table = commands.load_all()
    cmd = table["FiJAX QC"]
    assert cmd.inputs == {"ground": "gt", "prediction": "prediction", "source": "source", "baseline": "baseline"}
    assert cmd.optional_inputs == ("source", "baseline")
    result = cmd.func(commands.CommandCall(label="FiJAX QC", options={}, images={"gt": gt, "prediction": pred}))
    assert len(result.table) == 1 and result.values["verdict"] == "no source"


def test_cli(dataset, tmp_path, capsys):
    from fijax.cli.main import main

    out = tmp_path / "cli"
    assert main(["qc", "--gt", str(dataset / "gt"), "--prediction", str(dataset / "pred"),
                 "--source", str(dataset / "src"), "--out", str(out), "--no-panels"]) == 0
    assert "verdict:" in capsys.readouterr().out
    assert (out / "metrics.csv").is_file() and not (out / "panels").exists()
    assert main(["compare", "--gt", str(dataset / "gt"), "--method", "net=" + str(dataset / "pred"),
                 "--out", str(tmp_path / "c"), "--no-plot"]) == 0
    assert "1. net" in capsys.readouterr().out
    assert main(["compare", "--gt", str(dataset / "gt"), "--method", "net", "--out", str(tmp_path / "d")]) == 2
    assert "NAME=PATH" in capsys.readouterr().err
    assert main(["qc", "--gt", str(dataset / "gt"), "--prediction", str(tmp_path / "nowhere"),
                 "--out", str(tmp_path / "e")]) == 2
