"""The one SQLite file that holds models, jobs and provenance.

Every module that keeps state opens it through :func:`connect`, which turns on WAL
(readers never block the writer, a crash mid-write leaves the last committed state) and a
busy timeout (the server's worker and CLI processes may write at the same time). Each
module declares its own tables with ``CREATE TABLE IF NOT EXISTS`` in ``schema``.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

from fijax.paths import fijax_home


def default_db_path() -> Path:
    """``$FIJAX_HOME/registry.sqlite``."""
    return fijax_home() / "registry.sqlite"


def connect(path: str | os.PathLike | None = None, schema: str = "") -> sqlite3.Connection:
    """Open the registry database, apply ``schema`` (idempotent DDL) and return the connection.

    Rows come back as :class:`sqlite3.Row` (access by column name).
    """
    path = Path(path) if path is not None else default_db_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    con = sqlite3.connect(path, timeout=30.0, isolation_level=None, check_same_thread=False)
    con.row_factory = sqlite3.Row
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=NORMAL")
    con.execute("PRAGMA foreign_keys=ON")
    if schema:
        con.executescript(schema)
    for suffix in ("", "-wal", "-shm"):  # models, jobs and provenance: owner-only like the rest of the home
        with contextlib.suppress(OSError):
            os.chmod(f"{path}{suffix}", 0o600)
    return con


@contextlib.contextmanager
def transaction(con: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """``BEGIN IMMEDIATE`` … ``COMMIT``; roll back on any exception so nothing half-written stays."""
    con.execute("BEGIN IMMEDIATE")
    try:
        yield con
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")
