"""Batch resume under changed inputs, ``--out`` inside ``--in``, corrupt files and partial outputs."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
import tifffile

pytest.importorskip("distributed", reason="batch needs dask.distributed")

from fijax.batch import _find_inputs, _is_done, fingerprint, process_one, run_batch  # noqa: E402


@pytest.fixture()
def folder(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    rng = np.random.default_rng(0)
    for i in range(2):
        tifffile.imwrite(src / f"im{i}.tif", (rng.random((24, 24)) * 100).astype(np.float32))
    return src


def test_changed_input_is_redone(folder, tmp_path):
    out = tmp_path / "out"
    opts = {"sigma": 1.0}
    for rel in ("im0.tif", "im1.tif"):
        assert process_one("gaussian", {"image": str(folder / rel)}, rel, str(out), opts)["status"] == "done"
    rec = out / "im0.json"
    assert _is_done(rec, opts, {"image": str(folder / "im0.tif")})
    tifffile.imwrite(folder / "im0.tif", np.ones((24, 24), np.float32))  # new pixels, same name
    os.utime(folder / "im0.tif", ns=(1, 1))
    assert not _is_done(rec, opts, {"image": str(folder / "im0.tif")})
    assert _is_done(out / "im1.json", opts, {"image": str(folder / "im1.tif")})
    assert json.loads(rec.read_text())["fingerprints"]["image"] != fingerprint(folder / "im0.tif")


def test_out_inside_in_is_not_reprocessed(folder):
    out = folder / "results"
    out.mkdir()
    tifffile.imwrite(out / "im0.tif", np.zeros((4, 4), np.float32))
    assert [p.as_posix() for p in _find_inputs(folder, "*.tif*", exclude=out)] == ["im0.tif", "im1.tif"]


def test_corrupt_file_is_input_and_leaves_nothing(folder, tmp_path):
    (folder / "bad.tif").write_bytes(b"II*\x00\x08\x00")
    out = tmp_path / "out"
    res = process_one("gaussian", {"image": str(folder / "bad.tif")}, "bad.tif", str(out), {"sigma": 1.0})
    assert res["status"] == "failed" and res["kind"] == "input"
    assert not (out / "bad.artifacts").exists() and not (out / "bad.tif").exists() and not (out / "bad.json").exists()


@pytest.mark.slow
def test_rerun_with_out_inside_in(folder):
    out = folder / "results"
    r1 = run_batch("gaussian", folder, out, options={"sigma": 1.0}, workers=1, progress=False)
    r2 = run_batch("gaussian", folder, out, options={"sigma": 1.0}, workers=1, progress=False)
    assert (r1.total, r1.done) == (2, 2) and (r2.total, r2.skipped, r2.done) == (2, 2, 0)
