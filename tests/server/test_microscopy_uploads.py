"""Microscopy files as HTTP uploads: OME-TIFF and CZI inputs of an operation and of a macro."""

from __future__ import annotations

import numpy as np
import pytest

from fijax.client import ClientInputError
from fijax.io import Image
from fijax.io.microscopy import write_image

IMG = Image(np.arange(2 * 12 * 10, dtype=np.uint16).reshape(2, 12, 10), axes="CYX",
            pixel_size=(1.0, 0.25, 0.25), unit="micron", metadata={"channel_names": ["DAPI", "GFP"]})


@pytest.mark.jvm
def test_macro_on_uploaded_ome_tiff_and_czi(client, tmp_path):
    pyczi = pytest.importorskip("pylibCZIrw.czi", reason="pylibCZIrw writes the test CZI")
    write_image(tmp_path / "cells.ome.tif", IMG)
    with pyczi.create_czi(str(tmp_path / "plane.czi"), exist_ok=True) as doc:
        doc.write(data=IMG.data[1], plane={"C": 0, "Z": 0, "T": 0})
        doc.write_metadata("plane", scale_x=0.5e-6, scale_y=0.5e-6)
    code = ('selectImage("cells");\ngetPixelSize(u, pw, ph);\nStack.setChannel(2);\n'
            'print(getTitle() + " " + pw + " " + getInfo("slice.label") + " " + nSlices);\n'
            'selectImage("plane");\ngetPixelSize(u, pw, ph);\ngetStatistics(a, mean);\nprint(pw + " " + mean);\n')
    res = client.macro(code, {"cells": tmp_path / "cells.ome.tif", "plane": tmp_path / "plane.czi"}, timeout=300)
    assert res.log.strip().splitlines() == ["cells 0.25 GFP 2", f"0.5 {IMG.data[1].mean():g}"]


def test_unreadable_microscopy_upload_is_a_400(client, tmp_path):
    (tmp_path / "bad.czi").write_bytes(b"not a czi file at all")
    with pytest.raises(ClientInputError, match=r"not a readable \.czi file"):
        client.run("gaussian", {"image": tmp_path / "bad.czi"}, {"sigma": 1})
