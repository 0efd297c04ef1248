"""The pages' building blocks without a browser: redirects, origin checks, previews, verdict words."""

from __future__ import annotations

import io

import httpx
import numpy as np
import pytest
import tifffile
from PIL import Image as PILImage

from fijax.server.ui.auth import SessionStore, cookie_value, safe_next, same_origin
from fijax.server.ui.previews import display_range, plane
from fijax.server.ui.routes import fmt, verdict_class


def scope(**headers: str) -> dict:
    return {"headers": [(k.replace("_", "-").encode(), v.encode()) for k, v in headers.items()]}


@pytest.mark.parametrize("given,expected", [
    ("/ui/models/x/1", "/ui/models/x/1"), ("/ui/qc?a=1", "/ui/qc?a=1"), ("/", "/"),
    ("//evil.example/ui/jobs", "/ui/jobs"), ("https://evil.example/ui/jobs", "/ui/jobs"),
    ("/\\evil.example", "/ui/jobs"), ("/info", "/ui/jobs"), ("", "/ui/jobs"), (None, "/ui/jobs"),
    ("javascript:alert(1)", "/ui/jobs"),
])
def test_login_redirects_only_to_own_pages(given, expected):
    assert safe_next(given) == expected


@pytest.mark.parametrize("headers,ok", [
    ({"host": "127.0.0.1:8765", "origin": "http://127.0.0.1:8765"}, True),
    ({"host": "127.0.0.1:8765", "referer": "http://127.0.0.1:8765/ui/jobs"}, True),
    ({"host": "127.0.0.1:8765", "origin": "http://127.0.0.1:8766"}, False),   # same site, other origin
    ({"host": "127.0.0.1:8765", "origin": "http://localhost:8765"}, False),
    ({"host": "127.0.0.1:8765", "origin": "null"}, False),
    ({"host": "127.0.0.1:8765"}, False),
    ({"host": "127.0.0.1:8765", "origin": "ftp://127.0.0.1:8765"}, False),
])
def test_same_origin(headers, ok):
    assert same_origin(scope(**headers)) is ok


def test_sessions_expire_and_drop():
    store = SessionStore("t" * 48, "c", ttl=60)
    s = store.create()
    assert store.get(s.sid) is s and store.get("nope") is None and store.get(None) is None
    s.last -= 61
    assert store.get(s.sid) is None
    s2 = store.create()
    store.drop(s2.sid)
    assert store.get(s2.sid) is None
    assert store.token_ok("t" * 48) and not store.token_ok("t" * 47) and not store.token_ok("")
    assert b"HttpOnly" in store.cookie_header(s2) and b"SameSite=Strict" in store.cookie_header(s2)
    assert b"Max-Age=0" in store.cookie_header(None) and b"Secure" in store.cookie_header(s2, secure=True)
    assert cookie_value(scope(cookie=f"a=1; c={s2.sid}"), "c") == s2.sid
    assert cookie_value(scope(cookie='bad"cookie'), "c") is None


def test_sessions_are_capped():
    store = SessionStore("t" * 48, "c", max_sessions=3)
    sessions = [store.create() for _ in range(5)]
    for i, s in enumerate(sessions):
        s.last = float(i)
    store.create()
    assert sum(store.get(s.sid) is not None for s in sessions) <= 3


@pytest.mark.parametrize("text,cls", [
    ("improves", "good"), ("better than baseline", "good"), ("not better than baseline", "bad"),
    ("does not improve", "bad"), ("no source", "neutral"), ("", "neutral"), (None, "neutral"),
])
def test_verdict_words(text, cls):
    assert verdict_class(text) == cls


def test_fmt():
    assert fmt(None) == "—" and fmt(True) == "yes" and fmt(0.123456) == "0.1235" and fmt(float("nan")) == "NaN"
    assert fmt([1, 2]) == "1, 2" and fmt({"b": 1, "c": [0.5, "x"]}) == "b 1; c 0.5, x"
    assert fmt({"a": {"b": 1}}) == '{"a": {"b": 1}}' and fmt({"how": "≥ 1"}) == "how ≥ 1"


