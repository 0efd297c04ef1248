"""``fijax --help``, ``fijax info --no-jvm`` and every command's ``--help`` import no heavy library."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

HEAVY = ("jax", "jaxlib", "jpype", "dask", "distributed", "fastapi", "flax", "optax", "matplotlib", "scipy",
         "skimage")

CHILD = f"HEAVY = {HEAVY!r}\n" + """
import contextlib, io, json, sys
from fijax.cli.main import main
with contextlib.redirect_stdout(io.StringIO()):
    try:
        main(sys.argv[1:])
    except SystemExit:
        pass
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in HEAVY)))
"""


def _heavy_after(*argv: str, tmp_path) -> list[str]:
    proc = subprocess.run([sys.executable, "-c", CHILD, *argv], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "FIJAX_HOME": str(tmp_path / "home")})
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("argv", [("--help",), ("info", "--no-jvm"), ("puredenoise", "--help"), ("qc", "--help"),
                                  ("serve", "--help"), ("batch", "--help"), ("macro", "--help"),
                                  ("setup", "--help")])
def test_light_commands_import_no_heavy_library(argv, tmp_path):
    assert _heavy_after(*argv, tmp_path=tmp_path) == []
