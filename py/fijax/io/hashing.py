"""One digest per kind of thing: a file's bytes and an array's pixels.

Model cards, dataset QC (the train/test overlap check), reports and the flagship provenance all
compare these digests, so there is exactly one definition of each.
"""

from __future__ import annotations

import hashlib
import os

import numpy as np


def sha256_file(path: str | os.PathLike) -> str:
    """Return the sha256 hex digest of a file's bytes (read in 1 MiB chunks)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def pixels_sha256(data: np.ndarray) -> str:
    """Return the sha256 hex digest of an array's dtype, shape and C-order bytes.

    Two arrays get the same digest exactly when they have the same dtype, shape and values, so
    the digest identifies an image's pixels independently of the file they came from.

    Examples
    --------
    >>> import numpy as np
    >>> pixels_sha256(np.zeros((2, 2), np.uint8)) == pixels_sha256(np.zeros((2, 2), np.uint8))
    True
    >>> pixels_sha256(np.zeros((2, 2), np.uint8)) == pixels_sha256(np.zeros((4,), np.uint8))
    False
    """
    a = np.ascontiguousarray(data)
    h = hashlib.sha256(f"{a.dtype.str}{a.shape}".encode())
    h.update(a.tobytes())
    return h.hexdigest()
