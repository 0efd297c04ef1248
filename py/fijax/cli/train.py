"""``fijax train care|n2v|n2v2|seg --source ... [--target ...] --name NAME``: train and register a model.

A thin adapter over the ``train`` operation with a tqdm progress bar (the same progress callback
the server and the Fiji status bar use).
"""

from __future__ import annotations

import argparse
import json
import sys


def _kv(items: list[str]) -> dict:
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            from fijax.errors import InputError

            raise InputError(f"--set expects KEY=VALUE, got {item!r}")
        try:
            out[key.strip()] = json.loads(value)
        except json.JSONDecodeError:
            out[key.strip()] = value
    return out


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``train`` command."""
    p = subparsers.add_parser("train", help="train a CARE / Noise2Void model and register it",
                              description="Train a U-Net on TIFF images and register it as a new version of "
                                          "NAME. CARE needs --target images (paired with --source by sorted "
                                          "file order); N2V/N2V2 train on the noisy images alone.")
    p.add_argument("task", help="care | n2v | n2v2 | seg (or another registered task)")
    p.add_argument("--source", nargs="+", default=[], metavar="PATH", help="TIFF files or folders")
    p.add_argument("--target", nargs="+", default=[], metavar="PATH",
                   help="target TIFFs (CARE) or label images (seg)")
    p.add_argument("--name", required=True, help="model name in the registry")
    p.add_argument("--preset", default="auto", help="auto (quick on a CPU; on a GPU the task's own preset: care, "
                   "n2v, n2v2 or seg) | quick | care | n2v | n2v2 | n2v-fast | seg")
    p.add_argument("--ndim", type=int, choices=(2, 3), help="2 (default) or 3 (Z spatial)")
    p.add_argument("--epochs", type=int)
    p.add_argument("--steps", type=int, dest="steps_per_epoch", help="steps per epoch")
    p.add_argument("--batch-size", type=int)
    p.add_argument("--patch", dest="patch_size", help="patch size, e.g. 64 or 16x64x64")
    p.add_argument("--lr", type=float, dest="learning_rate")
    p.add_argument("--loss", choices=("mae", "mse", "laplace"))
    p.add_argument("--dropout", type=float, help="dropout rate (enables predict --samples)")
    p.add_argument("--val-fraction", type=float)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--from", dest="parent", metavar="NAME[:VERSION]", help="fine-tune a registered model")
    p.add_argument("--resume", action="store_true", help="continue the latest interrupted run of --name")
    p.add_argument("--restart", action="store_true",
                   help="discard interrupted runs of --name (kept by default) and start a new one")
    p.add_argument("--description", help="intended domain in your words (kept in the model card)")
    p.add_argument("--test", metavar="DIR", help="held-out test data: DIR/source and DIR/target (paired by name); "
                   "QC vs PureDenoise and the domain check are stored with the model")
    p.add_argument("--set", nargs="+", default=[], metavar="KEY=VALUE", help="other TrainConfig fields")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run the ``train`` operation with a progress bar; print the registered model as JSON."""
    from fijax import ops
    from fijax.ops import OpContext

    options = {k: getattr(args, k) for k in ("name", "task", "preset", "ndim", "epochs", "steps_per_epoch",
                                             "batch_size", "patch_size", "learning_rate", "loss", "dropout",
                                             "val_fraction", "seed", "parent", "resume", "restart", "description",
                                             "test")}
    options = {k: v for k, v in options.items() if v is not None}
    options.update(source_paths=args.source, target_paths=args.target, config=_kv(args.set))
    from fijax.cli._progress import CountBar

    # steps counted from the first one (which includes compiling the model), so the ETA is honest
    bar = CountBar(f"train {args.task} {args.name}", "step", enabled=not args.quiet)
    if not args.quiet:
        import jax

        dev = jax.devices()[0]
        where = f"GPU ({dev.device_kind})" if dev.platform == "gpu" else dev.platform.upper()
        auto = " ('auto' preset: quick on a CPU, the task's full preset on a GPU)" if args.preset == "auto" else ""
        print(f"train {args.task} {args.name} on the {where}{auto}: preparing data and compiling the model ...",
              file=sys.stderr, flush=True)
    try:
        result = ops.get("train")({}, options, OpContext(progress=bar))
    finally:
        bar.close()
    from fijax.cli._output import emit, text_lines

    v = result.values
    emit(args, v, [f"registered {v['model']} ({v['task']}, {v.get('epochs')} epochs, {v.get('steps')} steps, "
                   f"{v.get('training_seconds') or 0:.0f} s)", *text_lines(v, ("loss", "val_loss", "best_val_loss",
                   "selected", "parent", "weights_sha256", "path"))])
    return 0
