"""``fijax macro`` and ``fijax info`` in-process (they reuse the shared JVM) and bad inputs."""

import csv

import numpy as np
import pytest

from fijax.cli.main import main
from fijax.io import Image, read_tiff, write_tiff
from fijax.paths import project_root

ROOT = project_root()


@pytest.mark.jvm
def test_demo_macro_writes_images_results_and_log(ij, tmp_path, capsys):
    out = tmp_path / "out"
    code = main(["macro", str(ROOT / "macros" / "demo.ijm"), "--input",
                 f"blobs={ROOT / 'macros' / 'samples' / 'blobs.tif'}", "--out", str(out)])
    assert code == 0
    assert {p.name for p in out.glob("*.tif")} == {"blobs.tif", "median.tif", "mask.tif"}
    blobs = read_tiff(out / "blobs.tif")
    assert blobs.pixel_size == (1.0, 0.5, 0.5) and blobs.unit == "micron"
    mask = read_tiff(out / "mask.tif").data
    assert set(np.unique(mask)) == {0, 255}
    rows = list(csv.DictReader((out / "results.csv").open()))
    assert len(rows) > 10 and {"Area", "Mean", "X", "Y"} <= set(rows[0])
    assert all(float(r["Mean"]) > 100 for r in rows)  # measured on the bright blobs (redirect=blobs)
    assert f"objects: {len(rows)}" in (out / "log.txt").read_text()


@pytest.mark.jvm
def test_macro_cli_failure_names_the_line(ij, tmp_path, capsys):
    macro = tmp_path / "bad.ijm"
    macro.write_text('x = 1;\nrun("FiJAX Gaussian", "sigma=2");\n')
    img = tmp_path / "a.tif"
    write_tiff(img, Image(np.zeros((8, 8), np.float32)))
    assert main(["macro", str(macro), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "line 2" in err and "no images open" in err
    macro.write_text('run("FiJAX Gaussian", "sigma=2 output=[blurred a]");\n')
    assert main(["macro", str(macro), "--input", f"a={img}", "--out", str(tmp_path / "o")]) == 0
    assert (tmp_path / "o" / "blurred a.tif").is_file() and (tmp_path / "o" / "a.tif").is_file()
    assert not (tmp_path / "o" / "results.csv").exists()


def test_corrupt_or_non_tiff_input_fails_before_the_jvm(tmp_path, capsys, monkeypatch):
    import fijax.bridge

    def no_jvm(*args, **kwargs):
        raise AssertionError("the JVM must not start for a bad input")

    monkeypatch.setattr(fijax.bridge, "imagej", no_jvm)
    macro = tmp_path / "m.ijm"
    macro.write_text("print(1);\n")
    bad = tmp_path / "notes.tif"
    bad.write_text("this is not a TIFF")
    assert main(["macro", str(macro), "--input", f"a={bad}", "--out", str(tmp_path / "o")]) == 2
    assert "notes.tif" in capsys.readouterr().err
    assert main(["macro", str(macro), "--input", "a", "--out", str(tmp_path / "o")]) == 2
    assert "NAME=PATH" in capsys.readouterr().err
    assert main(["macro", str(tmp_path / "missing.ijm"), "--out", str(tmp_path / "o")]) == 2


def test_info_without_jvm_lists_jar_coordinates(capsys):
    assert main(["info", "--no-jvm"]) == 0
    out = capsys.readouterr().out
    assert "net.imagej:ij:1.54p" in out and "net.imagej:ij1-patcher" in out and "jax" in out


@pytest.mark.jvm
def test_info_with_jvm(ij, capsys):
    assert main(["info"]) == 0
    out = capsys.readouterr().out
    assert "imagej" in out and "1.54p" in out and "java" in out and "fijax-shim-" in out
