"""Tiled prediction is seam-free; stacks, channels, 3D; Monte-Carlo dropout."""

from __future__ import annotations

import numpy as np
import pytest

from fijax.engine.config import TrainConfig
from fijax.engine.model import build_unet
from fijax.engine.predict import plan_tiles, predict
from fijax.errors import InputError
from fijax.io.image import Image


def _model(task="n2v", ndim=2, cin=1, **kw):
    cfg = TrainConfig(task=task, ndim=ndim, filters=4, kernel=3, patch_size=(16,) * ndim, **kw).resolved()
    model, _ = build_unet(cfg, cin, cin, seed=3)
    return model, cfg


def test_tiled_equals_untiled_2d():
    model, cfg = _model("care", residual=True)
    img = np.random.default_rng(0).normal(100, 10, (150, 134)).astype(np.float32)
    whole = predict(model, cfg, img, n_tiles=1)["prediction"]
    tiled = predict(model, cfg, img, n_tiles=(3, 2), batch_size=2)["prediction"]
    assert whole.shape == img.shape
    assert np.max(np.abs(whole - tiled)) <= 1e-4
    # automatic tiling from a tiny memory budget gives many tiles and the same result
    win, tiles = plan_tiles((152, 136), model, None, budget=2_000_000, batch_size=4)
    assert len(tiles) > 1
    auto = predict(model, cfg, img, budget=2_000_000)["prediction"]
    assert np.max(np.abs(whole - auto)) <= 1e-4


def test_tiled_equals_untiled_3d_and_n2v2():
    model, cfg = _model("n2v", ndim=3)
    img = np.random.default_rng(1).normal(0, 1, (20, 72, 40)).astype(np.float32)
    whole = predict(model, cfg, img, n_tiles=1)["prediction"]
    tiled = predict(model, cfg, img, n_tiles=(1, 3, 2))["prediction"]
    assert np.max(np.abs(whole - tiled)) <= 1e-4
    model, cfg = _model("n2v2")
    img2 = np.random.default_rng(2).normal(0, 1, (130, 70)).astype(np.float32)
    d = predict(model, cfg, img2, n_tiles=1)["prediction"] - predict(model, cfg, img2, n_tiles=(4, 2))["prediction"]
    assert np.max(np.abs(d)) <= 1e-4


def test_stacks_and_channels():
    model, cfg = _model("care", cin=2, residual=True)
    img = Image(np.random.default_rng(2).normal(0, 1, (3, 2, 40, 36)).astype(np.float32), axes="TCYX")
    out = predict(model, cfg, img)["prediction"]
    assert out.shape == (3, 2, 40, 36)
    one = predict(model, cfg, Image(img.data[1], axes="CYX"))["prediction"]
    np.testing.assert_allclose(out[1], one, atol=1e-5)
    with pytest.raises(InputError, match="channel"):
        predict(model, cfg, np.zeros((40, 36), np.float32))
    with pytest.raises(InputError, match="NaN"):
        predict(model, cfg, Image(np.full((2, 8, 8), np.nan, np.float32), axes="CYX"))


def test_monte_carlo_dropout():
    model, cfg = _model("care", residual=True, dropout=0.3)
    img = np.random.default_rng(3).normal(50, 5, (48, 48)).astype(np.float32)
    det = predict(model, cfg, img)["prediction"]
    mc = predict(model, cfg, img, samples=8, seed=1)
    assert set(mc) == {"prediction", "std"}
    assert mc["std"].shape == img.shape and mc["std"].mean() > 0
    assert not np.array_equal(mc["prediction"], det)
    again = predict(model, cfg, img, samples=8, seed=1)
    np.testing.assert_array_equal(again["std"], mc["std"])  # seeded, reproducible
    nodrop, ncfg = _model("care", residual=True)
    with pytest.raises(InputError, match="dropout"):
        predict(nodrop, ncfg, img, samples=4)
