"""Helpers of the hostile-input tests: a live ``fijax serve`` subprocess, a tiny registered model, TIFF bytes."""

from __future__ import annotations

import io
import json
import os
import signal
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import tifffile

from fijax.client import Client


def tiff_bytes(arr: np.ndarray, **kwargs) -> bytes:
    buf = io.BytesIO()
    tifffile.imwrite(buf, arr, **kwargs)
    return buf.getvalue()


def bomb_tiff(path: Path, side: int = 20000, dtype=np.uint8) -> Path:
    """A small deflate TIFF whose one strip decodes to ``side``² zero pixels (a decompression bomb)."""
    dtype = np.dtype(dtype)
    comp = zlib.compressobj(9)
    chunk = bytes(1 << 20)
    total = side * side * dtype.itemsize
    parts = [comp.compress(chunk) for _ in range(total // len(chunk))]
    parts += [comp.compress(bytes(total % len(chunk))), comp.flush()]
    strip = b"".join(parts)
    fmt = 3 if dtype.kind == "f" else 1
    tags = [(256, 4, side), (257, 4, side), (258, 3, dtype.itemsize * 8), (259, 3, 8), (262, 3, 1),
            (273, 4, 8), (277, 3, 1), (278, 4, side), (279, 4, len(strip)), (339, 3, fmt)]
    ifd = struct.pack("<H", len(tags))
    for tag, typ, value in tags:
        ifd += struct.pack("<HHI", tag, typ, 1) + (struct.pack("<HH", value, 0) if typ == 3 else struct.pack("<I", value))
    ifd += struct.pack("<I", 0)
    path.write_bytes(struct.pack("<2sHI", b"II", 42, 8 + len(strip)) + strip + ifd)
    return path


def register_untrained(home: Path, name: str, seed: int = 0):
    """Register an untrained quick N2V network as ``name`` in the registry under ``home`` (fast)."""
    from fijax.engine.checkpoint import model_arrays, save_npz
    from fijax.engine.config import preset
    from fijax.engine.model import build_unet
    from fijax.registry.models import ModelRegistry
    from fijax.versions import library_versions

    cfg = preset("quick", "n2v", seed=seed).resolved()
    model, spec = build_unet(cfg, 1, 1)
    src = Path(home) / f"_src_{name}"
    src.mkdir(parents=True, exist_ok=True)
    save_npz(src / "weights.npz", model_arrays(model))
    meta = {"config": cfg.model_dump(mode="json"), "unet": spec.to_dict(), "task": "n2v",
            "normalization": {"method": "percentile", "pmin": cfg.norm_pmin, "pmax": cfg.norm_pmax,
                              "per_image": True}}
    (src / "config.json").write_text(json.dumps(meta))
    (src / "log.csv").write_text("epoch,loss\n1,0.5\n")
    card = {"task": "n2v", "config": cfg.model_dump(mode="json"), "unet": spec.to_dict(), "seed": seed,
            "metrics": {"val_loss": 0.1, "epochs": 1}, "parent": None, "normalization": meta["normalization"],
            "versions": library_versions(), "device": "cpu", "training_seconds": 0.0,
            "data": {"sources": [], "image_count": 0, "validation": "none"}}
    files = {n: src / n for n in ("weights.npz", "config.json", "log.csv")}
    return ModelRegistry(home).register(name, files, card)


class LiveServer:
    """``fijax serve --port 0`` in a subprocess with its own FIJAX_HOME."""

    def __init__(self, home: Path, *args: str):
        self.home, self.args = Path(home), list(args)
        self.proc: subprocess.Popen | None = None
        self.url = self.token = ""

    def start(self, timeout: float = 180.0) -> LiveServer:
        token_file = self.home / "token"
        env = dict(os.environ, FIJAX_HOME=str(self.home), JAX_PLATFORMS="cpu")
        self.log = open(self.home / "server.log", "ab")  # noqa: SIM115 - kept open for the process
        self.proc = subprocess.Popen([sys.executable, "-m", "fijax", "serve", "--port", "0", "--token-file",
                                      str(token_file), *self.args], env=env, stdout=self.log, stderr=self.log)
        try:
            with Client.wait_for_server(token_file, wait_s=timeout, process=self.proc) as c:
                self.token, self.url = c.token, c.url
        except Exception as exc:
            raise RuntimeError(f"{exc}: {(self.home / 'server.log').read_text()[-3000:]}") from exc
        return self

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"token {self.token}"}

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        if getattr(self, "log", None):
            self.log.close()
