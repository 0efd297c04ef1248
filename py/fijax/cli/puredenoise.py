"""``fijax puredenoise IN --out OUT``: PURE-LET denoising of a TIFF (thin adapter over the op)."""

from __future__ import annotations

import argparse

from fijax.cli._remote import add_server_option, connect


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``puredenoise`` command."""
    p = subparsers.add_parser("puredenoise", help="PURE-LET (PureDenoise) denoising of Poisson-Gaussian images",
                              description="Denoise a TIFF image or stack with PURE-LET (Luisier et al.). "
                                          "Noise parameters not given (--alpha, --delta, --sigma) are "
                                          "estimated from the image.")
    p.add_argument("input", metavar="IN", help="input TIFF (raw camera values)")
    p.add_argument("--out", required=True, help="output TIFF (float32)")
    p.add_argument("--cycle-spins", type=int, default=4, help="cycle spins, 1-10 (default 4)")
    p.add_argument("--frames", type=int, default=1, help="odd multi-frame window along T/Z, 1-11 (default 1)")
    p.add_argument("--alpha", type=float, help="detector gain (> 0)")
    p.add_argument("--delta", type=float, help="detector offset")
    p.add_argument("--sigma", type=float, help="std of the Gaussian noise (>= 0)")
    p.add_argument("--estimation", choices=("global", "individual"), default="global",
                   help="automatic estimation on the central frames (global) or per frame")
    p.add_argument("--seed", type=int, default=0, help="seed of the cycle-spin shifts")
    p.add_argument("--plugin-compat", action="store_true", help="use the plugin's regularised weight solve")
    add_server_option(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Read ``IN``, run the ``puredenoise`` operation, write ``--out`` atomically; print the parameters used."""
    from pathlib import Path

    from fijax.cli._outputs import check_not_input, check_writable, note_replaced
    from fijax.errors import InputError
    from fijax.io.microscopy import read_image, write_image

    if Path(args.input).is_dir():
        raise InputError(f"{args.input} is a folder; fijax puredenoise denoises one image. For every image of a "
                         f"folder: fijax batch puredenoise --in {args.input} --out OUT_DIR")
    check_not_input([args.out], [args.input])
    check_writable(args.out)
    note_replaced([args.out])
    image = read_image(args.input)
    options = {"cycle_spins": args.cycle_spins, "frames": args.frames, "alpha": args.alpha, "delta": args.delta,
               "sigma": args.sigma, "estimation": args.estimation, "seed": args.seed,
               "plugin_compat": args.plugin_compat}
    client = connect(args)
    if client is not None:
        with client:
            result = client.run("puredenoise", {"image": image}, options, artifacts=False)
    else:
        from fijax import ops

        result = ops.get("puredenoise")({"image": image}, options)
    (out,) = result.images.values()
    write_image(args.out, out)
    first = result.table[0] if result.table else {}
    from fijax.cli._output import emit, text_lines

    v = {"output": str(args.out), **result.values, **{k: first.get(k) for k in ("alpha", "delta", "sigma")}}
    emit(args, v, [f"wrote {args.out} (PURE-LET)", *text_lines(v, [k for k in v if k != "output"])])
    return 0
