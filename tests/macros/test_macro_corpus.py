"""The macro corpus: macros in the shape of Fiji's templates and the ImageJ macro documentation, run
headless unchanged (``#@`` parameters, ROI Manager, tables, Bio-Formats), outputs checked against
values computed independently (NumPy, SciPy, scikit-image, roifile, tifffile)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from scipy import ndimage
from skimage.filters import threshold_otsu
from skimage.measure import label, regionprops

from fijax.cli.main import main
from fijax.io import Image, read_tiff, write_tiff
from fijax.io.microscopy import read_image

pytestmark = pytest.mark.jvm

HERE = Path(__file__).parent
RNG = np.random.default_rng(19)


def macro(name: str) -> str:
    return (HERE / name).read_text()


def rows(path: Path) -> list[dict[str, str]]:
    with path.open() as fh:
        return list(csv.DictReader(fh))


def particles_image(seed: int) -> np.ndarray:
    """Dim noisy background (< 80) with bright discs (> 150) of several sizes, one below 20 pixels."""
    rng = np.random.default_rng(seed)
    img = rng.integers(10, 70, (96, 96)).astype(np.uint8)
    yy, xx = np.mgrid[:96, :96]
    for cy, cx, r in [(15, 15, 6), (40, 70, 9), (75, 25, 4.5), (70, 75, 7), (30, 40, 2)]:
        img[(yy - cy) ** 2 + (xx - cx) ** 2 <= r * r] = rng.integers(160, 250)
    return img


def objects(img: np.ndarray, minsize: int = 20) -> list:
    """Connected foreground objects (8-connected, as ImageJ traces them) of at least ``minsize`` pixels."""
    return [r for r in regionprops(label(img >= 100, connectivity=2), intensity_image=img) if r.area >= minsize]


def test_process_folder_template(ij, tmp_path, capsys):
    src, dst = tmp_path / "in", tmp_path / "processed"
    (src / "sub").mkdir(parents=True)
    dst.mkdir()
    images = {"a.tif": src / "a.tif", "b.tif": src / "b.tif", "c.tif": src / "sub" / "c.tif"}
    for path in images.values():
        write_tiff(path, Image(RNG.integers(0, 256, (20, 24)).astype(np.uint8)))
    (src / "notes.txt").write_text("not an image")
    assert main(["macro", str(HERE / "process_folder.ijm"), "--param", f"input={src}", "--param", f"output={dst}",
                 "--out", str(tmp_path / "run")]) == 0
    for name, path in images.items():
        # ImageJ's radius-1 median is a 3x3 median with edge pixels repeated
        expected = ndimage.median_filter(read_tiff(path).data, size=3, mode="nearest")
        assert np.array_equal(read_tiff(dst / name).data, expected), name
    assert (tmp_path / "run" / "log.txt").read_text().count("Processing: ") == 3


def test_process_folder_needs_its_directories(ij, tmp_path, capsys):
    assert main(["macro", str(HERE / "process_folder.ijm"), "--param", f"input={tmp_path}",
                 "--out", str(tmp_path / "run")]) == 2
    assert "macro parameter 'output' (File, line 7) has no value" in capsys.readouterr().err


def test_particle_analysis_with_the_roi_manager(ij, tmp_path, capsys):
    roifile = pytest.importorskip("roifile", reason="roifile reads the ROI set independently")
    img = particles_image(1)
    write_tiff(tmp_path / "cells.tif", Image(img))
    out = tmp_path / "run"
    assert main(["macro", str(HERE / "particles_roi_manager.ijm"), "--param", f"image={tmp_path / 'cells.tif'}",
                 "--param", f"output={tmp_path}", "--out", str(out)]) == 0
    ref = objects(img)
    assert json.loads((out / "outputs.json").read_text()) == {"count": len(ref)} and len(ref) == 4
    measured = rows(out / "results.csv")
    assert sorted(float(r["Area"]) for r in measured) == sorted(float(o.area) for o in ref)
    assert sorted(round(float(r["Mean"]), 3) for r in measured) == sorted(round(float(o.intensity_mean), 3)
                                                                         for o in ref)
    assert all(float(r["RawIntDen"]) == pytest.approx(float(r["Area"]) * float(r["Mean"])) for r in measured)
    summary = rows(out / "Summary.csv")
    assert summary[0]["Slice"] == "cells.tif" and int(float(summary[0]["Count"])) == len(ref)
    for zip_path in (tmp_path / "particles.zip", out / "RoiSet.zip"):  # the macro's save and fijax's copy
        boxes = sorted((r.top, r.left, r.bottom, r.right) for r in roifile.roiread(zip_path))
        assert boxes == sorted(o.bbox for o in ref)


def test_per_roi_intensity_measure_and_multi_measure(ij):
    stack = RNG.random((3, 32, 32), dtype=np.float32) * 100
    res = ij.run_macro(macro("roi_intensity.ijm"), inputs={"stack": Image(stack, "ZYX", "stack")})
    boxes = [(3, 2, 6, 10), (10, 20, 12, 8), (20, 5, 4, 15)]  # y, x, h, w of the macro's rectangles
    per_roi = res.tables["per roi"]
    for (y, x, h, w), row in zip(boxes, per_roi, strict=True):
        patch = stack[1, y:y + h, x:x + w].astype(np.float64)  # setSlice(2)
        assert row["Area"] == h * w and row["Mean"] == pytest.approx(patch.mean(), rel=1e-6)
        assert row["IntDen"] == pytest.approx(patch.sum(), rel=1e-6)
    assert len(res.results) == 3  # multi measure: one row per slice, one column set per ROI
    names = ["1", "(second)", "3"]
    for z, row in enumerate(res.results):
        for (y, x, h, w), name in zip(boxes, names, strict=True):
            assert row[f"Mean{name}"] == pytest.approx(stack[z, y:y + h, x:x + w].mean(), rel=1e-5)
            assert row[f"Min{name}"] == pytest.approx(stack[z, y:y + h, x:x + w].min(), rel=1e-6)


def test_stack_projections_and_reslice(ij):
    stack = (RNG.random((4, 12, 16), dtype=np.float32) * 1000).astype(np.float32)
    res = ij.run_macro(macro("projection_reslice.ijm"), inputs={"stack": Image(stack, "ZYX", "stack")})
    img = res.images
    assert np.array_equal(img["max"].data, stack.max(0))
    assert np.allclose(img["mean"].data, stack.mean(0), rtol=1e-6)
    assert np.allclose(img["sum"].data, stack.sum(0), rtol=1e-6)
    assert np.array_equal(img["min23"].data, stack[1:3].min(0))
    # Reslice from the top: one XZ slice per row, each Z high (no interpolation at 1 pixel spacing)
    assert img["resliced"].axes == "ZYX" and np.array_equal(img["resliced"].data, stack.transpose(1, 0, 2))


def test_threshold_and_mask(ij):
    raw = np.concatenate([RNG.normal(60, 12, (40, 64)), RNG.normal(170, 15, (24, 64))]).clip(0, 255)
    raw = raw.astype(np.uint8)
    res = ij.run_macro(macro("threshold_mask.ijm"), inputs={"raw": Image(raw)}, params={"method": "Otsu"})
    t = threshold_otsu(raw)  # scikit-image: foreground is raw > t; ImageJ: lower threshold t + 1
    assert res.outputs["lower"] == t + 1
    assert np.array_equal(res.images["mask"].data, np.where(raw > t, 255, 0))
    assert np.array_equal(res.images["masked"].data, np.where(raw > t, raw, 0))


def test_split_process_merge_channels(ij):
    cells = RNG.integers(0, 1000, (2, 16, 16)).astype(np.uint16)
    res = ij.run_macro(macro("channels_split_merge.ijm"), inputs={"cells": Image(cells, "CYX", "cells")},
                       params={"factor": 3})
    merged = res.images["merged"]
    assert list(res.images) == ["merged"] and merged.axes == "CYX"
    assert np.array_equal(merged.data[0], cells[0]) and np.array_equal(merged.data[1], cells[1] * 3)
    assert res.log.strip() == "channels 2 -> 2"


def test_batch_save_keeps_calibration(ij, tmp_path, capsys):
    src, dst = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    dst.mkdir()
    stacks = {}
    for name in ("s1", "s2"):
        stacks[name] = (RNG.random((3, 24, 20), dtype=np.float32) * 100).astype(np.float32)
        write_tiff(src / f"{name}.tif", Image(stacks[name], "ZYX"))
    assert main(["macro", str(HERE / "batch_calibration.ijm"), "--param", f"input={src}", "--param",
                 f"output={dst}", "--param", "pixel=0.325", "--out", str(tmp_path / "run")]) == 0
    for name, stack in stacks.items():
        saved = read_tiff(dst / f"{name}-blur.tif")
        assert saved.pixel_size == pytest.approx((2.0, 0.325, 0.325)) and saved.unit == "micron"
        # ImageJ's Gaussian (kernel cut at 0.0002, tail-corrected) vs SciPy's, slice by slice
        ref = np.stack([ndimage.gaussian_filter(s.astype(np.float64), 1.0, mode="nearest") for s in stack])
        assert np.abs(saved.data - ref).max() < 0.01 * np.ptp(stack)
        ome = read_image(dst / f"{name}-blur.ome.tif")
        assert np.array_equal(ome.data, saved.data) and ome.pixel_size == pytest.approx((2.0, 0.325, 0.325))
    assert "2 images saved" in (tmp_path / "run" / "log.txt").read_text()


def test_bio_formats_importer_picks_a_series(ij, tmp_path):
    tifffile = pytest.importorskip("tifffile")
    first = RNG.integers(0, 255, (10, 12)).astype(np.uint8)
    second = RNG.integers(0, 4000, (2, 14, 16)).astype(np.uint16)
    path = tmp_path / "plate.ome.tif"
    with tifffile.TiffWriter(path, ome=True) as tw:
        tw.write(first, metadata={"axes": "YX", "Name": "overview"})
        tw.write(second, metadata={"axes": "CYX", "Name": "well A1", "PhysicalSizeX": 0.4, "PhysicalSizeY": 0.4,
                                   "Channel": {"Name": ["DAPI", "GFP"]}})
    res = ij.run_macro(macro("bioformats_series.ijm"), params={"file": str(path), "series": 2})
    assert res.log.strip() == "plate.ome.tif - Image:1 16x14 c=2 z=1 0.4 microns"
    assert [r["Channel"] for r in res.results] == ["DAPI", "GFP"]
    assert [r["Mean"] for r in res.results] == pytest.approx([second[0].mean(), second[1].mean()], rel=1e-6)


def test_open_a_czi_file_and_project(ij, tmp_path):
    pyczi = pytest.importorskip("pylibCZIrw.czi", reason="pylibCZIrw writes the test CZI")
    stack = RNG.integers(0, 60000, (4, 20, 18)).astype(np.uint16)
    with pyczi.create_czi(str(tmp_path / "embryo.czi"), exist_ok=True) as doc:
        for z in range(4):
            doc.write(data=stack[z], plane={"C": 0, "Z": z, "T": 0})
        doc.write_metadata("embryo", scale_x=0.5e-6, scale_y=0.5e-6, scale_z=2e-6)
    res = ij.run_macro(macro("open_microscopy.ijm"), params={"file": str(tmp_path / "embryo.czi")})
    assert res.log.strip() == "embryo.czi 4 0.5 2 microns"
    assert np.array_equal(res.images["mip"].data, stack.max(0))


def test_overlay_of_particles(ij, tmp_path):
    roifile = pytest.importorskip("roifile", reason="roifile reads the overlay independently")
    img = particles_image(2)
    res = ij.run_macro(macro("overlay_labels.ijm"), inputs={"cells": Image(img)})
    ref = objects(img)
    assert res.log.strip() == f"overlay {len(ref)} -> {len(ref) + 1}"
    (tmp_path / "overlay.zip").write_bytes(res.overlays["cells"])
    rois = roifile.roiread(tmp_path / "overlay.zip")
    assert sorted((r.top, r.left, r.bottom, r.right) for r in rois[:-1]) == sorted(o.bbox for o in ref)
    assert (rois[-1].top, rois[-1].left, rois[-1].bottom, rois[-1].right) == (0, 0, 5, 5)


def test_tables_made_by_a_folder_loop(ij, tmp_path, capsys):
    src = tmp_path / "in"
    src.mkdir()
    imgs = {f"img{i}.tif": particles_image(10 + i) for i in range(3)}
    for name, img in imgs.items():
        write_tiff(src / name, Image(img))
    out = tmp_path / "run"
    assert main(["macro", str(HERE / "tables_summary.ijm"), "--param", f"input={src}", "--out", str(out)]) == 0
    per_image = rows(out / "Per image.csv")
    assert [r["Image"] for r in per_image] == list(imgs)
    assert [float(r["Mean"]) for r in per_image] == pytest.approx([img.mean() for img in imgs.values()])
    assert [float(r["Max"]) for r in per_image] == [float(img.max()) for img in imgs.values()]
    summary = rows(out / "Summary.csv")  # one row per image, as in Fiji's Summary window
    assert [r["Slice"] for r in summary] == list(imgs)
    assert [int(float(r["Count"])) for r in summary] == [len(objects(img)) for img in imgs.values()]
    # the particles' rows accumulate in Results (no "clear"), as in ImageJ even when not displayed
    assert len(rows(out / "results.csv")) == sum(len(objects(img)) for img in imgs.values())


@pytest.mark.slow  # trains a model: ~50 s on the loaded 2-core box
def test_fijax_train_predict_qc_pipeline(ij):
    from fijax.data import synthetic_pair
    from fijax.registry.models import ModelRegistry

    pair = synthetic_pair((64, 64), seed=3)
    res = ij.run_macro(macro("fijax_pipeline.ijm"), inputs={"gt": pair.gt, "noisy": pair.noisy},
                       params={"model": "corpus-n2v", "epochs": 2})
    restored = res.images["restored"].data
    assert restored.shape == (64, 64) and np.isfinite(restored).all()
    row = next(r for r in res.results if r["comparison"] == "prediction vs GT")
    assert res.outputs["psnr"] == pytest.approx(row["psnr"])
    assert ModelRegistry().get("corpus-n2v").version == 1
    assert np.isfinite(row["psnr"]) and {"source vs GT", "prediction vs GT"} <= {r["comparison"] for r in res.results}
