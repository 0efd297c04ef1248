"""A methods paragraph ready for a paper, built from report facts.

It covers the reporting items of Laine et al. (2021) / ZeroCostDL4Mic: algorithm and citation;
tool and model versions and dates; training data; where data and model are deposited; key
hyperparameters and libraries; validation metric, score, image count and origin, and what the
QC found (acceptable only when the model beat a classical baseline on the whole image and on the
structure, on data inside its domain); the tool used for prediction with its version. What only the authors know is
left as a marked field, ``[FILL IN: ...]``, never invented.
"""

from __future__ import annotations

from typing import Any

from fijax.qc.baseline import BETTER, DOES_NOT_IMPROVE, IMPROVES, NOT_BETTER

#: Marker of a field the user must complete.
FILL = "[FILL IN: {}]"


def fill(what: str) -> str:
    """A marked field the user fills in."""
    return FILL.format(what)


def _num(v: Any, digits: int = 3) -> str:
    if v is None:
        return "n/a"
    if isinstance(v, float):
        return f"{v:.{digits}g}"
    return str(v)


def _size(shape: list[int]) -> str:
    return "×".join(str(s) for s in shape)


def _data_sentence(facts: dict[str, Any]) -> str:
    d = facts["data"]
    tr = d["training"]
    imgs = [i for i in tr["images"] if i["role"] == "source"]
    shapes = sorted({_size(i["shape"]) for i in imgs})
    n = tr["image_count"]
    kind = "source/target image pair(s)" if any(i["role"] == "target" for i in tr["images"]) \
        else "noisy image(s) (no ground truth needed)"
    px = "; ".join(" × ".join(_num(v, 4) for v in p["zyx"][-2:]) + f" {p['unit'] or 'units'}"
                   for p in d["pixel_size"]) or fill("pixel size")
    files = len(tr["files"])
    file_part = f" from {files} file(s) (sha256 recorded in the training report)" if files else ""
    return (f"The training data were {n} {kind}{file_part} of {', '.join(shapes)} pixels "
            f"(pixel size {px}; {fill('sample, labelling, microscope and acquisition settings')}).")


def _baseline_name(qc: dict[str, Any]) -> str:
    info = (qc.get("baseline") or {}) if isinstance(qc.get("baseline"), dict) else {}
    kind = info.get("kind")
    if kind == "puredenoise":
        return "PureDenoise (PURE-LET, Luisier et al., 2011; noise parameters estimated from each image)"
    if kind in ("files", "arrays"):
        return f"baseline method ({info.get('spec')})" if kind == "files" else "baseline method"
    return "baseline"


def _domain_clause(qc: dict[str, Any]) -> tuple[str, bool]:
    """(sentence, out_of_domain) from the GT-free domain check, when the QC facts carry one."""
    dom = qc.get("domain") or {}
    if not dom.get("checked"):
        return "", False
    n_out, n = dom.get("n_out_of_domain") or 0, dom.get("n_images")
    if n_out:
        return (f" The domain check (fijax check) found {n_out} of {n} image(s) outside the model's training "
                "domain, so the model is not validated for them."), True
    return f" The domain check (fijax check) found all {n} image(s) inside the model's training domain.", False


