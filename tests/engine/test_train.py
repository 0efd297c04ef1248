"""Training learns, is reproducible, resumes, fine-tunes, and refuses bad input without writing."""

from __future__ import annotations

import csv

import numpy as np
import pytest
from engine_synth import fluorescence, poisson_gaussian, psnr

from fijax.engine.checkpoint import load_npz, model_arrays
from fijax.engine.config import preset
from fijax.engine.model import load_model
from fijax.engine.train import run_dir_for, train
from fijax.errors import CancelledError, InputError, NotFoundError
from fijax.io.image import Image
from fijax.registry.models import ModelRegistry


@pytest.fixture(scope="module")
def data():
    gt = fluorescence(4, size=96, seed=0)
    noisy = poisson_gaussian(gt, photons=0.5, sigma=4.0, seed=1)
    return gt, noisy


@pytest.fixture(scope="module")
def n2v_run(tmp_path_factory, data):
    gt, noisy = data
    reg = ModelRegistry(tmp_path_factory.mktemp("home"))
    cfg = preset("quick", "n2v", epochs=4, steps_per_epoch=25, seed=0)
    images = [Image(n, axes="YX", title=f"noisy{i}", pixel_size=(1.0, 0.1, 0.1), unit="micron")
              for i, n in enumerate(noisy)]
    res = train(cfg, images, name="n2v-test", registry=reg)
    return res, reg


def test_n2v_learns(n2v_run, data):
    gt, noisy = data
    res, reg = n2v_run
    pred = load_model("n2v-test", registry=reg).predict(noisy, axes="TYX")["prediction"]
    before, after = psnr(noisy, gt), psnr(pred, gt)
    assert after > before + 4.0, (before, after)


def test_care_learns(tmp_path, data):
    gt, _ = data
    low = poisson_gaussian(gt, photons=0.2, sigma=6.0, seed=5)
    cfg = preset("quick", "care", epochs=4, steps_per_epoch=25, seed=0)
    res = train(cfg, low, gt, name="care-test", registry=ModelRegistry(tmp_path))
    pred = res.trained.predict(low, axes="TYX")["prediction"]
    before, after = psnr(low, gt), psnr(pred, gt)
    assert after > before + 4.0, (before, after)
    assert res.card["metrics"]["selected"] == "best"


def test_registered_model_reloads_bit_identically(n2v_run, data):
    res, reg = n2v_run
    _, noisy = data
    loaded = load_model("n2v-test:1", registry=reg)
    a, b = model_arrays(res.trained.model), model_arrays(loaded.model)
    assert a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)
    p1 = res.trained.predict(noisy[0])["prediction"]
    p2 = loaded.predict(noisy[0])["prediction"]
    np.testing.assert_array_equal(p1, p2)


def test_model_card(n2v_run):
    res, reg = n2v_run
    rec = reg.get("n2v-test")
    card = rec.card
    assert rec.version == 1 and card["task"] == "n2v" and card["seed"] == 0
    assert card["config"]["mask_percent"] == 1.5 and card["config"]["loss"] == "mse"
    assert card["data"]["image_count"] == 4 and card["data"]["sources"][0]["title"] == "noisy0"
    assert len(card["data"]["sources"][0]["sha256"]) == 64
    assert card["data"]["sources"][0]["pixel_size"] == [1.0, 0.1, 0.1]
    assert card["data"]["patch_count"] == 4 * 25 * 8
    assert {"jax", "flax", "optax", "numpy", "fijax", "jars"} <= set(card["versions"])
    assert card["metrics"]["epochs"] == 4 and card["metrics"]["val_loss"] > 0
    assert card["parent"] is None and card["device"].startswith("cpu")
    rows = list(csv.DictReader(open(rec.path / "log.csv")))
    assert [r["epoch"] for r in rows] == [str(i) for i in range(1, 5)]
    assert set(rows[0]) == {"epoch", "step", "loss", "val_loss", "lr", "seconds", "elapsed"}
    assert float(rows[-1]["loss"]) < float(rows[0]["loss"])


def test_transfer_learning_records_parent(n2v_run, data):
    res, reg = n2v_run
    _, noisy = data
    cfg = preset("quick", "n2v", epochs=1, steps_per_epoch=3, seed=1, filters=16)  # architecture from parent
    child = train(cfg, noisy[:2], name="n2v-ft", registry=reg, parent="n2v-test")
    assert child.card["parent"]["ref"] == "n2v-test:1"
    assert child.card["config"]["filters"] == 8
    assert reg.get("n2v-ft").card["parent"]["weights_sha256"] == reg.get("n2v-test").weights_sha256
    with pytest.raises(NotFoundError):
        train(cfg, noisy[:2], name="n2v-ft2", registry=reg, parent="n2v-test:9")
    assert [r.ref for r in reg.list("n2v-ft2")] == []


