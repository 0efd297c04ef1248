"""Fixtures of the segmentation tests: a private fijax home, synthetic nuclei, one trained model."""

from __future__ import annotations

import pytest
from seg_synth import nuclei, small_config


@pytest.fixture(autouse=True)
def _private_home(tmp_path, monkeypatch):
    """Every test gets its own FIJAX_HOME, so nothing touches ~/.fijax."""
    monkeypatch.setenv("FIJAX_HOME", str(tmp_path / "fijax_home"))


@pytest.fixture(scope="session")
def make_nuclei():
    return nuclei


@pytest.fixture(scope="session")
def trained(tmp_path_factory, make_nuclei):
    """``(registry root, TrainResult)`` of a small model ``nuclei`` trained on 12 synthetic images."""
    from fijax.engine.train import train
    from fijax.registry.models import ModelRegistry

    root = tmp_path_factory.mktemp("seg_home")
    x, y = make_nuclei(12, 64, seed=0)
    res = train(small_config(), list(x), list(y), name="nuclei", registry=ModelRegistry(root))
    return root, res
