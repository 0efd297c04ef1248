"""Model registry: versions, hashes, tamper refusal, atomic registration, references."""

from __future__ import annotations

import json

import numpy as np
import pytest

from fijax.engine.checkpoint import model_arrays, save_npz
from fijax.engine.config import preset
from fijax.engine.model import build_unet, load_model
from fijax.errors import InputError, NotFoundError
from fijax.registry.models import ModelRegistry, parse_ref


def _files(tmp_path, seed=0):
    """A model folder's files (untrained network) and a minimal card."""
    cfg = preset("quick", "n2v", seed=seed).resolved()
    model, spec = build_unet(cfg, 1, 1)
    src = tmp_path / f"src{seed}"
    src.mkdir(exist_ok=True)
    save_npz(src / "weights.npz", model_arrays(model))
    (src / "config.json").write_text(json.dumps({"config": cfg.model_dump(mode="json"), "unet": spec.to_dict()}))
    (src / "log.csv").write_text("epoch,loss\n1,0.5\n")
    files = {n: src / n for n in ("weights.npz", "config.json", "log.csv")}
    card = {"task": "n2v", "config": cfg.model_dump(mode="json"), "unet": spec.to_dict(), "seed": seed,
            "metrics": {"val_loss": 0.1, "epochs": 1}, "parent": None}
    return files, card, model


def test_versions_increment_and_never_overwrite(tmp_path):
    reg = ModelRegistry(tmp_path / "home")
    f1, card, _ = _files(tmp_path, 0)
    f2, card2, _ = _files(tmp_path, 1)
    r1 = reg.register("den", f1, card)
    before = (r1.path / "weights.npz").read_bytes()
    r2 = reg.register("den", f2, card2)
    assert (r1.version, r2.version) == (1, 2) and r1.path != r2.path
    assert (r1.path / "weights.npz").read_bytes() == before
    assert reg.get("den").version == 2 and reg.get("den:1").weights_sha256 == r1.weights_sha256
    assert [r.ref for r in reg.list()] == ["den:1", "den:2"]
    # a folder orphaned by a crash between rename and commit is skipped, never reused
    (reg.models_dir / "den" / "3").mkdir()
    assert reg.register("den", f1, card).version == 4
    assert reg.check_consistency() == []
    card_file = json.loads((r2.path / "card.json").read_text())
    assert card_file["version"] == 2 and card_file["files"]["weights.npz"] == r2.weights_sha256


def test_load_verifies_sha256(tmp_path):
    reg = ModelRegistry(tmp_path / "home")
    files, card, model = _files(tmp_path)
    rec = reg.register("m", files, card)
    loaded = load_model("m", registry=reg)
    a, b = model_arrays(model), model_arrays(loaded.model)
    assert all(np.array_equal(a[k], b[k]) for k in a)
    raw = bytearray(rec.weights_path.read_bytes())
    raw[-100] ^= 0xFF  # flip bits inside the last array
    rec.weights_path.write_bytes(bytes(raw))
    with pytest.raises(InputError, match="sha256"):
        load_model("m:1", registry=reg)
    rec.weights_path.unlink()
    with pytest.raises(InputError, match="missing"):
        load_model("m", registry=reg)


def test_failed_registration_leaves_nothing(tmp_path):
    reg = ModelRegistry(tmp_path / "home")
    files, card, _ = _files(tmp_path)
    with pytest.raises(InputError):
        reg.register("m", {"config.json": files["config.json"]}, card)
    with pytest.raises(FileNotFoundError):
        reg.register("m", dict(files, extra=tmp_path / "does-not-exist"), card)
    with pytest.raises(InputError):
        reg.register("bad name", files, card)
    assert reg.list() == []
    assert list((reg.models_dir / "m").iterdir()) == []


def test_references_and_unknown_models(tmp_path):
    assert parse_ref("a") == ("a", None) and parse_ref("a:latest") == ("a", None)
    assert parse_ref("my.model-2:12") == ("my.model-2", 12)
    for bad in ("", "a:0", "a:x", "a/b", ":3", "a:1:2"):
        with pytest.raises(InputError):
            parse_ref(bad)
    reg = ModelRegistry(tmp_path / "home")
    with pytest.raises(NotFoundError, match="unknown model"):
        reg.get("nope")
    files, card, _ = _files(tmp_path)
    reg.register("m", files, card)
    with pytest.raises(NotFoundError, match="versions: 1"):
        reg.get("m:5")


def test_default_root_is_fijax_home(tmp_path, monkeypatch):
    monkeypatch.setenv("FIJAX_HOME", str(tmp_path / "elsewhere"))
    reg = ModelRegistry()
    assert reg.root == tmp_path / "elsewhere" and reg.db_path.parent == reg.root
