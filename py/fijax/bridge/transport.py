"""The in-process ``fijax.ij.Transport``: a JPype proxy through which the shim reaches Python."""

from __future__ import annotations

import contextlib
import logging
import time
import traceback
from collections.abc import Callable
from typing import Any

from jpype import JImplements, JOverride

from fijax.bridge import commands
from fijax.bridge.commands._run import CommandOutput, call_function, run_command
from fijax.bridge.convert import from_imageplus, to_imageplus
from fijax.errors import InputError
from fijax.ops import OpContext

log = logging.getLogger(__name__)


#: Extra receivers of FiJAX commands' progress inside macros (the server's job events); see
#: :func:`progress_sink`.
_SINKS: list[Callable[[float, str], None]] = []


@contextlib.contextmanager
def progress_sink(sink: Callable[[float, str], None]):
    """While active, FiJAX commands run by macros also report ``sink(fraction, "Label: message")``
    (``fijax serve`` turns it into the macro job's progress events)."""
    _SINKS.append(sink)
    try:
        yield
    finally:
        _SINKS.remove(sink)


def imagej_progress(label: str, log_every: float = 5.0) -> Callable[[float, str], None]:
    """A ``progress(fraction, message)`` that shows a FiJAX command's progress in ImageJ.

    Every report moves ImageJ's progress bar and status line (``IJ.showProgress`` / ``IJ.showStatus``,
    as ImageJ's own commands do); the Log window gets a line at most every ``log_every`` seconds and at
    the end, so a long ``run("FiJAX Train", ...)`` shows where it is (headless: in the macro's log).
    """
    import jpype

    IJ = jpype.JClass("ij.IJ")
    last = [time.monotonic()]

    def progress(fraction: float, message: str) -> None:
        fraction = min(max(float(fraction), 0.0), 1.0)
        IJ.showProgress(fraction)
        IJ.showStatus(f"{label}: {message}")
        for sink in list(_SINKS):
            sink(fraction, f"{label}: {message}")
        now = time.monotonic()
        if now - last[0] >= log_every or fraction >= 1.0:
            last[0] = now
            IJ.log(f"{label}: {100 * fraction:.0f}% {message}")

    return progress


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
        images = {str(key): from_imageplus(inputs.get(key)) for key in inputs.keySet()}
        return self.to_java_result(run_command(label, options, images,
                                               OpContext(progress=imagej_progress(label))))

    @staticmethod
    def to_java_result(output: CommandOutput) -> Any:
        """Copy a :class:`~fijax.bridge.commands._run.CommandOutput` into a ``fijax.ij.CommandResult``."""
        import jpype

        CommandResult = jpype.JClass("fijax.ij.CommandResult")
        HashMap = jpype.JClass("java.util.LinkedHashMap")
        out = CommandResult()
        for title, image in output.images.items():
            out.addImage(title, to_imageplus(image))
        for row in output.rows:
            jrow = HashMap()
            for key, value in row.items():
                if isinstance(value, bool):
                    value = float(value)
                if hasattr(value, "item") and not isinstance(value, str):
                    value = value.item()
                jrow.put(str(key), jpype.JDouble(value) if isinstance(value, int | float) else str(value))
            out.addRow(jrow)
        if output.message:
            out.message = output.message
        return out

    def _call(self, function: str, args: list[str]) -> str:
        return call_function(function, args, _open_images)

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


def _open_images(operation, titles: dict[str, str]) -> dict:
    """Inputs of a ``call()``: images named by title, else the active image for the first input."""
    images = {name: image_by_title(title) for name, title in titles.items()}
    if operation.inputs and not images:
        images[operation.inputs[0]] = active_image()
    return images


def active_image():
    import jpype

    imp = jpype.JClass("ij.WindowManager").getCurrentImage()
    if imp is None:
        raise InputError("there are no images open")
    return from_imageplus(imp)