def test_same_seed_bit_identical_and_resume(tmp_path, data):
    _, noisy = data
    reg = ModelRegistry(tmp_path)
    cfg = preset("quick", "n2v", epochs=2, steps_per_epoch=4, seed=7, val_patches=8)
    a = train(cfg, noisy[:2], name="a", registry=reg)
    b = train(cfg, noisy[:2], name="b", registry=reg)
    wa, wb = model_arrays(a.trained.model), model_arrays(b.trained.model)
    assert all(np.array_equal(wa[k], wb[k]) for k in wa)
    # interrupted after 6 steps (epoch 1 committed), then resumed: same weights as uninterrupted
    with pytest.raises(CancelledError):
        train(cfg, noisy[:2], name="c", registry=reg, stop_after_steps=6)
    assert reg.list("c") == []
    state, meta = load_npz(run_dir_for("c", tmp_path) / "state.npz")
    assert meta["epoch"] == 1 and meta["step"] == 4
    c = train(cfg, noisy[:2], name="c", registry=reg, resume=True)
    wc = model_arrays(c.trained.model)
    assert all(np.array_equal(wa[k], wc[k]) for k in wa)
    assert [h["loss"] for h in c.history] == [h["loss"] for h in a.history]
    d = train(cfg.model_copy(update={"seed": 8}), noisy[:2], name="d", registry=reg)
    wd = model_arrays(d.trained.model)
    assert not all(np.array_equal(wa[k], wd[k]) for k in wa)


def test_cancel_through_callback(tmp_path, data):
    _, noisy = data
    reg = ModelRegistry(tmp_path)
    calls = []

    def check():
        calls.append(1)
        if len(calls) > 2:
            raise CancelledError("stop")

    with pytest.raises(CancelledError):
        train(preset("quick", "n2v", epochs=1, steps_per_epoch=5), noisy[:2], name="x", registry=reg,
              check_cancelled=check)
    assert reg.list() == []


@pytest.mark.parametrize("case", ["patch", "valsplit", "shapes", "nan", "target_for_n2v", "no_target",
                                  "name", "resume", "jars_txt"])
def test_bad_input_writes_nothing(tmp_path, data, case, monkeypatch):
    gt, noisy = data
    reg = ModelRegistry(tmp_path)
    care = preset("quick", "care", epochs=1, steps_per_epoch=2)
    n2v = preset("quick", "n2v", epochs=1, steps_per_epoch=2)
    with pytest.raises(InputError):
        if case == "patch":
            train(n2v.model_copy(update={"patch_size": (128, 128)}), noisy, name="m", registry=reg)
        elif case == "valsplit":
            train(n2v, noisy[0][:40, :40], name="m", registry=reg)
        elif case == "shapes":
            train(care, noisy[:2], gt[:2, :64, :64], name="m", registry=reg)
        elif case == "nan":
            bad = noisy.copy()
            bad[0, 3, 3] = np.nan
            train(n2v, bad, name="m", registry=reg)
        elif case == "target_for_n2v":
            train(n2v, noisy, gt, name="m", registry=reg)
        elif case == "no_target":
            train(care, noisy, name="m", registry=reg)
        elif case == "name":
            train(n2v, noisy, name="bad/name", registry=reg)
        elif case == "resume":
            train(n2v, noisy, name="m", registry=reg, resume=True)
        elif case == "jars_txt":  # recorded in the card: a malformed one is an error, never "no jars"
            (tmp_path / "jars.txt").write_text("net.imagej:ij:LATEST\n")
            monkeypatch.setenv("FIJAX_JARS_TXT", str(tmp_path / "jars.txt"))
            train(n2v, noisy, name="m", registry=reg)
    assert reg.list() == []
    assert not (tmp_path / "runs").exists() and not (tmp_path / "models").exists()


def test_batch_norm_statistics_train_and_reload(tmp_path, data):
    _, noisy = data
    reg = ModelRegistry(tmp_path)
    cfg = preset("quick", "n2v", epochs=1, steps_per_epoch=2, batch_norm=True, compact_decoder=True,
                 val_patches=4)
    res = train(cfg, noisy[:2], name="bn", registry=reg)
    arrays = model_arrays(res.trained.model)
    means = [v for k, v in arrays.items() if k.endswith("/mean")]
    assert means and any(np.abs(m).max() > 0 for m in means)  # running statistics were updated
    loaded = model_arrays(load_model("bn", registry=reg).model)
    assert all(np.array_equal(arrays[k], loaded[k]) for k in arrays)
