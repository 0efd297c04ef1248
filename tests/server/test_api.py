"""API tests against a live server on loopback: auth, operations, jobs, limits and bad input."""

from __future__ import annotations

import io
import json
import os
import signal
import threading
import time

import httpx
import numpy as np
import pytest
import tifffile
from scipy import ndimage

from fijax.client import ClientInputError, ServerError
from fijax.errors import InputError
from fijax.io import Image
from fijax.io.names import check_relative_path, check_title


def _tiff(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    tifffile.imwrite(buf, arr, imagej=True)
    return buf.getvalue()


# -- security --------------------------------------------------------------------------------
def test_health_is_public_everything_else_needs_the_token(server):
    assert httpx.get(f"{server.url}/health").json()["status"] == "ok"
    r = httpx.get(f"{server.url}/info")
    assert r.status_code == 401 and "token" in r.json()["detail"]
    r = httpx.get(f"{server.url}/info", headers={"Authorization": "token " + "0" * 48})
    assert r.status_code == 401
    r = httpx.get(f"{server.url}/openapi.json")
    assert r.status_code == 401
    assert httpx.get(f"{server.url}/info", params={"token": server.token}).status_code == 200
    assert httpx.get(f"{server.url}/info", headers={"Authorization": f"Bearer {server.token}"}).status_code == 200


def test_foreign_host_header_is_refused(server):
    r = httpx.get(f"{server.url}/info", headers={"Authorization": f"token {server.token}", "Host": "evil.example"})
    assert r.status_code == 403 and "Host" in r.json()["detail"]
    r = httpx.get(f"{server.url}/health", headers={"Host": "evil.example:80"})
    assert r.status_code == 403


def test_no_cors_by_default(server):
    r = httpx.get(f"{server.url}/info", headers={"Authorization": f"token {server.token}",
                                                 "Origin": "http://evil.example"})
    assert r.status_code == 200 and "access-control-allow-origin" not in r.headers


def test_openapi_lists_every_operation(client):
    spec = client.openapi()
    for name in ("test_blur", "test_train", "puredenoise"):
        assert f"/ops/{name}" in spec["paths"]
    body = spec["paths"]["/ops/test_blur"]["post"]["requestBody"]["content"]["multipart/form-data"]["schema"]
    assert body["required"] == ["image"]


# -- operations --------------------------------------------------------------------------------
def test_blur_roundtrip_keeps_calibration(client, image):
    src = Image(image, "YX", title="cells", pixel_size=(1.0, 0.25, 0.25), unit="micron")
    res = client.run("test_blur", {"image": src}, {"sigma": 1.5})
    assert res.state == "succeeded"
    out = res.images["blurred"]
    np.testing.assert_allclose(out.data, ndimage.gaussian_filter(image, 1.5), rtol=1e-6, atol=1e-6)
    assert out.unit == "micron" and out.pixel_size[1:] == pytest.approx((0.25, 0.25))
    assert res.values["sigma"] == 1.5 and res.table[0]["mean"] == pytest.approx(float(out.data.mean()), rel=1e-5)
    assert [a["path"] for a in client.artifacts(res.id)] == ["stats.csv"]
    assert client.table_csv(res.id).splitlines()[0] == "mean,max"


def test_artifact_download(client, image, tmp_path):
    res = client.run("test_blur", {"image": image}, fetch_images=False)
    dest = client.artifact(res.id, "stats.csv", tmp_path / "s.csv")
    mean = float(dest.read_text().splitlines()[1].split(",")[0])
    assert mean == pytest.approx(res.table[0]["mean"], rel=1e-6)


def test_without_artifacts(client, image):
    res = client.run("test_blur", {"image": image}, artifacts=False, fetch_images=False)
    assert res.state == "succeeded" and res.files == {} and client.artifacts(res.id) == []
    assert res.job["settings"] == {"artifacts": False} and res.table[0]["mean"] > 0


def test_pair_operation_and_operation_input_error(client):
    a, b = np.zeros((8, 8), np.float32), np.ones((8, 8), np.float32)
    assert client.run("test_pair_mse", {"prediction": a, "target": b}).values["mse"] == pytest.approx(1.0)
    with pytest.raises(ClientInputError) as err:
        client.run("test_pair_mse", {"prediction": a, "target": np.ones((4, 8), np.float32)})
    assert err.value.status == 400 and "differ in shape" in err.value.message
    assert err.value.job["state"] == "failed" and err.value.job["error_kind"] == "input"


@pytest.mark.parametrize("files,data,status,words", [
    ({"image": ("a.tif", b"not a tiff at all", "image/tiff")}, {}, 400, "not a readable TIFF"),
    ({"image": ("a.tif", b"II*\x00\x08\x00\x00\x00\xff\xff", "image/tiff")}, {}, 400, "not a readable TIFF"),
    ({"image": ("a.tif", b"<TIFF>", "image/tiff")}, {"options": "{sigma: 2"}, 400, "malformed JSON"),
    ({"image": ("a.tif", b"<TIFF>", "image/tiff")}, {"options": "[1, 2]"}, 400, "JSON object"),
    ({"image": ("a.tif", b"<TIFF>", "image/tiff")}, {"options": '{"sigma": -1}'}, 400, "sigma"),
    ({"image": ("a.tif", b"<TIFF>", "image/tiff")}, {"options": '{"sgima": 1}'}, 400, "sgima"),
    ({}, {}, 400, "needs input image"),
    ({"image": ("a.tif", b"<TIFF>", "image/tiff"), "mask": ("m.tif", b"<TIFF>", "image/tiff")}, {}, 400,
     "no input named 'mask'"),
    ({"image": ("a.tif", b"<TIFF>", "image/tiff")}, {"image": "text"}, 400, "file part"),
])
def test_bad_input_is_a_clear_4xx(server, files, data, status, words):
    valid = _tiff(np.zeros((8, 8), np.uint8))
    files = {k: (n, valid if c == b"<TIFF>" else c, t) for k, (n, c, t) in files.items()}
    before = len(os.listdir(server.home / "jobs")) if (server.home / "jobs").exists() else 0
    r = httpx.post(f"{server.url}/ops/test_blur", files=files, data=data,
                   headers={"Authorization": f"token {server.token}"})
    assert r.status_code == status, r.text
    assert words in r.json()["detail"]
    assert len(os.listdir(server.home / "jobs")) == before  # nothing half-created


def test_text_field_in_place_of_image(server):
    r = httpx.post(f"{server.url}/ops/test_blur", data={"image": "x"}, headers={"Authorization": f"token {server.token}"})
    assert r.status_code == 400 and "file part" in r.json()["detail"]
    part = ("a.tif", _tiff(np.zeros((4, 4), np.uint8)), "image/tiff")
    r = httpx.post(f"{server.url}/ops/test_blur", files=[("image", part), ("image", part)],
                   headers={"Authorization": f"token {server.token}"})
    assert r.status_code == 400 and "given twice" in r.json()["detail"]


def test_unknown_operation_and_job(client):
    with pytest.raises(ClientInputError) as err:
        client.run("no_such_op", {})
    assert err.value.status == 404 and "test_blur" in err.value.message
    with pytest.raises(ClientInputError) as err:
        client.job("0" * 20)
    assert err.value.status == 404
    with pytest.raises(ClientInputError) as err:
        client.job("../../etc")
    assert err.value.status == 404


def test_unknown_model_is_404(client):
    assert isinstance(client.models(), list)
    with pytest.raises(ClientInputError) as err:
        client.model("no-such-model")
    assert err.value.status == 404


def test_upload_and_pixel_limits(server):
    auth = {"Authorization": f"token {server.token}"}
    big = _tiff(np.zeros((1500, 1500), np.uint8))  # 2.25 MB > 2 MiB body limit
    r = httpx.post(f"{server.url}/ops/test_blur", files={"image": ("a.tif", big, "image/tiff")}, headers=auth)
    assert r.status_code == 413 and "limit" in r.json()["detail"]
    many = _tiff(np.zeros((1001, 1000), np.uint8))  # 1.001 Mpx > 1 Mpx, under 2 MiB
    r = httpx.post(f"{server.url}/ops/test_blur", files={"image": ("a.tif", many, "image/tiff")}, headers=auth)
    assert r.status_code == 413 and "pixels" in r.json()["detail"]

    def chunks():  # no Content-Length: the cap applies while reading
        yield b"--x\r\nContent-Disposition: form-data; name=\"image\"; filename=\"a.tif\"\r\n\r\n"
        for _ in range(40):
            yield b"\0" * 65536
    r = httpx.post(f"{server.url}/ops/test_blur", content=chunks(),
                   headers={**auth, "Content-Type": "multipart/form-data; boundary=x"})
    assert r.status_code == 413


def test_path_traversal_is_refused(server, client, image):
    res = client.run("test_blur", {"image": image}, fetch_images=False)
    auth = {"Authorization": f"token {server.token}"}
    for bad in ("%2e%2e/%2e%2e/registry.sqlite", "..%2F..%2Fregistry.sqlite", "%2Fetc%2Fpasswd", "a%00b"):
        r = httpx.get(f"{server.url}/jobs/{res.id}/artifacts/{bad}", headers=auth)
        assert r.status_code in (400, 404) and r.status_code < 500, (bad, r.text)
    r = httpx.get(f"{server.url}/jobs/{res.id}/images/..%2Finputs%2Fimage", headers=auth)
    assert r.status_code == 404
    for name in ("../x", "a/b", "..", "a\\b", "bad\x01"):
        with pytest.raises(InputError):
            check_title(name)
    for path in ("../a", "/etc/passwd", "a/../../b", "a\\b", "", "c:/x"):
        with pytest.raises(InputError):
            check_relative_path(path)
    assert str(check_relative_path("plots/loss.png")) == "plots/loss.png"


def test_macro_image_names_are_checked(server):
    r = httpx.post(f"{server.url}/macro", data={"code": "print(1);"},
                   files=[("images", ("../../evil.tif", _tiff(np.zeros((4, 4), np.uint8)), "image/tiff"))],
                   headers={"Authorization": f"token {server.token}"})
    assert r.status_code == 400 and "path traversal" in r.json()["detail"]
    r = httpx.post(f"{server.url}/macro", data={"code": "  "}, headers={"Authorization": f"token {server.token}"})
    assert r.status_code == 400 and "code" in r.json()["detail"]


# -- jobs ------------------------------------------------------------------------------------
def test_long_running_job_events_and_log(client):
    res = client.run("test_train", {}, {"steps": 5, "step_seconds": 0.05})
    assert res.state == "queued"  # long-running: answered at once with a job
    events = list(client.events(res.id, interval=0.05))
    assert events[-1]["event"] == "end" and events[-1]["state"] == "succeeded"
    progress = [e["progress"] for e in events if e["event"] == "progress"]
    assert progress == sorted(progress) and progress[-1] == 1.0
    final = client.result(res.id)
    assert final.values == {"resumed_from": 0, "steps": 5, "resume": False}
    assert final.files == {"checkpoint": "checkpoint.json"}
    assert res.id in [j["id"] for j in client.jobs(state="succeeded")]
    assert client.log(res.id) == [] or all("message" in e for e in client.log(res.id))


def test_cancel_running_job(client):
    job = client.run("test_sleep", {}, {"seconds": 20}, wait=False)
    _wait_state(client, job.id, "running")
    client.cancel(job.id)
    final = client.wait(job.id, timeout=10)
    assert final["state"] == "cancelled"
    with pytest.raises(ClientInputError):  # cancelling again: it is over
        client.cancel(job.id)


def test_soft_timeout_stops_a_cooperative_job(server, client):
    restarts = server.info()["workers"][0]["restarts"]
    with pytest.raises(ServerError) as err:
        client.run("test_sleep", {}, {"seconds": 20}, timeout=0.3)
    assert err.value.status == 504 and err.value.job["state"] == "timeout"
    assert server.info()["workers"][0]["restarts"] == restarts  # stopped politely, no kill


def test_hard_timeout_kills_and_restarts_the_worker(server, client, image):
    before = server.wait_worker_ready()
    with pytest.raises(ServerError) as err:
        client.run("test_sleep", {}, {"seconds": 60, "ignore_cancel": True}, timeout=0.3)
    assert err.value.status == 504 and "killed" in err.value.message
    after = server.wait_worker_ready()
    assert after["restarts"] == before["restarts"] + 1 and after["pid"] != before["pid"]
    assert client.run("test_blur", {"image": image}, fetch_images=False).state == "succeeded"


def test_kill_the_worker(server, client, image):
    before = server.wait_worker_ready()
    job = client.run("test_sleep", {}, {"seconds": 30}, wait=False)
    _wait_state(client, job.id, "running")
    os.kill(before["pid"], signal.SIGKILL)
    final = client.wait(job.id, timeout=20)
    assert final["state"] == "failed" and final["error_kind"] == "worker" and "died" in final["error"]
    after = server.wait_worker_ready()
    assert after["pid"] != before["pid"] and after["restarts"] == before["restarts"] + 1
    assert client.health()["status"] == "ok"
    assert client.run("test_blur", {"image": image}, fetch_images=False).state == "succeeded"


def test_concurrent_clients_queue_without_failures(server, image):
    failures, done = [], []

    def one_client():
        with server.client() as c:
            for _ in range(4):
                try:
                    res = c.run("test_pair_mse", {"prediction": image, "target": image})
                    done.append(res.values["mse"])
                except Exception as exc:  # noqa: BLE001 - collected and asserted below
                    failures.append(exc)

    threads = [threading.Thread(target=one_client) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not failures and done == [0.0] * 24


def test_delete_job(client, image):
    res = client.run("test_blur", {"image": image}, fetch_images=False)
    assert client.delete(res.id) == {"deleted": res.id}
    with pytest.raises(ClientInputError):
        client.job(res.id)


def _wait_state(client, job_id: str, state: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while client.job(job_id)["state"] != state:
        assert time.monotonic() < deadline, f"job never reached {state}: {json.dumps(client.job(job_id))}"
        time.sleep(0.05)


# -- FiJAX commands over HTTP (what the shim's HTTP transport calls) -------------------------
def test_command_endpoints(server, image):
    from fijax import ops

    auth = {"Authorization": f"token {server.token}"}
    listing = httpx.get(f"{server.url}/commands", headers=auth).json()
    labels = {c["label"]: c for c in listing["commands"]}
    assert labels["FiJAX Gaussian"]["inputs"] == ["image"] and "version" in listing["functions"]
    assert listing["operations"]["test_pair_mse"] == ["prediction", "target"]
    r = httpx.post(f"{server.url}/commands/run", headers=auth, timeout=60,
                   data={"command": "FiJAX Gaussian", "options": "sigma=1.5 output=[blurred cells]"},
                   files={"image": ("x.tif", _tiff(image), "image/tiff")})
    assert r.status_code == 200, r.text
    (name, info), = r.json()["result"]["images"].items()
    assert info["title"] == "blurred cells"
    got = httpx.get(f"{server.url}{info['url']}", headers=auth)
    expected = ops.get("gaussian")({"image": Image(image)}, {"sigma": 1.5}).images
    np.testing.assert_allclose(tifffile.imread(io.BytesIO(got.content)), next(iter(expected.values())).data,
                               rtol=1e-5, atol=1e-6)
    r = httpx.post(f"{server.url}/commands/call", headers=auth, timeout=60,
                   data={"function": "test_pair_mse", "args": ["prediction=p target=t", "mse"]},
                   files={"prediction": ("p.tif", _tiff(image), "image/tiff"),
                          "target": ("t.tif", _tiff(np.zeros_like(image)), "image/tiff")})
    assert float(r.json()["result"]["values"]["text"]) == pytest.approx(float(np.mean(image.astype(np.float64) ** 2)))
    bad = [({"command": "FiJAX Nope"}, 404, "unknown FiJAX command"),
           ({"command": "FiJAX Gaussian", "options": "Sigma=2"}, 400, "lowercase"),
           ({"command": "FiJAX Gaussian", "options": "radius=2"}, 400, "sigma")]
    for data, status, words in bad:
        r = httpx.post(f"{server.url}/commands/run", headers=auth, data=data, timeout=60,
                       files={"image": ("x.tif", _tiff(image), "image/tiff")})
        assert r.status_code == status and words in r.json()["detail"], r.text
    r = httpx.post(f"{server.url}/commands/call", headers=auth, data={"function": "nope"})
    assert r.status_code == 404


def test_models_list_card_and_weights(server, client, tmp_path):
    import hashlib

    from fijax.registry.models import ModelRegistry

    weights = tmp_path / "weights.npz"
    np.savez(weights, w=np.arange(10, dtype=np.float32))
    rec = ModelRegistry(server.home).register("tiny-test", {"weights.npz": weights}, {"task": "care", "seed": 1})
    listed = {m["ref"]: m for m in client.models()}
    assert rec.ref in listed and "path" not in listed[rec.ref]
    card = client.model("tiny-test")
    assert card["version"] == rec.version and card["card"]["seed"] == 1 and "path" not in card["card"]
    dest = client.download_weights(rec.ref, tmp_path / "down.npz")
    assert hashlib.sha256(dest.read_bytes()).hexdigest() == rec.weights_sha256
    rec.weights_path.write_bytes(b"tampered")  # a corrupt file is refused, not served
    with pytest.raises(ClientInputError) as err:
        client.download_weights(rec.ref, tmp_path / "bad.npz")
    assert err.value.status == 400 and "sha256" in err.value.message
    with pytest.raises(ClientInputError) as err:
        client.model("tiny-test:99")
    assert err.value.status == 404
