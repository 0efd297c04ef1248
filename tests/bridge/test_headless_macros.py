"""Real Fiji macros headless: #@ parameters, the ROI Manager, named tables, dialogs, Bio-Formats."""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pytest

from fijax.errors import InputError, MacroError
from fijax.io import Image
from fijax.io.microscopy import read_image, write_image

pytestmark = pytest.mark.jvm

PARAMS = '''#@ File (label = "Input directory", style = "directory") input
#@ String (label = "File suffix", value = ".tif") suffix
#@ Integer (min = 1, max = 10, value = 2) radius
#@ Double sigma
#@ boolean flag
#@ String (choices = {"Otsu", "Huang"}, style = "listBox") method
#@ LogService log
#@output Double area
#@output String msg
#@output Integer n
print(input + "|" + suffix + "|" + radius + "|" + sigma + "|" + flag + "|" + method);
area = 2.5 * radius;
msg = "done";
n = 7;
'''


def test_script_parameters_take_values_defaults_and_give_outputs(ij, tmp_path):
    res = ij.run_macro(PARAMS, params={"input": str(tmp_path), "sigma": "0.25", "flag": "true"})
    assert res.log.strip() == f"{tmp_path}|.tif|2|0.25|1|Otsu"
    assert res.outputs == {"area": 5.0, "msg": "done", "n": 7}
    res = ij.run_macro(PARAMS, params={"input": str(tmp_path), "sigma": 1, "radius": 4, "method": "Huang"})
    assert res.log.strip().endswith("|4|1|0|Huang") and res.outputs["area"] == 10.0


@pytest.mark.parametrize("params, message", [
    ({"input": "/x"}, r"macro parameter 'sigma' \(Double, line 4\) has no value and no default"),
    ({"input": "/x", "sigma": "abc"}, r"'sigma' \(Double, line 4\): \"abc\" is not a number"),
    ({"input": "/x", "sigma": 1, "radius": 11}, r"'radius' \(line 3\): 11 is above its maximum 10"),
    ({"input": "/x", "sigma": 1, "method": "Li"}, r"\"Li\" is not one of its choices: Otsu, Huang"),
    ({"input": "/x", "sigma": 1, "nope": 1}, r"the macro has no parameter 'nope' \(its #@ parameters: input, suffix"),
])
def test_bad_or_missing_parameters_are_named_before_the_run(ij, params, message):
    with pytest.raises(InputError, match=message):
        ij.run_macro(PARAMS + 'newImage("never", "8-bit black", 4, 4, 1);\n', params=params)


def test_error_lines_stay_those_of_the_file(ij):
    with pytest.raises(MacroError) as info:
        ij.run_macro('#@ Integer n\nprint(n);\nx = 1/;\n', params={"n": 3})
    assert info.value.line == 3 and "x = 1/;" in str(info.value)


BLOBS = '''setBatchMode(true);
newImage("cells", "8-bit black", 64, 64, 1);
setColor(255);
fillOval(5, 5, 10, 10);
fillOval(30, 30, 12, 8);
fillOval(45, 10, 6, 6);
'''


def test_analyze_particles_add_fills_the_roi_manager(ij):
    code = BLOBS + '''setThreshold(128, 255);
run("Set Measurements...", "area mean centroid redirect=None decimal=3");
run("Analyze Particles...", "size=0-Infinity display clear summarize add");
print(roiManager("count"));
roiManager("select", 2);
getSelectionBounds(x, y, w, h);
print(x + " " + y + " " + w + " " + h);
roiManager("deselect");
run("Clear Results");
roiManager("measure");
print(nResults);
roiManager("select", 0);
roiManager("delete");
print(roiManager("count") + " " + RoiManager.size);
'''
    res = ij.run_macro(code)
    lines = res.log.strip().splitlines()
    assert lines == ["3", "30 30 12 8", "3", "2 2"]
    # areas measured per ROI == pixel counts of the discs (scikit-image on the same pixels)
    from skimage.measure import label, regionprops

    discs = regionprops(label(res.images["cells"].data >= 128))
    assert sorted(r["Area"] for r in res.results) == sorted(float(d.area) for d in discs)
    assert "Summary" in res.tables and res.tables["Summary"][0]["Count"] == 3
    with zipfile.ZipFile(io.BytesIO(res.rois)) as zf:
        assert len(zf.namelist()) == 2 and all(n.endswith(".roi") for n in zf.namelist())


