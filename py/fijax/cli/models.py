"""``fijax models [list [NAME]]`` and ``fijax models show NAME[:VERSION]``: the model registry."""

from __future__ import annotations

import argparse
import json


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``models`` command."""
    p = subparsers.add_parser("models", help="list registered models or show one model card")
    sub = p.add_subparsers(dest="action", metavar="ACTION")
    ls = sub.add_parser("list", help="list models (all versions)")
    ls.add_argument("name", nargs="?", help="only this model's versions")
    ls.add_argument("--json", action="store_true", help="JSON lines instead of a table")
    show = sub.add_parser("show", help="show a model card (verifies the weights' sha256)")
    show.add_argument("model", metavar="NAME[:VERSION]")
    p.set_defaults(func=run, action=None, name=None, json=False)


def run(args: argparse.Namespace) -> int:
    """Print the listing (table or JSON lines) or one card (JSON)."""
    from fijax import ops

    if args.action == "show":
        result = ops.get("model_show")({}, {"model": args.model})
        print(json.dumps(result.values, indent=2, default=str))
        return 0
    result = ops.get("models")({}, {"name": args.name} if args.name else {})
    if args.json:
        for row in result.table:
            print(json.dumps(row, default=str))
        return 0
    cols = ["name", "version", "task", "created", "val_loss", "epochs", "parent"]
    rows = [[("" if r[c] is None else f"{r[c]:.4g}" if isinstance(r[c], float) else str(r[c])) for c in cols]
            for r in result.table]
    widths = [max([len(c)] + [len(r[i]) for r in rows]) for i, c in enumerate(cols)]
    print("  ".join(c.ljust(w) for c, w in zip(cols, widths, strict=True)))
    for r in rows:
        print("  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)))
    if not rows:
        print("(no models registered)")
    return 0
