"""Names that become files, and relative paths that come from users: one rule each.

:func:`safe_name` turns an image title into a file stem (outputs of the server, batch and CLI);
:func:`check_title` and :func:`check_relative_path` refuse names and paths given by a client that
could leave their folder (path traversal).
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath

from fijax.errors import InputError

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_name(title: str, taken: set[str] | None = None) -> str:
    """Return a file-name stem made from an image title: only ``[A-Za-z0-9._-]``, at most 80 characters.

    Parameters
    ----------
    title : str
        Image title (any text).
    taken : set of str, optional
        Stems already used in the folder; the result is made unique (``name_2``, ``name_3``, ...)
        and added to it.

    Examples
    --------
    >>> taken = set()
    >>> safe_name("../etc/passwd", taken), safe_name("a b", taken), safe_name("a b", taken)
    ('etc_passwd', 'a_b', 'a_b_2')
    """
    stem = _UNSAFE.sub("_", str(title)).strip("._") or "image"
    stem = stem[:80]
    name, i = stem, 2
    while taken is not None and name in taken:
        name, i = f"{stem}_{i}", i + 1
    if taken is not None:
        taken.add(name)
    return name


def check_relative_path(path: str) -> PurePosixPath:
    """Accept a relative path inside a job folder; refuse traversal (``..``, absolute, drive, NUL).

    Raises
    ------
    InputError
        When the path is empty, absolute, names a drive, contains ``..``/``.``/empty parts, a
        backslash or NUL, or is over 1000 characters.
    """
    if not path or "\x00" in path or "\\" in path or len(path) > 1000:
        raise InputError(f"file path {path!r} is not allowed")
    pure = PurePosixPath(path)
    if pure.is_absolute() or any(part in ("..", ".", "") for part in path.split("/")) or ":" in pure.parts[0]:
        raise InputError(f"file path {path!r} is not allowed: use a path relative to the job's artifacts, "
                         "without '..' (path traversal)")
    return pure


def check_title(filename: str | None) -> str:
    """Return an uploaded file's name as an image title: no folders, no '..', no control characters.

    A ``.tif``/``.tiff`` extension is dropped (and ``.ome.tif``, ``.czi``, ``.nd2``, ``.lif`` of the
    microscopy files a server accepts).

    Raises
    ------
    InputError
        When the name is empty, over 200 characters or could name another folder.
    """
    name = filename or ""
    for ext in (".ome.tiff", ".ome.tif", ".tiff", ".tif", ".czi", ".nd2", ".lif"):
        if name.lower().endswith(ext):
            name = name[: -len(ext)]
            break
    if (not name or len(name) > 200 or "/" in name or "\\" in name or ".." in name
            or any(ord(c) < 32 for c in name)):
        raise InputError(f"image file name {filename!r} is not allowed: give a plain name without folders, "
                         "'..' (path traversal) or control characters")
    return name
