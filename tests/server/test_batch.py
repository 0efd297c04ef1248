"""Batch runner on Dask: pairing, per-file failures, resume, atomic outputs, the CLI."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import fijax_test_ops  # noqa: F401 - registers the test operations in this process
import numpy as np
import pytest
import tifffile
from scipy import ndimage

from fijax.batch import run_batch
from fijax.errors import InputError
from fijax.io import Image, read_tiff, write_tiff

HERE = Path(__file__).resolve().parent


@pytest.fixture(scope="module")
def dask_client():
    distributed = pytest.importorskip("distributed")
    # Threads in this process: the test operations are registered here, and start-up is instant.
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        yield client


def _images(folder: Path, names, shape=(12, 14), seed=0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    out = {}
    for name in names:
        out[name] = rng.random(shape).astype(np.float32)
        write_tiff(folder / f"{name}.tif", out[name])
    return out


def test_pairs_failures_and_resume(tmp_path, dask_client):
    pred, gt, out = tmp_path / "pred", tmp_path / "gt", tmp_path / "out"
    p = _images(pred, ["a", "b", "c", "d", "e"])
    t = _images(gt, ["a", "b", "c"], seed=1)
    write_tiff(gt / "e.tif", np.zeros((3, 3), np.float32))  # shape mismatch → the op's InputError
    (pred / "f.tif").write_bytes(b"II*\x00garbage")  # corrupt input
    write_tiff(gt / "f.tif", np.zeros((3, 3), np.float32))

    report = run_batch("test_pair_mse", pred, out, inputs={"target": gt}, progress=False, client=dask_client)
    assert (report.total, report.done, report.skipped) == (6, 3, 0)
    failed = {f["file"]: f for f in report.failed}
    assert set(failed) == {"d.tif", "e.tif", "f.tif"}
    assert "no matching target" in failed["d.tif"]["error"] and "differ in shape" in failed["e.tif"]["error"]
    assert all(f["kind"] == "input" for f in failed.values())
    with open(out / "batch_results.csv") as fh:
        rows = {r["file"]: float(r["mse"]) for r in csv.DictReader(fh)}
    for name in "abc":
        assert rows[f"{name}.tif"] == pytest.approx(float(np.mean((p[name] - t[name]) ** 2)), rel=1e-6)
    with open(out / "batch_failures.csv") as fh:
        assert {r["file"] for r in csv.DictReader(fh)} == set(failed)
    summary = json.loads((out / "batch_summary.json").read_text())
    assert summary["done"] == 3 and summary["failed"] == 3 and "numpy" in summary["versions"]
    assert not list(out.rglob("*.part"))  # no temporary files left behind

    again = run_batch("test_pair_mse", pred, out, inputs={"target": gt}, progress=False, client=dask_client)
    assert (again.done, again.skipped, len(again.failed)) == (0, 3, 3)  # resumed: finished files skipped
    with open(out / "batch_results.csv") as fh:
        assert len(list(csv.DictReader(fh))) == 3  # rows of skipped files still reported


def test_images_options_and_redo_on_changed_options(tmp_path, dask_client):
    src, out = tmp_path / "in", tmp_path / "out"
    (src / "sub").mkdir(parents=True)
    data = _images(src, ["x"])
    write_tiff(src / "sub" / "y.tif", Image(data["x"], "YX", pixel_size=(1.0, 0.5, 0.5), unit="micron"))
    report = run_batch("test_blur", src, out, options={"sigma": 2.0}, progress=False, client=dask_client)
    assert report.done == 2 and report.ok
    got = read_tiff(out / "sub" / "y.tif")
    np.testing.assert_allclose(got.data, ndimage.gaussian_filter(data["x"], 2.0), rtol=1e-6, atol=1e-6)
    assert got.unit == "micron"  # calibration kept
    assert (out / "x.artifacts" / "stats.csv").is_file()
    record = json.loads((out / "sub" / "y.json").read_text())
    assert record["options"] == {"sigma": 2.0} and record["images"] == {"blurred": "sub/y.tif"}
    assert run_batch("test_blur", src, out, options={"sigma": 2.0}, progress=False, client=dask_client).skipped == 2
    redo = run_batch("test_blur", src, out, options={"sigma": 1.0}, progress=False, client=dask_client, chunk=2)
    assert redo.done == 2 and redo.skipped == 0


def test_bad_batch_arguments(tmp_path, dask_client):
    _images(tmp_path / "in", ["a"])
    with pytest.raises(InputError, match="needs|also needs"):
        run_batch("test_pair_mse", tmp_path / "in", tmp_path / "out", client=dask_client)
    with pytest.raises(InputError, match="no such folder"):
        run_batch("test_blur", tmp_path / "nope", tmp_path / "out", client=dask_client)
    with pytest.raises(InputError, match="sigma"):
        run_batch("test_blur", tmp_path / "in", tmp_path / "out", options={"sigma": -1}, client=dask_client)
    with pytest.raises(InputError, match="no operation"):
        run_batch("no_such_thing", tmp_path / "in", tmp_path / "out", client=dask_client)


def test_cli_on_a_local_cluster(tmp_path):
    src = tmp_path / "in"
    _images(src, ["a", "b"], shape=(8, 8))
    tifffile.imwrite(src / "c.tif", np.zeros((2, 8, 8), np.float32))  # 3-D: the op refuses it
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")]),
               FIJAX_EXTRA_OPS="fijax_test_ops", FIJAX_HOME=str(tmp_path / "home"))
    cmd = [sys.executable, "-m", "fijax", "batch", "test_blur", "--in", str(src), "--out", str(tmp_path / "out"),
           "--set", "sigma=1.5", "--workers", "1", "--no-progress"]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1, proc.stderr  # one file failed
    assert "3 files: 2 done" in proc.stdout and "c.tif" in proc.stderr
    assert (tmp_path / "out" / "a.tif").is_file() and not (tmp_path / "out" / "c.tif").exists()


def test_qc_batch_with_the_real_operation(tmp_path, dask_client):
    rng = np.random.default_rng(3)
    gt, pred = tmp_path / "gt", tmp_path / "pred"
    truth = {}
    for name in ("p1", "p2"):
        truth[name] = rng.random((32, 32)).astype(np.float32)
        write_tiff(gt / f"{name}.tif", truth[name])
        write_tiff(pred / f"{name}.tif", truth[name] + 0.05 * rng.standard_normal((32, 32)).astype(np.float32))
    report = run_batch("qc", pred, tmp_path / "out", inputs={"gt": gt}, options={"maps": False}, progress=False,
                       client=dask_client, artifacts=False)
    assert report.done == 2 and report.ok
    assert not list((tmp_path / "out").glob("*.artifacts"))
    with open(tmp_path / "out" / "batch_results.csv") as fh:
        rows = {r["file"]: r for r in csv.DictReader(fh)}
    assert set(rows) == {"p1.tif", "p2.tif"} and "op_file" in rows["p1.tif"]
    assert all(0 < float(r["ssim"]) <= 1 for r in rows.values())
    assert float(rows["p1.tif"]["psnr"]) > 10 and rows["p1.tif"]["verdict"] == "no source"


def test_scheduler_address(tmp_path):
    distributed = pytest.importorskip("distributed")
    _images(tmp_path / "in", ["a", "b", "c"])
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False, protocol="tcp",
                                  host="127.0.0.1", dashboard_address="127.0.0.1:0") as cluster:
        assert cluster.scheduler_address.startswith("tcp://127.0.0.1:")
        report = run_batch("test_blur", tmp_path / "in", tmp_path / "out", scheduler=cluster.scheduler_address,
                           progress=False)
    assert report.done == 3 and json.loads((tmp_path / "out" / "batch_summary.json").read_text())["scheduler"] \
        == cluster.scheduler_address
