"""Fill the persistent compilation cache for common shapes (``fijax setup --warm``, ``fijax serve``).

Runs the kernels of the everyday calls (PURE-LET at its default options, the QC metrics with and
without maps) once on synthetic data of each shape, so that the compiled programs are on disk
before a user's first call. PURE-LET shapes are bucketed and the number of cycle spins is traced,
so one square per bucket covers most images; the QC kernels are compiled per exact shape.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable

import numpy as np

from fijax import compile_cache
from fijax.errors import InputError

#: Default shapes warmed by ``fijax setup --warm``.
DEFAULT_SHAPES: tuple[tuple[int, int], ...] = ((256, 256), (512, 512), (1024, 1024))


def parse_shape(text: str) -> tuple[int, int]:
    """Parse ``"512"`` or ``"600x800"`` (rows x columns) into a shape."""
    parts = text.lower().replace("×", "x").split("x")
    try:
        dims = [int(p) for p in parts]
    except ValueError:
        raise InputError(f"bad shape {text!r}: expected N or ROWSxCOLS, e.g. 512 or 600x800") from None
    if len(dims) == 1:
        dims = dims * 2
    if len(dims) != 2 or min(dims) < 16 or max(dims) > 16384:
        raise InputError(f"bad shape {text!r}: two sides from 16 to 16384 pixels")
    return dims[0], dims[1]


def warmed_shapes() -> list[tuple[int, int]]:
    """Shapes warmed before with this cache (``warmed.json`` in the cache folder); ``[]`` if none."""
    folder = compile_cache.cache_dir()
    try:
        return [(int(a), int(b)) for a, b in json.loads((folder / "warmed.json").read_text())] if folder else []
    except (OSError, ValueError, TypeError):
        return []


def _remember(shapes: Iterable[tuple[int, int]]) -> None:
    from fijax.io.atomic import atomic_write_text

    folder = compile_cache.cache_dir()
    if folder is None:
        return
    known = sorted(set(warmed_shapes()) | {tuple(s) for s in shapes})
    try:
        atomic_write_text(folder / "warmed.json", json.dumps([list(s) for s in known]))
    except OSError:
        pass  # only a hint for the server's start


def warm(shapes: Iterable[tuple[int, int]] = DEFAULT_SHAPES, *, puredenoise: bool = True, qc: bool = True,
         report: Callable[[str], None] | None = None) -> list[dict]:
    """Compile (or load) the everyday kernels for each shape; return one row per kernel and shape.

    Returns
    -------
    list of dict
        ``{"kernel", "shape", "seconds", "compiled", "loaded"}``: compiled and loaded count the
        persistent-cache misses and hits of that step.
    """
    from fijax.classical.puredenoise import puredenoise as _puredenoise
    from fijax.qc.restoration import restoration_metrics

    shapes = [tuple(s) for s in shapes]
    compile_cache.enable()
    counter = compile_cache.CompileCounter.install()
    rows = []
    rng = np.random.default_rng(0)
    for shape in shapes:
        clean = rng.uniform(0, 20, shape)
        raw = (rng.poisson(clean) + rng.normal(0, 1, shape)).astype(np.float32)
        steps: list[tuple[str, Callable[[], object]]] = []
        if puredenoise:
            steps.append(("puredenoise", lambda raw=raw: _puredenoise(raw, alpha=1.0, delta=0.0, sigma=1.0)))
        if qc:
            gt = clean.astype(np.float32)
            steps.append(("qc", lambda gt=gt, raw=raw: (restoration_metrics(gt, raw, maps=True),
                                                        restoration_metrics(gt, raw, maps=False))))
        for name, step in steps:
            hits, misses, t0 = counter.hits, counter.misses, time.perf_counter()
            step()
            row = {"kernel": name, "shape": list(shape), "seconds": round(time.perf_counter() - t0, 2),
                   "compiled": counter.misses - misses, "loaded": counter.hits - hits}
            rows.append(row)
            if report is not None:
                report(f"warm: {name} {shape[0]}x{shape[1]}: {row['seconds']:.1f} s "
                       f"({row['compiled']} compiled, {row['loaded']} loaded from the cache)")
    if puredenoise and qc:
        _remember(shapes)
    return rows
