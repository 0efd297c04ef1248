"""What ``fijax demo`` needs: generated sample data and a small denoiser trained quickly on CPU.

:func:`demo_model` trains a small Noise2Void U-Net (the engine's ``quick`` CPU preset, with dropout so
Monte-Carlo uncertainty works) on generated noisy images only — self-supervised, as a user without
clean data would — and registers it as ``demo-denoiser`` under ``$FIJAX_HOME``. A registered version
trained with the same recipe and data is reused, so a second demo starts at once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fijax.data import SyntheticPair, synthetic_pair
from fijax.io import write_tiff

log = logging.getLogger(__name__)

#: Name of the demo model in the registry.
DEMO_MODEL = "demo-denoiser"

#: Seeds of the generated training images (the test image uses seed 0).
TRAIN_SEEDS = (11, 12, 13)


def demo_config(epochs: int = 10, seed: int = 0):
    """The demo's training configuration: ``quick`` preset, N2V, dropout 0.1."""
    from fijax.engine.config import preset

    return preset("quick", task="n2v", dropout=0.1, epochs=epochs, seed=seed)


def demo_model(size: int = 128, epochs: int = 10, seed: int = 0, retrain: bool = False,
               progress: Callable[[float, str], None] | None = None) -> tuple[str, bool]:
    """Return ``(ref, trained_now)`` of a registered demo denoiser, training it when needed.

    Parameters
    ----------
    size : int
        Side of the generated training images.
    epochs : int
        Epochs of the quick preset (25 steps each).
    seed : int
        Training seed.
    retrain : bool
        Train a new version even when a matching one is registered.
    """
    from fijax.engine.train import train
    from fijax.errors import NotFoundError
    from fijax.io.hashing import pixels_sha256
    from fijax.registry.models import ModelRegistry

    cfg = demo_config(epochs, seed)
    sources = [synthetic_pair((size, size), seed=s).noisy for s in TRAIN_SEEDS]
    for i, img in enumerate(sources):
        img.title = f"demo-train-{TRAIN_SEEDS[i]}"
    hashes = [pixels_sha256(s.data) for s in sources]
    registry = ModelRegistry()
    if not retrain:
        try:
            versions = registry.list(DEMO_MODEL)
        except NotFoundError:
            versions = []
        want = cfg.resolved().model_dump(mode="json")
        for rec in reversed(versions):
            card = rec.card
            if card.get("config") == want and [d.get("sha256") for d in card.get("data", {}).get("sources", [])] \
                    == hashes and rec.weights_path.is_file():
                return rec.ref, False
    result = train(cfg, sources, name=DEMO_MODEL, registry=registry, progress=progress)
    return result.record.ref, True


def write_sample(out: Path, size: int = 128, seed: int = 0) -> tuple[SyntheticPair, dict[str, Path]]:
    """Write the demo's test image ``noisy.tif`` and ``gt.tif`` to ``out`` (atomically)."""
    pair = synthetic_pair((size, size), seed=seed)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"noisy": out / "noisy.tif", "gt": out / "gt.tif"}
    write_tiff(paths["noisy"], pair.noisy)
    write_tiff(paths["gt"], pair.gt)
    return pair, paths


def macro_path() -> Path:
    """``macros/compare_denoisers.ijm`` of the checkout (or the packaged copy)."""
    from importlib import resources

    from fijax.paths import project_root

    root = project_root()
    if root is not None and (root / "macros" / "compare_denoisers.ijm").is_file():
        return root / "macros" / "compare_denoisers.ijm"
    return Path(str(resources.files("fijax").joinpath("data/compare_denoisers.ijm")))


def summary_lines(table: list[dict[str, Any]]) -> list[str]:
    """The comparison table as aligned text lines (for the terminal)."""
    if not table:
        return []
    if "ssim" not in table[0]:
        return [f"  {r['method']:<34} mean {r.get('mean', float('nan')):8.2f}" for r in table]
    lines = [f"  {'method':<34} {'SSIM':>6} {'PSNR':>7}  verdict"]
    for r in table:
        lines.append(f"  {str(r['method']):<34} {float(r['ssim']):6.3f} {float(r['psnr']):7.2f}  {r.get('verdict', '')}")
    return lines
