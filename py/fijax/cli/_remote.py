"""Opt-in use of a running ``fijax serve`` by the CLI (``--server``, ``$FIJAX_SERVER``).

A server keeps its kernels compiled and its JVM started, so a call through it pays neither the
imports nor the compilation of a fresh process. ``--server`` (or ``FIJAX_SERVER=auto``) uses the
server whose token file is ``$FIJAX_HOME/server.token``; ``--server PATH`` (or
``FIJAX_SERVER=PATH``) names another token file. When no server answers, the command says so on
stderr and runs in-process.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

_OFF = ("", "0", "off", "false", "no")


def add_server_option(parser: argparse.ArgumentParser) -> None:
    """Add ``--server [TOKEN_FILE]`` to a command."""
    parser.add_argument("--server", nargs="?", const="auto", default=None, metavar="TOKEN_FILE",
                        help="run through a running 'fijax serve' (its token file; default "
                             "$FIJAX_HOME/server.token; also $FIJAX_SERVER); in-process when none answers")


def connect(args: argparse.Namespace) -> Any | None:
    """Return a :class:`fijax.client.Client` of the chosen server, or ``None`` (run in-process)."""
    choice = getattr(args, "server", None) or os.environ.get("FIJAX_SERVER", "")
    if choice.strip().lower() in _OFF:
        return None
    import httpx

    from fijax.client import Client
    from fijax.errors import FijaxError

    path = None if choice.strip().lower() in ("auto", "1", "on", "true", "yes") else choice
    try:
        client = Client.from_token_file(path)
        client.health()
        return client
    except (FijaxError, OSError, httpx.HTTPError) as exc:
        print(f"fijax: no server answered ({exc}); running in this process", file=sys.stderr)
        return None
