"""``kill -9`` mid-training leaves the registry consistent and the run resumable (subprocess)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from engine_synth import fluorescence, poisson_gaussian

from fijax.engine.checkpoint import load_npz
from fijax.engine.config import preset
from fijax.engine.model import load_model
from fijax.engine.train import train
from fijax.registry.models import ModelRegistry

HERE = Path(__file__).parent

SCRIPT = """
import sys
sys.path.insert(0, {here!r})
from engine_synth import fluorescence, poisson_gaussian
from fijax.engine.config import preset
from fijax.engine.train import train
noisy = poisson_gaussian(fluorescence(2, size=64, seed=3), photons=0.5, seed=4)
train(preset("quick", "n2v", epochs=1000, steps_per_epoch=3, val_patches=4), noisy, name="crash")
"""


@pytest.mark.slow
def test_kill_9_then_resume(tmp_path):
    env = dict(os.environ, FIJAX_HOME=str(tmp_path), JAX_PLATFORMS="cpu")
    proc = subprocess.Popen([sys.executable, "-c", SCRIPT.format(here=str(HERE))], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    runs = tmp_path / "runs" / "crash"
    state = runs / "none" / "state.npz"
    try:
        deadline = time.time() + 240
        while time.time() < deadline and proc.poll() is None:
            found = sorted(runs.glob("*/state.npz")) if runs.is_dir() else []
            state = found[-1] if found else state
            if state.is_file() and load_npz(state)[1].get("epoch", 0) >= 2:
                break
            time.sleep(0.2)
        assert proc.poll() is None, proc.stdout.read().decode()[-2000:]
        assert state.is_file(), "training made no checkpoint in time"
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    reg = ModelRegistry(tmp_path)
    assert reg.list() == [] and reg.check_consistency() == []
    _, meta = load_npz(state)  # the last committed checkpoint is complete and readable
    done = meta["epoch"]
    assert done >= 2 and len(meta["history"]) == done
    noisy = poisson_gaussian(fluorescence(2, size=64, seed=3), photons=0.5, seed=4)
    # resume uses the saved configuration; only the epoch count may change (here: finish quickly)
    res = train(preset("quick", "n2v", epochs=done + 1, steps_per_epoch=3, val_patches=4), noisy,
                name="crash", registry=reg, resume=True)
    assert [h["epoch"] for h in res.history] == list(range(1, done + 2))
    assert res.card["config"]["epochs"] == done + 1
    assert [r.ref for r in reg.list()] == ["crash:1"] and reg.check_consistency() == []
    load_model("crash:1", registry=reg)


@pytest.mark.parametrize("bad", ["other data"])
def test_resume_refuses_other_data(tmp_path, bad):
    reg = ModelRegistry(tmp_path)
    noisy = poisson_gaussian(fluorescence(2, size=64, seed=3), photons=0.5, seed=4)
    cfg = preset("quick", "n2v", epochs=3, steps_per_epoch=2, val_patches=4)
    with pytest.raises(Exception, match="stopped"):
        train(cfg, noisy, name="r", registry=reg, stop_after_steps=3)
    from fijax.errors import InputError

    with pytest.raises(InputError, match="differ"):
        train(cfg, noisy[::-1].copy(), name="r", registry=reg, resume=True)
    assert reg.list() == []
