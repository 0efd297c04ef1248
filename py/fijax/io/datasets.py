"""TIFF datasets: finding the TIFF files of a folder and pairing two sets of images, one rule each.

Finding (:func:`find_tiffs`): a file is taken as given; a folder contributes its regular files
ending in ``.tif``/``.tiff`` (any case), sorted by name, hidden files (``.name``) left out; a folder
without any is an error.

Pairing (:func:`pair_by_name`), used wherever two sets meet (QC ground truth and predictions,
training sources and targets, held-out test folders, denoiser comparisons): images pair by file
name without its TIFF extension (:func:`tiff_stem`). Every image of the reference side needs a
partner of the same name; partners without a reference image are left out. When each side holds
exactly one image, the two pair whatever their names.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TypeVar

from fijax.errors import InputError

#: File name endings of TIFF files (compared in lower case).
TIFF_SUFFIXES = (".tif", ".tiff")

_STEM_SUFFIXES = (".ome.tiff", ".ome.tif", ".tiff", ".tif")

T = TypeVar("T")


def tiff_stem(path: str | os.PathLike) -> str:
    """Return a file's name without its TIFF extension (``a.ome.tif`` -> ``a``; others: without suffix)."""
    name = Path(path).name
    for ext in _STEM_SUFFIXES:
        if name.lower().endswith(ext):
            return name[: -len(ext)]
    return Path(name).stem


def expand_paths(paths: str | os.PathLike | Iterable[str | os.PathLike], accept: Callable[[Path], bool], *,
                 empty: str, missing: str, whole: Callable[[Path], bool] | None = None) -> list[Path]:
    """Files named by ``paths``, in order: a file stays, a folder gives its accepted files (sorted).

    ``whole(folder)`` marks folders that are one image themselves (e.g. OME-Zarr). Hidden files are
    left out. ``empty`` and ``missing`` are the messages (``{path}`` filled in) of the
    :class:`InputError` for a folder without accepted files and for a path that does not exist.
    """
    items = [paths] if isinstance(paths, str | os.PathLike) else list(paths)
    out: list[Path] = []
    for item in items:
        path = Path(item)
        if path.is_dir() and whole is not None and whole(path):
            out.append(path)
        elif path.is_dir():
            found = sorted(p for p in path.iterdir() if accept(p) and not p.name.startswith("."))
            if not found:
                raise InputError(empty.format(path=path))
            out.extend(found)
        elif path.is_file():
            out.append(path)
        else:
            raise InputError(missing.format(path=path))
    return out


def find_tiffs(paths: str | os.PathLike | Iterable[str | os.PathLike], role: str = "input") -> list[Path]:
    """Return the TIFF files named by ``paths`` (files, or folders of TIFFs), in order.

    Raises
    ------
    InputError
        A path that does not exist, or a folder holding no TIFF file; the message starts with ``role``.
    """
    return expand_paths(paths, lambda p: p.suffix.lower() in TIFF_SUFFIXES and p.is_file(),
                        empty=f"{role}: no .tif/.tiff files in folder {{path}}",
                        missing=f"{role}: no such file or folder: {{path}}")


def tiffs_by_name(paths: str | os.PathLike | Iterable[str | os.PathLike], role: str = "input") -> dict[str, Path]:
    """Return :func:`find_tiffs` keyed by :func:`tiff_stem`.

    Raises
    ------
    InputError
        Also when two files share a name (``a.tif`` and ``a.tiff``, or one name in two folders).
    """
    out: dict[str, Path] = {}
    for path in find_tiffs(paths, role):
        stem = tiff_stem(path)
        if stem in out:
            raise InputError(f"{role}: two files named {stem!r} ({out[stem]} and {path})")
        out[stem] = path
    return out


def pair_by_name(reference: Mapping[str, object], other: Mapping[str, T], role: str,
                 reference_role: str = "GT") -> dict[str, T]:
    """Return ``other`` keyed and ordered like ``reference`` (the pairing rule of this module).

    Raises
    ------
    InputError
        When an image of ``reference`` has no partner of the same name in ``other``.

    Examples
    --------
    >>> pair_by_name({"a": 1, "b": 2}, {"b": "B", "a": "A", "c": "C"}, "prediction")
    {'a': 'A', 'b': 'B'}
    >>> pair_by_name({"gt": 1}, {"pred": "P"}, "prediction")
    {'gt': 'P'}
    """
    if len(reference) == 1 and len(other) == 1:
        return {next(iter(reference)): next(iter(other.values()))}
    missing = [n for n in reference if n not in other]
    if missing:
        shown = ", ".join(missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
        raise InputError(f"{role}: no file with the same name as {reference_role} image(s) {shown}")
    return {n: other[n] for n in reference}
