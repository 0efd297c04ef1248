"""Extract and run the fenced command blocks of README.md and docs/*.md, in order.

Kinds of fence (the info string after the backticks):

- ``bash`` / ``sh``: run with ``bash -euo pipefail`` in the document's work folder;
- ``python``: executed in one namespace per document, in order (later blocks see earlier names);
- ``javascript``: an ImageJ macro (the docs' highlighting for ``.ijm``), run with ``fijax macro``;
- ``text``: not run -- command synopses (``[--option]`` placeholders), diagrams, output listings, and
  commands that need what a test machine lacks (a desktop Fiji, a server left running); the prose
  around such a block says so;
- ``java``: a fragment of Java; ``tests/workflows/test_java_api.py`` compiles and runs the same calls.

Blocks that run ``scripts/setup.sh`` are not run here: ``tests/install`` and ``.ci/run`` run them.

``python docs_blocks.py DOC WORKDIR`` runs DOC's blocks with WORKDIR as the current folder; it exits 1
naming the failing block (file and line) with its output.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import traceback
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RUN_KINDS = {"bash", "sh", "python", "javascript"}
OTHER_KINDS = {"text", "java"}


@dataclass
class Block:
    doc: Path
    line: int
    kind: str
    code: str

    @property
    def where(self) -> str:
        return f"{self.doc.relative_to(ROOT)}:{self.line}"


def documents() -> list[Path]:
    """README.md then docs/*.md."""
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def blocks(doc: Path) -> list[Block]:
    """The fenced blocks of ``doc`` in order."""
    out: list[Block] = []
    lines = doc.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        m = re.match(r"^(\s*)```(\S*)\s*$", lines[i])
        if m:
            j = i + 1
            while j < len(lines) and not lines[j].strip().startswith("```"):
                j += 1
            out.append(Block(doc, i + 1, m.group(2), "\n".join(lines[i + 1:j]) + "\n"))
            i = j
        i += 1
    return out


def runnable(block: Block) -> bool:
    """True when the test runs this block."""
    return block.kind in RUN_KINDS and "scripts/setup.sh" not in block.code


def _fail(block: Block, output: str) -> None:
    print(f"FAILED block {block.where} [{block.kind}]:\n{block.code}\n--- output ---\n{output[-6000:]}")
    raise SystemExit(1)


def main(doc: Path, work: Path) -> int:
    os.chdir(work)
    namespace: dict = {"__name__": "__docs__"}
    for n, block in enumerate(b for b in blocks(doc) if runnable(b)):
        print(f"--- {block.where} [{block.kind}]", flush=True)
        if block.kind in ("bash", "sh"):
            proc = subprocess.run(["bash", "-euo", "pipefail", "-c", block.code], capture_output=True, text=True)
            print(proc.stdout[-3000:], proc.stderr[-3000:], flush=True)
            if proc.returncode != 0:
                _fail(block, f"exit code {proc.returncode}\n--- stdout ---\n{proc.stdout[-3000:]}\n"
                             f"--- stderr ---\n{proc.stderr[-3000:]}")
        elif block.kind == "javascript":
            macro = work / f"_block{n}.ijm"
            macro.write_text(block.code, encoding="utf-8")
            proc = subprocess.run(["fijax", "macro", str(macro), "--out", str(work / f"_block{n}")],
                                  capture_output=True, text=True)
            print(proc.stdout[-3000:], proc.stderr[-3000:], flush=True)
            if proc.returncode != 0:
                _fail(block, proc.stdout + proc.stderr)
        else:
            try:
                exec(compile(block.code, block.where, "exec"), namespace)
            except BaseException:
                _fail(block, traceback.format_exc())
    return 0


if __name__ == "__main__":
    raise SystemExit(main(Path(sys.argv[1]).resolve(), Path(sys.argv[2]).resolve()))
