"""``fijax macro FILE.ijm [--input NAME=PATH ...] [--param NAME=VALUE ...] --out DIR``: run an ImageJ macro headless.

Inputs are image files read before the JVM starts (a corrupt or unreadable file fails right away) and
opened titled ``NAME``. ``--param`` gives the values of the macro's SciJava script parameters
(``#@ File (style="directory") input``, ``#@ Integer radius`` ...); a parameter without a value or a
``value=`` default stops the run before it starts, naming it. Every image left open is saved as
``DIR/<title>.tif``, the Results table as ``DIR/results.csv``, every other table the macro showed
(``Table.create``, the "Summary" of Analyze Particles) as ``DIR/<table>.csv``, the ROI Manager's
ROIs as ``DIR/RoiSet.zip`` (an ImageJ ROI set), image overlays as ``DIR/<title>.overlay.zip``,
``#@output`` values as ``DIR/outputs.json`` and the macro's printed output as ``DIR/log.txt``. A
failing macro exits with code 2 and a message naming the macro line.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import sys
import threading
from pathlib import Path

from fijax.cli._remote import add_server_option, connect
from fijax.errors import InputError, MacroError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("macro", help="run an ImageJ macro headless (FiJAX commands included)",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("file", help="macro file (.ijm)")
    p.add_argument("--input", "-i", action="append", default=[], metavar="NAME=PATH",
                   help="open the image file at PATH (TIFF, OME-TIFF, OME-Zarr, CZI, ND2, LIF) titled NAME (repeatable)")
    p.add_argument("--param", "-p", action="append", default=[], metavar="NAME=VALUE",
                   help="value of a #@ script parameter of the macro (repeatable)")
    p.add_argument("--out", "-o", required=True, help="output folder")
    p.add_argument("--arg", default="", help="string passed to the macro's getArgument()")
    p.add_argument("--heap", default=None, help="maximum Java heap, e.g. 4g (default $FIJAX_JAVA_HEAP or 2g)")
    p.add_argument("--timeout", type=float, default=None, metavar="SECONDS",
                   help="abort the macro after this many seconds (default: no limit)")
    add_server_option(p)
    p.set_defaults(func=run)


def parse_inputs(specs: list[str]) -> dict[str, Path]:
    """Parse ``NAME=PATH`` specs; raise :class:`InputError` on a bad spec or a repeated name."""
    out: dict[str, Path] = {}
    for spec in specs:
        name, sep, path = spec.partition("=")
        if not sep or not name or not path:
            raise InputError(f"--input expects NAME=PATH, got {spec!r}")
        if name in out:
            raise InputError(f"--input name {name!r} given twice")
        out[name] = Path(path)
    return out


def parse_params(specs: list[str]) -> dict[str, str]:
    """Parse ``KEY=VALUE`` specs; raise :class:`InputError` on a bad spec or a repeated key."""
    out: dict[str, str] = {}
    for spec in specs:
        key, sep, value = spec.partition("=")
        if not sep or not key:
            raise InputError(f"--param expects KEY=VALUE, got {spec!r}")
        if key in out:
            raise InputError(f"--param {key!r} given twice")
        out[key] = value
    return out


def safe_filename(title: str) -> str:
    """A file stem for an image title: path separators and control characters become ``_``."""
    stem = re.sub(r"[\\/:*?\"<>|\x00-\x1f]", "_", title).strip().strip(".")
    for ext in (".tif", ".tiff"):
        if stem.lower().endswith(ext):
            stem = stem[: -len(ext)]
    return stem or "image"


def results_csv(rows: list[dict]) -> str:
    """CSV text of Results rows (columns in first-seen order)."""
    from fijax.io.table import csv_text

    return csv_text(rows)


def run(args: argparse.Namespace) -> int:
    from fijax.cli._outputs import check_writable
    from fijax.io import atomic_write_text
    from fijax.io.microscopy import read_image

    macro = Path(args.file)
    if not macro.is_file():
        raise InputError(f"macro file not found: {macro}")
    try:
        code = macro.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"macro file {macro} is not UTF-8 text (byte {exc.start}: {exc.reason}); save it as "
                         "UTF-8") from None
    if args.heap is not None and not re.fullmatch(r"[1-9][0-9]{0,6}[kKmMgGtT]?", args.heap):
        raise InputError(f"--heap expects a size such as 4g or 512m, got {args.heap!r}")
    if args.timeout is not None and not 0 < args.timeout < 1e9:
        raise InputError(f"--timeout must be a positive number of seconds, got {args.timeout}")
    out = Path(args.out)
    check_writable(out, folder=True)  # before the macro runs: its outputs must not be lost afterwards
    # Read every input before the JVM starts: bad files fail fast with a clear message.
    inputs = {name: read_image(path, title=name) for name, path in parse_inputs(args.input).items()}

    params = parse_params(args.param)
    # the server's /macro takes no getArgument() string: such a macro runs here
    client = connect(args) if not args.arg else None
    if client is not None:
        with client:
            remote = client.macro(code, inputs, params=params or None, timeout=args.timeout)
        result = RemoteMacroResult(remote.images, remote.table, remote.log, remote.values)
    else:
        from fijax.bridge import imagej

        backend = imagej(heap=args.heap) if args.heap else imagej()
        timed_out_message = f"macro {macro.name} timed out after {args.timeout or 0:g} s and was aborted"
        with _deadline(args.timeout) as timed_out:
            try:
                result = backend.run_macro(code, inputs=inputs, args=args.arg, params=params)
            except MacroError:
                if timed_out.is_set():  # the abort surfaces as a macro error (ThreadDeath): say what happened
                    raise MacroError(timed_out_message) from None
                raise
        if timed_out.is_set():
            raise MacroError(timed_out_message)
    save_result(result, out)
    atomic_write_text(out / "log.txt", result.log)
    return 0


@contextlib.contextmanager
def _deadline(seconds: float | None, grace: float = 10.0):
    """Abort the running macro after ``seconds``; end the process when it does not stop ``grace`` s later.

    Yields an event set when the deadline passed. ImageJ's interpreter checks its abort flag
    between statements, so a ``while (true) {}`` stops; a plugin blocked inside Java may not, and
    then the process exits (status 124, as ``timeout(1)``) rather than hang.
    """
    fired, finished = threading.Event(), threading.Event()

    def watch() -> None:
        if finished.wait(seconds):
            return
        fired.set()
        import jpype

        jpype.JClass("ij.macro.Interpreter").abort()
        if not finished.wait(grace):
            print(f"fijax macro: error: timed out after {seconds:g} s and did not stop when aborted", file=sys.stderr,
                  flush=True)
            os._exit(124)

    if seconds is not None:
        threading.Thread(target=watch, name="fijax-macro-timeout", daemon=True).start()
    try:
        yield fired
    finally:
        finished.set()


class RemoteMacroResult:
    """What :func:`save_result` needs of a macro run by a server: images, Results rows and log."""

    def __init__(self, images: dict, results: list[dict], log: str, outputs: dict):
        self.images, self.results, self.log, self.outputs = images, results, log, outputs


def save_result(result, out: Path) -> None:
    """Write every image of a macro/script result as ``out/<title>.tif`` and its Results as ``results.csv``."""
    from fijax.io import atomic_write_bytes, atomic_write_text, write_tiff

    out.mkdir(parents=True, exist_ok=True)
    used: set[str] = set()
    for title, image in result.images.items():
        stem, k = safe_filename(title), 2
        while stem in used:
            stem, k = f"{safe_filename(title)}-{k}", k + 1
        used.add(stem)
        write_tiff(out / f"{stem}.tif", image)
        print(f"wrote {out / (stem + '.tif')}  {image.data.dtype} {image.axes} {tuple(image.shape)}")
    if result.results:
        atomic_write_text(out / "results.csv", results_csv(result.results))
        print(f"wrote {out / 'results.csv'}  ({len(result.results)} rows)")
    names = {"results"}
    for title, rows in (getattr(result, "tables", None) or {}).items():
        stem, k = safe_filename(title), 2
        while stem.lower() in names:
            stem, k = f"{safe_filename(title)}-{k}", k + 1
        names.add(stem.lower())
        atomic_write_text(out / f"{stem}.csv", results_csv(rows))
        print(f"wrote {out / (stem + '.csv')}  ({len(rows)} rows)")
    rois = getattr(result, "rois", None)
    if rois:
        atomic_write_bytes(out / "RoiSet.zip", rois)
        print(f"wrote {out / 'RoiSet.zip'}")
    for title, data in (getattr(result, "overlays", None) or {}).items():
        atomic_write_bytes(out / f"{safe_filename(title)}.overlay.zip", data)
        print(f"wrote {out / (safe_filename(title) + '.overlay.zip')}")
    save_outputs(getattr(result, "outputs", None) or {}, out)


def save_outputs(outputs: dict, out: Path) -> None:
    """Write ``#@output`` values as ``out/outputs.json`` (images as ``out/<name>.tif``)."""
    import json

    from fijax.io import Image, atomic_write_text, write_tiff

    if not outputs:
        return
    plain = {}
    for key, value in outputs.items():
        if isinstance(value, Image):
            write_tiff(out / f"{safe_filename(key)}.tif", value)
            plain[key] = f"{safe_filename(key)}.tif"
        else:
            plain[key] = value
    atomic_write_text(out / "outputs.json", json.dumps(plain, indent=2, default=str) + "\n")
    print(f"wrote {out / 'outputs.json'}")
