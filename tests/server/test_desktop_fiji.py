"""The desktop-Fiji client: a separate plain ``java`` process (ImageJ 1.x headless + the shim jar, no
Python) runs a macro whose FiJAX commands go to the live server over HTTP.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from fijax import ops
from fijax.io import read_tiff

HERE = Path(__file__).resolve().parent

# One macro for both worlds: in the server's embedded ImageJ, connect() answers "in-process".
MACRO = """
r = call("fijax.ij.HttpTransport.connect");
print("transport: " + r);
newImage("cells", "32-bit ramp", 40, 30, 1);
run("Add Specified Noise...", "standard=0.1");
run("Properties...", "unit=micron pixel_width=0.25 pixel_height=0.25 voxel_depth=1");
saveAs("Tiff", "{out}/cells.tif");
rename("cells");
run("FiJAX Gaussian", "sigma=1.5 output=blurred");
selectImage("blurred");
getPixelSize(unit, pw, ph);
print("calibration: " + unit + " " + pw);
saveAs("Tiff", "{out}/blurred.tif");
mse = call("fijax.ij.Bridge.call", "test_pair_mse", "prediction=cells target=blurred.tif", "mse");
print("mse: " + mse);
print("version: " + call("fijax.ij.Bridge.call", "version"));
"""


@pytest.fixture(scope="module")
def fiji(tmp_path_factory):
    """Classpath of a plain ImageJ 1.x JVM with ij1-patcher and the shim jar, plus the harness class."""
    if shutil.which("java") is None or shutil.which("javac") is None:
        pytest.skip("needs a JDK (java and javac)")
    from fijax.bridge.jars import resolve
    from fijax.bridge.shim import build_shim

    try:
        classpath = resolve()
        shim = build_shim(classpath)
    except Exception as exc:  # noqa: BLE001 - no jars offline: skip with the reason
        pytest.skip(f"cannot resolve ImageJ jars or build the shim: {exc}")
    wanted = ("ij-", "ij1-patcher-", "javassist-")
    jars = [str(p) for p in classpath if p.name.startswith(wanted)] + [str(shim)]
    classes = tmp_path_factory.mktemp("harness")
    subprocess.run(["javac", "--release", "8", "-Xlint:-options", "-cp", os.pathsep.join(jars), "-d", str(classes),
                    str(HERE / "java" / "HeadlessFiji.java")], check=True, capture_output=True)
    return os.pathsep.join([*jars, str(classes)])


ERROR_MACRO = ('call("fijax.ij.HttpTransport.connect");\nnewImage("x", "8-bit ramp", 8, 8, 1);\n'
               'run("FiJAX Gaussian", "sigma=-1");\nprint("not reached");\n')


def _run_fiji(classpath: str, macros: list[str], folder: Path, server) -> list[str]:
    """Run the macros in one plain-ImageJ JVM; return each macro's output (stdout and stderr)."""
    paths = []
    for i, macro in enumerate(macros):
        paths.append(folder / f"macro{i}.ijm")
        paths[-1].write_text(macro)
    env = dict(os.environ, FIJAX_URL=server.url, FIJAX_TOKEN=server.token)
    proc = subprocess.run(["java", "-Djava.awt.headless=true", "--add-opens=java.base/java.lang=ALL-UNNAMED",
                           "-cp", classpath, "HeadlessFiji", *map(str, paths)], env=env, capture_output=True,
                          text=True, timeout=180)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    parts = proc.stdout.split("=== macro ")[1:]
    assert len(parts) == len(macros), proc.stdout
    return parts


@pytest.fixture(scope="module")
def desktop_run(fiji, server, tmp_path_factory):
    """One JVM: the shared macro, a macro the server refuses, a connection with a wrong token."""
    folder = tmp_path_factory.mktemp("desktop")
    wrong = f'r = call("fijax.ij.HttpTransport.connect", "{server.url}", "{"0" * 48}");\nprint("connected: " + r);\n'
    outputs = _run_fiji(fiji, [MACRO.replace("{out}", str(folder)), ERROR_MACRO, wrong], folder, server)
    return folder, outputs


def test_macro_in_a_plain_fiji_uses_the_server(desktop_run, server):
    folder, outputs = desktop_run
    out = outputs[0]
    assert f"transport: connected to {server.url}" in out
    cells, blurred = read_tiff(folder / "cells.tif"), read_tiff(folder / "blurred.tif")
    expected = next(iter(ops.get("gaussian")({"image": cells}, {"sigma": 1.5}).images.values()))
    np.testing.assert_allclose(blurred.data, expected.data, rtol=1e-5, atol=1e-5)
    assert "calibration: micron" in out and blurred.pixel_size[1:] == pytest.approx((0.25, 0.25))
    mse = float(out.split("mse: ")[1].split()[0])
    assert mse == pytest.approx(float(np.mean((cells.data.astype(np.float64) - blurred.data) ** 2)), rel=1e-4)
    assert "version: 0.1.0" in out


def test_server_errors_become_macro_errors(desktop_run):
    out = desktop_run[1][1]
    assert "not reached" not in out
    assert "sigma" in out and "greater than 0" in out  # the server's validation message reaches the macro


def test_wrong_token_is_refused(desktop_run):
    out = desktop_run[1][2]
    assert "connected: connected" not in out and "token" in out


@pytest.mark.slow
@pytest.mark.jvm
def test_same_macro_in_the_servers_embedded_imagej(fiji, server, client, tmp_path):
    """The unchanged macro through POST /macro: the worker's ImageJ runs FiJAX commands in-process."""
    desktop, embedded = tmp_path / "desktop", tmp_path / "embedded"
    desktop.mkdir()
    embedded.mkdir()
    _run_fiji(fiji, [MACRO.replace("{out}", str(desktop))], desktop, server)
    res = client.macro(MACRO.replace("{out}", str(embedded)), timeout=300)
    assert "transport: in-process" in res.log and "version: 0.1.0" in res.log
    a, b = read_tiff(desktop / "blurred.tif"), read_tiff(embedded / "blurred.tif")
    c_a, c_b = read_tiff(desktop / "cells.tif"), read_tiff(embedded / "cells.tif")
    # Same command on each side's own noisy input: compare each to the operation on that input.
    for cells, blurred in ((c_a, a), (c_b, b)):
        expected = next(iter(ops.get("gaussian")({"image": cells}, {"sigma": 1.5}).images.values()))
        np.testing.assert_allclose(blurred.data, expected.data, rtol=1e-5, atol=1e-5)
    assert a.pixel_size == b.pixel_size and a.unit == b.unit
    assert "blurred.tif" in res.images or "blurred" in {im.title for im in res.images.values()}
