"""Batch scale-out: run one operation over a folder of TIFFs on Dask distributed.

Each input file (grouped a few per Dask task, to amortize Dask's per-task overhead) is read, run
through the operation from the ops table and written atomically. A file counts as done when its record ``<out>/<rel>.json``
exists (written last, atomically, with the options used): a rerun skips it, so an interrupted
batch resumes where it stopped. Failures are per file: one bad image is reported in
``batch_failures.csv`` and does not stop the others.

Outputs for an input ``<in>/<rel>.tif``:

* ``<out>/<rel>.tif`` (one output image) or ``<out>/<rel>_<name>.tif`` (several);
* ``<out>/<rel>.artifacts/`` files the operation wrote (kept only when not empty);
* ``<out>/<rel>.json`` the record: values, table rows, output files, seconds, options;
* ``<out>/batch_results.csv`` every table row with its ``file``, ``batch_failures.csv``,
  ``batch_summary.json`` (counts, options, versions, date, scheduler).

Paths must be visible to every Dask worker: with ``--scheduler`` on other machines, use a
shared file system.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
import traceback
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fijax.errors import InputError, NotFoundError
from fijax.io.atomic import atomic_write_text

#: The input ``--in`` feeds, where it is not the operation's first input (QC: the predictions;
#: the ground truth comes with ``--input gt=DIR``).
PRIMARY_INPUT: dict[str, str] = {"qc": "prediction", "qc_labels": "prediction"}


def resolve_operation(name: str, extra_modules: Sequence[str] = ()):
    """The operation for a batch command or operation name (``qc-labels`` is the operation ``qc_labels``)."""
    from fijax import ops
    from fijax.server.worker import import_modules

    import_modules(list(extra_modules))
    table = ops.load_all()
    for candidate in (name, name.replace("-", "_")):
        if candidate in table:
            return table[candidate]
    raise NotFoundError(f"no operation for batch command {name!r}; operations: {', '.join(sorted(table)) or 'none'}")


@dataclass
class BatchReport:
    """What a batch did."""

    total: int = 0
    done: int = 0
    skipped: int = 0
    failed: list[dict[str, str]] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    seconds: float = 0.0
    out_dir: Path | None = None

    @property
    def ok(self) -> bool:
        return not self.failed


def _find_inputs(in_dir: Path, pattern: str, exclude: Path | None = None) -> list[Path]:
    """Input files under ``in_dir`` (relative), leaving out hidden files and the ``exclude`` folder.

    ``exclude`` is the output folder when it lies inside ``--in``: its outputs must not become
    inputs of the next run. OME-Zarr images are folders; files inside one are not inputs of their own.
    """
    skip = exclude.resolve() if exclude is not None else None
    files = sorted(p for p in in_dir.rglob(pattern)
                   if (p.is_file() or (p.is_dir() and p.name.lower().endswith(".zarr")))
                   and not p.name.startswith(".") and not any(q.name.lower().endswith(".zarr") for q in p.parents)
                   and not (skip is not None and p.resolve().is_relative_to(skip)))
    return [p.relative_to(in_dir) for p in files]


def fingerprint(path: str | os.PathLike) -> dict[str, int]:
    """Size and modification time (ns) of an input: a changed file is redone on resume.

    For a folder image (OME-Zarr) the total size and latest modification of the files inside.
    """
    path = Path(path)
    if path.is_dir():
        stats = [p.stat() for p in path.rglob("*") if p.is_file()]
        return {"size": sum(st.st_size for st in stats), "mtime_ns": max((st.st_mtime_ns for st in stats), default=0),
                "files": len(stats)}
    st = path.stat()
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns}


def _stem(rel: Path) -> Path:
    name = rel.name
    for ext in (".ome.tiff", ".ome.tif", ".ome.zarr", ".zarr", ".tiff", ".tif"):
        if name.lower().endswith(ext):
            return rel.with_name(name[: -len(ext)])
    return rel.with_suffix("")


#: Suffixes of the extra files ``fijax predict`` writes next to a prediction (``x_std.tif`` ...).
SIDE_OUTPUTS = ("_std", "_scale", "_probabilities")


def is_side_output(rel: Path) -> bool:
    """True for ``*_std.tif`` and the other extra outputs of ``fijax predict``."""
    return _stem(rel).name.endswith(SIDE_OUTPUTS)


def _record_path(out_dir: Path, rel: Path) -> Path:
    return out_dir / _stem(rel).with_name(_stem(rel).name + ".json")


def _is_done(record: Path, options: dict[str, Any], paths: Mapping[str, str] | None = None) -> bool:
    """Whether ``record`` shows this file done with these options and these very input files."""
    try:
        data = json.loads(record.read_text())
        if data.get("options") != options:
            return False
        if paths is not None:
            return data.get("fingerprints") == {k: fingerprint(v) for k, v in paths.items()}
        return True
    except (OSError, ValueError, AttributeError):
        return False


def process_one(op_name: str, paths: Mapping[str, str], rel: str, out_dir: str, options: dict[str, Any],
                extra_modules: Sequence[str] = (), artifacts: bool = True) -> dict[str, Any]:
    """Run ``op_name`` on one set of input files and write its outputs (runs on a Dask worker).

    Never raises for a failing file: returns ``{"status": "failed", "error": ...}`` instead, so
    the batch reports it and carries on.
    """
    t0 = time.perf_counter()
    made: list[Path] = []  # what this call wrote, removed again when the file fails
    try:
        from fijax import compile_cache
        from fijax.io import write_tiff
        from fijax.io.microscopy import read_image
        from fijax.io.names import safe_name
        from fijax.ops import OpContext, get
        from fijax.registry.jobs import jsonable
        from fijax.server.worker import import_modules

        compile_cache.enable()  # a remote worker keeps its compiled kernels in its own $FIJAX_HOME
        import_modules(list(extra_modules))
        op = get(op_name)
        out = Path(out_dir)
        stem = _stem(Path(rel))
        prints = {key: fingerprint(path) for key, path in paths.items()}  # before reading: a change after is redone
        inputs = {key: read_image(path) for key, path in paths.items()}
        folder = out / stem.with_name(stem.name + ".artifacts") if artifacts else None
        if folder is not None:
            if not folder.exists():
                made.append(folder)
            folder.mkdir(parents=True, exist_ok=True)
        result = op(inputs, options, OpContext(out_dir=folder))
        written = {}
        taken: set[str] = set()
        for title, image in result.images.items():
            name = safe_name(title, taken)
            target = out / (stem.with_suffix(".tif") if len(result.images) == 1
                            else stem.with_name(f"{stem.name}_{name}.tif"))
            if not target.exists():
                made.append(target)
            write_tiff(target, image)
            written[name] = target.relative_to(out).as_posix()
        files = {str(k): Path(v).relative_to(out).as_posix() if Path(v).is_relative_to(out) else str(v)
                 for k, v in result.files.items()}
        if folder is not None and not any(folder.iterdir()):
            folder.rmdir()
        record = {"file": rel, "inputs": dict(paths), "fingerprints": prints, "operation": op_name, "options": options,
                  "values": result.values, "table": result.table, "images": written, "files": files,
                  "seconds": time.perf_counter() - t0, "finished": datetime.now(UTC).isoformat(timespec="seconds")}
        atomic_write_text(_record_path(out, Path(rel)), json.dumps(jsonable(record), indent=1))
        return {"status": "done", "file": rel, "table": jsonable(result.table), "seconds": record["seconds"]}
    except InputError as exc:
        _remove(made)
        return {"status": "failed", "file": rel, "kind": "input", "error": str(exc)}
    except Exception as exc:  # noqa: BLE001 - one bad file must not stop the batch
        _remove(made)
        return {"status": "failed", "file": rel, "kind": "internal", "error": f"{type(exc).__name__}: {exc}",
                "traceback": traceback.format_exc()}


def _remove(paths: Sequence[Path]) -> None:
    """Remove the partial outputs of a failed file (folders with what is in them)."""
    for path in paths:
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        elif path.exists():
            path.unlink()


def plan(op, in_dir: Path, out_dir: Path, extra_inputs: Mapping[str, Path], pattern: str,
         options: dict[str, Any], overwrite: bool, primary: str | None = None
         ) -> tuple[list[tuple[str, dict[str, str]]], list[str], list[dict[str, str]], list[str]]:
    """Pair input files; return ``(todo, skipped, failed, ignored)``.

    A missing partner fails that file, except for ``fijax predict``'s extra outputs (``*_std.tif``,
    ``*_scale.tif``, ``*_probabilities.tif``): those are ignored and listed, as ``fijax qc`` does.

    ``primary`` is the input ``in_dir`` feeds (default: :data:`PRIMARY_INPUT`, else the first input).
    """
    if not op.inputs:
        raise InputError(f"operation {op.name!r} takes no input image: nothing to batch over")
    first = primary or PRIMARY_INPUT.get(op.name) or op.inputs[0]
    if first not in op.inputs + op.optional_inputs:
        raise InputError(f"{op.name!r} has no input {first!r} (inputs: {', '.join(op.inputs)})")
    unknown = [k for k in extra_inputs if k not in op.inputs + op.optional_inputs or k == first]
    if unknown:
        raise InputError(f"{op.name!r} has no input {unknown[0]!r} to pair (inputs: {', '.join(op.inputs)}; "
                         f"--in gives {first!r})")
    missing = [k for k in op.inputs if k != first and k not in extra_inputs]
    if missing:
        raise InputError(f"{op.name!r} also needs {', '.join(missing)}: give --input {missing[0]}=DIR "
                         "(files matched by name)")
    todo, skipped, failed, ignored = [], [], [], []
    inside = out_dir.resolve().is_relative_to(in_dir.resolve())
    for rel in _find_inputs(in_dir, pattern, exclude=out_dir if inside else None):
        paths = {first: str(in_dir / rel)}
        lacking = []
        for key, folder in extra_inputs.items():
            partner = folder / rel
            if partner.is_file():
                paths[key] = str(partner)
            elif key in op.inputs:
                lacking.append(f"{key} ({partner})")
        if lacking and is_side_output(rel):
            ignored.append(rel.as_posix())
            continue
        if lacking:
            failed.append({"file": rel.as_posix(), "kind": "input", "error": f"no matching {', '.join(lacking)}"})
            continue
        if not overwrite and _is_done(_record_path(out_dir, rel), options, paths):
            skipped.append(rel.as_posix())
            continue
        todo.append((rel.as_posix(), paths))
    return todo, skipped, failed, ignored


def run_batch(command: str, in_dir: str | os.PathLike, out_dir: str | os.PathLike, *,
              inputs: Mapping[str, str | os.PathLike] | None = None, options: Mapping[str, Any] | None = None,
              scheduler: str | None = None, workers: int | None = None, pattern: str = "*.tif*",
              overwrite: bool = False, progress: bool = True, extra_modules: Sequence[str] = (),
              client=None, primary: str | None = None, artifacts: bool = True,
              chunk: int | None = None) -> BatchReport:
    """Run ``command`` (``predict``, ``qc``, ``puredenoise`` or any operation) over ``in_dir``.

    Parameters
    ----------
    inputs : mapping, optional
        Folders of the operation's other inputs, matched by relative path (``{"target": "gt/"}``).
    scheduler : str, optional
        Address of a Dask scheduler (``tcp://host:8786``); default: a LocalCluster.
    workers : int, optional
        LocalCluster worker processes (default: CPU count, at most 8).
    client : distributed.Client, optional
        An existing Dask client to use (then ``scheduler``/``workers`` are ignored).
    primary : str, optional
        The operation input ``in_dir`` feeds (default: predictions for QC, else the first input).
    artifacts : bool
        Give the operation a folder for its files (QC: CSV, maps, panels); False is much faster
        when the values and table rows are all that is wanted.
    chunk : int, optional
        Files per Dask task (default: up to 16, so every worker gets at least ~8 tasks).
    """
    from fijax.registry.jobs import jsonable
    from fijax.versions import library_versions

    in_dir, out_dir = Path(in_dir), Path(out_dir)
    if not in_dir.is_dir():
        raise InputError(f"--in: no such folder {in_dir}")
    extra = {k: Path(v) for k, v in (inputs or {}).items()}
    for key, folder in extra.items():
        if not folder.is_dir():
            raise InputError(f"--input {key}: no such folder {folder}")
    if out_dir.resolve() == in_dir.resolve():
        raise InputError("--out must differ from --in (outputs would mix with inputs)")
    op = resolve_operation(command, extra_modules)
    opts = op.parse_options(dict(options or {})).model_dump(mode="json")
    todo, skipped, failed, ignored = plan(op, in_dir, out_dir, extra, pattern, opts, overwrite, primary)
    report = BatchReport(total=len(todo) + len(skipped) + len(failed), skipped=len(skipped), failed=list(failed),
                         ignored=ignored, out_dir=out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    rows: list[dict[str, Any]] = []
    if todo:
        rows = _run_on_dask(op.name, todo, out_dir, opts, scheduler, workers, progress, list(extra_modules),
                            report, client, artifacts, chunk)
    report.seconds = time.perf_counter() - t0
    # Rows of files finished in earlier runs come from their records, so the CSV covers the whole folder.
    for rel in skipped:
        try:
            record = json.loads(_record_path(out_dir, Path(rel)).read_text())
            rows += [_row(rel, row) for row in record.get("table", [])]
        except (OSError, ValueError):
            continue
    rows.sort(key=lambda r: r["file"])
    _write_csv(out_dir / "batch_results.csv", rows)
    _write_csv(out_dir / "batch_failures.csv", [{k: f[k] for k in ("file", "kind", "error")} for f in report.failed],
               ["file", "kind", "error"])
    summary = {"command": command, "operation": op.name, "options": opts, "artifacts": artifacts, "in": str(in_dir), "out": str(out_dir),
               "inputs": {k: str(v) for k, v in extra.items()}, "total": report.total, "done": report.done,
               "skipped": report.skipped, "failed": len(report.failed), "ignored": report.ignored,
               "seconds": report.seconds,
               "scheduler": scheduler or f"LocalCluster({workers or 'auto'} workers)",
               "date": datetime.now(UTC).isoformat(timespec="seconds"), "versions": library_versions()}
    atomic_write_text(out_dir / "batch_summary.json", json.dumps(jsonable(summary), indent=1))
    return report


def _row(rel: str, row: dict[str, Any]) -> dict[str, Any]:
    """A table row tagged with its input file (an operation's own ``file`` column becomes ``op_file``)."""
    return {"file": rel, **{("op_" + k if k == "file" else k): v for k, v in row.items()}}


def _write_csv(path: Path, rows: list[dict[str, Any]], columns: list[str] | None = None) -> None:
    from fijax.io.table import csv_text

    atomic_write_text(path, csv_text(rows, columns or ()))


def process_chunk(op_name: str, items: Sequence[tuple[str, Mapping[str, str]]], out_dir: str,
                  options: dict[str, Any], extra_modules: Sequence[str] = (), artifacts: bool = True) -> list[dict]:
    """:func:`process_one` over several files in one Dask task (amortizes the per-task overhead)."""
    return [process_one(op_name, paths, rel, out_dir, options, extra_modules, artifacts) for rel, paths in items]


def _run_on_dask(op_name: str, todo, out_dir: Path, options: dict, scheduler: str | None, workers: int | None,
                 progress: bool, extra_modules: list[str], report: BatchReport, client=None,
                 artifacts: bool = True, chunk: int | None = None) -> list[dict]:
    from distributed import Client, LocalCluster, as_completed
    from tqdm import tqdm

    if not logging.getLogger().isEnabledFor(logging.INFO):
        # distributed logs every scheduler/nanny step at INFO (and "still alive, killing" at WARNING when a
        # LocalCluster shuts down): noise on a normal run; `fijax -v` shows it.
        logging.getLogger("distributed").setLevel(logging.WARNING)
        logging.getLogger("distributed.nanny").setLevel(logging.ERROR)
    own_cluster = own_client = None
    if client is None:
        if scheduler:
            try:  # an unreachable address fails in seconds with a clear message, not a traceback
                client = own_client = Client(scheduler, timeout=10)
            except (OSError, TimeoutError, ValueError) as exc:
                raise InputError(f"--scheduler {scheduler}: cannot reach the Dask scheduler "
                                 f"({type(exc).__name__}: {exc})") from None
        else:
            n = workers or min(os.cpu_count() or 1, 8)
            own_cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None)
            client = own_client = Client(own_cluster)
    rows: list[dict[str, Any]] = []
    n_workers = max(1, len(client.scheduler_info().get("workers", {})) or (workers or 1))
    size = chunk or max(1, min(16, len(todo) // (8 * n_workers)))
    chunks = [todo[i:i + size] for i in range(0, len(todo), size)]
    try:
        futures = [client.submit(process_chunk, op_name, part, str(out_dir), options, extra_modules, artifacts,
                                 pure=False, key=f"fijax-{op_name}-{i}") for i, part in enumerate(chunks)]
        by_key = {f.key: part for f, part in zip(futures, chunks, strict=True)}
        bar = tqdm(total=len(todo), desc=op_name, unit="file", disable=not progress)
        for future in as_completed(futures):
            try:
                results = future.result()
            except Exception as exc:  # noqa: BLE001 - a worker died (KilledWorker) or similar
                results = [{"status": "failed", "file": rel, "kind": "worker", "error": f"{type(exc).__name__}: {exc}"}
                           for rel, _ in by_key[future.key]]
            for res in results:
                if res["status"] == "done":
                    report.done += 1
                    rows += [_row(res["file"], row) for row in res.get("table", [])]
                else:
                    report.failed.append(res)
                    bar.write(f"failed: {res['file']}: {res['error']}")
            bar.update(len(results))
        bar.close()
    finally:
        if own_client is not None:
            own_client.close()
        if own_cluster is not None:
            own_cluster.close()
    return rows
