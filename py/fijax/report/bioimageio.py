"""Export a registered model as a bioimage.io model package (spec 0.5) with ONNX weights.

The package (a zip) holds ``bioimageio.yaml``, ``weights.onnx``, the test input and output
tensors (``.npy``) with TIFF sample tensors, ``README.md`` (documentation built from the training report, with a
"Validation" section) and a cover image. All facts come from the registry.

Conventions of the exported network:

* input ``raw``: axes ``batch, [z,] y, x, channel`` (the engine's channels-last layout), a fixed
  spatial size (the stored example patch size) and float32; preprocessing ``scale_range`` per
  sample and channel with the model's percentiles (fijax's per-image normalisation);
* outputs: one tensor per task output (``prediction``, and e.g. ``scale`` for a Laplace CARE
  head) in **normalised units** — bioimage.io has no operation that maps back to the input's
  percentiles; ``fijax predict`` does it as ``y * (p_max - p_min) + p_min``;
* ONNX from the JAX forward via ``jax2onnx`` (optional extra ``export``); the residual
  connection is written as a plain add (the engine's ``.at[].add`` becomes a ScatterND that
  ONNX runtime rejects), which is numerically the same network.

The round trip is checked at export: ONNX runtime (when installed) must reproduce the JAX output
on the test input within ``tolerance``. ``bioimageio.core.test_model`` validates the package in
its own environment (see ``docs/reports.md``).
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import logging
import re
import zipfile
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from fijax.errors import InputError

#: The bioimage.io model format version written (bioimageio.core 0.11.0 pins spec 0.5.12.0).
FORMAT_VERSION = "0.5.12"
#: ONNX opset used with jax2onnx.
OPSET = 23
#: scale_range epsilon (bioimage.io divides by ``hi - lo + eps``).
EPS = 1e-6

_SPDX = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.\-+]*$")
_NAME_OK = re.compile(r"[^A-Za-z0-9_+\- ()]")


@dataclasses.dataclass
class ExportResult:
    """What :func:`export_bioimageio` wrote and measured."""

    path: Path
    rdf: dict[str, Any]
    max_abs_diff: float | None
    onnx_checked: bool
    files: list[str]


def _need(module: str, extra: str = "export") -> Any:
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise InputError(f"bioimage.io export needs the optional package {module!r}: "
                         f"pip install 'fijax[{extra}]'") from exc


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _npy(a: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, np.ascontiguousarray(a), allow_pickle=False)
    return buf.getvalue()


def scale_range(x: np.ndarray, pmin: float, pmax: float, ndim: int, eps: float = EPS) -> np.ndarray:
    """bioimage.io ``scale_range`` per sample and channel over the spatial axes of ``(B, *spatial, C)``."""
    axes = tuple(range(1, ndim + 1))
    lo = np.percentile(x, pmin, axis=axes, keepdims=True)
    hi = np.percentile(x, pmax, axis=axes, keepdims=True)
    return ((x - lo) / (hi - lo + eps)).astype(np.float32)


def export_function(trained: Any):
    """A pure ``f(x) -> tuple of outputs`` of the trained network for tracing to ONNX.

    Returns
    -------
    (callable, list of str)
        The function and the names of its outputs (the task's :meth:`outputs` keys, sorted).
    """
    from fijax.engine.checkpoint import assign_model_arrays, model_arrays
    from fijax.engine.tasks import get_task
    from fijax.engine.unet import make_unet

    spec = trained.spec
    plain = make_unet(dataclasses.replace(spec, residual=False), 0)
    assign_model_arrays(plain, model_arrays(trained.model))  # same parameters; residual is added below
    plain.eval()
    task = get_task(trained.config.task)
    cfg = trained.config
    c = spec.in_channels
    names = sorted(task.outputs(np.zeros((1,) + (spec.divisor,) * spec.ndim + (spec.out_channels,),
                                         np.float32), cfg))

    def forward(x):
        import jax.numpy as jnp

        y = plain(x)
        if spec.residual:
            y = y + x if y.shape[-1] == c else jnp.concatenate([y[..., :c] + x, y[..., c:]], axis=-1)
        out = task.outputs(y, cfg)
        return tuple(out[n] for n in names)

    return forward, names


def _clean_name(text: str) -> str:
    name = _NAME_OK.sub("-", text).strip()
    return (name + " model")[:128] if len(name) < 5 else name[:128]


def _authors(authors: Sequence[str] | None) -> list[dict[str, str]]:
    out = []
    for a in authors or []:
        name, _, affiliation = str(a).partition(";")
        name = name.strip()
        if not name or "/" in name:
            raise InputError(f"bad author {a!r}: give 'Name' or 'Name;Affiliation' (no '/')")
        entry = {"name": name}
        if affiliation.strip():
            entry["affiliation"] = affiliation.strip()
        out.append(entry)
    if not out:
        raise InputError("bioimage.io export needs at least one author (--author 'Name[;Affiliation]')")
    return out


def _cites(cite: Sequence[str] | None, algorithm: dict) -> list[dict[str, str]]:
    entries = [{"text": algorithm["text"], "doi": algorithm["doi"]}]
    net = algorithm.get("network") or {}
    if net.get("doi") and net["doi"] != algorithm.get("doi"):
        entries.append({"text": net["text"], "doi": net["doi"]})
    for c in cite or []:
        text, _, ref = str(c).partition(";")
        ref = ref.strip()
        if not text.strip() or not ref:
            raise InputError(f"bad citation {c!r}: give 'Text;DOI' or 'Text;https://URL'")
        key = "url" if ref.startswith(("http://", "https://")) else "doi"
        entries.append({"text": text.strip(), key: ref.removeprefix("doi:")})
    return entries


def _readme(facts: dict[str, Any], outputs: list[str], max_abs_diff: float | None, extra_validation: str) -> str:
    m, alg, cfg = facts["model"], facts["algorithm"], facts["hyperparameters"]
    metrics = facts["metrics"]
    lines = [
        f"# {m['name']} (version {m['version']})", "",
        f"{alg.get('name')} model trained with fijax {facts['versions'].get('fijax', '?')} on {facts['date']}.", "",
        "## Inputs and outputs", "",
        "- input `raw`: axes batch, " + ("z, " if facts["architecture"]["ndim"] == 3 else "")
        + f"y, x, channel; preprocessing: percentile normalisation {cfg.get('norm_pmin')}–{cfg.get('norm_pmax')} "
        "per sample and channel (`scale_range`).",
        f"- output(s) {', '.join('`' + o + '`' for o in outputs)}: in normalised units. To return to the input's "
        f"intensities multiply by (p{cfg.get('norm_pmax')} − p{cfg.get('norm_pmin')}) of the input and add "
        f"p{cfg.get('norm_pmin')}, as `fijax predict` does.", "",
        "## Training", "",
        facts["methods"], "",
        "| item | value |", "| --- | --- |",
        f"| task | {facts['algorithm']['task']} |",
        f"| epochs × steps | {metrics.get('epochs')} × {cfg.get('steps_per_epoch')} |",
        f"| batch size | {cfg.get('batch_size')} |",
        f"| patch size | {cfg.get('patch_size')} |",
        f"| learning rate | {cfg.get('learning_rate')} ({cfg.get('lr_schedule')}) |",
        f"| loss | {cfg.get('loss')} |",
        f"| augmentation | {', '.join(facts['augmentation']['ops']) or 'none'} |",
        f"| seed | {facts['seeds']['seed']} |",
        f"| device | {facts['device']} |",
        f"| training time | {facts['training_time']} |",
        f"| parent model | {facts['trained_from']} |",
        f"| weights sha256 (fijax npz) | {m['weights_sha256']} |", "",
        "Training files (sha256):", "",
        *([f"- {f['name']}: {f['sha256']}" for f in facts["data"]["training"]["files"]] or ["- (not recorded)"]), "",
        "# Validation", "",
        f"Final training loss {metrics.get('loss')}, validation loss {metrics.get('val_loss')} "
        f"({facts['data']['validation']['split']}; {facts['data']['validation']['patch_count']} validation patches).",
        (f"The ONNX weights reproduce the JAX network on the test input within max |Δ| = {max_abs_diff:.3g}."
         if max_abs_diff is not None else ""),
        extra_validation or "Quality control against ground truth: run `fijax qc` on held-out data and "
        "`fijax report qc`; the QC report states the metrics, the verdict and the image origin.", "",
        "## Versions", "",
        *[f"- {k}: {v}" for k, v in sorted(facts["versions"].items())], "",
    ]
    return "\n".join(lines)


def _tif(a: np.ndarray) -> bytes:
    """A float32 TIFF of a tensor without its singleton axes (bioimage.io ``sample_tensor``)."""
    import tifffile

    buf = io.BytesIO()
    tifffile.imwrite(buf, np.ascontiguousarray(np.squeeze(a), np.float32))
    return buf.getvalue()


def _cover(examples: dict[str, np.ndarray]) -> bytes:
    """A 2:1 cover: first example input next to its prediction."""
    import base64

    from fijax.report.figures import _plane, _pyplot, to_b64

    plt = _pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(6, 3))
    ref = _plane(examples["source"][0])
    lo, hi = np.percentile(ref, [1, 99.8])
    for ax, key in zip(axes, ("source", "prediction"), strict=True):
        ax.imshow(_plane(examples[key][0]), cmap="magma", vmin=lo, vmax=hi if hi > lo else lo + 1)
        ax.set_axis_off()
    fig.subplots_adjust(0, 0, 1, 1, 0, 0)
    return base64.b64decode(to_b64(fig))


def export_bioimageio(model: Any, out: str | Path, *, registry: Any = None, authors: Sequence[str] | None = None,
                      cite: Sequence[str] | None = None, license: str | None = None,
                      tags: Sequence[str] | None = None, description: str | None = None,
                      name: str | None = None, git_repo: str | None = None, validation: str | None = None,
                      tolerance: float = 1e-4, opset: int = OPSET) -> ExportResult:
    """Write ``model`` (``NAME[:VERSION]`` or a record) as a bioimage.io model zip at ``out``.

    Parameters
    ----------
    authors : list of str
        ``"Name"`` or ``"Name;Affiliation"``; at least one.
    cite : list of str, optional
        Extra citations ``"Text;DOI"`` or ``"Text;https://URL"`` (the algorithm's and the U-Net's
        are always included).
    license : str
        SPDX identifier (``MIT``, ``CC-BY-4.0``, ``BSD-3-Clause`` ...).
    validation : str, optional
        Extra text for the documentation's Validation section (e.g. the QC report's paragraph).
    tolerance : float
        Largest allowed max |ONNX − JAX| on the test input (also written as the package's
        reproducibility tolerance).

    Raises
    ------
    NotFoundError
        Unknown model or version.
    InputError
        Missing authors or license, a card lacking fields, no stored example patches, a missing
        optional package (``jax2onnx``), or an ONNX model that does not reproduce the JAX output.
    """
    from fijax.engine.model import load_model
    from fijax.io.atomic import atomic_path
    from fijax.registry.models import ModelRegistry
    from fijax.report.training import _load_examples, _resolve, training_facts

    if not license or not _SPDX.match(license):
        raise InputError("bioimage.io export needs a license: an SPDX id such as MIT, CC-BY-4.0 or BSD-3-Clause "
                         "(--license)")
    author_list = _authors(authors)
    out = Path(out)
    if out.suffix.lower() != ".zip":
        raise InputError(f"the bioimage.io package is a .zip file, got {out.name!r}")
    record = _resolve(model, registry)
    facts = training_facts(record, registry, with_examples=False)
    arrays, ex_meta = _load_examples(record)
    if "source" not in arrays:
        raise InputError(f"model {record.ref} has no stored example patches (examples.npz) for the test tensors; "
                         "retrain it with this fijax version")
    registry = registry if registry is not None else ModelRegistry(Path(record.path).parents[2])
    trained = load_model(record.ref, registry=registry)
    cfg, spec = trained.config, trained.spec
    jax2onnx = _need("jax2onnx")

    # -- test tensors and the JAX reference ----------------------------------------------------------
    test_input = np.ascontiguousarray(arrays["source"][:1], np.float32)  # (1, *spatial, C)
    normed = scale_range(test_input, cfg.norm_pmin, cfg.norm_pmax, spec.ndim)
    forward, out_names = export_function(trained)
    jax_out = [np.asarray(o, np.float32) for o in forward(normed)]

    # -- ONNX ------------------------------------------------------------------------------------------
    shape = ("B",) + tuple(int(s) for s in test_input.shape[1:])
    if not logging.getLogger().isEnabledFor(logging.INFO):
        # onnx_ir warns "value type ... not known, skipping serialization" for jax2onnx's shape constants
        # (8 lines per U-Net): harmless -- the ONNX output is checked against JAX below; `fijax -v` shows them
        logging.getLogger("onnx_ir.serde").setLevel(logging.ERROR)
    proto = jax2onnx.to_onnx(forward, [shape], model_name=_clean_name(record.name).replace(" ", "_"),
                             opset=opset, input_names=["raw"], output_names=list(out_names))
    onnx_bytes = proto.SerializeToString()
    max_diff: float | None = None
    try:
        import onnxruntime as ort
    except ImportError:
        ort = None
    if ort is not None:
        sess = ort.InferenceSession(onnx_bytes, providers=["CPUExecutionProvider"])
        got = sess.run(None, {sess.get_inputs()[0].name: normed})
        max_diff = float(max(np.max(np.abs(g - j)) for g, j in zip(got, jax_out, strict=True)))
        if not max_diff <= tolerance:
            raise InputError(f"ONNX export of {record.ref} does not reproduce the JAX output: max |Δ| = "
                             f"{max_diff:.3g} > tolerance {tolerance}")

    # -- description -------------------------------------------------------------------------------------
    algorithm = facts["algorithm"]
    spatial_ids = ["z", "y", "x"][-spec.ndim:]
    in_axes: list[dict[str, Any]] = [{"type": "batch"}]
    in_axes += [{"type": "space", "id": a, "size": int(s)} for a, s in zip(spatial_ids, test_input.shape[1:-1],
                                                                          strict=True)]
    in_axes.append({"type": "channel", "channel_names": [f"c{i}" for i in range(test_input.shape[-1])]})
    files: dict[str, bytes] = {"weights.onnx": onnx_bytes, "test_input.npy": _npy(test_input),
                               "sample_input.tif": _tif(test_input)}
    outputs = []
    for n, arr in zip(out_names, jax_out, strict=True):
        fname = f"test_output_{n}.npy"
        files[fname] = _npy(arr)
        files[f"sample_output_{n}.tif"] = _tif(arr)
        axes: list[dict[str, Any]] = [{"type": "batch"}]
        axes += [{"type": "space", "id": a, "size": {"tensor_id": "raw", "axis_id": a}} for a in spatial_ids]
        axes.append({"type": "channel", "channel_names": [f"{n}{i}" for i in range(arr.shape[-1])]})
        outputs.append({"id": n, "description": f"{n} (normalised units)", "axes": axes,
                        "test_tensor": {"source": fname, "sha256": _sha(files[fname])},
                        "sample_tensor": {"source": f"sample_output_{n}.tif",
                                          "sha256": _sha(files[f"sample_output_{n}.tif"])},
                        "data": {"type": "float32"},
                        "postprocessing": [{"id": "ensure_dtype", "kwargs": {"dtype": "float32"}}]})
    examples = {"source": normed, "prediction": jax_out[0]}
    files["cover.png"] = _cover(examples)
    files["README.md"] = _readme(facts, out_names, max_diff, validation or "").encode()
    now = datetime.now(UTC).isoformat(timespec="seconds")
    rdf: dict[str, Any] = {
        "type": "model",
        "format_version": FORMAT_VERSION,
        "name": _clean_name(name or f"fijax {record.name} v{record.version}"),
        "description": (description or f"{algorithm.get('name')} ({facts['algorithm']['task']}) trained with "
                        f"fijax {facts['versions'].get('fijax', '?')}; outputs in normalised units.")[:1024],
        "version": f"{record.version}.0.0" if str(record.version).isdigit() else str(record.version),
        "timestamp": now.replace("+00:00", "Z"),
        "authors": author_list,
        "cite": _cites(cite, algorithm),
        "license": license,
        "tags": sorted({*(tags or []), "fijax", "jax", "unet", f"{spec.ndim}d", facts["algorithm"]["task"]}),
        "documentation": {"source": "README.md", "sha256": _sha(files["README.md"])},
        "covers": [{"source": "cover.png", "sha256": _sha(files["cover.png"])}],
        "inputs": [{
            "id": "raw", "description": "raw image (any intensity units)", "axes": in_axes,
            "test_tensor": {"source": "test_input.npy", "sha256": _sha(files["test_input.npy"])},
            "sample_tensor": {"source": "sample_input.tif", "sha256": _sha(files["sample_input.tif"])},
            "data": {"type": "float32"},
            "preprocessing": [{"id": "scale_range", "kwargs": {"axes": spatial_ids, "min_percentile": cfg.norm_pmin,
                                                               "max_percentile": cfg.norm_pmax, "eps": EPS}}],
        }],
        "outputs": outputs,
        "weights": {"onnx": {"source": "weights.onnx", "sha256": _sha(onnx_bytes), "opset_version": opset,
                             "authors": author_list,
                             "comment": f"exported from fijax weights (sha256 {record.weights_sha256}) with "
                                        f"jax2onnx {getattr(jax2onnx, '__version__', '?')}"}},
        "config": {
            "bioimageio": {"reproducibility_tolerance": [{"absolute_tolerance": tolerance,
                                                          "relative_tolerance": 1e-3,
                                                          "mismatched_elements_per_million": 100}]},
            "fijax": {"model": record.ref, "weights_sha256": record.weights_sha256, "task": facts["algorithm"]["task"],
                      "config": facts["hyperparameters"], "unet": facts["architecture"],
                      "normalization": facts["normalization"], "parent": facts["parent"],
                      "training_data": facts["data"]["training"]["files"], "versions": facts["versions"],
                      "test_input_origin": ex_meta.get("origin"), "exported": now,
                      "onnx_max_abs_diff": max_diff},
        },
    }
    if git_repo:
        rdf["git_repo"] = git_repo
    import yaml

    files["bioimageio.yaml"] = yaml.safe_dump(json.loads(json.dumps(rdf, default=str)), sort_keys=False,
                                              allow_unicode=True).encode()
    with atomic_path(out) as tmp:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            for fname, data in files.items():
                zf.writestr(fname, data)
    return ExportResult(out, rdf, max_diff, max_diff is not None, sorted(files))
