"""Tiled prediction throughput: fijax (JAX/Flax) vs CAREamics (PyTorch), same network, same image.

Usage::

    python bench/predict.py --careamics-python /path/to/venv/bin/python [--size 2048] [--repeats 3]

The fijax side runs in this process; the CAREamics side runs in a subprocess with the given
interpreter (a separate environment with ``careamics`` and a CPU ``torch``; never a fijax
dependency). Both use CAREamics' default N2V network — a 2D U-Net of depth 2, 32 first-level filters,
kernel 3, BatchNorm, compact decoder, 1 → 1 channel, 333,729 parameters — with untrained weights (throughput does not depend on
the weights), on the same synthetic fluorescence image. Timings exclude compilation / the
first call. Also checks that fijax's tiled result equals its untiled one (seam-free).

Prints a JSON summary and the ratio ``fijax throughput / CAREamics throughput`` (> 1: fijax faster).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime

import numpy as np

from careamics_peer import add_peer_arguments, peer_env


def make_image(size: int, seed: int = 0) -> np.ndarray:
    """Fluorescence-like image: blurred spots and filaments with Poisson-Gaussian noise."""
    from scipy.ndimage import gaussian_filter

    rng = np.random.default_rng(seed)
    img = np.zeros((size, size), np.float32)
    n = size * size // 800
    img[rng.integers(0, size, n), rng.integers(0, size, n)] = rng.uniform(0.5, 1.0, n)
    img = gaussian_filter(img, 2.0)
    img = 10 + 90 * img / img.max()
    return (rng.poisson(img * 0.5) / 0.5 + rng.normal(0, 4, img.shape)).astype(np.float32)


def run_peer(args: argparse.Namespace) -> dict:
    """CAREamics side (runs under the CAREamics interpreter)."""
    import torch
    from careamics import CAREamist
    from careamics.config import create_n2v_config

    torch.set_num_threads(os.cpu_count() or 2)
    img = make_image(args.size)
    cfg = create_n2v_config(experiment_name="bench", data_type="array", axes="YX", patch_size=[64, 64],
                            batch_size=16, num_epochs=1)
    work = args.workdir
    careamist = CAREamist(cfg, work_dir=work, enable_progress_bar=False)
    out: dict = {"torch": torch.__version__, "threads": torch.get_num_threads()}
    import careamics

    out["careamics"] = careamics.__version__
    for label, kwargs in (("tiled256", {"tile_size": (256, 256), "tile_overlap": (48, 48)}),
                          ("whole", {})):
        careamist.predict(img[:512, :512], data_type="array", axes="YX", **kwargs)  # warm-up
        times = []
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            careamist.predict(img, data_type="array", axes="YX", **kwargs)
            times.append(time.perf_counter() - t0)
        out[label] = {"median_s": float(np.median(times)), "times": times}
    return out


def run_fijax(args: argparse.Namespace) -> dict:
    """fijax side: automatic tiling (memory budget), windows batched and jitted."""
    import jax

    from fijax.engine.config import TrainConfig
    from fijax.engine.model import build_unet
    from fijax.engine.predict import predict
    from fijax.versions import library_versions

    img = make_image(args.size)
    # CAREamics' network: same layout (compact decoder, BatchNorm; 333,729 parameters)
    cfg = TrainConfig(task="n2v", kernel=3, filters=32, depth=2, batch_norm=True, compact_decoder=True).resolved()
    model, spec = build_unet(cfg, 1, 1, seed=0)
    out: dict = {"versions": {k: v for k, v in library_versions().items() if k in ("jax", "flax", "fijax")},
                 "device": str(jax.devices()[0]), "halo": spec.halo()}
    for label, kwargs in (("auto", {}), ("tiled256", {"n_tiles": (args.size // 256,) * 2, "batch_size": 4}),
                          ("whole", {"n_tiles": 1})):
        t0 = time.perf_counter()
        predict(model, cfg, img, **kwargs)  # compile
        compile_s = time.perf_counter() - t0
        times = []
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            predict(model, cfg, img, **kwargs)
            times.append(time.perf_counter() - t0)
        out[label] = {"median_s": float(np.median(times)), "times": times, "first_call_s": compile_s}
    # seam check on a 1024² crop: automatic tiles (forced small) vs one window
    crop = img[:1024, :1024]
    whole = predict(model, cfg, crop, n_tiles=1)["prediction"]
    tiled = predict(model, cfg, crop, n_tiles=(4, 4))["prediction"]
    out["seam_max_abs_diff_1024"] = float(np.max(np.abs(whole - tiled)))
    return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--size", type=int, default=2048)
    p.add_argument("--repeats", type=int, default=3)
    add_peer_arguments(p)
    p.add_argument("--peer", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--workdir", default="/tmp/fijax-bench-careamics")
    args = p.parse_args()
    if args.peer:
        print(json.dumps(run_peer(args)))
        return 0
    result: dict = {"date": datetime.now(UTC).isoformat(timespec="seconds"), "size": args.size,
                    "cpu_count": os.cpu_count(), "machine": platform.platform()}
    result["fijax"] = run_fijax(args)
    if args.careamics_python:
        proc = subprocess.run([args.careamics_python, __file__, "--peer", "--size", str(args.size), "--repeats",
                               str(args.repeats), "--workdir", args.workdir], capture_output=True, text=True,
                              env=peer_env(args))
        if proc.returncode != 0:
            print(proc.stderr[-3000:], file=sys.stderr)
            result["careamics"] = {"error": proc.stderr[-500:]}
        else:
            result["careamics"] = json.loads(proc.stdout.strip().splitlines()[-1])
    mpx = args.size * args.size / 1e6
    fj = min(result["fijax"][k]["median_s"] for k in ("auto", "tiled256", "whole"))
    lines = [f"fijax  {args.size}² : auto {result['fijax']['auto']['median_s']:.2f} s, "
             f"256-tiles {result['fijax']['tiled256']['median_s']:.2f} s, whole "
             f"{result['fijax']['whole']['median_s']:.2f} s ({mpx / fj:.2f} Mpx/s best); "
             f"seam max|Δ| {result['fijax']['seam_max_abs_diff_1024']:.2e}"]
    ca = result.get("careamics", {})
    if "tiled256" in ca:
        cb = min(ca["tiled256"]["median_s"], ca["whole"]["median_s"])
        lines.append(f"CAREamics {args.size}²: tiled 256/48 {ca['tiled256']['median_s']:.2f} s, whole "
                     f"{ca['whole']['median_s']:.2f} s ({mpx / cb:.2f} Mpx/s best)")
        result["ratio_throughput_fijax_over_careamics"] = cb / fj
        result["ratio_same_tiling_256"] = ca["tiled256"]["median_s"] / result["fijax"]["tiled256"]["median_s"]
        result["ratio_whole_image"] = ca["whole"]["median_s"] / result["fijax"]["whole"]["median_s"]
        lines.append(f"throughput ratio fijax/CAREamics (best vs best): {cb / fj:.2f}x; "
                     f"256-tiles vs 256-tiles: {result['ratio_same_tiling_256']:.2f}x; "
                     f"whole vs whole: {result['ratio_whole_image']:.2f}x")
    print(json.dumps(result, indent=1))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
