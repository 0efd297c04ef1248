"""One utility each in fijax.io: CSV text, strict JSON, pixel and file digests, safe names."""

from __future__ import annotations

import csv
import io
import json

import numpy as np
import pytest

from fijax.data import pixels_sha256 as data_pixels_sha256
from fijax.data import synthetic_pair
from fijax.errors import InputError
from fijax.io.hashing import pixels_sha256, sha256_file
from fijax.io.names import check_relative_path, check_title, safe_name
from fijax.io.table import csv_text, jsonable
from fijax.qc.dataset import load_set


def test_csv_text_columns_first_extras_kept_or_left_out():
    rows = [{"b": 1, "a": 2.5}, {"a": 3, "c": "x y"}]
    assert csv_text(rows, ["a"]) == "a,b,c\n2.5,1,\n3,,x y\n"
    assert csv_text(rows, ["a", "b"], extra=False) == "a,b\n2.5,1\n3,\n"
    text = csv_text(rows, ["a"], extra=False, fmt=lambda v: f"{v:.3g}" if isinstance(v, float) else v)
    assert text == "a\n2.5\n3\n"
    assert list(csv.DictReader(io.StringIO(csv_text([{"q": 'say "hi", twice'}])))) == [{"q": 'say "hi", twice'}]


def test_jsonable_one_rule_for_non_finite_numbers():
    out = jsonable({"inf": float("inf"), "ninf": np.float64(-np.inf), "nan": np.float32("nan"),
                    "arr": np.arange(3), 1: (np.int64(2), {3}), "ok": 0.5})
    assert out == {"inf": "inf", "ninf": "-inf", "nan": None, "arr": [0, 1, 2], "1": [2, [3]], "ok": 0.5}
    json.dumps(out, allow_nan=False)  # strict JSON


def test_one_pixel_digest_everywhere(tmp_path):
    pair = synthetic_pair((32, 32), seed=3)
    digest = pixels_sha256(pair.noisy.data)
    assert pair.params["noisy_sha256"] == digest == data_pixels_sha256(pair.noisy.data)
    # the dataset QC records the same digest for the same pixels (the overlap check compares them)
    _, hashes = load_set({"noisy": pair.noisy.data}, "source")
    assert hashes == {"noisy": digest}
    assert pixels_sha256(pair.noisy.data.astype(np.float64)) != digest  # dtype is part of the identity
    assert pixels_sha256(pair.noisy.data.reshape(16, 64)) != digest  # and the shape
    assert pixels_sha256(np.asfortranarray(pair.noisy.data)) == digest  # memory layout is not
    path = tmp_path / "f.bin"
    path.write_bytes(b"abc")
    assert sha256_file(path) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"


def test_safe_names_and_paths():
    taken: set[str] = set()
    assert [safe_name(t, taken) for t in ["a b", "a b", "../x", "", "ü.tif"]] == ["a_b", "a_b_2", "x", "image", "tif"]
    assert len(safe_name("x" * 200)) == 80
    assert str(check_relative_path("plots/loss.png")) == "plots/loss.png"
    for bad in ["../x", "/etc/passwd", "a/../b", "C:/x", "a\\b", ""]:
        with pytest.raises(InputError):
            check_relative_path(bad)
    assert check_title("noisy.tif") == "noisy"
    with pytest.raises(InputError):
        check_title("../noisy.tif")



def test_find_and_pair_tiffs(tmp_path):
    from fijax.io.datasets import find_tiffs, pair_by_name, tiff_stem, tiffs_by_name

    for name in ["b.tif", "a.TIFF", ".hidden.tif", "notes.txt", "c.ome.tif"]:
        (tmp_path / name).write_bytes(b"")
    (tmp_path / "sub.tif").mkdir()  # a folder named like a TIFF is not a file
    assert [p.name for p in find_tiffs(tmp_path)] == ["a.TIFF", "b.tif", "c.ome.tif"]
    assert list(tiffs_by_name([tmp_path])) == ["a", "b", "c"] and tiff_stem("x/y.ome.tiff") == "y"
    with pytest.raises(InputError, match="^gt: no such file or folder"):
        find_tiffs(tmp_path / "nope", "gt")
    (tmp_path / "b.tiff").write_bytes(b"")
    with pytest.raises(InputError, match="two files named 'b'"):
        tiffs_by_name(tmp_path)
    # the one pairing rule: by name, extras left out; one image on each side pairs whatever the names
    assert pair_by_name({"b": 1, "a": 2}, {"a": "A", "b": "B", "z": "Z"}, "prediction") == {"b": "B", "a": "A"}
    assert pair_by_name({"gt": 1}, {"pred": "P"}, "prediction") == {"gt": "P"}
    with pytest.raises(InputError, match=r"^prediction: no file with the same name as GT image\(s\) a$"):
        pair_by_name({"a": 1, "b": 2}, {"b": "B", "z": "Z"}, "prediction")
