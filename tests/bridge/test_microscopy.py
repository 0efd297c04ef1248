"""Microscopy files through bioio: OME-TIFF and OME-Zarr round trips, series, clear errors."""

from __future__ import annotations

import numpy as np
import pytest
import tifffile

from fijax.errors import InputError
from fijax.io import Image, write_tiff
from fijax.io.microscopy import read_image, series_names, write_image

RNG = np.random.default_rng(7)
IMG = Image(RNG.integers(0, 4000, (3, 2, 16, 20)).astype(np.uint16), axes="ZCYX", title="cells",
            pixel_size=(0.5, 0.125, 0.125), unit="micron", metadata={"channel_names": ["DAPI", "GFP"]})


@pytest.mark.parametrize("name", ["cells.ome.tif", "cells.ome.zarr"])
def test_round_trip_keeps_pixels_pixel_sizes_and_channel_names(tmp_path, name):
    write_image(tmp_path / name, IMG)
    back = read_image(tmp_path / name)
    assert back.axes == "ZCYX" and np.array_equal(back.data, IMG.data) and back.data.dtype == np.uint16
    assert back.pixel_size == pytest.approx((0.5, 0.125, 0.125)) and back.unit == "micron"
    assert back.metadata["channel_names"] == ["DAPI", "GFP"]


def test_ome_tiff_is_read_by_an_independent_reader(tmp_path):
    write_image(tmp_path / "cells.ome.tif", IMG)
    with tifffile.TiffFile(tmp_path / "cells.ome.tif") as tif:
        assert tif.is_ome
        xml = tif.ome_metadata
        data = tif.series[0].asarray()
    assert 'PhysicalSizeX="0.125"' in xml and 'Name="GFP"' in xml
    # OME order TCZYX with singleton T: (C, Z, Y, X) planes hold the same pixels
    assert np.array_equal(np.squeeze(data), np.transpose(IMG.data, (1, 0, 2, 3)))


def test_nm_calibration_is_converted_to_microns(tmp_path):
    img = Image(np.zeros((8, 8), np.float32), pixel_size=(1.0, 65.0, 65.0), unit="nm")
    write_image(tmp_path / "a.ome.tif", img)
    back = read_image(tmp_path / "a.ome.tif")
    assert back.pixel_size[1:] == pytest.approx((0.065, 0.065)) and back.unit == "micron"


def test_series_selection_and_missing_series(tmp_path):
    path = tmp_path / "two.ome.tif"
    with tifffile.TiffWriter(path, ome=True) as tw:
        tw.write(np.zeros((8, 9), np.uint8), metadata={"axes": "YX"})
        tw.write(np.full((5, 6), 3, np.uint16), metadata={"axes": "YX"})
    assert len(series_names(path)) == 2
    second = read_image(path, series=1)
    assert second.shape == (5, 6) and second.data.dtype == np.uint16 and (second.data == 3).all()
    assert second.metadata["series"] == 1 and second.metadata["series_count"] == 2
    with pytest.raises(InputError, match=r"no series 2; the file has 2 series \(0: .*, 1: .*\)"):
        read_image(path, series=2)
    with pytest.raises(InputError, match="no series named 'nope'"):
        read_image(path, series="nope")


def test_plain_tiff_still_goes_through_the_imagej_reader(tmp_path):
    write_tiff(tmp_path / "a.tif", Image(np.ones((2, 8, 8), np.float32), axes="ZYX", pixel_size=(2, 0.5, 0.5),
                                         unit="micron"))
    back = read_image(tmp_path / "a.tif")
    assert back.axes == "ZYX" and back.pixel_size == (2.0, 0.5, 0.5)


def test_unsupported_and_unreadable_files_are_named(tmp_path):
    (tmp_path / "a.png").write_bytes(b"\x89PNG")
    with pytest.raises(InputError, match=r"a\.png: unsupported image format '\.png'; fijax reads .*CZI, ND2, LIF"):
        read_image(tmp_path / "a.png")
    (tmp_path / "bad.czi").write_bytes(b"not a czi")
    with pytest.raises(InputError, match=r"bad\.czi: not a readable \.czi file"):
        read_image(tmp_path / "bad.czi")
    with pytest.raises(InputError, match="input file not found"):
        read_image(tmp_path / "missing.nd2")
    with pytest.raises(InputError, match="cannot write '.png' files"):
        write_image(tmp_path / "out.png", IMG)


def test_czi_written_by_zeiss_libczi_reads_with_calibration_and_channels(tmp_path):
    pyczi = pytest.importorskip("pylibCZIrw.czi", reason="pylibCZIrw (bioio-czi's libCZI binding) writes the test CZI")
    planes = RNG.integers(0, 60000, (2, 3, 12, 10)).astype(np.uint16)  # C, Z, Y, X
    with pyczi.create_czi(str(tmp_path / "cells.czi"), exist_ok=True) as doc:
        for c in range(2):
            for z in range(3):
                doc.write(data=planes[c, z], plane={"C": c, "Z": z, "T": 0})
        doc.write_metadata("cells", channel_names={0: "DAPI", 1: "GFP"}, scale_x=0.2e-6, scale_y=0.2e-6,
                           scale_z=1e-6)
    img = read_image(tmp_path / "cells.czi")
    assert img.axes == "ZCYX" and np.array_equal(img.data, planes.transpose(1, 0, 2, 3))
    assert img.pixel_size == pytest.approx((1.0, 0.2, 0.2)) and img.metadata["channel_names"] == ["DAPI", "GFP"]


def test_imagej_tiff_named_ome_tif_is_read_by_the_imagej_reader(tmp_path):
    # what saveAs("Tiff", "x.ome.tif") writes: an ImageJ TIFF without OME-XML
    write_tiff(tmp_path / "x.ome.tif", Image(np.ones((3, 8, 8), np.uint16), axes="ZYX", pixel_size=(2, 0.5, 0.5),
                                             unit="micron"))
    back = read_image(tmp_path / "x.ome.tif")
    assert back.axes == "ZYX" and back.pixel_size == (2.0, 0.5, 0.5) and back.data.dtype == np.uint16
    assert series_names(tmp_path / "x.ome.tif") == ["x.ome"]
