"""``FiJAX Train`` (N2V) and ``FiJAX Predict`` (with Monte-Carlo samples) in a real headless ImageJ macro."""

from __future__ import annotations

import numpy as np
import pytest
from engine_synth import fluorescence, poisson_gaussian

from fijax.errors import MacroError
from fijax.io import Image
from fijax.registry.models import ModelRegistry

pytestmark = pytest.mark.jvm


def test_train_then_predict_from_a_macro(ij):
    gt = fluorescence(2, 64, seed=5)
    noisy = poisson_gaussian(gt, seed=6)
    macro = ('run("FiJAX Train", "model=macro-n2v task=n2v source=noisy preset=quick epochs=2 '
             'steps_per_epoch=5 patch_size=32 val_fraction=0.2 dropout=0.1 seed=3");\n'
             'nLog = nResults;\n'
             'selectImage("noisy");\n'
             'run("FiJAX Predict", "model=macro-n2v samples=3 output=restored");\n'
             'return "" + nLog;')
    out = ij.run_macro(macro, inputs={"noisy": Image(noisy, "TYX", "noisy")})
    # the training log filled the Results table, one row per epoch
    assert int(out.value) == 2
    # progress reached ImageJ's Log window (headless: the macro's log) in plain units: steps, MC samples
    assert "FiJAX Train: 100% epoch 2/2 step 10/10" in out.log, out.log
    assert "FiJAX Predict: 100% image 2/2 sample 3/3" in out.log, out.log
    restored, std = out.images["restored"].data, out.images["restored-std"].data
    assert restored.shape == std.shape == noisy.shape
    assert np.all(np.isfinite(restored)) and np.all(std >= 0) and std.max() > 0
    # the model the macro trained is in the registry, with its provenance
    rec = ModelRegistry().get("macro-n2v")
    assert rec.version == 1 and rec.weights_sha256
    with pytest.raises(MacroError, match="unknown-model"):
        ij.run_macro('run("FiJAX Predict", "model=unknown-model");', inputs={"noisy": Image(noisy[0], "YX", "noisy")})
