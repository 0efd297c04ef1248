"""Macro corpus: every test gets a private fijax home (models trained by macros land there)."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _private_home(tmp_path, monkeypatch):
    monkeypatch.setenv("FIJAX_HOME", str(tmp_path / "fijax_home"))
