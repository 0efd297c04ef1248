"""``fijax setup``: resolve the jars of ``jars.txt`` from Maven Central and build the shim jar.

``--warm`` also fills the persistent compilation cache (``$FIJAX_HOME/jax-cache``) for common
image shapes, so that the first ``fijax puredenoise`` / ``fijax qc`` / macro call of those shapes
loads its compiled kernels instead of compiling them; ``--warm-only`` skips the jars.
"""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("setup", help="download the jars (Maven Central) and build the shim jar",
                       description=__doc__)
    p.add_argument("--force", action="store_true", help="rebuild the shim jar even when cached")
    p.add_argument("--check", action="store_true",
                   help="also start the JVM and run a one-line macro to prove ImageJ works headless")
    p.add_argument("--warm", action="store_true",
                   help="also compile the everyday kernels (PURE-LET, QC) for common shapes into the cache")
    p.add_argument("--warm-only", action="store_true", help="only fill the compilation cache (no jars)")
    p.add_argument("--warm-shape", action="append", default=[], metavar="N|ROWSxCOLS",
                   help="shape to warm (repeatable; default 256, 512 and 1024 squares)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.warm or args.warm_only or args.warm_shape:
        from fijax.ops._warm import DEFAULT_SHAPES, parse_shape

        shapes = [parse_shape(s) for s in args.warm_shape] or list(DEFAULT_SHAPES)
    if not args.warm_only:
        _jars(args)
    if args.warm or args.warm_only or args.warm_shape:
        from fijax import compile_cache
        from fijax.ops._warm import warm

        folder = compile_cache.enable()
        if folder is None:
            print("setup: the compilation cache is off (FIJAX_COMPILE_CACHE) or unusable; nothing to warm")
            return 1
        warm(shapes, report=print)
        print(f"setup: compilation cache {folder} ({len(compile_cache.entries(folder))} entries)")
    return 0


def _jars(args: argparse.Namespace) -> None:
    from fijax.bridge import jars, shim

    coords = jars.read_jars_txt()
    print(f"setup: resolving {len(coords)} coordinate(s) from Maven Central: {', '.join(coords)}")
    classpath = jars.resolve(coords)
    for p in classpath:
        print(f"  {p.name}")
    jar = shim.build_shim(classpath, force=args.force)
    print(f"setup: shim jar {jar}")
    print(f"setup: cache {jars.jar_cache_dir()}")
    if args.check:
        from fijax.bridge import imagej

        res = imagej().run_macro('newImage("x", "32-bit ramp", 64, 64, 1);\n'
                                 'run("Gaussian Blur...", "sigma=2");\nrun("FiJAX Info");\nreturn "ok";')
        print(f"setup: ImageJ {res.results[0].get('imagej')} headless check: {res.value}")
