"""Everything JVM: jars from Maven Central, ImageJ backends, numpy<->ImagePlus, macro commands.

>>> from fijax.bridge import imagej
>>> ij = imagej()                       # starts the JVM once per process
>>> res = ij.run_macro('run("Gaussian Blur...", "sigma=2");', inputs={"blobs": image})
>>> res.images["blobs"].data

See ``docs/bridge.md``.
"""

from fijax.bridge.backend import Backend, ImageJ1, MacroResult, PyImageJ, imagej

__all__ = ["Backend", "ImageJ1", "MacroResult", "PyImageJ", "imagej"]
