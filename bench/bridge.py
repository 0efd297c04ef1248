"""Benchmark of the JVM bridge: pixel round trip vs memcpy, JVM cold start, warm FiJAX call overhead.

Run: ``python bench/bridge.py [--size 4096] [--repeat 5]``. Prints the numbers, the ratios
and the versions (fijax.versions) as JSON on the last line.

* round trip: numpy -> ImagePlus -> numpy of a SIZE x SIZE float32 image, against ``numpy.copy``
  of the same bytes (the peer: one memcpy). Goal: ratio <= 3 (one copy each way is 2).
* cold start: a fresh Python process that imports fijax, starts the JVM (jars cached) and runs an
  empty macro; reported as wall time.
* warm overhead: ``run("FiJAX Noop")`` (a command doing nothing on a 64x64 image) minus the same
  macro without the command, per call. Goal: <= 50 ms.
"""

from __future__ import annotations

import argparse
import datetime
import json
import statistics
import subprocess
import sys
import time

import numpy as np


def best(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def cold_start() -> float:
    code = ("import time; t=time.perf_counter(); from fijax.bridge import imagej, jvm; "
            "imagej().run_macro('x=1;'); print(jvm.info().start_seconds); print(time.perf_counter()-t)")
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    wall = time.perf_counter() - t0
    lines = out.stdout.strip().splitlines()
    return wall, float(lines[-1]), float(lines[-2])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=4096)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--calls", type=int, default=30)
    args = parser.parse_args()

    from fijax.bridge import commands, imagej
    from fijax.io import Image
    from fijax.versions import library_versions

    wall, in_process, jvm_only = cold_start()
    print(f"cold start (new process, jars cached): {wall:.2f} s wall, {in_process:.2f} s from import to first "
          f"macro, of which {jvm_only:.2f} s resolving the cached jars + starting the JVM + patching ImageJ")

    ij = imagej()
    rng = np.random.default_rng(0)
    data = rng.random((args.size, args.size), dtype=np.float32)
    image = Image(data)
    back = ij.from_imageplus(ij.to_imageplus(image))
    assert np.array_equal(back.data, data), "round trip is not bit-exact"
    t_copy = best(lambda: np.copy(data), args.repeat)
    t_to = best(lambda: ij.to_imageplus(image), args.repeat)
    imp = ij.to_imageplus(image)
    t_from = best(lambda: ij.from_imageplus(imp), args.repeat)
    t_rt = best(lambda: ij.from_imageplus(ij.to_imageplus(image)), args.repeat)
    mb = data.nbytes / 2**20
    print(f"{args.size}^2 float32 ({mb:.0f} MiB): numpy.copy {t_copy * 1e3:.1f} ms, "
          f"to_imageplus {t_to * 1e3:.1f} ms, from_imageplus {t_from * 1e3:.1f} ms, "
          f"round trip {t_rt * 1e3:.1f} ms -> ratio {t_rt / t_copy:.2f}x memcpy (goal <= 3)")

    @commands.macro_command("FiJAX Noop", inputs={"image": "image"}, summary="benchmark: does nothing")
    def noop(call):
        return None

    small = {"img": Image(np.zeros((64, 64), np.float32))}
    n = args.calls
    with_cmd = f'for (i = 0; i < {n}; i++) run("FiJAX Noop", "");'
    without = f"for (i = 0; i < {n}; i++) x = i;"
    ij.run_macro(with_cmd, inputs=small)  # warm up
    t_with = statistics.median(best(lambda: ij.run_macro(with_cmd, inputs=small), 1) for _ in range(args.repeat))
    t_without = statistics.median(best(lambda: ij.run_macro(without, inputs=small), 1) for _ in range(args.repeat))
    per_call = (t_with - t_without) / n
    print(f"warm FiJAX command overhead: {per_call * 1e3:.2f} ms per call (goal <= 50 ms)")
    gauss = 'run("FiJAX Gaussian", "sigma=2 output=b");'
    ij.run_macro(gauss, inputs=small)
    t_gauss = statistics.median(best(lambda: ij.run_macro(gauss, inputs=small), 1) for _ in range(args.repeat))
    print(f"warm macro with one FiJAX Gaussian on 64x64 (incl. macro setup/teardown): {t_gauss * 1e3:.1f} ms")
    print(json.dumps({
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "size": args.size, "copy_ms": t_copy * 1e3, "to_imageplus_ms": t_to * 1e3,
        "from_imageplus_ms": t_from * 1e3, "round_trip_ms": t_rt * 1e3, "round_trip_ratio": t_rt / t_copy,
        "cold_start_s": wall, "cold_jvm_s": jvm_only, "warm_call_overhead_ms": per_call * 1e3, "warm_gaussian_macro_ms": t_gauss * 1e3,
        "versions": {**library_versions(), **ij.versions()},
    }))


if __name__ == "__main__":
    main()
