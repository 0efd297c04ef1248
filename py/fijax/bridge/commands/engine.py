"""``FiJAX Train`` and ``FiJAX Predict``: the deep-learning engine's macro commands.

::

    run("FiJAX Train", "model=denoiser task=n2v source=[noisy stack] epochs=10");
    run("FiJAX Train", "model=care1 task=care source=[low] target=[high] preset=quick");
    run("FiJAX Predict", "model=denoiser:2 samples=20");   // active image; opens prediction (+ std)
    run("FiJAX Check", "model=denoiser");                  // active image; Results: domain_score, in_domain

``FiJAX Train`` registers a new version of ``model`` and fills the Results table with the
per-epoch log; ``FiJAX Predict`` opens the prediction (and ``std`` with ``samples=N``; ``check``
adds the domain check's values). ``FiJAX Check`` adds one Results row (image, model, domain_score,
in_domain, threshold, windows, windows_out, false_alarm_rate, seconds): is the image like the
model's training data? No ground truth needed.
"""

from __future__ import annotations

from fijax.bridge.commands import op_command

op_command("FiJAX Train", "train", inputs={"source": "source", "target": "target"},
           optional_inputs=("target",), rename={"model": "name"},
           summary="train a CARE / Noise2Void model on open images and register it")
op_command("FiJAX Predict", "predict", inputs={"image": "image"},
           summary="restore the image with a registered model (samples=N: Monte-Carlo mean and std)")
op_command("FiJAX Check", "check", inputs={"image": "image"},
           summary="domain check without ground truth: is the image like the model's training data?")
