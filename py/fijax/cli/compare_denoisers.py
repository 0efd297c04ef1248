"""``fijax compare-denoisers NOISY [--gt GT] [--model NAME ...] --out DIR``: the flagship workflow.

Runs Gaussian, Median, PureDenoise and the registered DL model(s) on a noisy TIFF (or every TIFF in
a folder), scores every output and the raw input against the ground truth (file or folder of the same
names) and writes ``comparison.csv``, ``comparison.png``, QC's ``compare.csv``/``compare.png``,
``provenance.json`` and ``images/`` (outputs, SSIM and RSE maps) to ``DIR`` (one sub-folder per image
for a folder). Without ground truth: MC-dropout uncertainty maps and a note that no GT was given.
A thin adapter over the ``compare_denoisers`` operation (``fijax compare`` ranks outputs you already
have; this command produces them first).
"""

from __future__ import annotations

import argparse
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("compare-denoisers", help="DL model(s) vs Gaussian, Median and PureDenoise against GT",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("noisy", help="noisy TIFF or folder of TIFFs")
    p.add_argument("--gt", default=None, help="ground-truth TIFF or folder (same file names)")
    p.add_argument("--model", "-m", action="append", default=[], help="registered model NAME[:VERSION] (repeatable)")
    p.add_argument("--out", "-o", required=True, help="output folder")
    p.add_argument("--methods", default="gaussian,median,puredenoise,dl", help="subset to run (comma-separated)")
    p.add_argument("--sigma", type=float, default=2.0, help="Gaussian sigma (default 2)")
    p.add_argument("--radius", type=float, default=2.0, help="Median radius (default 2)")
    p.add_argument("--cycle-spins", type=int, default=4, help="PureDenoise cycle spins (default 4)")
    p.add_argument("--mc-samples", type=int, default=8, help="MC-dropout passes without GT (default 8)")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from fijax import ops
    from fijax.cli.macro import safe_filename
    from fijax.io import read_tiff, write_tiff
    from fijax.io.datasets import pair_by_name, tiffs_by_name
    from fijax.ops import OpContext

    noisy = tiffs_by_name(args.noisy, "noisy")
    gts = pair_by_name(noisy, tiffs_by_name(args.gt, "ground truth"), "ground truth", "noisy") if args.gt else {}
    options = {"methods": args.methods, "gaussian_sigma": args.sigma, "median_radius": args.radius,
               "cycle_spins": args.cycle_spins, "mc_samples": args.mc_samples, "seed": args.seed}
    if args.model:
        options["model"] = ",".join(args.model)
    op = ops.get("compare_denoisers")
    out = Path(args.out)
    from fijax.cli._outputs import check_writable

    check_writable(out, folder=True)
    summary = []
    for stem, path in noisy.items():
        folder = out if len(noisy) == 1 else out / safe_filename(stem)
        inputs = {"image": read_tiff(path, title=stem)}
        if gts:
            inputs["gt"] = read_tiff(gts[stem], title=f"{stem}-gt")
        res = op(inputs, options, OpContext(out_dir=folder))
        (folder / "images").mkdir(parents=True, exist_ok=True)
        for title, image in res.images.items():
            write_tiff(folder / "images" / f"{safe_filename(title)}.tif", image)
        summary.append({"image": stem, "folder": str(folder), **{k: v for k, v in res.values.items()
                                                                 if k in ("ground_truth", "best_method", "best_ssim",
                                                                          "best_psnr", "raw_ssim", "raw_psnr",
                                                                          "message")},
                        "files": {k: str(v) for k, v in res.files.items()}})
    from fijax.cli._output import emit, text_lines

    lines = []
    for s in summary:
        lines.append(f"{s['image']}: outputs in {s['folder']}")
        lines += text_lines({k: v for k, v in s.items() if k not in ("image", "folder")})
    emit(args, summary if len(summary) > 1 else summary[0], lines)
    return 0
