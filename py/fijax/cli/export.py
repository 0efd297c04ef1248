"""``fijax export NAME[:VERSION] --out model.zip``: bioimage.io model package (thin adapter over the op)."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``export`` command."""
    p = subparsers.add_parser("export", help="export a registered model as a bioimage.io model zip (ONNX)",
                              description="Write a bioimage.io model package (spec 0.5) with ONNX weights, test "
                                          "tensors from the registry, pre-processing, authors, citations, license and "
                                          "documentation from the training report. Needs the 'export' extra "
                                          "(jax2onnx, onnxruntime).")
    p.add_argument("model", metavar="NAME[:VERSION]")
    p.add_argument("--out", required=True, help="output .zip")
    p.add_argument("--author", action="append", default=[], required=True,
                   help="'Name' or 'Name;Affiliation' (repeatable, at least one)")
    p.add_argument("--license", required=True, help="SPDX id: MIT, CC-BY-4.0, BSD-3-Clause, ...")
    p.add_argument("--cite", action="append", default=[], help="extra citation 'Text;DOI' (repeatable)")
    p.add_argument("--tag", action="append", default=[], help="tag (repeatable)")
    p.add_argument("--description", help="one-paragraph description")
    p.add_argument("--name", help="display name (letters, digits, space, _+-())")
    p.add_argument("--git-repo", help="URL of the code repository")
    p.add_argument("--validation", help="extra text for the documentation's Validation section")
    p.add_argument("--tolerance", type=float, default=1e-4, help="max |ONNX - JAX| on the test input")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``export_bioimageio`` and print the package path and the ONNX round-trip difference."""
    from fijax import ops
    from fijax.cli._outputs import check_writable, note_replaced

    check_writable(args.out)
    note_replaced([args.out])
    result = ops.get("export_bioimageio")({}, {
        "model": args.model, "out": args.out, "authors": args.author, "license": args.license, "cite": args.cite,
        "tags": args.tag, "description": args.description, "name": args.name, "git_repo": args.git_repo,
        "validation": args.validation, "tolerance": args.tolerance})
    from fijax.cli._output import emit, text_lines

    v = result.values
    emit(args, v, [f"wrote bioimage.io package {v.get('path', args.out)}", *text_lines(v, [k for k in v if k != "path"])])
    return 0
