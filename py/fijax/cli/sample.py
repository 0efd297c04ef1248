"""``fijax sample``: small synthetic images to try every command of the README and docs on.

Writes, into ``--out`` (default: the current folder):

- ``noisy.tif``, ``gt.tif`` -- a camera image (Poisson-Gaussian noise: gain 2, offset 100, read noise 3)
  and its ground truth, the demo's test image (seed 0);
- ``noisy/``, ``gt/`` -- ``--count`` more such pairs (seeds 1..count), paired by file name;
- ``images/``, ``labels/`` -- ``--count`` images of touching nuclei and their label images (0 =
  background), paired by file name, for ``fijax train seg``.

Everything is deterministic (fixed seeds), so the examples give the same numbers everywhere.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("sample", help="write small synthetic sample images (noisy/GT pairs, nuclei + labels)",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", "-o", default=".", help="output folder (default: the current folder)")
    p.add_argument("--size", type=int, default=128, help="side of the images in pixels (default 128)")
    p.add_argument("--count", type=int, default=4, help="images in each folder (default 4)")
    p.add_argument("--json", action="store_true", help="print the written paths as JSON")
    p.set_defaults(func=run)


def write_samples(out: Path, size: int = 128, count: int = 4) -> dict[str, list[Path]]:
    """Write the sample files to ``out`` (atomically); return the written paths by group."""
    from fijax.data import synthetic_pair
    from fijax.engine.seg_synthetic import touching_nuclei
    from fijax.io import Image, write_tiff

    out.mkdir(parents=True, exist_ok=True)
    written: dict[str, list[Path]] = {"test pair": [], "noisy/ gt/": [], "images/ labels/": []}
    pair = synthetic_pair((size, size), seed=0)
    for name, img in (("noisy", pair.noisy), ("gt", pair.gt)):
        write_tiff(out / f"{name}.tif", img)
        written["test pair"].append(out / f"{name}.tif")
    for i in range(count):
        pair = synthetic_pair((size, size), seed=i + 1)
        for name, img in (("noisy", pair.noisy), ("gt", pair.gt)):
            (out / name).mkdir(exist_ok=True)
            write_tiff(out / name / f"tile_{i:02d}.tif", img)
            written["noisy/ gt/"].append(out / name / f"tile_{i:02d}.tif")
    images, labels = touching_nuclei(count, size=size, seed=0)
    for i in range(count):
        for name, arr in (("images", images[i]), ("labels", labels[i])):
            (out / name).mkdir(exist_ok=True)
            write_tiff(out / name / f"nuclei_{i:02d}.tif", Image(arr, axes="YX", title=f"nuclei_{i:02d}"))
            written["images/ labels/"].append(out / name / f"nuclei_{i:02d}.tif")
    return written


def run(args: argparse.Namespace) -> int:
    from fijax.errors import InputError

    if not 16 <= args.size <= 4096:
        raise InputError(f"--size must be between 16 and 4096, got {args.size}")
    if not 1 <= args.count <= 100:
        raise InputError(f"--count must be between 1 and 100, got {args.count}")
    written = write_samples(Path(args.out), args.size, args.count)
    if args.json:
        import json

        print(json.dumps({k: [str(p) for p in v] for k, v in written.items()}))
        return 0
    print(f"fijax sample: {sum(map(len, written.values()))} files in {Path(args.out).resolve()} "
          f"({args.size}x{args.size}, fixed seeds)")
    print("  noisy.tif, gt.tif      a noisy camera image and its ground truth")
    print(f"  noisy/, gt/            {args.count} more noisy/ground-truth pairs (train, predict, qc, batch)")
    print(f"  images/, labels/       {args.count} nuclei images and their labels (train seg)")
    return 0
