"""Exceptions shared by every layer.

Faces (CLI, HTTP, macro commands) map :class:`InputError` to a user-facing message
(CLI exit code 2, HTTP 4xx, macro error) and anything else to an internal failure.
"""


class FijaxError(Exception):
    """Base class of all fijax errors."""


class InputError(FijaxError, ValueError):
    """Bad input from a user: wrong shape, dtype, NaN, unknown model, bad option, corrupt file."""


class NotFoundError(InputError, LookupError):
    """A named thing (model, version, job, file) does not exist."""


class MacroError(FijaxError):
    """An ImageJ macro failed; the message names the macro line and the cause."""

    def __init__(self, message: str, line: int | None = None):
        super().__init__(message)
        self.line = line


class CancelledError(FijaxError):
    """A long-running operation was cancelled through its context."""
