"""Data-parallel training over every local device (two host devices forced by an XLA flag)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = """
import json, sys
sys.path.insert(0, {here!r})
import jax
from engine_synth import fluorescence, poisson_gaussian
from fijax.engine.config import preset
from fijax.engine.train import train
noisy = poisson_gaussian(fluorescence(2, size=64, seed=3), photons=0.5, seed=4)
res = train(preset("quick", "n2v", epochs=2, steps_per_epoch=3, val_patches=4), noisy, name="md")
print(json.dumps({{"devices": len(jax.local_devices()), "device": res.card["device"],
                  "loss": res.history[-1]["loss"]}}))
"""


@pytest.mark.slow
def test_two_host_devices(tmp_path):
    env = dict(os.environ, FIJAX_HOME=str(tmp_path), JAX_PLATFORMS="cpu",
               XLA_FLAGS="--xla_force_host_platform_device_count=2")
    out = subprocess.run([sys.executable, "-c", SCRIPT.format(here=str(Path(__file__).parent))], env=env,
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    res = json.loads(out.stdout.strip().splitlines()[-1])
    assert res["devices"] == 2 and "×2" in res["device"] and res["loss"] > 0
