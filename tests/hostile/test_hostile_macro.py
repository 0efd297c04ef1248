"""Macros that fail through ImageJ's ``IJ.error`` must fail the run (they printed and exited 0 before)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from fijax.errors import MacroError

pytestmark = pytest.mark.jvm


@pytest.mark.parametrize("code,needle", [
    ('open("/nonexistent/file.tif");\nprint("after");', "File not found"),
    ('newImage("a", "8-bit black", 8, 8, 1);\nsaveAs("Tiff", "/nonexistent/dir/x.tif");\nprint("after");',
     "nonexistent"),
])
def test_ij_error_fails_the_macro(ij, code, needle):
    with pytest.raises(MacroError) as info:
        ij.run_macro(code)
    assert needle in str(info.value)
    ij.close_all()


@pytest.mark.parametrize("code", ['print("ok");', 'print("ok"); exit("bye");', 'x = 1;'])
def test_normal_endings_still_succeed(ij, code):
    res = ij.run_macro(code)
    assert res is not None
    ij.close_all()


def test_error_does_not_leak_into_the_next_macro(ij):
    with pytest.raises(MacroError):
        ij.run_macro('open("/nonexistent/again.tif");')
    ij.run_macro('print("fine");')  # the previous IJ.error is not reported again


@pytest.mark.slow
def test_cli_macro_timeout(tmp_path):
    macro = tmp_path / "loop.ijm"
    macro.write_text("i = 0; while (true) { i++; }")
    proc = subprocess.run([sys.executable, "-m", "fijax", "macro", str(macro), "--out", str(tmp_path / "o"),
                           "--timeout", "3"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2 and "timed out" in proc.stderr and "Traceback" not in proc.stderr
