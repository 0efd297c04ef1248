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

#: Environment variable with the largest decoded image, in MiB (``fijax --max-decoded-mb`` sets it).
MAX_DECODED_ENV = "FIJAX_MAX_DECODED_MB"
#: Default largest decoded image (16 GiB) when neither the caller nor the environment sets one.
DEFAULT_MAX_DECODED = 16 << 30
#: Without an explicit limit, an image decoding to more than this many bytes ...
BOMB_MIN_BYTES = 256 << 20
#: ... at more than this many times its file size is refused as a decompression bomb.
BOMB_RATIO = 200


def decoded_limit() -> tuple[int, bool]:
    """The largest decoded image in bytes and whether it was set explicitly (``$FIJAX_MAX_DECODED_MB``)."""
    raw = os.environ.get(MAX_DECODED_ENV, "").strip()
    if not raw:
        return DEFAULT_MAX_DECODED, False
    try:
        mb = float(raw)
    except ValueError:
        raise InputError(f"${MAX_DECODED_ENV}={raw!r} is not a number of MiB") from None
    if not mb > 0 or not np.isfinite(mb):
        raise InputError(f"${MAX_DECODED_ENV} must be a positive number of MiB, got {raw!r}")
    return int(mb * (1 << 20)), True


def check_decoded_size(label: str, nbytes: int, file_bytes: int, max_bytes: int | None = None,
                       ratio_check: bool | None = None,
                       hint: str = f"--max-decoded-mb or ${MAX_DECODED_ENV}") -> None:
    """Refuse an image whose header declares more decoded bytes than allowed, before decoding it.

    Parameters
    ----------
    label : str
        How the image is named in the message (file name or input name).
    nbytes, file_bytes : int
        Declared decoded size and size of the file on disk.
    max_bytes : int, optional
        Explicit limit; default :func:`decoded_limit`. Without any explicit limit, images above
        :data:`BOMB_MIN_BYTES` compressed more than :data:`BOMB_RATIO` times are refused too (a
        tiny zlib file declaring 20000² pixels would otherwise keep a CPU busy for minutes).
    ratio_check : bool, optional
        Force the decompression-bomb rule on (the server) or off; default: only without an
        explicit limit.
    hint : str
        Where the limit is set, for the message.

    Raises
    ------
    InputError
        Naming the declared size, the limit and how to raise it.
    """
    explicit = max_bytes is not None
    if max_bytes is None:
        max_bytes, explicit = decoded_limit()
    if nbytes > max_bytes:
        raise InputError(f"{label}: declares {nbytes / (1 << 20):.4g} MiB of decoded pixels, more than the limit "
                         f"of {max_bytes / (1 << 20):.4g} MiB (raise it with {hint})")
    if ratio_check is None:
        ratio_check = not explicit
    if ratio_check and nbytes > BOMB_MIN_BYTES and nbytes > BOMB_RATIO * max(file_bytes, 1):
        raise InputError(f"{label}: a {file_bytes}-byte file declares {nbytes / (1 << 20):.4g} MiB of decoded "
                         f"pixels (compressed {nbytes / max(file_bytes, 1):.0f}x): refused as a likely "
                         f"decompression bomb (raise the limit with {hint} to allow it)")


def read_tiff(path: str | os.PathLike, title: str | None = None, max_bytes: int | None = None) -> Image:
    """Read a TIFF into an :class:`Image`, keeping ImageJ axes and calibration.

    The decoded size declared by the header is checked (:func:`check_decoded_size`, limit
    ``max_bytes`` or ``$FIJAX_MAX_DECODED_MB``) before any pixel is decoded.

    Raises
    ------
    InputError
        When the file is missing, not a TIFF, corrupt or beyond the decoded-size limit.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"input file not found: {path}")
    try:
        with tifffile.TiffFile(path) as tif:
            series = tif.series[0]
            check_decoded_size(path.name, int(series.size) * np.dtype(series.dtype).itemsize,
                               path.stat().st_size, max_bytes)
            data = series.asarray()
            if data.dtype == np.bool_:  # 1-bit TIFFs (masks): 0/1 as uint8, which every operation takes
                data = data.astype(np.uint8)
            axes = series.axes
            ij = tif.imagej_metadata or {}
            page = tif.pages[0]
            res = page.tags.get("XResolution"), page.tags.get("YResolution")
            desc = page.description if hasattr(page, "description") else ""
    except InputError:
        raise
    except MemoryError:
        raise InputError(f"{path.name}: not enough memory to decode this image; lower --max-decoded-mb to refuse "
                         "such files early, or crop it") from None
    except Exception as exc:  # noqa: BLE001 - tifffile/struct/zlib raise many types on corrupt files
        raise InputError(f"{path.name}: not a readable TIFF file ({type(exc).__name__}: {exc})") from exc
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
