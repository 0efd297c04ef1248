"""The shim jar: a few Java classes that let ImageJ macros reach Python (see ``java/``).

``fijax setup`` (or the first start) compiles ``java/src/main/java`` with the system JDK's
``javac --release 8`` (so the jar also drops into a desktop Fiji) against the jars of
``jars.txt``, and caches the jar under ``<jar cache>/shim/`` keyed by a hash of the sources.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
import zipfile
from pathlib import Path

from fijax.bridge.jars import jar_cache_dir
from fijax.io.atomic import atomic_path
from fijax.paths import project_root


def java_source_dir() -> Path:
    """Return the shim's source folder: ``$FIJAX_JAVA_DIR`` or the checkout's ``java/``."""
    env = os.environ.get("FIJAX_JAVA_DIR")
    if env:
        return Path(env)
    root = project_root()
    if root is None or not (root / "java").is_dir():
        raise RuntimeError("cannot find the shim's Java sources (java/); set FIJAX_JAVA_DIR")
    return root / "java"


def _sources(src_dir: Path) -> list[Path]:
    files = [p for p in sorted((src_dir / "src" / "main").rglob("*")) if p.is_file()]
    if not any(p.suffix == ".java" for p in files):
        raise RuntimeError(f"no Java sources under {src_dir / 'src' / 'main'}")
    return files


def source_hash(src_dir: Path | None = None) -> str:
    """SHA-256 (first 16 hex digits) over the shim's source and resource files."""
    src_dir = src_dir or java_source_dir()
    h = hashlib.sha256()
    for p in _sources(src_dir):
        h.update(p.relative_to(src_dir).as_posix().encode() + b"\0" + p.read_bytes() + b"\0")
    return h.hexdigest()[:16]


def shim_jar_path(src_dir: Path | None = None) -> Path:
    """Where the jar for the current sources lives (it may not be built yet)."""
    return jar_cache_dir() / "shim" / f"fijax-shim-{source_hash(src_dir)}.jar"


def build_shim(classpath: list[Path], src_dir: Path | None = None, force: bool = False) -> Path:
    """Compile the shim against ``classpath`` unless a jar for these sources is cached.

    Raises
    ------
    RuntimeError
        When no ``javac`` is found or compilation fails (the message holds javac's output).
    """
    src_dir = src_dir or java_source_dir()
    target = shim_jar_path(src_dir)
    if target.is_file() and not force:
        return target
    javac = shutil.which("javac")
    if javac is None:
        java_home = os.environ.get("JAVA_HOME")
        cand = Path(java_home) / "bin" / "javac" if java_home else None
        if cand is None or not cand.is_file():
            raise RuntimeError("javac not found: install a JDK (Debian: openjdk-17-jdk-headless)")
        javac = str(cand)
    main = src_dir / "src" / "main"
    java_files = [str(p) for p in _sources(src_dir) if p.suffix == ".java"]
    with tempfile.TemporaryDirectory(prefix="fijax-shim-") as tmp:
        classes = Path(tmp) / "classes"
        classes.mkdir()
        cmd = [javac, "--release", "8", "-Xlint:-options", "-nowarn", "-encoding", "UTF-8",
               "-cp", os.pathsep.join(str(p) for p in classpath), "-d", str(classes), *java_files]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f"compiling the shim jar failed:\n{proc.stdout}{proc.stderr}")
        target.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(target, suffix=".jar") as part:
            with zipfile.ZipFile(part, "w", zipfile.ZIP_DEFLATED) as zf:
                zf.writestr("META-INF/MANIFEST.MF", "Manifest-Version: 1.0\nCreated-By: fijax\n")
                for p in sorted(classes.rglob("*.class")):
                    zf.write(p, p.relative_to(classes).as_posix())
                res = main / "resources"
                for p in sorted(res.rglob("*")) if res.is_dir() else []:
                    if p.is_file():
                        zf.write(p, p.relative_to(res).as_posix())
    return target
