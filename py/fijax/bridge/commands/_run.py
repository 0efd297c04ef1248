"""How a FiJAX command or macro ``call()`` runs: one implementation for every transport.

The in-process transport (:class:`fijax.bridge.transport.PythonTransport`, macros in this
process's ImageJ) and the server worker (:mod:`fijax.server.worker`, a desktop Fiji over HTTP)
both call :func:`run_command` and :func:`call_function`; they differ only in where images come
from and how the result is handed back (Java objects or JSON).

Rules (the same on both):

* every image option of the command must name an image unless it is optional (the shim passes
  the active image for the first one); a missing one is an :class:`~fijax.errors.InputError`
  ``"<label>: missing input image(s) for option(s): key="``, an unknown one names the known ones;
* output titles: the first image is titled ``output=`` (the others ``<output>-<name>``), or keeps
  the operation's name for it when ``output=`` is absent;
* rows: the operation's table, or else one row of its scalar values; the scalar values are echoed
  as ``key=value`` in the message;
* ``call()`` of an unknown function is a :class:`~fijax.errors.NotFoundError` naming the macro
  functions and the operations.

This module's name starts with ``_``, so :func:`fijax.bridge.commands.load_all` does not import it
as a command module.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from fijax import ops
from fijax.bridge.commands import (
    METHOD_WORDS,
    CommandCall,
    call_text,
    functions,
    get,
    is_scalar,
    parse_options,
    scalar_text,
    split_call,
)
from fijax.errors import InputError, NotFoundError
from fijax.io.image import Image
from fijax.ops import OpContext, Operation, OpResult


@dataclass
class CommandOutput:
    """What a command gives back to ImageJ, whichever transport carries it.

    Attributes
    ----------
    images : dict of str to Image
        Output images by title (the first titled ``output=`` when given).
    rows : list of dict
        Rows for the Results table: the operation's table, or one row of its scalar values.
    values : dict
        All values of the result (scalars and others).
    message : str
        The scalar values as ``key=value`` pairs (logged by the shim).
    files : dict
        Files the operation wrote (``OpResult.files``).
    """

    images: dict[str, Image] = field(default_factory=dict)
    rows: list[dict[str, Any]] = field(default_factory=list)
    values: dict[str, Any] = field(default_factory=dict)
    message: str = ""
    files: dict[str, Any] = field(default_factory=dict)


def output_title(output: str | None, name: str, index: int) -> str:
    """Title of the ``index``-th output image ``name`` of a command run with ``output=``."""
    if not output:
        return name
    return output if index == 0 else f"{output}-{name}"


def command_output(result: OpResult | None, output: str | None) -> CommandOutput:
    """Apply the title, rows-or-values and message rules to an operation's result."""
    if result is None:
        return CommandOutput()
    images = {}
    for i, (name, image) in enumerate(result.images.items()):
        title = output_title(output, name, i)
        images[title] = image.with_data(image.data, title=title)
    scalars = {k: v for k, v in result.values.items() if is_scalar(v)}
    rows = list(result.table) or ([scalars] if scalars else [])
    message = " ".join(f"{k}={scalar_text(v)}" for k, v in scalars.items())
    return CommandOutput(images, rows, dict(result.values), message, dict(result.files))


def run_command(label: str, raw_options: str, images: Mapping[str, Image],
                ctx: OpContext | None = None) -> CommandOutput:
    """Run the FiJAX command ``label`` with its macro options and input images.

    Parameters
    ----------
    label : str
        Command label, e.g. ``"FiJAX Gaussian"``.
    raw_options : str
        The macro options string as ImageJ passed it.
    images : mapping of str to Image
        Input images keyed by the command's image option keys.
    ctx : OpContext, optional
        Progress, cancellation and artifact folder.

    Raises
    ------
    NotFoundError
        Unknown command.
    InputError
        Bad options, an unknown image option or a missing input image.
    """
    cmd = get(label)
    opts, output = split_call(cmd, raw_options)
    unknown = [k for k in images if k not in cmd.inputs]
    if unknown:
        raise InputError(f"{label}: no image option {unknown[0]!r}; image options: {', '.join(cmd.inputs) or 'none'}")
    missing = [k for k in cmd.inputs if k not in images and k not in cmd.optional_inputs]
    if missing:
        raise InputError(f"{label}: missing input image(s) for option(s): {', '.join(k + '=' for k in missing)}")
    call = CommandCall(label=label, options=opts, images={cmd.inputs[k]: im for k, im in images.items()},
                       output=output, raw_options=raw_options, ctx=ctx or OpContext())
    return command_output(cmd.func(call), output)


#: ``images(operation, titles)`` -> the operation's input images, given ``{input name: title}``
#: from the call's options (titles are for the in-process transport; HTTP uploads the images).
ImageResolver = Callable[[Operation, dict[str, str]], dict[str, Image]]


def call_function(function: str, args: Sequence[str], images: ImageResolver,
                  ctx: OpContext | None = None) -> str:
    """Evaluate a macro ``call("fijax.ij.Bridge.call", function, args...)``.

    ``function`` names a :func:`~fijax.bridge.commands.macro_function` (called with ``args``) or
    an operation: ``args[0]`` is its options string (image inputs by title) and the optional
    ``args[1]`` picks one of its values (see :func:`~fijax.bridge.commands.call_text`).

    Raises
    ------
    NotFoundError
        ``function`` is neither a macro function nor an operation.
    """
    funcs = functions()
    if function in funcs:
        return scalar_text(funcs[function](*args))
    try:
        operation = ops.get(function)
    except NotFoundError:
        raise NotFoundError(f"unknown function {function!r} for call(); known: {', '.join(sorted(funcs))} and the "
                            f"operations {', '.join(sorted(ops.load_all()))}") from None
    parsed = parse_options(args[0] if args else "")
    # an optional input given as a method word (baseline=puredenoise) stays an option, not an image title
    titles = {name: parsed.pop(name) for name in operation.inputs + operation.optional_inputs if name in parsed
              and not (name in operation.optional_inputs and parsed[name].strip().lower() in METHOD_WORDS)}
    result = operation(images(operation, titles), parsed, ctx)
    return call_text(function, result.values, args[1] if len(args) > 1 else None)
