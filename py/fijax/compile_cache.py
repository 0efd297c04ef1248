"""Persistent compilation cache: compiled XLA programs reused across processes.

Most of a cold fijax call is XLA compilation, redone by every process unless kept on disk.
:func:`enable` points JAX's persistent compilation cache at ``$FIJAX_HOME/jax-cache`` with a
size cap (least recently used entries evicted), so a second process loads the executables
instead of compiling them. Every face (CLI, server, macros through the bridge, batch workers)
enables it through :class:`fijax.ops.Operation`; library users call :func:`enable` themselves.

Settings (environment):

``FIJAX_COMPILE_CACHE``
    ``0``/``off``/``false`` disables the cache; a path moves it (default ``$FIJAX_HOME/jax-cache``).
``FIJAX_COMPILE_CACHE_MAX``
    Size cap in bytes, with an optional ``K``/``M``/``G`` suffix (default ``2G``).

A cache that cannot be used (not writable, corrupt or truncated entries, a full disk) costs a
recompilation and a warning, never an error: JAX itself turns failed reads and writes of
entries into warnings, and :func:`enable` warns and leaves the cache off when its folder cannot
be created.

This module imports JAX only when JAX is already imported; otherwise it sets JAX's
``JAX_COMPILATION_CACHE_*`` environment variables, which JAX reads when it is imported (and
which child processes such as batch workers inherit; they call :func:`enable` again for their
own ``$FIJAX_HOME``).
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
import sys
import warnings
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from fijax.paths import fijax_home

#: Default size cap of the cache folder.
DEFAULT_MAX_BYTES = 2 << 30
#: Compilations faster than this are not written (JAX's default is 1 s; the QC kernels take less).
MIN_COMPILE_SECS = 0.0
_OFF = ("0", "off", "false", "no", "")
#: Environment variable set by fijax so that a child process knows the JAX settings are fijax's own.
_OWNER = "FIJAX_OWNS_JAX_CACHE_ENV"


class CompileCacheWarning(UserWarning):
    """The compilation cache could not be used; fijax runs on, compiling as if there were none."""


def parse_size(text: str) -> int:
    """Parse ``"512M"``, ``"2G"``, ``"1048576"`` into bytes.

    Raises
    ------
    ValueError
        For anything else.
    """
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kKmMgGtT]?)[bB]?\s*", text)
    if not m:
        raise ValueError(f"not a size: {text!r} (expected e.g. 512M or 2G)")
    scale = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}[m.group(2).lower()]
    return int(float(m.group(1)) * scale)


def cache_dir() -> Path | None:
    """Return the cache folder, or ``None`` when ``FIJAX_COMPILE_CACHE`` turns the cache off."""
    setting = os.environ.get("FIJAX_COMPILE_CACHE")
    if setting is not None and setting.strip().lower() in _OFF:
        return None
    if setting and setting.strip().lower() not in ("1", "on", "true", "yes"):
        return Path(setting).expanduser()
    return fijax_home() / "jax-cache"


def max_bytes() -> int:
    """Return the size cap (``FIJAX_COMPILE_CACHE_MAX``; a bad value warns and uses the default)."""
    text = os.environ.get("FIJAX_COMPILE_CACHE_MAX")
    if not text:
        return DEFAULT_MAX_BYTES
    try:
        return max(parse_size(text), 1)
    except ValueError as exc:
        warnings.warn(f"FIJAX_COMPILE_CACHE_MAX: {exc}; using {DEFAULT_MAX_BYTES} bytes", CompileCacheWarning,
                      stacklevel=2)
        return DEFAULT_MAX_BYTES


def _usable(path: Path) -> str | None:
    """Return why ``path`` cannot hold the cache, or ``None`` when it can."""
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / f".probe-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


_enabled: Path | None = None


def enable() -> Path | None:
    """Turn the persistent compilation cache on for this process (idempotent); return its folder.

    Returns ``None`` (and warns with :class:`CompileCacheWarning` when it was wanted) when the
    cache is off or its folder is unusable.
    """
    global _enabled
    path = cache_dir()
    if path is None:
        _set_jax(None, 0)
        return None
    path = path.resolve()
    if path == _enabled:
        return path
    problem = _usable(path)
    if problem is not None:
        warnings.warn(f"compilation cache {path} is not usable ({problem}); compiling without it",
                      CompileCacheWarning, stacklevel=2)
        _set_jax(None, 0)
        return None
    _sweep(path)
    _set_jax(path, max_bytes())
    _enabled = path
    return path


#: How JAX's entries start: zstd frames, or zlib streams when no zstd module is installed.
_MAGICS = (b"\x28\xb5\x2f\xfd", b"\x78\x01", b"\x78\x5e", b"\x78\x9c", b"\x78\xda")


def _sweep(path: Path) -> None:
    """Delete entries that cannot be compressed executables (JAX never overwrites an entry).

    JAX warns and recompiles on an unreadable entry but keeps the file, so a corrupt entry
    would cost a compilation in every later process; its first bytes tell garbage apart.
    """
    try:
        files = [p for p in path.iterdir() if p.name.endswith("-cache")]
    except OSError:
        return
    for p in files:
        try:
            with p.open("rb") as fh:
                head = fh.read(4)
            if any(head.startswith(m) for m in _MAGICS):
                continue
            p.unlink()
            atime = p.with_name(p.name[: -len("-cache")] + "-atime")
            if atime.exists():
                atime.unlink()
        except OSError:
            continue
        warnings.warn(f"removed corrupt compilation cache entry {p.name}", CompileCacheWarning, stacklevel=3)


def _set_jax(path: Path | None, cap: int) -> None:
    """Point JAX at ``path`` (``None``: off), directly when JAX is imported, else through its environment."""
    env = {"JAX_COMPILATION_CACHE_DIR": str(path) if path else None,
           "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": str(MIN_COMPILE_SECS) if path else None,
           "JAX_COMPILATION_CACHE_MAX_SIZE": str(cap) if path else None}
    if path is None and os.environ.get(_OWNER) != "1" and os.environ.get("JAX_COMPILATION_CACHE_DIR"):
        return  # the user's own JAX cache setting; fijax's "off" only covers fijax's folder
    if path is not None and os.environ.get("JAX_COMPILATION_CACHE_DIR") and os.environ.get(_OWNER) != "1":
        return  # the user chose a JAX cache folder explicitly: keep it
    for key, value in env.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    os.environ[_OWNER] = "1"
    if "jax" not in sys.modules:
        return  # JAX reads the variables above when it is imported
    import jax
    from jax._src import compilation_cache as _jcc

    current = jax.config.jax_compilation_cache_dir
    jax.config.update("jax_compilation_cache_dir", str(path) if path else None)
    if path is not None:
        jax.config.update("jax_persistent_cache_min_compile_time_secs", MIN_COMPILE_SECS)
        jax.config.update("jax_compilation_cache_max_size", cap)
    if current != (str(path) if path else None):
        _jcc.reset_cache()  # JAX opens its cache once per process; reopen it at the new folder


def entries(path: Path | None = None) -> list[Path]:
    """Return the cached executables in ``path`` (default: the current cache folder)."""
    path = path or cache_dir()
    if path is None or not path.is_dir():
        return []
    return sorted(p for p in path.iterdir() if p.name.endswith("-cache"))


class CompileCounter:
    """Count JAX's persistent-cache events (hits, misses) in this process, from JAX's monitoring events.

    >>> counter = CompileCounter.install()
    >>> counter.hits, counter.misses  # doctest: +SKIP
    """

    _instance: CompileCounter | None = None

    def __init__(self) -> None:
        self.hits = 0
        self.misses = 0
        self.requests = 0

    def _event(self, name: str, **_: object) -> None:
        if name == "/jax/compilation_cache/cache_hits":
            self.hits += 1
        elif name == "/jax/compilation_cache/cache_misses":
            self.misses += 1
        elif name == "/jax/compilation_cache/compile_requests_use_cache":
            self.requests += 1

    @classmethod
    def install(cls) -> CompileCounter:
        """Return the process-wide counter, registering it with JAX's monitoring on first use."""
        if cls._instance is None:
            from jax._src import monitoring

            cls._instance = cls()
            monitoring.register_event_listener(cls._instance._event)
        return cls._instance


