"""Operation ``train``: train a CARE / N2V / N2V2 (or any registered task) model and register it.

Images come either as inputs (``source`` and, for supervised tasks, ``target``: each an image or
stack — the server and macro commands pass these) or as paths (``source_paths`` /
``target_paths``: image files or folders, paired by file name (:mod:`fijax.io.datasets`) — the CLI
passes these; their file names and sha256 go into the model card). Long-running: progress goes to ``ctx.progress`` after
every step and ``ctx.check_cancelled`` is honoured before every step; a cancelled or crashed run
continues with ``resume=true``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pydantic

from fijax.errors import InputError
from fijax.io.datasets import expand_paths, pair_by_name, tiff_stem
from fijax.io.image import Image
from fijax.ops import OpContext, OpResult, operation

__all__ = ["TrainOptions", "collect_tiffs", "resolve_config", "train_op"]


class TrainOptions(pydantic.BaseModel):
    """Options of ``train`` (fields left ``None`` come from the preset)."""

    model_config = pydantic.ConfigDict(extra="forbid")

    name: str = pydantic.Field(description="model name in the registry (a new version is added)")
    task: str = pydantic.Field("care", description="care | n2v | n2v2 | another registered task")
    preset: str = pydantic.Field("auto", description="auto (quick on CPU, the full preset on GPU) | quick | "
                                 "care | n2v | n2v2 | n2v-fast")
    ndim: int | None = pydantic.Field(None, description="2 or 3 (default 2; 3 makes Z a spatial axis)")
    epochs: int | None = pydantic.Field(None, ge=1)
    steps_per_epoch: int | None = pydantic.Field(None, ge=1)
    batch_size: int | None = pydantic.Field(None, ge=1)
    patch_size: str | list[int] | None = pydantic.Field(None, description="e.g. 64 or 64x64 or [16,64,64]")
    learning_rate: float | None = pydantic.Field(None, gt=0)
    loss: str | None = None
    dropout: float | None = pydantic.Field(None, ge=0, lt=1)
    val_fraction: float | None = pydantic.Field(None, gt=0, lt=0.5)
    parent: str | None = pydantic.Field(None, description="NAME[:VERSION] to fine-tune (transfer learning)")
    resume: bool = pydantic.Field(False, description="continue the latest interrupted run of this name")
    description: str | None = pydantic.Field(None, description="intended domain in your words (sample, "
                                             "structure, microscope), kept in the model card")
    restart: bool = pydantic.Field(False, description="discard interrupted runs of this name (kept by default)")
    seed: int = pydantic.Field(0, ge=0, lt=2**32, description="random seed (0 to 2^32-1)")
    config: dict[str, Any] = pydantic.Field(default_factory=dict, description="any other TrainConfig field")
    test: str | None = pydantic.Field(None, description="held-out test folder with source/ and target/ "
                                      "subfolders (paired by file name): QC against PureDenoise and the domain "
                                      "check, stored with the model (qc_test.csv)")
    source_paths: list[str] = pydantic.Field(default_factory=list)
    target_paths: list[str] = pydantic.Field(default_factory=list)


def collect_tiffs(paths: list[str]) -> list[Path]:
    """Expand files and folders into a sorted list of image files.

    A folder gives its TIFF files and the other files :func:`fijax.io.microscopy.read_image` reads
    (OME-TIFF, CZI, ND2, LIF, OME-Zarr folders); an OME-Zarr folder given itself is one image.
    """
    from fijax.io.microscopy import is_supported

    return expand_paths(paths, is_supported, whole=lambda p: p.name.lower().endswith(".zarr"),
                        empty="no image files (TIFF, OME-TIFF, OME-Zarr, CZI, ND2, LIF) in folder {path}",
                        missing="input not found: {path}")


def resolve_config(options: TrainOptions, sources: list[Image]):
    """The :class:`~fijax.engine.config.TrainConfig` for these options (preset + overrides)."""
    import jax

    from fijax.engine.config import PRESETS, preset

    name = options.preset
    if name == "auto":
        gpu = any(d.platform != "cpu" for d in jax.devices())
        name = (options.task if options.task in PRESETS else "care") if gpu else "quick"
    ndim = options.ndim or 2
    overrides: dict[str, Any] = dict(options.config)
    for field in ("epochs", "steps_per_epoch", "batch_size", "patch_size", "learning_rate", "loss", "dropout",
                  "val_fraction"):
        value = getattr(options, field)
        if value is not None:
            overrides[field] = value
    overrides["seed"] = options.seed
    return preset(name, options.task, ndim, **overrides)


@operation("train", TrainOptions, optional_inputs=("source", "target"), long_running=True,
           summary="Train a CARE / Noise2Void model and register it")
def train_op(inputs: Mapping[str, Image], options: TrainOptions, ctx: OpContext) -> OpResult:
    """Train and register; values carry the model reference, table the per-epoch log."""
    from fijax.engine.train import train
    from fijax.io.hashing import sha256_file
    from fijax.io.microscopy import read_image

    files: dict[str, str] = {}
    sources: list[Image] = [inputs["source"]] if "source" in inputs else []
    targets: list[Image] = [inputs["target"]] if "target" in inputs else []
    if options.source_paths:
        for p in collect_tiffs(options.source_paths):
            sources.append(read_image(p))
            files[str(p)] = sha256_file(p)
    if options.target_paths:  # paired with the sources by file name (fijax.io.datasets)
        named = {tiff_stem(p): p for p in collect_tiffs(options.source_paths)} if options.source_paths else {}
        found = {tiff_stem(p): p for p in collect_tiffs(options.target_paths)}
        for p in (pair_by_name(named, found, "target", "source").values() if named else found.values()):
            targets.append(read_image(p))
            files[str(p)] = sha256_file(p)
    if options.resume and options.restart:
        raise InputError("resume and restart exclude each other: resume continues the interrupted run, restart "
                         "discards it")
    if not sources and not options.resume:
        raise InputError("train needs source images (input 'source' or source_paths)")
    if targets and len(targets) != len(sources):
        raise InputError(f"{len(sources)} source image(s) but {len(targets)} target image(s)")
    test_pairs = held_out_pairs(options.test) if options.test else None  # checked before training
    cfg = resolve_config(options, sources)
    res = train(cfg, sources, targets or None, name=options.name, parent=options.parent, resume=options.resume,
                data_files=files or None, progress=ctx.progress, check_cancelled=ctx.check_cancelled,
                description=options.description, restart=options.restart)
    rec = res.record
    test_values = {}
    if test_pairs:
        ctx.progress(1.0, f"QC on {len(test_pairs)} held-out test image(s)")
        rec, test_values = held_out_qc(rec, res.trained, test_pairs, options.test)
    values = {"model": rec.ref, "name": rec.name, "version": rec.version, "task": rec.task,
              "weights_sha256": rec.weights_sha256, "path": str(rec.path), **{
                  k: res.metrics[k] for k in ("loss", "val_loss", "best_val_loss", "epochs", "steps", "selected")},
              "training_seconds": res.card.get("training_seconds"), "parent": res.card.get("parent")}
    # task metrics (e.g. segmentation: val_f1_iou50, val_mean_f1 from the post-training QC)
    values.update({k: v for k, v in res.metrics.items() if k.startswith("val_f1") or k == "val_mean_f1"})
    values.update(test_values)
    return OpResult(table=res.history, values=values, files={"log": rec.path / "log.csv"})


def held_out_pairs(folder: str) -> list[tuple[Path, Path]]:
    """``(source, target)`` pairs of a test folder holding ``source/`` and ``target/`` (paired by name)."""
    root = Path(folder)
    src_dir, tgt_dir = root / "source", root / "target"
    if not src_dir.is_dir() or not tgt_dir.is_dir():
        raise InputError(f"--test {root}: expected subfolders source/ and target/ (ground truth), paired by file name")
    sources = {tiff_stem(p): p for p in collect_tiffs([str(src_dir)])}
    targets = pair_by_name(sources, {tiff_stem(p): p for p in collect_tiffs([str(tgt_dir)])},
                           f"--test {root}/target", "source")
    return [(sources[k], targets[k]) for k in sources]


def held_out_qc(record: Any, trained: Any, pairs: list[tuple[Path, Path]], origin: str) -> tuple[Any, dict]:
    """QC of a freshly registered model on held-out test pairs; stored as ``qc_test.csv`` + card ``test_qc``.

    Per image: the verdict against PureDenoise (``fijax.qc.dataset.qc_dataset`` with
    ``baseline="puredenoise"``) and the domain check. Returns the updated record and values.
    """
    import tempfile

    from fijax.engine.domain import check_image, load_reference
    from fijax.io import atomic_write_text, read_tiff
    from fijax.io.table import csv_text
    from fijax.qc.dataset import qc_dataset
    from fijax.registry.models import ModelRegistry

    gts, srcs, preds = {}, {}, {}
    for s, t in pairs:
        src = read_tiff(s, title=s.stem)
        srcs[s.stem], gts[s.stem] = src, read_tiff(t, title=s.stem)
        preds[s.stem] = src.with_data(trained.predict(src)["prediction"])
    qc = qc_dataset(gts, preds, srcs, baseline="puredenoise", maps=False, panels=False)
    try:
        ref = load_reference(record)
    except InputError:
        ref = None
    rows = []
    for r in qc.images:
        row = {k: r.get(k) for k in ("file", "verdict", "pred_ssim", "pred_psnr", "source_psnr", "baseline_psnr",
                                     "pred_fg_ssim", "baseline_fg_ssim")}
        if ref is not None:
            d = check_image(trained.model, trained.config, ref, srcs[r["file"]])
            row.update(domain_score=d.domain_score, in_domain=d.in_domain)
        rows.append(row)
    card = {"test_qc": {"origin": str(origin), "verdict": qc.summary["verdict"],
                        "verdict_rule": qc.summary.get("verdict_rule"), "n_images": len(rows),
                        "baseline": "puredenoise", "images": qc.summary["images"],
                        "out_of_domain": [r["file"] for r in rows if r.get("in_domain") is False]}}
    with tempfile.TemporaryDirectory() as tmp:
        path = atomic_write_text(Path(tmp) / "qc_test.csv", csv_text(rows))
        record = ModelRegistry(Path(record.path).parents[2]).add_files(record, {"qc_test.csv": path}, card)
    return record, {"test_verdict": qc.summary["verdict"], "test_images": len(rows)}
