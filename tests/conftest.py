"""Fixtures shared by every test area.

``ij`` is the one ImageJ backend of the test run (JPype cannot start a second JVM in a process):
ImageJ 1.x headless from ``jars.txt``, with the shim jar and every FiJAX command registered. Tests
that need a JVM take ``ij``; the JVM starts on first use and is reused by all later tests.

Jars are cached outside the per-test ``FIJAX_HOME`` folders: ``FIJAX_JAR_CACHE`` is pinned at import
time to the cache of the real home, so subprocesses and tests with a private home reuse it.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

if not os.environ.get("FIJAX_JAR_CACHE"):
    _home = Path(os.environ.get("FIJAX_HOME") or Path.home() / ".fijax").expanduser()
    os.environ["FIJAX_JAR_CACHE"] = str(_home / "jvm")


@pytest.fixture(scope="session")
def ij():
    """The shared ImageJ backend (starts the JVM once); skipped when no JDK is installed."""
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        pytest.skip("needs a Java runtime (JDK 11+)")
    from fijax.bridge import imagej

    backend = imagej("imagej1")
    yield backend
    backend.close_all()
