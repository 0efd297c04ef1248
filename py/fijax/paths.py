"""Where fijax keeps its state (registry, jar cache, jobs).

Everything lives under one home directory: ``$FIJAX_HOME`` when set, otherwise
``~/.fijax``. Tests point ``FIJAX_HOME`` at a temporary folder.
"""

from __future__ import annotations

import os
from pathlib import Path


def fijax_home() -> Path:
    """Return the fijax home directory, creating it if needed."""
    home = Path(os.environ.get("FIJAX_HOME") or Path.home() / ".fijax").expanduser()
    home.mkdir(parents=True, exist_ok=True)
    return home


def project_root() -> Path | None:
    """Return the source checkout's root when running from one (for ``java/``, ``jars.txt``, ``macros/``)."""
    root = Path(__file__).resolve().parents[2]
    return root if (root / "jars.txt").is_file() else None
