"""``fijax batch predict|qc|puredenoise --in DIR --out DIR``: an operation over a folder on Dask."""

from __future__ import annotations

import argparse
import json
import os
import sys

from fijax.errors import InputError


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``batch`` command."""
    p = subparsers.add_parser(
        "batch", help="run predict, qc, puredenoise (or any operation) over a folder on Dask",
        description="Run an operation over every TIFF of a folder on Dask distributed (a LocalCluster, or the "
                    "scheduler given with --scheduler). Resumable: files whose record <out>/<name>.json exists "
                    "with the same options are skipped. Each file's failure is reported in "
                    "<out>/batch_failures.csv without stopping the others. Exit code 1 when any file failed.")
    p.add_argument("command", metavar="OPERATION",
                   help="predict, qc (--in: predictions; needs --input gt=DIR), qc-labels, puredenoise, "
                        "or any operation name")
    p.add_argument("--in", dest="in_dir", required=True, help="folder of input TIFFs (the operation's first input)")
    p.add_argument("--out", dest="out_dir", required=True, help="output folder")
    p.add_argument("--in-as", metavar="NAME", help="the operation input --in feeds (default: prediction for "
                                                  "qc, else the operation's first input)")
    p.add_argument("--input", action="append", default=[], metavar="NAME=DIR",
                   help="folder for another input, files matched by name (e.g. target=gt/); repeatable")
    p.add_argument("--options", default="{}", help="options as a JSON object")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="one option (VALUE parsed as JSON when possible); repeatable")
    p.add_argument("--scheduler", help="Dask scheduler address (default: a LocalCluster on this machine)")
    p.add_argument("--workers", type=int, help="LocalCluster worker processes (default: CPU count, at most 8)")
    p.add_argument("--pattern", default="*.tif*", help="file pattern, searched recursively (default *.tif*; e.g. '*.czi', '*.ome.zarr')")
    p.add_argument("--overwrite", action="store_true", help="redo files that already have outputs")
    p.add_argument("--no-artifacts", action="store_true",
                   help="no per-file artifact folders (QC: CSV, maps, panels): values and tables only, faster")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--chunk", type=int, help="files per Dask task (default: up to 16, >= 8 tasks per worker)")
    p.add_argument("--ops-module", action="append", default=[], metavar="MODULE",
                   help="import this module to register extra operations (also $FIJAX_EXTRA_OPS)")
    p.set_defaults(func=run)


def parse_options(text: str, pairs: list[str]) -> dict:
    """Merge ``--options`` JSON and ``--set KEY=VALUE`` pairs."""
    try:
        options = json.loads(text)
    except ValueError as exc:
        raise InputError(f"--options: malformed JSON ({exc})") from exc
    if not isinstance(options, dict):
        raise InputError("--options must be a JSON object")
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise InputError(f"--set expects KEY=VALUE, got {pair!r}")
        try:
            options[key] = json.loads(value)
        except ValueError:
            options[key] = value
    return options


def run(args: argparse.Namespace) -> int:
    """Run the batch and print a summary; exit code 1 when any file failed."""
    from fijax.batch import run_batch

    inputs = {}
    for pair in args.input:
        key, sep, folder = pair.partition("=")
        if not sep or not key or not folder:
            raise InputError(f"--input expects NAME=DIR, got {pair!r}")
        inputs[key] = folder
    if args.workers is not None and args.workers < 1:
        raise InputError(f"--workers must be at least 1, got {args.workers}")
    if args.chunk is not None and args.chunk < 1:
        raise InputError(f"--chunk must be at least 1, got {args.chunk}")
    extra = [m for m in os.environ.get("FIJAX_EXTRA_OPS", "").split(",") if m.strip()] + list(args.ops_module)
    from fijax.cli._outputs import check_writable

    check_writable(args.out_dir, folder=True)
    report = run_batch(args.command, args.in_dir, args.out_dir, inputs=inputs,
                       options=parse_options(args.options, args.set), scheduler=args.scheduler,
                       workers=args.workers, pattern=args.pattern, overwrite=args.overwrite,
                       progress=not args.no_progress, extra_modules=extra, primary=args.in_as,
                       artifacts=not args.no_artifacts, chunk=args.chunk)
    print(f"{report.total} files: {report.done} done, {report.skipped} already done (skipped), "
          f"{len(report.failed)} failed in {report.seconds:.1f} s; outputs in {report.out_dir}")
    if report.ignored:
        shown = ", ".join(report.ignored[:8]) + (f" and {len(report.ignored) - 8} more" if len(report.ignored) > 8
                                                 else "")
        print(f"ignored {len(report.ignored)} file(s) of fijax predict's extra outputs without a partner: {shown}")
    for failure in report.failed[:20]:
        print(f"  failed {failure['file']}: {failure['error']}", file=sys.stderr)
    if len(report.failed) > 20:
        print(f"  ... and {len(report.failed) - 20} more in batch_failures.csv", file=sys.stderr)
    return 0 if report.ok else 1