def test_roi_set_zip_is_imagej_format(ij, tmp_path):
    roifile = pytest.importorskip("roifile", reason="roifile reads ImageJ ROI sets independently")
    code = BLOBS + 'setThreshold(128, 255);\nrun("Analyze Particles...", "add");\n'
    res = ij.run_macro(code)
    (tmp_path / "RoiSet.zip").write_bytes(res.rois)
    rois = roifile.roiread(tmp_path / "RoiSet.zip")
    boxes = sorted((r.left, r.top, r.right - r.left, r.bottom - r.top) for r in rois)
    assert boxes == [(5, 5, 10, 10), (30, 30, 12, 8), (45, 10, 6, 6)]


def test_named_tables_are_kept(ij):
    code = '''Table.create("Mine");
Table.set("a", 0, 1.5);
Table.set("b", 0, "x");
Table.set("a", 1, 2.5);
Table.update;
print(Table.title + " " + Table.size);
print(Table.get("a", 1, "Mine"));
'''
    res = ij.run_macro(code)
    assert res.log.strip().splitlines() == ["Mine 2", "2.5"]
    assert res.tables["Mine"][0] == {"a": 1.5, "b": "x"} and res.tables["Mine"][1]["a"] == 2.5
    assert ij.run_macro('print("fresh");').tables == {}  # the next macro starts without them


@pytest.mark.parametrize("call, shown", [
    ('d = getDirectory("Choose a Directory");', 'getDirectory("Choose a Directory")'),
    ('waitForUser("Draw a ROI, then click OK");', "waitForUser()"),
    ('Dialog.create("Settings");', "Dialog.*"),
    ('f = File.openDialog("Pick a file");', "File.openDialog()"),
    ('n = getNumber("How many?", 3);', "getNumber(prompt, default)"),
])
def test_dialog_calls_stop_naming_the_line_and_pointing_to_parameters(ij, call, shown):
    with pytest.raises(MacroError) as info:
        ij.run_macro(f'x = 1;\n{call}\nprint("after");\n')
    msg = str(info.value)
    assert info.value.line == 2 and shown in msg and "#@" in msg and "after" not in info.value.log


def test_directory_keywords_still_work(ij):
    assert ij.run_macro('print(getDirectory("temp"));').log.strip()


def test_bio_formats_importer_and_open_read_microscopy_files(ij, tmp_path):
    img = Image(np.arange(2 * 3 * 16 * 20, dtype=np.uint16).reshape(3, 2, 16, 20), axes="ZCYX",
                pixel_size=(0.5, 0.125, 0.125), unit="micron", metadata={"channel_names": ["DAPI", "GFP"]})
    write_image(tmp_path / "cells.ome.tif", img)
    write_image(tmp_path / "cells.ome.zarr", img)
    code = f'''open("{tmp_path}/cells.ome.tif");
getPixelSize(unit, pw, ph, pd);
getDimensions(w, h, c, z, t);
Stack.setChannel(2);
print(getTitle() + " " + unit + " " + pw + " " + pd + " " + w + "x" + h + " c" + c + " z" + z + " " + getInfo("slice.label"));
run("Bio-Formats Importer", "open=[{tmp_path}/cells.ome.zarr] color_mode=Default view=Hyperstack stack_order=XYCZT");
print(getTitle() + " " + nSlices);
run("Bio-Formats Exporter", "save=[{tmp_path}/out.ome.tif] compression=Uncompressed");
'''
    res = ij.run_macro(code)
    assert res.log.strip().splitlines() == ["cells.ome.tif microns 0.125 0.5 20x16 c2 z3 GFP", "cells.ome.zarr 6"]
    assert np.array_equal(res.images["cells.ome.tif"].data, img.data)
    out = read_image(tmp_path / "out.ome.tif")
    assert np.array_equal(out.data, img.data) and out.metadata["channel_names"] == ["DAPI", "GFP"]
    assert out.pixel_size == pytest.approx((0.5, 0.125, 0.125))


