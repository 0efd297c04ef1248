"""Unnormalized Haar transform, padding and level rule of the PureDenoise (PURE-LET) method.

Analysis along one axis maps pairs ``(a, b)`` to ``s = a + b`` and ``d = a - b``; synthesis
is ``a = (s + d) / 2``, ``b = (s - d) / 2``. Unnormalized sums keep Poisson statistics in
the lowpass, which the PURE risk estimate relies on. Every level's lowpass is kept: the
LET thresholds of a detail subband use the lowpass of the same level.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import jax.numpy as jnp
import numpy as np

from fijax.errors import InputError

#: Padded sizes are multiples of this (the plugin's rule).
BLOCK = 16


def pad_widths(n: int) -> tuple[int, int]:
    """Return ``(before, after)`` padding that takes ``n`` to the next multiple of 16, centred."""
    total = (-n) % BLOCK
    return total // 2, total - total // 2


def bucket_side(n: int) -> int:
    """Return the padded side of a frame side ``n`` when shapes are bucketed.

    Multiples of 16 up to 128, then ``{8, 10, 12, 14} * 2**k`` (128, 160, 192, 224, 256, 320,
    ...): at most 25 % padding per axis, and a handful of compiled programs for all the sizes a
    microscope produces instead of one per multiple of 16.
    """
    base = n + (-n) % BLOCK
    if base <= 128:
        return base
    k = (base - 1).bit_length() - 4  # 8 * 2**k < base <= 16 * 2**k
    for m in (8, 10, 12, 14, 16):
        if m << k >= base:
            return m << k
    raise AssertionError("unreachable")  # pragma: no cover


def pad_frames(stack: np.ndarray, shape: tuple[int, int] | None = None) -> tuple[np.ndarray, tuple[slice, slice]]:
    """Mirror-pad (half-sample symmetric) the last two axes, centred.

    To ``shape`` when given (each side at least the frame's), else to the next multiples of 16
    (the plugin's rule). Returns the padded array and the slices that crop it back.
    """
    ny, nx = stack.shape[-2:]
    ty, tx = shape if shape is not None else (ny + (-ny) % BLOCK, nx + (-nx) % BLOCK)
    if ty < ny or tx < nx:
        raise InputError(f"cannot pad a {ny}x{nx} frame to {ty}x{tx}")
    py0, px0 = (ty - ny) // 2, (tx - nx) // 2
    widths = [(0, 0)] * (stack.ndim - 2) + [(py0, ty - ny - py0), (px0, tx - nx - px0)]
    padded = np.pad(stack, widths, mode="symmetric")
    return padded, (slice(py0, py0 + ny), slice(px0, px0 + nx))


def _halvings(n: int) -> int:
    count = 0
    while n % 2 == 0 and n > 1:
        n //= 2
        count += 1
    return count


def level_counts(ny: int, nx: int) -> tuple[int, int]:
    """Return the numbers of decomposition levels ``(Jy, Jx)`` for a padded ``ny x nx`` frame.

    ``J = clip(floor(log2(N / 16)), 0, halvings(N))`` per axis, then levels are added (x
    first) while the coarsest lowpass keeps at least 512 coefficients, so it ends with
    roughly 256 to 511 coefficients, as the plugin does.
    """
    if ny % BLOCK or nx % BLOCK:
        raise InputError(f"padded frame {ny}x{nx} is not a multiple of {BLOCK}")
    jx = min(max(int(math.floor(math.log2(nx / BLOCK))), 0), _halvings(nx))
    jy = min(max(int(math.floor(math.log2(ny / BLOCK))), 0), _halvings(ny))
    if max(jx, jy) > 0:
        res = nx * ny / 2 ** (jx + jy)
        while res >= 512:
            if (nx >> jx) % 2 == 0:
                jx += 1
            elif (ny >> jy) % 2 == 0:
                jy += 1
            else:
                break
            res /= 2
    return jy, jx


@dataclass(frozen=True)
class Band:
    """One detail subband of one level.

    Attributes
    ----------
    level : int
        1-based level.
    highpass : tuple of int
        Axes (-1 for x, -2 for y) along which the subband is highpass.
    """

    level: int
    highpass: tuple[int, ...]


def level_axes(level: int, jy: int, jx: int) -> tuple[int, ...]:
    """Axes transformed at ``level`` (1-based): x (-1) first, then y (-2)."""
    axes = []
    if level <= jx:
        axes.append(-1)
    if level <= jy:
        axes.append(-2)
    return tuple(axes)


def _split(v: jnp.ndarray, axis: int) -> tuple[jnp.ndarray, jnp.ndarray]:
    ax = axis % v.ndim
    even = tuple(slice(0, None, 2) if i == ax else slice(None) for i in range(v.ndim))
    odd = tuple(slice(1, None, 2) if i == ax else slice(None) for i in range(v.ndim))
    a, b = v[even], v[odd]
    return a + b, a - b


def _merge(s: jnp.ndarray, d: jnp.ndarray, axis: int) -> jnp.ndarray:
    ax = axis % s.ndim
    # interleave a = (s + d) / 2 and b = (s - d) / 2 along the split axis
    stacked = jnp.stack([(s + d) / 2, (s - d) / 2], axis=ax + 1)
    shape = list(s.shape)
    shape[ax] *= 2
    return stacked.reshape(shape)


def analysis_level(v: jnp.ndarray, axes: tuple[int, ...]) -> tuple[jnp.ndarray, dict[tuple[int, ...], jnp.ndarray]]:
    """One level of the separable transform along ``axes``.

    Returns the lowpass and a dict ``{highpass_axes: subband}`` of the detail subbands.
    """
    parts: dict[tuple[int, ...], jnp.ndarray] = {(): v}
    for axis in axes:
        new: dict[tuple[int, ...], jnp.ndarray] = {}
        for key, arr in parts.items():
            s, d = _split(arr, axis)
            new[key] = s
            new[key + (axis,)] = d
        parts = new
    low = parts.pop(())
    return low, parts


def synthesis_level(low: jnp.ndarray, details: dict[tuple[int, ...], jnp.ndarray],
                    axes: tuple[int, ...]) -> jnp.ndarray:
    """Invert :func:`analysis_level`."""
    parts = dict(details)
    parts[()] = low
    for axis in reversed(axes):
        new: dict[tuple[int, ...], jnp.ndarray] = {}
        for key in [k for k in parts if axis not in k]:
            new[key] = _merge(parts[key], parts[key + (axis,)], axis)
        parts = new
    return parts[()]
