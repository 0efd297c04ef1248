"""Model registry: named, versioned, hashed models in the SQLite registry plus model folders.

Layout (``root`` defaults to :func:`fijax.paths.fijax_home`)::

    root/registry.sqlite            table ``models`` (one row per name/version)
    root/models/NAME/VERSION/       weights.npz, weights_best.npz, weights_last.npz,
                                    config.json, log.csv, card.json

Guarantees:

* versions auto-increment per name and are never reused or overwritten (a folder left by a
  crash is skipped, not recycled);
* a row exists only for a complete folder: files are written into a staging folder, renamed
  into place and the row inserted inside one ``BEGIN IMMEDIATE`` transaction;
* the sha256 of ``weights.npz`` is recorded and checked (:meth:`ModelRegistry.verify`) on every
  :func:`fijax.engine.model.load_model`;
  a tampered or corrupt file is refused with :class:`~fijax.errors.InputError`.

The *model card* (``ModelRecord.card``, also ``card.json`` in the folder) holds: ``name``,
``version``, ``task``, ``created`` (ISO UTC), ``config`` (resolved TrainConfig), ``unet``
(architecture), ``normalization``, ``versions`` (libraries and jars), ``device``, ``seed``,
``data`` (files with sha256, image/patch counts, pixel size, validation split), ``metrics``
(final/best loss and val_loss, epochs, steps), ``training_seconds``, ``log_csv`` (per-epoch
loss/val_loss/lr/seconds), ``parent`` (``{"name", "version", "weights_sha256"}`` or None),
``weights_sha256`` and ``files`` (sha256 of every file in the folder). Since issue 12 also:
``domain_reference`` (the GT-free domain check's ``domain.npz``), ``uncertainty_calibration``
(MC-dropout std vs |error| on the validation split), ``intended_domain`` (description, intensity
and noise statistics, pixel sizes, acquisition metadata), ``validation_images``, ``hardware`` and,
with held-out test data, ``test_qc``. :meth:`ModelRegistry.add_files` adds files computed after
registration (a domain reference from ``fijax models calibrate``, test QC); weights never change.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fijax.errors import InputError, NotFoundError
from fijax.io.atomic import atomic_write_text
from fijax.io.hashing import sha256_file
from fijax.paths import fijax_home
from fijax.registry.db import connect, transaction

SCHEMA = """
CREATE TABLE IF NOT EXISTS models (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    version INTEGER NOT NULL,
    task TEXT NOT NULL,
    created TEXT NOT NULL,
    path TEXT NOT NULL,
    weights_sha256 TEXT NOT NULL,
    parent_name TEXT,
    parent_version INTEGER,
    card TEXT NOT NULL,
    UNIQUE (name, version)
);
CREATE INDEX IF NOT EXISTS models_name ON models (name);
"""

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,99}$")
WEIGHTS = "weights.npz"


def check_name(name: str) -> str:
    """Validate a model name (letters, digits, ``_ . -``; no ``:`` or ``/``)."""
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise InputError(f"invalid model name {name!r}: use letters, digits, '_', '.', '-' (max 100)")
    return name


def parse_ref(ref: str) -> tuple[str, int | None]:
    """Split ``NAME[:VERSION]`` (``VERSION`` an integer or ``latest``) into ``(name, version|None)``."""
    if not isinstance(ref, str) or not ref:
        raise InputError("empty model reference")
    name, _, ver = ref.partition(":")
    check_name(name)
    if ver in ("", "latest"):
        return name, None
    if not ver.isascii() or not ver.isdigit() or len(ver) > 18 or int(ver) < 1:
        raise InputError(f"bad model version {ver[:40]!r} in {ref[:140]!r}: expected a positive integer "
                         "(at most 18 digits)")
    return name, int(ver)


@dataclass
class ModelRecord:
    """One registered model version (the card holds everything else)."""

    name: str
    version: int
    task: str
    created: str
    path: Path
    weights_sha256: str
    card: dict[str, Any] = field(default_factory=dict)

    @property
    def ref(self) -> str:
        return f"{self.name}:{self.version}"

    @property
    def weights_path(self) -> Path:
        return self.path / WEIGHTS

    @property
    def parent(self) -> dict | None:
        return self.card.get("parent")

    def summary(self) -> dict[str, Any]:
        """A flat row for listings."""
        m = self.card.get("metrics", {})
        parent = self.parent
        return {"name": self.name, "version": self.version, "task": self.task, "created": self.created,
                "val_loss": m.get("val_loss"), "epochs": m.get("epochs"),
                "parent": f"{parent['name']}:{parent['version']}" if parent else "",
                "path": str(self.path)}


class ModelRegistry:
    """Registered models under ``root`` (default: the fijax home).

    Parameters
    ----------
    root : path-like, optional
        Folder holding ``registry.sqlite`` and ``models/``.
    """

    def __init__(self, root: str | os.PathLike | None = None):
        self.root = Path(root) if root is not None else fijax_home()
        self.models_dir = self.root / "models"
        self.db_path = self.root / "registry.sqlite"

    def _con(self) -> sqlite3.Connection:
        return connect(self.db_path, SCHEMA)

    @staticmethod
    def _record(row: sqlite3.Row) -> ModelRecord:
        return ModelRecord(row["name"], row["version"], row["task"], row["created"], Path(row["path"]),
                           row["weights_sha256"], json.loads(row["card"]))

    # -- queries -------------------------------------------------------------------------------
    def list(self, name: str | None = None) -> list[ModelRecord]:
        """All models (or all versions of ``name``), ordered by name and version."""
        con = self._con()
        try:
            if name is None:
                rows = con.execute("SELECT * FROM models ORDER BY name, version").fetchall()
            else:
                rows = con.execute("SELECT * FROM models WHERE name = ? ORDER BY version", (name,)).fetchall()
        finally:
            con.close()
        return [self._record(r) for r in rows]

    def get(self, ref: str, version: int | None = None) -> ModelRecord:
        """The record of ``NAME[:VERSION]`` (latest version when none); unknown → NotFoundError."""
        name, ver = parse_ref(ref)
        ver = version if version is not None else ver
        con = self._con()
        try:
            if ver is None:
                row = con.execute("SELECT * FROM models WHERE name = ? ORDER BY version DESC LIMIT 1",
                                  (name,)).fetchone()
            else:
                row = con.execute("SELECT * FROM models WHERE name = ? AND version = ?", (name, ver)).fetchone()
            if row is None:
                known = [r[0] for r in con.execute("SELECT DISTINCT name FROM models ORDER BY name")]
                versions = [r[0] for r in con.execute("SELECT version FROM models WHERE name = ?", (name,))]
        finally:
            con.close()
        if row is None:
            if versions:
                raise NotFoundError(f"model {name!r} has no version {ver}; versions: "
                                    f"{', '.join(map(str, sorted(versions)))}")
            raise NotFoundError(f"unknown model {name!r}; registered: {', '.join(known) or 'none'}")
        return self._record(row)

    def verify(self, record: ModelRecord) -> None:
        """Check every file that shapes a prediction against its recorded sha256; raise InputError on a mismatch.

        That is the weights, ``config.json`` (architecture, normalisation percentiles) and every
        other recorded ``.json`` file (task settings such as segmentation thresholds): a changed
        percentile gives wrong outputs as surely as changed weights.
        """
        path = record.weights_path
        if not path.is_file():
            raise InputError(f"model {record.ref}: weights file missing ({path})")
        digest = sha256_file(path)
        if digest != record.weights_sha256:
            raise InputError(f"model {record.ref}: weights fail their sha256 check (recorded "
                             f"{record.weights_sha256[:12]}…, file {digest[:12]}…): tampered or corrupt; refused")
        recorded = record.card.get("files") or {}
        for fname in sorted(recorded):
            if not (fname == "config.json" or fname.endswith(".json")) or fname == WEIGHTS:
                continue
            fpath = record.path / fname
            if not fpath.is_file():
                raise InputError(f"model {record.ref}: {fname} missing ({fpath}); refused")
            digest = sha256_file(fpath)
            if digest != recorded[fname]:
                raise InputError(f"model {record.ref}: {fname} fails its sha256 check (recorded "
                                 f"{recorded[fname][:12]}…, file {digest[:12]}…): changed or corrupt, so "
                                 "predictions would silently differ; refused")

    # -- writes --------------------------------------------------------------------------------
    def _next_version(self, con: sqlite3.Connection, name: str) -> int:
        row = con.execute("SELECT MAX(version) FROM models WHERE name = ?", (name,)).fetchone()
        v = row[0] or 0
        folder = self.models_dir / name
        if folder.is_dir():  # folders orphaned by a crash are never reused
            v = max([v] + [int(p.name) for p in folder.iterdir() if p.name.isdigit()])
        return v + 1

    def register(self, name: str, files: dict[str, str | os.PathLike], card: dict[str, Any]) -> ModelRecord:
        """Register a new version of ``name`` from ``files`` (``{"weights.npz": path, ...}``).

        Files are copied into a staging folder, hashed, renamed to ``models/NAME/VERSION`` and
        the row inserted in one transaction; on any failure no row and no version folder remain.
        """
        check_name(name)
        if WEIGHTS not in files:
            raise InputError(f"a model needs a {WEIGHTS} file")
        base = self.models_dir / name
        base.mkdir(parents=True, exist_ok=True)
        staging = base / f".staging-{uuid.uuid4().hex}"
        staging.mkdir()
        final: Path | None = None
        try:
            hashes = {}
            for fname, src in files.items():
                shutil.copyfile(src, staging / fname)
                with open(staging / fname, "rb+") as fh:
                    os.fsync(fh.fileno())
                hashes[fname] = sha256_file(staging / fname)
            con = self._con()
            try:
                with transaction(con):
                    version = self._next_version(con, name)
                    final = base / str(version)
                    created = datetime.now(UTC).isoformat(timespec="seconds")
                    card = dict(card, name=name, version=version, created=created, path=str(final),
                                weights_sha256=hashes[WEIGHTS], files=hashes)
                    atomic_write_text(staging / "card.json", json.dumps(card, indent=2, sort_keys=True,
                                                                        default=str))
                    os.rename(staging, final)
                    parent = card.get("parent") or {}
                    con.execute(
                        "INSERT INTO models (name, version, task, created, path, weights_sha256, "
                        "parent_name, parent_version, card) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        (name, version, card.get("task", ""), created, str(final), hashes[WEIGHTS],
                         parent.get("name"), parent.get("version"), json.dumps(card, sort_keys=True, default=str)))
            finally:
                con.close()
        except BaseException:
            if final is not None and final.exists() and not staging.exists():
                shutil.rmtree(final, ignore_errors=True)
            shutil.rmtree(staging, ignore_errors=True)
            raise
        return self.get(name, version)

    def add_files(self, record: ModelRecord, files: dict[str, str | os.PathLike],
                  card_update: dict[str, Any]) -> ModelRecord:
        """Add (or replace) auxiliary files of an existing version and merge ``card_update`` into its card.

        For facts computed after registration (``fijax models calibrate``: the domain reference;
        held-out test QC). The weights and the configuration can never be replaced. Each file is
        copied beside its target and renamed into place, then ``card.json`` and the row are
        updated in one transaction with the new sha256 in ``files``.
        """
        protected = {WEIGHTS, "weights_best.npz", "weights_last.npz", "config.json", "card.json"}
        bad = sorted(set(files) & protected)
        if bad:
            raise InputError(f"model {record.ref}: {', '.join(bad)} cannot be replaced after registration")
        for fname in files:
            if "/" in fname or fname.startswith("."):
                raise InputError(f"bad model file name {fname!r}")
        self.verify(record)
        hashes = {}
        for fname, src in files.items():
            tmp = record.path / f".{fname}.{uuid.uuid4().hex}.part"
            try:
                shutil.copyfile(src, tmp)
                with open(tmp, "rb+") as fh:
                    os.fsync(fh.fileno())
                hashes[fname] = sha256_file(tmp)
                os.replace(tmp, record.path / fname)
            finally:
                if tmp.exists():
                    tmp.unlink()
        con = self._con()
        try:
            with transaction(con):
                row = con.execute("SELECT card FROM models WHERE name = ? AND version = ?",
                                  (record.name, record.version)).fetchone()
                card = json.loads(row["card"])
                card.update(card_update)
                card["files"] = dict(card.get("files") or {}, **hashes)
                atomic_write_text(record.path / "card.json", json.dumps(card, indent=2, sort_keys=True,
                                                                        default=str))
                con.execute("UPDATE models SET card = ? WHERE name = ? AND version = ?",
                            (json.dumps(card, sort_keys=True, default=str), record.name, record.version))
        finally:
            con.close()
        return self.get(record.name, record.version)

    def check_consistency(self) -> list[str]:
        """Problems found: rows whose folder or weights are missing (an empty list when consistent)."""
        problems = []
        for rec in self.list():
            if not rec.weights_path.is_file():
                problems.append(f"{rec.ref}: weights missing at {rec.weights_path}")
        return problems
