"""Report tests: one private fijax home per module with a tiny trained CARE model (and a fine-tuned child).

Training uses the engine's quick CPU preset for a handful of steps (seconds). The data are TIFF
files with ImageJ calibration and an ``info`` string, so the report can find pixel size and
microscope metadata in the files.
"""

from __future__ import annotations

import pytest
from report_helpers import synthetic_pair, write_calibrated


@pytest.fixture(scope="session")
def _trained(tmp_path_factory):
    """Train once per session: model ``care_demo`` (v1, from scratch) and ``care_child`` (fine-tuned from it)."""
    from fijax import ops

    root = tmp_path_factory.mktemp("report")
    data = root / "data"
    for sub in ("train_src", "train_gt", "eval_src", "eval_gt"):
        (data / sub).mkdir(parents=True)
    for i in range(2):
        gt, src = synthetic_pair(i)
        write_calibrated(data / "train_src" / f"img{i}.tif", src)
        write_calibrated(data / "train_gt" / f"img{i}.tif", gt)
    gt, src = synthetic_pair(99)
    write_calibrated(data / "eval_src" / "new.tif", src)
    write_calibrated(data / "eval_gt" / "new.tif", gt)
    common = {"task": "care", "preset": "quick", "epochs": 2, "steps_per_epoch": 3, "batch_size": 4,
              "source_paths": [str(data / "train_src")], "target_paths": [str(data / "train_gt")]}
    with pytest.MonkeyPatch.context() as mp:  # the registry under a private home, only while training
        mp.setenv("FIJAX_HOME", str(root / "home"))
        train = ops.get("train")
        train({}, {"name": "care_demo", **common})
        train({}, {"name": "care_child", "parent": "care_demo", **common})
    return {"root": root, "data": data, "home": root / "home"}


@pytest.fixture(scope="module")
def env(_trained):
    """The trained models' home as FIJAX_HOME for the duration of a test module."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("FIJAX_HOME", str(_trained["home"]))
        yield _trained
