"""fijax: one JAX/Flax engine for Fiji/ImageJ macros, Java and Python.

Microscopy deep learning (CARE, Noise2Void, segmentation), a classical PURE-LET
denoising baseline and quality-control metrics, reachable from macros, the CLI,
an HTTP server and Python, with every result reproducible.
"""

__version__ = "0.1.0"
