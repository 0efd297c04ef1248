"""``fijax script``: Groovy (and JavaScript, BeanShell) in the embedded ImageJ, calling ImageJ and FiJAX."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from fijax.bridge.scripts import language_of, parse_parameters
from fijax.errors import InputError, MacroError
from fijax.io import Image, read_tiff, write_tiff
from fijax.paths import project_root

ROOT = project_root()


def test_language_and_parameters_parsing():
    assert language_of("a.groovy") == "groovy" and language_of("x.JS") == "js" and language_of("m.ijm") == "ijm"
    with pytest.raises(InputError, match="language"):
        language_of("a.py")
    params, code = parse_parameters('#@ ImagePlus imp\n#@ Double (value=2.5, label="s") s\n#@output Double m\nx = 1\n')
    assert [(p.direction, p.type, p.name) for p in params] == [("input", "ImagePlus", "imp"),
                                                                ("input", "Double", "s"), ("output", "Double", "m")]
    assert params[1].attrs == {"value": "2.5", "label": "s"}
    assert code.splitlines()[0].startswith("//#@") and code.splitlines()[3] == "x = 1"  # line numbers kept


@pytest.mark.jvm
def test_groovy_script_calls_imagej_and_fijax(ij):
    img = Image(np.random.default_rng(0).random((32, 30)).astype(np.float32), "YX", "blobs")
    code = """
#@ ImagePlus blobs
#@ Double (value=1.5) s
#@output Double mean
import fijax.ij.FiJAX
import ij.IJ
def r = FiJAX.run("gaussian", blobs, [sigma: s])
def out = r.image()
out.show()
def med = blobs.duplicate(); med.setTitle("median"); IJ.run(med, "Median...", "radius=1"); med.show()
mean = out.getStatistics().mean
println "done " + out.getTitle()
"""
    res = ij.run_script(code, "groovy", inputs={"blobs": img}, params={"s": "2"}, name="t.groovy")
    assert set(res.images) == {"blobs", "blurred", "median"}
    from fijax import ops

    expected = ops.get("gaussian")({"image": img}, {"sigma": 2.0}).images["blurred"].data
    assert np.array_equal(res.images["blurred"].data, expected)
    assert abs(res.outputs["mean"] - float(expected.mean())) < 1e-5
    assert "done blurred" in res.log


@pytest.mark.jvm
def test_script_errors_name_the_line(ij):
    with pytest.raises(MacroError, match=r"bad\.groovy line 2") as err:
        ij.run_script("def x = 1\nx.foo()\n", "groovy", name="bad.groovy")
    assert "x.foo()" in str(err.value)
    with pytest.raises(MacroError, match="line 3"):
        ij.run_script("import fijax.ij.FiJAX\n\nFiJAX.run('gaussian', null, [sigma: 1])\n", "groovy", name="b.groovy")
    with pytest.raises(InputError, match="no value"):
        ij.run_script("#@ Integer n\nprintln n\n", "groovy", name="p.groovy")


@pytest.mark.jvm
def test_javascript_and_beanshell_engines(ij):
    img = Image(np.ones((8, 8), np.float32), "YX", "a")
    js = ('var FiJAX = Java.type("fijax.ij.FiJAX");'
          'FiJAX.run("gaussian", a, {sigma: 1.0}).image().show();')
    assert "blurred" in ij.run_script(js, "js", inputs={"a": img}, name="t.js").images
    bsh = ('import fijax.ij.FiJAX;\nm = new java.util.HashMap(); m.put("sigma", 1.0);\n'
           'FiJAX.run("gaussian", a, m).image().show();\n')
    assert "blurred" in ij.run_script(bsh, "bsh", inputs={"a": img}, name="t.bsh").images


@pytest.mark.jvm
def test_script_cli_runs_the_mixed_pipeline(ij, demo_ref, pair, tmp_path, capsys):
    from fijax.cli.main import main

    write_tiff(tmp_path / "noisy.tif", pair.noisy)
    write_tiff(tmp_path / "gt.tif", pair.gt)
    out = tmp_path / "out"
    code = main(["script", str(ROOT / "macros" / "mixed_pipeline.groovy"), "--input", f"noisy={tmp_path / 'noisy.tif'}",
                 "--input", f"gt={tmp_path / 'gt.tif'}", "--param", f"model={demo_ref}", "--out", str(out)])
    assert code == 0
    outputs = json.loads((out / "outputs.json").read_text())
    assert outputs["dl_ssim"] > outputs["raw_ssim"] + 0.05 and outputs["median_ssim"] > outputs["raw_ssim"]
    rows = list(csv.DictReader((out / "results.csv").open()))
    assert [r["method"] for r in rows] == ["Raw", "Median (ImageJ)", f"DL {demo_ref}"]
    assert read_tiff(out / "prediction.tif").shape == pair.noisy.shape
    assert (out / "median.tif").is_file() and "SSIM vs GT" in (out / "log.txt").read_text()


def test_script_cli_bad_input(tmp_path, capsys):
    from fijax.cli.main import main

    assert main(["script", str(tmp_path / "none.groovy"), "--out", str(tmp_path)]) == 2
    (tmp_path / "a.py").write_text("print(1)\n")
    assert main(["script", str(tmp_path / "a.py"), "--out", str(tmp_path)]) == 2
    assert "language" in capsys.readouterr().err
    (tmp_path / "b.groovy").write_text("println 1\n")
    assert main(["script", str(tmp_path / "b.groovy"), "--param", "oops", "--out", str(tmp_path)]) == 2
