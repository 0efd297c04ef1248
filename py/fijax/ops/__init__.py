"""One table of operations; every face (CLI, HTTP, macro command, Dask batch) adapts it.

An operation is written once: a pydantic model of its options, the names of the images it
takes, and a function ``func(inputs, options, ctx) -> OpResult``. Modules in this package
register operations with :func:`operation`; :func:`load_all` imports them all.

Example
-------
>>> class BlurOptions(pydantic.BaseModel):
...     sigma: float = 2.0
>>> @operation("gaussian", BlurOptions, inputs=("image",), summary="Gaussian blur")
... def gaussian(inputs, options, ctx):
...     ...
...     return OpResult(images={"blurred": out})
"""

from __future__ import annotations

import importlib
import importlib.util
import math
import os
import pkgutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pydantic

from fijax import compile_cache
from fijax.errors import CancelledError, InputError, NotFoundError
from fijax.io.image import Image


@dataclass
class OpContext:
    """What an operation may use besides its inputs: an output folder, progress and cancellation.

    ``confine_outputs`` (set by the server) keeps every file an operation writes inside
    ``out_dir`` (the job's artifacts) or inside ``output_root`` (the operator's ``--outputs``
    folder): a user-chosen ``out`` path goes through :meth:`output_path`, so a token holder
    cannot write or overwrite files elsewhere on the server.
    """

    out_dir: Path | None = None
    progress: Callable[[float, str], None] = lambda fraction, message: None
    is_cancelled: Callable[[], bool] = lambda: False
    confine_outputs: bool = False
    output_root: Path | None = None

    def output_path(self, path: str | os.PathLike, what: str = "out") -> Path:
        """Resolve a user-given output path, refusing places outside the allowed folders when confined.

        Unconfined (CLI, desktop Fiji) the path is returned as given (``~`` expanded). Confined,
        a relative path is taken inside ``output_root`` (else ``out_dir``) and the result must
        lie inside one of them.

        Raises
        ------
        InputError
            When confined and the path leaves the allowed folders (or none is configured).
        """
        given = Path(os.fspath(path)).expanduser()
        if not self.confine_outputs:
            return given
        roots = [Path(r).resolve() for r in (self.output_root, self.out_dir) if r is not None]
        if not roots:
            raise InputError(f"{what}={path}: this server writes files only into a job's artifacts folder "
                             "(or the operator's --outputs folder); none is available for this request")
        target = (given if given.is_absolute() else roots[0] / given).resolve()
        if not any(target == r or target.is_relative_to(r) for r in roots):
            where = (f"the operator's output folder {self.output_root}" if self.output_root is not None
                     else "the job's artifacts folder (the server was started without --outputs)")
            raise InputError(f"{what}={path}: writing outside {where} is not allowed on this server; give a "
                             "relative path or omit it")
        return target

    def check_cancelled(self) -> None:
        """Raise :class:`CancelledError` when the caller asked to stop."""
        if self.is_cancelled():
            raise CancelledError("operation cancelled")


@dataclass
class OpResult:
    """What an operation returns, in a form every face can present.

    Attributes
    ----------
    images : dict of str to Image
        Output images by title (macro: opened as new images; HTTP: TIFF parts; CLI: files).
    table : list of dict
        Rows of a results table (macro: the Results table; HTTP: JSON; CLI: CSV).
    values : dict
        Scalars and small JSON-able facts (verdicts, model name and version, ...).
    files : dict of str to Path
        Artifacts written under ``ctx.out_dir`` (CSV, maps, figures, reports).
    """

    images: dict[str, Image] = field(default_factory=dict)
    table: list[dict[str, Any]] = field(default_factory=list)
    values: dict[str, Any] = field(default_factory=dict)
    files: dict[str, Path] = field(default_factory=dict)


OpFunc = Callable[[Mapping[str, Image], Any, OpContext], OpResult]


