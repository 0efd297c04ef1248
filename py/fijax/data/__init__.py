"""Sample data generated deterministically: fluorescence-like images with Poisson-Gaussian noise.

Nothing is downloaded: :func:`synthetic_pair` draws the same pixels for the same seed (NumPy's
PCG64 generator), so the demo, the tests and the docs work on a fresh, offline machine. The sha256
of the pixels is recorded with every result (:func:`pixels_sha256`).

The clean image mixes Gaussian spots (nuclei/vesicles) of several sizes and thin curved filaments
on a dim background, in photon units; the noisy image is what a camera records::

    noisy = gain * Poisson(clean) + offset + Normal(0, read_noise)

and the ground truth is the noise-free expectation ``gain * clean + offset`` (the same units), as
PureDenoise's Poisson-Gaussian model assumes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fijax.errors import InputError
from fijax.io.hashing import pixels_sha256
from fijax.io.image import Image

__all__ = ["SyntheticPair", "clean_image", "pixels_sha256", "synthetic_pair"]


@dataclass
class SyntheticPair:
    """A noisy image, its ground truth and how they were made."""

    noisy: Image
    gt: Image
    params: dict


def clean_image(shape: tuple[int, int] = (128, 128), seed: int = 0, *, spots: int | None = None,
                filaments: int | None = None, peak: float = 60.0, background: float = 4.0) -> np.ndarray:
    """Noise-free fluorescence-like image in photons (float64), deterministic for ``seed``.

    Parameters
    ----------
    shape : (int, int)
        Height and width (each >= 16).
    seed : int
        Seed of the structure positions.
    spots, filaments : int, optional
        Counts (default: proportional to the area).
    peak : float
        Photons at the brightest structures (lower -> noisier image).
    background : float
        Photons of the background.
    """
    if len(shape) != 2 or min(shape) < 16:
        raise InputError(f"synthetic images need a 2D shape of at least 16x16, got {shape}")
    if peak <= 0 or background < 0:
        raise InputError("peak must be > 0 and background >= 0")
    h, w = (int(s) for s in shape)
    rng = np.random.default_rng([int(seed), 1])
    area = h * w / (128 * 128)
    spots = int(round(18 * area)) if spots is None else spots
    filaments = max(1, int(round(5 * area))) if filaments is None else filaments
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    img = np.zeros((h, w))
    for _ in range(spots):
        cy, cx = rng.uniform(0, h), rng.uniform(0, w)
        s = rng.uniform(1.5, 5.0)
        img += rng.uniform(0.4, 1.0) * np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * s * s))
    for _ in range(filaments):
        # A smooth random curve drawn as a chain of small Gaussians.
        y, x = rng.uniform(0, h), rng.uniform(0, w)
        angle, amp = rng.uniform(0, 2 * np.pi), rng.uniform(0.3, 0.7)
        for _ in range(int(1.5 * max(h, w))):
            angle += rng.normal(0, 0.12)
            y, x = y + np.sin(angle), x + np.cos(angle)
            if not (0 <= y < h and 0 <= x < w):
                break
            y0, y1, x0, x1 = max(int(y) - 4, 0), min(int(y) + 5, h), max(int(x) - 4, 0), min(int(x) + 5, w)
            img[y0:y1, x0:x1] += amp * 0.35 * np.exp(
                -((yy[y0:y1, x0:x1] - y) ** 2 + (xx[y0:y1, x0:x1] - x) ** 2) / (2 * 1.0 ** 2))
    img = img / max(float(img.max()), 1e-12)
    return background + peak * img


def synthetic_pair(shape: tuple[int, int] = (128, 128), seed: int = 0, *, peak: float = 60.0,
                   background: float = 4.0, gain: float = 2.0, offset: float = 100.0,
                   read_noise: float = 3.0) -> SyntheticPair:
    """A noisy camera image and its ground truth (float32, axes ``YX``), deterministic for ``seed``.

    Parameters
    ----------
    shape, seed, peak, background
        See :func:`clean_image`.
    gain : float
        Camera gain (grey values per photon), PureDenoise's alpha.
    offset : float
        Camera offset, PureDenoise's delta.
    read_noise : float
        Standard deviation of the Gaussian read noise (grey values), PureDenoise's sigma.

    Returns
    -------
    SyntheticPair
        ``noisy`` (titled ``noisy``), ``gt`` (titled ``gt``) and ``params`` (every argument plus the
        sha256 of both images' pixels).
    """
    if gain <= 0 or read_noise < 0:
        raise InputError("gain must be > 0 and read_noise >= 0")
    clean = clean_image(shape, seed, peak=peak, background=background)
    rng = np.random.default_rng([int(seed), 2])
    photons = rng.poisson(clean).astype(np.float64)
    noisy = gain * photons + offset + rng.normal(0.0, read_noise, clean.shape)
    gt = gain * clean + offset
    noisy32, gt32 = noisy.astype(np.float32), gt.astype(np.float32)
    params = {"generator": "fijax.data.synthetic_pair", "shape": list(shape), "seed": int(seed), "peak": peak,
              "background": background, "gain": gain, "offset": offset, "read_noise": read_noise,
              "noisy_sha256": pixels_sha256(noisy32), "gt_sha256": pixels_sha256(gt32)}
    return SyntheticPair(Image(noisy32, "YX", "noisy", metadata={"synthetic": params}),
                         Image(gt32, "YX", "gt", metadata={"synthetic": params}), params)


