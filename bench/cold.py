"""Cold calls: each fijax call in a fresh process beside its peer, in one run (issue 13's table).

Rows (512x512 float32 unless said):

* ``fijax puredenoise`` with an empty compilation cache, a shape seen before, a new shape in a
  seen bucket (500x470 -> 512x512) and a new shape in a new bucket (700x650 -> 768x768), beside a
  scikit-image script (``denoise_wavelet`` BayesShrink, db1) in a fresh process;
* ``fijax qc`` of one pair beside a scikit-image SSIM + PSNR script;
* ``fijax macro`` running ``FiJAX PureDenoise`` + ``FiJAX QC`` beside the same macro with ImageJ's
  Median, Gaussian Blur and Measure (both in headless ImageJ through ``fijax macro``);
* ``fijax serve``: seconds from start to the first PURE-LET result, and a repeated request.

Each pair runs back to back (peer, then fijax), ``--repeat`` times; the median wall time and the
child's CPU time (user + system) are reported. The machine may be loaded by other work: the load
average is recorded and only the ratios of one run should be compared.

Usage::

    python bench/cold.py [--repeat 3] [--out bench/results/cold.json] [--skip-macro] [--skip-serve]
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import tifffile
from skimage import data

from fijax.io import atomic_write_text
from fijax.versions import library_versions

ROOT = Path(__file__).resolve().parents[1]

PEER_DENOISE = """
import sys, numpy, tifffile
from skimage.restoration import denoise_wavelet
y = tifffile.imread(sys.argv[1]).astype(numpy.float64)
out = denoise_wavelet(y, method="BayesShrink", mode="soft", wavelet="db1", rescale_sigma=True)
tifffile.imwrite(sys.argv[2], out.astype(numpy.float32))
"""

PEER_QC = """
import sys, numpy, tifffile
from skimage.metrics import peak_signal_noise_ratio, structural_similarity
gt = tifffile.imread(sys.argv[1]).astype(numpy.float64)
pred = tifffile.imread(sys.argv[2]).astype(numpy.float64)
rng = float(gt.max() - gt.min())
print(structural_similarity(gt, pred, data_range=rng), peak_signal_noise_ratio(gt, pred, data_range=rng))
"""

MACRO_FIJAX = """
selectImage("raw");
run("FiJAX PureDenoise", "parameters='1 4' estimation=[Auto Global]");
run("FiJAX QC", "ground=[gt] prediction=[Denoised-raw]");
"""

MACRO_IMAGEJ = """
selectImage("raw");
run("Duplicate...", "title=median");
run("Median...", "radius=2");
run("Gaussian Blur...", "sigma=2");
run("Set Measurements...", "mean standard min redirect=None decimal=6");
run("Measure");
"""


def make_data(folder: Path) -> dict[str, Path]:
    """Poisson-Gaussian cameraman images (peak 30, sigma 3) and the clean ground truth."""
    rng = np.random.default_rng(0)
    x = data.camera().astype(np.float64) / 255 * 30
    big = np.pad(x, ((94, 94), (69, 69)), mode="reflect")  # 700x650
    files = {}
    for name, clean in {"a": x, "b": x[:500, :470], "c": big}.items():
        y = rng.poisson(clean) + rng.normal(0, 3, clean.shape)
        files[name] = folder / f"{name}.tif"
        tifffile.imwrite(files[name], y.astype(np.float32))
    files["gt"] = folder / "gt.tif"
    tifffile.imwrite(files["gt"], x.astype(np.float32))
    return files


def timed(cmd: list[str], env: dict[str, str]) -> dict[str, float]:
    """Run ``cmd`` in a fresh process; its wall and CPU seconds (fails loudly on a non-zero exit)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    out, err = proc.communicate()
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({code}):\n{err.decode()[-2000:]}")
    return {"wall_s": wall, "cpu_s": usage.ru_utime + usage.ru_stime}


def median_of(runs: list[dict[str, float]]) -> dict[str, float]:
    return {k: round(statistics.median(r[k] for r in runs), 3) for k in runs[0]}


def pair(name: str, fijax_cmd: list[str], peer_cmd: list[str], env: dict[str, str], repeat: int,
         prepare=None) -> dict:
    """Peer then fijax, ``repeat`` times (``prepare()`` before each fijax run, e.g. a cold cache)."""
    fj, peer = [], []
    for _ in range(repeat):
        peer.append(timed(peer_cmd, env))
        if prepare is not None:
            prepare()
        fj.append(timed(fijax_cmd, env))
    row = {"call": name, "fijax": median_of(fj), "peer": median_of(peer), "runs": repeat}
    row["ratio_wall"] = round(row["fijax"]["wall_s"] / row["peer"]["wall_s"], 2)
    row["ratio_cpu"] = round(row["fijax"]["cpu_s"] / row["peer"]["cpu_s"], 2)
    print(f"{name:55s} fijax {row['fijax']['wall_s']:6.2f} s  peer {row['peer']['wall_s']:6.2f} s  "
          f"ratio {row['ratio_wall']:5.2f}x (cpu {row['ratio_cpu']:.2f}x)", flush=True)
    return row


