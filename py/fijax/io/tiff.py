"""TIFF reading and writing with ImageJ metadata (axes, pixel size, unit) via tifffile."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import tifffile

from fijax.errors import InputError
from fijax.io.atomic import atomic_path
from fijax.io.image import CANONICAL_AXES, Image

#: dtypes ImageJ stores natively; others are converted on write (see :func:`write_tiff`).
IMAGEJ_DTYPES = (np.uint8, np.uint16, np.float32)


def read_tiff(path: str | os.PathLike, title: str | None = None) -> Image:
    """Read a TIFF into an :class:`Image`, keeping ImageJ axes and calibration.

    Raises
    ------
    InputError
        When the file is missing, not a TIFF or corrupt.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"input file not found: {path}")
    try:
        with tifffile.TiffFile(path) as tif:
            series = tif.series[0]
            data = series.asarray()
            axes = series.axes
            ij = tif.imagej_metadata or {}
            page = tif.pages[0]
            res = page.tags.get("XResolution"), page.tags.get("YResolution")
            desc = page.description if hasattr(page, "description") else ""
    except (tifffile.TiffFileError, ValueError, OSError, IndexError, KeyError) as exc:
        raise InputError(f"{path.name}: not a readable TIFF file ({exc})") from exc
    data, axes = _to_canonical(data, axes)
    pixel_size, unit = _calibration(res, ij)
    meta = {k: v for k, v in ij.items() if isinstance(v, str | int | float)}
    if desc and not ij:
        meta["description"] = desc
    return Image(data=data, axes=axes, title=title or path.stem, pixel_size=pixel_size, unit=unit,
                 metadata=meta)


def write_tiff(path: str | os.PathLike, image: Image | np.ndarray, *, compress: bool = False) -> Path:
    """Write an image as an ImageJ hyperstack TIFF, atomically.

    uint8, uint16 and float32 are written as they are; bool becomes uint8 (0/255 is *not*
    applied: 0/1 is kept), other integer types become uint16 when their values fit and
    float32 otherwise; float64 becomes float32.
    """
    if not isinstance(image, Image):
        image = Image(np.asarray(image))
    data = _imagej_dtype(image.data)
    kwargs: dict = {"imagej": True, "metadata": {"axes": image.axes}}
    if image.pixel_size is not None:
        pz, py, px = image.pixel_size
        kwargs["resolution"] = (1.0 / px, 1.0 / py)
        kwargs["metadata"]["spacing"] = pz
        kwargs["metadata"]["unit"] = image.unit or "pixel"
    if compress:
        kwargs["compression"] = "zlib"
    with atomic_path(path, suffix=".tif") as tmp:
        tifffile.imwrite(tmp, data, **kwargs)
    return Path(path)


def _imagej_dtype(data: np.ndarray) -> np.ndarray:
    if data.dtype in IMAGEJ_DTYPES:
        return data
    if data.dtype == bool:
        return data.astype(np.uint8)
    if np.issubdtype(data.dtype, np.integer):
        if data.size == 0 or (data.min() >= 0 and data.max() <= np.iinfo(np.uint16).max):
            return data.astype(np.uint16)
        return data.astype(np.float32)
    if np.issubdtype(data.dtype, np.floating):
        return data.astype(np.float32)
    raise InputError(f"cannot store dtype {data.dtype} in an ImageJ TIFF")


def _to_canonical(data: np.ndarray, axes: str) -> tuple[np.ndarray, str]:
    """Map tifffile's axes letters onto ``TZCYX`` (``I``/``Q`` pages become ``T``, samples become ``C``)."""
    axes = axes.upper().replace("S", "C").replace("I", "T").replace("Q", "T")
    if len(set(axes)) != len(axes) or any(a not in CANONICAL_AXES for a in axes):
        # Unknown layout: fall back to a plain stack of planes.
        data = data.reshape((-1,) + data.shape[-2:]) if data.ndim > 2 else data
        return data, ("T" if data.ndim == 3 else "") + "YX"
    order = sorted(range(len(axes)), key=lambda i: CANONICAL_AXES.index(axes[i]))
    return np.transpose(data, order), "".join(axes[i] for i in order)


def _calibration(res: tuple, ij: dict) -> tuple[tuple[float, float, float] | None, str | None]:
    unit = ij.get("unit")
    xres, yres = res
    if xres is None or unit in (None, "pixel", ""):
        return None, None

    def size(tag) -> float:
        num, den = tag.value
        return float(den) / float(num) if num else 1.0

    px = size(xres)
    py = size(yres) if yres is not None else px
    pz = float(ij.get("spacing", 1.0))
    return (pz, py, px), str(unit)
