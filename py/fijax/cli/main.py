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
import os
import pkgutil
import sys
import traceback

import fijax.cli as cli_pkg
from fijax import __version__, compile_cache
from fijax.errors import FijaxError, InputError, MacroError


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser from every command module."""
    parser = argparse.ArgumentParser(prog="fijax", description=__doc__.split("\n")[0])
    parser.add_argument("--version", action="version", version=f"fijax {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    parser.add_argument("--max-decoded-mb", type=float, default=None, metavar="MIB",
                        help="largest decoded image in MiB, checked from the TIFF header before decoding (default "
                             "$FIJAX_MAX_DECODED_MB or 16384; without it, images over 256 MiB compressed more than "
                             "200x are refused as decompression bombs)")
    sub = parser.add_subparsers(dest="fijax_command", metavar="COMMAND")
    for info in sorted(pkgutil.iter_modules(cli_pkg.__path__), key=lambda i: i.name):
        if info.name in ("main",) or info.name.startswith("_"):
            continue
        module = importlib.import_module(f"fijax.cli.{info.name}")
        if hasattr(module, "register"):
            module.register(sub)
    from fijax.cli._output import JSON_COMMANDS, add_json_flag

    for name, child in sub.choices.items():
        add_json_flag(child, json_flag=name in JSON_COMMANDS)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the CLI and return its exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    if args.max_decoded_mb is not None:
        if not 0 < args.max_decoded_mb < 1 << 40:
            print(f"fijax: error: --max-decoded-mb must be a positive number of MiB, got {args.max_decoded_mb:g}",
                  file=sys.stderr)
            return 2
        # an environment variable, so Dask workers and subprocesses apply the same limit
        os.environ["FIJAX_MAX_DECODED_MB"] = repr(float(args.max_decoded_mb))
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    command = args.fijax_command  # (a command's own positional may be named 'command', e.g. batch)
    # compiled kernels persist across commands (cheap: JAX reads the setting when a command imports it)
    compile_cache.enable()
    try:
        return int(args.func(args) or 0)
    except (InputError, MacroError) as exc:
        print(f"fijax {command}: error: {exc}", file=sys.stderr)
        return 2
    except FijaxError as exc:
        print(f"fijax {command}: failed: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except MemoryError:
        print(f"fijax {command}: error: out of memory; use smaller images (or tiles), or lower "
              "--max-decoded-mb to refuse such inputs before decoding them", file=sys.stderr)
        return 1
    except Exception as exc:  # noqa: BLE001 - one clear line instead of a traceback (-v shows it)
        if args.verbose:
            traceback.print_exc()
        if isinstance(exc, OSError) and exc.filename is not None:
            print(f"fijax {command}: error: {exc.filename}: {exc.strerror or exc}", file=sys.stderr)
            return 2
        print(f"fijax {command}: internal error: {type(exc).__name__}: {exc} (run 'fijax -v {command} "
              "...' for the traceback)", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
