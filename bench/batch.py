"""Batch benchmark: QC of many small pairs with 1 vs 2 Dask workers (and a plain serial loop).

Run: ``python bench/batch.py [--pairs 1000 --size 64]``. Writes ``--pairs`` (prediction, GT) pairs of
``--size``² float32 TIFFs (seeded), then runs ``fijax.batch.run_batch("qc", ...)`` on a LocalCluster
with 1 worker and with 2 workers (fresh output folders; clusters started and warmed up before the
clock starts, so the ratio is the processing, not the start-up), and the same QC as a serial loop in
this process (the baseline: what the batch runner replaces). Goal (issue 7): ≥ 1.7× from 1 to 2
workers. Results go to ``bench/results/batch.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from fijax.batch import run_batch
from fijax.io import atomic_write_text, read_tiff, write_tiff
from fijax.versions import library_versions


def make_pairs(root: Path, n: int, size: int, seed: int = 0) -> tuple[Path, Path]:
    rng = np.random.default_rng(seed)
    gt, pred = root / "gt", root / "pred"
    for i in range(n):
        truth = rng.random((size, size)).astype(np.float32)
        write_tiff(gt / f"{i:05d}.tif", truth)
        write_tiff(pred / f"{i:05d}.tif", truth + 0.1 * rng.standard_normal((size, size)).astype(np.float32))
    return gt, pred


def timed_batch(workers: int, gt: Path, pred: Path, out: Path, options: dict) -> tuple[float, float, int]:
    from distributed import Client, LocalCluster

    t0 = time.perf_counter()
    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        # Warm-up: import fijax and compile the QC kernel on every worker before timing.
        warm = out.parent / f"warm{workers}"
        run_batch("qc", pred, warm, inputs={"gt": gt}, options=options, progress=False, client=client,
                  pattern="0000[0-9].tif", artifacts=False)
        startup = time.perf_counter() - t0
        t1 = time.perf_counter()
        report = run_batch("qc", pred, out, inputs={"gt": gt}, options=options, progress=False, client=client,
                           artifacts=False)
        seconds = time.perf_counter() - t1
    if report.failed:
        raise SystemExit(f"{len(report.failed)} files failed, e.g. {report.failed[0]}")
    return seconds, startup, report.done


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pairs", type=int, default=1000)
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--out", default=str(Path(__file__).parent / "results" / "batch.json"))
    args = ap.parse_args()
    options = {"maps": False}
    with tempfile.TemporaryDirectory(prefix="fijax-bench-batch-") as tmp:
        root = Path(tmp)
        t = time.perf_counter()
        gt, pred = make_pairs(root, args.pairs, args.size)
        data_s = time.perf_counter() - t

        # Baseline: a serial loop in this process (read, QC, write a record), warm; no artifact
        # folders on either side (values and table rows only).
        from fijax import ops

        qc = ops.get("qc")
        files = sorted(pred.glob("*.tif"))
        qc({"gt": read_tiff(gt / files[0].name), "prediction": read_tiff(files[0])}, options)
        t = time.perf_counter()
        for f in files:
            res = qc({"gt": read_tiff(gt / f.name), "prediction": read_tiff(f)}, options)
            atomic_write_text(root / "serial" / f"{f.stem}.json", json.dumps(res.values, default=str))
        serial_s = time.perf_counter() - t

        one, start1, n1 = timed_batch(1, gt, pred, root / "out1", options)
        two, start2, n2 = timed_batch(2, gt, pred, root / "out2", options)
    result = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"), "machine": platform.platform(),
        "cpu_count": os.cpu_count(), "load_avg": os.getloadavg(), "versions": library_versions(),
        "settings": {k: v for k, v in vars(args).items() if k != "out"}, "options": options, "data_seconds": data_s,
        "serial_loop_s": serial_s, "dask_1_worker_s": one, "dask_2_workers_s": two,
        "cluster_start_1_s": start1, "cluster_start_2_s": start2, "files": [n1, n2],
        "speedup_1_to_2": one / two, "dask1_over_serial": one / serial_s,
        "files_per_s_1": n1 / one, "files_per_s_2": n2 / two,
    }
    print(f"QC of {args.pairs} pairs {args.size}x{args.size}: serial loop {serial_s:.1f} s, Dask 1 worker "
          f"{one:.1f} s, 2 workers {two:.1f} s -> speed-up x{one / two:.2f} (goal >= 1.7); 1 worker vs serial "
          f"x{one / serial_s:.2f}")
    print(f"cluster start incl. warm-up: {start1:.1f} s (1), {start2:.1f} s (2); load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    atomic_write_text(args.out, json.dumps(result, indent=1, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
