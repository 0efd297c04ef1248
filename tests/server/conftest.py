"""Live servers on loopback for the server tests (``fijax serve`` in a subprocess)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from fijax.client import Client
from fijax.errors import FijaxError

HERE = Path(__file__).resolve().parent


class LiveServer:
    """A ``fijax serve --port 0`` subprocess with its own FIJAX_HOME and the test operations."""

    def __init__(self, home: Path, *args: str):
        self.home = Path(home)
        self.args = list(args)
        self.proc: subprocess.Popen | None = None
        self.url = self.token = ""

    def start(self, timeout: float = 120.0) -> LiveServer:
        token_file = self.home / "token"
        if token_file.exists():
            token_file.unlink()
        env = dict(os.environ, FIJAX_HOME=str(self.home), FIJAX_EXTRA_OPS="fijax_test_ops",
                   PYTHONPATH=os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")]),
                   JAX_PLATFORMS="cpu")
        self.log = open(self.home / "server.log", "ab")  # noqa: SIM115 - kept open for the process
        self.proc = subprocess.Popen([sys.executable, "-m", "fijax", "serve", "--port", "0", "--token-file",
                                      str(token_file), *self.args], env=env, stdout=self.log, stderr=self.log)
        deadline = time.monotonic() + timeout
        try:
            with Client.wait_for_server(token_file, wait_s=timeout, process=self.proc) as c:
                self.token, self.url = c.token, c.url
        except FijaxError as exc:
            raise RuntimeError(f"{exc}: {(self.home / 'server.log').read_text()[-3000:]}") from exc
        self.wait_worker_ready(deadline - time.monotonic())
        return self

    def client(self) -> Client:
        return Client(self.url, self.token, timeout=60)

    def info(self) -> dict:
        with self.client() as c:
            return c.info()

    def wait_worker_ready(self, timeout: float = 60.0) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            workers = self.info()["workers"]
            if all(w["ready"] and w["alive"] for w in workers):
                return workers[0]
            time.sleep(0.1)
        raise RuntimeError("worker not ready")

    def kill(self) -> None:
        """SIGKILL the server (no clean shutdown), as a crash would."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()
        if getattr(self, "log", None):
            self.log.close()


@pytest.fixture(scope="session")
def server(tmp_path_factory) -> LiveServer:
    """One shared server: small limits so the limit tests are cheap, short kill grace."""
    srv = LiveServer(tmp_path_factory.mktemp("fijax-server"), "--max-upload-mb", "2", "--max-pixels", "1000000",
                     "--kill-grace", "1", "--timeout", "30")
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture()
def client(server) -> Client:
    with server.client() as c:
        yield c


@pytest.fixture()
def image() -> np.ndarray:
    return np.random.default_rng(0).random((32, 40)).astype(np.float32)


@pytest.fixture()
def server_factory(tmp_path):
    """Start servers on one FIJAX_HOME (``factory(*args)``); all are stopped at the end."""
    started: list[LiveServer] = []

    def factory(*args: str) -> LiveServer:
        srv = LiveServer(tmp_path, *args).start()
        started.append(srv)
        return srv

    yield factory
    for srv in started:
        srv.stop()
