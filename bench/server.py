"""Server benchmarks: cold start to first answer, warm overhead of a small QC call, concurrent clients.

Run: ``python bench/server.py [--clients 8 --requests 100 --size 64]``. Starts ``fijax serve`` on a
free loopback port with a private ``FIJAX_HOME``, then measures

1. cold start: process launch → first successful ``qc`` answer (also: → ``/health`` answers);
2. warm overhead: median latency of ``POST /ops/qc?artifacts=false`` (client side, two small images,
   no maps) minus the median of the same ``qc`` kernel called in-process (the baseline in this run);
   and the same with the artifacts folder (CSV, panels) on both sides;
3. load: ``--clients`` threads × ``--requests`` QC calls each: p50/p99 latency, failures, throughput.

Goals (issue 7): warm overhead ≤ 50 ms beyond the kernel, 0 failures. Results (with versions, date,
machine) are printed and written to ``bench/results/server.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from fijax.client import Client
from fijax.errors import FijaxError
from fijax.io import Image, atomic_write_text
from fijax.server.security import read_token_file
from fijax.versions import library_versions


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q)) if values else float("nan")


def pair(size: int, seed: int = 0) -> dict[str, Image]:
    rng = np.random.default_rng(seed)
    gt = rng.random((size, size)).astype(np.float32)
    pred = (gt + 0.1 * rng.standard_normal((size, size))).astype(np.float32)
    return {"gt": Image(gt), "prediction": Image(pred)}


def start_server(home: Path, workers: int) -> tuple[subprocess.Popen, float, float, Client]:
    token_file = home / "token"
    env = dict(os.environ, FIJAX_HOME=str(home), JAX_PLATFORMS=os.environ.get("JAX_PLATFORMS", "cpu"))
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "fijax", "serve", "--port", "0", "--token-file", str(token_file),
                             "--workers", str(workers)], env=env, stdout=subprocess.DEVNULL,
                            stderr=open(home / "server.log", "wb"))  # noqa: SIM115
    try:
        client = Client.wait_for_server(token_file, wait_s=300, process=proc, poll=0.02, timeout=300)
    except FijaxError as exc:
        raise SystemExit(f"{exc}: {(home / 'server.log').read_text()[-2000:]}") from exc
    t_health = time.perf_counter() - t0
    inputs = pair(16)
    client.run("qc", inputs, {"maps": False}, fetch_images=False)
    return proc, t_health, time.perf_counter() - t0, client


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--requests", type=int, default=100)
    ap.add_argument("--size", type=int, default=64, help="image side of the QC pair")
    ap.add_argument("--warm-calls", type=int, default=50)
    ap.add_argument("--artifact-calls", type=int, default=10, help="calls that also write the QC artifacts")
    ap.add_argument("--workers", type=int, default=1, help="server worker processes")
    ap.add_argument("--out", default=str(Path(__file__).parent / "results" / "server.json"))
    args = ap.parse_args()

    from fijax import ops

    qc = ops.get("qc")
    inputs = pair(args.size)
    options = {"maps": False}
    # Baseline: the kernel in this process, warm; without and with an artifacts folder (CSV, panels).
    for _ in range(5):
        qc(inputs, options)
    kernel = []
    for _ in range(args.warm_calls):
        t = time.perf_counter()
        qc(inputs, options)
        kernel.append(time.perf_counter() - t)
    kernel_files = []
    with tempfile.TemporaryDirectory(prefix="fijax-bench-k-") as ktmp:
        for i in range(args.artifact_calls + 2):
            t = time.perf_counter()
            qc(inputs, options, ops.OpContext(out_dir=Path(ktmp) / str(i)))
            if i >= 2:
                kernel_files.append(time.perf_counter() - t)

    with tempfile.TemporaryDirectory(prefix="fijax-bench-") as tmp:
        proc, t_health, t_first, client = start_server(Path(tmp), args.workers)
        try:
            for _ in range(5):
                client.run("qc", inputs, options, fetch_images=False, artifacts=False)
            warm = []
            for _ in range(args.warm_calls):
                t = time.perf_counter()
                res = client.run("qc", inputs, options, fetch_images=False, artifacts=False)
                warm.append(time.perf_counter() - t)
            warm_files = []
            for _ in range(args.artifact_calls):
                t = time.perf_counter()
                client.run("qc", inputs, options, fetch_images=False)
                warm_files.append(time.perf_counter() - t)
            assert res.values["pred_ssim"] == qc(inputs, options).values["pred_ssim"]  # same numbers
            # Server-side time of the last job (queue + worker), from the job record.
            job = client.job(res.id)
            server_side = job["finished"] - job["created"]

            latencies: list[float] = []
            failures: list[str] = []
            lock = threading.Lock()

            def one_client(seed: int) -> None:
                mine, errs = [], []
                with Client(client.url, read_token_file(Path(tmp) / "token")[0], timeout=300) as c:
                    for _ in range(args.requests):
                        t = time.perf_counter()
                        try:
                            c.run("qc", inputs, options, fetch_images=False, artifacts=False)
                            mine.append(time.perf_counter() - t)
                        except Exception as exc:  # noqa: BLE001 - counted as a failure
                            errs.append(f"{type(exc).__name__}: {exc}")
                with lock:
                    latencies.extend(mine)
                    failures.extend(errs)

            threads = [threading.Thread(target=one_client, args=(i,)) for i in range(args.clients)]
            t0 = time.perf_counter()
            for th in threads:
                th.start()
            for th in threads:
                th.join()
            wall = time.perf_counter() - t0
        finally:
            client.close()
            proc.terminate()
            proc.wait(30)

    result = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"), "machine": platform.platform(),
        "cpu_count": os.cpu_count(), "load_avg": os.getloadavg(), "versions": library_versions(),
        "settings": {k: v for k, v in vars(args).items() if k != "out"},
        "cold_start_to_health_s": t_health, "cold_start_to_first_qc_s": t_first,
        "kernel_p50_ms": 1e3 * pct(kernel, 50), "http_p50_ms": 1e3 * pct(warm, 50),
        "warm_overhead_p50_ms": 1e3 * (pct(warm, 50) - pct(kernel, 50)),
        "http_over_kernel_ratio": pct(warm, 50) / pct(kernel, 50),
        "last_job_server_side_ms": 1e3 * server_side,
        "kernel_with_artifacts_p50_ms": 1e3 * pct(kernel_files, 50),
        "http_with_artifacts_p50_ms": 1e3 * pct(warm_files, 50),
        "warm_overhead_with_artifacts_p50_ms": 1e3 * (pct(warm_files, 50) - pct(kernel_files, 50)),
        "load_requests": args.clients * args.requests, "load_failures": len(failures),
        "load_p50_ms": 1e3 * pct(latencies, 50), "load_p99_ms": 1e3 * pct(latencies, 99),
        "load_wall_s": wall, "load_throughput_rps": len(latencies) / wall,
        "failure_examples": failures[:5],
    }
    print(f"cold start: /health after {t_health:.2f} s, first QC answer after {t_first:.2f} s")
    print(f"warm QC {args.size}x{args.size}: kernel p50 {result['kernel_p50_ms']:.1f} ms, HTTP p50 "
          f"{result['http_p50_ms']:.1f} ms -> overhead {result['warm_overhead_p50_ms']:.1f} ms "
          f"(x{result['http_over_kernel_ratio']:.2f} the kernel; goal <= 50 ms)")
    print(f"with artifacts (CSV, panels): kernel p50 {result['kernel_with_artifacts_p50_ms']:.1f} ms, HTTP p50 "
          f"{result['http_with_artifacts_p50_ms']:.1f} ms -> overhead "
          f"{result['warm_overhead_with_artifacts_p50_ms']:.1f} ms")
    print(f"{args.clients} clients x {args.requests} requests: p50 {result['load_p50_ms']:.1f} ms, p99 "
          f"{result['load_p99_ms']:.1f} ms, {len(failures)} failures, {result['load_throughput_rps']:.1f} req/s")
    print(f"(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)")
    atomic_write_text(args.out, json.dumps(result, indent=1, default=str))
    return 0 if not failures else 1


if __name__ == "__main__":
    raise SystemExit(main())
