"""The in-process ``fijax.ij.Transport``: a JPype proxy through which the shim reaches Python."""

from __future__ import annotations

import logging
import traceback
from typing import Any

from jpype import JImplements, JOverride

from fijax import ops
from fijax.bridge import commands
from fijax.bridge.convert import from_imageplus, to_imageplus
from fijax.errors import InputError
from fijax.ops import OpResult

log = logging.getLogger(__name__)


@JImplements("fijax.ij.Transport", deferred=True)
class PythonTransport:
    """Runs FiJAX commands and macro ``call()`` functions in this Python process.

    The last Python exception is kept in :attr:`last_exception` so the backend can chain it to
    the :class:`fijax.errors.MacroError` it raises.
    """

    def __init__(self) -> None:
        self.last_exception: BaseException | None = None

    # -- Transport -----------------------------------------------------------------------------
    @JOverride
    def imageInputs(self, command):  # noqa: N802 - Java interface method
        import jpype

        try:
            keys = list(commands.get(str(command)).inputs)
        except Exception as exc:  # noqa: BLE001
            raise self._java_error(exc) from None
        return jpype.JArray(jpype.JString)(keys)

    @JOverride
    def run(self, command, options, inputs):
        try:
            return self._run(str(command), str(options), inputs)
        except Exception as exc:  # noqa: BLE001
            raise self._java_error(exc) from None

    @JOverride
    def call(self, function, args):
        try:
            return self._call(str(function), [str(a) for a in args])
        except Exception as exc:  # noqa: BLE001
            raise self._java_error(exc) from None

    # -- implementation ------------------------------------------------------------------------
    def _run(self, label: str, options: str, inputs) -> Any:

        cmd = commands.get(label)
        opts, output = commands.split_call(cmd, options)
        images = {}
        for key in inputs.keySet():
            key = str(key)
            imp = inputs.get(key)
            images[cmd.inputs.get(key, key)] = from_imageplus(imp)
        missing = [k for k in list(cmd.inputs)[1:] if cmd.inputs[k] not in images and k not in cmd.optional_inputs]
        if missing:
            raise InputError(f"missing required option(s): {', '.join(k + '=' for k in missing)}")
        call = commands.CommandCall(label=label, options=opts, images=images, output=output, raw_options=options)
        result = cmd.func(call)
        return self.to_java_result(result, output, images)

    @staticmethod
    def to_java_result(result: OpResult | None, output: str | None, inputs: dict) -> Any:
        import jpype

        CommandResult = jpype.JClass("fijax.ij.CommandResult")
        HashMap = jpype.JClass("java.util.LinkedHashMap")
        out = CommandResult()
        if result is None:
            return out
        for i, (name, image) in enumerate(result.images.items()):
            title = output if (i == 0 and output) else (f"{output}-{name}" if output else name)
            out.addImage(title, to_imageplus(image.with_data(image.data, title=title)))
        rows = list(result.table)
        values = {k: v for k, v in result.values.items() if commands.is_scalar(v)}
        if not rows and values:
            rows = [values]
        for row in rows:
            jrow = HashMap()
            for key, value in row.items():
                if isinstance(value, bool):
                    value = float(value)
                if hasattr(value, "item") and not isinstance(value, str):
                    value = value.item()
                jrow.put(str(key), jpype.JDouble(value) if isinstance(value, int | float) else str(value))
            out.addRow(jrow)
        if values:
            out.message = " ".join(f"{k}={commands.scalar_text(v)}" for k, v in values.items())
        return out

    def _call(self, function: str, args: list[str]) -> str:
        funcs = commands.functions()
        if function in funcs:
            return commands.scalar_text(funcs[function](*args))
        try:
            operation = ops.get(function)
        except InputError:
            raise InputError(f"unknown function {function!r} for call(); known: "
                             f"{', '.join(sorted(funcs))} and the operations {', '.join(sorted(ops.load_all()))}"
                             ) from None
        parsed = commands.parse_options(args[0] if args else "")
        images = {}
        for name in operation.inputs + operation.optional_inputs:
            if name in parsed:
                images[name] = image_by_title(parsed.pop(name))
        if operation.inputs and not images:
            images[operation.inputs[0]] = active_image()
        result = operation(images, parsed)
        return commands.call_text(function, result.values, args[1] if len(args) > 1 else None)

    def _java_error(self, exc: BaseException):
        import jpype

        self.last_exception = exc
        log.debug("FiJAX command failed:\n%s", "".join(traceback.format_exception(exc)))
        if isinstance(exc, InputError):
            msg = str(exc)
            return jpype.JClass("java.lang.IllegalArgumentException")(msg)
        msg = f"{type(exc).__name__}: {exc}"
        return jpype.JClass("java.lang.RuntimeException")(msg)


def image_by_title(title: str):
    """Copy the open image titled ``title`` into an :class:`fijax.io.Image`."""
    import jpype

    imp = jpype.JClass("ij.WindowManager").getImage(title)
    if imp is None:
        raise InputError(f"no open image titled {title!r}")
    return from_imageplus(imp)


def active_image():
    import jpype

    imp = jpype.JClass("ij.WindowManager").getCurrentImage()
    if imp is None:
        raise InputError("there are no images open")
    return from_imageplus(imp)
