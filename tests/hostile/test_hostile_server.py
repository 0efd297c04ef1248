"""Hostile requests against a live ``--no-macros`` server: each line of the probing catalogue is a case.

Cases that failed before (issue 14) and cases that already held are both listed, so every one
stays held: a 4xx with a message (never a 500), nothing written outside the job folder, files
owner-only under FIJAX_HOME.
"""

from __future__ import annotations

import json
import os
import stat

import httpx
import numpy as np
import pytest
from hostile_live import bomb_tiff, tiff_bytes

IMG = np.random.default_rng(0).random((24, 24)).astype(np.float32)


def _post(srv, path, files=None, options=None, params=None, **kw):
    data = {"options": json.dumps(options)} if options is not None and files is not None else None
    if files is None:
        return httpx.post(f"{srv.url}{path}", headers=srv.auth, json=options or {}, params=params, timeout=120, **kw)
    return httpx.post(f"{srv.url}{path}", headers=srv.auth, files=files, data=data, params=params, timeout=120, **kw)


# -- Host header (DNS rebinding guard) ---------------------------------------------------------
@pytest.mark.parametrize("host,allowed", [
    ("127.0.0.1.evil.com", False),         # was accepted: prefix match on "127."
    ("127.0.0.1@evil.com", False),         # was accepted
    ("127.0.0.1.evil.com:8000", False),
    ("localhost.evil.com", False),
    ("evil.localhost", False),             # *.localhost is not a literal: refused unless configured
    ("evil.example", False),               # held before
    ("127.0.0.1:80@x", False),
    ("a b", False),
    ("", False),
    ("127.0.0.1", True),
    ("127.0.0.1:1234", True),
    ("127.5.6.7", True),
    ("localhost:9", True),
    ("[::1]:80", True),
])
def test_host_header(hostile_server, host, allowed):
    r = httpx.get(f"{hostile_server.url}/info", headers={**hostile_server.auth, "Host": host})
    assert (r.status_code == 200) == allowed, (host, r.status_code, r.text[:200])
    if not allowed:
        assert r.status_code == 403 and "Host" in r.json()["detail"]


# -- writes stay inside the job folder ---------------------------------------------------------
def test_export_out_outside_job_is_refused_and_target_untouched(hostile_server, tmp_path):
    victim = tmp_path / "victim.zip"
    victim.write_bytes(b"precious")
    r = _post(hostile_server, "/ops/export_bioimageio", options={"model": "den", "out": str(victim),
                                                                 "license": "MIT"}, params={"wait": "true"})
    assert r.status_code == 400 and "outside" in r.json()["detail"], r.text[:300]
    assert victim.read_bytes() == b"precious"


@pytest.mark.parametrize("out", ["ABS/new/folder", "../../../escape", "sub/../../../../escape2"])
def test_report_model_out_cannot_create_folders_elsewhere(hostile_server, tmp_path, out):
    target = out.replace("ABS", str(tmp_path))
    r = _post(hostile_server, "/ops/report_model", options={"model": "den", "out": target})
    assert r.status_code == 400 and "not allowed" in r.json()["detail"], r.text[:300]
    assert not (tmp_path / "new").exists()
    assert not (hostile_server.home / "escape").exists() and not (hostile_server.home / "jobs" / "escape").exists()


def test_report_model_relative_out_lands_in_artifacts(hostile_server):
    r = _post(hostile_server, "/ops/report_model", options={"model": "den", "out": "reports/den"})
    assert r.status_code == 200, r.text[:300]
    job = r.json()
    assert any(f["path"].startswith("reports/den/") for f in job["result"]["files"].values())


def test_report_qc_reads_but_never_writes_into_qc_dir_without_artifacts(hostile_server, tmp_path):
    qc = tmp_path / "qc"
    qc.mkdir()
    (qc / "summary.json").write_text("{}")
    r = _post(hostile_server, "/ops/report_qc", options={"qc_dir": str(qc)}, params={"artifacts": "false"})
    assert r.status_code in (400, 404), r.text[:300]
    assert sorted(p.name for p in qc.iterdir()) == ["summary.json"]


# -- decoded size (decompression bombs) --------------------------------------------------------
@pytest.mark.parametrize("side,dtype", [(16000, np.uint8), (20000, np.uint8), (12000, np.float32)])
def test_small_file_declaring_huge_image_is_refused_before_decoding(hostile_server, tmp_path, side, dtype):
    path = bomb_tiff(tmp_path / "bomb.tif", side, dtype)
    assert path.stat().st_size < 2_000_000
    with open(path, "rb") as fh:
        r = _post(hostile_server, "/ops/gaussian", files={"image": ("bomb.tif", fh, "image/tiff")},
                  options={"sigma": 1.0})
    assert r.status_code == 413, r.text[:300]
    assert "pixels" in r.json()["detail"]


# -- never a 500 -------------------------------------------------------------------------------
@pytest.mark.parametrize("case", ["bool_prediction", "seed_negative", "seed_huge", "data_range_inf",
                                  "nested_json", "huge_version", "corrupt_tiff", "six_byte_tiff",
                                  "empty_image", "unknown_option", "nan_option"])
