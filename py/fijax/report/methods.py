"""A methods paragraph ready for a paper, built from report facts.

It covers the reporting items of Laine et al. (2021) / ZeroCostDL4Mic: algorithm and citation;
tool and model versions and dates; training data; where data and model are deposited; key
hyperparameters and libraries; validation metric, score, image count and origin and why it was
judged acceptable; the tool used for prediction with its version. What only the authors know is
left as a marked field, ``[FILL IN: ...]``, never invented.
"""

from __future__ import annotations

from typing import Any

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


def qc_sentence(qc: dict[str, Any] | None) -> str:
    """The validation sentence of the methods paragraph from QC report facts (a marked field without)."""
    if not qc:
        return (f"Quality control: {fill('validation metric and score on held-out images with ground truth, the number and origin of the evaluation images, and why the result was judged acceptable (run fijax qc and fijax report qc)')}.")
    summary = qc.get("summary") or {}
    n = qc.get("evaluation", {}).get("image_count")
    origin = qc.get("evaluation", {}).get("origin") or fill("origin of the evaluation images")
    if qc.get("kind") == "compare":
        ranking = (qc.get("tables") or {}).get("ranking") or []
        best = ranking[0] if ranking else {}
        return (f"Methods were compared on {n} image(s) with ground truth ({origin}) by mean SSIM and PSNR after "
                f"percentile normalisation (fijax compare); the best was {best.get('method', 'n/a')} (SSIM "
                f"{_num(best.get('mean_ssim'))}, PSNR {_num(best.get('mean_psnr'))} dB); it was chosen because "
                f"{fill('reason')}.")
    if qc.get("kind") == "labels":
        f1 = summary.get("f1")
        thr = summary.get("threshold", 0.5)
        return (f"Quality control on {n} image(s) with ground-truth labels ({origin}) gave an F1 score of "
                f"{_num(f1)} at IoU ≥ {_num(thr)} (object matching as in StarDist, Schmidt et al., 2018); "
                f"the result was judged acceptable because {fill('reason, e.g. comparison with manual annotation')}.")
    pred, src = summary.get("prediction", {}), summary.get("source", {})
    verdict = summary.get("verdict")
    why = ("the prediction was closer to the ground truth than the raw input on both SSIM and PSNR "
           "(fijax verdict “improves”)" if verdict == "improves" else
           f"{fill('reason: the fijax verdict was ' + repr(verdict) + ', i.e. the prediction was not closer to the ground truth than the input on both SSIM and PSNR')}")
    overlap = qc.get("overlap") or {}
    caveat = (" Some evaluation images were also training images (found by sha256), so these scores "
              "are not an independent validation." if overlap.get("overlapping") else
              " None of the evaluation images were used for training (checked by sha256)."
              if overlap.get("checked") else "")
    return (f"Quality control on {n} image(s) with ground truth ({origin}) gave a mean SSIM of "
            f"{_num(pred.get('ssim'))} and PSNR of {_num(pred.get('psnr'))} dB for the prediction, against "
            f"{_num(src.get('ssim'))} and {_num(src.get('psnr'))} dB for the raw input (SSIM of Wang et al., "
            f"2004, after percentile normalisation as in ZeroCostDL4Mic); the model was judged acceptable "
            f"because {why}.{caveat}")


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
