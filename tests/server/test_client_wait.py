"""``Client.wait_for_server``: fails fast and clearly when no server comes up."""

from __future__ import annotations

import subprocess
import sys

import pytest

from fijax.client import Client
from fijax.errors import FijaxError


def test_wait_reports_a_server_that_exited(tmp_path):
    proc = subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"])
    proc.wait(30)
    with pytest.raises(FijaxError, match="exited with code 3"):
        Client.wait_for_server(tmp_path / "token", wait_s=30, process=proc)


def test_wait_times_out_without_a_token_file(tmp_path):
    with pytest.raises(FijaxError, match="no fijax server answered within 0.3 s"):
        Client.wait_for_server(tmp_path / "token", wait_s=0.3, poll=0.05)
