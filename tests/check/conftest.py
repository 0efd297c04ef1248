"""Domain-check tests: every test gets a private fijax home; one tiny blobs model serves the session."""

from __future__ import annotations

import pytest

from fijax.data.families import family_images
from fijax.engine.config import preset
from fijax.engine.train import train
from fijax.io.image import Image
from fijax.registry.models import ModelRegistry

SIZE = 64


@pytest.fixture(autouse=True)
def _private_home(tmp_path, monkeypatch):
    """Every test gets its own FIJAX_HOME, so nothing touches ~/.fijax."""
    monkeypatch.setenv("FIJAX_HOME", str(tmp_path / "fijax_home"))


@pytest.fixture(scope="session")
def blobs_model(tmp_path_factory):
    """A tiny CARE model trained on nuclei-like blobs (with dropout: MC calibration in the card)."""
    home = tmp_path_factory.mktemp("home")
    reg = ModelRegistry(home)
    gt, noisy = family_images("blobs", 6, SIZE, seed=0)
    cfg = preset("quick", "care", epochs=3, steps_per_epoch=15, seed=0, dropout=0.1)
    res = train(cfg, [Image(x, axes="YX", title=f"blobs{i}", pixel_size=(1.0, 0.2, 0.2), unit="micron")
                      for i, x in enumerate(noisy)],
                [Image(x, axes="YX") for x in gt], name="blobs", registry=reg, description="nuclei, widefield")
    return res, reg, home
