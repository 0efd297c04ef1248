"""N2V blind-spot masking and losses."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from fijax.engine.config import TrainConfig
from fijax.engine.tasks import CareTask, N2VTask, blind_spot_coords, get_task, n2v_manipulate
from fijax.errors import NotFoundError


def test_grid_density_and_uniqueness():
    coords = np.asarray(blind_spot_coords(jax.random.key(0), 4, (64, 64), 0.2))
    assert coords.shape[1] == 9  # 64/22.4 ≈ 3 boxes per axis ≈ 0.22 % of 4096
    for c in coords:
        assert len({tuple(p) for p in c}) == len(c)
        # one pick per box of side 64/3
        boxes = {tuple(p) for p in (c // (64 / 3)).astype(int)}
        assert len(boxes) == len(c)
    dense = np.asarray(blind_spot_coords(jax.random.key(1), 1, (128, 128), 2.0))
    assert abs(dense.shape[1] / 128 ** 2 - 0.02) < 0.004


def test_uniform_replacement_is_a_neighbour():
    x = jnp.arange(64 * 64, dtype=jnp.float32).reshape(1, 64, 64, 1)
    masked, mask = n2v_manipulate(jax.random.key(3), x, 1.0, 5, "uniform")
    masked, mask, x = np.asarray(masked), np.asarray(mask), np.asarray(x)
    where = np.argwhere(mask[0, ..., 0] > 0)
    assert len(where) == int(mask.sum()) > 0
    for y0, x0 in where:
        v = int(masked[0, y0, x0, 0])
        yy, xx = divmod(v, 64)
        assert (yy, xx) != (y0, x0)
        assert abs(yy - y0) <= 5 and abs(xx - x0) <= 5
    unmasked = mask[..., 0] == 0
    np.testing.assert_array_equal(masked[..., 0][unmasked], x[..., 0][unmasked])


def test_median_replacement_excludes_centre():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 32, 32, 1)).astype(np.float32)
    masked, mask = n2v_manipulate(jax.random.key(5), jnp.asarray(x), 2.0, 2, "median")
    masked, mask = np.asarray(masked), np.asarray(mask)
    for b, y0, x0 in np.argwhere(mask[..., 0] > 0):
        if 2 <= y0 < 30 and 2 <= x0 < 30:
            patch = x[b, y0 - 2:y0 + 3, x0 - 2:x0 + 3, 0].ravel()
            ref = np.median(np.delete(patch, 12))
            assert masked[b, y0, x0, 0] == pytest.approx(ref, abs=1e-6)


def test_n2v_loss_only_on_masked_pixels():
    cfg = TrainConfig(task="n2v").resolved()
    task = N2VTask()
    x = jax.random.normal(jax.random.key(0), (2, 32, 32, 1))
    inp, tgt, w = task.batch(jax.random.key(1), x, None, cfg)
    pred = jnp.zeros_like(x)
    base = float(task.loss(pred, tgt, w, cfg))
    changed = jnp.where(w > 0, pred, 100.0)  # change every unmasked pixel
    assert float(task.loss(changed, tgt, w, cfg)) == pytest.approx(base)
    assert float(task.loss(jnp.where(w > 0, 100.0, pred), tgt, w, cfg)) > base + 1


def test_care_losses():
    t = CareTask()
    y = jnp.zeros((1, 8, 8, 1))
    p = jnp.full((1, 8, 8, 1), 2.0)
    assert float(t.loss(p, y, None, TrainConfig(loss="mae").resolved())) == pytest.approx(2.0)
    assert float(t.loss(p, y, None, TrainConfig(loss="mse").resolved())) == pytest.approx(4.0)
    cfg = TrainConfig(loss="laplace").resolved()
    assert t.out_channels(cfg, 1, 1) == 2
    out = t.outputs(jnp.zeros((1, 8, 8, 2)), cfg)
    assert set(out) == {"prediction", "scale"} and float(out["scale"].min()) > 0


def test_unknown_task():
    with pytest.raises(NotFoundError):
        get_task("nope")
