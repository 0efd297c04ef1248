"""Versions of fijax, the libraries and the jars it depends on, recorded with every model and result.

A ground-floor module: it imports only :mod:`fijax.errors` and :mod:`fijax.paths`, so the engine can
record the jar coordinates (``jars.txt``) without reaching the bridge, which resolves them.
"""

from __future__ import annotations

import importlib.metadata
import os
import platform
import sys
from importlib import resources
from pathlib import Path

from fijax import __version__
from fijax.errors import InputError
from fijax.paths import project_root

_LIBRARIES = (
    "jax", "jaxlib", "flax", "optax", "numpy", "scipy", "scikit-image", "tifffile",
    "pydantic", "JPype1", "scyjava", "dask", "distributed", "fastapi",
)


def library_versions() -> dict[str, str]:
    """Return ``{name: version}`` for fijax, Python and each installed dependency."""
    out = {"fijax": __version__, "python": sys.version.split()[0], "platform": platform.platform()}
    for name in _LIBRARIES:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return out


def jar_coordinates() -> list[str]:
    """Return the Maven coordinates the JVM side is built from (``jars.txt``).

    Raises
    ------
    InputError
        When ``jars.txt`` is malformed (a broken file is never silently recorded as "no jars").
    """
    return read_jars_txt()


#: Coordinates used when neither a checkout's ``jars.txt`` nor a packaged copy is found.
DEFAULT_JARS = ("net.imagej:ij:1.54p", "net.imagej:ij1-patcher:2.0.0")


def jars_txt_path() -> Path | None:
    """Return the ``jars.txt`` in use: ``$FIJAX_JARS_TXT``, else the source checkout's, else ``None``."""
    env = os.environ.get("FIJAX_JARS_TXT")
    if env:
        return Path(env)
    root = project_root()
    return root / "jars.txt" if root else None


def parse_jars_txt(text: str) -> list[str]:
    """Parse ``groupId:artifactId:version`` lines (``#`` comments and blank lines ignored).

    Raises
    ------
    InputError
        When a line is not a pinned coordinate (``RELEASE``/``LATEST`` would need the network at
        every start).
    """
    coords = []
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.split(":")
        if len(parts) not in (3, 4, 5) or not all(parts):
            raise InputError(f"jars.txt line {n}: expected groupId:artifactId:version, got {line!r}")
        if parts[-1].upper() in ("RELEASE", "LATEST", "MANAGED"):
            raise InputError(f"jars.txt line {n}: pin a version instead of {parts[-1]!r}")
        coords.append(line)
    if not coords:
        raise InputError("jars.txt lists no Maven coordinates")
    return coords


def read_jars_txt(path: str | os.PathLike | None = None) -> list[str]:
    """Return the Maven coordinates of the JVM side (``jars.txt``, or the built-in default)."""
    path = Path(path) if path else jars_txt_path()
    if path is None or not path.is_file():
        try:
            text = resources.files("fijax").joinpath("data/jars.txt").read_text()
        except (FileNotFoundError, ModuleNotFoundError):
            return list(DEFAULT_JARS)
        return parse_jars_txt(text)
    return parse_jars_txt(path.read_text())
