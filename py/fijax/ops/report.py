"""Operations ``report_model``, ``report_qc`` and ``export_bioimageio`` (no image inputs).

* ``report_model``: training report of a registered model (HTML + JSON + methods text).
* ``report_qc``: QC report of a ``fijax qc``/``compare`` output folder, optionally checked
  against a model's training data.
* ``export_bioimageio``: bioimage.io model zip (spec 0.5, ONNX weights).

Where files go: ``options.out`` when given, else ``ctx.out_dir`` (the server's job artifacts),
else ``FIJAX_HOME/reports/NAME/VERSION`` (model reports) or the QC folder itself (QC reports).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pydantic

from fijax.io.image import Image
from fijax.ops import OpContext, OpResult, operation

__all__ = ["ExportOptions", "ReportModelOptions", "ReportQCOptions"]


def _split_list(v: Any) -> Any:
    """Macro/HTTP text lists: ``"a,b"`` or ``"a|b"`` → ``["a", "b"]`` (``|`` keeps commas inside items)."""
    if isinstance(v, str):
        sep = "|" if "|" in v else ","
        return [x.strip() for x in v.split(sep) if x.strip()]
    return v


class ReportModelOptions(pydantic.BaseModel):
    """Options of ``report_model`` (macro: ``run("FiJAX Report", "model=NAME[:VERSION]")``)."""

    model_config = pydantic.ConfigDict(extra="forbid")

    model: str = pydantic.Field(description="NAME[:VERSION] of a registered model (latest by default)")
    out: str | None = pydantic.Field(None, description="output folder (default: job folder or "
                                     "FIJAX_HOME/reports/NAME/VERSION)")
    qc: str | None = pydantic.Field(None, description="output folder of `fijax qc` on held-out test data")


class ReportQCOptions(pydantic.BaseModel):
    """Options of ``report_qc``."""

    model_config = pydantic.ConfigDict(extra="forbid")

    qc_dir: str = pydantic.Field(description="output folder of fijax qc / compare (holds summary.json)")
    model: str | None = pydantic.Field(None, description="evaluated model NAME[:VERSION]: training-data overlap "
                                       "check and methods paragraph")
    origin: str | None = pydantic.Field(None, description="where the evaluation images come from")
    eval_files: list[str] = pydantic.Field(default_factory=list, description="evaluation TIFFs to hash pixel-wise "
                                           "against the training images")
    out: str | None = pydantic.Field(None, description="output folder (default: the QC folder)")
    check: str | None = pydantic.Field(None, description="output folder of fijax check on the evaluation images "
                                       "(GT-free domain check): out-of-domain images are reported")

    @pydantic.field_validator("eval_files", mode="before")
    @classmethod
    def _lists(cls, v: Any) -> Any:
        return _split_list(v)


class ExportOptions(pydantic.BaseModel):
    """Options of ``export_bioimageio``."""

    model_config = pydantic.ConfigDict(extra="forbid")

    model: str = pydantic.Field(description="NAME[:VERSION] of a registered model")
    out: str | None = pydantic.Field(None, description="zip path (default: NAME_vVERSION.bioimageio.zip in the "
                                     "job folder or FIJAX_HOME/exports)")
    authors: list[str] = pydantic.Field(default_factory=list, description="'Name' or 'Name;Affiliation'")
    license: str | None = pydantic.Field(None, description="SPDX id, e.g. MIT, CC-BY-4.0")
    cite: list[str] = pydantic.Field(default_factory=list, description="extra citations 'Text;DOI'")
    tags: list[str] = pydantic.Field(default_factory=list)
    description: str | None = None
    name: str | None = pydantic.Field(None, description="bioimage.io display name")
    git_repo: str | None = None
    validation: str | None = pydantic.Field(None, description="extra text for the README's Validation section")
    tolerance: float = pydantic.Field(1e-4, gt=0, description="max |ONNX - JAX| allowed on the test input")

    @pydantic.field_validator("authors", "cite", "tags", mode="before")
    @classmethod
    def _lists(cls, v: Any) -> Any:
        return _split_list(v)


def _model_out(options_out: str | None, ctx: OpContext, record: Any, kind: str) -> Path:
    if options_out:
        return ctx.output_path(options_out)
    if ctx.out_dir is not None:
        return Path(ctx.out_dir)
    from fijax.paths import fijax_home

    return fijax_home() / kind / record.name / str(record.version)


@operation("report_model", ReportModelOptions, summary="Training report of a registered model (HTML, JSON, methods)")
def report_model_op(inputs: Mapping[str, Image], options: ReportModelOptions, ctx: OpContext) -> OpResult:
    """Write the training report; values: model, paths and the methods paragraph."""
    from fijax.registry.models import ModelRegistry
    from fijax.report.training import write_training_report

    record = ModelRegistry().get(options.model)
    ctx.progress(0.0, f"report of {record.ref}")
    paths = write_training_report(record, _model_out(options.out, ctx, record, "reports"), qc_dir=options.qc)
    ctx.progress(1.0, "report written")
    return OpResult(values={"model": record.ref, "html": str(paths["html"]), "json": str(paths["json"]),
                            "methods": paths["methods"].read_text().strip()},
                    files={k: v for k, v in paths.items()})


@operation("report_qc", ReportQCOptions, summary="QC report of a fijax qc/compare folder (HTML, JSON, methods)")
def report_qc_op(inputs: Mapping[str, Image], options: ReportQCOptions, ctx: OpContext) -> OpResult:
    """Write the QC report; values: verdict, image count, overlap warning and paths."""
    from fijax.report.qc import write_qc_report

    if options.out:
        out = str(ctx.output_path(options.out))
    elif ctx.out_dir is not None:
        out = str(ctx.out_dir)
    else:
        out = None if not ctx.confine_outputs else str(ctx.output_path("report"))
    paths = write_qc_report(options.qc_dir, out, model=options.model, origin=options.origin,
                            eval_files=options.eval_files or None, check=options.check)
    import json

    facts = json.loads(paths["json"].read_text())
    return OpResult(values={"kind": facts["kind"], "verdict": (facts.get("verdict") or {}).get("dataset"),
                            "images": facts["evaluation"]["image_count"],
                            "overlap_warning": facts["overlap"].get("warning") or "",
                            "html": str(paths["html"]), "json": str(paths["json"]),
                            "methods": facts["methods"]},
                    files=dict(paths))


@operation("export_bioimageio", ExportOptions, summary="Export a model as a bioimage.io zip (spec 0.5, ONNX)",
           long_running=True)
def export_op(inputs: Mapping[str, Image], options: ExportOptions, ctx: OpContext) -> OpResult:
    """Write the bioimage.io package; values: path, ONNX round-trip max |Δ|, file list."""
    from fijax.registry.models import ModelRegistry
    from fijax.report.bioimageio import export_bioimageio

    record = ModelRegistry().get(options.model)
    out = ctx.output_path(options.out) if options.out else (
        _model_out(None, ctx, record, "exports") / f"{record.name}_v{record.version}.bioimageio.zip"
        if ctx.out_dir is None else Path(ctx.out_dir) / f"{record.name}_v{record.version}.bioimageio.zip")
    ctx.progress(0.0, f"exporting {record.ref} to ONNX")
    res = export_bioimageio(record, out, authors=options.authors, cite=options.cite, license=options.license,
                            tags=options.tags, description=options.description, name=options.name,
                            git_repo=options.git_repo, validation=options.validation,
                            tolerance=options.tolerance)
    ctx.progress(1.0, "exported")
    return OpResult(values={"model": record.ref, "path": str(res.path), "onnx_max_abs_diff": res.max_abs_diff,
                            "onnx_checked": res.onnx_checked, "files": res.files,
                            "format_version": res.rdf["format_version"]},
                    files={"package": res.path})
