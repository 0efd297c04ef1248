"""Input checks shared by the QC kernels: every bad input becomes an :class:`InputError` naming the problem."""

from __future__ import annotations

from typing import Any

import numpy as np

from fijax.errors import InputError


def as_array(x: Any, name: str) -> np.ndarray:
    """Return ``x`` (array-like or :class:`fijax.io.Image`) as a NumPy array of a real numeric or bool dtype."""
    data = getattr(x, "data", x) if not isinstance(x, np.ndarray) else x
    try:
        arr = np.asarray(data)
    except Exception as exc:  # ragged lists and other non-arrays
        raise InputError(f"{name}: not an array ({exc})") from exc
    if arr.dtype == bool or np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating):
        return arr
    raise InputError(f"{name}: unsupported dtype {arr.dtype} (expected bool, integer or float pixels)")


def check_image_pair(reference: Any, image: Any, names: tuple[str, str] = ("reference", "image"),
                     min_ndim: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """Validate a pair of images for a restoration metric.

    Checks: numeric dtype, not empty, at least ``min_ndim`` dimensions, equal shapes, finite values.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        The two arrays, unchanged.
    """
    a = as_array(reference, names[0])
    b = as_array(image, names[1])
    for arr, name in ((a, names[0]), (b, names[1])):
        if arr.size == 0:
            raise InputError(f"{name} is empty (shape {arr.shape})")
        if arr.ndim < min_ndim:
            raise InputError(f"{name} must have at least {min_ndim} dimensions (Y, X), got shape {arr.shape}")
    if a.shape != b.shape:
        raise InputError(f"shape mismatch: {names[0]} has shape {a.shape}, {names[1]} has shape {b.shape}")
    check_finite(a, names[0])
    check_finite(b, names[1])
    return a, b


def check_finite(arr: np.ndarray, name: str) -> None:
    """Raise :class:`InputError` when a float array holds NaN or infinite values."""
    if np.issubdtype(arr.dtype, np.floating):
        # Fast path: a finite float64 sum proves every value finite (overflow only sends us on).
        if np.isfinite(arr.sum(dtype=np.float64)):
            return
        bad = arr.size - int(np.count_nonzero(np.isfinite(arr)))
        if bad:
            n_nan = int(np.count_nonzero(np.isnan(arr)))
            raise InputError(f"{name} contains {n_nan} NaN and {bad - n_nan} infinite value(s); "
                             "QC metrics need finite pixels")


def dtype_range(dtype: np.dtype) -> tuple[float, float]:
    """(min, max) of an integer or bool dtype, as scikit-image's ``dtype_range``."""
    if np.dtype(dtype) == np.bool_:
        return 0.0, 1.0
    info = np.iinfo(dtype)
    return float(info.min), float(info.max)


def resolve_data_range(a: np.ndarray, b: np.ndarray, data_range: float | None, metric: str) -> float:
    """Return the data range for SSIM: given, or the span of ``a``'s integer dtype.

    Float input without ``data_range`` is an error: inferring it is a classic source of wrong SSIM
    values (scikit-image < 0.20 silently used 2 for floats).
    """
    if data_range is None:
        if np.issubdtype(a.dtype, np.floating) or np.issubdtype(b.dtype, np.floating):
            raise InputError(f"{metric}: data_range is required for floating-point images "
                             f"(got {a.dtype} and {b.dtype}); pass the intensity span of the reference, "
                             "e.g. data_range=1.0 for images normalised to [0, 1]")
        lo, hi = dtype_range(a.dtype)
        return hi - lo
    return positive_range(data_range, metric)


def positive_range(data_range: float, metric: str) -> float:
    """Validate an explicit data range (finite, > 0)."""
    try:
        value = float(data_range)
    except (TypeError, ValueError):
        raise InputError(f"{metric}: data_range must be a number, got {data_range!r}") from None
    if not np.isfinite(value) or value <= 0:
        raise InputError(f"{metric}: data_range must be a finite number > 0, got {data_range!r}")
    return value


def as_stack(arr: np.ndarray) -> np.ndarray:
    """View an (..., Y, X) array as (N, Y, X) slices (N = 1 for a 2D image)."""
    return arr.reshape((-1,) + arr.shape[-2:])


def per_slice(values: np.ndarray, shape: tuple[int, ...]) -> float | np.ndarray:
    """A Python float for a 2D image, else an array shaped like the leading (slice) axes."""
    values = np.asarray(values, dtype=np.float64)
    if len(shape) == 2:
        return float(values.reshape(-1)[0])
    return values.reshape(shape[:-2])
