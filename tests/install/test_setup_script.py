"""``scripts/setup.sh`` and ``scripts/python``: the README's two commands on the Pythons users have.

CI itself is the plain case (pyenv ``python3``, not externally managed). These tests build the other
two on this machine, in a copy of the checkout:

- a *stock Debian-like* ``python3``: the running interpreter's standard library behind a fresh prefix
  with an ``EXTERNALLY-MANAGED`` marker (PEP 668) and no ``pip`` -- ``setup.sh`` must create ``.venv``
  and the README's demo command must then work (slow: pip installs every dependency into the venv);
- an *activated virtual environment*: ``setup.sh`` installs into it, ``scripts/python`` runs it.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _copy_checkout(dest: Path) -> Path:
    """Copy the checkout's tracked and new files (not tests/ or bench/) to ``dest``."""
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT, check=True,
                           capture_output=True, text=True).stdout.split("\n")
    for rel in files:
        if not rel or rel.split("/")[0] in ("tests", "bench"):
            continue
        src = ROOT / rel
        if src.is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / rel)
    return dest


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "VIRTUAL_ENV", "CONDA_PREFIX", "PYTHONHOME")}
    env.update(extra)
    return env


def _fake_managed_python(prefix: Path) -> Path:
    """A ``python3`` like Debian's: this interpreter's stdlib, no site-packages, ``EXTERNALLY-MANAGED``."""
    base = Path(sys.base_prefix)
    ver = f"python{sys.version_info[0]}.{sys.version_info[1]}"
    stdlib = Path(sysconfig.get_path("stdlib", vars={"installed_base": str(base), "base": str(base)}))
    exe = base / "bin" / ver
    if not exe.is_file() or not stdlib.is_dir():
        pytest.skip(f"cannot build a stand-in system Python from {base} (no bin/{ver} or stdlib)")
    (prefix / "bin").mkdir(parents=True)
    lib = prefix / "lib" / ver
    (lib / "site-packages").mkdir(parents=True)
    shutil.copy2(exe, prefix / "bin" / ver)
    (prefix / "bin" / "python3").symlink_to(ver)
    for entry in stdlib.iterdir():
        if entry.name != "site-packages":
            (lib / entry.name).symlink_to(entry)
    for so in (base / "lib").glob("libpython*.so*"):
        (prefix / "lib" / so.name).symlink_to(so)
    (lib / "EXTERNALLY-MANAGED").write_text("[externally-managed]\nError=Debian-like test Python\n")
    return prefix / "bin" / "python3"


def _pypi_reachable() -> bool:
    try:
        socket.create_connection(("pypi.org", 443), timeout=5).close()
        return True
    except OSError:
        return False


@pytest.mark.slow
@pytest.mark.skipif(sys.platform != "linux", reason="the stand-in Debian Python is built for Linux")
def test_readme_demo_command_on_externally_managed_python(tmp_path):
    """On a PEP 668 python3, ``bash scripts/setup.sh && scripts/python -m fijax demo`` works as written."""
    if not _pypi_reachable():
        pytest.skip("PyPI is not reachable: setup.sh must pip-install every dependency into .venv")
    fake = _fake_managed_python(tmp_path / "debian-python")
    probe = subprocess.run([str(fake), "-c", "import sys, sysconfig; print(sys.prefix == sys.base_prefix, "
                            "sysconfig.get_path('stdlib'))"], capture_output=True, text=True, env=_env())
    assert probe.returncode == 0, probe.stderr
    assert probe.stdout.split()[0] == "True"                           # not a venv: a "system" Python
    refused = subprocess.run([str(fake), "-m", "pip", "--version"], capture_output=True, text=True, env=_env())
    assert refused.returncode != 0                                     # no pip, as on Debian
    repo = _copy_checkout(tmp_path / "fijax")
    home = tmp_path / "home"
    home.mkdir()
    env = _env(PYTHON=str(fake), HOME=str(home), FIJAX_HOME=str(tmp_path / "fijax_home"),
               PIP_CACHE_DIR=str(Path.home() / ".cache" / "pip"))
    proc = subprocess.run(["bash", "-c", "bash scripts/setup.sh && scripts/python -m fijax demo"],
                          cwd=repo, env=env, capture_output=True, text=True, timeout=1800)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    assert "externally managed (PEP 668): creating the project venv .venv" in out
    recorded = (repo / ".fijax-python").read_text().strip()
    assert recorded == str(repo / ".venv" / "bin" / "python")
    assert "best" in out and (tmp_path / "fijax_home" / "demo" / "with_gt" / "comparison.png").is_file()
    # the installed package is the copy's, inside .venv, and the base Python stays untouched
    where = subprocess.run([str(repo / "scripts" / "python"), "-c", "import fijax, sys; print(fijax.__file__); "
                            "print(sys.prefix)"], capture_output=True, text=True, env=_env(), check=True)
    assert where.stdout.split()[0].startswith(str(repo / "py"))
    assert where.stdout.split()[1] == str(repo / ".venv")
    assert not list((tmp_path / "debian-python" / "lib").glob("python3*/site-packages/*"))


@pytest.mark.skipif(sys.prefix != sys.base_prefix, reason="tests run inside a venv already")
def test_setup_installs_into_the_activated_venv(tmp_path):
    """In an activated venv, setup.sh installs there (no .venv) and scripts/python is that venv."""
    repo = _copy_checkout(tmp_path / "fijax")
    venv = tmp_path / "user-venv"
    # system site-packages: the dependencies are already there, so pip only installs fijax itself
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], check=True)
    env = _env(VIRTUAL_ENV=str(venv), PATH=f"{venv / 'bin'}:{os.environ['PATH']}",
               FIJAX_HOME=str(tmp_path / "fijax_home"))
    proc = subprocess.run(["bash", "scripts/setup.sh", "--no-gpu"], cwd=repo, env=env, capture_output=True,
                          text=True, timeout=900)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    assert not (repo / ".venv").exists()
    assert Path((repo / ".fijax-python").read_text().strip()).parent == venv / "bin"
    run = subprocess.run(["scripts/python", "-m", "fijax", "--version"], cwd=repo, env=env, capture_output=True,
                         text=True)
    assert run.returncode == 0 and run.stdout.startswith("fijax "), run.stderr
    where = subprocess.run(["scripts/python", "-c", "import fijax; print(fijax.__file__)"], cwd=repo, env=env,
                           capture_output=True, text=True, check=True)
    assert where.stdout.strip().startswith(str(repo / "py"))


def test_setup_rejects_unknown_options(tmp_path):
    proc = subprocess.run(["bash", str(ROOT / "scripts" / "setup.sh"), "--bogus"], capture_output=True, text=True)
    assert proc.returncode == 2
    assert "unknown option --bogus" in proc.stderr
