"""Every command block of README.md and docs/*.md runs as written, in order (see ``docs_blocks.py``).

Each document runs in a fresh folder (its own ``FIJAX_HOME``) that holds links to the checkout's
``macros/``, ``tests/`` and ``bench/`` -- as when a user runs the commands from the checkout -- with ``fijax`` on ``PATH``
running this test run's package. The documents make their own data (``fijax sample``), train their
own models (few epochs) and use only what they made; the long ones are ``slow``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from docs_blocks import OTHER_KINDS, ROOT, RUN_KINDS, blocks, documents, runnable  # noqa: E402

#: Documents whose blocks take more than a few seconds (training, the JVM, a server).
SLOW = {"README.md", "engine.md", "segmentation.md", "workflows.md", "reports.md", "server.md", "bridge.md",
        "java-api.md", "qc.md", "puredenoise.md", "performance.md"}


def _params():
    for doc in documents():
        marks = [pytest.mark.slow] if doc.name in SLOW else []
        yield pytest.param(doc, id=doc.name, marks=marks)


def test_every_block_has_a_known_kind():
    """An unlabelled fence would silently not run: each block says what it is."""
    bad = [f"{b.where} ```{b.kind}" for d in documents() for b in blocks(d) if b.kind not in RUN_KINDS | OTHER_KINDS]
    assert not bad, f"fences must be one of {sorted(RUN_KINDS | OTHER_KINDS)}: {bad}"


def test_docs_do_not_link_outside_the_repository():
    """Facts the docs rely on live in docs/ (with citations), not in files the repository lacks."""
    bad = [f"{d.name}: {line.strip()}" for d in documents() for line in d.read_text().splitlines()
           if "shared/reference" in line]
    assert not bad, bad


@pytest.mark.parametrize("doc", list(_params()))
def test_document_blocks_run_in_order(doc: Path, tmp_path):
    """Run the document's blocks in order in a fresh folder; fail naming the block."""
    if not any(runnable(b) for b in blocks(doc)):
        pytest.skip(f"{doc.name} has no runnable blocks")
    work = tmp_path / "work"
    work.mkdir()
    for folder in ("macros", "tests", "bench"):  # the checkout's folders the docs refer to
        (work / folder).symlink_to(ROOT / folder)
    bindir = tmp_path / "bin"
    bindir.mkdir()
    shim = bindir / "fijax"
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m fijax "$@"\n')
    shim.chmod(0o755)
    env = dict(os.environ, PATH=f"{bindir}:{os.environ['PATH']}", FIJAX_HOME=str(tmp_path / "home"),
               PYTHONPATH=os.pathsep.join([str(ROOT / "py"), *filter(None, [os.environ.get("PYTHONPATH")])]),
               MPLBACKEND="Agg", TQDM_DISABLE="1")  # no progress bars in the failure output
    proc = subprocess.run([sys.executable, str(Path(__file__).parent / "docs_blocks.py"), str(doc), str(work)],
                          env=env, capture_output=True, text=True, timeout=1800)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-8000:]