def test_bio_formats_errors_are_clear(ij, tmp_path):
    with pytest.raises(MacroError, match="input file not found"):
        ij.run_macro(f'open("{tmp_path}/none.nd2");')
    write_image(tmp_path / "one.ome.tif", Image(np.zeros((4, 4), np.uint8)))
    with pytest.raises(MacroError, match=r"line 1: Bio-Formats Importer: one\.ome\.tif: no series 2; the file has 1"):
        ij.run_macro(f'run("Bio-Formats Importer", "open=[{tmp_path}/one.ome.tif] series_2");')


def test_java_api_runs_a_macro_with_parameters(ij):
    import jpype

    FiJAX = jpype.JClass("fijax.ij.FiJAX")
    params = jpype.JClass("java.util.HashMap")()
    params.put("n", "4")
    out = FiJAX.runMacro("#@ Integer n\n#@output Integer sq\nsq = n * n;", params)
    assert int(out.outputs.get("sq")) == 16
    with pytest.raises(FiJAX.FiJAXException) as info:
        FiJAX.runMacro("#@ Integer n\nprint(n);", jpype.JClass("java.util.HashMap")())
    assert str(info.value.getMessage()) == ("macro parameter 'n' (Integer, line 1) has no value and no default: "
                                            "give it as n=VALUE")
    with pytest.raises(FiJAX.FiJAXException, match="macro line 2: "):
        FiJAX.runMacro("#@ Integer n\nx = 1/;", params)


def test_fijax_macro_cli_writes_tables_rois_and_outputs(ij, tmp_path, capsys):
    import csv
    import json

    from fijax.cli.main import main

    path = tmp_path / "count.ijm"
    path.write_text('#@ Integer (value = 3) discs\n#@output Integer count\n' + BLOBS.replace(
        "fillOval(45, 10, 6, 6);", "if (discs > 2) fillOval(45, 10, 6, 6);")
        + 'setThreshold(128, 255);\nrun("Analyze Particles...", "summarize add");\ncount = roiManager("count");\n')
    assert main(["macro", str(path), "--param", "discs=2", "--out", str(tmp_path / "out")]) == 0
    out = tmp_path / "out"
    assert json.loads((out / "outputs.json").read_text()) == {"count": 2}
    assert float(list(csv.DictReader((out / "Summary.csv").open()))[0]["Count"]) == 2
    with zipfile.ZipFile(out / "RoiSet.zip") as zf:
        assert len(zf.namelist()) == 2
    assert main(["macro", str(path), "--param", "disks=2", "--out", str(tmp_path / "o2")]) == 2
    assert "the macro has no parameter 'disks' (its #@ parameters: discs)" in capsys.readouterr().err


def test_bio_formats_macro_extensions_loop_over_series(ij, tmp_path):
    import tifffile

    path = tmp_path / "plate.ome.tif"
    with tifffile.TiffWriter(path, ome=True) as tw:
        tw.write(np.zeros((8, 9), np.uint8), metadata={"axes": "YX", "Name": "A1"})
        tw.write(np.zeros((2, 5, 6), np.uint16), metadata={"axes": "CYX", "Name": "A2", "PhysicalSizeX": 0.5,
                                                           "PhysicalSizeY": 0.5})
    code = f'''run("Bio-Formats Macro Extensions");
Ext.setId("{path}");
Ext.getSeriesCount(n);
for (s = 0; s < n; s++) {{
  Ext.setSeries(s);
  Ext.getSizeX(w); Ext.getSizeY(h); Ext.getSizeC(c); Ext.getPixelsPhysicalSizeX(px);
  print(s + " " + w + "x" + h + " c" + c + " " + px);
}}
Ext.setSeries(2);
'''
    with pytest.raises(MacroError) as info:
        ij.run_macro(code)
    assert info.value.line == 9 and "no series 2" in str(info.value)
    assert info.value.log.strip().splitlines() == ["0 9x8 c1 1", "1 6x5 c2 0.5"]
