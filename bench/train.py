"""Training: step time and time-to-quality, fijax (JAX/Flax) vs CAREamics N2V (PyTorch), same data.

Usage::

    python bench/train.py --careamics-python /path/to/venv/bin/python [--epochs 10]

1. **CAREamics** (subprocess, its own environment): ``create_n2v_config`` defaults (U-Net depth 2,
   32 filters, kernel 3, BatchNorm, 0.2 % masking, flips + rotations, Adam, ReduceLROnPlateau)
   with 64² patches and batch 16 for ``--epochs`` epochs on the synthetic noisy images; records
   wall-clock training time, per-step time (Lightning callback) and the PSNR of its prediction of
   a held-out test image against the ground truth.
2. **fijax step time**: the same network (CAREamics' layout: BatchNorm, compact decoder, kernel 3,
   32 filters, 333,729 parameters) and batch (16 × 64²),
   0.2 % masking, jitted step incl. on-device augmentation and masking; median of warm steps.
3. **fijax time to quality**: the ``n2v-fast`` preset (same U-Net without BatchNorm, 1.5 %
   masking, lr 2e-3 with warm-up + cosine decay, fresh random patches each step) trained until
   the test PSNR reaches CAREamics' final PSNR; evaluation time is excluded from the clock, the
   first step's compilation is included.

PSNR: ``10 log10(range(GT)² / MSE)`` against the noise-free ground truth, prediction in image units.
Prints JSON and the ratios (step time fijax/CAREamics; time-to-quality fijax/CAREamics).
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


def make_data(n: int = 8, size: int = 256, test_size: int = 512, seed: int = 0):
    """Ground truth (spots + filaments) and Poisson-Gaussian noisy versions; plus a test pair."""
    from scipy.ndimage import gaussian_filter

    rng = np.random.default_rng(seed)

    def gt_image(s: int) -> np.ndarray:
        img = np.zeros((s, s), np.float32)
        k = s * s // 700
        img[rng.integers(0, s, k), rng.integers(0, s, k)] = rng.uniform(0.5, 1.0, k)
        for _ in range(s // 32):
            p0, d = rng.uniform(0, s, 2), rng.normal(size=2)
            d /= np.linalg.norm(d)
            t = np.arange(-s, s)
            pts = (p0[:, None] + d[:, None] * t).round().astype(int)
            ok = np.all((pts >= 0) & (pts < s), axis=0)
            img[pts[0, ok], pts[1, ok]] = 0.35
        img = gaussian_filter(img, 2.0)
        return (10 + 90 * img / img.max()).astype(np.float32)

    def noisy(gt: np.ndarray) -> np.ndarray:
        return (rng.poisson(gt * 0.5) / 0.5 + rng.normal(0, 4, gt.shape)).astype(np.float32)

    gts = np.stack([gt_image(size) for _ in range(n)])
    test_gt = gt_image(test_size)
    return gts, np.stack([noisy(g) for g in gts]), test_gt, noisy(test_gt)


def psnr(x: np.ndarray, gt: np.ndarray) -> float:
    rng = float(gt.max() - gt.min())
    return float(10 * np.log10(rng ** 2 / np.mean((np.asarray(x, np.float64) - gt) ** 2)))


def run_peer(args: argparse.Namespace) -> dict:
    """CAREamics side (runs under the CAREamics interpreter)."""
    import careamics
    import torch
    from careamics import CAREamist
    from careamics.config import create_n2v_config
    from lightning.pytorch.callbacks import Callback

    torch.set_num_threads(os.cpu_count() or 2)
    torch.manual_seed(0)
    gts, noisy, test_gt, test_noisy = make_data()

    class StepTimer(Callback):
        def __init__(self):
            self.times, self._t = [], None

        def on_train_batch_start(self, trainer, module, batch, idx):
            self._t = time.perf_counter()

        def on_train_batch_end(self, trainer, module, outputs, batch, idx):
            self.times.append(time.perf_counter() - self._t)

    timer = StepTimer()
    cfg = create_n2v_config(experiment_name="bench", data_type="array", axes="SYX", patch_size=[64, 64],
                            batch_size=16, num_epochs=args.epochs)
    careamist = CAREamist(cfg, work_dir=args.workdir, callbacks=[timer], enable_progress_bar=False)
    t0 = time.perf_counter()
    careamist.train(train_data=noisy)
    train_s = time.perf_counter() - t0
    pred = careamist.predict(test_noisy, data_type="array", axes="YX", tile_size=(256, 256),
                             tile_overlap=(48, 48))
    pred = np.asarray(pred[0][0] if isinstance(pred, tuple) else pred).squeeze()
    steps = np.array(timer.times)
    return {"careamics": careamics.__version__, "torch": torch.__version__, "epochs": args.epochs,
            "steps": int(len(steps)), "train_s": train_s, "step_median_s": float(np.median(steps[2:]))
            if len(steps) > 2 else float("nan"), "psnr": psnr(pred, test_gt), "psnr_noisy": psnr(test_noisy, test_gt)}


def fijax_step_time(n_steps: int) -> dict:
    """Median warm step of the CAREamics-equivalent network (BatchNorm) and batch."""
    from fijax.engine.config import TrainConfig
    from fijax.engine.data import PatchSampler
    from fijax.engine.model import build_unet
    from fijax.engine.tasks import get_task
    from fijax.engine.train import _Engine

    gts, noisy, _, _ = make_data()
    cfg = TrainConfig(task="n2v", kernel=3, filters=32, depth=2, batch_norm=True, compact_decoder=True,
                      batch_size=16, patch_size=(64, 64), mask_percent=0.2).resolved()
    model, _ = build_unet(cfg, 1, 1)
    eng = _Engine(model, cfg, get_task("n2v"))
    norm = [((x - x.min()) / (x.max() - x.min()))[..., None].astype(np.float32) for x in noisy]
    sampler = PatchSampler(norm, None, cfg.patch_size)
    rng = np.random.default_rng(0)
    import jax

    t0 = time.perf_counter()
    eng.step(*sampler.sample(rng, 16), jax.random.key(0), 4e-4).block_until_ready()
    first = time.perf_counter() - t0
    times = []
    for i in range(n_steps + 3):
        x, y = sampler.sample(rng, 16)
        t0 = time.perf_counter()
        eng.step(x, y, jax.random.key(i + 1), 4e-4).block_until_ready()
        times.append(time.perf_counter() - t0)
    return {"step_median_s": float(np.median(times[3:])), "first_step_s": first, "steps": n_steps}


class _Reached(Exception):
    pass


def fijax_time_to_quality(target: float | None, max_seconds: float, preset_name: str) -> dict:
    """Train ``preset_name`` and evaluate the test PSNR after every epoch until ``target`` is reached."""
    import tempfile
    from pathlib import Path

    from fijax.engine.config import preset
    from fijax.engine.model import TrainedModel
    from fijax.engine.train import train

    gts, noisy, test_gt, test_noisy = make_data()
    cfg = preset(preset_name, "n2v", epochs=200, steps_per_epoch=10, val_patches=16, seed=0)
    run_dir = Path(tempfile.mkdtemp(prefix="fijax-bench-run-"))
    curve: list[dict] = []
    clock = {"start": time.perf_counter(), "paused": 0.0}

    def on_progress(fraction: float, message: str) -> None:
        if "val_loss" not in message:
            return
        t_pause = time.perf_counter()
        elapsed = t_pause - clock["start"] - clock["paused"]
        bundle = TrainedModel.from_folder(run_dir, weights="weights_last.npz")
        value = psnr(bundle.predict(test_noisy)["prediction"], test_gt)
        curve.append({"seconds": round(elapsed, 2), "psnr": round(value, 3), "epoch": len(curve) + 1})
        clock["paused"] += time.perf_counter() - t_pause
        if (target is not None and value >= target) or elapsed > max_seconds:
            raise _Reached()

    try:
        train(cfg, noisy, name="bench", register=False, run_dir=run_dir, progress=on_progress)
    except _Reached:
        pass
    best = max(c["psnr"] for c in curve)
    reached = next((c for c in curve if target is not None and c["psnr"] >= target), None)
    reached_02 = next((c for c in curve if target is not None and c["psnr"] >= target - 0.2), None)
    return {"preset": preset_name, "curve": curve, "best_psnr": best,
            "seconds_to_target": reached["seconds"] if reached else None,
            "seconds_to_target_minus_0.2dB": reached_02["seconds"] if reached_02 else None}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--epochs", type=int, default=10, help="CAREamics epoch budget")
    p.add_argument("--steps", type=int, default=10, help="fijax warm steps timed")
    p.add_argument("--max-seconds", type=float, default=900, help="fijax time-to-quality cap")
    p.add_argument("--preset", default="n2v-fast", help="fijax recipe for time to quality")
    add_peer_arguments(p)
    p.add_argument("--peer", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--workdir", default="/tmp/fijax-bench-careamics-train")
    p.add_argument("--skip", default="", help="comma list: step,ttq")
    args = p.parse_args()
    if args.peer:
        print(json.dumps(run_peer(args)))
        return 0
    result: dict = {"date": datetime.now(UTC).isoformat(timespec="seconds"), "cpu_count": os.cpu_count(),
                    "machine": platform.platform()}
    from fijax.versions import library_versions

    result["versions"] = {k: v for k, v in library_versions().items() if k in ("fijax", "jax", "flax", "optax")}
    ca: dict = {}
    if args.careamics_python:
        proc = subprocess.run([args.careamics_python, __file__, "--peer", "--epochs", str(args.epochs),
                               "--workdir", args.workdir], capture_output=True, text=True,
                              env=peer_env(args))
        if proc.returncode != 0:
            print(proc.stderr[-3000:], file=sys.stderr)
            ca = {"error": proc.stderr[-500:]}
        else:
            ca = json.loads(proc.stdout.strip().splitlines()[-1])
    result["careamics"] = ca
    skip = set(args.skip.split(","))
    if "step" not in skip:
        result["fijax_step"] = fijax_step_time(args.steps)
    if "ttq" not in skip:
        result["fijax_ttq"] = fijax_time_to_quality(ca.get("psnr"), args.max_seconds, args.preset)
    lines = []
    if "psnr" in ca:
        lines.append(f"CAREamics N2V {args.epochs} epochs ({ca['steps']} steps): {ca['train_s']:.1f} s, "
                     f"step {ca['step_median_s']:.3f} s, PSNR {ca['psnr']:.2f} dB (noisy {ca['psnr_noisy']:.2f})")
    if "fijax_step" in result:
        fs = result["fijax_step"]["step_median_s"]
        lines.append(f"fijax step (same net, BN, 16x64²): {fs:.3f} s")
        if "step_median_s" in ca:
            result["ratio_step_time_fijax_over_careamics"] = fs / ca["step_median_s"]
            lines.append(f"step time ratio fijax/CAREamics: {fs / ca['step_median_s']:.2f}x")
    if "fijax_ttq" in result:
        t = result["fijax_ttq"]
        lines.append(f"fijax {t['preset']}: best PSNR {t['best_psnr']:.2f} dB; seconds to CAREamics' PSNR "
                     f"{t['seconds_to_target']}, to −0.2 dB {t['seconds_to_target_minus_0.2dB']}")
        if t["seconds_to_target"] and "train_s" in ca:
            result["ratio_time_to_quality_fijax_over_careamics"] = t["seconds_to_target"] / ca["train_s"]
            lines.append(f"time-to-quality ratio fijax/CAREamics: "
                         f"{result['ratio_time_to_quality_fijax_over_careamics']:.2f}x (<1: fijax faster)")
    print(json.dumps(result, indent=1))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