@dataclass(frozen=True)
class Operation:
    """A registered operation: name, option model, image inputs and implementation."""

    name: str
    options: type[pydantic.BaseModel]
    func: OpFunc
    inputs: tuple[str, ...] = ()
    optional_inputs: tuple[str, ...] = ()
    summary: str = ""
    long_running: bool = False

    def parse_options(self, raw: Mapping[str, Any] | pydantic.BaseModel | None) -> pydantic.BaseModel:
        """Validate raw options into the operation's model; unknown keys are errors."""
        if isinstance(raw, self.options):
            return raw
        bad = _non_finite(dict(raw or {}))
        if bad:
            raise InputError(f"bad options for {self.name!r}: {bad}: must be a finite number (got NaN or infinity)")
        try:
            return self.options.model_validate(dict(raw or {}))
        except pydantic.ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in err['loc']) or 'options'}: {err['msg']}" for err in exc.errors()
            )
            raise InputError(f"bad options for {self.name!r}: {problems}") from exc

    def __call__(self, inputs: Mapping[str, Image] | None = None, options: Any = None,
                 ctx: OpContext | None = None) -> OpResult:
        inputs = dict(inputs or {})
        missing = [n for n in self.inputs if n not in inputs]
        if missing:
            raise InputError(f"{self.name!r} needs input image(s): {', '.join(missing)}")
        unknown = [n for n in inputs if n not in self.inputs + self.optional_inputs]
        if unknown:
            raise InputError(f"{self.name!r} takes no input image(s) named: {', '.join(unknown)}")
        # every face (CLI, server, macros, batch workers) runs operations: compiled kernels persist
        compile_cache.enable()
        return self.func(inputs, self.parse_options(options), ctx or OpContext())


def _non_finite(value: Any, where: str = "") -> str | None:
    """The dotted name of the first NaN/infinite float in ``value`` (JSON ``Infinity`` parses to one), or None.

    Checked before validation because JSON output would turn such a value into ``null`` and a
    later face would report the option as missing instead of invalid.
    """
    if isinstance(value, float) and not math.isfinite(value):
        return where or "options"
    if isinstance(value, dict):
        for k, v in value.items():
            found = _non_finite(v, f"{where}.{k}" if where else str(k))
            if found:
                return found
    elif isinstance(value, list | tuple):
        for i, v in enumerate(value):
            found = _non_finite(v, f"{where}.{i}" if where else str(i))
            if found:
                return found
    return None


_REGISTRY: dict[str, Operation] = {}


def operation(name: str, options: type[pydantic.BaseModel], *, inputs: tuple[str, ...] = (),
              optional_inputs: tuple[str, ...] = (), summary: str = "",
              long_running: bool = False) -> Callable[[OpFunc], OpFunc]:
    """Register ``func`` as the operation ``name`` (decorator)."""

    def register(func: OpFunc) -> OpFunc:
        if name in _REGISTRY and _REGISTRY[name].func is not func:
            raise RuntimeError(f"operation {name!r} registered twice")
        _REGISTRY[name] = Operation(name, options, func, tuple(inputs), tuple(optional_inputs),
                                    summary or (func.__doc__ or "").strip().split("\n")[0], long_running)
        return func

    return register


def load_all() -> dict[str, Operation]:
    """Import every module of this package (registering its operations) and return the table."""
    for info in pkgutil.iter_modules(__path__):
        if not info.name.startswith("_"):
            importlib.import_module(f"{__name__}.{info.name}")
    return dict(_REGISTRY)


def get(name: str) -> Operation:
    """Return the operation ``name``; raise :class:`NotFoundError` naming the known ones.

    Imports only the module named like the operation when there is one (a CLI call then
    imports what it uses, not every operation's libraries), else all of them.
    """
    if name not in _REGISTRY and isinstance(name, str) and name.isidentifier() and not name.startswith("_"):
        if importlib.util.find_spec(f"{__name__}.{name}") is not None:
            importlib.import_module(f"{__name__}.{name}")
    if name in _REGISTRY:
        return _REGISTRY[name]
    table = load_all()
    if name not in table:
        raise NotFoundError(f"unknown operation {name!r}; known: {', '.join(sorted(table))}")
    return table[name]
