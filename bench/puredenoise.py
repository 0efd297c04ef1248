"""Benchmark: fijax PURE-LET against scikit-image's denoise_wavelet and denoise_nl_means, same run.

Cases:
1. scikit-image's camera, 512x512, one frame, peaks 1/5/10/30/120 with sigma = peak/10
   (Poisson + Gaussian), fijax with 4 cycle spins and the true noise parameters (and once with
   estimated ones); peers: ``denoise_wavelet`` (BayesShrink) on the raw counts and after the
   Anscombe transform, ``denoise_nl_means`` (fast mode) after the Anscombe transform.
2. A 16-frame 512x512 stack (the camera drifting by one pixel per frame, peak 10), fijax with a
   3-frame window and 4 cycle spins against the peers frame by frame.

Times are medians of ``--repeats`` runs after one warm-up (fijax's JIT compilation is reported
separately as the first call): wall-clock seconds and process CPU seconds (all threads), the
latter being the fair cost when the cores are shared; ratios are CPU-time ratios to fijax. Run on an otherwise idle machine for meaningful times; the load average at
the start is recorded. Usage: ``python bench/puredenoise.py [--repeats 3] [--threads 2]``.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import os
import statistics
import time
from pathlib import Path

import numpy as np
from skimage import data

from fijax.classical import puredenoise
from fijax.io import atomic_write_text
from fijax.versions import library_versions
from puredenoise_validation import camera, nlmeans_anscombe, noisy, psnr, wavelet_anscombe, wavelet_raw


def timed(f, repeats: int) -> tuple[np.ndarray, float, float, float]:
    """Return (result, first-call wall seconds, median wall seconds, median CPU seconds of ``repeats`` calls).

    CPU seconds (``time.process_time``: all threads of this process) stay meaningful when other
    jobs share the cores; on ``n`` free cores the wall time is at least CPU / n.
    """
    t0 = time.perf_counter()
    out = f()
    first = time.perf_counter() - t0
    walls, cpus = [], []
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        out = f()
        walls.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
    return out, first, statistics.median(walls), statistics.median(cpus)


def single_frame(repeats: int, peaks: list[float]) -> list[dict]:
    x01 = camera(512)
    rows = []
    for peak in peaks:
        x, sigma = x01 * peak, peak / 10.0
        y = noisy(x, sigma, seed=0)
        methods = {
            "fijax PURE-LET CS=4": lambda y=y, s=sigma: puredenoise(y, alpha=1.0, delta=0.0, sigma=s, cycle_spins=4),
            "fijax PURE-LET CS=4 (estimated)": lambda y=y: puredenoise(y, cycle_spins=4),
            "skimage denoise_wavelet": lambda y=y, p=peak: wavelet_raw(y, p),
            "Anscombe + denoise_wavelet": lambda y=y, s=sigma: wavelet_anscombe(y, s),
            "Anscombe + denoise_nl_means": lambda y=y, s=sigma: nlmeans_anscombe(y, s),
        }
        row: dict = {"peak": peak, "sigma": sigma, "input_psnr": psnr(y, x, peak), "methods": {}}
        for name, f in methods.items():
            out, first, med, cpu = timed(f, repeats)
            row["methods"][name] = {"psnr": psnr(out, x, peak), "seconds": med, "cpu_seconds": cpu,
                                    "first_call_seconds": first}
        rows.append(row)
        ref = row["methods"]["fijax PURE-LET CS=4"]
        print(f"peak {peak:>5g} input {row['input_psnr']:.2f} dB | " + " | ".join(
            f"{n}: {m['psnr']:.2f} dB {m['seconds']:.3f} s, cpu {m['cpu_seconds']:.3f} s "
            f"(cpu x{m['cpu_seconds'] / ref['cpu_seconds']:.2f})"
            for n, m in row["methods"].items()), flush=True)
    return rows


def stack(repeats: int, peak: float = 10.0, nz: int = 16) -> dict:
    x01 = camera(512)
    clean = np.stack([np.roll(x01, z, axis=1) for z in range(nz)]) * peak
    sigma = peak / 10.0
    rng = np.random.default_rng(0)
    w = rng.standard_normal(clean.shape)
    y = rng.poisson(clean) + sigma * w / w.std()

    def per_frame(f):
        return lambda: np.stack([f(frame) for frame in y])

    methods = {
        "fijax PURE-LET frames=3 CS=4": lambda: puredenoise(y, frames=3, alpha=1.0, delta=0.0, sigma=sigma,
                                                            cycle_spins=4),
        "fijax PURE-LET frames=1 CS=4": lambda: puredenoise(y, frames=1, alpha=1.0, delta=0.0, sigma=sigma,
                                                            cycle_spins=4),
        "skimage denoise_wavelet (per frame)": per_frame(lambda f: wavelet_raw(f, peak)),
        "Anscombe + denoise_wavelet (per frame)": per_frame(lambda f: wavelet_anscombe(f, sigma)),
        "Anscombe + denoise_nl_means (per frame)": per_frame(lambda f: nlmeans_anscombe(f, sigma)),
    }
    res: dict = {"peak": peak, "frames": nz, "input_psnr": psnr(y, clean, peak), "methods": {}}
    for name, f in methods.items():
        out, first, med, cpu = timed(f, max(1, repeats - 2))
        res["methods"][name] = {"psnr": psnr(out, clean, peak), "seconds": med, "cpu_seconds": cpu,
                                "first_call_seconds": first}
    ref = res["methods"]["fijax PURE-LET frames=3 CS=4"]
    print(f"stack {nz}x512x512 peak {peak:g} input {res['input_psnr']:.2f} dB | " + " | ".join(
        f"{n}: {m['psnr']:.2f} dB {m['seconds']:.2f} s, cpu {m['cpu_seconds']:.2f} s "
        f"(cpu x{m['cpu_seconds'] / ref['cpu_seconds']:.2f})"
        for n, m in res["methods"].items()), flush=True)
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--peaks", type=float, nargs="+", default=[1, 5, 10, 30, 120])
    ap.add_argument("--no-stack", action="store_true")
    ap.add_argument("--out", default="bench/results/puredenoise_bench.json")
    args = ap.parse_args()
    record = {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "cpu_count": os.cpu_count(), "load_average_at_start": os.getloadavg(),
        "versions": library_versions(), "noise_seed": 0,
        "data_sha256": {"skimage.data.camera": hashlib.sha256(data.camera().tobytes()).hexdigest()},
    }
    record["single_frame_512"] = single_frame(args.repeats, args.peaks)
    if not args.no_stack:
        record["stack_16x512"] = stack(args.repeats)
    atomic_write_text(Path(args.out), json.dumps(record, indent=1))


if __name__ == "__main__":
    main()
