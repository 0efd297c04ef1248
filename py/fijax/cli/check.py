"""``fijax check --model NAME[:VERSION] IN [IN ...] --out DIR``: domain check without ground truth.

Writes ``DIR/check.csv`` (one row per image: domain_score, in_domain, threshold, windows, ...)
and ``DIR/summary.json`` (``"images": {stem: {"domain_score": float, "in_domain": bool}}``).
Exit status 0 even when images are out of domain (the files say so); 2 on bad input, e.g. a
model without a domain reference (retrain or ``fijax models calibrate``).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``check`` command."""
    p = subparsers.add_parser("check", help="is each image in the model's training domain? (no GT needed)",
                              description="Score images against the domain reference stored with the model "
                                          "(encoder features vs training patches; threshold calibrated on "
                                          "validation data to a stated false-alarm rate).")
    p.add_argument("inputs", nargs="+", metavar="IN", help="TIFF files or folders")
    p.add_argument("--model", required=True, metavar="NAME[:VERSION]")
    p.add_argument("--out", required=True, help="output folder (check.csv, summary.json)")
    p.set_defaults(func=run)


def write_check(out: Path, rows: list[dict], reference_meta: dict | None = None) -> dict:
    """Write ``check.csv`` and ``summary.json`` into ``out``; return the summary."""
    from fijax.io import atomic_write_text
    from fijax.io.table import csv_text
    from fijax.ops.check import CHECK_COLUMNS, summary_json

    summary = summary_json(rows, reference_meta)
    atomic_write_text(out / "check.csv", csv_text([{k: r.get(k) for k in CHECK_COLUMNS} for r in rows]))
    atomic_write_text(out / "summary.json", json.dumps(summary, indent=2, sort_keys=True))
    return summary


def run(args: argparse.Namespace) -> int:
    """Check every input; print one line per image and the written paths."""
    from fijax.engine.domain import load_reference
    from fijax.engine.model import load_model
    from fijax.io import read_tiff
    from fijax.ops.check import check_values
    from fijax.ops.train import collect_tiffs

    files = collect_tiffs(args.inputs)
    trained = load_model(args.model)
    meta = load_reference(trained.record).meta  # fails early and clearly without a reference
    rows = []
    for f in files:
        row = check_values(trained, read_tiff(f, title=f.stem))
        rows.append(row)
        print(f"{f.stem}: domain_score {row['domain_score']:.3f} (threshold {row['threshold']:.3f}) "
              f"{'in domain' if row['in_domain'] else 'OUT OF DOMAIN'}")
    out = Path(args.out)
    summary = write_check(out, rows, meta)
    print(summary["verdict"])
    print(f"wrote {out / 'check.csv'} and {out / 'summary.json'}")
    return 0
