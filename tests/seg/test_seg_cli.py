"""``fijax train seg`` and ``fijax predict`` with a segmentation model, end to end on TIFF files."""

from __future__ import annotations

import csv
import json

import numpy as np

from fijax.cli.main import main
from fijax.io import Image, read_tiff, write_tiff


def test_cli_train_seg_then_predict(tmp_path, make_nuclei, capsys):
    x, y = make_nuclei(4, 48, seed=8)
    (tmp_path / "img").mkdir()
    (tmp_path / "lab").mkdir()
    for i in range(4):
        write_tiff(tmp_path / "img" / f"c{i}.tif", Image(x[i], "YX"))
        write_tiff(tmp_path / "lab" / f"c{i}.tif", Image(y[i].astype(np.uint16), "YX"))
    rc = main(["train", "seg", "--source", str(tmp_path / "img"), "--target", str(tmp_path / "lab"),
               "--name", "cli-nuclei", "--preset", "quick", "--epochs", "1", "--steps", "4", "--patch", "32",
               "--val-fraction", "0.25", "--dropout", "0.1", "--set", "depth=1", "filters=4", "--quiet", "--json"])
    out = capsys.readouterr().out
    assert rc == 0, out
    info = json.loads(out.strip().splitlines()[-1])
    assert info["model"] == "cli-nuclei:1" and info["task"] == "seg"

    rc = main(["predict", str(tmp_path / "img" / "c0.tif"), "--model", "cli-nuclei", "--out",
               str(tmp_path / "c0-labels.tif"), "--json"])
    assert rc == 0
    kinds = {json.loads(line)["kind"] for line in capsys.readouterr().out.strip().splitlines()}
    assert kinds == {"labels", "probabilities", "objects"}
    labels = read_tiff(tmp_path / "c0-labels.tif")
    assert labels.data.shape == (48, 48) and np.issubdtype(labels.data.dtype, np.integer)
    probs = read_tiff(tmp_path / "c0-labels_probabilities.tif")
    assert probs.axes == "CYX" and probs.data.shape == (3, 48, 48)
    rows = list(csv.DictReader((tmp_path / "c0-labels_objects.csv").open()))
    assert len(rows) == int(labels.data.max())
    if rows:
        assert {"label", "area", "centroid_y", "centroid_x", "confidence"} <= set(rows[0])

    # bad input: label images that do not match the images
    write_tiff(tmp_path / "lab" / "c0.tif", Image(y[0][:40].astype(np.uint16), "YX"))
    rc = main(["train", "seg", "--source", str(tmp_path / "img"), "--target", str(tmp_path / "lab"),
               "--name", "cli-bad", "--preset", "quick", "--quiet"])
    assert rc == 2 and "differ in shape" in capsys.readouterr().err
