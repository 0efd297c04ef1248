"""Macro function ``fijax.java_api.install``: how ``fijax.ij.FiJAX`` (the Java API) finds Python.

``FiJAX`` calls it through the installed transport on first use; see :mod:`fijax.bridge.java_api`.
"""

from __future__ import annotations

from fijax.bridge import java_api
from fijax.bridge.commands import macro_function


@macro_function("fijax.java_api.install")
def install_java_api() -> str:
    """Install the Python operation runner of ``fijax.ij.FiJAX``; returns ``"ok"``."""
    return java_api.install()
