"""Fixtures of the workflow tests: a private fijax home with a tiny demo denoiser, and sample data."""

from __future__ import annotations

import pytest

from fijax.data import synthetic_pair


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    """A private ``FIJAX_HOME`` for the module (the registry of the demo model lives there)."""
    mp = pytest.MonkeyPatch()
    path = tmp_path_factory.mktemp("fijax-home")
    mp.setenv("FIJAX_HOME", str(path))
    yield path
    mp.undo()


@pytest.fixture(scope="module")
def demo_ref(home) -> str:
    """A tiny N2V denoiser with dropout (quick preset, 4 epochs on 64x64 images), registered."""
    from fijax.data.demo import demo_model

    ref, trained = demo_model(size=64, epochs=4)
    assert trained
    return ref


@pytest.fixture(scope="module")
def pair():
    """A 64x64 synthetic noisy image and its ground truth (seed 0, not seen in training)."""
    return synthetic_pair((64, 64), seed=0)
