"""``fijax script FILE.(groovy|js|bsh) [--input NAME=PATH ...] [--param KEY=VALUE ...] --out DIR``.

Runs a Groovy, JavaScript (Nashorn) or BeanShell script in the embedded headless ImageJ, with the
same inputs and outputs as ``fijax macro``: each ``--input`` TIFF opens as an image titled ``NAME``
(and is bound to the script variable ``NAME``); every image left open is saved as
``DIR/<title>.tif``, the Results table as ``DIR/results.csv``, printed output and the ImageJ log as
``DIR/log.txt``, and ``#@output`` values as ``DIR/outputs.json``. Scripts reach ImageJ's classes and
the Java API ``fijax.ij.FiJAX`` (``FiJAX.run("puredenoise", imp, [cycle_spins: 2])``).
``--param`` gives ``#@`` input parameters (and plain variables). A failing script exits with code 2
and a message naming the script line.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from fijax.cli.macro import parse_params
from fijax.errors import InputError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("script", help="run a Groovy/JavaScript/BeanShell script in headless ImageJ",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("file", help="script file (.groovy, .js, .bsh; .ijm runs as a macro)")
    p.add_argument("--input", "-i", action="append", default=[], metavar="NAME=PATH",
                   help="open the image file at PATH (TIFF, OME-TIFF, OME-Zarr, CZI, ND2, LIF) titled NAME (repeatable)")
    p.add_argument("--param", "-p", action="append", default=[], metavar="KEY=VALUE",
                   help="value of a #@ parameter or script variable (repeatable)")
    p.add_argument("--out", "-o", required=True, help="output folder")
    p.add_argument("--language", default=None, help="override the language told by the file extension")
    p.add_argument("--heap", default=None, help="maximum Java heap, e.g. 4g (default $FIJAX_JAVA_HEAP or 2g)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from fijax.bridge.scripts import language_of
    from fijax.cli.macro import parse_inputs, save_result
    from fijax.io import atomic_write_text
    from fijax.io.microscopy import read_image

    script = Path(args.file)
    if not script.is_file():
        raise InputError(f"script file not found: {script}")
    language = language_of(script, args.language)
    try:
        code = script.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"script file {script} is not UTF-8 text (byte {exc.start}: {exc.reason})") from None
    from fijax.cli._outputs import check_writable

    check_writable(args.out, folder=True)  # before the script runs: its outputs must not be lost afterwards
    params = parse_params(args.param)
    # Read every input before the JVM starts: bad files fail fast with a clear message.
    inputs = {name: read_image(path, title=name) for name, path in parse_inputs(args.input).items()}

    from fijax.bridge import imagej
    from fijax.bridge.scripts import run_script

    backend = imagej(heap=args.heap) if args.heap else imagej()
    result = run_script(backend, code, language, inputs=inputs, params=params, name=script.name)
    out = Path(args.out)
    save_result(result, out)
    atomic_write_text(out / "log.txt", result.log)
    return 0
