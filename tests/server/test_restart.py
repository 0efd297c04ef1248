"""Restart recovery: a server killed mid-job comes back with its finished jobs and artifacts listed,
the interrupted job marked so, and training resumable from its last checkpoint.
"""

from __future__ import annotations

import time

import httpx
import numpy as np
import pytest

from fijax.client import ClientInputError


def test_restart_recovery(server_factory, tmp_path):
    first = server_factory()
    with first.client() as c:
        done = c.run("test_blur", {"image": np.ones((16, 16), np.float32)}, {"sigma": 1.0})
        train = c.run("test_train", {}, {"steps": 60, "step_seconds": 0.05})
        deadline = time.monotonic() + 30
        while c.job(train.id)["progress"] < 0.2:
            assert time.monotonic() < deadline
            time.sleep(0.05)
    first.kill()  # SIGKILL: no clean shutdown; the worker follows its parent

    second = server_factory("--no-macros")
    assert second.token != first.token  # a new random token at every start
    with second.client() as c:
        finished = c.job(done.id)
        assert finished["state"] == "succeeded"
        assert c.image(done.id, "blurred").data.shape == (16, 16)
        assert c.artifact(done.id, "stats.csv", tmp_path / "stats.csv").read_text().startswith("mean,max")
        interrupted = c.job(train.id)
        assert interrupted["state"] == "interrupted" and "resume" in interrupted["error"]
        assert train.id in [j["id"] for j in c.jobs(state="interrupted")]
        c.resume(train.id)
        final = c.wait(train.id, timeout=60)
        assert final["state"] == "succeeded", final
        resumed_from = final["result"]["values"]["resumed_from"]
        assert 0 < resumed_from < 60  # picked up its last checkpoint, did not start over
        assert final["options"]["resume"] is True  # set by the server for operations with a resume option
        assert final["attempts"] == 2
        with pytest.raises(ClientInputError) as err:
            c.resume(train.id)  # succeeded jobs are not resumable
        assert err.value.status == 400
        r = httpx.post(f"{second.url}/macro", data={"code": "print(1);"},
                       headers={"Authorization": f"token {second.token}"})
        assert r.status_code == 403 and "disabled" in r.json()["detail"]

        # A graceful stop (SIGTERM) records a running job as interrupted too.
        again = c.run("test_train", {}, {"steps": 200, "step_seconds": 0.05})
        deadline = time.monotonic() + 30
        while c.job(again.id)["progress"] < 0.05:
            assert time.monotonic() < deadline
            time.sleep(0.05)
    second.stop()
    third = server_factory()
    with third.client() as c:
        job = c.job(again.id)
        assert job["state"] == "interrupted" and job["error_kind"] == "interrupted", job
        assert c.job(train.id)["state"] == "succeeded"

