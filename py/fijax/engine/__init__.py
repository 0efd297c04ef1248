"""Deep-learning engine: flax.nnx networks, training, tiled prediction, Monte-Carlo dropout.

Public API (see ``docs/engine.md``):

- :class:`~fijax.engine.unet.UNet`, :class:`~fijax.engine.unet.UNetSpec` — 2D/3D U-Net (CARE defaults,
  dropout, N2V2 variant).
- :class:`~fijax.engine.config.TrainConfig`, :func:`~fijax.engine.config.preset` — the one training
  configuration and its presets (``quick``, ``care``, ``n2v``, ``n2v2``, ``n2v-fast``).
- :class:`~fijax.engine.tasks.Task`, :func:`~fijax.engine.tasks.register_task` — pluggable tasks
  (``care``, ``n2v``, ``n2v2``; segmentation plugs in the same way).
- :func:`~fijax.engine.train.train` — the training loop (validation, CSV log, LR on plateau or cosine,
  early stopping, best/last checkpoints, resume, registry).
- :func:`~fijax.engine.predict.predict` — tiled, batched, jitted prediction; ``samples=N`` for
  Monte-Carlo dropout.
- :class:`~fijax.engine.model.TrainedModel` — a network with its configuration (``.predict``).

Submodules are imported lazily by callers; importing :mod:`fijax.engine` itself is cheap.
"""