_kernels: dict[str, Callable] = {}


def _sources_digest(sources: Sequence[str | os.PathLike]) -> str:
    h = hashlib.sha256()
    for src in sources:
        h.update(Path(src).read_bytes())
    return h.hexdigest()


@functools.lru_cache(maxsize=64)
def _digest_cached(sources: tuple[str, ...]) -> str:
    return _sources_digest(sources)


def exported_kernel(name: str, fn: Callable, args: Sequence[Any], statics: Mapping[str, Any],
                    sources: Sequence[str | os.PathLike]) -> Callable:
    """Return a compiled-on-demand callable of ``fn(*args, **statics)`` that skips Python tracing when it can.

    A persistent cache keeps executables, but JAX still traces and lowers the Python function
    in every process before it can look them up; for a kernel like PURE-LET that is seconds.
    This keeps the lowered program itself (``jax.export``'s serialized StableHLO, a stable and
    versioned format) under ``<cache>/export``, keyed by ``name``, the static arguments, the
    shapes and dtypes of ``args``, the JAX version and platform and the contents of ``sources``
    (the files that define the kernel, so an edited kernel is never served stale). A later
    process deserializes it in milliseconds; its compilation then hits the executable cache.

    Parameters
    ----------
    name : str
        Kernel name (file name prefix).
    fn : callable
        The kernel, jittable, with ``statics`` as keyword arguments.
    args : sequence of arrays
        Example positional arguments (only shapes and dtypes are used).
    statics : mapping
        Static keyword arguments (hashable values with a stable ``repr``).
    sources : sequence of paths
        Source files whose contents define the kernel.

    Returns
    -------
    callable
        Call it with arrays shaped like ``args``.
    """
    import jax
    from jax import export

    specs = [jax.ShapeDtypeStruct(np_shape(a), np_dtype(a)) for a in args]
    folder = enable()
    jitted = jax.jit(functools.partial(fn, **statics))
    if folder is None:
        return jitted
    digest = _digest_cached(tuple(str(s) for s in sources))
    material = repr((name, sorted((k, repr(v)) for k, v in statics.items()),
                     [(tuple(s.shape), str(s.dtype)) for s in specs], jax.__version__,
                     jax.default_backend(), bool(jax.config.jax_enable_x64), digest))
    key = hashlib.sha256(material.encode()).hexdigest()[:40]
    memo = f"{folder}/{key}"
    if memo in _kernels:
        return _kernels[memo]
    path = folder / "export" / f"{name}-{key}.stablehlo"
    exp = None
    if path.is_file():
        try:
            exp = export.deserialize(bytearray(path.read_bytes()))
        except Exception as exc:  # noqa: BLE001 - any corrupt entry is only a cache miss
            warnings.warn(f"ignoring unreadable compiled-kernel entry {path.name} "
                          f"({type(exc).__name__}: {exc}); rebuilding it", CompileCacheWarning, stacklevel=2)
            exp = None
    if exp is None:
        exp = export.export(jitted)(*specs)
        try:
            from fijax.io.atomic import atomic_write_bytes

            path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_bytes(path, exp.serialize())
        except Exception as exc:  # noqa: BLE001 - an unwritable folder or a missing serializer only costs speed
            warnings.warn(f"could not store compiled kernel {path.name} ({type(exc).__name__}: {exc})",
                          CompileCacheWarning, stacklevel=2)
    call = jax.jit(exp.call)
    _kernels[memo] = call
    return call


def np_shape(a: Any) -> tuple[int, ...]:
    """Shape of an array-like (NumPy/JAX array or scalar)."""
    return tuple(getattr(a, "shape", ()))


def np_dtype(a: Any) -> Any:
    """Dtype of an array-like, as JAX would canonicalize it."""
    import jax.numpy as jnp

    return jnp.asarray(a).dtype if not hasattr(a, "dtype") else a.dtype