def qc_sentence(qc: dict[str, Any] | None) -> str:
    """The validation sentence of the methods paragraph from QC report facts (a marked field without).

    It states what was found. Only a prediction that beat a baseline method on whole-image PSNR and
    on the structure (fijax verdict "better than baseline"), on data not flagged out of domain, is
    said to be acceptable; any other verdict is reported as such.
    """
    if not qc:
        return (f"Quality control: {fill('validation metric and score on held-out images with ground truth, the number and origin of the evaluation images, and how the model compared with the raw input and a classical baseline (run fijax qc --baseline puredenoise and fijax report qc)')}.")
    summary = qc.get("summary") or {}
    n = qc.get("evaluation", {}).get("image_count")
    origin = qc.get("evaluation", {}).get("origin") or fill("origin of the evaluation images")
    if qc.get("kind") == "compare":
        ranking = (qc.get("tables") or {}).get("ranking") or []
        best = summary.get("best")
        rows = {r.get("method"): r for r in ranking}
        if best:
            b = rows.get(best, {})
            found = (f"the best on both whole-image PSNR and structure SSIM was {best} (PSNR "
                     f"{_num(b.get('mean_psnr'))} dB, structure SSIM {_num(b.get('mean_fg_ssim'))})")
        else:
            found = "no method was best on both whole-image PSNR and structure SSIM"
        dis = summary.get("disagreements") or []
        if dis:
            found += "; the metrics disagreed (" + "; ".join(dis) + ")"
        verdicts = summary.get("verdicts_vs_baseline") or {}
        vs = ""
        if verdicts:
            vs = (f" Against the baseline {summary.get('baseline')}: "
                  + ", ".join(f"{m} {v}" for m, v in verdicts.items()) + ".")
        return (f"Methods were compared on {n} image(s) with ground truth ({origin}) by PSNR and SSIM on the whole "
                f"image and on the structure (GT foreground) after percentile normalisation (fijax compare); "
                f"{found}.{vs}")
    if qc.get("kind") == "labels":
        f1 = summary.get("f1")
        thr = summary.get("threshold", 0.5)
        return (f"Quality control on {n} image(s) with ground-truth labels ({origin}) gave an F1 score of "
                f"{_num(f1)} at IoU ≥ {_num(thr)} (object matching as in StarDist, Schmidt et al., 2018); "
                f"{fill('whether this is adequate for the study, e.g. comparison with manual annotation')}.")
    pred, src = summary.get("prediction", {}), summary.get("source", {})
    base = summary.get("baseline") or {}
    verdict = summary.get("verdict")
    bname = _baseline_name(qc)
    domain, out_of_domain = _domain_clause(qc)
    if verdict == BETTER and not out_of_domain:
        why = (f"the model was judged acceptable because the prediction beat both the raw input and the {bname} on "
               f"whole-image PSNR ({_num(pred.get('psnr'))} vs {_num(base.get('psnr'))} dB) and on the structure "
               f"(SSIM over the GT foreground {_num(pred.get('fg_ssim'))} vs {_num(base.get('fg_ssim'))}; fijax "
               "verdict “better than baseline”)")
    elif verdict == BETTER:
        why = (f"the prediction beat the raw input and the {bname} (fijax verdict “better than baseline”), but "
               "not all images were in the model's domain (below)")
    elif verdict == NOT_BETTER:
        why = (f"the prediction was better than the raw input but NOT better than the {bname} (PSNR "
               f"{_num(pred.get('psnr'))} vs {_num(base.get('psnr'))} dB; structure SSIM {_num(pred.get('fg_ssim'))} "
               f"vs {_num(base.get('fg_ssim'))}; fijax verdict “not better than baseline”), so the classical method "
               "should be preferred for these data")
    elif verdict == DOES_NOT_IMPROVE:
        why = ("the prediction was NOT closer to the ground truth than the raw input on both SSIM and PSNR (fijax "
               "verdict “does not improve”), so the model should not be used on these data")
    elif verdict == IMPROVES:
        why = ("the prediction was closer to the ground truth than the raw input on both SSIM and PSNR, but no "
               "classical baseline was compared (fijax qc --baseline puredenoise), so this does not show that the "
               f"model suits these data ({fill('comparison with a classical method such as PureDenoise')})")
    else:
        why = "no raw input was given, so the prediction could not be judged (fijax verdict “no source”)"
    overlap = qc.get("overlap") or {}
    caveat = (" Some evaluation images were also training images (found by sha256), so these scores "
              "are not an independent validation." if overlap.get("overlapping") else
              " None of the evaluation images were used for training (checked by sha256)."
              if overlap.get("checked") else "")
    base_part = (f", and {_num(base.get('ssim'))} and {_num(base.get('psnr'))} dB for the {bname}"
                 if base.get("psnr") is not None else "")
    return (f"Quality control on {n} image(s) with ground truth ({origin}) gave a mean SSIM of "
            f"{_num(pred.get('ssim'))} and PSNR of {_num(pred.get('psnr'))} dB for the prediction, against "
            f"{_num(src.get('ssim'))} and {_num(src.get('psnr'))} dB for the raw input{base_part} (SSIM of Wang "
            f"et al., 2004, after percentile normalisation as in ZeroCostDL4Mic); {why}.{domain}{caveat}")