def test_display_ranges():
    a = np.linspace(0, 10, 100, dtype=np.float32).reshape(10, 10)
    assert display_range("SSIM_GTvsPrediction_x", a) == (0.0, 1.0, "magma")
    lo, hi, cmap = display_range("RSE map Raw", a)
    assert lo == 0 and hi == pytest.approx(np.percentile(a, 99.5)) and cmap == "inferno"
    lo, hi, cmap = display_range("blurred", a)
    assert cmap == "gray" and lo == pytest.approx(np.percentile(a, 0.5)) and hi == pytest.approx(np.percentile(a, 99.8))
    assert display_range("flat", np.ones((4, 4), np.float32))[:2] == (1.0, 2.0)
    assert plane(np.zeros((5, 3, 7, 8))).shape == (7, 8)


def _tiff(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    tifffile.imwrite(buf, arr, imagej=True)
    return buf.getvalue()


def test_previews_of_a_qc_job(ui_server):
    rng = np.random.default_rng(1)
    gt = rng.random((40, 48)).astype(np.float32)
    files = {"gt": ("gt.tif", _tiff(gt)), "prediction": ("p.tif", _tiff(gt + 0.05 * rng.random(gt.shape, np.float32))),
             "source": ("s.tif", _tiff(gt + 0.5 * rng.random(gt.shape, np.float32)))}
    with ui_server.api() as api:
        job = api.post("/ops/qc", files=files).json()
        base = f"/ui/jobs/{job['id']}/preview"
        name = next(n for n in job["result"]["images"] if n.startswith("SSIM"))
        r = api.get(f"{base}/images/{name}.png")
        assert r.status_code == 200 and r.headers["content-type"] == "image/png"
        assert PILImage.open(io.BytesIO(r.content)).size == (48, 40)
        tif = next(a["path"] for a in api.get(f"/jobs/{job['id']}/artifacts").json() if a["path"].endswith(".tif"))
        assert api.get(f"{base}/artifacts/{tif}.png").status_code == 200
        assert api.get(f"{base}/artifacts/metrics.csv.png").status_code == 400  # not a TIFF
        assert api.get(f"{base}/images/nothing.png").status_code == 404
        assert api.get(f"{base}/artifacts/..%2F..%2Fregistry.sqlite.png").status_code in (400, 404)
        assert api.get(f"{base}/other/{name}.png").status_code == 404
        assert api.get(f"/ui/jobs/{'0' * 20}/preview/images/x.png").status_code == 404
        page = api.get(f"/ui/jobs/{job['id']}")
        assert page.status_code == 200 and "SSIM" in page.text and "verdict" in page.text.lower()
        assert api.get("/ui/jobs/not-a-job").status_code == 404
        assert api.get("/ui/models/nope/1").status_code == 404
        assert api.get("/ui/jobs", params={"state": "bogus"}).status_code == 400
        assert 'id="more-jobs"' in api.get("/ui/jobs", params={"limit": 1}).text
        assert 'id="more-jobs"' not in api.get("/ui/jobs", params={"limit": 1000}).text
        # artifacts shown in the browser: inline, sandboxed; only kinds a browser shows, only inside the job
        r = api.get(f"/ui/jobs/{job['id']}/view/metrics.csv")
        assert r.status_code == 200 and r.headers["content-disposition"].startswith("inline")
        assert r.headers["content-security-policy"].startswith("sandbox") and r.text.startswith("file,")
        assert api.get(f"/ui/jobs/{job['id']}/view/{tif}").status_code == 400
        assert api.get(f"/ui/jobs/{job['id']}/view/..%2Fjob.json").status_code in (400, 404)
        assert api.get(f"/ui/jobs/{job['id']}/view/missing.html").status_code == 404
    # seen through a browser session, a job's files are sandboxed (no scripts, opaque origin)
    with httpx.Client(base_url=ui_server.url, timeout=30) as browser:
        assert browser.post("/ui/login", data={"token": ui_server.token},
                            headers={"Origin": ui_server.url}).status_code == 303
        r = browser.get(f"/jobs/{job['id']}/artifacts/metrics.csv")
        assert r.status_code == 200 and r.headers["content-security-policy"].startswith("sandbox")
        assert r.headers["x-content-type-options"] == "nosniff"
        assert "sandbox" not in browser.get(f"/jobs/{job['id']}").headers.get("content-security-policy", "")
