"""``fijax setup``: resolve the jars of ``jars.txt`` from Maven Central and build the shim jar."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("setup", help="download the jars (Maven Central) and build the shim jar",
                       description=__doc__)
    p.add_argument("--force", action="store_true", help="rebuild the shim jar even when cached")
    p.add_argument("--check", action="store_true",
                   help="also start the JVM and run a one-line macro to prove ImageJ works headless")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
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
    return 0
