"""Test helpers: synthetic nuclei (:func:`fijax.engine.seg_synthetic.touching_nuclei`), a tiny config."""

from __future__ import annotations

from fijax.engine.seg_synthetic import touching_nuclei as nuclei

__all__ = ["nuclei", "small_config"]


def small_config(**kw):
    """A tiny CPU configuration of the ``seg`` task (depth 2, 8 filters, 6 x 20 steps of 8 x 32²)."""
    from fijax.engine.config import preset

    values = dict(depth=2, filters=8, epochs=6, steps_per_epoch=20, patch_size=(32, 32), batch_size=8,
                  val_fraction=0.2, learning_rate=3e-3, dropout=0.1, seed=1)
    values.update(kw)
    return preset("quick", task="seg", **values)
