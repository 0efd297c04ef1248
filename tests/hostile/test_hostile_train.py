"""Training under hostile conditions: two runs under one name, interrupted runs, tampered files, flat images."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from hostile_live import register_untrained

from fijax.engine.config import preset
from fijax.engine.train import interrupted_runs, train
from fijax.errors import CancelledError, InputError
from fijax.registry.models import ModelRegistry


def _noisy(seed: int, n: int = 2, size: int = 64) -> np.ndarray:
    rng = np.random.default_rng(seed)
    clean = np.zeros((n, size, size), np.float32)
    clean[:, 10:30, 12:36] = 50
    return (clean + rng.normal(0, 5, clean.shape)).astype(np.float32)


def _cfg(seed: int, epochs: int = 2):
    return preset("quick", "n2v", epochs=epochs, steps_per_epoch=3, val_patches=4, seed=seed)


SCRIPT = textwrap.dedent("""
    import json, sys
    import numpy as np
    from fijax.engine.config import preset
    from fijax.engine.train import train
    seed = int(sys.argv[1])
    rng = np.random.default_rng(seed)
    clean = np.zeros((2, 64, 64), np.float32); clean[:, 10:30, 12:36] = 50
    noisy = (clean + rng.normal(0, 5, clean.shape)).astype(np.float32)
    res = train(preset("quick", "n2v", epochs=3, steps_per_epoch=3, val_patches=4, seed=seed), noisy, name="twin")
    print(json.dumps({"version": res.record.version, "seed": seed, "sha": res.record.weights_sha256}))
""")


def test_two_trainings_under_one_name_both_kept_and_consistent(tmp_path):
    """Two processes train ``twin`` at once: two versions, each card matching its own run."""
    home = tmp_path / "home"
    env = dict(os.environ, FIJAX_HOME=str(home), JAX_PLATFORMS="cpu")
    procs = [subprocess.Popen([sys.executable, "-c", SCRIPT, str(seed)], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for seed in (11, 12)]
    outs = []
    for p in procs:
        out, err = p.communicate(timeout=600)
        assert p.returncode == 0, err[-3000:]
        outs.append(json.loads(out.strip().splitlines()[-1]))
    reg = ModelRegistry(home)
    records = reg.list("twin")
    assert sorted(r.version for r in records) == [1, 2]
    assert reg.check_consistency() == []
    by_seed = {o["seed"]: o for o in outs}
    for rec in records:
        reg.verify(rec)  # weights and config.json match their hashes
        seed = rec.card["seed"]
        cfg = json.loads((rec.path / "config.json").read_text())["config"]
        assert cfg["seed"] == seed == rec.card["config"]["seed"]  # the card and its files agree
        assert by_seed[seed]["version"] == rec.version and by_seed[seed]["sha"] == rec.weights_sha256
    assert not (home / "runs").exists() or not any((home / "runs").rglob("state.npz"))


def test_interrupted_run_is_kept_and_resumable(tmp_path, caplog):
    reg = ModelRegistry(tmp_path)
    with pytest.raises(CancelledError):
        train(_cfg(3), _noisy(3), name="keep", registry=reg, stop_after_steps=4)
    (kept,) = interrupted_runs("keep", tmp_path)
    assert (kept / "state.npz").is_file()
    with caplog.at_level(logging.WARNING, logger="fijax.engine.train"):
        other = train(_cfg(4, epochs=1), _noisy(4), name="keep", registry=reg)  # a new run: the old one stays
    assert "--resume" in caplog.text and other.record.version == 1
    assert interrupted_runs("keep", tmp_path) == [kept] and (kept / "state.npz").is_file()
    resumed = train(_cfg(3), _noisy(3), name="keep", registry=reg, resume=True)
    assert resumed.record.version == 2 and resumed.metrics["epochs"] == 2
    assert interrupted_runs("keep", tmp_path) == []


def test_restart_discards_interrupted_runs(tmp_path):
    reg = ModelRegistry(tmp_path)
    with pytest.raises(CancelledError):
        train(_cfg(5), _noisy(5), name="rs", registry=reg, stop_after_steps=4)
    assert len(interrupted_runs("rs", tmp_path)) == 1
    train(_cfg(5, epochs=1), _noisy(5), name="rs", registry=reg, restart=True)
    assert interrupted_runs("rs", tmp_path) == []


def test_resume_and_restart_exclude_each_other():
    from fijax import ops

    with pytest.raises(InputError, match="exclude"):
        ops.get("train")({}, {"name": "x", "resume": True, "restart": True})


@pytest.mark.parametrize("target", ["config.json", "weights.npz"])
def test_tampered_model_files_are_refused(tmp_path, target):
    home = Path(os.environ["FIJAX_HOME"])
    rec = register_untrained(home, "tamper")
    path = rec.path / target
    if target == "config.json":
        meta = json.loads(path.read_text())
        meta["config"]["norm_pmax"] = 90.0  # the normalisation percentiles: outputs would silently change
        path.write_text(json.dumps(meta))
    else:
        raw = bytearray(path.read_bytes())
        raw[-50] ^= 0xFF
        path.write_bytes(bytes(raw))
    from fijax.engine.model import load_model

    with pytest.raises(InputError, match=target.split(".")[0]):
        load_model("tamper", registry=ModelRegistry(home))
    from fijax import ops

    with pytest.raises(InputError):
        ops.get("model_show")({}, {"model": "tamper", "verify": True})


def test_constant_training_images(tmp_path, caplog):
    reg = ModelRegistry(tmp_path)
    flat = np.full((2, 64, 64), 7.0, np.float32)
    with pytest.raises(InputError, match="constant"):
        train(_cfg(0, epochs=1), flat, name="flat", registry=reg)
    assert reg.list() == []
    mixed = np.concatenate([_noisy(1), flat[:1]])
    with caplog.at_level(logging.WARNING, logger="fijax.engine.train"):
        train(_cfg(0, epochs=1), mixed, name="mixed", registry=reg)
    assert "constant" in caplog.text
