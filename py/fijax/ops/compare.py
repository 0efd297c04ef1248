"""Operation ``compare``: rank restoration outputs of several methods on one ground truth.

Paths only (no image inputs): ``gt``, optional ``source`` (the baseline) and ``methods``
(``{name: file or folder}``). Writes ``compare.csv``, ``compare_per_image.csv``, ``compare.png``
and ``summary.json`` into ``ctx.out_dir`` (see :func:`fijax.qc.compare_methods`).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pydantic

from fijax.errors import InputError
from fijax.io.image import Image
from fijax.ops import OpContext, OpResult, get, operation
from fijax.qc.dataset import compare_methods

__all__ = ["CompareOptions", "parse_method_specs", "run_compare"]


class CompareOptions(pydantic.BaseModel):
    """Options of ``compare``."""

    model_config = pydantic.ConfigDict(extra="forbid")

    gt: str = pydantic.Field(description="ground-truth TIFF file or folder")
    methods: dict[str, str] = pydantic.Field(min_length=1, description="method name -> TIFF file or folder")
    source: str | None = pydantic.Field(None, description="source (raw input)")
    baseline: str | None = pydantic.Field(
        None, description="method to beat: a method name, 'puredenoise' (computed from the source) or a TIFF "
                          "file/folder")
    normalize: bool = True
    data_range: float | None = pydantic.Field(None, gt=0)
    plot: bool = True


def parse_method_specs(specs: list[str]) -> dict[str, str]:
    """``["CARE=out/care", "PureDenoise=out/pd"]`` -> ``{"CARE": "out/care", ...}`` (CLI ``--method``)."""
    out: dict[str, str] = {}
    for spec in specs:
        name, sep, path = spec.partition("=")
        name, path = name.strip(), path.strip()
        if not sep or not name or not path:
            raise InputError(f"--method expects NAME=PATH, got {spec!r}")
        if name in out:
            raise InputError(f"--method: name {name!r} given twice")
        out[name] = path
    return out


@operation("compare", CompareOptions, summary="Rank several methods' outputs against one ground truth",
           long_running=True)
def compare_op(inputs: Mapping[str, Image], options: CompareOptions, ctx: OpContext) -> OpResult:
    """Compare methods on files or folders; writes into ``ctx.out_dir`` when set."""
    return run_compare(options, ctx)


def run_compare(options: CompareOptions | Mapping[str, Any], ctx: OpContext | None = None) -> OpResult:
    """Run the comparison; ``table`` is the ranking (``compare.csv`` rows), best first."""
    options = get("compare").parse_options(options)
    ctx = ctx or OpContext()
    if options.data_range is not None and options.normalize:
        raise InputError("data_range applies only without normalisation (--no-normalize)")
    res = compare_methods(Path(options.gt), {k: Path(v) for k, v in options.methods.items()},
                          Path(options.source) if options.source else None, ctx.out_dir,
                          baseline=options.baseline, normalize=options.normalize, data_range=options.data_range, plot=options.plot,
                          progress=ctx.progress, is_cancelled=ctx.is_cancelled)
    values = {"best": res.summary["best"] or "none (metrics disagree)", "ranked_by": res.summary["ranked_by"],
              "ranking": [r["method"] for r in res.rows], "disagreements": res.summary["disagreements"],
              "metrics_disagree": bool(res.summary["disagreements"]), "baseline": res.summary["baseline"]}
    if res.summary.get("verdicts_vs_baseline") is not None:
        values["verdicts_vs_baseline"] = res.summary["verdicts_vs_baseline"]
    return OpResult(table=res.rows, values=values, files=dict(res.files))
