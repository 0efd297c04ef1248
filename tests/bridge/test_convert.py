"""numpy <-> ImagePlus: shapes, axes, dtypes and calibration, bit-exact both ways."""

import numpy as np
import pytest

from fijax.errors import InputError
from fijax.io import Image

pytestmark = pytest.mark.jvm

RNG = np.random.default_rng(7)


def _random(shape, dtype):
    if np.issubdtype(dtype, np.integer):
        return RNG.integers(0, np.iinfo(dtype).max, size=shape, endpoint=True).astype(dtype)
    return RNG.standard_normal(shape).astype(dtype)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32])
@pytest.mark.parametrize("axes,shape", [("YX", (17, 23)), ("ZYX", (4, 9, 11)), ("CYX", (3, 8, 5)),
                                        ("TZCYX", (2, 3, 4, 6, 7)), ("TYX", (5, 6, 4)), ("ZCYX", (2, 2, 5, 5))])
def test_round_trip_bit_exact(ij, dtype, axes, shape):
    img = Image(_random(shape, dtype), axes=axes, title="rt")
    back = ij.from_imageplus(ij.to_imageplus(img))
    assert back.axes == axes
    assert back.data.dtype == np.dtype(dtype)
    assert np.array_equal(back.data, img.data)


def test_hyperstack_dimensions_follow_imagej_order(ij):
    # (T, Z, C, Y, X) = (2, 3, 4, ...): ImageJ sees C=4, Z=3, T=2 and plane (c, z, t) at index c + z*C + t*C*Z
    data = np.zeros((2, 3, 4, 5, 6), np.float32)
    for t in range(2):
        for z in range(3):
            for c in range(4):
                data[t, z, c] = 100 * t + 10 * z + c
    imp = ij.to_imageplus(Image(data, axes="TZCYX"))
    assert (imp.getNChannels(), imp.getNSlices(), imp.getNFrames()) == (4, 3, 2)
    assert imp.isHyperStack()
    stack = imp.getStack()
    for t in range(2):
        for z in range(3):
            for c in range(4):
                index = imp.getStackIndex(c + 1, z + 1, t + 1)
                assert stack.getProcessor(index).getf(0, 0) == 100 * t + 10 * z + c


def test_calibration_both_ways(ij):
    img = Image(np.zeros((3, 4, 5), np.uint16), axes="ZYX", pixel_size=(2.5, 0.25, 0.125), unit="micron")
    imp = ij.to_imageplus(img)
    cal = imp.getCalibration()
    assert (cal.pixelWidth, cal.pixelHeight, cal.pixelDepth) == (0.125, 0.25, 2.5)
    assert str(cal.getUnit()) == "micron"
    back = ij.from_imageplus(imp)
    assert back.pixel_size == (2.5, 0.25, 0.125) and back.unit == "micron"
    plain = ij.from_imageplus(ij.to_imageplus(Image(np.zeros((4, 5), np.uint8))))
    assert plain.pixel_size is None and plain.unit is None


def test_imagej_made_images_get_canonical_axes(ij):
    IJ = __import__("jpype").JClass("ij.IJ")
    imp = IJ.createImage("made", "16-bit ramp", 8, 6, 2, 3, 4)  # C=2, Z=3, T=4
    img = ij.from_imageplus(imp)
    assert img.axes == "TZCYX" and img.shape == (4, 3, 2, 6, 8) and img.data.dtype == np.uint16
    rgb = ij.from_imageplus(IJ.createImage("rgb", "RGB ramp", 8, 6, 1))
    assert rgb.axes == "CYX" and rgb.shape == (3, 6, 8) and rgb.data.dtype == np.uint8


def test_other_dtypes_converted_as_documented(ij):
    b = ij.from_imageplus(ij.to_imageplus(Image(np.array([[True, False]] * 2))))
    assert b.data.dtype == np.uint8 and b.data.tolist() == [[1, 0], [1, 0]]
    small = ij.from_imageplus(ij.to_imageplus(Image(np.array([[0, 65535]] * 2, np.int32))))
    assert small.data.dtype == np.uint16 and small.data.tolist() == [[0, 65535]] * 2
    neg = ij.from_imageplus(ij.to_imageplus(Image(np.array([[-1, 3]] * 2, np.int64))))
    assert neg.data.dtype == np.float32 and neg.data.tolist() == [[-1.0, 3.0]] * 2
    f64 = ij.from_imageplus(ij.to_imageplus(Image(np.full((2, 2), 0.1, np.float64))))
    assert f64.data.dtype == np.float32 and f64.data[0, 0] == np.float32(0.1)


def test_refuses_complex(ij):
    with pytest.raises(InputError, match="complex"):
        ij.to_imageplus(Image(np.zeros((4, 4), np.complex64)))


def test_pulled_pixels_are_a_copy(ij):
    imp = ij.to_imageplus(Image(np.zeros((4, 4), np.float32)))
    img = ij.from_imageplus(imp)
    imp.getProcessor().setf(0, 0, 5.0)
    assert img.data[0, 0] == 0.0
    img.data[1, 1] = 7.0
    assert imp.getProcessor().getf(1, 1) == 0.0
