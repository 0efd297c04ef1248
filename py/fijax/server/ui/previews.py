"""PNG previews of TIFF images for the pages: one plane, scaled for display, optionally colour-mapped.

Browsers do not show TIFF, and output images are often float maps: SSIM maps are drawn on a fixed
0..1 scale (``magma``), RSE maps from 0 to their 99.5th percentile (``inferno``), anything else in
grey between its 0.5th and 99.8th percentiles. Stacks show their middle plane (as the figures do).
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

#: Largest plane drawn (pixels per side); bigger planes are subsampled for the preview.
MAX_SIDE = 2048


def plane(data: np.ndarray) -> np.ndarray:
    """The middle YX plane of an image of any rank (RGB planes kept)."""
    a = np.asarray(data)
    if a.ndim == 3 and a.shape[-1] in (3, 4) and a.dtype == np.uint8:
        return a
    while a.ndim > 2:
        a = a[a.shape[0] // 2]
    return a


def display_range(name: str, a: np.ndarray) -> tuple[float, float, str]:
    """``(low, high, colormap)`` used for an image called ``name``."""
    finite = a[np.isfinite(a)] if a.dtype.kind == "f" else a.ravel()
    if finite.size == 0:
        return 0.0, 1.0, "gray"
    low_name = name.lower()
    if "ssim" in low_name:
        return 0.0, 1.0, "magma"
    if "rse" in low_name:
        return 0.0, float(np.percentile(finite, 99.5)) or 1.0, "inferno"
    if "uncertainty" in low_name or low_name.endswith("std"):
        return float(finite.min()), float(np.percentile(finite, 99.5)), "viridis"
    lo, hi = (float(v) for v in np.percentile(finite, [0.5, 99.8]))
    if hi <= lo:
        lo, hi = float(finite.min()), float(finite.max())
    return lo, (hi if hi > lo else lo + 1.0), "gray"


def tiff_preview_png(path: str | Path, name: str | None = None) -> bytes:
    """PNG bytes of the TIFF at ``path`` (middle plane, display-scaled)."""
    import tifffile
    from matplotlib import colormaps
    from matplotlib.image import imsave

    with tifffile.TiffFile(path) as tif:
        data = tif.series[0].asarray()
    a = plane(data)
    if a.ndim == 3:  # RGB(A) 8-bit
        rgb = a
    else:
        step = max(1, int(np.ceil(max(a.shape) / MAX_SIDE)))
        a = a[::step, ::step].astype(np.float32)
        lo, hi, cmap = display_range(name or Path(path).stem, a)
        scaled = np.clip((np.nan_to_num(a, nan=lo) - lo) / (hi - lo), 0, 1)
        rgb = (colormaps[cmap](scaled)[..., :3] * 255).astype(np.uint8)
    buf = io.BytesIO()
    imsave(buf, rgb, format="png")
    return buf.getvalue()
