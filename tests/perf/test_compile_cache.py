"""The persistent compilation cache: created under $FIJAX_HOME, reused by a second process, never fatal.

"Reused" is asserted on JAX's own cache events (hits and misses counted in the child process)
and on the files, never on time.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tifffile

from fijax import compile_cache

#: One operation call through the ops table (the path every face takes), then JAX's cache events.
CHILD = """
import json, sys, warnings
import numpy as np, tifffile
from fijax import compile_cache, ops
from fijax.io.image import Image
counter = compile_cache.CompileCounter.install()
warnings.simplefilter("always")
with warnings.catch_warnings(record=True) as caught:
    raw = tifffile.imread(sys.argv[1])
    res = ops.get("puredenoise")({"image": Image(raw, "YX")}, {"alpha": 1.0, "delta": 0.0, "sigma": 1.0,
                                                              "cycle_spins": int(sys.argv[3])})
(out,) = res.images.values()
np.save(sys.argv[2], out.data)
print(json.dumps({"hits": counter.hits, "misses": counter.misses,
                  "warnings": [f"{w.category.__name__}: {w.message}" for w in caught]}))
"""


def _child(tmp: Path, home: Path, tag: str, spins: int = 2, **env: str) -> tuple[dict, np.ndarray]:
    raw = tmp / "raw.tif"
    if not raw.exists():
        rng = np.random.default_rng(0)
        tifffile.imwrite(raw, (rng.poisson(5.0, (40, 36)) + rng.normal(0, 1, (40, 36))).astype(np.float32))
    out = tmp / f"{tag}.npy"
    proc = subprocess.run([sys.executable, "-c", CHILD, str(raw), str(out), str(spins)],
                          env={**os.environ, "FIJAX_HOME": str(home), "JAX_PLATFORMS": "cpu", **env},
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1]), np.load(out)


def test_cache_is_created_under_home_and_reused_by_a_second_process(tmp_path):
    home = tmp_path / "home"
    first, out1 = _child(tmp_path, home, "first")
    assert first["misses"] >= 1 and first["hits"] == 0
    entries = compile_cache.entries(home / "jax-cache")
    assert entries, "no executable written under $FIJAX_HOME/jax-cache"
    exported = list((home / "jax-cache" / "export").glob("puredenoise-*.stablehlo"))
    assert len(exported) == 1
    stamp = exported[0].stat().st_mtime_ns

    # a second process, and another number of cycle spins (a traced value): nothing is compiled
    second, out2 = _child(tmp_path, home, "second", spins=3)
    assert second["misses"] == 0 and second["hits"] >= 1, second
    assert compile_cache.entries(home / "jax-cache") == entries
    assert exported[0].stat().st_mtime_ns == stamp  # the traced program was read, not rebuilt
    assert not second["warnings"]
    third, out3 = _child(tmp_path, home, "third")
    np.testing.assert_array_equal(out3, out1)
    assert not np.array_equal(out2, out1)  # 3 spins really differ from 2


def test_corrupt_cache_is_ignored_with_a_warning(tmp_path):
    home = tmp_path / "home"
    _, out1 = _child(tmp_path, home, "first")
    cache = home / "jax-cache"
    for p in compile_cache.entries(cache) + list((cache / "export").iterdir()):
        p.write_bytes(b"\x00garbage, not a cache entry")
    info, out2 = _child(tmp_path, home, "corrupt")
    np.testing.assert_array_equal(out2, out1)
    text = " ".join(info["warnings"])
    assert "CompileCacheWarning" in text and "unreadable compiled-kernel entry" in text
    assert "removed corrupt compilation cache entry" in text
    # the entries were rebuilt: a fourth process compiles nothing
    again, out3 = _child(tmp_path, home, "again")
    np.testing.assert_array_equal(out3, out1)
    assert again["misses"] == 0 and again["hits"] >= 1 and not again["warnings"]


def test_truncated_entry_is_a_warning_and_a_recompile(tmp_path):
    home = tmp_path / "home"
    _, out1 = _child(tmp_path, home, "first")
    entries = compile_cache.entries(home / "jax-cache")
    biggest = max(entries, key=lambda p: p.stat().st_size)
    biggest.write_bytes(biggest.read_bytes()[:64])  # a valid header, then nothing: only reading tells
    info, out2 = _child(tmp_path, home, "truncated")
    np.testing.assert_array_equal(out2, out1)
    assert info["misses"] >= 1
    assert any("Error reading persistent compilation cache entry" in w for w in info["warnings"]), info


def test_full_cache_is_a_warning_not_an_error(tmp_path):
    home = tmp_path / "home"
    info, out = _child(tmp_path, home, "tiny", FIJAX_COMPILE_CACHE_MAX="1K")
    assert np.isfinite(out).all()
    assert any("exceeds the maximum cache size" in w for w in info["warnings"]), info
    assert compile_cache.entries(home / "jax-cache") == []  # nothing over the cap was written


def test_unusable_cache_folder_warns_and_runs(tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    info, out = _child(tmp_path, tmp_path / "home", "blocked", FIJAX_COMPILE_CACHE=str(blocker / "cache"))
    assert np.isfinite(out).all()
    assert any("CompileCacheWarning" in w and "not usable" in w for w in info["warnings"]), info


def test_cache_can_be_turned_off(monkeypatch):
    monkeypatch.setenv("FIJAX_COMPILE_CACHE", "off")
    assert compile_cache.cache_dir() is None
    assert compile_cache.enable() is None


def test_settings_parse():
    assert compile_cache.parse_size("2G") == 2 << 30
    assert compile_cache.parse_size("512M") == 512 << 20
    assert compile_cache.parse_size("1048576") == 1 << 20
    with pytest.raises(ValueError, match="not a size"):
        compile_cache.parse_size("lots")


def test_bad_cap_warns_and_uses_the_default(monkeypatch):
    monkeypatch.setenv("FIJAX_COMPILE_CACHE_MAX", "lots")
    with pytest.warns(compile_cache.CompileCacheWarning, match="FIJAX_COMPILE_CACHE_MAX"):
        assert compile_cache.max_bytes() == compile_cache.DEFAULT_MAX_BYTES


def test_a_kernel_that_cannot_be_serialized_still_runs(tmp_path, monkeypatch):
    # jax.export needs the flatbuffers package to serialize; without it (or on any other failure)
    # the kernel must run unstored, with a warning, never an error
    import jax.numpy as jnp
    from jax import export

    def refuse(self, *a, **k):
        raise ImportError("Please install 'flatbuffers' in order to use Exported serialization")

    monkeypatch.setenv("FIJAX_HOME", str(tmp_path / "home"))
    monkeypatch.setattr(export.Exported, "serialize", refuse)

    def kernel(x, *, k):
        return x * k

    args = (jnp.arange(4.0),)
    with pytest.warns(compile_cache.CompileCacheWarning, match="flatbuffers"):
        call = compile_cache.exported_kernel("refused", kernel, args, {"k": 3}, [__file__])
    np.testing.assert_allclose(np.asarray(call(*args)), [0.0, 3.0, 6.0, 9.0])
    assert not list((tmp_path / "home").rglob("refused-*.stablehlo"))
