"""Training report of a registered model: the facts (JSON) and the same facts as one HTML file.

Everything comes from the model registry: the model card (configuration, data description with
sha256, versions, device, seed, metrics, parent), the per-epoch ``log.csv`` and ``examples.npz``
(validation patches kept at training time), so a report can be written long after training,
on another machine, from the model folder alone.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from fijax.errors import InputError
from fijax.report import _html as H
from fijax.report import figures
from fijax.report.references import algorithm_reference

#: Card fields a training report cannot do without.
REQUIRED_CARD_FIELDS = ("name", "version", "task", "created", "config", "unet", "versions", "device",
                        "data", "metrics", "training_seconds", "weights_sha256")

#: The report's top-level JSON keys (one per item a journal asks for).
FACT_KEYS = ("report", "generated", "model", "date", "training_seconds", "training_time", "algorithm",
             "hyperparameters", "architecture", "normalization", "augmentation", "data", "seeds", "versions",
             "jars", "device", "loss_curve", "examples", "metrics", "parent", "methods", "hardware",
             "validation_images", "intended_domain", "domain_reference", "uncertainty_calibration", "test_qc")

#: What a card registered before these facts existed says instead.
_NOT_RECORDED = "not recorded (model registered before fijax recorded it)"

_AUGMENT_TEXT = {"flip": "random flips along each spatial axis (p = 0.5 each)",
                 "rot90": "random 90° rotations in the YX plane (square patches)"}


def _resolve(model: Any, registry: Any = None) -> Any:
    """A :class:`~fijax.registry.models.ModelRecord` from a record or a ``NAME[:VERSION]`` string."""
    from fijax.registry.models import ModelRecord, ModelRegistry

    if isinstance(model, ModelRecord):
        return model
    registry = registry if registry is not None else ModelRegistry()
    return registry.get(model)


def check_card(card: dict, ref: str) -> None:
    """Raise :class:`InputError` naming every required field the model card lacks."""
    missing = [k for k in REQUIRED_CARD_FIELDS if card.get(k) is None]
    if missing:
        raise InputError(f"model {ref}: the model card lacks field(s) needed for a report: {', '.join(missing)}")


def read_log(path: Path) -> list[dict[str, float]]:
    """The per-epoch CSV log as a list of rows with numeric values."""
    if not path.is_file():
        raise InputError(f"training log missing: {path}")
    rows = []
    with open(path, newline="") as fh:
        for row in csv.DictReader(fh):
            out: dict[str, float] = {}
            for k, v in row.items():
                try:
                    out[k] = int(v) if k in ("epoch", "step") else float(v)
                except (TypeError, ValueError):
                    out[k] = float("nan")
            rows.append(out)
    return rows


def _duration(seconds: float) -> str:
    s = int(round(seconds))
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"


def _load_examples(record: Any) -> tuple[dict[str, np.ndarray], dict]:
    from fijax.engine.checkpoint import load_npz

    path = Path(record.path) / "examples.npz"
    if not path.is_file():
        return {}, {}
    return load_npz(path)


def example_predictions(record: Any, registry: Any = None) -> dict[str, np.ndarray]:
    """Source, target (when supervised) and prediction of the model's stored validation patches.

    All in normalised units (the network's own space). Empty when the model kept no examples.
    """
    from fijax.engine.model import load_model
    from fijax.engine.predict import make_forward
    from fijax.registry.models import ModelRegistry

    arrays, _ = _load_examples(record)
    if "source" not in arrays:
        return {}
    registry = registry if registry is not None else ModelRegistry(Path(record.path).parents[2])
    trained = load_model(record.ref, registry=registry)
    forward = make_forward(trained.model, trained.config)
    out = {k: np.asarray(v) for k, v in forward(arrays["source"]).items()}
    key = "prediction" if "prediction" in out else next(iter(out))
    pred = out[key]
    kind = trained.task.output_kinds(trained.config).get(key, "intensity")
    cols = {"source": arrays["source"]}
    if kind == "raw" and pred.shape[-1] > 1:  # class probabilities: show class maps
        n = pred.shape[-1]
        if "target" in arrays:
            cols["target (classes)"] = np.argmax(arrays["target"][..., :n], axis=-1)[..., None]
        cols["prediction (classes)"] = np.argmax(pred, axis=-1)[..., None]
        return cols
    if "target" in arrays:
        cols["target"] = arrays["target"]
    cols["prediction"] = pred
    return cols


def stored_qc(record: Any) -> dict[str, Any]:
    """Validation QC a task stored with the model (``qc_*.csv`` tables, ``qc_*.png`` figures)."""
    folder = Path(record.path)
    tables = {p.stem: list(csv.DictReader(open(p, newline=""))) for p in sorted(folder.glob("qc_*.csv"))}
    figs = sorted(p.name for p in folder.glob("qc_*.png"))
    return {"tables": tables, "figures": figs}


def _data_facts(data: dict, config: dict) -> dict[str, Any]:
    files = [{"name": k, "sha256": v} for k, v in sorted((data.get("files") or {}).items())]
    sources, targets = data.get("sources") or [], data.get("targets") or []
    pixel_sizes = sorted({(tuple(s["pixel_size"]), s.get("unit")) for s in sources if s.get("pixel_size")})
    metadata = {f"{role} {d['title']}": d["metadata"] for role, lst in (("source", sources), ("target", targets))
                for d in lst if d.get("metadata")}
    return {
        "training": {
            "files": files,
            "images": [{"role": role, **{k: v for k, v in d.items() if k != "metadata"}}
                       for role, lst in (("source", sources), ("target", targets)) for d in lst],
            "image_count": data.get("image_count", len(sources)),
            "sample_count": data.get("sample_count"),
            "patch_count": data.get("patch_count"),
            "patch_size": config.get("patch_size"),
        },
        "validation": {
            "split": data.get("validation"),
            "fraction": config.get("val_fraction"),
            "patch_count": data.get("val_patch_count"),
        },
        "pixel_size": [{"zyx": list(p), "unit": u} for p, u in pixel_sizes],
        "microscope_metadata": metadata,
    }


def load_test_qc(qc_dir: str | Path) -> dict[str, Any]:
    """QC facts of held-out test data from a ``fijax qc`` output folder (its ``summary.json``)."""
    folder = Path(qc_dir)
    path = folder / "summary.json"
    if not path.is_file():
        raise InputError(f"--qc {folder}: no summary.json (give the output folder of `fijax qc`)")
    try:
        summary = json.loads(path.read_text())
    except ValueError as exc:
        raise InputError(f"{path}: not JSON ({exc})") from exc
    keep = ("kind", "verdict", "verdict_rule", "baseline", "n_images", "means", "images", "n_images_by_verdict")
    return {"origin": str(folder), **{k: summary.get(k) for k in keep if k in summary}}


def training_facts(model: Any, registry: Any = None, *, with_examples: bool = True,
                   qc_dir: str | Path | None = None) -> dict[str, Any]:
    """Collect every fact of the training report for ``model`` (``NAME[:VERSION]`` or a record).

    Returns
    -------
    dict
        JSON-able facts with the keys of :data:`FACT_KEYS`. With ``with_examples`` the example
        patches are computed (they are not JSON: see :func:`example_predictions`); the facts only
        describe them.
    qc_dir : path, optional
        A ``fijax qc`` output folder on held-out test data (``fijax report model NAME --qc DIR``);
        otherwise the test QC stored with the model (``fijax train ... --test DIR``), if any.

    Raises
    ------
    NotFoundError
        Unknown model or version.
    InputError
        A model card lacking required fields, or a missing training log.
    """
    from fijax.report.methods import methods_paragraph

    record = _resolve(model, registry)
    card = record.card
    check_card(card, record.ref)
    config = card["config"]
    metrics = card["metrics"]
    history = read_log(Path(record.path) / (card.get("log_csv") or "log.csv"))
    versions = {k: v for k, v in card["versions"].items() if k != "jars"}
    parent = card.get("parent")
    ex_arrays, ex_meta = _load_examples(record) if with_examples else ({}, {})
    algorithm = algorithm_reference(card["task"])
    augment = list(config.get("augment") or [])
    facts: dict[str, Any] = {
        "report": "fijax training report",
        "generated": datetime.now(UTC).isoformat(timespec="seconds"),
        "model": {"name": record.name, "version": record.version, "ref": record.ref, "task": record.task,
                  "created": record.created, "path": str(record.path), "weights_sha256": record.weights_sha256,
                  "selected_weights": card.get("selected_weights"), "files": card.get("files", {})},
        "date": record.created,
        "training_seconds": card["training_seconds"],
        "training_time": _duration(float(card["training_seconds"])),
        "algorithm": {"task": card["task"], **algorithm},
        "hyperparameters": config,
        "architecture": card["unet"],
        "normalization": card.get("normalization"),
        "augmentation": {"ops": augment, "description": [_AUGMENT_TEXT.get(a, a) for a in augment]
                         or ["none"]},
        "data": _data_facts(card["data"], config),
        "seeds": {"seed": card.get("seed", config.get("seed")),
                  "derived": "JAX keys fold_in(seed, step); NumPy generators [seed, 3] (patches), "
                             "[seed, 7] (validation split), [seed, 11] (validation patches)"},
        "versions": versions,
        "jars": list(card["versions"].get("jars") or []),
        "device": card["device"],
        "loss_curve": history,
        "examples": {"count": int(len(ex_arrays["source"])) if "source" in ex_arrays else 0,
                     "origin": ex_meta.get("origin", "none stored with this model"),
                     "normalized": bool(ex_meta.get("normalized", False)),
                     "columns": (["source"] + (["target"] if "target" in ex_arrays else []) + ["prediction"])
                     if "source" in ex_arrays else []},
        "metrics": metrics,
        "stored_qc": stored_qc(record),
        "parent": parent,
        "hardware": card.get("hardware") or {"device": card.get("device"), "note": _NOT_RECORDED},
        "validation_images": card.get("validation_images", _NOT_RECORDED),
        "intended_domain": card.get("intended_domain") or {"note": _NOT_RECORDED},
        "domain_reference": card.get("domain_reference") or {
            "note": "none: `fijax check` needs one; run `fijax models calibrate` to add it"},
        "uncertainty_calibration": card.get("uncertainty_calibration") or {"available": False,
                                                                           "reason": _NOT_RECORDED},
        "test_qc": load_test_qc(qc_dir) if qc_dir is not None else card.get("test_qc"),
    }
    facts["trained_from"] = parent.get("ref", f"{parent.get('name')}:{parent.get('version')}") if parent \
        else "scratch"
    facts["methods"] = methods_paragraph(facts)
    return facts


def training_html(facts: dict[str, Any], examples: dict[str, np.ndarray] | None = None) -> str:
    """Render the training report (self-contained HTML, figures embedded as base64 PNG)."""
    m, alg = facts["model"], facts["algorithm"]
    hist = facts["loss_curve"]
    parts = []
    parts.append(H.section("model", "Model", H.kv_table({
        "name": m["name"], "version": m["version"], "reference": m["ref"], "task": m["task"],
        "date (created, UTC)": facts["date"], "training time (h:mm:ss)": facts["training_time"],
        "training seconds": facts["training_seconds"], "weights sha256": m["weights_sha256"],
        "selected weights": m.get("selected_weights"), "model folder": m["path"],
        "report generated": facts["generated"]}, "model-table")))
    parts.append(H.section("algorithm", "Algorithm", H.kv_table({
        "algorithm": alg.get("name"), "kind": alg.get("kind"), "reference": alg.get("text"),
        "DOI": alg.get("doi"), "network": f"U-Net ({alg['network']['text']})",
        "network DOI": alg["network"]["doi"]}, "algorithm-table")))
    parts.append(H.section("hyperparameters", "Hyperparameters",
                           H.kv_table(sorted(facts["hyperparameters"].items()), "hyperparameters-table"),
                           H.kv_table(sorted(facts["architecture"].items()), "architecture-table"),
                           H.kv_table(sorted((facts.get("normalization") or {}).items()), "normalization-table")))
    aug = facts["augmentation"]
    parts.append(H.section("augmentation", "Augmentation",
                           H.rows_table([{"augmentation": a, "description": d}
                                         for a, d in zip(aug["ops"] or ["none"], aug["description"], strict=False)],
                                        "augmentation-table")))
    d = facts["data"]
    tr = d["training"]
    data_parts = [
        H.kv_table({"images": tr["image_count"], "samples": tr["sample_count"],
                    "training patches drawn": tr["patch_count"], "patch size": tr["patch_size"],
                    "validation split": d["validation"]["split"],
                    "validation fraction": d["validation"]["fraction"],
                    "validation patches": d["validation"]["patch_count"],
                    "pixel size (Z, Y, X)": "; ".join(f"{_fmt_list(p['zyx'])} {p['unit'] or ''}".strip()
                                                      for p in d["pixel_size"]) or "not calibrated"},
                   "data-table"),
        "<h3>Files</h3>", H.rows_table(tr["files"], "files-table", ["name", "sha256"]),
        "<h3>Images (sha256 of the pixels)</h3>",
        H.rows_table(tr["images"], "images-table", ["role", "title", "shape", "dtype", "axes", "pixel_size",
                                                    "unit", "sha256"]),
        "<h3>Microscope metadata found in the files</h3>",
        H.rows_table([{"image": t, "key": k, "value": v} for t, md in d["microscope_metadata"].items()
                      for k, v in sorted(md.items())] or [{"image": "—", "key": "—", "value": "none found"}],
                     "metadata-table"),
    ]
    parts.append(H.section("data", "Training and validation data", *data_parts))
    parts.append(H.section("seeds", "Seeds", H.kv_table(facts["seeds"], "seeds-table")))
    parts.append(H.section("versions", "Library and jar versions",
                           H.kv_table(sorted(facts["versions"].items()), "versions-table"),
                           H.rows_table([{"jar": j} for j in facts["jars"]] or [{"jar": "none"}], "jars-table")))
    parts.append(H.section("device", "Device", H.kv_table({"device": facts["device"]}, "device-table")))
    curves = []
    if hist:
        curves = [H.figure(figures.loss_curve(hist, log=False), "fig-loss-linear", "Loss per epoch (linear)"),
                  H.figure(figures.loss_curve(hist, log=True), "fig-loss-log", "Loss per epoch (log scale)")]
    parts.append(H.section("loss-curves", "Loss curves", *curves,
                           H.rows_table(hist, "log-table", ["epoch", "step", "loss", "val_loss", "lr", "seconds",
                                                            "elapsed"])))
    ex = facts["examples"]
    if examples:
        ex_parts = [H.figure(figures.patch_grid(examples), "fig-examples",
                             f"Example {', '.join(examples)} patches ({ex['origin']}, normalised units)")]
    else:
        ex_parts = [H.para(f"No example patches: {ex['origin']}.")]
    parts.append(H.section("examples", "Example patches", *ex_parts))
    parts.append(H.section("metrics", "Final metrics", H.kv_table(sorted(facts["metrics"].items()),
                                                                  "metrics-table")))
    sq = facts.get("stored_qc") or {}
    if sq.get("tables") or sq.get("figures"):
        import base64

        folder = Path(facts["model"]["path"])
        qc_parts = [H.para("Quality control the training task ran on its validation split and stored with the model.")]
        for name, rows in sq["tables"].items():
            qc_parts += [f"<h3>{H.esc(name)}</h3>", H.rows_table(rows, f"{name}-table")]
        for fname in sq["figures"]:
            b64 = base64.b64encode((folder / fname).read_bytes()).decode("ascii")
            qc_parts.append(H.figure(b64, f"fig-{Path(fname).stem}", fname))
        parts.append(H.section("validation-qc", "Validation QC stored with the model", *qc_parts))
    parts.extend(_domain_sections(facts))
    p = facts["parent"]
    parts.append(H.section("parent", "Parent model (transfer learning)",
                           H.kv_table(p, "parent-table") if p else
                           H.para("Trained from scratch (no parent model).", elem_id="parent-none")))
    parts.append(H.section("methods", "Methods paragraph", H.para(facts["methods"], "methods", "methods-text")))
    title = f"fijax training report — {m['ref']}"
    return H.document(title, "".join(parts), facts)


def _domain_sections(facts: dict[str, Any]) -> list[str]:
    """Hardware, validation images, intended domain, domain reference, uncertainty and test QC."""
    out = []
    hw = facts.get("hardware") or {}
    accel = hw.get("accelerators") or []
    out.append(H.section("hardware", "Hardware", H.kv_table(
        {"CPU": hw.get("cpu", hw.get("note")), "CPU cores": hw.get("cpu_cores"), "platform": hw.get("platform"),
         "accelerators": "; ".join(f"{a.get('name')} ({a.get('memory_gib')} GiB)" for a in accel) or "none"},
        "hardware-table")))
    val = facts.get("validation_images")
    if isinstance(val, list):
        val_part = H.rows_table([{"validation image": v} for v in val] or [{"validation image": "none"}],
                                "validation-images-table")
    elif isinstance(val, dict):
        val_part = H.para(f"{val.get('how')}; of: {', '.join(map(str, val.get('slab_of') or []))}",
                          elem_id="validation-images")
    else:
        val_part = H.para(str(val), elem_id="validation-images")
    out.append(H.section("validation-images", "Validation images", val_part))
    dom = facts.get("intended_domain") or {}
    rows = [{"title": e.get("title"), "p1": e.get("p1"), "p50": e.get("p50"), "p99": e.get("p99"),
             "alpha": (e.get("noise") or {}).get("alpha"), "delta": (e.get("noise") or {}).get("delta"),
             "sigma": (e.get("noise") or {}).get("sigma"), "noise note": (e.get("noise") or {}).get("error", "")}
            for e in dom.get("images") or []]
    pixel = "; ".join(f"{_fmt_list(p['zyx'])} {p.get('unit') or ''}" for p in dom.get("pixel_size") or [])
    acq = "; ".join(f"{t}: {len(m)} field(s)" for t, m in (dom.get("acquisition") or {}).items())
    out.append(H.section("intended-domain", "Intended domain", H.kv_table(
        {"description": dom.get("description") or dom.get("note") or "none given (train --description)",
         "noise (median alpha, delta, sigma)": dom.get("noise_median") or "not estimated",
         "intensity (median p1, p99)": dom.get("intensity"),
         "pixel size": pixel or "not calibrated", "acquisition metadata": acq or "none found"},
        "intended-domain-table"),
        H.rows_table(rows, "intended-domain-images-table") if rows else ""))
    out.append(H.section("domain-reference", "Domain reference (fijax check)",
                         H.kv_table(dict(facts.get("domain_reference") or {}), "domain-reference-table")))
    uc = facts.get("uncertainty_calibration") or {}
    if uc.get("available"):
        uparts = [H.para(f"MC-dropout std ({uc['samples']} passes) against the actual |error| on "
                         f"{uc['patches']} validation patches ({uc['pixels']} pixels): Spearman "
                         f"{uc['spearman']:.3f}, Pearson {uc['pearson']:.3f}; mean |error| / mean std = "
                         f"{uc['error_to_std']:.2f} (1 = std as large as the error; above 1 the std "
                         "underestimates it).", elem_id="uncertainty-text"),
                  H.figure(figures.calibration_curve(uc["curve"]), "fig-calibration",
                           "Binned calibration of the MC-dropout std (deciles of std)"),
                  H.rows_table(uc["curve"], "calibration-table", ["std", "abs_error", "rmse", "pixels"])]
    else:
        uparts = [H.para(f"Not available: {uc.get('reason', 'not recorded')}.", elem_id="uncertainty-text")]
    out.append(H.section("uncertainty", "Uncertainty calibration (MC dropout)", *uparts))
    tq = facts.get("test_qc")
    if tq:
        imgs = tq.get("images") or {}
        tparts = [H.kv_table({"origin": tq.get("origin"), "dataset verdict": tq.get("verdict"),
                              "images": tq.get("n_images"), "rule": tq.get("verdict_rule")}, "test-qc-table")]
        if isinstance(imgs, dict) and imgs:
            tparts.append(H.rows_table([{"image": k, "verdict": v if isinstance(v, str) else json.dumps(v)}
                                        for k, v in imgs.items()], "test-qc-images-table"))
        out.append(H.section("test-qc", "QC on held-out test data", *tparts))
    else:
        out.append(H.section("test-qc", "QC on held-out test data",
                             H.para("None given (fijax train ... --test DIR, or fijax report model NAME --qc DIR).",
                                    elem_id="test-qc-none")))
    return out


def _fmt_list(values: Any) -> str:
    """``[1, 0.13, 0.13]`` → ``1 × 0.13 × 0.13``."""
    return " × ".join(H.fmt(v) for v in values)


def write_training_report(model: Any, out_dir: str | Path, registry: Any = None,
                          qc_dir: str | Path | None = None) -> dict[str, Path]:
    """Write ``<name>_v<version>_training_report.html``, ``.json`` and ``_methods.txt`` into ``out_dir``.

    Returns
    -------
    dict of str to Path
        ``{"html": ..., "json": ..., "methods": ...}``.
    """
    from fijax.io.atomic import atomic_write_text

    record = _resolve(model, registry)
    facts = training_facts(record, registry, qc_dir=qc_dir)
    examples = example_predictions(record, registry) if facts["examples"]["count"] else {}
    if examples:
        facts["examples"]["columns"] = list(examples)
    out = Path(out_dir)
    stem = f"{record.name}_v{record.version}_training_report"
    paths = {"html": out / f"{stem}.html", "json": out / f"{stem}.json",
             "methods": out / f"{record.name}_v{record.version}_methods.txt"}
    atomic_write_text(paths["html"], training_html(facts, examples))
    atomic_write_text(paths["json"], json.dumps(facts, indent=2, sort_keys=True, default=str))
    atomic_write_text(paths["methods"], facts["methods"] + "\n")
    return paths


def facts_from_html(text: str) -> dict[str, Any]:
    """Read the facts embedded in a report written by this module (inverse of the HTML writer)."""
    from html.parser import HTMLParser

    class _P(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.inside, self.buf = False, io.StringIO()

        def handle_starttag(self, tag, attrs):
            self.inside = tag == "script" and dict(attrs).get("id") == "fijax-facts"

        def handle_endtag(self, tag):
            self.inside = False

        def handle_data(self, data):
            if self.inside:
                self.buf.write(data)

    p = _P()
    p.feed(text)
    raw = p.buf.getvalue()
    if not raw:
        raise InputError("no fijax facts found in this HTML")
    return json.loads(raw.replace("<\\/", "</"))
