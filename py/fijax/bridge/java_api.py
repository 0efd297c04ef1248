"""Python side of the Java API ``fijax.ij.FiJAX``: a JPype proxy of ``fijax.ij.OpRunner``.

Java code in the JVM fijax started (a Groovy script, a plugin, a mixed Java/Python pipeline) calls::

    FiJAX.Result r = FiJAX.run("puredenoise", imp, Map.of("cycle_spins", 2));

On first use ``FiJAX`` asks the installed transport to run the macro function
``fijax.java_api.install`` (see :mod:`fijax.bridge.commands.java_api`), which installs
:class:`PythonOpRunner` with ``FiJAX.setRunner``. Every call then reaches the operation of
:mod:`fijax.ops` directly: Java option values become Python values, ImagePlus inputs become
:class:`fijax.io.Image`, and the :class:`fijax.ops.OpResult` becomes a ``FiJAX.Result``.
"""

from __future__ import annotations

import logging
import traceback
from pathlib import Path
from typing import Any

from jpype import JImplements, JOverride

from fijax import ops
from fijax.bridge.convert import from_imageplus, to_imageplus
from fijax.errors import InputError
from fijax.ops import OpContext

log = logging.getLogger(__name__)


def to_python(value: Any) -> Any:
    """Convert a Java option value (String, Number, Boolean, List, Map, null) to a Python value."""
    import jpype

    if value is None:
        return None
    if isinstance(value, str | bool | int | float):
        return value
    if isinstance(value, jpype.JString):
        return str(value)
    name = str(value.getClass().getName()) if hasattr(value, "getClass") else ""
    if name == "java.lang.Boolean":
        return bool(value.booleanValue())
    if name in ("java.lang.Integer", "java.lang.Long", "java.lang.Short", "java.lang.Byte",
                "java.math.BigInteger"):
        return int(value.longValue())
    if name in ("java.lang.Double", "java.lang.Float", "java.math.BigDecimal"):
        return float(value.doubleValue())
    if name == "java.lang.String" or name.endswith("GString"):  # Groovy "${x}" strings
        return str(value.toString())
    if isinstance(value, jpype.JArray) or name.startswith("["):
        return [to_python(v) for v in value]
    Map = jpype.JClass("java.util.Map")
    Collection = jpype.JClass("java.util.Collection")
    if isinstance(value, Map):
        return {str(k): to_python(value.get(k)) for k in value.keySet()}
    if isinstance(value, Collection):
        return [to_python(v) for v in value]
    Number = jpype.JClass("java.lang.Number")
    if isinstance(value, Number):
        return float(value.doubleValue())
    return str(value.toString())


def to_java_result(result) -> Any:
    """Build a ``fijax.ij.FiJAX.Result`` from a :class:`fijax.ops.OpResult`."""
    import jpype

    Result = jpype.JClass("fijax.ij.FiJAX$Result")
    HashMap = jpype.JClass("java.util.LinkedHashMap")
    out = Result()
    for title, image in result.images.items():
        out.addImage(str(title), to_imageplus(image.with_data(image.data, title=str(title))))
    rows = list(result.table)
    scalars = {k: v for k, v in result.values.items() if _scalar(v) is not None}
    if not rows and scalars:
        rows = [scalars]
    for row in rows:
        jrow = HashMap()
        for key, value in row.items():
            v = _scalar(value)
            if v is None:
                continue
            # Booleans become 0/1 like ImageJ's Results table stores them.
            jrow.put(str(key), jpype.JDouble(float(v)) if isinstance(v, int | float) else jpype.JString(str(v)))
        out.addRow(jrow)
    for key, value in result.values.items():
        v = _scalar(value)
        if v is None:
            out.putValue(str(key), jpype.JString(str(value)))
        elif isinstance(v, bool):
            out.putValue(str(key), jpype.JBoolean(v))
        elif isinstance(v, int | float):
            out.putValue(str(key), jpype.JDouble(float(v)))
        else:
            out.putValue(str(key), jpype.JString(str(v)))
    for key, path in result.files.items():
        out.putFile(str(key), str(path))
    return out


def _scalar(value: Any) -> Any:
    if isinstance(value, str | bool | int | float):
        return value
    if hasattr(value, "item") and getattr(value, "shape", None) == ():
        return value.item()
    return None


@JImplements("fijax.ij.OpRunner", deferred=True)
class PythonOpRunner:
    """Runs operations of :mod:`fijax.ops` for ``fijax.ij.FiJAX`` in this Python process."""

    @JOverride
    def operations(self):
        import jpype

        return jpype.JArray(jpype.JString)(sorted(ops.load_all()))

    @JOverride
    def imageInputs(self, operation):  # noqa: N802 - Java interface method
        import jpype

        try:
            op = ops.get(str(operation))
        except Exception as exc:  # noqa: BLE001
            raise _java_error(exc) from None
        return jpype.JArray(jpype.JString)(list(op.inputs + op.optional_inputs))

    @JOverride
    def run(self, operation, images, options, out_dir):
        try:
            return self._run(str(operation), images, options, None if out_dir is None else str(out_dir))
        except Exception as exc:  # noqa: BLE001
            raise _java_error(exc) from None

    def _run(self, name: str, images, options, out_dir: str | None):
        op = ops.get(name)
        inputs = {}
        for key in images.keySet():
            imp = images.get(key)
            if imp is None:
                raise InputError(f"{name}: input {str(key)!r} is null")
            inputs[str(key)] = from_imageplus(imp)
        opts = {str(k): to_python(options.get(k)) for k in options.keySet()}
        ctx = OpContext(out_dir=Path(out_dir) if out_dir else None)
        if ctx.out_dir is not None:
            ctx.out_dir.mkdir(parents=True, exist_ok=True)
        return to_java_result(op(inputs, opts, ctx))


def _java_error(exc: BaseException):
    import jpype

    log.debug("FiJAX Java API call failed:\n%s", "".join(traceback.format_exception(exc)))
    if isinstance(exc, InputError):
        return jpype.JClass("java.lang.IllegalArgumentException")(str(exc))
    return jpype.JClass("java.lang.RuntimeException")(f"{type(exc).__name__}: {exc}")


_runner: PythonOpRunner | None = None


def install() -> str:
    """Install the runner into ``fijax.ij.FiJAX`` (idempotent); returns ``"ok"``."""
    global _runner
    import jpype

    if _runner is None:
        _runner = PythonOpRunner()
    jpype.JClass("fijax.ij.FiJAX").setRunner(_runner)
    return "ok"
