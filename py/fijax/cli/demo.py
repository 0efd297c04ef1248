"""``fijax demo``: the flagship workflow on generated sample data, ready to run on a fresh machine.

1. writes a deterministic synthetic noisy image and its ground truth (``fijax.data``);
2. trains a small Noise2Void denoiser with the ``quick`` preset on JAX's default device (the GPU when
   JAX has one: ``bash scripts/setup.sh --gpu``) (1–2 minutes in all on 2 CPU cores) and
   registers it as ``demo-denoiser`` under ``$FIJAX_HOME`` (reused when already trained);
3. runs ``macros/compare_denoisers.ijm`` in headless ImageJ: ImageJ's Gaussian and Median filters,
   PureDenoise and the DL model, scored against GT; then once more without GT (MC-dropout
   uncertainty map instead of QC);
4. prints where the figure, tables and images are.

Without a Java runtime it runs the same ``compare_denoisers`` operation directly (fijax's Gaussian and
ImageJ-style Median instead of ImageJ's) and says so.
"""

from __future__ import annotations

import argparse
import shutil
import time
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="run the DL-vs-classical comparison on generated sample data",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", "-o", default=None, help="output folder (default: $FIJAX_HOME/demo)")
    p.add_argument("--size", type=int, default=128, help="side of the generated images (default 128)")
    p.add_argument("--epochs", type=int, default=10, help="training epochs of the demo model (default 10)")
    p.add_argument("--retrain", action="store_true", help="train a new demo model even if one is registered")
    p.add_argument("--no-imagej", action="store_true", help="run the operation directly, without ImageJ")
    p.set_defaults(func=run)


def _say(msg: str) -> None:
    print(msg, flush=True)


def run(args: argparse.Namespace) -> int:
    from fijax.data.demo import demo_model, summary_lines, write_sample
    from fijax.errors import InputError
    from fijax.paths import fijax_home

    if args.size < 32 or args.size > 2048:
        raise InputError(f"--size must be between 32 and 2048, got {args.size}")
    if args.epochs < 1:
        raise InputError("--epochs must be >= 1")
    out = Path(args.out) if args.out else fijax_home() / "demo"
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    _say(f"fijax demo: outputs go to {out}")
    pair, paths = write_sample(out / "data", size=args.size)
    _say(f"[1/4] sample data: {paths['noisy']} and {paths['gt']} (synthetic, seed 0, "
         f"Poisson-Gaussian noise: gain {pair.params['gain']}, offset {pair.params['offset']}, "
         f"read noise {pair.params['read_noise']})")

    import jax

    dev = jax.devices()[0]
    where = f"GPU ({dev.device_kind})" if dev.platform == "gpu" else dev.platform.upper()
    _say(f"[2/4] demo model: Noise2Void U-Net, 'quick' preset on the {where} (JAX's default device; "
         "self-supervised on noisy images only)")
    last = [0.0]

    def progress(fraction: float, message: str) -> None:
        now = time.perf_counter()
        if now - last[0] > 5 or fraction >= 1.0:
            last[0] = now
            _say(f"      {100 * fraction:5.1f}%  {message}")

    ref, trained = demo_model(size=args.size, epochs=args.epochs, retrain=args.retrain, progress=progress)
    _say(f"      {'trained and registered' if trained else 'reusing registered'} model {ref} "
         f"(registry: {fijax_home() / 'registry.sqlite'})")

    with_gt, without_gt = out / "with_gt", out / "without_gt"
    use_imagej = not args.no_imagej and (shutil.which("java") is not None)
    if not args.no_imagej and not use_imagej:
        _say("      no Java runtime found (run bash scripts/setup.sh): running the operation without ImageJ")
    if use_imagej:
        table = _run_macro(pair, ref, with_gt, without_gt)
    else:
        table = _run_op(pair, ref, with_gt, without_gt)
    _say("")
    _say("Comparison against ground truth (ZeroCostDL4Mic protocol: norm_minmse, SSIM/PSNR):")
    for line in summary_lines(table):
        _say(line)
    _say("")
    _say(f"done in {time.perf_counter() - t0:.0f} s. Outputs:")
    for label, path in (("comparison figure", with_gt / "comparison.png"),
                        ("comparison table ", with_gt / "comparison.csv"),
                        ("QC ranking       ", with_gt / "compare.csv"),
                        ("images and maps  ", with_gt / "images"),
                        ("provenance       ", with_gt / "provenance.json"),
                        ("without GT (MC-dropout uncertainty)", without_gt / "comparison.png")):
        if path.exists():
            _say(f"  {label}: {path}")
    return 0


def _run_macro(pair, ref: str, with_gt: Path, without_gt: Path) -> list[dict]:
    from fijax.bridge import imagej
    from fijax.cli.macro import results_csv, safe_filename
    from fijax.data.demo import macro_path
    from fijax.io import atomic_write_text, write_tiff

    macro = macro_path()
    code = macro.read_text(encoding="utf-8")
    _say(f"[3/4] headless ImageJ: {macro.name} with ground truth")
    ij = imagej()
    table: list[dict] = []
    for folder, inputs in ((with_gt, {"noisy": pair.noisy, "gt": pair.gt}), (without_gt, {"noisy": pair.noisy})):
        if folder is without_gt:
            _say(f"[4/4] headless ImageJ: {macro.name} without ground truth")
        res = ij.run_macro(code, inputs=inputs, args=f"out={folder} model={ref}")
        images = folder / "images"
        images.mkdir(parents=True, exist_ok=True)
        for title, image in res.images.items():
            write_tiff(images / f"{safe_filename(title)}.tif", image)
        atomic_write_text(folder / "results.csv", results_csv(res.results))
        atomic_write_text(folder / "log.txt", res.log)
        if folder is with_gt:
            table = res.results
    return table


def _run_op(pair, ref: str, with_gt: Path, without_gt: Path) -> list[dict]:
    from fijax import ops
    from fijax.io import write_tiff
    from fijax.ops import OpContext

    op = ops.get("compare_denoisers")
    table: list[dict] = []
    for step, folder, inputs in (("[3/4]", with_gt, {"image": pair.noisy, "gt": pair.gt}),
                                 ("[4/4]", without_gt, {"image": pair.noisy})):
        _say(f"{step} compare_denoisers {'with' if 'gt' in inputs else 'without'} ground truth")
        res = op(inputs, {"model": ref}, OpContext(out_dir=folder))
        images = folder / "images"
        images.mkdir(parents=True, exist_ok=True)
        for title, image in res.images.items():
            from fijax.cli.macro import safe_filename

            write_tiff(images / f"{safe_filename(title)}.tif", image)
        if "message" in res.values:
            _say(f"      {res.values['message']}")
        if folder is with_gt:
            table = res.table
    return table
