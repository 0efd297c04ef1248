"""``fijax serve``: the headless HTTP server (one long-lived process, JVM and JAX in a supervised worker)."""

from __future__ import annotations

import argparse
import os
import socket
import sys

from fijax.errors import InputError


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``serve`` command."""
    p = subparsers.add_parser(
        "serve", help="run the HTTP server (operations, macros, jobs, models)",
        description="Serve the operations, ImageJ macros, jobs and models over HTTP on localhost. A random "
                    "token is created at every start, printed and written to the token file; every request "
                    "except GET /health must send 'Authorization: token <token>'. Macros can run shell "
                    "commands: anyone holding the token can run code as this user (see --no-macros).")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8765, help="port (default 8765; 0 picks a free one)")
    p.add_argument("--token-file", help="write the token (and URL) here, owner-only (default "
                                        "$FIJAX_HOME/server.token)")
    p.add_argument("--allow-remote", action="store_true",
                   help="allow binding a non-loopback address (the token then crosses the network in clear)")
    p.add_argument("--allow-host", action="append", default=[], metavar="NAME",
                   help="accept this Host header besides localhost names ('*' accepts any); repeatable")
    p.add_argument("--cors-origin", action="append", default=[], metavar="ORIGIN",
                   help="allow browser requests from this origin (no CORS unless given); repeatable")
    p.add_argument("--no-macros", action="store_true", help="refuse macro execution (POST /macro)")
    p.add_argument("--preload-imagej", action="store_true",
                   help="start ImageJ (the JVM) with each worker instead of at the first macro")
    p.add_argument("--no-warm", action="store_true",
                   help="do not load the everyday kernels (PURE-LET, QC) from the compilation cache at start")
    p.add_argument("--warm-shape", action="append", default=[], metavar="N|ROWSxCOLS",
                   help="compile (or load) the kernels for this image shape at start (repeatable)")
    p.add_argument("--workers", type=int, default=1, help="worker processes, each with its own JVM (default 1)")
    p.add_argument("--timeout", type=float, default=600.0,
                   help="soft timeout in seconds of operations and macros (default 600)")
    p.add_argument("--job-timeout", type=float, default=0.0,
                   help="soft timeout of long-running jobs such as training (default 0: none)")
    p.add_argument("--kill-grace", type=float, default=10.0,
                   help="seconds after the soft timeout before the worker is killed and restarted (default 10)")
    p.add_argument("--max-upload-mb", type=float, default=512.0, help="largest request body in MiB (default 512)")
    p.add_argument("--max-pixels", type=int, default=1 << 28, help="largest image in pixels (default 2^28)")
    p.add_argument("--max-decoded-mb", type=float, default=None,
                   help="largest decoded pixel data per request in MiB, checked from the TIFF headers before "
                        "decoding (default 1024, and compressed images over 256 MiB that decode to more than "
                        "200x their size are refused)")
    p.add_argument("--outputs", metavar="DIR",
                   help="folder where requests may write files they name (an 'out' option); without it, "
                        "server-side writes stay inside each job's artifacts folder")
    p.add_argument("--ops-module", action="append", default=[], metavar="MODULE",
                   help="import this module to register extra operations (also $FIJAX_EXTRA_OPS, comma-separated)")
    p.set_defaults(func=run)


def build_config(args: argparse.Namespace):
    """Turn parsed arguments into a :class:`fijax.server.app.ServerConfig` (validating them)."""
    from fijax.server.app import ServerConfig
    from fijax.server.security import is_loopback

    if not is_loopback(args.host.strip("[]")) and not args.allow_remote:
        raise InputError(f"refusing to bind {args.host!r}, which is not a loopback address: pass --allow-remote "
                         "to serve the network (and put TLS in front)")
    if not 0 <= args.port <= 65535:
        raise InputError(f"--port must be 0-65535, got {args.port}")
    for name, value in (("--workers", args.workers), ("--timeout", args.timeout), ("--max-upload-mb", args.max_upload_mb),
                        ("--max-pixels", args.max_pixels)):
        if value <= 0:
            raise InputError(f"{name} must be positive, got {value}")
    if args.max_decoded_mb is not None and not (0 < args.max_decoded_mb < 1 << 40):
        raise InputError(f"--max-decoded-mb must be a positive number of MiB, got {args.max_decoded_mb}")
    outputs = None
    if args.outputs:
        from pathlib import Path

        outputs = Path(args.outputs).expanduser().resolve()
        if not outputs.is_dir():
            raise InputError(f"--outputs {args.outputs}: not an existing folder")
    if args.kill_grace < 0 or args.job_timeout < 0:
        raise InputError("--kill-grace and --job-timeout must not be negative")
    from fijax.ops._warm import parse_shape

    extra = [m for m in os.environ.get("FIJAX_EXTRA_OPS", "").split(",") if m.strip()] + list(args.ops_module)
    hosts = list(args.allow_host)
    if not is_loopback(args.host.strip("[]")) and args.host not in ("0.0.0.0", "::"):
        hosts.append(args.host)
    return ServerConfig(host=args.host, port=args.port, allowed_hosts=tuple(hosts),
                        cors_origins=tuple(args.cors_origin), max_upload_bytes=int(args.max_upload_mb * (1 << 20)),
                        max_pixels=int(args.max_pixels), allow_macros=not args.no_macros, workers=args.workers,
                        max_decoded_bytes=(int(args.max_decoded_mb * (1 << 20)) if args.max_decoded_mb else None),
                        outputs=outputs,
                        timeout=args.timeout, job_timeout=args.job_timeout or None, kill_grace=args.kill_grace,
                        extra_op_modules=tuple(m.strip() for m in extra), preload_imagej=args.preload_imagej,
                        warm=not args.no_warm, warm_shapes=tuple(parse_shape(s) for s in args.warm_shape))


def run(args: argparse.Namespace) -> int:
    """Bind the socket, write the token file, build the app and serve until interrupted."""
    import uvicorn

    from fijax.paths import fijax_home
    from fijax.server.app import create_app
    from fijax.server.security import is_loopback, write_token_file

    config = build_config(args)
    family = socket.AF_INET6 if ":" in config.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((config.host.strip("[]"), config.port))
    except OSError as exc:
        raise InputError(f"cannot bind {config.host}:{config.port}: {exc}") from exc
    config.port = sock.getsockname()[1]
    token_path = args.token_file or fijax_home() / "server.token"
    try:  # before the app starts: an unwritable token file is bad input, not a traceback
        token_file = write_token_file(token_path, config.token, config.url)
    except OSError as exc:
        sock.close()
        raise InputError(f"cannot write the token file {token_path}: {exc.strerror or exc}") from None
    app = create_app(config)
    if not is_loopback(config.host.strip("[]")):
        print(f"WARNING: serving {config.url} beyond this machine without TLS: the token and every image travel "
              "in clear text, so anyone on the network path can read them and reuse the token. Put a TLS "
              "reverse proxy in front (see docs/server.md).", file=sys.stderr, flush=True)
    print(f"fijax server: {config.url}\ntoken: {config.token}\ntoken file: {token_file}\n"
          f"browser: open {config.url}/ and log in with the token\n"
          f"macros: {'enabled (privileged: macros can run shell commands)' if config.allow_macros else 'disabled'}",
          flush=True)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False, timeout_graceful_shutdown=5))
    server.run(sockets=[sock])
    print("fijax server stopped", file=sys.stderr)
    return 0
