"""The flagship workflow through the HTTP API (``fijax serve`` on loopback, the registry of the demo model)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from fijax.client import Client


@pytest.mark.slow
def test_compare_denoisers_over_http(home, demo_ref, pair, tmp_path):
    token_file = tmp_path / "token"
    env = dict(os.environ, FIJAX_HOME=str(home), JAX_PLATFORMS="cpu")
    with open(tmp_path / "server.log", "ab") as log:
        proc = subprocess.Popen([sys.executable, "-m", "fijax", "serve", "--port", "0", "--token-file",
                                 str(token_file)], env=env, stdout=log, stderr=log)
    try:
        with Client.wait_for_server(token_file, wait_s=120, process=proc, poll=0.2) as probe:
            url, token = probe.url, probe.token
        with Client(url, token, timeout=300) as client:
            res = client.run("compare_denoisers", {"image": pair.noisy, "gt": pair.gt},
                             {"model": demo_ref, "cycle_spins": 2, "methods": "median,puredenoise,dl"},
                             wait=True, timeout=280)
            assert res.state == "succeeded", res.job
            rows = {r["method"]: r for r in res.table}
            assert rows[f"DL {demo_ref}"]["ssim"] > rows["Raw"]["ssim"] + 0.05
            assert rows["PureDenoise"]["psnr"] > rows["Raw"]["psnr"]
            assert res.values["ground_truth"] == "given"
            assert any(name.startswith("SSIM") for name in res.images), list(res.images)
            assert "comparison_png" in res.files
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
