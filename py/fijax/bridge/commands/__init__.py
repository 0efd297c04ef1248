"""FiJAX macro commands: one decorator per command, one table the shim jar dispatches to.

A command is a Python function registered under an ImageJ menu label. The shim's
``fijax.ij.FijaxCommand`` (an ImageJ 1.x ``PlugIn``) resolves the command's input images, calls the
function through the ``Transport`` proxy, shows the images it returns and appends its rows to the
Results table. Every module of this package is imported by :func:`load_all`, so a later issue adds
a command by adding one module here, for example::

    # py/fijax/bridge/commands/qc.py
    from fijax.bridge.commands import op_command
    op_command("FiJAX QC", "qc", inputs={"target": "target", "prediction": "prediction"})

or, for commands that are not an operation of :mod:`fijax.ops`::

    @macro_command("FiJAX Hello", inputs=())
    def hello(call):
        return OpResult(values={"greeting": f"hello {call.options.get('name', 'world')}"})

Macro options use ImageJ's recordable syntax: ``key=value``, ``key=[value with spaces]``, lowercase
keys, and a bare ``key`` means ``key=true``. ``output=TITLE`` names the (first) output image.
Values from ``OpResult.values`` become one Results row (when the operation gives no table) and are
logged as ``key=value``.

Macro ``call()`` entry point (strings and numbers)::

    v = call("fijax.ij.Bridge.call", "version");
    psnr = call("fijax.ij.Bridge.call", "qc", "target=gt prediction=pred", "psnr");

The first argument names a function registered with :func:`macro_function` or an operation; for an
operation the second is its options string (image inputs by title) and the optional third picks one
of its values (default: all values as ``key=value`` pairs).
"""

from __future__ import annotations

import importlib
import logging
import math
import pkgutil
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from fijax import ops
from fijax.errors import InputError, NotFoundError
from fijax.io.image import Image
from fijax.ops import OpContext, OpResult

log = logging.getLogger(__name__)

#: The Java class and method a macro ``call()`` names.
CALL_TARGET = "fijax.ij.Bridge.call"

_KEY = re.compile(r"[a-z_][a-z0-9_.\-]*")


def parse_options(options: str) -> dict[str, str]:
    """Parse a macro options string into ``{key: value}`` (ImageJ's recordable syntax).

    ``key=value``, ``key=[value with spaces]`` and ``key='value with spaces'``; a bare ``key`` means ``"true"``. Keys must be
    lowercase (ImageJ's ``Macro.getValue`` lowercases the keys it looks up, so an uppercase key
    would be silently ignored by ordinary commands).

    Raises
    ------
    InputError
        On an uppercase key, an unterminated ``[`` or a repeated key.
    """
    out: dict[str, str] = {}
    i, n = 0, len(options or "")
    s = options or ""
    while i < n:
        while i < n and s[i].isspace():
            i += 1
        if i >= n:
            break
        j = i
        while j < n and not s[j].isspace() and s[j] != "=":
            j += 1
        key = s[i:j]
        if j < n and s[j] == "=":
            j += 1
            if j < n and s[j] in "['\"":
                # [a b] is ImageJ's own quoting; 'a b' is what some plugins (PureDenoise) record.
                close = "]" if s[j] == "[" else s[j]
                end = s.find(close, j + 1)
                if end < 0:
                    raise InputError(f"option {key!r}: unterminated {s[j]!r} in {options!r}")
                value, j = s[j + 1:end], end + 1
            else:
                k = j
                while k < n and not s[k].isspace():
                    k += 1
                value, j = s[j:k], k
        else:
            value = "true"
        if key != key.lower():
            raise InputError(f"option keys must be lowercase: {key!r}")
        if not _KEY.fullmatch(key):
            raise InputError(f"bad option key {key!r} in {options!r}")
        if key in out:
            raise InputError(f"option {key!r} given twice")
        out[key] = value
        i = j
    return out


def format_options(options: Mapping[str, Any]) -> str:
    """Inverse of :func:`parse_options`: ``{"sigma": 2, "name": "a b"}`` -> ``"sigma=2 name=[a b]"``."""
    parts = []
    for key, value in options.items():
        if value is True:
            parts.append(key)
            continue
        if value is False or value is None:
            continue
        text = str(value)
        parts.append(f"{key}=[{text}]" if (not text or any(ch.isspace() for ch in text)) else f"{key}={text}")
    return " ".join(parts)


