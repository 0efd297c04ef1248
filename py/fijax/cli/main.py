"""Entry point of the ``fijax`` command.

Every module in :mod:`fijax.cli` (except this one) that defines ``register(subparsers)``
adds its commands; a module's ``register`` sets ``func`` on its parser via
``parser.set_defaults(func=...)``. ``func(args) -> int`` returns the exit code.

Exit codes: 0 success, 1 internal failure, 2 bad input (:class:`fijax.errors.InputError`)
or a failing macro.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import pkgutil
import sys

import fijax.cli as cli_pkg
from fijax import __version__
from fijax.errors import FijaxError, InputError, MacroError


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser from every command module."""
    parser = argparse.ArgumentParser(prog="fijax", description=__doc__.split("\n")[0])
    parser.add_argument("--version", action="version", version=f"fijax {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for info in sorted(pkgutil.iter_modules(cli_pkg.__path__), key=lambda i: i.name):
        if info.name in ("main",) or info.name.startswith("_"):
            continue
        module = importlib.import_module(f"fijax.cli.{info.name}")
        if hasattr(module, "register"):
            module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the CLI and return its exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except (InputError, MacroError) as exc:
        print(f"fijax {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except FijaxError as exc:
        print(f"fijax {args.command}: failed: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
