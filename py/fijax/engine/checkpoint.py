"""Weights and training state as ``.npz`` files, written atomically.

Model state (parameters and BatchNorm statistics) is stored as one array per leaf, keyed by
its path in ``nnx.to_pure_dict`` (e.g. ``down/0/conv1/kernel``). Training state adds the
optimizer leaves (``opt/00012``) and a JSON ``__meta__`` entry (epoch, step, RNG state, ...).
A reader sees either the previous complete file or the new complete file, never a mix.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import jax
import numpy as np
from flax import nnx

from fijax.errors import InputError
from fijax.io.atomic import atomic_path

META_KEY = "__meta__"


def _key(path: tuple) -> str:
    parts = []
    for p in path:
        for attr in ("key", "idx", "name"):
            if hasattr(p, attr):
                parts.append(str(getattr(p, attr)))
                break
        else:
            parts.append(str(p))
    return "/".join(parts)


def model_arrays(model: nnx.Module) -> dict[str, np.ndarray]:
    """Every state leaf of ``model`` (params and statistics) as NumPy arrays keyed by path."""
    pure = nnx.to_pure_dict(nnx.state(model))
    return {_key(path): np.asarray(leaf) for path, leaf in jax.tree_util.tree_flatten_with_path(pure)[0]}


def assign_model_arrays(model: nnx.Module, arrays: dict[str, np.ndarray]) -> None:
    """Load arrays saved by :func:`model_arrays` into ``model`` (shapes must match)."""
    state = nnx.state(model)
    pure = nnx.to_pure_dict(state)
    leaves, treedef = jax.tree_util.tree_flatten_with_path(pure)
    new = []
    for path, leaf in leaves:
        k = _key(path)
        if k not in arrays:
            raise InputError(f"weights file lacks {k!r}: it belongs to another architecture")
        a = arrays[k]
        if a.shape != leaf.shape:
            raise InputError(f"weights {k!r} have shape {a.shape}, the network expects {leaf.shape}")
        new.append(jax.numpy.asarray(a, dtype=leaf.dtype))
    nnx.replace_by_pure_dict(state, jax.tree_util.tree_unflatten(treedef, new))
    nnx.update(model, state)


def tree_arrays(tree: Any, prefix: str) -> dict[str, np.ndarray]:
    """Leaves of an arbitrary pytree as ``{prefix/00000: array}`` (restored with a template)."""
    return {f"{prefix}/{i:05d}": np.asarray(x) for i, x in enumerate(jax.tree.leaves(tree))}


def restore_tree(template: Any, arrays: dict[str, np.ndarray], prefix: str) -> Any:
    """Inverse of :func:`tree_arrays` given a template with the same structure."""
    leaves, treedef = jax.tree.flatten(template)
    out = []
    for i, leaf in enumerate(leaves):
        k = f"{prefix}/{i:05d}"
        if k not in arrays:
            raise InputError(f"checkpoint lacks {k!r}")
        out.append(jax.numpy.asarray(arrays[k], dtype=getattr(leaf, "dtype", None)))
    return jax.tree.unflatten(treedef, out)


def save_npz(path: str | os.PathLike, arrays: dict[str, np.ndarray], meta: dict | None = None) -> Path:
    """Write ``arrays`` (and JSON ``meta``) to ``path`` atomically (uncompressed npz)."""
    payload = dict(arrays)
    if meta is not None:
        payload[META_KEY] = np.frombuffer(json.dumps(meta, sort_keys=True).encode(), dtype=np.uint8)
    with atomic_path(path, suffix=".npz") as tmp:
        with open(tmp, "wb") as fh:
            np.savez(fh, **payload)
    return Path(path)


def load_npz(path: str | os.PathLike) -> tuple[dict[str, np.ndarray], dict]:
    """Read a file written by :func:`save_npz`; returns ``(arrays, meta)``."""
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except (OSError, ValueError) as exc:
        raise InputError(f"{Path(path).name}: not a readable checkpoint ({exc})") from exc
    meta_raw = arrays.pop(META_KEY, None)
    meta = json.loads(meta_raw.tobytes().decode()) if meta_raw is not None else {}
    return arrays, meta


