"""Fixtures of the classical (PURE-LET) tests."""

from __future__ import annotations

import numpy as np
import pytest
from skimage import data, transform


@pytest.fixture(scope="session")
def camera256() -> np.ndarray:
    """scikit-image's camera reduced to 256x256 (the size of Luisier's cameraman), max 1."""
    cam = transform.downscale_local_mean(data.camera().astype(float), (2, 2))
    return cam / cam.max()
