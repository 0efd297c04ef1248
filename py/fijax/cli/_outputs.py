"""Checks on a command's output paths, made before any computing starts.

A command must not run for minutes and then fail to write (``--out`` under a regular file, an
unwritable folder), overwrite one of its own inputs, or write two results to one file. An
existing output that is replaced is said on stderr.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path

from fijax.errors import InputError


def check_writable(path: str | os.PathLike, what: str = "--out", folder: bool = False) -> Path:
    """Refuse ``path`` when it cannot be created or written (checked on its nearest existing ancestor).

    Parameters
    ----------
    path : path-like
        A file or folder the command will write.
    what : str
        How the path is named in messages (the option).
    folder : bool
        ``path`` is a folder (an existing regular file there is an error).
    """
    path = Path(path).expanduser()
    if folder and path.exists() and not path.is_dir():
        raise InputError(f"{what} {path}: is a file, not a folder")
    if not folder and path.is_dir():
        raise InputError(f"{what} {path}: is a folder; give a file name")
    probe = path if (folder and path.is_dir()) else path.parent
    while not probe.exists():
        if probe.is_symlink():  # a dangling link: its target folder is missing
            raise InputError(f"{what} {path}: {probe} is a broken link")
        probe = probe.parent
    if not probe.is_dir():
        raise InputError(f"{what} {path}: {probe} is a file, not a folder")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise InputError(f"{what} {path}: cannot write in {probe} (permission denied)")
    return path


def _same(a: Path, b: Path) -> bool:
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def check_not_input(outputs: Iterable[str | os.PathLike], inputs: Iterable[str | os.PathLike],
                    what: str = "--out") -> None:
    """Refuse writing over one of the command's inputs (in-place overwrite loses the original)."""
    ins = [Path(p).expanduser() for p in inputs]
    for out in outputs:
        out = Path(out).expanduser()
        for src in ins:
            if out.resolve() == src.resolve() or _same(out, src):
                raise InputError(f"{what} {out} is the input file {src}: refusing to overwrite an input; "
                                 "write to another file")


def check_collisions(plan: Mapping[str | os.PathLike, str | os.PathLike], what: str = "--out") -> None:
    """Refuse two inputs writing one output file; ``plan`` maps each input to its output path."""
    seen: dict[Path, str] = {}
    for src, out in plan.items():
        key = Path(out).expanduser().resolve()
        if key in seen:
            raise InputError(f"{what}: {seen[key]} and {src} would both be written to {out}; give inputs with "
                             "distinct file names or predict them into separate folders")
        seen[key] = str(src)


def note_replaced(paths: Iterable[str | os.PathLike]) -> None:
    """Say on stderr which existing output files are about to be replaced."""
    for p in paths:
        if Path(p).is_file():
            print(f"note: replacing the existing file {p}", file=sys.stderr)
