"""Macros headless: classical filters honour their options, FiJAX commands, Results, errors."""

import numpy as np
import pytest
from scipy import ndimage

from fijax.bridge import commands
from fijax.classical.filters import gaussian_blur
from fijax.errors import MacroError
from fijax.io import Image
from fijax.ops import OpResult

pytestmark = pytest.mark.jvm

RNG = np.random.default_rng(3)
FLOAT_IMG = Image(RNG.random((48, 56), dtype=np.float32), title="float")
BYTE_IMG = Image(RNG.integers(0, 256, (48, 56)).astype(np.uint8), title="byte")


def imagej_circular_mask(radius: float) -> np.ndarray:
    """ImageJ RankFilters' circular kernel (``makeLineRadii``), written out from its definition."""
    if 1.5 <= radius < 1.75:
        radius = 1.75
    elif 2.5 <= radius < 2.85:
        radius = 2.85
    r2 = int(radius * radius) + 1
    k = int(np.sqrt(r2 + 1e-10))
    mask = np.zeros((2 * k + 1, 2 * k + 1), bool)
    for y in range(-k, k + 1):
        dx = int(np.sqrt(r2 - y * y + 1e-10))
        mask[y + k, k - dx:k + dx + 1] = True
    return mask


def test_median_honours_radius(ij):
    res = ij.run_macro('run("Median...", "radius=2");', inputs={"img": FLOAT_IMG})
    got = res.images["img"].data
    ref2 = ndimage.median_filter(FLOAT_IMG.data, footprint=imagej_circular_mask(2), mode="nearest")
    ref05 = ndimage.median_filter(FLOAT_IMG.data, footprint=imagej_circular_mask(0.5), mode="nearest")
    assert np.array_equal(got, ref2)
    assert not np.allclose(got, ref05)  # the trap: a dialog ignoring its options ran radius 0.5


def test_gaussian_blur_honours_sigma(ij):
    res = ij.run_macro('run("Gaussian Blur...", "sigma=3");', inputs={"img": FLOAT_IMG})
    got = res.images["img"].data
    ref = gaussian_blur(FLOAT_IMG.data, 3.0)
    assert np.abs(got - ref).max() < 1e-4 * np.ptp(FLOAT_IMG.data)
    assert np.abs(got - gaussian_blur(FLOAT_IMG.data, 2.0)).max() > 1e-2


@pytest.mark.parametrize("image", [FLOAT_IMG, BYTE_IMG], ids=["float32", "uint8"])
@pytest.mark.parametrize("sigma", [0.8, 2.0, 5.0])
def test_fijax_gaussian_matches_imagej(ij, image, sigma):
    code = (f'run("FiJAX Gaussian", "sigma={sigma} output=fijax");\n'
            f'selectImage("img");\nrun("Gaussian Blur...", "sigma={sigma}");')
    res = ij.run_macro(code, inputs={"img": image})
    ours, theirs = res.images["fijax"].data, res.images["img"].data
    assert ours.dtype == theirs.dtype == image.data.dtype
    diff = np.abs(ours.astype(np.float64) - theirs)
    if image.data.dtype == np.uint8:
        assert diff.max() <= 1
    else:
        assert diff.max() <= 1e-4 * np.ptp(image.data)


def test_inputs_outputs_results_and_log(ij):
    res = ij.run_macro('print("title=" + getTitle());\nrun("Set Measurements...", "area mean min");\n'
                       'run("Measure");\nselectImage("a");\nrun("Measure");\nreturn "done";',
                       inputs={"a": Image(np.full((4, 5), 2, np.uint8)), "b": Image(np.full((2, 3), 7.5, np.float32))})
    assert set(res.images) == {"a", "b"}
    assert "title=b" in res.log  # the last input is active
    assert res.value == "done"
    assert [r["Mean"] for r in res.results] == [7.5, 2.0]
    assert [r["Area"] for r in res.results] == [6.0, 20.0]
    # everything was closed afterwards: the next macro starts clean
    assert ij.run_macro("return '' + nImages + ' ' + nResults;").value == "0 0"


