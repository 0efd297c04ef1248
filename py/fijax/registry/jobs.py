"""Jobs table: every operation or macro the server runs, its state, progress, result and log.

Rows live in the shared registry file (:mod:`fijax.registry.db`), so finished jobs and their
artifacts are still listed after a server restart; jobs that were queued or running when the
server stopped are marked ``interrupted`` by :meth:`JobStore.recover` on the next start.

States
------
``queued`` → ``running`` → one of ``succeeded``, ``failed``, ``cancelled``, ``timeout``;
``interrupted`` (server stopped meanwhile). A failed, cancelled, timed-out or interrupted job
can be resumed (queued again with the same inputs, options and output folder, so a training
operation finds its last checkpoint there).
"""

from __future__ import annotations

import json
import math
import os
import re
import secrets
import sqlite3
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fijax.errors import InputError, NotFoundError
from fijax.io.table import jsonable
from fijax.registry.db import connect, transaction

SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,            -- 'op' or 'macro'
    name TEXT NOT NULL,            -- operation name ('macro' for macros)
    state TEXT NOT NULL,
    progress REAL NOT NULL DEFAULT 0,
    message TEXT NOT NULL DEFAULT '',
    options TEXT NOT NULL DEFAULT '{}',
    inputs TEXT NOT NULL DEFAULT '{}',
    result TEXT,
    error TEXT,
    error_kind TEXT,
    long_running INTEGER NOT NULL DEFAULT 0,
    settings TEXT NOT NULL DEFAULT '{}', -- how the server runs it (e.g. artifacts on/off)
    attempts INTEGER NOT NULL DEFAULT 0,
    dir TEXT NOT NULL,
    created REAL NOT NULL,
    started REAL,
    finished REAL
);
CREATE INDEX IF NOT EXISTS jobs_created ON jobs(created);
CREATE TABLE IF NOT EXISTS job_log (
    job_id TEXT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
    t REAL NOT NULL,
    level TEXT NOT NULL,
    message TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS job_log_job ON job_log(job_id, t);
"""

ACTIVE_STATES = ("queued", "running")
TERMINAL_STATES = ("succeeded", "failed", "cancelled", "timeout", "interrupted")
RESUMABLE_STATES = ("failed", "cancelled", "timeout", "interrupted")
_JOB_ID = re.compile(r"^[0-9a-f]{20}$")


def new_job_id() -> str:
    """A random job id (80 bits from :mod:`secrets`: ids are not guessable, unlike timestamps)."""
    return secrets.token_hex(10)


def check_job_id(job_id: str) -> str:
    """Return ``job_id`` when it has the shape of a job id, else raise :class:`NotFoundError`.

    The id becomes part of a folder name, so anything else (``..``, slashes) is refused here.
    """
    if not isinstance(job_id, str) or not _JOB_ID.match(job_id):
        raise NotFoundError(f"no job {job_id!r} (job ids are 20 hexadecimal characters)")
    return job_id


@dataclass
class Job:
    """One row of the jobs table, decoded."""

    id: str
    kind: str
    name: str
    state: str
    progress: float
    message: str
    options: dict[str, Any]
    inputs: dict[str, Any]
    result: dict[str, Any] | None
    error: str | None
    error_kind: str | None
    long_running: bool
    settings: dict[str, Any]
    attempts: int
    dir: Path
    created: float
    started: float | None
    finished: float | None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def done(self) -> bool:
        return self.state in TERMINAL_STATES

    def artifacts(self) -> list[dict[str, Any]]:
        """The files the job wrote under its ``artifacts/`` folder (hidden files left out), sorted.

        Each entry has ``path`` (relative, POSIX), ``size`` (bytes) and ``url`` (the HTTP route
        that serves it); the HTTP API and the browser pages list the same files.
        """
        root = self.dir / "artifacts"
        if not root.is_dir():
            return []
        out = []
        for path in sorted(root.rglob("*")):
            if path.is_file() and not path.name.startswith("."):
                rel = path.relative_to(root).as_posix()
                out.append({"path": rel, "size": path.stat().st_size, "url": f"/jobs/{self.id}/artifacts/{rel}"})
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON form (what the HTTP API returns); the folder stays private to the server."""
        return jsonable({
            "id": self.id, "kind": self.kind, "name": self.name, "state": self.state,
            "progress": self.progress, "message": self.message, "options": self.options,
            "inputs": self.inputs, "result": self.result, "error": self.error,
            "error_kind": self.error_kind, "long_running": self.long_running, "settings": self.settings,
            "attempts": self.attempts, "created": self.created, "started": self.started,
            "finished": self.finished,
        })


def _row_to_job(row: sqlite3.Row) -> Job:
    return Job(
        id=row["id"], kind=row["kind"], name=row["name"], state=row["state"],
        progress=float(row["progress"]), message=row["message"], options=json.loads(row["options"]),
        inputs=json.loads(row["inputs"]), result=json.loads(row["result"]) if row["result"] else None,
        error=row["error"], error_kind=row["error_kind"], long_running=bool(row["long_running"]),
        settings=json.loads(row["settings"] or "{}"), attempts=int(row["attempts"]), dir=Path(row["dir"]), created=row["created"],
        started=row["started"], finished=row["finished"],
    )


class JobStore:
    """Thread-safe access to the jobs table (one connection, one lock: the server is its only writer).

    Parameters
    ----------
    db_path : path-like, optional
        SQLite file; defaults to the shared registry (``$FIJAX_HOME/registry.sqlite``).
    jobs_dir : path-like
        Folder holding one sub-folder per job (inputs, output images, artifacts).
    """

    def __init__(self, jobs_dir: str | os.PathLike, db_path: str | os.PathLike | None = None):
        self.jobs_dir = Path(jobs_dir)
        self.jobs_dir.mkdir(parents=True, exist_ok=True)
        self._con = connect(db_path, schema=SCHEMA)
        self._lock = threading.RLock()
        columns = {r["name"] for r in self._con.execute("PRAGMA table_info(jobs)")}
        if "settings" not in columns:  # tables created before the column existed
            self._con.execute("ALTER TABLE jobs ADD COLUMN settings TEXT NOT NULL DEFAULT '{}'")

    def close(self) -> None:
        with self._lock:
            self._con.close()

    # -- writes ---------------------------------------------------------------------------
    def create(self, kind: str, name: str, options: Mapping[str, Any], inputs: Mapping[str, Any],
               long_running: bool, job_id: str | None = None, settings: Mapping[str, Any] | None = None) -> Job:
        """Insert a queued job and create its folder; return it."""
        job_id = job_id or new_job_id()
        folder = self.jobs_dir / job_id
        (folder / "inputs").mkdir(parents=True, exist_ok=True)
        now = time.time()
        with self._lock, transaction(self._con):
            self._con.execute(
                "INSERT INTO jobs (id, kind, name, state, options, inputs, long_running, settings, dir, created)"
                " VALUES (?, ?, ?, 'queued', ?, ?, ?, ?, ?, ?)",
                (job_id, kind, name, json.dumps(jsonable(options)), json.dumps(jsonable(inputs)),
                 int(long_running), json.dumps(jsonable(settings or {})), str(folder), now),
            )
        return self.get(job_id)

    def set_options(self, job_id: str, options: Mapping[str, Any]) -> None:
        with self._lock, transaction(self._con):
            self._con.execute("UPDATE jobs SET options=? WHERE id=?", (json.dumps(jsonable(options)), job_id))

    def set_inputs(self, job_id: str, inputs: Mapping[str, Any]) -> None:
        with self._lock, transaction(self._con):
            self._con.execute("UPDATE jobs SET inputs=? WHERE id=?", (json.dumps(jsonable(inputs)), job_id))

    def start(self, job_id: str) -> None:
        with self._lock, transaction(self._con):
            self._con.execute(
                "UPDATE jobs SET state='running', started=?, attempts=attempts+1, error=NULL,"
                " error_kind=NULL, message='' WHERE id=?", (time.time(), job_id))

    def progress(self, job_id: str, fraction: float, message: str = "") -> None:
        fraction = float(fraction) if math.isfinite(float(fraction)) else 0.0
        with self._lock, transaction(self._con):
            self._con.execute("UPDATE jobs SET progress=?, message=? WHERE id=? AND state='running'",
                              (min(max(fraction, 0.0), 1.0), str(message)[:2000], job_id))

    def finish(self, job_id: str, state: str, result: Mapping[str, Any] | None = None,
               error: str | None = None, error_kind: str | None = None) -> None:
        """Move a job to a terminal state, storing its result or error."""
        if state not in TERMINAL_STATES:
            raise ValueError(f"not a terminal state: {state}")
        with self._lock, transaction(self._con):
            self._con.execute(
                "UPDATE jobs SET state=?, result=?, error=?, error_kind=?, finished=?,"
                " progress=CASE WHEN ?='succeeded' THEN 1.0 ELSE progress END WHERE id=?",
                (state, json.dumps(jsonable(result)) if result is not None else None,
                 error, error_kind, time.time(), state, job_id))

    def requeue(self, job_id: str) -> Job:
        """Queue a failed/cancelled/timed-out/interrupted job again (same folder: checkpoints stay)."""
        job = self.get(job_id)
        if job.state not in RESUMABLE_STATES:
            raise InputError(f"job {job_id} is {job.state}; only {', '.join(RESUMABLE_STATES)} jobs can be resumed")
        with self._lock, transaction(self._con):
            self._con.execute("UPDATE jobs SET state='queued', finished=NULL, result=NULL WHERE id=?", (job_id,))
        return self.get(job_id)

    def log(self, job_id: str, message: str, level: str = "info") -> None:
        with self._lock, transaction(self._con):
            self._con.execute("INSERT INTO job_log (job_id, t, level, message) VALUES (?, ?, ?, ?)",
                              (job_id, time.time(), level, str(message)[:20000]))

    def recover(self) -> list[str]:
        """Mark jobs left queued/running by a previous server process as ``interrupted``."""
        with self._lock, transaction(self._con):
            ids = [r["id"] for r in self._con.execute(
                "SELECT id FROM jobs WHERE state IN ('queued', 'running')")]
            self._con.execute(
                "UPDATE jobs SET state='interrupted', finished=?, error_kind='interrupted',"
                " error='the server stopped while this job was queued or running; resume it to continue'"
                " WHERE state IN ('queued', 'running')", (time.time(),))
            for job_id in ids:
                self._con.execute("INSERT INTO job_log (job_id, t, level, message) VALUES (?, ?, 'warning', ?)",
                                  (job_id, time.time(), "marked interrupted at server start"))
        return ids

    def delete(self, job_id: str) -> None:
        """Remove a finished job's row (its folder is removed by the caller)."""
        job = self.get(job_id)
        if not job.done:
            raise InputError(f"job {job_id} is {job.state}; cancel it before deleting it")
        with self._lock, transaction(self._con):
            self._con.execute("DELETE FROM job_log WHERE job_id=?", (job_id,))
            self._con.execute("DELETE FROM jobs WHERE id=?", (job_id,))

    # -- reads ----------------------------------------------------------------------------
    def get(self, job_id: str) -> Job:
        check_job_id(job_id)
        with self._lock:
            row = self._con.execute("SELECT * FROM jobs WHERE id=?", (job_id,)).fetchone()
        if row is None:
            raise NotFoundError(f"no job {job_id!r}")
        return _row_to_job(row)

    def list(self, states: Iterable[str] | None = None, limit: int = 100, offset: int = 0) -> list[Job]:
        """Newest first, optionally only some states."""
        sql, args = "SELECT * FROM jobs", []
        states = list(states or [])
        if states:
            unknown = [s for s in states if s not in ACTIVE_STATES + TERMINAL_STATES]
            if unknown:
                raise InputError(f"unknown job state(s) {unknown}; known: {', '.join(ACTIVE_STATES + TERMINAL_STATES)}")
            sql += f" WHERE state IN ({','.join('?' * len(states))})"
            args += states
        sql += " ORDER BY created DESC LIMIT ? OFFSET ?"
        args += [int(limit), int(offset)]
        with self._lock:
            return [_row_to_job(r) for r in self._con.execute(sql, args)]

    def get_log(self, job_id: str, since: float = 0.0) -> list[dict[str, Any]]:
        self.get(job_id)
        with self._lock:
            rows = self._con.execute("SELECT t, level, message FROM job_log WHERE job_id=? AND t>? ORDER BY t, rowid",
                                     (job_id, float(since))).fetchall()
        return [{"t": r["t"], "level": r["level"], "message": r["message"]} for r in rows]
