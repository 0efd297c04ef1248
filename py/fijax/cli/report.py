"""``fijax report model NAME[:VERSION]`` and ``fijax report qc DIR`` (thin adapters over the report ops)."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``report`` command group."""
    p = subparsers.add_parser("report", help="reproducibility reports (training, QC) and methods paragraphs",
                              description="Write self-contained HTML reports with the same facts as JSON and a "
                                          "methods paragraph ready for a paper.")
    sub = p.add_subparsers(dest="report_kind", metavar="KIND", required=True)
    m = sub.add_parser("model", help="training report of a registered model",
                       description="Training report of NAME[:VERSION] from the model registry: hyperparameters, "
                                   "data with sha256, versions, device, loss curves, example patches, metrics, "
                                   "parent model, methods paragraph.")
    m.add_argument("model", metavar="NAME[:VERSION]")
    m.add_argument("--out", help="output folder (default: FIJAX_HOME/reports/NAME/VERSION)")
    m.add_argument("--qc", metavar="DIR", help="`fijax qc` output folder on held-out test data (in the report)")
    m.set_defaults(func=run_model)
    q = sub.add_parser("qc", help="QC report of a fijax qc / compare output folder",
                       description="QC report of DIR (written by fijax qc or fijax compare): tables, verdicts, "
                                   "SSIM/RSE map panels, matching for labels, and a warning when evaluation files "
                                   "are training files of --model (by sha256).")
    q.add_argument("qc_dir", metavar="DIR")
    q.add_argument("--model", metavar="NAME[:VERSION]", help="evaluated model (overlap check, methods paragraph)")
    q.add_argument("--origin", help="where the evaluation images come from (stated in the report)")
    q.add_argument("--eval-file", action="append", default=[], metavar="TIFF",
                   help="evaluation file to hash pixel-wise against the training images (repeatable)")
    q.add_argument("--check", metavar="CHECK_DIR",
                   help="output folder of `fijax check` on the evaluation images: out-of-domain images are "
                        "reported and the model is then never called acceptable")
    q.add_argument("--out", help="output folder (default: DIR)")
    q.set_defaults(func=run_qc)


def _print(args: argparse.Namespace, result) -> None:
    from fijax.cli._output import emit, text_lines

    v = {k: val for k, val in result.values.items() if k != "methods"}
    emit(args, v, ["report written:", *text_lines(v)])


def run_model(args: argparse.Namespace) -> int:
    """Run ``report_model`` and print the written paths as JSON."""
    from fijax import ops

    _print(args, ops.get("report_model")({}, {"model": args.model, "out": args.out, "qc": args.qc}))
    return 0


def run_qc(args: argparse.Namespace) -> int:
    """Run ``report_qc`` and print verdict, overlap warning and paths as JSON."""
    from fijax import ops

    result = ops.get("report_qc")({}, {"qc_dir": args.qc_dir, "model": args.model, "origin": args.origin,
                                       "eval_files": args.eval_file, "out": args.out,
                                       "check": args.check})
    _print(args, result)
    return 0
