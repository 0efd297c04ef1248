"""``FiJAX Segment`` and ``FiJAX Train`` (task=seg) in real ImageJ macros (headless JVM)."""

from __future__ import annotations

import numpy as np
import pytest

from fijax.errors import MacroError
from fijax.io import Image

pytestmark = pytest.mark.jvm


def test_segment_macro_opens_labels_and_fills_results(ij, trained, make_nuclei, monkeypatch):
    root, res = trained
    monkeypatch.setenv("FIJAX_HOME", str(root))
    x, _ = make_nuclei(1, 64, seed=91)
    out = ij.run_macro('run("FiJAX Segment", "model=nuclei samples=3 output=cells-labels");\nreturn "" + nResults;',
                       inputs={"cells": Image(x[0], "YX", "cells")})
    labels = out.images["cells-labels"].data
    assert labels.shape == (64, 64) and labels.max() > 5
    assert int(out.value) == len(out.results) == int(labels.max())
    areas = np.bincount(labels.astype(np.int64).ravel())
    for row in out.results:
        assert row["area"] == areas[int(row["label"])]
        assert 0 <= row["confidence"] <= 1 and row["confidence_std"] >= 0
    with pytest.raises(MacroError, match="model"):
        ij.run_macro('run("FiJAX Segment", "samples=2");', inputs={"cells": Image(x[0], "YX", "cells")})


def test_train_macro_with_seg_task(ij, make_nuclei):
    x, y = make_nuclei(4, 48, seed=12)
    out = ij.run_macro('run("FiJAX Train", "model=macro-nuclei task=seg source=img target=lab preset=quick '
                       'epochs=1 steps_per_epoch=2 patch_size=32 val_fraction=0.25");\n'
                       'run("FiJAX Segment", "model=macro-nuclei image=img probabilities=false");',
                       inputs={"img": Image(x, "TYX", "img"), "lab": Image(y.astype(np.uint16), "TYX", "lab")})
    # without output= the images are titled by their kind, as with FiJAX Predict
    assert sorted(out.images) == ["img", "lab", "labels"]
    assert out.images["labels"].data.shape == (4, 48, 48)