def test_calibration_reaches_the_macro(ij):
    img = Image(np.zeros((4, 4), np.uint8), pixel_size=(1.0, 0.5, 0.5), unit="micron")
    res = ij.run_macro('getPixelSize(unit, pw, ph);\nreturn unit + " " + pw;', inputs={"img": img})
    assert res.value in ("micron 0.5", "microns 0.5")  # getPixelSize reports the plural
    assert res.images["img"].pixel_size == (1.0, 0.5, 0.5)


def test_fijax_info_and_call(ij):
    res = ij.run_macro('run("FiJAX Info");\nreturn call("fijax.ij.Bridge.call", "version");')
    from fijax import __version__

    assert res.value == __version__
    row = res.results[0]
    assert row["fijax"] == __version__ and row["imagej"].startswith("1.54") and row["java"]
    assert not row["imagej"].endswith("99")  # "1.54p", not getFullVersion's "1.54p99"


def test_runtime_registration_python_exception_and_recovery(ij):
    @commands.macro_command("FiJAX Test Boom", inputs=(), summary="test: raises")
    def boom(call):
        raise ZeroDivisionError("kaboom " + call.options.get("why", ""))

    @commands.macro_command("FiJAX Test Stats", inputs={"image": "image"}, required=("factor",))
    def stats(call):
        data = call.images["image"].data * float(call.options["factor"])
        return OpResult(images={"scaled": call.images["image"].with_data(data)},
                        values={"mean": float(data.mean())})

    @commands.macro_function("test_add")
    def add(a, b):
        return float(a) + float(b)

    with pytest.raises(MacroError) as err:
        ij.run_macro('x = 1;\ny = 2;\nrun("FiJAX Test Boom", "why=[for a test]");\nprint("not reached");')
    assert err.value.line == 3
    assert "kaboom for a test" in str(err.value) and "line 3" in str(err.value)
    assert isinstance(err.value.__cause__, ZeroDivisionError)

    res = ij.run_macro('run("FiJAX Test Stats", "factor=2 output=twice");\n'
                       'return call("fijax.ij.Bridge.call", "test_add", "1.5", "2");',
                       inputs={"img": Image(np.full((3, 3), 4, np.float32))})
    assert res.value == "3.5"
    assert np.all(res.images["twice"].data == 8) and res.results == [{"mean": 8.0}]


@pytest.mark.parametrize("code,line,cause", [
    ('a = 1;\nb = ;\n', 2, "Number or numeric function expected"),
    ('a = 1;\n\nrun("No Such Command", "x=1");', 3, 'Unrecognized command: "No Such Command"'),
    ('newImage("x", "8-bit black", 8, 8, 1);\nrun("FiJAX Gaussian", "output=y");', 2, "missing required option(s): sigma="),
    ('newImage("x", "8-bit black", 8, 8, 1);\nrun("FiJAX Gaussian", "sigma=-1");', 2, "greater than 0"),
    ('run("FiJAX Gaussian", "sigma=1");', 1, "no images open"),
    ('newImage("x", "8-bit black", 8, 8, 1);\nrun("FiJAX Gaussian", "sigma=1 image=nope");', 2, "no open image titled 'nope'"),
    ('v = call("fijax.ij.Bridge.call", "no_such_function");', 1, "unknown function 'no_such_function'"),
])
def test_errors_name_line_and_cause_then_jvm_still_works(ij, code, line, cause):
    with pytest.raises(MacroError) as err:
        ij.run_macro(code)
    assert err.value.line == line
    assert cause in str(err.value)
    assert f"line {line}" in str(err.value)
    ok = ij.run_macro('newImage("x", "8-bit black", 8, 8, 1);\nrun("Add...", "value=3");\nreturn "" + getPixel(1, 1);')
    assert ok.value == "3" and list(ok.images) == ["x"]
