"""A live ``fijax serve`` and a headless Chromium (driven by Playwright) for the browser tests.

The browser is Debian's ``chromium`` (``scripts/setup.sh`` installs it when missing), never one that
Playwright downloads: ``FIJAX_CHROMIUM`` names another binary. Without Playwright or Chromium the
tests are skipped with the reason. Every page a test opens is watched for console errors and
uncaught exceptions; any makes the test fail.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
import numpy as np
import pytest
import tifffile

from fijax.client import Client

TESTS = Path(__file__).resolve().parent.parent


def chromium_path() -> str | None:
    given = os.environ.get("FIJAX_CHROMIUM")
    if given:
        return given if Path(given).is_file() else None
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    return None


class UIServer:
    """``fijax serve --port 0`` in a subprocess with its own FIJAX_HOME and the test operations."""

    def __init__(self, home: Path):
        self.home = Path(home)
        self.proc: subprocess.Popen | None = None
        self.url = self.token = ""

    def start(self, timeout: float = 120.0) -> UIServer:
        token_file = self.home / "token"
        env = dict(os.environ, FIJAX_HOME=str(self.home), FIJAX_EXTRA_OPS="fijax_test_ops", JAX_PLATFORMS="cpu",
                   PYTHONPATH=os.pathsep.join([str(TESTS / "server"), os.environ.get("PYTHONPATH", "")]))
        self.log = open(self.home / "server.log", "ab")  # noqa: SIM115 - kept open for the process
        self.proc = subprocess.Popen([sys.executable, "-m", "fijax", "serve", "--port", "0", "--token-file",
                                      str(token_file), "--kill-grace", "2"], env=env, stdout=self.log,
                                     stderr=self.log)
        deadline = time.monotonic() + timeout
        with Client.wait_for_server(token_file, wait_s=timeout, process=self.proc) as c:
            self.token, self.url = c.token, c.url
            while time.monotonic() < deadline:  # the worker imports JAX and the operations
                if all(w["ready"] and w["alive"] for w in c.info()["workers"]):
                    return self
                time.sleep(0.1)
        raise RuntimeError(f"worker not ready: {(self.home / 'server.log').read_text()[-2000:]}")

    def api(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers={"Authorization": f"token {self.token}"}, timeout=60)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.log.close()


@pytest.fixture(scope="session")
def ui_server(tmp_path_factory) -> UIServer:
    srv = UIServer(tmp_path_factory.mktemp("fijax-ui")).start()
    yield srv
    srv.stop()


@pytest.fixture(scope="session")
def browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("browser tests need the Python package 'playwright' (pip install playwright; "
                    "scripts/setup.sh installs it)")
    exe = chromium_path()
    if exe is None:
        pytest.skip("browser tests need Chromium: apt-get install chromium (scripts/setup.sh does it), "
                    "or set FIJAX_CHROMIUM to a Chromium/Chrome binary")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=exe, headless=True, args=["--no-sandbox", "--disable-gpu",
                                                                         "--disable-dev-shm-usage"])
        yield b
        b.close()


class Watched:
    """A browser context and page whose console errors and page errors are collected."""

    def __init__(self, browser, server: UIServer):
        self.context = browser.new_context(viewport={"width": 1366, "height": 800}, accept_downloads=True)
        self.context.set_default_timeout(30_000)
        self.server = server
        self.errors: list[str] = []
        self.page = self.new_page()

    def new_page(self):
        page = self.context.new_page()
        page.on("console", lambda msg: self.errors.append(f"console {msg.type}: {msg.text}")
                if msg.type == "error" else None)
        page.on("pageerror", lambda exc: self.errors.append(f"page error: {exc}"))
        return page

    def login(self) -> None:
        page = self.page
        page.goto(self.server.url + "/")
        page.get_by_label("Token").fill(self.server.token)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url("**/ui/jobs")


@pytest.fixture()
def ui(browser, ui_server):
    """A fresh, logged-out browser context on the test server; fails the test on console errors."""
    w = Watched(browser, ui_server)
    yield w
    w.context.close()
    assert not w.errors, "errors in the browser console:\n" + "\n".join(w.errors)


@pytest.fixture(scope="session")
def tiffs(tmp_path_factory) -> dict[str, Path]:
    """Small test images: a smooth ground truth, a noisy source, a good prediction, a noise image."""
    folder = tmp_path_factory.mktemp("ui-images")
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:64, 0:64]
    gt = (np.sin(yy / 6.0) * np.cos(xx / 7.0) + 1.5).astype(np.float32)
    images = {"gt": gt, "source": gt + rng.normal(0, 0.4, gt.shape).astype(np.float32),
              "prediction": gt + rng.normal(0, 0.08, gt.shape).astype(np.float32),
              "noisy": rng.poisson(20 * gt).astype(np.float32)}
    out = {}
    for name, arr in images.items():
        out[name] = folder / f"{name}.tif"
        tifffile.imwrite(out[name], arr, imagej=True)
    return out
