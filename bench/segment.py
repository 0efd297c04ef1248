"""Benchmark of instance segmentation (task ``seg``): training speed, 2048² prediction, F1 at IoU 0.5.

Everything on synthetic touching round nuclei (:func:`fijax.engine.seg_synthetic.touching_nuclei`),
in one run:

* **training speed**: steps/s of the ``seg`` preset network (depth 3, 32 filters, kernel 3,
  dropout 0.1; batch 16 of 64² patches) after the compiling first epoch, and the same U-Net size
  trained as a CARE restoration model on the same images (ratio = cost of the 3-class head and
  cross-entropy relative to the engine's restoration loop). StarDist, the usual peer, needs
  TensorFlow, which this environment does not have.
* **prediction of a 2048² image** (tiled network + watershed; a tiling of benchmark images, ~28k
  objects), split into network and post-processing time, vs the classical scikit-image pipeline
  (Otsu threshold, distance transform, ``peak_local_max`` seeds, watershed) on the same image.
* **quality**: pooled matching F1 at IoU 0.5 (and 0.5…0.9) on a held-out benchmark set, ours vs the
  classical pipeline (its ``min_distance`` tuned on the same validation images as our thresholds).

Seeds, versions, device and date are printed and written with ``--json``. Timings are medians of
``--repeats`` runs after a warm-up (JAX compilation excluded).

Usage: ``python bench/segment.py [--epochs 6 --steps 50] [--repeats 3] [--json results.json]``
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime

import numpy as np

SEED = 0


def classical(image: np.ndarray, min_distance: int = 4) -> np.ndarray:
    """scikit-image baseline: Otsu mask, distance-transform peaks as seeds, watershed of -distance."""
    from scipy import ndimage as ndi
    from skimage.feature import peak_local_max
    from skimage.filters import gaussian, threshold_otsu
    from skimage.segmentation import watershed

    smooth = gaussian(image, 1.0)
    mask = smooth > threshold_otsu(smooth)
    dist = ndi.distance_transform_edt(mask)
    peaks = peak_local_max(dist, min_distance=min_distance, labels=ndi.label(mask)[0], exclude_border=False)
    markers = np.zeros(image.shape, np.int32)
    markers[tuple(peaks.T)] = np.arange(1, len(peaks) + 1)
    return watershed(-dist, markers, mask=mask).astype(np.int32)


def _median_time(fn, repeats: int):
    out = fn()  # warm-up (compilation)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def _steps_per_second(history: list[dict], steps_per_epoch: int) -> float:
    later = [h["seconds"] for h in history[1:]] or [h["seconds"] for h in history]
    return steps_per_epoch / statistics.median(later)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--epochs", type=int, default=6)
    ap.add_argument("--steps", type=int, default=50, help="steps per epoch")
    ap.add_argument("--train-images", type=int, default=24)
    ap.add_argument("--train-size", type=int, default=128)
    ap.add_argument("--bench-images", type=int, default=8)
    ap.add_argument("--bench-size", type=int, default=256)
    ap.add_argument("--predict-size", type=int, default=2048)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--no-care", action="store_true", help="skip the CARE training-speed comparison")
    ap.add_argument("--json", help="write the results to this file")
    args = ap.parse_args(argv)

    os.environ.setdefault("FIJAX_HOME", tempfile.mkdtemp(prefix="fijax-bench-seg-"))
    import jax

    from fijax.engine.config import preset
    from fijax.engine.predict import make_forward, predict_sample
    from fijax.engine.seg_synthetic import touching_nuclei
    from fijax.engine.segmentation import segment
    from fijax.engine.train import device_description, train
    from fijax.engine.watershed import probabilities_to_labels
    from fijax.qc.segmentation import matching_dataset
    from fijax.versions import library_versions

    out: dict = {"date": datetime.now(UTC).isoformat(timespec="seconds"), "seed": SEED,
                 "device": device_description(), "versions": library_versions(), "args": vars(args)}
    print(f"# fijax seg benchmark — {out['date']} — {out['device']} — jax {jax.__version__}")

    x, y = touching_nuclei(args.train_images, args.train_size, seed=SEED)
    xb, yb = touching_nuclei(args.bench_images, args.bench_size, seed=SEED + 1000)
    common = dict(epochs=args.epochs, steps_per_epoch=args.steps, seed=SEED, val_fraction=0.15)

    # -- training ------------------------------------------------------------------------------
    cfg = preset("seg", task="seg", **common)
    res = train(cfg, list(x), list(y), name="bench-seg")
    seg_sps = _steps_per_second(res.history, args.steps)
    out["train"] = {"config": cfg.model_dump(mode="json"), "seg_steps_per_s": seg_sps,
                    "seconds": res.card["training_seconds"], "val_f1_iou50": res.metrics.get("val_f1_iou50"),
                    "postprocess": res.card["segmentation"]["postprocess"]}
    print(f"train seg   : {seg_sps:7.2f} steps/s (batch {cfg.batch_size} x {cfg.patch_size}), "
          f"{res.card['training_seconds']:.0f} s, val F1@0.5 {res.metrics.get('val_f1_iou50'):.3f}, "
          f"thresholds {res.card['segmentation']['postprocess']}")
    if not args.no_care:
        care_cfg = preset("seg", task="care", loss="mae", **dict(common, epochs=2))
        care = train(care_cfg, list(x), list(x), name="bench-care", register=False)
        care_sps = _steps_per_second(care.history, args.steps)
        out["train"]["care_steps_per_s"] = care_sps
        print(f"train care  : {care_sps:7.2f} steps/s, same U-Net -> seg/care speed ratio {seg_sps / care_sps:.2f}")

    # -- quality on the benchmark set --------------------------------------------------------------
    taus = [round(0.5 + 0.05 * i, 2) for i in range(9)]
    ours = [segment(res.trained, im).labels for im in xb]
    q_ours = matching_dataset(list(yb), ours, thresh=taus)
    # classical baseline: tune min_distance on the training images (like our thresholds on validation)
    best_md = max((2, 3, 4, 5, 6), key=lambda md: matching_dataset(
        list(y[:4]), [classical(im, md) for im in x[:4]], thresh=0.5).f1)
    base = [classical(im, best_md) for im in xb]
    q_base = matching_dataset(list(yb), base, thresh=taus)
    out["quality"] = {"n_true": q_ours[0].n_true,
                      "ours": {str(t): r.f1 for t, r in zip(taus, q_ours, strict=True)},
                      "classical": {str(t): r.f1 for t, r in zip(taus, q_base, strict=True)},
                      "classical_min_distance": best_md}
    print(f"F1@0.5      : fijax seg {q_ours[0].f1:.3f}  vs  scikit-image classical {q_base[0].f1:.3f} "
          f"(ratio {q_ours[0].f1 / max(q_base[0].f1, 1e-9):.2f}; {q_ours[0].n_true} objects, "
          f"{args.bench_images} images of {args.bench_size}²)")
    print("F1 vs IoU   : " + " ".join(f"{t}:{a.f1:.2f}/{b.f1:.2f}" for t, a, b in zip(taus, q_ours, q_base,
                                                                                  strict=True)) + "  (ours/classical)")

    # -- 2048² prediction ------------------------------------------------------------------------
    reps = int(np.ceil(args.predict_size / args.bench_size))
    big = np.tile(xb[0], (reps, reps))[:args.predict_size, :args.predict_size]
    t_total, seg_out = _median_time(lambda: segment(res.trained, big), args.repeats)
    from fijax.engine import data as D

    lo, hi = D.percentiles(big[..., None], cfg.norm_pmin, cfg.norm_pmax)
    xn = D.normalize(big[..., None], lo, hi)
    forward = make_forward(res.trained.model, res.trained.config)
    t_net, prob = _median_time(lambda: predict_sample(forward, res.trained.model, xn)["probabilities"],
                               args.repeats)
    t_ws, _ = _median_time(lambda: probabilities_to_labels(prob, seg_out.params), args.repeats)
    t_cls, cls_lab = _median_time(lambda: classical(big, best_md), args.repeats)
    out["predict"] = {"shape": list(big.shape), "seconds_total": t_total, "seconds_network": t_net,
                      "seconds_watershed": t_ws, "objects": int(seg_out.labels.max()),
                      "classical_seconds": t_cls, "classical_objects": int(cls_lab.max())}
    print(f"predict {big.shape[0]}x{big.shape[1]}: {t_total:.2f} s total (network {t_net:.2f} s, watershed "
          f"{t_ws:.2f} s), {int(seg_out.labels.max())} objects  vs  classical {t_cls:.2f} s "
          f"-> time ratio ours/classical {t_total / t_cls:.2f}")
    if args.json:
        from fijax.io import atomic_write_text

        atomic_write_text(args.json, json.dumps(out, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
