"""QC report: the output folder of ``fijax qc`` / ``fijax compare`` as one document.

Reads what :mod:`fijax.qc.dataset` wrote (``summary.json``, ``images.csv``, ``metrics.csv``,
``maps/``, ``panels/``; for labels ``matching.csv``, ``matching_dataset.csv`` and the
threshold plot; for comparisons ``compare.csv`` and its figure) and renders:

* tables of prediction-vs-GT and source-vs-GT (per image, and per slice), the verdicts and
  the rule that produced them;
* the SSIM and RSE map panels;
* the number and origin of the evaluation images;
* a warning when evaluation files overlap the training files of a model (by sha256: file bytes,
  and pixels when the evaluation files are given);
* for labels, the matching table and the precision/recall/F1-vs-threshold plot.
"""

from __future__ import annotations

import base64
import csv
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from fijax.errors import InputError
from fijax.io.hashing import pixels_sha256, sha256_file
from fijax.report import _html as H
from fijax.report import figures

FACT_KEYS = ("report", "generated", "qc_dir", "kind", "qc_date", "versions", "evaluation", "verdict",
             "summary", "tables", "panels", "matching", "overlap", "methods")


def _read_csv(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    out = []
    with open(path, newline="") as fh:
        for row in csv.DictReader(fh):
            conv: dict[str, Any] = {}
            for k, v in row.items():
                if v is None or v == "":
                    conv[k] = None
                    continue
                try:
                    f = float(v)
                    conv[k] = int(f) if f.is_integer() and k in ("slice", "n_slices", "tp", "fp", "fn", "n_true",
                                                                  "n_pred", "rank") else f
                except ValueError:
                    conv[k] = v
            out.append(conv)
    return out


def _b64(path: Path) -> str:
    return base64.b64encode(path.read_bytes()).decode("ascii")


def check_overlap(summary: dict, model: Any = None, registry: Any = None,
                  eval_files: list[str | Path] | None = None) -> dict[str, Any]:
    """Compare evaluation data with a model's training data by sha256.

    File hashes recorded by the QC (``summary.json`` inputs) are compared with the training files
    of the model card (``data.files``). With ``eval_files`` the files are also read and their pixel
    hashes compared with the card's per-image pixel hashes (catches a re-saved copy of a training
    image under another name or container).

    Returns
    -------
    dict
        ``checked``, ``model``, ``overlapping`` (list of ``{role, name, sha256, training}``),
        ``warning`` (text or None).
    """
    from fijax.report.training import _resolve

    if model is None:
        return {"checked": False, "model": None, "overlapping": [],
                "warning": None, "note": "no model given: overlap with training data not checked"}
    record = _resolve(model, registry)
    data = record.card.get("data") or {}
    train_files = {v: k for k, v in (data.get("files") or {}).items()}
    train_pixels = {d["sha256"]: f"{role}:{d.get('title')}" for role in ("sources", "targets")
                    for d in data.get(role) or []}
    overlapping = []
    for role, hashes in (summary.get("inputs") or {}).items():
        for name, digest in (hashes or {}).items():
            if digest in train_files:
                overlapping.append({"role": role, "name": name, "sha256": digest, "training": train_files[digest],
                                    "by": "file sha256"})
    checked_pixels = 0
    for f in eval_files or []:
        from fijax.io import read_tiff

        path = Path(f)
        if not path.is_file():
            raise InputError(f"evaluation file not found: {path}")
        digest = sha256_file(path)
        px = pixels_sha256(read_tiff(path).data)
        checked_pixels += 1
        hit = train_files.get(digest) or train_pixels.get(px)
        if hit and not any(o["name"] in (path.stem, path.name) and o["training"] == hit for o in overlapping):
            overlapping.append({"role": "evaluation file", "name": path.name, "sha256": digest, "training": hit,
                                "by": "file sha256" if digest in train_files else "pixel sha256"})
    warning = None
    if overlapping:
        names = ", ".join(sorted({o["name"] for o in overlapping}))
        warning = (f"{len(overlapping)} evaluation file(s) are also training data of model {record.ref} "
                   f"(sha256 match: {names}); these scores do not measure generalisation to new data.")
    return {"checked": True, "model": record.ref, "training_files": len(train_files),
            "pixel_files_checked": checked_pixels, "overlapping": overlapping, "warning": warning}


def domain_facts(check: Any) -> dict[str, Any]:
    """Summarise a GT-free domain check (``fijax check`` output folder, its summary dict, or None).

    Reads ``"images": {stem: {"in_domain": bool, ...}}``; returns ``checked``, ``n_images``,
    ``n_out_of_domain`` and ``out_of_domain`` (the stems).
    """
    if check is None:
        return {"checked": False}
    if isinstance(check, str | Path):
        path = Path(check)
        path = path / "summary.json" if path.is_dir() else path
        if not path.is_file():
            raise InputError(f"domain check: no summary.json at {path} (run fijax check ... --out DIR)")
        try:
            check = json.loads(path.read_text())
        except ValueError as exc:
            raise InputError(f"{path}: unreadable JSON ({exc})") from exc
    images = check.get("images") if isinstance(check, dict) else None
    if not isinstance(images, dict):
        raise InputError("domain check: expected a summary with \"images\": {name: {\"in_domain\": ...}}")
    out = sorted(k for k, v in images.items() if isinstance(v, dict) and v.get("in_domain") is False)
    return {"checked": True, "n_images": len(images), "n_out_of_domain": len(out), "out_of_domain": out}


def qc_facts(qc_dir: str | Path, *, model: Any = None, registry: Any = None, origin: str | None = None,
             eval_files: list[str | Path] | None = None, check: Any = None) -> dict[str, Any]:
    """Collect the QC report's facts from a ``fijax qc``/``compare`` output folder.

    Parameters
    ----------
    qc_dir : path
        Folder holding ``summary.json`` (and the CSVs, maps and panels).
    model : str or ModelRecord, optional
        The evaluated model: enables the training-data overlap check and a methods paragraph.
    origin : str, optional
        Where the evaluation images come from (stated in the report; marked to fill in when absent).
    eval_files : list of path, optional
        Evaluation TIFFs to hash pixel-wise against the training images.
    check : path or dict, optional
        A GT-free domain check of the evaluation images (``fijax check`` output); out-of-domain
        images prevent the report from calling the model acceptable.

    Raises
    ------
    InputError
        When the folder or its ``summary.json`` is missing or unreadable.
    """
    from fijax.report.methods import methods_paragraph

    folder = Path(qc_dir)
    if not folder.is_dir():
        raise InputError(f"QC folder not found: {folder}")
    spath = folder / "summary.json"
    if not spath.is_file():
        raise InputError(f"{folder}: no summary.json — not a fijax qc/compare output folder (run `fijax qc ... "
                         "--out DIR` first)")
    try:
        summary = json.loads(spath.read_text())
    except ValueError as exc:
        raise InputError(f"{spath}: unreadable JSON ({exc})") from exc
    kind = summary.get("kind")
    if kind not in ("restoration", "labels", "compare"):
        raise InputError(f"{spath}: unknown QC kind {kind!r} (expected restoration, labels or compare)")
    inputs = summary.get("inputs") or {}
    gt_names = list((inputs.get("ground_truth") or {}).keys()) if isinstance(inputs.get("ground_truth"), dict) \
        else []
    facts: dict[str, Any] = {
        "report": "fijax QC report",
        "generated": datetime.now(UTC).isoformat(timespec="seconds"),
        "qc_dir": str(folder.resolve()),
        "kind": kind,
        "qc_date": summary.get("date_utc"),
        "versions": summary.get("versions", {}),
        "evaluation": {"image_count": summary.get("n_images", len(gt_names)), "slice_count": summary.get("n_slices"),
                       "names": gt_names, "origin": origin, "files": inputs},
        "verdict": None, "summary": {}, "tables": {}, "panels": [], "matching": None,
    }
    if kind == "restoration":
        images = _read_csv(folder / "images.csv")
        rows = _read_csv(folder / "metrics.csv")
        if not images and not rows:
            raise InputError(f"{folder}: summary.json says restoration QC but images.csv/metrics.csv are missing")
        metrics = ("ssim", "psnr", "rmse", "nrmse", "sqrt_mae", "fg_ssim", "fg_psnr", "fg_rmse")
        facts["tables"] = {
            "prediction_vs_gt": [{"file": r["file"], "n_slices": r.get("n_slices"),
                                  **{m: r.get(f"pred_{m}") for m in metrics}, "verdict": r.get("verdict")}
                                 for r in images],
            "source_vs_gt": [{"file": r["file"], "n_slices": r.get("n_slices"),
                              **{m: r.get(f"source_{m}") for m in metrics}} for r in images],
            "per_slice": rows,
        }
        if summary.get("baseline"):
            facts["tables"]["baseline_vs_gt"] = [{"file": r["file"], "n_slices": r.get("n_slices"),
                                                  **{m: r.get(f"baseline_{m}") for m in metrics}} for r in images]
        means = summary.get("means") or {}
        facts["summary"] = {"prediction": {m: means.get(f"pred_{m}") for m in metrics},
                            "source": {m: means.get(f"source_{m}") for m in metrics},
                            "baseline": ({m: means.get(f"baseline_{m}") for m in metrics}
                                         if summary.get("baseline") else {}),
                            "verdict": summary.get("verdict")}
        facts["baseline"] = summary.get("baseline")
        facts["verdict"] = {"dataset": summary.get("verdict"), "rule": summary.get("verdict_rule"),
                            "structure_rule": summary.get("structure_rule"),
                            "per_image": summary.get("images", {}),
                            "n_images_improved": summary.get("n_images_improved"),
                            "n_images_better_than_baseline": summary.get("n_images_better_than_baseline"),
                            "n_images_by_verdict": summary.get("n_images_by_verdict")}
        facts["options"] = summary.get("options")
        for name in gt_names or [r["file"] for r in images]:
            facts["panels"].append(_panel_entry(folder, name))
    elif kind == "labels":
        per_image = _read_csv(folder / "matching.csv")
        dataset = _read_csv(folder / "matching_dataset.csv")
        at = summary.get("at_0.5") or (dataset[0] if dataset else {})
        facts["matching"] = {"criterion": summary.get("criterion"), "thresholds": summary.get("thresholds"),
                             "per_image": per_image, "dataset": dataset, "at_0.5": at,
                             "plot": "matching_vs_threshold.png" if (folder / "matching_vs_threshold.png").is_file()
                             else None}
        facts["summary"] = {"f1": at.get("f1"), "threshold": at.get("thresh"), "precision": at.get("precision"),
                            "recall": at.get("recall"), "accuracy": at.get("accuracy")}
        facts["verdict"] = {"dataset": None, "rule": "labels: judged by the matching scores (no verdict rule)"}
        facts["tables"] = {"matching_dataset": dataset}
    else:
        ranking = _read_csv(folder / "compare.csv")
        facts["tables"] = {"ranking": ranking}
        facts["summary"] = {"ranked_by": summary.get("ranked_by"), "best": summary.get("best"),
                            "first_ranked": ranking[0]["method"] if ranking else None,
                            "disagreements": summary.get("disagreements") or [],
                            "baseline": summary.get("baseline"),
                            "verdicts_vs_baseline": summary.get("verdicts_vs_baseline")}
        facts["verdict"] = {"dataset": None, "rule": summary.get("baseline_verdict_rule") or summary.get("verdict_rule"),
                            "per_method": {r["method"]: r.get("verdict_vs_baseline") or r.get("verdict_vs_source")
                                           for r in ranking}}
        gt = inputs.get("ground_truth") or {}
        facts["evaluation"].update(names=list(gt) if isinstance(gt, dict) else [],
                                   image_count=len(gt) if isinstance(gt, dict) else None)
    facts["domain"] = domain_facts(check if check is not None else summary.get("domain"))
    facts["overlap"] = check_overlap(summary, model, registry, eval_files)
    if model is not None:
        from fijax.report.training import training_facts

        tfacts = training_facts(model, registry, with_examples=False)
        facts["model"] = tfacts["model"]["ref"]
        facts["methods"] = methods_paragraph(tfacts, facts)
    else:
        facts["model"] = None
        from fijax.report.methods import qc_sentence

        facts["methods"] = qc_sentence(facts)
    if facts["evaluation"]["origin"] is None:
        facts["evaluation"]["origin_missing"] = True
    return facts


def _panel_entry(folder: Path, name: str) -> dict[str, Any]:
    maps = {kind: f"maps/{kind}_{name}.tif" for kind in ("SSIM_GTvsPrediction", "RSE_GTvsPrediction",
                                                          "SSIM_GTvsSource", "RSE_GTvsSource")
            if (folder / "maps" / f"{kind}_{name}.tif").is_file()}
    panel = f"panels/{name}.png" if (folder / "panels" / f"{name}.png").is_file() else None
    return {"file": name, "panel": panel, "maps": maps}


def _panel_b64(folder: Path, entry: dict[str, Any]) -> str | None:
    """The QC's own PNG panel, or one rendered here from the TIFF maps when no panel was written."""
    if entry.get("panel"):
        return _b64(folder / entry["panel"])
    if not entry.get("maps"):
        return None
    from fijax.io import read_tiff

    images, cmaps, ranges = {}, {}, {}
    for kind, rel in entry["maps"].items():
        images[kind] = read_tiff(folder / rel).data
        cmaps[kind] = "viridis" if kind.startswith("SSIM") else "inferno"
        if kind.startswith("SSIM"):
            ranges[kind] = (-1.0, 1.0) if float(np.min(images[kind])) < 0 else (0.0, 1.0)
    return figures.image_panel(images, cmaps, ranges)


def qc_html(facts: dict[str, Any]) -> str:
    """Render the QC report as a self-contained HTML document."""
    from fijax.report.methods import fill

    folder = Path(facts["qc_dir"])
    ev = facts["evaluation"]
    parts = []
    ov = facts["overlap"]
    if ov.get("warning"):
        parts.append(f'<div class="warning" id="overlap-warning"><strong>Warning:</strong> {H.esc(ov["warning"])}</div>')
    parts.append(H.section("evaluation", "Evaluation images", H.kv_table({
        "QC kind": facts["kind"], "QC run (UTC)": facts["qc_date"], "QC folder": facts["qc_dir"],
        "number of images": ev["image_count"], "number of 2D slices": ev.get("slice_count"),
        "origin": ev["origin"] or fill("origin of the evaluation images"),
        "images": ", ".join(ev["names"]), "evaluated model": facts.get("model")}, "evaluation-table"),
        H.rows_table([{"role": role, "file": n, "sha256": h} for role, hs in (ev["files"] or {}).items()
                      if isinstance(hs, dict) for n, h in hs.items()], "evaluation-files-table",
                     ["role", "file", "sha256"])))
    ov_rows = ov.get("overlapping") or []
    ov_text = (ov.get("warning") or f"No evaluation file is a training file of model {ov['model']} "
               "(checked by sha256).") if ov.get("checked") else ov.get("note", "")
    parts.append(H.section("overlap", "Overlap with training data",
                           H.para(ov_text, elem_id="overlap-text"),
                           H.rows_table(ov_rows, "overlap-table", ["role", "name", "training", "by", "sha256"])
                           if ov_rows else ""))
    v = facts.get("verdict") or {}
    if facts["kind"] == "restoration":
        from fijax.qc.baseline import is_acceptable
        from fijax.report.methods import qc_sentence

        dom = facts.get("domain") or {}
        good = is_acceptable(v.get("dataset")) and not dom.get("n_out_of_domain")
        if v.get("n_images_better_than_baseline") is not None:
            count = (f'{H.esc(v.get("n_images_better_than_baseline"))} of {H.esc(ev["image_count"])} image(s) '
                     "better than the baseline")
        else:
            count = f'{H.esc(v.get("n_images_improved"))} of {H.esc(ev["image_count"])} image(s) improve on the input'
        dom_text = ""
        if dom.get("checked"):
            dom_text = (f'Domain check: {dom["n_out_of_domain"]} of {dom["n_images"]} image(s) outside the '
                        f'training domain{" (" + ", ".join(dom["out_of_domain"]) + ")" if dom["out_of_domain"] else ""}.')
        parts.append(H.section("verdict", "Verdict",
                               f'<p id="dataset-verdict" class="{"verdict-good" if good else "verdict-bad"}">'
                               f'Dataset verdict: {H.esc(v.get("dataset"))} ({count})</p>',
                               H.para("Finding: " + qc_sentence(facts), elem_id="finding"),
                               H.para(dom_text, elem_id="domain-check") if dom_text else "",
                               H.para(f"Rule: {v.get('rule')}", elem_id="verdict-rule"),
                               H.rows_table([{"file": k, "verdict": x} for k, x in (v.get("per_image") or {}).items()],
                                            "verdicts-table")))
        s = facts["summary"]
        mean_rows = [{"comparison": "prediction vs GT", **s["prediction"]},
                     {"comparison": "source vs GT", **s["source"]}]
        if s.get("baseline"):
            mean_rows.append({"comparison": "baseline vs GT", **s["baseline"]})
        parts.append(H.section("means", "Dataset means (fg_*: on the structure)",
                               H.rows_table(mean_rows, "means-table"),
                               H.para(f"Structure: {v.get('structure_rule') or ''}", elem_id="structure-rule")))
        t = facts["tables"]
        parts.append(H.section("prediction-vs-gt", "Prediction vs ground truth (per image)",
                               H.rows_table(t["prediction_vs_gt"], "prediction-vs-gt-table")))
        parts.append(H.section("source-vs-gt", "Source vs ground truth (per image)",
                               H.rows_table(t["source_vs_gt"], "source-vs-gt-table")))
        if t.get("baseline_vs_gt"):
            parts.append(H.section("baseline-vs-gt", "Baseline vs ground truth (per image)",
                                   H.rows_table(t["baseline_vs_gt"], "baseline-vs-gt-table")))
        parts.append(H.section("per-slice", "Per slice (metrics.csv)", H.rows_table(t["per_slice"], "per-slice-table")))
        panels = []
        for entry in facts["panels"]:
            b64 = _panel_b64(folder, entry)
            if b64:
                panels.append(H.figure(b64, f"fig-panel-{entry['file']}",
                                       f"{entry['file']}: images, SSIM maps and RSE maps (prediction and source vs GT)"))
        parts.append(H.section("maps", "SSIM and RSE maps", *(panels or [H.para("No maps were written by the QC.")])))
        if facts.get("options"):
            parts.append(H.section("options", "QC settings", H.kv_table(sorted(facts["options"].items()),
                                                                       "options-table")))
    elif facts["kind"] == "labels":
        mt = facts["matching"]
        plot = (H.figure(_b64(folder / mt["plot"]), "fig-matching", "Precision, recall, F1, accuracy and PQ vs "
                         "matching threshold (pooled over images)") if mt.get("plot") else
                H.figure(figures.xy_plot([r["thresh"] for r in mt["dataset"]],
                                         {k: [r[k] for r in mt["dataset"]] for k in ("precision", "recall", "f1")},
                                         "threshold", "score"), "fig-matching", "Scores vs matching threshold"))
        parts.append(H.section("matching", "Object matching",
                               H.kv_table({"criterion": mt["criterion"], "F1 at 0.5": facts["summary"]["f1"],
                                           "precision at 0.5": facts["summary"]["precision"],
                                           "recall at 0.5": facts["summary"]["recall"]}, "matching-summary-table"),
                               "<h3>Pooled over images</h3>", H.rows_table(mt["dataset"], "matching-table"),
                               "<h3>Per image</h3>", H.rows_table(mt["per_image"], "matching-per-image-table"), plot))
    else:
        fig = folder / "compare.png"
        sm = facts["summary"]
        best_text = (f"Best on both whole-image PSNR and structure SSIM: {sm['best']}." if sm.get("best") else
                     "No method is best on both whole-image PSNR and structure SSIM.")
        dis = sm.get("disagreements") or []
        parts.append(H.section("ranking", "Method ranking", H.para(sm.get("ranked_by") or ""),
                               H.para(best_text, elem_id="best-method"),
                               H.para("Metrics disagree: " + "; ".join(dis) + "." if dis else
                                      "The metrics agree on the first method.", elem_id="disagreements"),
                               H.rows_table(facts["tables"]["ranking"], "ranking-table"),
                               H.figure(_b64(fig), "fig-compare", "Methods compared") if fig.is_file() else ""))
    parts.append(H.section("versions", "Versions", H.kv_table(sorted((facts.get("versions") or {}).items()),
                                                             "versions-table")))
    parts.append(H.section("methods", "Methods paragraph", H.para(facts["methods"], "methods", "methods-text")))
    return H.document(f"fijax QC report — {folder.name}", "".join(parts), facts)


def write_qc_report(qc_dir: str | Path, out_dir: str | Path | None = None, **kwargs: Any) -> dict[str, Path]:
    """Write ``qc_report.html``, ``qc_report.json`` and ``qc_methods.txt`` (default: into ``qc_dir``).

    Keyword arguments go to :func:`qc_facts`.
    """
    from fijax.io.atomic import atomic_write_text

    facts = qc_facts(qc_dir, **kwargs)
    out = Path(out_dir) if out_dir is not None else Path(qc_dir)
    paths = {"html": out / "qc_report.html", "json": out / "qc_report.json", "methods": out / "qc_methods.txt"}
    atomic_write_text(paths["html"], qc_html(facts))
    atomic_write_text(paths["json"], json.dumps(facts, indent=2, sort_keys=True, default=str))
    atomic_write_text(paths["methods"], facts["methods"] + "\n")
    return paths
