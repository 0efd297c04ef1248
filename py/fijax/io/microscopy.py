"""Microscopy files through bioio: OME-TIFF, OME-Zarr, CZI, ND2, LIF in, OME-TIFF and OME-Zarr out.

:func:`read_image` is what every face uses for a user's file (CLI inputs, ``--input``, HTTP paths,
batch, the macro ``open()`` and the Bio-Formats Importer fijax serves): plain TIFF goes through
:func:`fijax.io.read_tiff` (ImageJ axes and calibration), everything else through bioio and its
reader plugins (``bioio-ome-tiff``, ``bioio-ome-zarr``, ``bioio-czi``, ``bioio-nd2``,
``bioio-lif``). A file holding several images ("series" in Bio-Formats, "scenes" in bioio) gives one
at a time: ``series`` picks it by index (0-based) or name.

The result is an :class:`fijax.io.Image` in fijax's axes convention (a subsequence of ``TZCYX``;
singleton T, Z, C dropped; RGB samples become C) with ``pixel_size`` (z, y, x) in microns from
the file's physical pixel sizes and, in ``metadata``: ``channel_names``, ``series`` (index),
``series_name``, ``series_count``, ``format``.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from fijax.errors import InputError
from fijax.io.atomic import atomic_path
from fijax.io.image import CANONICAL_AXES, Image

#: File kinds fijax reads, by suffix, with the bioio reader plugin (module, PyPI name).
READERS: dict[str, tuple[str, str]] = {
    ".ome.tif": ("bioio_ome_tiff", "bioio-ome-tiff"),
    ".ome.tiff": ("bioio_ome_tiff", "bioio-ome-tiff"),
    ".ome.zarr": ("bioio_ome_zarr", "bioio-ome-zarr"),
    ".zarr": ("bioio_ome_zarr", "bioio-ome-zarr"),
    ".czi": ("bioio_czi", "bioio-czi"),
    ".nd2": ("bioio_nd2", "bioio-nd2"),
    ".lif": ("bioio_lif", "bioio-lif"),
}

#: What :func:`read_image` accepts, for error messages.
SUPPORTED = "TIFF (.tif/.tiff), OME-TIFF (.ome.tif), OME-Zarr (.ome.zarr/.zarr), CZI, ND2, LIF"


def kind_of(path: str | os.PathLike) -> str:
    """The file kind by name: ``".tif"`` for plain TIFF, else a key of :data:`READERS`, else the suffix."""
    name = Path(path).name.lower().rstrip("/")
    for suffix in sorted(READERS, key=len, reverse=True):
        if name.endswith(suffix):
            return suffix
    if name.endswith((".tif", ".tiff")):
        return ".tif"
    return Path(name).suffix or name


def is_supported(path: str | os.PathLike) -> bool:
    """Whether :func:`read_image` reads files named like ``path``."""
    return kind_of(path) == ".tif" or kind_of(path) in READERS


def read_image(path: str | os.PathLike, title: str | None = None, series: int | str | None = None) -> Image:
    """Read a microscopy image file into an :class:`Image`.

    Parameters
    ----------
    path : path-like
        TIFF, OME-TIFF, OME-Zarr (a folder), CZI, ND2 or LIF.
    title : str, optional
        Image title (default: the file name without its extension).
    series : int or str, optional
        Which image of a multi-image file: 0-based index or name (default: the first).

    Raises
    ------
    InputError
        Missing file, unsupported format (the message lists the supported ones), reader plugin
        not installed, unknown series (the message lists the file's series), unreadable file.
    """
    p = Path(path)
    kind = kind_of(p)
    if not p.exists():
        raise InputError(f"input file not found: {p}")
    if kind in (".tif", ".ome.tif", ".ome.tiff") and p.is_file():
        # An ImageJ TIFF named .ome.tif (saveAs("Tiff", "x.ome.tif")) has no OME-XML: ImageJ's reader.
        if series in (None, 0, "0") and not _is_ome_tiff(p):
            from fijax.io.tiff import read_tiff

            return read_tiff(p, title=title)
        kind = ".ome.tif"
    if kind not in READERS:
        raise InputError(f"{p.name}: unsupported image format {kind!r}; fijax reads {SUPPORTED}")
    img = _open_bioimage(p, kind)
    return _to_image(img, p, kind, title, series)


def series_names(path: str | os.PathLike) -> list[str]:
    """Names of the images ("series") in a file; a plain TIFF has one."""
    p = Path(path)
    kind = kind_of(p)
    if not p.exists():
        raise InputError(f"input file not found: {p}")
    if kind in (".tif", ".ome.tif", ".ome.tiff") and p.is_file():
        if not _is_ome_tiff(p):
            return [p.stem]
        kind = ".ome.tif"
    if kind not in READERS:
        raise InputError(f"{p.name}: unsupported image format {kind!r}; fijax reads {SUPPORTED}")
    return [str(s) for s in _open_bioimage(p, kind).scenes]


def series_info(path: str | os.PathLike) -> list[dict[str, Any]]:
    """Sizes of every series from the file's metadata (no pixels read): ``name``, ``X`` ``Y`` ``Z`` ``C`` ``T``,
    ``pixel_size`` (x, y, z in microns, 1.0 when unknown)."""
    p = Path(path)
    names = series_names(p)
    kind = kind_of(p)
    if kind in (".tif", ".ome.tif", ".ome.tiff") and p.is_file() and not _is_ome_tiff(p):
        img = read_image(p)
        sizes = dict(zip(img.axes, img.shape, strict=True))
        pz, py, px = img.pixel_size or (1.0, 1.0, 1.0)
        return [{"name": names[0], **{a: sizes.get(a, 1) for a in "XYZCT"}, "pixel_size": (px, py, pz)}]
    img = _open_bioimage(p, ".ome.tif" if kind == ".tif" else kind)
    out = []
    for i, name in enumerate(names):
        img.set_scene(i)
        dims = img.dims
        sizes = {a: int(getattr(dims, a, 1) or 1) for a in "XYZCT"}
        if "S" in dims.order and dims.S > 1 and sizes["C"] == 1:
            sizes["C"] = int(dims.S)
        pps = img.physical_pixel_sizes
        out.append({"name": name, **sizes, "pixel_size": (float(pps.X or 1.0), float(pps.Y or 1.0),
                                                          float(pps.Z or 1.0))})
    return out


def _is_ome_tiff(p: Path) -> bool:
    import tifffile

    try:
        with tifffile.TiffFile(p) as tif:
            return bool(tif.is_ome) and len(tif.series) > 0 and not tif.is_imagej
    except Exception:  # noqa: BLE001 - read_tiff reports unreadable files with a clear message
        return False


def _open_bioimage(p: Path, kind: str):
    module, package = READERS[kind]
    try:
        import importlib

        from bioio import BioImage

        reader = importlib.import_module(module).Reader
    except ImportError as exc:
        raise InputError(f"{p.name}: reading {kind} files needs the bioio reader plugin {package} "
                         f"(pip install bioio {package})") from exc
    try:
        return BioImage(str(p), reader=reader)
    except Exception as exc:  # noqa: BLE001 - readers raise many types on bad files
        raise InputError(f"{p.name}: not a readable {kind} file ({type(exc).__name__}: {exc})") from exc


def _check_declared_size(img, p: Path) -> None:
    """Refuse a series whose metadata declares more decoded bytes than allowed (before reading pixels)."""
    from fijax.io.tiff import check_decoded_size

    try:
        nbytes = int(np.prod([int(n) for n in img.shape], dtype=np.float64)) * np.dtype(img.dtype).itemsize
    except (AttributeError, TypeError, ValueError):  # a reader without shape/dtype metadata: nothing to check
        return
    files = [p] if p.is_file() else [q for q in p.rglob("*") if q.is_file()]
    check_decoded_size(p.name, nbytes, sum(q.stat().st_size for q in files))


def _to_image(img, p: Path, kind: str, title: str | None, series: int | str | None) -> Image:
    scenes = [str(s) for s in img.scenes]
    index = _series_index(p, scenes, series)
    try:
        if index != img.current_scene_index:
            img.set_scene(index)
        order = str(img.dims.order)
        _check_declared_size(img, p)
        data = np.asarray(img.data)
    except InputError:
        raise
    except Exception as exc:  # noqa: BLE001
        raise InputError(f"{p.name}: cannot read series {index} ({type(exc).__name__}: {exc})") from exc
    sizes = dict(zip(order, data.shape, strict=True))
    if "S" in order:
        if sizes["S"] > 1 and sizes.get("C", 1) > 1:
            raise InputError(f"{p.name}: images with both channels and RGB samples are not supported")
        if sizes["S"] > 1:  # RGB samples become channels
            if "C" in order:
                data = np.take(data, 0, axis=order.index("C"))
                order = order.replace("C", "")
            order = order.replace("S", "C")
        else:
            data = np.take(data, 0, axis=order.index("S"))
            order = order.replace("S", "")
    unknown = [a for a in order if a not in CANONICAL_AXES]
    for a in unknown:  # e.g. bioio's "M" (mosaic tiles) of size 1
        if data.shape[order.index(a)] != 1:
            raise InputError(f"{p.name}: dimension {a!r} of size {data.shape[order.index(a)]} is not supported")
        data = np.take(data, 0, axis=order.index(a))
        order = order.replace(a, "")
    perm = sorted(range(len(order)), key=lambda i: CANONICAL_AXES.index(order[i]))
    data = np.transpose(data, perm)
    order = "".join(order[i] for i in perm)
    keep = [i for i, a in enumerate(order) if a in "YX" or data.shape[i] > 1]
    data = data.reshape([data.shape[i] for i in keep])
    axes = "".join(order[i] for i in keep)
    pixel_size, unit = None, None
    pps = img.physical_pixel_sizes
    if pps is not None and (pps.X or pps.Y):
        px = float(pps.X or pps.Y)
        py = float(pps.Y or pps.X)
        pz = float(pps.Z) if pps.Z else 1.0
        pixel_size, unit = (pz, py, px), "micron"
    meta: dict[str, Any] = {"series": index, "series_name": scenes[index], "series_count": len(scenes),
                            "format": kind.lstrip(".")}
    try:
        names = img.channel_names
    except Exception:  # noqa: BLE001 - some readers cannot tell
        names = None
    if names and "C" in axes and len(names) == data.shape[axes.index("C")]:
        meta["channel_names"] = [str(n) for n in names]
    elif names and len(names) == 1:
        meta["channel_names"] = [str(names[0])]
    stem = p.name[: -len(kind)] if p.name.lower().endswith(kind) else p.stem
    if title is None:
        title = stem if len(scenes) == 1 else f"{stem} - {scenes[index]}"
    return Image(data=data, axes=axes, title=title, pixel_size=pixel_size, unit=unit, metadata=meta)


def _series_index(p: Path, scenes: list[str], series: int | str | None) -> int:
    if series is None:
        return 0
    listing = ", ".join(f"{i}: {s}" for i, s in enumerate(scenes))
    if isinstance(series, str) and not series.strip().lstrip("-").isdigit():
        if series in scenes:
            return scenes.index(series)
        raise InputError(f"{p.name}: no series named {series!r}; the file has {len(scenes)} series ({listing})")
    index = int(series)
    if not 0 <= index < len(scenes):
        raise InputError(f"{p.name}: no series {index}; the file has {len(scenes)} series ({listing}), "
                         "numbered from 0")
    return index


# -- writing ---------------------------------------------------------------------------------------

def write_image(path: str | os.PathLike, image: Image | np.ndarray) -> Path:
    """Write ``image`` in the format its name asks for: ``.ome.tif``, ``.ome.zarr``/``.zarr``, else ImageJ TIFF.

    Raises
    ------
    InputError
        For any other extension (the message lists the writable ones).
    """
    if not isinstance(image, Image):
        image = Image(np.asarray(image))
    kind = kind_of(path)
    if kind in (".ome.tif", ".ome.tiff"):
        return write_ome_tiff(path, image)
    if kind in (".ome.zarr", ".zarr"):
        return write_ome_zarr(path, image)
    if kind == ".tif":
        from fijax.io.tiff import write_tiff

        return write_tiff(path, image)
    raise InputError(f"{Path(path).name}: cannot write {kind!r} files; fijax writes .tif (ImageJ TIFF), "
                     ".ome.tif (OME-TIFF) and .ome.zarr (OME-Zarr)")


def _tczyx(image: Image) -> np.ndarray:
    """The pixels as a 5-D ``TCZYX`` array (OME order)."""
    data = image.data
    axes = image.axes
    for a in CANONICAL_AXES:
        if a not in axes:
            data = data[np.newaxis]
            axes = a + axes
    order = [axes.index(a) for a in "TCZYX"]
    return np.transpose(data, order)


def _channel_names(image: Image, n: int) -> list[str]:
    names = image.metadata.get("channel_names") if image.metadata else None
    if names and len(names) == n:
        return [str(x) for x in names]
    return [f"C{i}" for i in range(n)]


def _microns(image: Image) -> tuple[float, float, float] | None:
    """Pixel size (z, y, x) in microns, or None when uncalibrated or in an unknown unit."""
    if image.pixel_size is None:
        return None
    factor = {"micron": 1.0, "um": 1.0, "µm": 1.0, "microns": 1.0, "nm": 1e-3, "nanometer": 1e-3, "mm": 1e3,
              "m": 1e6}.get((image.unit or "").lower())
    if factor is None:
        return None
    return tuple(float(v) * factor for v in image.pixel_size)  # type: ignore[return-value]


def write_ome_tiff(path: str | os.PathLike, image: Image) -> Path:
    """Write an OME-TIFF (bioio's ``OmeTiffWriter``) with pixel sizes and channel names, atomically."""
    from bioio_base.types import PhysicalPixelSizes
    from bioio_ome_tiff.writers import OmeTiffWriter

    data = _tczyx(image)
    um = _microns(image)
    pps = PhysicalPixelSizes(Z=um[0], Y=um[1], X=um[2]) if um else None
    with atomic_path(path, suffix=".ome.tif") as tmp:
        tmp.unlink()
        OmeTiffWriter.save(data, str(tmp), dim_order="TCZYX", channel_names=_channel_names(image, data.shape[1]),
                           image_name=image.title, physical_pixel_sizes=pps)
    return Path(path)


def write_ome_zarr(path: str | os.PathLike, image: Image) -> Path:
    """Write a single-resolution OME-Zarr (NGFF, bioio's ``OMEZarrWriter``); replaces the folder atomically."""
    from bioio_ome_zarr.writers import Channel, OMEZarrWriter

    target = Path(path)
    data = _tczyx(image)
    um = _microns(image)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent))
    try:
        store = tmp / "image.zarr"
        writer = OMEZarrWriter(
            str(store), level_shapes=data.shape, dtype=data.dtype, zarr_format=2, image_name=image.title,
            axes_names=["t", "c", "z", "y", "x"], axes_types=["time", "channel", "space", "space", "space"],
            axes_units=[None, None, "micrometer" if um else None, "micrometer" if um else None,
                        "micrometer" if um else None],
            physical_pixel_size=[1.0, 1.0, *(um if um else (1.0, 1.0, 1.0))],
            channels=[Channel(label=n, color="FFFFFF") for n in _channel_names(image, data.shape[1])])
        writer.write_full_volume(data)
        old = None
        if target.exists():
            old = target.with_name(f".{target.name}.old")
            os.replace(target, old)
        os.replace(store, target)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target
