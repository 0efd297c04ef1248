"""``fijax compare``: rank several methods' outputs on one ground truth (adapter over ``compare``).

::

    fijax compare --gt GT --source SRC --method CARE=out/care --method PureDenoise=out/pd \
        --baseline PureDenoise --out DIR

writes ``DIR/compare.csv`` (ranking by PSNR and structure SSIM, raw input last), ``compare_per_image.csv``,
``compare.png`` and ``summary.json``. It prints which method is best on both PSNR and structure SSIM
(or that none is) and where SSIM, PSNR and structure SSIM disagree; with ``--baseline`` every
method gets the verdict of :func:`fijax.qc.baseline.baseline_verdict` against it.

Given ``--model`` (or ``--run-denoisers``) instead of ``--method``, it first produces the outputs:
the flagship "DL vs classical" workflow of ``fijax compare-denoisers`` (Gaussian, Median,
PureDenoise and the model(s) on ``--source``; ``--gt`` optional, MC-dropout uncertainty without it)::

    fijax compare --source noisy.tif --gt gt.tif --model denoiser --out DIR
"""

from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``compare`` command."""
    p = subparsers.add_parser(
        "compare", help="rank several methods' outputs against one ground truth",
        description="Measure each method's output (TIFF file or folder paired by file name with GT) and the "
                    "raw input against the ground truth, on the whole image and on the structure (GT Otsu "
                    "foreground, dilated); rank by whole-image PSNR and structure SSIM, and say where the "
                    "metrics disagree.")
    p.add_argument("--gt", help="ground-truth TIFF file or folder (required unless the denoisers are run)")
    p.add_argument("--source", help="source (raw input) TIFF file or folder")
    p.add_argument("--baseline", metavar="B",
                   help="the method to beat: one of the --method names, 'puredenoise' (computed from --source) "
                        "or a TIFF file/folder")
    p.add_argument("--method", action="append", default=[], metavar="NAME=PATH",
                   help="a method's outputs (repeat for each method)")
    p.add_argument("--model", action="append", default=[], metavar="NAME[:VERSION]",
                   help="run the flagship workflow on --source with this registered model (repeatable)")
    p.add_argument("--run-denoisers", action="store_true",
                   help="run Gaussian, Median and PureDenoise on --source first (implied by --model)")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--no-normalize", dest="normalize", action="store_false",
                   help="measure raw pixels instead of norm_minmse pairs (needs --data-range for floats)")
    p.add_argument("--data-range", type=float, help="intensity span with --no-normalize")
    p.add_argument("--no-plot", dest="plot", action="store_false", help="do not write compare.png")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run the ``compare`` operation (or the flagship workflow) and print the ranking."""
    from fijax.errors import InputError
    from fijax.ops import OpContext

    if args.model or args.run_denoisers:
        if args.method:
            raise InputError("give either --method NAME=PATH (outputs you have) or --model/--run-denoisers")
        if not args.source:
            raise InputError("--model/--run-denoisers need --source (the noisy image or folder)")
        from fijax.cli import compare_denoisers

        return compare_denoisers.run(argparse.Namespace(
            noisy=args.source, gt=args.gt, model=args.model, out=args.out,
            methods="gaussian,median,puredenoise" + (",dl" if args.model else ""), sigma=2.0, radius=2.0,
            cycle_spins=4, mc_samples=8, seed=0, json=args.json))
    if not args.gt or not args.method:
        raise InputError("compare needs --gt and at least one --method NAME=PATH (or --model to run the denoisers)")
    from fijax.ops.compare import parse_method_specs, run_compare

    options = {"gt": args.gt, "source": args.source, "baseline": args.baseline,
               "methods": parse_method_specs(args.method),
               "normalize": args.normalize, "data_range": args.data_range, "plot": args.plot}
    out = Path(args.out)
    from fijax.cli._outputs import check_writable

    check_writable(out, folder=True)
    result = run_compare(options, OpContext(out_dir=out))
    from fijax.cli._output import emit

    lines = []
    for r in result.table:
        verdict = r["verdict_vs_baseline"] or r["verdict_vs_source"] or ""
        lines.append(f"{r['rank']:>2}. {r['method']:<20} PSNR {r['mean_psnr']:.2f} dB  structure SSIM "
                     f"{r['mean_fg_ssim']:.4f}  SSIM {r['mean_ssim']:.4f}  RMSE {r['mean_rmse']:.4f}  {verdict}")
    lines.append(f"best (first on PSNR and structure SSIM): {result.values['best']}")
    lines += [f"metrics disagree: {d}" for d in result.values["disagreements"]]
    emit(args, {"ranking": result.table, "best": result.values["best"],
                "disagreements": result.values["disagreements"],
                "files": {k: str(v) for k, v in result.files.items()}},
         [*lines, f"wrote {out / 'compare.csv'}"])
    return 0