def methods_paragraph(facts: dict[str, Any], qc: dict[str, Any] | None = None) -> str:
    """Return the methods paragraph for a model's training facts (and optional QC facts).

    Parameters
    ----------
    facts : dict
        :func:`fijax.report.training.training_facts` output.
    qc : dict, optional
        :func:`fijax.report.qc.qc_facts` output for this model's evaluation.
    """
    m, alg, cfg = facts["model"], facts["algorithm"], facts["hyperparameters"]
    arch = facts["architecture"]
    v = facts["versions"]
    date = (facts.get("date") or "")[:10]
    libs = ", ".join(f"{k} {v[k]}" for k in ("jax", "flax", "optax", "numpy") if k in v)
    parent = facts.get("parent")
    origin = (f"fine-tuned from model {parent.get('name')} version {parent.get('version')} (transfer learning)"
              if parent else "trained from scratch")
    sched = ("reduced by a factor " + _num(cfg.get("plateau_factor")) + " after " +
             str(cfg.get("plateau_patience")) + " epochs without validation improvement"
             if cfg.get("lr_schedule") == "plateau" else "with a cosine schedule")
    aug = ", ".join(facts["augmentation"]["ops"]) or "no"
    metrics = facts["metrics"]
    sentences = [
        f"Images were processed with {alg.get('name')} ({alg.get('short')}; doi:{alg.get('doi')}), "
        f"implemented in fijax {v.get('fijax', '?')} with a {arch.get('ndim')}D U-Net "
        f"(Ronneberger et al., 2015; depth {arch.get('depth')}, {arch.get('filters')} initial filters, "
        f"kernel {arch.get('kernel')}{', residual' if arch.get('residual') else ''}"
        f"{', dropout ' + _num(arch.get('dropout')) if arch.get('dropout') else ''}).",
        f"The model “{m['name']}” (version {m['version']}, created {date}, weights sha256 "
        f"{m['weights_sha256'][:12]}…) was {origin}.",
        _data_sentence(facts),
        f"Training ran for {metrics.get('epochs')} epochs of {cfg.get('steps_per_epoch')} steps "
        f"(batch size {cfg.get('batch_size')}, patches of {_size(cfg.get('patch_size') or [])} pixels, "
        f"{facts['data']['training']['patch_count']} patches drawn with {aug} augmentation) with Adam at an "
        f"initial learning rate of {_num(cfg.get('learning_rate'))} {sched}, {str(cfg.get('loss')).upper()} loss "
        f"and seed {facts['seeds']['seed']}, on {facts['device']} in {facts['training_time']} (h:mm:ss), "
        f"using {libs}.",
        f"{_num((cfg.get('val_fraction') or 0) * 100)}% of the data were held out for validation "
        f"({facts['data']['validation']['split']}); the final validation loss was {_num(metrics.get('val_loss'))} "
        f"and the weights of the {metrics.get('selected', 'last')} epoch were kept.",
        f"The training data are deposited at {fill('repository and DOI/accession of the training data')} and "
        f"the model at {fill('repository and DOI of the model, e.g. BioImage Model Zoo or Zenodo')}.",
        qc_sentence(qc),
        f"Predictions were computed with fijax {v.get('fijax', '?')} (`fijax predict`, tiled prediction with "
        f"per-image percentile normalisation {_num(cfg.get('norm_pmin'))}–{_num(cfg.get('norm_pmax'))}).",
    ]
    return " ".join(sentences)
