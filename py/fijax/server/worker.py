"""The worker process: holds the JVM (ImageJ) and JAX warm and runs one task at a time.

The server never runs an operation or a macro in its own process: a crash, a hung macro or
a runaway kernel takes down only the worker, which the supervisor
(:mod:`fijax.server.supervisor`) kills and starts again. Tasks and their inputs/outputs are
files in the job's folder, so nothing large crosses the pipe.

Pipe protocol (tuples, pickled by :mod:`multiprocessing`):

* server → worker: a task ``dict`` (see :func:`run_task`) or ``None`` (exit);
* worker → server: ``("ready", pid)``, ``("progress", job_id, fraction, message)``,
  ``("log", job_id, level, message)``, ``("done", job_id, result)``,
  ``("error", job_id, kind, message)`` with ``kind`` in ``input``, ``not_found``, ``macro``,
  ``cancelled``, ``internal``.

Cancellation is cooperative: a shared flag that the supervisor sets on cancel or soft
timeout, read by :meth:`fijax.ops.OpContext.is_cancelled`; a macro is aborted through the
bridge when it offers ``abort``.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import threading
import time
import traceback
from pathlib import Path
from typing import Any

from fijax.errors import CancelledError, InputError, MacroError, NotFoundError
from fijax.io.names import safe_name


def import_modules(names: list[str]) -> None:
    """Import extra operation modules (plugins that register operations outside :mod:`fijax.ops`)."""
    for name in names:
        if name:
            try:
                importlib.import_module(name)
            except ImportError as exc:  # a typo in --ops-module / $FIJAX_EXTRA_OPS is bad input
                raise InputError(f"cannot import the operations module {name!r}: {exc}") from None


def worker_main(conn, cancel_flag, config: dict[str, Any]) -> None:
    """Entry point of the worker process (``multiprocessing`` spawn target)."""
    # JAX beside a JVM: do not let XLA grab most of a GPU's memory at start.
    os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")
    _exit_with_parent()
    from fijax import compile_cache, ops

    compile_cache.enable()

    ops.load_all()
    import_modules(config.get("extra_op_modules", []))
    if config.get("preload_imagej"):
        try:  # start the JVM now, so the first macro does not pay for it
            from fijax.bridge import imagej

            imagej()
        except Exception:  # noqa: BLE001 - macros will report the failure when they run
            traceback.print_exc()
    conn.send(("ready", os.getpid()))
    _warm_in_background(config)
    while True:
        try:
            task = conn.recv()
        except (EOFError, OSError):
            return
        if task is None:
            return
        _run_and_report(conn, cancel_flag, task)


def _warm_in_background(config: dict[str, Any]) -> None:
    """Compile or load the everyday kernels while the worker already takes requests.

    ``warm_shapes`` are always warmed; otherwise, unless ``warm`` is off, the shapes that
    ``fijax setup --warm`` compiled into this cache are loaded (no compilation), so the first
    request of those shapes finds its kernels in memory.
    """
    from fijax.ops._warm import warm, warmed_shapes

    shapes = [tuple(s) for s in config.get("warm_shapes") or []]
    if not shapes and config.get("warm", True):
        shapes = warmed_shapes()
    if not shapes:
        return

    def run() -> None:
        try:
            warm(shapes)
        except Exception:  # noqa: BLE001 - warming is an optimisation; requests report real failures
            traceback.print_exc()

    threading.Thread(target=run, name="fijax-warm", daemon=True).start()


def _exit_with_parent() -> None:
    """End this process when the server dies (even by SIGKILL), instead of finishing an orphan job."""
    parent = os.getppid()

    def watch() -> None:
        while True:
            time.sleep(0.5)
            if os.getppid() != parent:
                os._exit(3)

    threading.Thread(target=watch, name="fijax-parent-watch", daemon=True).start()


def _run_and_report(conn, cancel_flag, task: dict[str, Any]) -> None:
    job_id = task["job_id"]
    try:
        result = run_task(task, conn, cancel_flag)
        conn.send(("done", job_id, result))
    except NotFoundError as exc:
        conn.send(("error", job_id, "not_found", str(exc)))
    except InputError as exc:
        conn.send(("error", job_id, "input", str(exc)))
    except MacroError as exc:
        conn.send(("error", job_id, "macro", str(exc)))
    except CancelledError as exc:
        conn.send(("error", job_id, "cancelled", str(exc) or "cancelled"))
    except Exception as exc:  # noqa: BLE001 - a failing task must not end the worker loop
        conn.send(("log", job_id, "error", traceback.format_exc()))
        conn.send(("error", job_id, "internal", f"{type(exc).__name__}: {exc}"))


class _Progress:
    """Forward progress to the server, at most ten times a second (plus the final 100 %)."""

    def __init__(self, conn, job_id: str):
        self.conn, self.job_id, self.last = conn, job_id, 0.0

    def __call__(self, fraction: float, message: str = "") -> None:
        now = time.monotonic()
        if now - self.last >= 0.1 or fraction >= 1.0:
            self.last = now
            self.conn.send(("progress", self.job_id, float(fraction), str(message)))


def run_task(task: dict[str, Any], conn, cancel_flag) -> dict[str, Any]:
    """Run one task and write its output images; return the JSON-able result.

    Parameters
    ----------
    task : dict
        ``job_id``, ``kind`` (``"op"`` or ``"macro"``), ``name`` (operation), ``options`` (dict),
        ``inputs`` (``{name or title: TIFF path}``), ``dir`` (job folder), ``code`` (macro text).
    """
    from fijax.io import read_tiff, write_tiff
    from fijax.ops import OpContext, get
    from fijax.registry.jobs import jsonable

    folder = Path(task["dir"])
    images_dir = folder / "images"
    artifacts = folder / "artifacts"
    artifacts.mkdir(parents=True, exist_ok=True)
    max_bytes = task.get("max_decoded_bytes")
    inputs = {key: _read_input(read_tiff, path, key, max_bytes) for key, path in task["inputs"].items()}
    progress = _Progress(conn, task["job_id"])

    def cancelled() -> bool:
        return bool(cancel_flag.value)

    # Server-side writes stay in the job's artifacts (or the operator's --outputs folder): a token
    # holder must not be able to overwrite arbitrary files of the server's user.
    root = task.get("output_root")
    ctx = OpContext(out_dir=artifacts if task.get("artifacts", True) else None, progress=progress,
                    is_cancelled=cancelled, confine_outputs=True, output_root=Path(root) if root else None)
    if task["kind"] == "macro":
        images, table, values, files, log = _run_macro(task["code"], inputs, cancelled,
                                                       task["options"].get("params") or {}, artifacts, progress)
        if log:
            conn.send(("log", task["job_id"], "macro", log))
    elif task["kind"] == "command":
        images, table, values, files = _run_command(task["name"], task["options"].get("options", ""), inputs, ctx)
    elif task["kind"] == "call":
        images, table, values, files = {}, [], {"text": _run_call(task["name"], task["options"].get("args", []),
                                                                  inputs, ctx)}, {}
    else:
        op = get(task["name"])
        result = op(inputs, task["options"], ctx)
        images, table, values, files = result.images, result.table, result.values, result.files
    taken: set[str] = set()
    out_images = {}
    for title, image in images.items():
        name = safe_name(title, taken)
        write_tiff(images_dir / f"{name}.tif", image)
        out_images[name] = {"title": str(title), "shape": list(image.shape), "dtype": str(image.data.dtype),
                            "axes": image.axes, "pixel_size": image.pixel_size, "unit": image.unit}
    out_files = {}
    for key, path in files.items():
        path = Path(path)
        try:
            out_files[str(key)] = path.resolve().relative_to(artifacts.resolve()).as_posix()
        except ValueError:
            conn.send(("log", task["job_id"], "warning", f"artifact {key!r} is outside the job folder: {path}"))
    progress(1.0, "done")
    return jsonable({"values": values, "table": table, "images": out_images, "files": out_files})


def _read_input(read_tiff, path: str, key: str, max_bytes: int | None = None):
    """Read an uploaded image (TIFF, or OME-TIFF/CZI/ND2/LIF through bioio); any decoding failure is bad input."""
    from fijax.io.microscopy import kind_of, read_image

    try:
        if kind_of(path) == ".tif":
            return read_tiff(path, title=key, max_bytes=max_bytes)
        return read_image(path, title=key)
    except InputError as exc:
        raise InputError(f"input {key!r}: {exc}") from exc
    except Exception as exc:  # noqa: BLE001 - tifffile raises many types on corrupt data
        raise InputError(f"input {key!r}: not a readable TIFF file ({type(exc).__name__}: {exc})") from exc


def _run_macro(code: str, inputs: dict, cancelled, params: dict | None = None,
               artifacts: Path | None = None, progress=None) -> tuple[dict, list, dict, dict, str]:
    """Run a macro through the bridge; abort it when the cancel flag is raised.

    ``params`` are the values of its ``#@`` parameters; ``#@output`` values come back as values
    (images among the images), and every other table (``<title>.csv``) and the ROI Manager's ROIs
    (``RoiSet.zip``) are written to ``artifacts``. The progress of the FiJAX commands it runs
    (``run("FiJAX Train", ...)``) goes to ``progress`` (the job's progress events).
    """
    from fijax import bridge

    ij = bridge.imagej()
    done = threading.Event()
    abort = getattr(ij, "abort", None) or getattr(ij, "abort_macro", None)

    def watch() -> None:
        while not done.wait(0.2):
            if cancelled() and abort is not None:
                abort()
                return

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    from fijax.bridge.transport import progress_sink

    try:
        with progress_sink(progress) if progress is not None else contextlib.nullcontext():
            res = ij.run_macro(code, inputs, params=params or None)
    finally:
        done.set()
    if cancelled():
        raise CancelledError("macro aborted")
    images = getattr(res, "images", {}) or {}
    if isinstance(images, list | tuple):
        images = {getattr(im, "title", f"image{i}"): im for i, im in enumerate(images)}
    table = getattr(res, "results", []) or []
    if hasattr(table, "to_dict"):  # a DataFrame-like table
        table = table.to_dict(orient="records")
    elif isinstance(table, dict):  # columns → rows
        cols = list(table)
        n = max((len(v) for v in table.values()), default=0)
        table = [{c: table[c][i] if i < len(table[c]) else None for c in cols} for i in range(n)]
    values = dict(getattr(res, "values", {}) or {})
    from fijax.io import Image

    files: dict[str, Path] = {}
    for key, value in (getattr(res, "outputs", {}) or {}).items():
        if isinstance(value, Image):
            images = {**images, key: value}
        else:
            values[key] = value
    if artifacts is not None:
        from fijax.io import atomic_write_bytes, atomic_write_text
        from fijax.io.table import csv_text

        taken: set[str] = {"results"}
        for title, rows in (getattr(res, "tables", {}) or {}).items():
            name = safe_name(title, taken)
            files[f"table:{title}"] = atomic_write_text(artifacts / f"{name}.csv", csv_text(rows))
        if getattr(res, "rois", None):
            files["rois"] = atomic_write_bytes(artifacts / "RoiSet.zip", res.rois)
    log = getattr(res, "log", "") or ""
    return images, list(table), values, files, str(log)


def _run_command(label: str, raw_options: str, inputs: dict, ctx) -> tuple[dict, list, dict, dict]:
    """Run a FiJAX macro command for a desktop Fiji (the HTTP twin of the in-process transport).

    ``inputs`` are keyed by the command's option keys; titles, rows and the ``message`` value follow
    :func:`fijax.bridge.commands._run.run_command`, as in-process.
    """
    from fijax.bridge.commands._run import run_command

    out = run_command(label, raw_options, inputs, ctx)
    return out.images, out.rows, {**out.values, "message": out.message}, out.files


def _run_call(function: str, args: list[str], inputs: dict, ctx) -> str:
    """Evaluate a macro ``call("fijax.ij.Bridge.call", function, args...)`` for a desktop Fiji.

    The images came as TIFF parts of the request (their titles in the options are not looked up).
    """
    from fijax.bridge import commands
    from fijax.bridge.commands._run import call_function

    if inputs and function in commands.functions():
        raise InputError(f"function {function!r} takes no images")
    return call_function(function, args, lambda operation, titles: inputs, ctx)
