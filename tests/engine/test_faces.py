"""The train/predict/models operations and CLI commands (thin adapters over the engine)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import tifffile
from engine_synth import fluorescence, poisson_gaussian

from fijax import ops
from fijax.cli.main import main
from fijax.errors import CancelledError, InputError
from fijax.io.image import Image
from fijax.ops import OpContext
from fijax.registry.models import ModelRegistry

QUICK = {"preset": "quick", "epochs": 2, "steps_per_epoch": 3, "config": {"val_patches": 4}}


def test_train_op_progress_and_cancel():
    noisy = poisson_gaussian(fluorescence(2, size=64, seed=3), photons=0.5, seed=4)
    img = Image(noisy, axes="TYX", title="noisy")
    seen = []
    res = ops.get("train")({"source": img}, dict(QUICK, name="op", task="n2v"),
                           OpContext(progress=lambda f, m: seen.append(f)))
    assert res.values["model"] == "op:1" and len(res.table) == 2
    assert seen == sorted(seen) and seen[-1] == pytest.approx(1.0)
    assert res.files["log"].is_file()
    flag = {"n": 0}

    def cancelled():
        flag["n"] += 1
        return flag["n"] > 4  # after epoch 1 (3 steps) is committed

    with pytest.raises(CancelledError):
        ops.get("train")({"source": img}, dict(QUICK, name="op", task="n2v"), OpContext(is_cancelled=cancelled))
    assert [r.ref for r in ModelRegistry().list()] == ["op:1"]
    # resumed through the operation (as the server does after a crash)
    res2 = ops.get("train")({"source": img}, dict(QUICK, name="op", task="n2v", resume=True))
    assert res2.values["model"] == "op:2"

    pred = ops.get("predict")({"image": img}, {"model": "op"})
    out = pred.images["prediction"]
    assert out.data.shape == noisy.shape and out.axes == "TYX" and pred.values["model"] == "op:2"
    listing = ops.get("models")({}, {})
    assert [(r["name"], r["version"]) for r in listing.table] == [("op", 1), ("op", 2)]
    card = ops.get("model_show")({}, {"model": "op:1"}).values
    assert card["verified"] and card["task"] == "n2v"
    with pytest.raises(InputError, match="dropout"):
        ops.get("predict")({"image": img}, {"model": "op", "samples": 3})
    with pytest.raises(InputError):
        ops.get("train")({}, dict(QUICK, name="x", task="care"))


def test_cli_train_predict_models(tmp_path, capsys):
    gt = fluorescence(3, size=64, seed=5)
    noisy = poisson_gaussian(gt, photons=0.5, seed=6)
    (tmp_path / "src").mkdir()
    (tmp_path / "tgt").mkdir()
    for i in range(3):
        tifffile.imwrite(tmp_path / "src" / f"im{i}.tif", noisy[i])
        tifffile.imwrite(tmp_path / "tgt" / f"im{i}.tif", gt[i])
    rc = main(["train", "care", "--source", str(tmp_path / "src"), "--target", str(tmp_path / "tgt"),
               "--name", "cli", "--preset", "quick", "--epochs", "1", "--steps", "3", "--dropout", "0.2",
               "--set", "val_patches=4", "--quiet", "--json"])
    assert rc == 0
    values = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert values["model"] == "cli:1"
    card = ModelRegistry().get("cli").card
    assert len(card["data"]["files"]) == 6 and all(len(h) == 64 for h in card["data"]["files"].values())
    assert main(["predict", "--model", "cli:1", str(tmp_path / "src" / "im0.tif"), "--out",
                 str(tmp_path / "o.tif"), "--samples", "2"]) == 0
    assert tifffile.imread(tmp_path / "o.tif").shape == (64, 64)
    assert tifffile.imread(tmp_path / "o_std.tif").shape == (64, 64)
    assert main(["models"]) == 0 and "cli" in capsys.readouterr().out
    assert main(["models", "show", "cli"]) == 0
    # bad input: exit code 2 and nothing registered
    assert main(["train", "care", "--source", str(tmp_path / "src"), "--name", "bad", "--quiet"]) == 2
    assert main(["predict", "--model", "cli:7", str(tmp_path / "src"), "--out", str(tmp_path / "x")]) == 2
    assert [r.ref for r in ModelRegistry().list()] == ["cli:1"]
    # tampered weights refused by predict
    w = ModelRegistry().get("cli").weights_path
    arr = np.load(w)
    arr = {k: arr[k] for k in arr.files}
    first = sorted(arr)[0]
    arr[first] = arr[first] + 1
    np.savez(w, **arr)
    assert main(["predict", "--model", "cli", str(tmp_path / "src"), "--out", str(tmp_path / "y")]) == 2
    assert "sha256" in capsys.readouterr().err