@dataclass
class CommandCall:
    """What a command function receives.

    Attributes
    ----------
    label : str
        The command label.
    options : dict of str to str
        Parsed macro options without the image-input keys and ``output``.
    images : dict of str to Image
        Input images (copied from ImageJ) by input name.
    output : str, optional
        The ``output=`` option (title of the first output image).
    raw_options : str
        The options string as ImageJ passed it.
    """

    label: str
    options: dict[str, str]
    images: dict[str, Image]
    output: str | None = None
    raw_options: str = ""
    ctx: OpContext = field(default_factory=OpContext)


CommandFunc = Callable[[CommandCall], OpResult | None]


#: Option values that name a method computed by fijax rather than an open image (``baseline=puredenoise``);
#: the Java command (``FijaxCommand.METHOD_WORDS``) passes them through the same way.
METHOD_WORDS = ("puredenoise",)


@dataclass(frozen=True)
class MacroCommand:
    """A registered FiJAX command.

    Attributes
    ----------
    label : str
        ImageJ command label (``run("FiJAX Gaussian", ...)``).
    func : callable
        ``func(call: CommandCall) -> OpResult | None``.
    inputs : dict of str to str
        Option key naming an input image (by title) -> the input's name passed to ``func``; the
        first key defaults to the active image.
    optional_inputs : tuple of str
        Input keys that may be absent.
    required : tuple of str
        Option keys that must be given.
    summary : str
        One line for ``FiJAX Info`` and docs.
    op : str, optional
        The operation this command adapts, if any.
    """

    label: str
    func: CommandFunc
    inputs: dict[str, str]
    optional_inputs: tuple[str, ...] = ()
    required: tuple[str, ...] = ()
    summary: str = ""
    op: str | None = None


_COMMANDS: dict[str, MacroCommand] = {}
#: Stand-ins for well-known commands a plain ImageJ lacks (the Bio-Formats Importer): served in
#: fijax's own JVM only, never listed in plugins.config (a desktop Fiji has the real ones).
_COMPAT: dict[str, MacroCommand] = {}
_FUNCTIONS: dict[str, Callable[..., Any]] = {}
_loaded = False


def macro_command(label: str, *, inputs: Mapping[str, str] | tuple[str, ...] = ("image",),
                  optional_inputs: tuple[str, ...] = (), required: tuple[str, ...] = (),
                  summary: str = "", op: str | None = None,
                  compat: bool = False) -> Callable[[CommandFunc], CommandFunc]:
    """Register ``func`` as the macro command ``label`` (decorator).

    Parameters
    ----------
    label : str
        The ImageJ command label; must start with ``"FiJAX "``.
    inputs : mapping or tuple of str
        Option keys naming input images -> input names (a tuple uses each key as its name). The
        first one defaults to the active image when its option is absent.
    optional_inputs : tuple of str
        Option keys of inputs that may be absent (the first input never is: it defaults to the
        active image).
    required : tuple of str
        Option keys that must be present; a missing one fails the macro naming it.
    summary : str
        One line describing the command.
    op : str, optional
        Name of the operation the command adapts (for documentation).
    compat : bool
        ``label`` is a well-known command of another plugin (e.g. ``"Bio-Formats Importer"``) that
        fijax serves in its own headless ImageJ; kept apart from the FiJAX commands.
    """
    if not compat and not label.startswith("FiJAX "):
        raise ValueError(f"command labels start with 'FiJAX ': {label!r}")
    mapping = dict(inputs) if isinstance(inputs, Mapping) else {k: k for k in inputs}
    for key in [*mapping, *required]:
        if key != key.lower():
            raise ValueError(f"option keys are lowercase: {key!r}")

    def register(func: CommandFunc) -> CommandFunc:
        table = _COMPAT if compat else _COMMANDS
        if label in table and table[label].func is not func:
            raise RuntimeError(f"macro command {label!r} registered twice")
        table[label] = MacroCommand(label, func, mapping, tuple(optional_inputs), tuple(required),
                                    summary or (func.__doc__ or "").strip().split("\n")[0], op)
        if not compat:
            _notify_registered(label)
        return func

    return register


