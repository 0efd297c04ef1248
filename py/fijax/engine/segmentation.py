"""Instance segmentation: a 3-class U-Net task (background / interior / boundary) + seeded watershed.

The task plugs into the shared engine: :func:`fijax.engine.train.train` with ``config.task ==
"seg"`` trains it from image + label-image pairs (same configuration, augmentation, validation
split, log, registry, transfer learning and resume as CARE/N2V). Label images are turned into
3-class targets by :mod:`fijax.engine.seg_targets`; the loss is class-weighted softmax
cross-entropy (weights ``config.extra["class_weights"]``, default ``(1, 1, 2)``: boundaries are
rare and are what separates touching objects).

After the last epoch :meth:`SegTask.finalize` predicts the held-out validation samples, tunes the
watershed thresholds (:func:`fijax.engine.watershed.tune`, matching F1 at IoU 0.5) and scores them
with StarDist-compatible ``matching`` over IoU 0.5…0.9. Saved with the model: ``segmentation.json``
(thresholds, tuning grid, QC), ``qc_matching.csv`` (one row per IoU threshold), ``qc_f1.png``
(F1 vs IoU threshold), and the thresholds in ``config.json`` and the model card.

:func:`segment` predicts labels, class probabilities and a per-object table; with ``samples > 0``
(model trained with dropout) Monte-Carlo dropout gives each object's mean foreground probability
over the samples and its spread. The head is one of possibly several: a second head (e.g. a
StarDist-like star-convex one) would be another :class:`~fijax.engine.tasks.Task` with its own
``outputs``/``loss`` and post-processing, reusing :func:`segment`'s layout and table code through
``postprocess``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from fijax.engine import data as D
from fijax.engine.config import TrainConfig
from fijax.engine.seg_targets import check_pairs, make_targets
from fijax.engine.tasks import OutputKind, Task, register_task
from fijax.engine.watershed import SegParams, probabilities_to_labels, tune
from fijax.errors import InputError
from fijax.io.atomic import atomic_path, atomic_write_text
from fijax.io.image import Image
from fijax.io.table import csv_text

#: IoU thresholds of the QC table and figure.
QC_THRESHOLDS = tuple(round(0.5 + 0.05 * i, 2) for i in range(9))
DEFAULT_CLASS_WEIGHTS = (1.0, 1.0, 2.0)
QC_FIELDS = ["thresh", "tp", "fp", "fn", "precision", "recall", "accuracy", "f1", "n_true", "n_pred",
             "mean_true_score", "mean_matched_score", "panoptic_quality"]


class SegTask(Task):
    """3-class instance segmentation (``task="seg"``).

    ``config.extra`` keys: ``class_weights`` (3 floats, default ``(1, 1, 2)``), ``boundary_width``
    (pixels, default 1), ``tune`` (bool, default True: tune thresholds on the validation split).
    """

    name = "seg"
    needs_target = True
    normalize_target = False
    #: The operation that turns this task's network output into results (labels + table).
    predict_operation = "segment"

    def out_channels(self, config, in_channels, target_channels):
        return 3

    def default_residual(self, config, in_channels, out_channels):
        return False

    def check_data(self, config, sources, targets):
        check_pairs(sources, targets)

    def prepare_target(self, config, target):
        return make_targets(target, int(config.extra.get("boundary_width", 1)))

    def loss(self, pred, targets, weights, config):
        w = jnp.asarray(config.extra.get("class_weights", DEFAULT_CLASS_WEIGHTS), pred.dtype)
        onehot = targets[..., :3]
        ce = -jnp.sum(onehot * jax.nn.log_softmax(pred, axis=-1), axis=-1)
        pix_w = jnp.sum(onehot * w, axis=-1)
        return jnp.sum(pix_w * ce) / (jnp.sum(pix_w) + 1e-12)

    def outputs(self, pred, config):
        return {"probabilities": jax.nn.softmax(pred, axis=-1)}

    def output_kinds(self, config) -> dict[str, OutputKind]:
        return {"probabilities": "raw"}

    def finalize(self, config, trained, split, run_dir, progress):
        """Tune the watershed thresholds and score the validation split; write the QC files."""
        run_dir = Path(run_dir)
        from fijax.engine.predict import make_forward, predict_sample

        labels = [np.rint(y[..., 3]).astype(np.int32) for y in split.val_y]
        forward = make_forward(trained.model, trained.config)
        probs = []
        for i, x in enumerate(split.val_x):
            probs.append(predict_sample(forward, trained.model, x)["probabilities"])
            progress(1.0, f"segmentation: predicted validation sample {i + 1}/{len(split.val_x)}")
        if config.extra.get("tune", True):
            tuned = tune(probs, labels)
            params, grid = tuned.params, tuned.grid
        else:
            params, grid = SegParams.from_dict(config.extra.get("postprocess")), []
        progress(1.0, f"segmentation: thresholds {params.to_dict()}")
        preds = [probabilities_to_labels(p, params) for p in probs]
        qc = qc_matching(labels, preds)
        write_qc(run_dir, qc, title=f"validation ({split.how})")
        info = {"postprocess": params.to_dict(), "tuned": bool(grid), "tuning_grid": grid,
                "tuning_score": "matching F1 at IoU 0.5 (pooled), ties: mean F1 over IoU 0.5..0.9",
                "validation": split.how, "val_samples": len(labels),
                "qc": {"thresholds": list(QC_THRESHOLDS), "rows": qc},
                "classes": ["background", "interior", "boundary"]}
        atomic_write_text(run_dir / "segmentation.json", json.dumps(info, indent=2, sort_keys=True))
        meta = json.loads((run_dir / "config.json").read_text())
        meta["segmentation"] = {"postprocess": params.to_dict()}
        atomic_write_text(run_dir / "config.json", json.dumps(meta, indent=2, sort_keys=True))
        f1 = qc[0]["f1"]
        return {"card": {"segmentation": {"postprocess": params.to_dict(), "qc": qc,
                                          "qc_files": ["qc_matching.csv", "qc_f1.png"]}},
                "metrics": {"val_f1_iou50": f1, "val_mean_f1": float(np.mean([r["f1"] for r in qc]))},
                "files": ["segmentation.json", "qc_matching.csv", "qc_f1.png"]}


register_task(SegTask())


# ---------------------------------------------------------------------------------------------
# QC
# ---------------------------------------------------------------------------------------------

def qc_matching(y_true: list[np.ndarray], y_pred: list[np.ndarray],
                thresholds: tuple[float, ...] = QC_THRESHOLDS) -> list[dict]:
    """Pooled StarDist-compatible matching of a dataset, one row per IoU threshold."""
    from fijax.qc.segmentation import matching_dataset

    res = matching_dataset(y_true, y_pred, thresh=list(thresholds), criterion="iou")
    rows = []
    for r in res:
        row = {k: getattr(r, k) for k in QC_FIELDS}
        rows.append({k: (float(v) if isinstance(v, float | np.floating) else int(v)) for k, v in row.items()})
    return rows


def write_qc(folder: str | Path, rows: list[dict], title: str = "validation") -> dict[str, Path]:
    """Write ``qc_matching.csv`` and ``qc_f1.png`` (F1, precision, recall vs IoU threshold) atomically."""
    folder = Path(folder)
    csv_path = atomic_write_text(folder / "qc_matching.csv", csv_text(rows, QC_FIELDS, extra=False))
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    fig = Figure(figsize=(5, 3.5), dpi=100)
    ax = fig.add_subplot()
    t = [r["thresh"] for r in rows]
    for key, style in (("f1", "o-"), ("precision", "s--"), ("recall", "^--")):
        ax.plot(t, [r[key] for r in rows], style, label=key)
    ax.set_xlabel("IoU threshold")
    ax.set_ylabel("score")
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    ax.legend()
    ax.set_title(f"matching, {title}", fontsize=9)
    fig.tight_layout()
    with atomic_path(folder / "qc_f1.png", suffix=".png") as tmp:
        fig.savefig(tmp, format="png")
    return {"csv": csv_path, "png": folder / "qc_f1.png"}


# ---------------------------------------------------------------------------------------------
# Prediction
# ---------------------------------------------------------------------------------------------

@dataclass
class SegmentResult:
    """Output of :func:`segment`.

    Attributes
    ----------
    labels : ndarray of int32
        Label image: the input's stack axes and spatial axes (no channel axis); for a 2D model on
        a stack, ids restart at 1 in every plane.
    labels_axes : str
        Axes of ``labels`` (e.g. ``"YX"``, ``"TZYX"``).
    probabilities : ndarray of float32
        Class probabilities (background, interior, boundary) along a ``C`` axis.
    probabilities_axes : str
        Axes of ``probabilities`` (canonical ``TZCYX`` order).
    table : list of dict
        One row per object: ``label``, stack indices (``t``, ``z``), ``area`` (pixels/voxels),
        centroid, ``confidence`` (mean foreground probability) and, with Monte-Carlo samples,
        ``confidence_std`` (its spread across the samples) and ``samples``.
    params : SegParams
        The post-processing parameters used.
    """

    labels: np.ndarray
    labels_axes: str
    probabilities: np.ndarray
    probabilities_axes: str
    table: list[dict] = field(default_factory=list)
    params: SegParams = field(default_factory=SegParams)


def model_params(trained: Any) -> SegParams:
    """The post-processing parameters saved with a trained segmentation model (defaults if none)."""
    seg = (getattr(trained, "extra", None) or {}).get("segmentation")
    if seg is None and getattr(trained, "record", None) is not None:
        seg = trained.record.card.get("segmentation")
    return SegParams.from_dict((seg or {}).get("postprocess"))


def _canonical(arr: np.ndarray, axes: str) -> tuple[np.ndarray, str]:
    order = "".join(a for a in "TZCYX" if a in axes)
    return np.transpose(arr, [axes.index(a) for a in order]), order


def object_table(labels: np.ndarray, fg: np.ndarray, mc_means: np.ndarray | None = None,
                 mc_stds: np.ndarray | None = None, index: dict[str, int] | None = None,
                 samples: int = 0) -> list[dict]:
    """Rows ``label, [t, z], area, centroid_*, confidence[, confidence_std, samples]`` of one sample."""
    from scipy.ndimage import center_of_mass

    n = int(labels.max()) if labels.size else 0
    if n == 0:
        return []
    flat = labels.ravel()
    area = np.bincount(flat, minlength=n + 1)
    conf = np.bincount(flat, weights=fg.ravel().astype(np.float64), minlength=n + 1) / np.maximum(area, 1)
    ids = np.nonzero(area[1:])[0] + 1
    cents = center_of_mass(np.ones_like(labels, np.float32), labels, ids)
    names = ["centroid_z", "centroid_y", "centroid_x"][-labels.ndim:]
    rows = []
    for k, lab in enumerate(ids):
        row: dict[str, Any] = {"label": int(lab)}
        row.update(index or {})
        row["area"] = int(area[lab])
        row.update({nm: round(float(c), 3) for nm, c in zip(names, cents[k], strict=True)})
        if mc_means is not None:
            row["confidence"] = round(float(mc_means[lab]), 6)
            row["confidence_std"] = round(float(mc_stds[lab]), 6)
            row["confidence_deterministic"] = round(float(conf[lab]), 6)
            row["samples"] = samples
        else:
            row["confidence"] = round(float(conf[lab]), 6)
        rows.append(row)
    return rows


def segment(trained: Any, image: Image | np.ndarray, axes: str | None = None, *,
            params: SegParams | None = None, samples: int = 0, seed: int = 0,
            n_tiles: tuple[int, ...] | int | None = None, batch_size: int | None = None,
            budget: int | None = None, progress: Callable[[float, str], None] | None = None,
            check_cancelled: Callable[[], None] | None = None) -> SegmentResult:
    """Segment an image with a trained ``seg`` model: labels, probabilities, object table.

    Parameters
    ----------
    trained : TrainedModel
        A model trained with ``task="seg"`` (e.g. ``load_model("nuclei")``).
    image : Image or ndarray
        2D/3D image, stacks (T, Z for 2D models) and channels as the model was trained.
    axes : str, optional
        Axes of a bare array (default for its rank).
    params : SegParams, optional
        Post-processing thresholds; default: the ones tuned and saved with the model.
    samples : int
        Monte-Carlo dropout passes for per-object confidence (0: the deterministic probability
        only). Needs a model trained with ``dropout > 0``.
    seed : int
        Seed of the dropout masks.
    n_tiles, batch_size, budget
        Tiling of the prediction (see :func:`fijax.engine.predict.predict`).

    Returns
    -------
    SegmentResult

    Raises
    ------
    InputError
        Not a segmentation model, samples without dropout, wrong channel count, bad image.
    """
    from fijax.engine.predict import DEFAULT_BUDGET, make_forward, predict_sample

    config: TrainConfig = trained.config
    if config.task != "seg":
        raise InputError(f"model task is {config.task!r}, not a segmentation ('seg') model")
    if samples < 0:
        raise InputError("samples must be >= 0")
    model = trained.model
    if samples > 0 and model.spec.dropout <= 0:
        raise InputError("Monte-Carlo confidence needs a model trained with dropout > 0 (this one has none)")
    params = params or model_params(trained)
    data, stack_axes = D.batch_layout(image, config.ndim, axes)
    if data.shape[-1] != model.spec.in_channels:
        raise InputError(f"the model expects {model.spec.in_channels} channel(s), the image has {data.shape[-1]}")
    src = image.data if isinstance(image, Image) else np.asarray(image)
    in_axes = image.axes if isinstance(image, Image) else (axes or "")
    if not in_axes:
        from fijax.io.image import default_axes

        in_axes = default_axes(src.ndim)
    stack_shape = [src.shape[in_axes.index(a)] for a in stack_axes]
    spatial_axes = "YX" if config.ndim == 2 else "ZYX"
    forward = make_forward(model, config)
    kw = dict(n_tiles=n_tiles, budget=budget or DEFAULT_BUDGET, batch_size=batch_size)
    base = jax.random.key(seed)
    all_labels, all_probs, table = [], [], []
    for i, sample in enumerate(data):
        if check_cancelled is not None:
            check_cancelled()
        lo, hi = D.percentiles(sample, config.norm_pmin, config.norm_pmax)
        xn = D.normalize(sample, lo, hi)
        prob = predict_sample(forward, model, xn, **kw)["probabilities"]
        labels = probabilities_to_labels(prob, params)
        n = int(labels.max())
        means = stds = None
        if samples > 0 and n > 0:
            m1 = np.zeros(n + 1)
            m2 = np.zeros(n + 1)
            area = np.maximum(np.bincount(labels.ravel(), minlength=n + 1), 1)
            for s in range(samples):
                if check_cancelled is not None:
                    check_cancelled()
                p = predict_sample(forward, model, xn, key=jax.random.fold_in(jax.random.fold_in(base, i), s),
                                   **kw)["probabilities"]
                obj = np.bincount(labels.ravel(), weights=(1.0 - p[..., 0]).ravel().astype(np.float64),
                                  minlength=n + 1) / area
                m1 += obj
                m2 += obj * obj
            means = m1 / samples
            stds = np.sqrt(np.maximum(m2 / samples - means ** 2, 0.0))
        idx = np.unravel_index(i, stack_shape) if stack_shape else ()
        index = {a.lower(): int(v) for a, v in zip(stack_axes, idx, strict=True)}
        table.extend(object_table(labels, 1.0 - prob[..., 0], means, stds, index, samples))
        all_labels.append(labels)
        all_probs.append(prob.astype(np.float32))
        if progress is not None:
            progress((i + 1) / len(data), f"segmented {i + 1}/{len(data)}: {n} objects")
    labels = np.stack(all_labels).reshape(stack_shape + list(all_labels[0].shape))
    probs = np.stack(all_probs).reshape(stack_shape + list(all_probs[0].shape))
    lab, lab_axes = _canonical(labels, stack_axes + spatial_axes)
    prob, prob_axes = _canonical(probs, stack_axes + spatial_axes + "C")
    return SegmentResult(lab, lab_axes, prob, prob_axes, table, params)
