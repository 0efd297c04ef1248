"""A macro's ``run("FiJAX Train", ...)`` reports progress to ImageJ's Log and, on ``fijax serve``, to the
macro job's progress events (worker ``_run_macro`` with the job's progress)."""

from __future__ import annotations

import numpy as np

from fijax.io import Image


def test_macro_training_progress_reaches_the_job_events(ij):
    from fijax.server.worker import _run_macro

    rng = np.random.default_rng(0)
    noisy = Image(rng.poisson(20.0, (2, 48, 48)).astype(np.float32), "TYX", "noisy")
    macro = ('run("FiJAX Train", "model=events-n2v task=n2v source=noisy preset=quick epochs=2 '
             'steps_per_epoch=3 patch_size=32 val_fraction=0.4 seed=1");')
    events: list[tuple[float, str]] = []
    images, table, values, files, log = _run_macro(macro, {"noisy": noisy}, lambda: False,
                                                   progress=lambda f, m: events.append((f, m)))
    steps = [m for _, m in events if "step" in m]
    assert steps[0].startswith("FiJAX Train: epoch 1/2 step 1/6")
    assert steps[-1].startswith("FiJAX Train: epoch 2/2 step 6/6")
    fractions = [f for f, _ in events]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert "FiJAX Train: 100%" in log  # and ImageJ's Log window got it too
