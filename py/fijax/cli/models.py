"""``fijax models [list [NAME]]``, ``fijax models show NAME[:VERSION]`` and
``fijax models calibrate NAME[:VERSION] --data DIR``: the model registry.

``calibrate`` adds a domain reference (for ``fijax check``) to a model registered without one,
fitted on in-domain raw images.
"""

from __future__ import annotations

import argparse
import json


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``models`` command."""
    p = subparsers.add_parser("models", help="list registered models or show one model card")
    sub = p.add_subparsers(dest="action", metavar="[list|show]", title="actions (default: list)")
    ls = sub.add_parser("list", help="list models (all versions)")
    ls.add_argument("name", nargs="?", help="only this model's versions")
    ls.add_argument("--json", action="store_true", help="JSON lines instead of a table")
    show = sub.add_parser("show", help="show a model card (verifies the weights' sha256)")
    show.add_argument("model", metavar="NAME[:VERSION]")
    cal = sub.add_parser("calibrate", help="add a domain reference (fijax check) from in-domain images")
    cal.add_argument("model", metavar="NAME[:VERSION]")
    cal.add_argument("--data", nargs="+", required=True, metavar="PATH",
                     help="in-domain raw TIFF files or folders (like the training sources)")
    cal.add_argument("--false-alarm-rate", type=float, default=0.05, help="threshold's false-alarm rate")
    cal.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=run, action=None, name=None, json=False)


def run(args: argparse.Namespace) -> int:
    """Print the listing (table or JSON lines) or one card (JSON)."""
    from fijax import ops

    if args.action == "calibrate":
        result = ops.get("models_calibrate")({}, {"model": args.model, "data": args.data,
                                                  "false_alarm_rate": args.false_alarm_rate, "seed": args.seed})
        print(json.dumps(result.values, default=str))
        return 0
    if args.action == "show":
        result = ops.get("model_show")({}, {"model": args.model})
        if args.json:
            print(json.dumps(result.values, default=str))
        else:  # the card is nested: indented JSON is its readable form
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
