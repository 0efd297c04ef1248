"""One output convention for every ``fijax`` command: readable text by default, ``--json`` for scripts.

``add_json_flag`` gives every leaf sub-command a ``--json`` flag (main does this after registering the
commands); a command prints its result with :func:`emit` -- one JSON object (or one per line for
``stream=True`` records) under ``--json``, else the text lines it passes, or a ``key: value`` listing.
"""

from __future__ import annotations

import argparse
import json
import math
import re
from collections.abc import Iterable, Mapping
from typing import Any

JSON_HELP = "print the result as JSON (one object) instead of text"


def plain(text: str | None) -> str | None:
    """Help text without reStructuredText markup (the docstrings' ``code``, :func:`x`, ``::`` blocks)."""
    if not text:
        return text
    text = re.sub(r":[a-z]+:`~?([^`]+)`", r"\1", text)
    text = text.replace("``", "").replace("::\n", ":\n")
    return text


#: Commands that print a result (text, or JSON with --json); the others print logs of what they do.
JSON_COMMANDS = {"train", "predict", "qc", "compare", "compare-denoisers", "export", "report", "puredenoise",
                 "models", "info", "sample"}


def add_json_flag(parser: argparse.ArgumentParser, json_flag: bool = True) -> None:
    """Strip reStructuredText markup from the help texts (many descriptions are module docstrings) and,
    with ``json_flag``, add ``--json`` to ``parser`` or, recursively, to its leaf sub-commands."""
    parser.description = plain(parser.description)
    parser.epilog = plain(parser.epilog)
    for action in parser._actions:
        action.help = plain(action.help)
    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if subs:
        for action in subs:
            for child in {id(p): p for p in action.choices.values()}.values():
                add_json_flag(child, json_flag)
        return
    if json_flag and not any("--json" in a.option_strings for a in parser._actions):
        parser.add_argument("--json", action="store_true", help=JSON_HELP)


def fmt(value: Any) -> str:
    """A value as a person reads it: 4 significant digits for floats, lists comma-separated."""
    if isinstance(value, bool) or value is None:
        return {True: "yes", False: "no", None: "-"}[value]
    if isinstance(value, float):
        return "nan" if math.isnan(value) else f"{value:.4g}"
    if isinstance(value, (list, tuple)):
        return ", ".join(fmt(v) for v in value)
    if isinstance(value, Mapping):
        return ", ".join(f"{k} {fmt(v)}" for k, v in value.items())
    return str(value)


def text_lines(values: Mapping[str, Any], keys: Iterable[str] | None = None) -> list[str]:
    """``key: value`` lines (aligned) for ``keys`` (default: all) of ``values``."""
    keys = [k for k in (keys if keys is not None else values) if k in values]
    width = max((len(k) for k in keys), default=0)
    return [f"  {k.replace('_', ' '):<{width}}  {fmt(values[k])}" for k in keys]


def emit(args: argparse.Namespace, data: Any, lines: Iterable[str] | None = None) -> None:
    """Print ``data`` as JSON when ``args.json``, else ``lines`` (or a ``key: value`` listing of ``data``)."""
    if getattr(args, "json", False):
        print(json.dumps(data, default=str), flush=True)
        return
    if lines is None:
        lines = text_lines(data) if isinstance(data, Mapping) else [fmt(data)]
    for line in lines:
        print(line, flush=True)