def op_command(label: str, op_name: str, *, inputs: Mapping[str, str] | None = None,
               rename: Mapping[str, str] | None = None, optional_inputs: tuple[str, ...] = (),
               summary: str = "") -> MacroCommand:
    """Declare ``label`` as a thin adapter over the operation ``op_name`` of :mod:`fijax.ops`.

    Macro options become the operation's options (``rename`` maps macro keys to option names;
    values are validated by the operation's pydantic model), image options become its inputs,
    ``OpResult.images`` open as new images (the first titled by ``output=``), ``OpResult.table``
    fills the Results table, ``OpResult.values`` become a Results row when there is no table.

    Parameters
    ----------
    inputs : mapping, optional
        Option key -> operation input name; default: each of the operation's inputs under its own
        name.
    """
    operation = ops.get(op_name)
    mapping = dict(inputs) if inputs is not None else {n: n for n in operation.inputs + operation.optional_inputs}
    optional = tuple(optional_inputs) or tuple(k for k, v in mapping.items() if v in operation.optional_inputs)
    rename = dict(rename or {})
    required = tuple(k for k, f in operation.options.model_fields.items()
                     if f.is_required() and k not in rename.values())
    required += tuple(k for k, v in rename.items() if operation.options.model_fields[v].is_required())

    def adapter(call: CommandCall) -> OpResult:
        opts = {rename.get(k, k): v for k, v in call.options.items()}
        return operation(call.images, opts, call.ctx)

    adapter.__name__ = f"command_{op_name}"
    macro_command(label, inputs=mapping, optional_inputs=optional, required=required,
                  summary=summary or operation.summary, op=op_name)(adapter)
    return _COMMANDS[label]


def macro_function(name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register ``func(*args: str) -> str | float | int`` for macro ``call("fijax.ij.Bridge.call", name, ...)``."""

    def register(func: Callable[..., Any]) -> Callable[..., Any]:
        _FUNCTIONS[name] = func
        return func

    return register


def load_all() -> dict[str, MacroCommand]:
    """Import every module of this package (registering its commands) and return the table."""
    global _loaded
    if not _loaded:
        for info in pkgutil.iter_modules(__path__):
            if not info.name.startswith("_"):
                importlib.import_module(f"{__name__}.{info.name}")
        _loaded = True
    return dict(_COMMANDS)


def compat_commands() -> dict[str, MacroCommand]:
    """The stand-in commands (``compat=True``), e.g. the Bio-Formats Importer fijax serves."""
    load_all()
    return dict(_COMPAT)


def get(label: str) -> MacroCommand:
    """Return the command ``label``; :class:`NotFoundError` names the known ones."""
    table = load_all()
    if label in _COMPAT:
        return _COMPAT[label]
    if label not in table:
        raise NotFoundError(f"unknown FiJAX command {label!r}; known: {', '.join(sorted(table))}")
    return table[label]


def functions() -> dict[str, Callable[..., Any]]:
    load_all()
    return dict(_FUNCTIONS)


# Called with each new label so a running ImageJ learns commands registered after it started.
_on_register: list[Callable[[str], None]] = []


def _notify_registered(label: str) -> None:
    for cb in list(_on_register):
        try:
            cb(label)
        except Exception:  # noqa: BLE001 - registration must not fail an import
            log.exception("could not register %s with ImageJ", label)


def split_call(command: MacroCommand, options: str) -> tuple[dict[str, str], str | None]:
    """Parse ``options`` and drop image keys and ``output``; check required keys."""
    parsed = parse_options(options)
    output = parsed.pop("output", None)
    for key in command.inputs:
        parsed.pop(key, None)
    missing = [k for k in command.required if k not in parsed]
    if missing:
        raise InputError(f"missing required option(s): {', '.join(k + '=' for k in missing)}")
    return parsed, output


def is_scalar(value: Any) -> bool:
    """True for values a macro can receive as text (str, numbers, bools, 0-d arrays)."""
    return isinstance(value, str | int | float | bool) or getattr(value, "shape", None) == ()


def call_text(function: str, values: Mapping[str, Any], key: str | None = None) -> str:
    """What a macro ``call()`` of an operation returns: ``values[key]``, the only value, or ``k=v`` pairs.

    Raises
    ------
    InputError
        When ``key`` names no value of the result.
    """
    if key:
        if key not in values:
            raise InputError(f"{function!r} gives no value {key!r}; it gives: {', '.join(values)}")
        return scalar_text(values[key])
    if len(values) == 1:
        return scalar_text(next(iter(values.values())))
    return " ".join(f"{k}={scalar_text(v)}" for k, v in values.items() if is_scalar(v))


def scalar_text(value: Any) -> str:
    """Format a value for a macro: numbers as ImageJ prints them (``d2s``-like full precision)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        return repr(value) if not value.is_integer() else str(int(value)) if abs(value) < 1e15 else repr(value)
    if isinstance(value, np.generic):
        return scalar_text(value.item())
    return str(value)
