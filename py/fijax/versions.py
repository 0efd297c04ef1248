"""Versions of fijax and the libraries it depends on, recorded with every model and result."""

from __future__ import annotations

import importlib.metadata
import platform
import sys

_LIBRARIES = (
    "jax", "jaxlib", "flax", "optax", "numpy", "scipy", "scikit-image", "tifffile",
    "pydantic", "JPype1", "scyjava", "dask", "distributed", "fastapi",
)


def library_versions() -> dict[str, str]:
    """Return ``{name: version}`` for fijax, Python and each installed dependency."""
    from fijax import __version__

    out = {"fijax": __version__, "python": sys.version.split()[0], "platform": platform.platform()}
    for name in _LIBRARIES:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return out


def jar_coordinates() -> list[str]:
    """Return the Maven coordinates the JVM side is built from (``jars.txt``)."""
    from fijax.bridge.jars import read_jars_txt

    return read_jars_txt()
