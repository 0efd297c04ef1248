"""Everything JVM: jars from Maven Central, ImageJ backends, numpy<->ImagePlus, macro commands.

>>> from fijax.bridge import imagej
>>> ij = imagej()                       # starts the JVM once per process
>>> res = ij.run_macro('run("Gaussian Blur...", "sigma=2");', inputs={"blobs": image})
>>> res.images["blobs"].data

See ``docs/bridge.md``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fijax.bridge.backend import Backend, ImageJ1, MacroResult, PyImageJ, imagej

__all__ = ["Backend", "ImageJ1", "MacroResult", "PyImageJ", "imagej"]


def __getattr__(name: str) -> Any:
    # the backends pull in JPype and NumPy: import them on first use, so that ``fijax.bridge.jars``
    # (``fijax info --no-jvm``, ``fijax setup``) stays light
    if name in __all__:
        from fijax.bridge import backend

        return getattr(backend, name)
    raise AttributeError(f"module 'fijax.bridge' has no attribute {name!r}")
