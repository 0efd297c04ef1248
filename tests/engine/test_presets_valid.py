"""Every training preset builds a complete, valid configuration for the tasks it is meant for."""

from __future__ import annotations

import pytest

from fijax.engine.config import PRESETS, preset
from fijax.errors import InputError


@pytest.mark.parametrize("name", sorted(PRESETS))
@pytest.mark.parametrize("ndim", [2, 3])
def test_preset_resolves(name, ndim):
    task = "seg" if name == "seg" else ("care" if name == "care" else "n2v")
    cfg = preset(name, task, ndim=ndim).resolved()
    assert cfg.preset == name and cfg.ndim == ndim
    assert len(cfg.patch_size) == ndim
    assert all(p % 2 ** cfg.depth == 0 for p in cfg.patch_size)
    assert cfg.kernel % 2 == 1 and cfg.loss is not None and cfg.select is not None
    if cfg.lr_schedule == "cosine":
        # the warm-up must end well inside the schedule, or the cosine decay never starts
        assert cfg.warmup_steps < cfg.epochs * cfg.steps_per_epoch / 4


def test_preset_overrides_are_validated():
    with pytest.raises(InputError, match="patch_size"):
        preset("n2v-fast", "n2v", patch_size=(30, 30))
    with pytest.raises(InputError, match="unknown preset"):
        preset("n2v-fastest", "n2v")
