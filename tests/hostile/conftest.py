"""Hostile-input tests: every test gets a private FIJAX_HOME; one shared server runs with --no-macros."""

from __future__ import annotations

import pytest
from hostile_live import LiveServer, register_untrained


@pytest.fixture(autouse=True)
def _private_home(tmp_path, monkeypatch):
    """Every test gets its own FIJAX_HOME, so nothing touches ~/.fijax."""
    monkeypatch.setenv("FIJAX_HOME", str(tmp_path / "fijax_home"))
    monkeypatch.delenv("FIJAX_MAX_DECODED_MB", raising=False)


@pytest.fixture(scope="session")
def hostile_server(tmp_path_factory) -> LiveServer:
    """A ``--no-macros`` server with small limits and one registered (untrained) model ``den:1``."""
    home = tmp_path_factory.mktemp("hostile-server")
    register_untrained(home, "den")
    srv = LiveServer(home, "--no-macros", "--max-upload-mb", "4", "--max-pixels", "4000000", "--kill-grace", "1",
                     "--timeout", "60")
    srv.start()
    yield srv
    srv.stop()
