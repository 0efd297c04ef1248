"""Benchmark of the QC kernels against their peers, in the same run (ratios, not absolute times).

* SSIM with the full map (Wang settings: Gaussian sigma 1.5, population covariance) on a 2048x2048
  float32 pair and on a 16x1024x1024 stack, vs ``skimage.metrics.structural_similarity`` (looped
  over the slices for the stack). Goals: >= 4x (2048^2) and >= 6x (stack).
* Matching of two 2048x2048 label images with ~2000 objects over thresholds 0.5, 0.55, ..., 0.95,
  vs ``stardist.matching.matching`` with the same list of thresholds (one call each; StarDist's
  numba overlap is compiled by a warm-up call first). Goal: >= 10x.

Each timing is the median of ``--repeats`` interleaved runs after one warm-up (JAX compilation
excluded on both sides). The numbers are checked for agreement (SSIM mean within 1e-5, maps
within 1e-4; matching counts equal and scores within 1e-6) in the same run.

Usage: ``python bench/qc.py [--repeats 5] [--json results.json]``
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from datetime import UTC, datetime

import numpy as np

SEED = 0


def _timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def _race(ours, peer, repeats: int) -> tuple[float, float, object, object]:
    """Warm both up, then alternate them ``repeats`` times; median seconds of each."""
    a_out, b_out = ours(), peer()
    ta, tb = [], []
    for _ in range(repeats):
        t, a_out = _timed(ours)
        ta.append(t)
        t, b_out = _timed(peer)
        tb.append(t)
    return statistics.median(ta), statistics.median(tb), a_out, b_out


def bench_ssim(shape: tuple[int, ...], repeats: int) -> dict:
    from skimage.metrics import structural_similarity

    from fijax.qc import ssim

    rng = np.random.default_rng(SEED)
    a = rng.random(shape, dtype=np.float32)
    b = (a + 0.1 * rng.standard_normal(shape, dtype=np.float32)).astype(np.float32)
    kw = dict(gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=1.0)

    def ours():
        m, s = ssim(a, b, full=True, **kw)
        return np.atleast_1d(m), s

    def peer():
        planes = a.reshape((-1,) + a.shape[-2:]), b.reshape((-1,) + b.shape[-2:])
        res = [structural_similarity(x, y, full=True, **kw) for x, y in zip(*planes, strict=True)]
        return np.array([r[0] for r in res]), np.stack([r[1] for r in res]).reshape(shape)

    t_ours, t_peer, (m1, s1), (m2, s2) = _race(ours, peer, repeats)
    return {"case": f"ssim full map {'x'.join(map(str, shape))} float32", "ours_s": t_ours, "peer_s": t_peer,
            "ratio": t_peer / t_ours, "max_mean_diff": float(np.max(np.abs(m1 - m2))),
            "max_map_diff": float(np.max(np.abs(s1.astype(np.float64) - s2))),
            "peer": "skimage.metrics.structural_similarity"}


def _voronoi_labels(size: int, n: int, rng: np.random.Generator, jitter: int = 0, gap: int = 3) -> np.ndarray:
    from scipy import ndimage as ndi

    pts = rng.integers(0, size, (n, 2))
    if jitter:
        pts = np.clip(pts + rng.integers(-jitter, jitter + 1, pts.shape), 0, size - 1)
    seeds = np.zeros((size, size), np.int32)
    seeds[pts[:, 0], pts[:, 1]] = np.arange(1, n + 1)
    _, (iy, ix) = ndi.distance_transform_edt(seeds == 0, return_indices=True)
    lab = seeds[iy, ix]
    lab[ndi.morphological_gradient(lab, size=gap) > 0] = 0  # background between cells
    return lab.astype(np.uint16)


def bench_matching(repeats: int) -> dict:
    from fijax.qc import matching

    try:
        from stardist.matching import matching as sd_matching
    except ImportError as exc:
        return {"case": "matching", "skipped": f"stardist not importable ({exc}); no peer, no ratio"}
    rng = np.random.default_rng(SEED)
    size, n = 2048, 2000
    state = rng.bit_generator.state
    gt = _voronoi_labels(size, n, rng)
    rng.bit_generator.state = state  # same seeds, jittered: a prediction of the same cells
    pred = _voronoi_labels(size, n, rng, jitter=6, gap=5)
    thresholds = [round(0.5 + 0.05 * k, 2) for k in range(10)]
    t_ours, t_peer, a, b = _race(lambda: matching(gt, pred, thresholds), lambda: sd_matching(gt, pred, thresholds),
                                 repeats)
    counts_equal = all((x.tp, x.fp, x.fn, x.n_true, x.n_pred) == (y.tp, y.fp, y.fn, y.n_true, y.n_pred)
                       for x, y in zip(a, b, strict=True))
    score_diff = max(abs(getattr(x, f) - float(getattr(y, f))) for x, y in zip(a, b, strict=True)
                     for f in ("precision", "recall", "accuracy", "f1", "mean_true_score", "mean_matched_score",
                               "panoptic_quality"))
    return {"case": f"matching {size}x{size} labels, {a[0].n_true} vs {a[0].n_pred} objects, "
                    f"thresholds 0.5..0.95 ({len(thresholds)})",
            "ours_s": t_ours, "peer_s": t_peer, "ratio": t_peer / t_ours, "counts_equal": counts_equal,
            "max_score_diff": score_diff, "tp_per_threshold": [x.tp for x in a], "peer": "stardist.matching.matching"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", help="also write the results as JSON")
    args = parser.parse_args(argv)

    import jax

    from fijax.versions import library_versions

    versions = library_versions()
    try:
        import importlib.metadata as md

        versions["stardist"] = md.version("stardist")
    except Exception:  # noqa: BLE001 - optional peer
        pass
    print(f"fijax QC benchmark, {datetime.now(UTC).isoformat(timespec='seconds')}, seed {SEED}, "
          f"JAX backend {jax.default_backend()} ({jax.devices()[0].device_kind})")
    goals = {"ssim full map 2048x2048 float32": 4.0, "ssim full map 16x1024x1024 float32": 6.0, "matching": 10.0}
    results = [bench_ssim((2048, 2048), args.repeats), bench_ssim((16, 1024, 1024), args.repeats),
               bench_matching(args.repeats)]
    ok = True
    for r in results:
        if "skipped" in r:
            print(f"{r['case']}: SKIPPED - {r['skipped']}")
            continue
        goal = next(v for k, v in goals.items() if r["case"].startswith(k))
        extra = (f"mean diff {r['max_mean_diff']:.1e}, map diff {r['max_map_diff']:.1e}" if "max_map_diff" in r
                 else f"counts equal {r['counts_equal']}, score diff {r['max_score_diff']:.1e}")
        met = r["ratio"] >= goal
        ok &= met
        print(f"{r['case']}: fijax {r['ours_s'] * 1e3:.1f} ms, {r['peer']} {r['peer_s'] * 1e3:.1f} ms, "
              f"ratio {r['ratio']:.1f}x (goal {goal:g}x {'met' if met else 'NOT met'}); {extra}")
    if args.json:
        from fijax.io import atomic_write_text

        atomic_write_text(args.json, json.dumps({"date_utc": datetime.now(UTC).isoformat(timespec="seconds"),
                                                 "seed": SEED, "versions": versions, "results": results},
                                                indent=2) + "\n")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
