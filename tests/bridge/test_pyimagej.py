"""The PyImageJ backend against a local Fiji (FIJAX_FIJI_DIR); skipped without one.

It runs in a subprocess: a process holds one JVM, and the rest of the suite uses the ImageJ1 one.
"""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

FIJI = os.environ.get("FIJAX_FIJI_DIR")

pytestmark = [pytest.mark.jvm,
              pytest.mark.skipif(not FIJI or not Path(FIJI).is_dir(),
                                 reason="needs a Fiji installation (FIJAX_FIJI_DIR)")]

SCRIPT = textwrap.dedent("""
    import numpy as np
    from fijax.bridge import imagej
    from fijax.io import Image
    ij = imagej("pyimagej")
    img = Image(np.arange(12 * 10, dtype=np.float32).reshape(12, 10), pixel_size=(1, 0.5, 0.25), unit="micron")
    res = ij.run_macro('run("Gaussian Blur...", "sigma=2");\\nrun("FiJAX Gaussian", "sigma=2 output=fj");\\n'
                       'run("Measure");', inputs={"img": img})
    a, b = res.images["img"].data, res.images["fj"].data
    assert np.abs(a - b).max() < 1e-3, np.abs(a - b).max()
    assert res.images["img"].pixel_size == (1.0, 0.5, 0.25)
    assert len(res.results) == 1
    back = ij.from_imageplus(ij.to_imageplus(img))
    assert np.array_equal(back.data, img.data)
    try:
        ij.run_macro('x = 1;\\nrun("No Such Command");')
    except Exception as exc:
        assert "line 2" in str(exc), exc
    else:
        raise AssertionError("no error")
    print("PYIMAGEJ OK")
""")


def test_pyimagej_backend_same_interface():
    pytest.importorskip("imagej", reason="needs the pyimagej package")
    proc = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=600,
                          env=dict(os.environ))
    assert "PYIMAGEJ OK" in proc.stdout, proc.stderr[-3000:]
