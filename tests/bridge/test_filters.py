"""The JAX Gaussian against an independent NumPy reference of ImageJ's algorithm (no JVM)."""

import math

import numpy as np
import pytest
from scipy import ndimage

from fijax.classical.filters import gaussian_blur, imagej_gaussian_kernel
from fijax.errors import InputError


def test_kernel_is_normalised_and_sized_like_imagej():
    k = imagej_gaussian_kernel(2.0, 0.0002)
    assert len(k) == math.ceil(2.0 * math.sqrt(-2 * math.log(0.0002))) + 1
    assert abs(float(k[0] + 2 * k[1:].sum()) - 1.0) < 1e-6
    assert np.all(np.diff(k) <= 0) and k[-1] >= 0


def test_blur_matches_scipy_in_the_interior():
    # Away from the edges ImageJ's truncated, tail-corrected kernel is a Gaussian to ~1e-4.
    rng = np.random.default_rng(1)
    img = rng.random((60, 70), dtype=np.float32)
    ours = gaussian_blur(img, 2.0)
    ref = ndimage.gaussian_filter(img.astype(np.float64), 2.0, mode="nearest", truncate=5)
    assert np.abs(ours - ref)[10:-10, 10:-10].max() < 2e-3
    # sigma is honoured: a different sigma is far away
    assert np.abs(gaussian_blur(img, 0.5) - ref)[10:-10, 10:-10].max() > 0.05


def test_integer_rounding_and_stacks():
    img = (np.arange(3 * 20 * 20) % 251).astype(np.uint8).reshape(3, 20, 20)
    out = gaussian_blur(img, 1.5)
    assert out.dtype == np.uint8 and out.shape == img.shape
    for i in range(3):
        assert np.array_equal(out[i], gaussian_blur(img[i], 1.5))


def test_bad_input():
    with pytest.raises(InputError):
        gaussian_blur(np.zeros(5), 1.0)
    with pytest.raises(InputError):
        gaussian_blur(np.zeros((5, 5)), -1.0)
