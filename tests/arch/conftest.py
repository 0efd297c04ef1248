"""Architecture tests: static checks of the source (no fijax home is touched; kept private anyway)."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _private_home(tmp_path, monkeypatch):
    """Every test gets its own FIJAX_HOME, so nothing touches ~/.fijax."""
    monkeypatch.setenv("FIJAX_HOME", str(tmp_path / "fijax_home"))
