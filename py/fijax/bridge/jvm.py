"""Start the one JVM of this process: jars from ``jars.txt``, the shim jar, headless ImageJ 1.x.

ImageJ 1.x is made headless by ij1-patcher: before any ``ij.*`` class is loaded, its
``LegacyInjector`` rewrites the ImageJ classes in the JVM's application class loader (the one JPype
uses), so ``run("Gaussian Blur...", "sigma=2")`` works without a display (menus are stubbed, dialogs
read their fields from the macro options). Javassist needs ``java.lang`` opened to define the
patched classes on Java 9+.

JPype cannot restart a JVM: the first call fixes jars, heap and options for the process.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from fijax.bridge import jars as jars_mod
from fijax.bridge import shim

log = logging.getLogger(__name__)

#: Default maximum heap; ``$FIJAX_JAVA_HEAP`` (e.g. ``"8g"``) or the ``heap`` argument override it.
DEFAULT_HEAP = "2g"

_lock = threading.RLock()


@dataclass
class JVMInfo:
    """What the running JVM was started with."""

    coords: list[str]
    classpath: list[Path]
    shim_jar: Path | None
    heap: str
    start_seconds: float
    imagej1_patched: bool
    options: list[str] = field(default_factory=list)


_info: JVMInfo | None = None


def info() -> JVMInfo | None:
    """Return how the JVM was started, or ``None`` before :func:`start`."""
    return _info


def start(heap: str | None = None, repositories: dict[str, str] | None = None,
          extra_classpath: list[Path] | None = None, patch_imagej1: bool = True) -> JVMInfo:
    """Start the JVM once (later calls return the first call's :class:`JVMInfo`).

    Parameters
    ----------
    heap : str, optional
        Maximum Java heap (``-Xmx``), e.g. ``"4g"``; default ``$FIJAX_JAVA_HEAP`` or ``"2g"``.
        More JVM options can be given in ``$FIJAX_JAVA_OPTIONS`` (space-separated).
    repositories : dict, optional
        Maven repositories (default Maven Central only); ``{}`` means none (offline start from
        the cache), also selected by ``$FIJAX_OFFLINE=1``.
    extra_classpath : list of Path, optional
        More jars/folders (e.g. a Fiji's jars for the PyImageJ backend).
    patch_imagej1 : bool
        Inject ij1-patcher's headless hooks (the ImageJ1 backend; PyImageJ's imagej-legacy does its
        own patching).
    """
    global _info
    with _lock:
        if _info is not None:
            return _info
        import jpype
        import scyjava
        import scyjava.config as sc

        if jpype.isJVMStarted():
            raise RuntimeError("a JVM was already started in this process outside fijax; "
                               "fijax must start it (JPype cannot restart a JVM)")
        t0 = time.perf_counter()
        if repositories is None and os.environ.get("FIJAX_OFFLINE", "") not in ("", "0"):
            repositories = {}
        coords = jars_mod.read_jars_txt()
        classpath = jars_mod.resolve(coords, repositories)
        shim_jar = shim.build_shim(classpath)
        # The jars are already resolved: hand scyjava a plain classpath so it does not call jgo again.
        sc.endpoints.clear()
        for p in [*classpath, shim_jar, *(extra_classpath or [])]:
            sc.add_classpath(str(p))
        heap = heap or os.environ.get("FIJAX_JAVA_HEAP") or DEFAULT_HEAP
        extra = os.environ.get("FIJAX_JAVA_OPTIONS", "").split()
        # Throughput GC unless the user picks one: G1 treats every large pixel array as a
        # "humongous" object, which made a 4096² float round trip ~1.5x slower in bench/bridge.py.
        gc = [] if any(o.startswith("-XX:+Use") and o.endswith("GC") for o in extra) else ["-XX:+UseParallelGC"]
        options = [
            "-Djava.awt.headless=true",
            f"-Xmx{heap}",
            *gc,
            "--add-opens=java.base/java.lang=ALL-UNNAMED",
            "-Dij.dir=" + str(jars_mod.jar_cache_dir()),
            *extra,
        ]
        sc.add_options(options)
        scyjava.start_jvm()
        patched = False
        if patch_imagej1:
            _patch_imagej1()
            patched = True
        # Registered after scyjava's own handler, so this runs first (atexit is LIFO).
        atexit.register(shutdown)
        _info = JVMInfo(coords=coords, classpath=classpath, shim_jar=shim_jar, heap=heap,
                        start_seconds=time.perf_counter() - t0, imagej1_patched=patched, options=options)
        log.debug("JVM started in %.2f s", _info.start_seconds)
        return _info


_hooks = None


def hooks():
    """The installed ``fijax.ij.FijaxHooks`` (log capture), or ``None`` when not patched."""
    return _hooks


def _patch_imagej1() -> None:
    global _hooks
    import jpype

    ClassLoader = jpype.JClass("java.lang.ClassLoader")
    Injector = jpype.JClass("net.imagej.patcher.LegacyInjector")
    loader = ClassLoader.getSystemClassLoader()
    injector = Injector()
    # The window-less ROI Manager patches touch classes ij1-patcher also rewrites: hand them to it.
    jpype.JClass("net.imagej.patcher.FijaxPatches").register(injector)
    injector.injectHooks(loader, True)
    # Our own headless fixes (e.g. Measure keeping earlier Results rows), before ImageJ loads them.
    jpype.JClass("fijax.ij.HeadlessFixes").apply(loader)
    _hooks = jpype.JClass("fijax.ij.FijaxHooks")()
    Injector.installHooks(loader, _hooks)


def shutdown() -> None:
    """Stop ImageJ's worker threads so the process can exit (runs at exit).

    ImageJ 1.x filters (Median, Gaussian Blur, ...) run on ``ij.util.ThreadUtil``'s thread pool,
    whose threads are not daemons: left alone they keep ``DestroyJavaVM`` (and so Python) waiting
    forever. The pool is shut down; a non-daemon thread that still lingers after a grace period
    makes the JVM halt (a last resort that cannot carry Python's exit status, hence logged).
    """
    import jpype

    if not jpype.isJVMStarted():
        return
    try:
        Interpreter = jpype.JClass("ij.macro.Interpreter")
        Interpreter.abort()
    except Exception:  # noqa: BLE001 - best effort during exit
        pass
    try:
        pool = jpype.JClass("ij.util.ThreadUtil").threadPoolExecutor
        pool.shutdownNow()
        pool.awaitTermination(2000, jpype.JClass("java.util.concurrent.TimeUnit").MILLISECONDS)
    except Exception:  # noqa: BLE001
        pass
    lingering = _lingering_threads()
    deadline = time.monotonic() + 3.0
    while lingering and time.monotonic() < deadline:
        time.sleep(0.1)
        lingering = _lingering_threads()
    if lingering:
        import sys

        log.warning("halting the JVM: non-daemon threads would keep the process alive: %s",
                    ", ".join(str(t.getName()) for t in lingering))
        sys.stdout.flush()
        sys.stderr.flush()
        jpype.JClass("java.lang.Runtime").getRuntime().halt(0)


def _lingering_threads() -> list:
    import jpype

    try:
        Thread = jpype.JClass("java.lang.Thread")
        current = Thread.currentThread()
        return [t for t in Thread.getAllStackTraces().keySet()
                if t.isAlive() and not t.isDaemon() and t != current
                and str(t.getName()) not in ("DestroyJavaVM", "main")]
    except Exception:  # noqa: BLE001
        return []