def test_bad_requests_are_4xx(hostile_server, case):
    srv = hostile_server
    gt = tiff_bytes((IMG * 200).astype(np.uint8))
    if case == "bool_prediction":
        r = _post(srv, "/ops/qc", files={"gt": ("gt.tif", gt), "prediction": ("p.tif", tiff_bytes(IMG > 0.5))},
                  options={"data_range": 255})
        assert r.status_code in (200, 400), r.text[:300]  # read as 0/1 uint8; never a TypeError
        return
    if case == "seed_negative":
        r = _post(srv, "/ops/puredenoise", files={"image": ("a.tif", tiff_bytes(IMG))}, options={"seed": -1})
    elif case == "seed_huge":
        r = _post(srv, "/ops/puredenoise", files={"image": ("a.tif", tiff_bytes(IMG))}, options={"seed": 1e30})
    elif case == "data_range_inf":
        r = httpx.post(f"{srv.url}/ops/qc", headers=srv.auth, timeout=60,
                       files={"gt": ("gt.tif", gt), "prediction": ("p.tif", gt)},
                       data={"options": '{"data_range": Infinity}'})
        assert r.status_code == 400 and "finite" in r.json()["detail"], r.text[:300]
        return
    elif case == "nested_json":
        body = "[" * 100_000 + "]" * 100_000
        r = httpx.post(f"{srv.url}/ops/models", headers={**srv.auth, "Content-Type": "application/json"},
                       content=body, timeout=60)
    elif case == "huge_version":
        with httpx.Client(headers=srv.auth, timeout=60) as c:  # keep-alive: the connection must survive
            r = c.get(f"{srv.url}/models/den:99999999999999999999999")
            assert c.get(f"{srv.url}/health").status_code == 200
    elif case == "corrupt_tiff":
        r = _post(srv, "/ops/gaussian", files={"image": ("a.tif", tiff_bytes(IMG)[:200])}, options={"sigma": 1.0})
    elif case == "six_byte_tiff":
        r = _post(srv, "/ops/gaussian", files={"image": ("a.tif", b"II*\x00\x08\x00")}, options={"sigma": 1.0})
    elif case == "empty_image":
        r = _post(srv, "/ops/gaussian", files={"image": ("a.tif", b"")}, options={"sigma": 1.0})
    elif case == "unknown_option":
        r = _post(srv, "/ops/gaussian", files={"image": ("a.tif", tiff_bytes(IMG))}, options={"sigma": 1, "nope": 1})
    elif case == "nan_option":
        r = httpx.post(f"{srv.url}/ops/gaussian", headers=srv.auth, timeout=60,
                       files={"image": ("a.tif", tiff_bytes(IMG))}, data={"options": '{"sigma": NaN}'})
    assert 400 <= r.status_code < 500, (case, r.status_code, r.text[:300])
    assert r.headers["content-type"].startswith("application/json") and r.json()["detail"]
    needle = {"corrupt_tiff": "TIFF", "six_byte_tiff": "TIFF", "empty_image": "TIFF", "seed_negative": "seed",
              "seed_huge": "seed", "nested_json": "nested", "huge_version": "version", "unknown_option": "nope",
              "nan_option": "finite"}[case]
    assert needle in r.json()["detail"], (case, r.json()["detail"])


# -- held before: keep them held -----------------------------------------------------------------
@pytest.mark.parametrize("case", ["no_token", "wrong_token", "macro_disabled", "traversal", "upload_too_big",
                                  "unknown_op", "absolute_artifact"])
def test_held_cases(hostile_server, case):
    srv = hostile_server
    if case == "no_token":
        assert httpx.get(f"{srv.url}/jobs").status_code == 401
    elif case == "wrong_token":
        assert httpx.get(f"{srv.url}/jobs", headers={"Authorization": "token " + "f" * 48}).status_code == 401
    elif case == "macro_disabled":
        r = httpx.post(f"{srv.url}/macro", headers=srv.auth, json={"code": 'exec("id")'})
        assert r.status_code == 403
    elif case in ("traversal", "absolute_artifact"):
        r = _post(srv, "/ops/gaussian", files={"image": ("a.tif", tiff_bytes(IMG))}, options={"sigma": 1.0})
        job = r.json()["id"]
        path = "../../registry.sqlite" if case == "traversal" else "%2Fetc%2Fpasswd"
        r = httpx.get(f"{srv.url}/jobs/{job}/artifacts/{path}", headers=srv.auth)
        assert r.status_code in (400, 404) and b"SQLite" not in r.content and b"root:" not in r.content
    elif case == "upload_too_big":
        r = _post(srv, "/ops/gaussian", files={"image": ("a.tif", b"\0" * (5 << 20))}, options={"sigma": 1.0})
        assert r.status_code == 413
    elif case == "unknown_op":
        assert _post(srv, "/ops/rm_rf", options={"sigma": 1.0}).status_code == 404


# -- files under FIJAX_HOME are owner-only --------------------------------------------------------
def test_home_and_its_files_are_owner_only(hostile_server):
    srv = hostile_server
    r = _post(srv, "/ops/gaussian", files={"image": ("a.tif", tiff_bytes(IMG))}, options={"sigma": 1.0})
    assert r.status_code == 200
    job = srv.home / "jobs" / r.json()["id"]
    assert stat.S_IMODE(os.stat(srv.home).st_mode) == 0o700
    for path in [srv.home / "registry.sqlite", *job.rglob("*.tif"), srv.home / "token"]:
        if path.exists():
            assert stat.S_IMODE(os.stat(path).st_mode) & 0o077 == 0, path
