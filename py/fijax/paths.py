"""Where fijax keeps its state (registry, jar cache, jobs).

Everything lives under one home directory: ``$FIJAX_HOME`` when set, otherwise
``~/.fijax``. Tests point ``FIJAX_HOME`` at a temporary folder.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path


def home_path() -> Path:
    """The fijax home directory's path (``$FIJAX_HOME`` or ``~/.fijax``), without creating it."""
    return Path(os.environ.get("FIJAX_HOME") or Path.home() / ".fijax").expanduser()


def fijax_home() -> Path:
    """Return the fijax home directory, creating it if needed, readable by its owner only (0700).

    It holds job inputs, models and the server token: on a shared machine nobody else may read
    them. A home created with wider permissions (by an older fijax) is tightened when owned.
    """
    home = home_path()
    if not home.is_dir():
        home.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(home, 0o700)
    else:
        with contextlib.suppress(OSError):
            st = home.stat()
            if st.st_mode & 0o077 and st.st_uid == os.getuid():
                os.chmod(home, 0o700)
    return home


def inside_home(path: str | os.PathLike) -> bool:
    """Whether ``path`` lies inside the fijax home (where files are created owner-only)."""
    try:
        home = home_path().resolve()
        return Path(path).resolve().is_relative_to(home)
    except (OSError, RuntimeError):
        return False


def file_mode(path: str | os.PathLike) -> int:
    """Permission bits for a new file at ``path``: 0600 inside the fijax home, else 0666 less the umask."""
    if inside_home(path):
        return 0o600
    return 0o666 & ~current_umask()


def current_umask() -> int:
    """The process umask, read without changing it where the platform allows (Linux ``/proc``)."""
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def project_root() -> Path | None:
    """Return the source checkout's root when running from one (for ``java/``, ``jars.txt``, ``macros/``)."""
    root = Path(__file__).resolve().parents[2]
    return root if (root / "jars.txt").is_file() else None
