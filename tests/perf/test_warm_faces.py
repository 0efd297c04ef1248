"""``fijax setup --warm`` fills the cache the CLI then reads; ``--server`` runs a CLI call through ``fijax serve``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tifffile

from fijax import compile_cache
from fijax.errors import InputError
from fijax.ops._warm import parse_shape


def _fijax(*args: str, home: Path, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, "-m", "fijax", *args], capture_output=True, text=True, timeout=900,
                          env={**os.environ, "FIJAX_HOME": str(home), "JAX_PLATFORMS": "cpu"})
    if check:
        assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


def _raw(path: Path) -> Path:
    rng = np.random.default_rng(1)
    tifffile.imwrite(path, (rng.poisson(6.0, (40, 36)) + rng.normal(0, 1, (40, 36))).astype(np.float32))
    return path


def test_setup_warm_fills_the_cache_the_cli_then_reads(tmp_path):
    home = tmp_path / "home"
    proc = _fijax("setup", "--warm-only", "--warm-shape", "40x36", home=home)
    assert "warm: puredenoise 40x36" in proc.stdout and "warm: qc 40x36" in proc.stdout
    before = compile_cache.entries(home / "jax-cache")
    assert before
    # the server's workers load these shapes at start
    assert json.loads((home / "jax-cache" / "warmed.json").read_text()) == [[40, 36]]
    raw = _raw(tmp_path / "raw.tif")
    _fijax("puredenoise", str(raw), "--out", str(tmp_path / "out.tif"), "--alpha", "1", "--delta", "0",
           "--sigma", "1", "--cycle-spins", "3", home=home)
    # every compilation writes an entry (no minimum compile time): none was written, all were loaded
    assert compile_cache.entries(home / "jax-cache") == before
    assert tifffile.imread(tmp_path / "out.tif").shape == (40, 36)


def test_warm_shape_parsing():
    assert parse_shape("512") == (512, 512)
    assert parse_shape("600x800") == (600, 800)
    with pytest.raises(InputError, match="bad shape"):
        parse_shape("big")
    with pytest.raises(InputError, match="bad shape"):
        parse_shape("8x8")


def test_cli_runs_through_a_server_and_falls_back_without_one(tmp_path):
    from fijax.client import Client

    home = tmp_path / "home"
    raw = _raw(tmp_path / "raw.tif")
    opts = ["--alpha", "1", "--delta", "0", "--sigma", "1", "--cycle-spins", "2"]
    local = _fijax("puredenoise", str(raw), "--out", str(tmp_path / "local.tif"), *opts, home=home)
    token = tmp_path / "server.token"
    env = {**os.environ, "FIJAX_HOME": str(home), "JAX_PLATFORMS": "cpu"}
    server = subprocess.Popen([sys.executable, "-m", "fijax", "serve", "--port", "0", "--token-file", str(token),
                               "--no-macros"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        client = Client.wait_for_server(token, wait_s=300, process=server)
        remote = _fijax("puredenoise", str(raw), "--out", str(tmp_path / "remote.tif"), *opts, "--server", str(token),
                        home=home)
        assert "no server answered" not in remote.stderr
        assert [j["name"] for j in client.jobs()] == ["puredenoise"], "the server ran no job"
        client.close()
    finally:
        server.terminate()
        server.wait(60)
    np.testing.assert_array_equal(tifffile.imread(tmp_path / "remote.tif"), tifffile.imread(tmp_path / "local.tif"))
    assert local.stdout.strip().splitlines()[-1] == remote.stdout.strip().splitlines()[-1].replace(
        "remote.tif", "local.tif")
    gone = _fijax("puredenoise", str(raw), "--out", str(tmp_path / "fallback.tif"), *opts, "--server",
                  str(tmp_path / "no-such.token"), home=home)
    assert "no server answered" in gone.stderr
    np.testing.assert_array_equal(tifffile.imread(tmp_path / "fallback.tif"), tifffile.imread(tmp_path / "local.tif"))