def serve_first_result(env: dict[str, str], tmp: Path, image: Path) -> dict:
    """Seconds from ``fijax serve`` start to its first PURE-LET result, and of a second request."""
    from fijax.client import Client

    token = tmp / "serve.token"
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "fijax", "serve", "--port", "0", "--token-file", str(token)],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        client = Client.wait_for_server(token, wait_s=600, process=proc)
        ready = time.perf_counter() - t0
        client.run("puredenoise", {"image": image}, artifacts=False)
        first = time.perf_counter() - t0
        t1 = time.perf_counter()
        client.run("puredenoise", {"image": image}, artifacts=False)
        again = time.perf_counter() - t1
        client.close()
    finally:
        proc.terminate()
        proc.wait(30)
    row = {"call": "fijax serve: start to first puredenoise result", "ready_s": round(ready, 2),
           "first_result_s": round(first, 2), "repeated_request_s": round(again, 2)}
    print(f"{row['call']:55s} ready {ready:.2f} s, first result {first:.2f} s, repeated {again:.2f} s")
    return row


def markdown(result: dict) -> str:
    """The rows of a result as a Markdown table (median wall and CPU seconds, ratios)."""
    lines = ["| call | fijax wall (CPU) s | peer wall (CPU) s | ratio wall (CPU) |", "|---|---|---|---|"]
    for r in result["rows"]:
        if "fijax" in r:
            lines.append(f"| {r['call']} | {r['fijax']['wall_s']:.2f} ({r['fijax']['cpu_s']:.2f}) | "
                         f"{r['peer']['wall_s']:.2f} ({r['peer']['cpu_s']:.2f}) | "
                         f"{r['ratio_wall']:.2f}× ({r['ratio_cpu']:.2f}×) |")
        else:
            lines.append(f"| {r['call']} | ready {r['ready_s']:.1f}, first result {r['first_result_s']:.1f}, "
                         f"repeated request {r['repeated_request_s']:.2f} | | |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "cold.json"))
    ap.add_argument("--skip-macro", action="store_true", help="no ImageJ rows (no JVM needed)")
    ap.add_argument("--skip-serve", action="store_true")
    args = ap.parse_args()

    load_before = os.getloadavg()
    tmp = Path(tempfile.mkdtemp(prefix="fijax-cold-"))
    files = make_data(tmp)
    home = tmp / "home"
    env = dict(os.environ, FIJAX_HOME=str(home), JAX_PLATFORMS=os.environ.get("JAX_PLATFORMS", "cpu"))
    if "FIJAX_JAR_CACHE" not in env:  # reuse the downloaded jars of the real home
        env["FIJAX_JAR_CACHE"] = str(Path(os.environ.get("FIJAX_HOME") or Path.home() / ".fijax") / "jvm")
    fx = [sys.executable, "-m", "fijax"]
    py = [sys.executable, "-c"]
    out = tmp / "out"
    out.mkdir()

    def pd(name: str) -> list[str]:
        return fx + ["puredenoise", str(files[name]), "--out", str(out / f"{name}_pd.tif")]

    def peer_pd(name: str) -> list[str]:
        return py + [PEER_DENOISE, str(files[name]), str(out / f"{name}_sk.tif")]

    def clear_cache() -> None:
        import shutil

        shutil.rmtree(home / "jax-cache", ignore_errors=True)

    rows = [
        pair("puredenoise 512², empty compilation cache", pd("a"), peer_pd("a"), env, 1, prepare=clear_cache),
        pair("puredenoise 512², shape seen before", pd("a"), peer_pd("a"), env, args.repeat),
        pair("puredenoise 500x470, new shape (bucket 512² seen)", pd("b"), peer_pd("b"), env, 1),
        pair("puredenoise 700x650, new shape and new bucket (768²)", pd("c"), peer_pd("c"), env, 1),
        pair("puredenoise 700x650, seen", pd("c"), peer_pd("c"), env, args.repeat),
    ]
    qc_cmd = fx + ["qc", "--gt", str(files["gt"]), "--prediction", str(out / "a_pd.tif"), "--out", str(out / "qc")]
    rows.append(pair("qc one pair 512² (first)", qc_cmd, py + [PEER_QC, str(files["gt"]), str(out / "a_pd.tif")],
                     env, 1))
    rows.append(pair("qc one pair 512²", qc_cmd, py + [PEER_QC, str(files["gt"]), str(out / "a_pd.tif")],
                     env, args.repeat))
    if not args.skip_macro:
        (tmp / "fijax.ijm").write_text(MACRO_FIJAX)
        (tmp / "imagej.ijm").write_text(MACRO_IMAGEJ)
        inputs = ["--input", f"raw={files['a']}", "--input", f"gt={files['gt']}"]
        rows.append(pair("macro FiJAX PureDenoise + FiJAX QC vs Median/Gaussian/Measure",
                         fx + ["macro", str(tmp / "fijax.ijm"), *inputs, "--out", str(out / "m1")],
                         fx + ["macro", str(tmp / "imagej.ijm"), *inputs, "--out", str(out / "m2")],
                         env, args.repeat))
    if not args.skip_serve:
        rows.append(serve_first_result(env, tmp, files["a"]))

    result = {
        "benchmark": "cold calls, fresh processes (issue 13)",
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "cpus": os.cpu_count(),
        "load_average_before": [round(v, 2) for v in load_before],
        "load_average_after": [round(v, 2) for v in os.getloadavg()],
        "note": "ratios are fijax/peer in the same run; wall times depend on the machine's load",
        "versions": library_versions(),
        "rows": rows,
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(args.out, json.dumps(result, indent=2) + "\n")
    print(markdown(result))
    print(f"load average before {result['load_average_before']}, after {result['load_average_after']}; "
          f"wrote {args.out}")


if __name__ == "__main__":
    main()
