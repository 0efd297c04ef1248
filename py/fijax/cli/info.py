"""``fijax info``: versions of fijax, its libraries, the jars (Maven coordinates), ImageJ and Java."""

from __future__ import annotations

import argparse
import json


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("info", help="print versions (libraries, jars, ImageJ, Java)", description=__doc__)
    p.add_argument("--no-jvm", action="store_true", help="do not start the JVM (no ImageJ/Java versions)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=run)


def collect(start_jvm: bool = True) -> dict:
    """Return ``{"libraries": {...}, "jars": [...], "imagej": ..., "java": ...}``."""
    from fijax.bridge import jars
    from fijax.versions import library_versions

    facts: dict = {"libraries": library_versions(), "jars": jars.read_jars_txt()}
    if start_jvm:
        from fijax.bridge import imagej, jvm

        backend = imagej()
        facts.update(backend.versions())
        info = jvm.info()
        if info is not None:
            facts["classpath"] = [p.name for p in info.classpath]
            facts["shim_jar"] = str(info.shim_jar)
            facts["heap"] = info.heap
    return facts


def run(args: argparse.Namespace) -> int:
    facts = collect(start_jvm=not args.no_jvm)
    if args.json:
        print(json.dumps(facts, indent=2))
        return 0
    for name, version in facts["libraries"].items():
        print(f"{name:14s} {version}")
    for key in ("imagej", "java", "java_vendor", "backend", "heap"):
        if key in facts:
            print(f"{key:14s} {facts[key]}")
    print("jars (jars.txt):")
    for coord in facts["jars"]:
        print(f"  {coord}")
    if "classpath" in facts:
        print("resolved classpath:")
        for name in facts["classpath"]:
            print(f"  {name}")
        print(f"  {facts['shim_jar']}")
    return 0
