"""Docs tests: every test gets a private fijax home (the jar cache stays shared)."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _private_home(tmp_path, monkeypatch):
    """Every test gets its own FIJAX_HOME, so nothing touches ~/.fijax."""
    monkeypatch.setenv("FIJAX_HOME", str(tmp_path / "fijax_home"))
