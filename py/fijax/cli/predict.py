"""``fijax predict --model NAME[:VERSION] IN [IN ...] --out OUT [--samples N]``: restore TIFFs.

One input and an ``--out`` ending in ``.tif``/``.tiff`` writes that file; otherwise ``--out`` is a
folder receiving ``<stem>.tif`` per input. Extra outputs (``std`` with ``--samples``, ``scale`` of
Laplace models) go beside it as ``<stem>_std.tif`` etc. Segmentation models write the label image
as the main output, ``<stem>_probabilities.tif`` and the object table ``<stem>_objects.csv``.
With ``--check`` the GT-free domain check runs too and ``check.csv`` and ``summary.json`` (as
written by ``fijax check``) go into the output folder (beside the output file for one input).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``predict`` command."""
    p = subparsers.add_parser("predict", help="restore images with a registered model",
                              description="Tiled prediction with a registered model (sha256-verified).")
    p.add_argument("inputs", nargs="+", metavar="IN", help="TIFF files or folders")
    p.add_argument("--model", required=True, metavar="NAME[:VERSION]")
    p.add_argument("--out", required=True, help="output TIFF (one input) or folder")
    p.add_argument("--samples", type=int, default=0, help="Monte-Carlo dropout passes (mean + std)")
    p.add_argument("--n-tiles", help="tiles per spatial axis, e.g. 2,2 (default: automatic)")
    p.add_argument("--batch-size", type=int, help="tiles per forward pass")
    p.add_argument("--memory-mb", type=int, default=4096, help="memory budget per batch of tiles")
    p.add_argument("--seed", type=int, default=0, help="seed of the dropout masks")
    p.add_argument("--check", action="store_true",
                   help="also run the GT-free domain check: check.csv and summary.json beside the outputs")
    p.add_argument("--quiet", action="store_true", help="no progress bar (shown with --samples)")
    p.set_defaults(func=run)


def _write_csv(path: Path, rows: list[dict]) -> None:
    from fijax.io import atomic_write_text
    from fijax.io.table import csv_text

    atomic_write_text(path, csv_text(rows))


def _record(args: argparse.Namespace, rec: dict) -> None:
    """One written file: a JSON line with --json, else ``wrote OUTPUT (kind) from INPUT``."""
    if args.json:
        print(json.dumps(rec), flush=True)
    else:
        print(f"wrote {rec['output']} ({rec['kind']}, {rec['model']}) from {rec['input']}", flush=True)


def run(args: argparse.Namespace) -> int:
    """Predict every input; print one JSON line per written file."""
    from fijax import ops
    from fijax.cli._outputs import check_collisions, check_not_input, check_writable, note_replaced
    from fijax.errors import InputError
    from fijax.io.microscopy import kind_of, read_image, write_image
    from fijax.ops.train import collect_tiffs

    files = collect_tiffs(args.inputs)
    out = Path(args.out)
    as_file = kind_of(out) in (".tif", ".ome.tif", ".ome.tiff", ".ome.zarr")
    single = len(files) == 1 and as_file
    if not single and as_file:
        raise InputError(f"{len(files)} inputs need --out to be a folder, not {out.name}")
    options = {"model": args.model, "samples": args.samples, "memory_mb": args.memory_mb, "seed": args.seed,
               "check": args.check}
    if args.n_tiles:
        try:
            options["n_tiles"] = [int(t) for t in args.n_tiles.replace("x", ",").split(",")]
        except ValueError as exc:
            raise InputError(f"--n-tiles expects integers like 2,2, got {args.n_tiles!r}") from exc
    if args.batch_size is not None:
        if args.batch_size < 1:
            raise InputError(f"--batch-size must be at least 1 (omit it for automatic), got {args.batch_size}")
        options["batch_size"] = args.batch_size
    # every output is known before computing: refuse collisions, in-place overwrites and unwritable places
    plan = {f: (out if single else out / f"{f.name[:-len(kind_of(f))] or f.stem}.tif") for f in files}
    check_collisions(plan)
    check_not_input(plan.values(), files)
    check_writable(out, folder=not single)
    note_replaced(plan.values())
    op = ops.get("predict")
    checks = []
    for f in files:
        stem = f.name[:-len(kind_of(f))] or f.stem
        from fijax.cli._progress import CountBar
        from fijax.ops import OpContext

        # with --samples, one bar per file over the Monte-Carlo passes (a 2048² image takes a while)
        bar = CountBar(f"predict {f.name}", "sample", enabled=args.samples > 1 and not args.quiet)
        try:
            result = op({"image": read_image(f, title=stem)}, options, OpContext(progress=bar))
        finally:
            bar.close()
        if args.check:
            v = result.values
            checks.append({"image": stem, "model": v["model"], "domain_score": v["domain_score"],
                           "in_domain": v["in_domain"], "threshold": v["domain_threshold"],
                           "windows": v["domain_windows"]})
        base = plan[f]
        for i, (name, image) in enumerate(result.images.items()):
            # the first image is the main output (prediction; labels of segmentation models)
            kind = kind_of(base)
            path = base if i == 0 else base.with_name(f"{base.name[:-len(kind)]}_{name}{kind}")
            write_image(path, image)
            _record(args, {"input": str(f), "output": str(path), "kind": name, "model": result.values["model"]})
        if result.table:  # segmentation: one row per object
            path = base.with_name(f"{base.name[:-len(kind_of(base))]}_objects.csv")
            _write_csv(path, result.table)
            _record(args, {"input": str(f), "output": str(path), "kind": "objects", "model": result.values["model"]})
    if checks:
        from fijax.cli.check import write_check
        from fijax.engine.domain import load_reference
        from fijax.registry.models import ModelRegistry

        meta = load_reference(ModelRegistry().get(checks[0]["model"])).meta
        for row in checks:
            row["false_alarm_rate"] = meta["false_alarm_rate"]
        folder = out.parent if single else out
        summary = write_check(folder, checks, meta)
        _record(args, {"input": ", ".join(r["image"] for r in checks), "output": str(folder / "check.csv"),
                       "kind": f"domain check ({summary['out_of_domain']} out of domain)",
                       "model": checks[0]["model"]})
    return 0
