"""``fijax qc``: QC of predictions against ground truth (thin adapter over the ``qc_dataset`` operation).

Restoration (default)::

    fijax qc --gt GT --prediction PRED [--source SRC] [--baseline B|puredenoise] --out DIR

writes ``DIR/metrics.csv`` (one row per image or slice), ``images.csv``, ``summary.json``, SSIM and
RSE maps (``DIR/maps``, float32 TIFF) and one PNG panel per image (``DIR/panels``). With
``--baseline`` (another method's outputs, or ``puredenoise`` computed from the source) the verdict
asks whether the prediction beats that baseline on whole-image PSNR and on the structure
(:data:`fijax.qc.baseline.BASELINE_VERDICT_RULE`). Labels::

    fijax qc --labels --gt GT --prediction PRED --out DIR [--thresholds 0.1,0.2,...]

writes ``matching.csv``, ``matching_dataset.csv`` and ``matching_vs_threshold.png``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``qc`` command."""
    p = subparsers.add_parser(
        "qc", help="QC of predictions against ground truth (SSIM, PSNR, maps, verdicts; --labels: matching)",
        description="Measure predictions (and the source baseline) against ground truth. GT, PRED and SRC "
                    "are TIFF files or folders of TIFFs paired by file name; stacks and 3D images are "
                    "measured per 2D slice, on the whole image and on the structure (GT Otsu foreground, "
                    "dilated 3 px). Verdict per image and for the dataset: 'does not improve' unless the "
                    "prediction beats the source on both SSIM and PSNR; with --baseline, 'better than "
                    "baseline' only when it also beats the baseline on whole-image PSNR and structure SSIM, "
                    "else 'not better than baseline'; 'no source' without a source.")
    p.add_argument("--gt", required=True, help="ground-truth TIFF file or folder")
    p.add_argument("--prediction", required=True, help="prediction TIFF file or folder")
    p.add_argument("--source", help="source (raw input) TIFF file or folder: the baseline for the verdict")
    p.add_argument("--baseline", metavar="B",
                   help="a second method's outputs (TIFF file or folder) or 'puredenoise' (PURE-LET computed "
                        "from --source with estimated noise): the prediction must beat it")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--labels", action="store_true", help="label images: StarDist matching over thresholds")
    p.add_argument("--thresholds", default="0.1,0.2,0.3,0.4,0.5,0.6,0.7,0.8,0.9",
                   help="label QC: comma-separated thresholds (default 0.1..0.9)")
    p.add_argument("--criterion", choices=("iou", "iot", "iop"), default="iou", help="label QC: matching score")
    p.add_argument("--no-normalize", dest="normalize", action="store_false",
                   help="measure raw pixels instead of ZeroCostDL4Mic's norm_minmse pairs (needs --data-range "
                        "for float images)")
    p.add_argument("--data-range", type=float, help="intensity span with --no-normalize")
    p.add_argument("--no-maps", dest="maps", action="store_false", help="do not write the TIFF maps")
    p.add_argument("--no-panels", dest="panels", action="store_false", help="do not write PNG panels / plots")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run the ``qc_dataset`` operation and print a short summary."""
    from fijax.cli._outputs import check_writable
    from fijax.errors import InputError
    from fijax.ops import OpContext
    from fijax.ops.qc import run_qc_dataset

    try:
        thresholds = [float(t) for t in str(args.thresholds).replace(",", " ").split()]
    except ValueError:
        raise InputError(f"--thresholds: not a list of numbers: {args.thresholds!r}") from None
    options = {"gt": args.gt, "prediction": args.prediction, "source": args.source, "baseline": args.baseline,
               "labels": args.labels,
               "normalize": args.normalize, "data_range": args.data_range, "thresholds": thresholds,
               "criterion": args.criterion, "maps": args.maps, "panels": args.panels}
    out = Path(args.out)
    check_writable(out, folder=True)
    existing = [out / n for n in ("matching.csv", "metrics.csv", "summary.json") if (out / n).is_file()]
    if existing:
        print(f"note: replacing the QC results already in {out}", file=sys.stderr)
    result = run_qc_dataset(options, OpContext(out_dir=out))
    if args.json:
        from fijax.cli._output import emit

        emit(args, {**result.values, "files": {k: str(f) for k, f in result.files.items()}})
        return 0
    for role, names in (result.values.get("ignored") or {}).items():
        shown = ", ".join(names[:8]) + (f" and {len(names) - 8} more" if len(names) > 8 else "")
        print(f"ignored {len(names)} {role} file(s) without a GT file of the same name: {shown}")
    if args.labels:
        at = result.values.get("at_0.5")
        if at:
            print(f"{result.values['n_images']} image(s); at {at['criterion']} >= 0.5: precision {at['precision']:.4f}, "
                  f"recall {at['recall']:.4f}, F1 {at['f1']:.4f}, PQ {at['panoptic_quality']:.4f}")
        print(f"wrote {out / 'matching.csv'}")
        return 0
    v = result.values
    means = v["means"]
    line = f"{v['n_images']} image(s), {v['n_slices']} slice(s): prediction SSIM {means['pred_ssim']:.4f}, " \
           f"PSNR {means['pred_psnr']:.2f} dB"
    if means.get("source_ssim") is not None:
        line += f"; source SSIM {means['source_ssim']:.4f}, PSNR {means['source_psnr']:.2f} dB"
    if means.get("baseline_ssim") is not None:
        line += f"; baseline SSIM {means['baseline_ssim']:.4f}, PSNR {means['baseline_psnr']:.2f} dB"
    print(line)
    if means.get("pred_fg_ssim") is not None:
        parts = [f"{who} {means[f'{who}_fg_ssim']:.4f}" for who in ("pred", "source", "baseline")
                 if means.get(f"{who}_fg_ssim") is not None]
        print("structure SSIM: " + ", ".join(parts).replace("pred ", "prediction "))
    if v.get("n_images_better_than_baseline") is not None:
        print(f"verdict: {v['verdict']} ({v['n_images_better_than_baseline']}/{v['n_images']} image(s) better than "
              f"the baseline, {v['n_images_improved']}/{v['n_images']} better than the source)")
    else:
        print(f"verdict: {v['verdict']} ({v['n_images_improved']}/{v['n_images']} image(s) improve)")
    print(f"rule: {v['verdict_rule']}")
    print(f"wrote {out / 'metrics.csv'}")
    return 0
