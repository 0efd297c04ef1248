"""Shared plumbing of the benchmarks that run CAREamics in its own interpreter (never a fijax dependency)."""

from __future__ import annotations

import argparse
import os


def add_peer_arguments(parser: argparse.ArgumentParser) -> None:
    """``--careamics-python`` and ``--peer-pythonpath`` (defaults from ``$CAREAMICS_PYTHON[PATH]``)."""
    parser.add_argument("--careamics-python", default=os.environ.get("CAREAMICS_PYTHON"),
                        help="interpreter of an environment with careamics (CPU torch)")
    parser.add_argument("--peer-pythonpath", default=os.environ.get("CAREAMICS_PYTHONPATH"),
                        help="PYTHONPATH for the CAREamics process only (e.g. a torchvision stub, see docs/engine.md)")


def peer_env(args: argparse.Namespace) -> dict:
    """Environment of the CAREamics process: ours, with its own PYTHONPATH when given."""
    env = dict(os.environ)
    if args.peer_pythonpath:
        env["PYTHONPATH"] = args.peer_pythonpath
    return env
