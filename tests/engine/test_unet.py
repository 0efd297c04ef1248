"""U-Net shapes, variants, residual and dropout behaviour."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from fijax.engine.unet import UNetSpec, count_params, make_unet
from fijax.errors import InputError


@pytest.mark.parametrize("ndim,cin,cout", [(2, 1, 1), (2, 2, 3), (3, 1, 1)])
def test_shapes(ndim, cin, cout):
    spec = UNetSpec(ndim=ndim, in_channels=cin, out_channels=cout, filters=4, kernel=3, residual=cin == cout)
    net = make_unet(spec, 0)
    x = jnp.ones((2,) + (16,) * ndim + (cin,))
    assert net(x).shape == (2,) + (16,) * ndim + (cout,)


def test_care_defaults_and_size():
    spec = UNetSpec()  # CARE 2D defaults: depth 2, kernel 5, 32 filters, residual
    assert (spec.depth, spec.kernel, spec.filters, spec.residual) == (2, 5, 32, True)
    net = make_unet(UNetSpec(kernel=3, residual=False), 0)
    # plain layout of the speed reference: 470,977 parameters at kernel 3
    assert count_params(net) == 470_977
    # CAREamics' layout (BatchNorm, half-width block outputs): its UNet(depth=2, 32, BN) has 333,729
    compact = make_unet(UNetSpec(kernel=3, residual=False, batch_norm=True, compact_decoder=True), 0)
    assert count_params(compact) == 333_729
    assert compact(jnp.ones((1, 16, 16, 1))).shape == (1, 16, 16, 1)


def test_n2v2_drops_top_skip():
    plain = make_unet(UNetSpec(filters=8, kernel=3, residual=False), 0)
    n2v2 = make_unet(UNetSpec(filters=8, kernel=3, residual=False, n2v2=True), 0)
    # top decoder block takes 16 (upsampled) instead of 16 + 8 (skip) channels
    assert plain.up[-1].conv1.kernel[...].shape[-2] == 24
    assert n2v2.up[-1].conv1.kernel[...].shape[-2] == 16
    y = n2v2(jnp.ones((1, 32, 32, 1)))
    assert y.shape == (1, 32, 32, 1) and np.isfinite(np.asarray(y)).all()


def test_residual_adds_input():
    spec = UNetSpec(filters=4, kernel=3, residual=True)
    net = make_unet(spec, 0)
    net.head.kernel[...] = jnp.zeros_like(net.head.kernel[...])
    x = jax.random.normal(jax.random.key(0), (1, 16, 16, 1))
    np.testing.assert_allclose(np.asarray(net(x)), np.asarray(x), atol=1e-6)


def test_dropout_only_with_key():
    net = make_unet(UNetSpec(filters=4, kernel=3, dropout=0.5), 0)
    x = jax.random.normal(jax.random.key(0), (1, 16, 16, 1))
    a, b = net(x), net(x)
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    c = net(x, dropout_key=jax.random.key(1))
    d = net(x, dropout_key=jax.random.key(2))
    assert not np.allclose(np.asarray(c), np.asarray(d))
    np.testing.assert_array_equal(np.asarray(c), np.asarray(net(x, dropout_key=jax.random.key(1))))


def test_bad_shapes():
    net = make_unet(UNetSpec(filters=4, kernel=3), 0)
    with pytest.raises(InputError, match="multiples of 4"):
        net(jnp.ones((1, 18, 16, 1)))
    with pytest.raises(InputError):
        UNetSpec(kernel=4)
    with pytest.raises(InputError):
        UNetSpec(ndim=4)


def test_halo_bounds_receptive_field():
    """Perturbing one input pixel changes no output farther than the halo."""
    spec = UNetSpec(filters=4, kernel=3, residual=False)
    net = make_unet(spec, 0)
    x = jax.random.normal(jax.random.key(0), (1, 96, 96, 1))
    y0 = np.asarray(net(x))
    y1 = np.asarray(net(x.at[0, 48, 48, 0].add(100.0)))
    changed = np.argwhere(np.abs(y1 - y0)[0, ..., 0] > 0)
    assert changed.size and np.abs(changed - 48).max() <= spec.halo()
