"""Tables (lists of row dicts) as CSV text, and values as strict JSON: one rule each."""

from __future__ import annotations

import csv
import io
import math
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np


def csv_text(rows: Iterable[Mapping[str, Any]], columns: Sequence[str] = (), *, extra: bool = True,
             fmt: Callable[[Any], Any] | None = None) -> str:
    """Return ``rows`` as CSV text (``\\n`` line ends, a header row).

    Parameters
    ----------
    rows : iterable of mapping
        One mapping per row; a key missing from a row leaves its cell blank.
    columns : sequence of str
        Columns that come first, in this order.
    extra : bool
        Add every other key after ``columns``, in first-seen order (default). ``False`` writes
        exactly ``columns`` (fixed file formats such as a training log).
    fmt : callable, optional
        Applied to every present value before writing (e.g. a number format).
    """
    rows = list(rows)
    cols = list(dict.fromkeys([*columns, *(k for row in rows for k in row)])) if extra else list(columns)
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=cols, restval="", extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: fmt(v) for k, v in row.items()} if fmt is not None else row)
    return buf.getvalue()


def jsonable(obj: Any) -> Any:
    """Convert ``obj`` to strict JSON types.

    Mappings (keys as text), sequences and sets, NumPy scalars and arrays and paths are converted;
    NaN becomes ``None`` (a missing value) and ±infinity the text ``"inf"``/``"-inf"`` (a result,
    e.g. the PSNR of identical images, that strict JSON cannot carry as a number); anything else
    becomes its ``str``.

    Examples
    --------
    >>> jsonable({"psnr": float("inf"), "ssim": np.float32(0.5), "n": np.int64(3), "x": float("nan")})
    {'psnr': 'inf', 'ssim': 0.5, 'n': 3, 'x': None}
    """
    if isinstance(obj, Mapping):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple | set):
        return [jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return jsonable(obj.tolist())
    if isinstance(obj, np.generic):
        return jsonable(obj.item())
    if isinstance(obj, float):
        if math.isfinite(obj):
            return obj
        return None if math.isnan(obj) else ("inf" if obj > 0 else "-inf")
    if isinstance(obj, bool | int | str) or obj is None:
        return obj
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    return str(obj)
