"""A whole process: a second start works offline, ImageJ's threads do not keep it alive, its exit
status survives the JVM shutdown."""

import os
import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.jvm

SCRIPT = textwrap.dedent("""
    import sys
    from fijax.bridge.backend import ImageJ1
    ij = ImageJ1(repositories={})  # no repository at all: an unreachable "central"
    res = ij.run_macro('newImage("x", "32-bit ramp", 64, 64, 1);\\n'
                       'run("Median...", "radius=2");\\nrun("Gaussian Blur...", "sigma=2");\\n'
                       'run("FiJAX Gaussian", "sigma=1 output=y");\\nreturn "" + nImages;')
    print("RESULT", res.value, flush=True)
    sys.exit(3)
""")


def test_offline_second_start_and_clean_exit(ij):
    # ``ij`` has resolved and cached the jars (first start). The subprocess is a second start with
    # no repository, runs multi-threaded filters (ImageJ's pool threads are not daemons) and must
    # end on its own with the status it chose.
    proc = subprocess.run([sys.executable, "-c", SCRIPT], env=dict(os.environ), capture_output=True,
                          text=True, timeout=240)
    assert "RESULT 2" in proc.stdout, proc.stderr[-3000:]
    assert proc.returncode == 3, proc.stderr[-3000:]
