"""Atomic file writes: a reader sees the old file or the whole new one, never half of it."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from fijax.paths import file_mode


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike, suffix: str | None = None, mode: int | None = None) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; on success it replaces ``target`` atomically.

    On an exception the temporary file is removed and ``target`` is untouched. The new file
    gets the permissions a plain ``open`` would give it (0666 less the umask), except inside
    the fijax home where it is owner-only (0600); :func:`tempfile.mkstemp` alone would make
    every output 0600, unreadable to colleagues on a shared server.

    Parameters
    ----------
    target : path-like
        Final file path. Its parent folder is created if missing.
    suffix : str, optional
        Suffix of the temporary file (some writers pick a format from it). Defaults to
        the target's suffix.
    mode : int, optional
        Permission bits of the new file (default: see above).
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(
        prefix=f".{target.name}.", suffix=(target.suffix if suffix is None else suffix) + ".part",
        dir=target.parent,
    )
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        with open(tmp_path, "rb+") as fh:
            os.fsync(fh.fileno())
        if tmp_path.exists():
            os.chmod(tmp_path, file_mode(target) if mode is None else mode)
        os.replace(tmp_path, target)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def atomic_write_bytes(target: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``target`` atomically and return the target path."""
    with atomic_path(target) as tmp:
        tmp.write_bytes(data)
    return Path(target)


def atomic_write_text(target: str | os.PathLike, text: str, encoding: str = "utf-8") -> Path:
    """Write ``text`` to ``target`` atomically and return the target path."""
    return atomic_write_bytes(target, text.encode(encoding))
