"""Reports say what QC found: never "acceptable" unless the model beat a baseline, in domain (issue 12)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from report_helpers import Doc
from scipy import ndimage

from fijax.errors import InputError
from fijax.qc.dataset import compare_methods, qc_dataset
from fijax.report.methods import methods_paragraph, qc_sentence
from fijax.report.qc import qc_facts, write_qc_report

N = 96


@pytest.fixture(scope="module")
def images():
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[:N, :N].astype(float)
    gt = np.zeros((N, N))
    for _ in range(5):
        a, b = rng.uniform(-1, 1), rng.uniform(0, N)
        gt += 8.0 * np.exp(-np.abs(yy - (a * xx + b)) ** 2 / (2 * 0.8 ** 2))
    gt = (np.minimum(gt, 8.0) + 0.2).astype(np.float32)
    src = (rng.poisson(gt) + rng.normal(0, 1.0, gt.shape)).astype(np.float32)
    return {"gt": gt, "src": src, "base": ndimage.gaussian_filter(src, 0.8).astype(np.float32),
            "blurred": (0.7 * ndimage.gaussian_filter(gt, 1.0)).astype(np.float32),
            "good": (gt + rng.normal(0, 0.3, gt.shape)).astype(np.float32),
            "worse": (src + rng.normal(0, 6.0, gt.shape)).astype(np.float32)}


def _qc(images, tmp_path, pred: str, baseline: bool = True) -> dict:
    out = tmp_path / pred
    qc_dataset({"img": images["gt"]}, {"img": images[pred]}, {"img": images["src"]}, out,
               baseline={"img": images["base"]} if baseline else None, panels=False)
    paths = write_qc_report(out, origin="synthetic filaments")
    return {"facts": json.loads(paths["json"].read_text()), "methods": paths["methods"].read_text(),
            "html": Doc(paths["html"].read_text()), "dir": out}


@pytest.mark.parametrize("pred, verdict, acceptable", [
    ("blurred", "not better than baseline", False),
    ("good", "better than baseline", True),
    ("worse", "does not improve", False),
])
def test_methods_text_follows_the_verdict(images, tmp_path, pred, verdict, acceptable):
    r = _qc(images, tmp_path, pred)
    assert r["facts"]["verdict"]["dataset"] == verdict
    text = r["methods"]
    assert ("acceptable" in text) is acceptable, text
    assert verdict in text  # says what was found
    assert ("acceptable" in r["html"].paragraphs["finding"]) is acceptable
    assert verdict in r["html"].paragraphs["dataset-verdict"]
    if verdict == "not better than baseline":
        assert "NOT better than the baseline" in text and "preferred" in text


def test_without_baseline_the_text_does_not_claim_suitability(images, tmp_path):
    r = _qc(images, tmp_path, "blurred", baseline=False)
    assert r["facts"]["verdict"]["dataset"] == "improves"
    assert "acceptable" not in r["methods"]
    assert "no classical baseline was compared" in r["methods"]


def test_out_of_domain_blocks_acceptable(images, tmp_path):
    out = tmp_path / "good"
    qc_dataset({"img": images["gt"]}, {"img": images["good"]}, {"img": images["src"]}, out,
               baseline={"img": images["base"]}, panels=False)
    check = tmp_path / "check"
    check.mkdir()
    (check / "summary.json").write_text(json.dumps({"images": {"img": {"domain_score": 9.0, "in_domain": False}}}))
    facts = qc_facts(out, check=check)
    assert facts["domain"] == {"checked": True, "n_images": 1, "n_out_of_domain": 1, "out_of_domain": ["img"]}
    assert "acceptable" not in facts["methods"] and "outside the model's training domain" in facts["methods"]
    paths = write_qc_report(out, check=check)
    doc = Doc(paths["html"].read_text())
    assert "outside the training domain" in doc.paragraphs["domain-check"]
    (check / "summary.json").write_text(json.dumps({"images": {"img": {"domain_score": 0.1, "in_domain": True}}}))
    assert "acceptable" in qc_facts(out, check=check)["methods"]
    with pytest.raises(InputError, match="no summary.json"):
        qc_facts(out, check=tmp_path / "nowhere")


def test_compare_report_names_no_false_winner(images, tmp_path):
    gt, src = images["gt"], images["src"]
    rng = np.random.default_rng(5)
    care = (0.7 * ndimage.gaussian_filter(gt, 1.3)).astype(np.float32)
    pd = (gt + rng.normal(0, 0.45, gt.shape)).astype(np.float32)
    out = tmp_path / "cmp"
    compare_methods({"a": gt}, {"CARE": {"a": care}, "PureDenoise": {"a": pd}}, {"a": src}, out,
                    baseline="PureDenoise")
    paths = write_qc_report(out)
    text = paths["methods"].read_text()
    assert "the best on both whole-image PSNR and structure SSIM was PureDenoise" in text
    assert "CARE not better than baseline" in text and "disagreed" in text
    assert "acceptable" not in text
    doc = Doc(paths["html"].read_text())
    assert "PureDenoise" in doc.paragraphs["best-method"]
    assert "whole-image SSIM ranks CARE first" in doc.paragraphs["disagreements"]


def test_no_qc_and_label_sentences_never_say_acceptable():
    assert "acceptable" not in qc_sentence(None)
    labels = {"kind": "labels", "summary": {"f1": 0.8, "threshold": 0.5}, "evaluation": {"image_count": 2}}
    assert "acceptable" not in qc_sentence(labels)
    assert callable(methods_paragraph)
