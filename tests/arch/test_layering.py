"""The house rules of ``docs/DEVELOPING.md`` ("The house"), checked on the source with :mod:`ast`.

* imports run one way, down the floors of :data:`FLOORS`: a module imports only modules on its own
  floor or below (faces → ops → services → engine → core → io → ground floor);
* no import cycles among fijax modules; imports inside functions count too, so a lazy import can
  keep start-up fast but can never hide a cycle;
* the ground floor (``errors``, ``paths``, ``versions``) imports nothing of fijax above it, so
  recording versions never reaches the bridge;
* no function is longer than :data:`MAX_FUNCTION_LINES` lines of code (docstring not counted),
  except the shrinking :data:`LONG_FUNCTIONS` allow-list.

The analysis is static (nothing is imported), so it also sees imports that only run on some paths.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

PACKAGE_DIR = Path(__file__).resolve().parents[2] / "py" / "fijax"

#: Floors from the ground up. A module belongs to the floor of its longest listed prefix.
FLOORS: list[tuple[str, tuple[str, ...]]] = [
    ("ground", ("fijax", "fijax.errors", "fijax.paths", "fijax.versions")),
    ("io", ("fijax.io", "fijax.compile_cache")),
    ("core", ("fijax.classical", "fijax.qc", "fijax.registry")),
    ("engine", ("fijax.engine",)),
    ("services", ("fijax.data", "fijax.report")),
    ("ops", ("fijax.ops",)),
    ("faces", ("fijax.bridge", "fijax.server", "fijax.cli", "fijax.batch", "fijax.client", "fijax.__main__")),
]

#: The floors that must never reach a face (the issue's "core": engine, qc, classical, registry, io).
CORE_FLOORS = ("ground", "io", "core", "engine")

MAX_FUNCTION_LINES = 150

#: Functions allowed over the limit until they are split: qualified name -> ceiling (lines of code).
#: Ceilings only go down: lower one when you shorten its function, delete it once under the limit.
LONG_FUNCTIONS: dict[str, int] = {
    # one closure registering every route; to be split into server/routes/* (issue 16)
    "fijax.server.app.create_app": 465,
    # data checks, epoch loop and packaging in one function; to be split into steps (issue 16)
    "fijax.engine.train._train_in": 177,
}


@dataclass(frozen=True)
class Edge:
    """One import: ``source`` imports ``target`` at ``line`` (``lazy``: inside a function)."""

    source: str
    target: str
    line: int
    lazy: bool


def discover(package_dir: Path) -> dict[str, tuple[Path, bool]]:
    """Return ``{module name: (file, is_package)}`` for every ``.py`` file under ``package_dir``."""
    root = package_dir.parent
    out = {}
    for path in sorted(package_dir.rglob("*.py")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        is_pkg = parts[-1] == "__init__"
        if is_pkg:
            parts = parts[:-1]
        out[".".join(parts)] = (path, is_pkg)
    return out


def _is_type_checking(node: ast.AST) -> bool:
    """``if TYPE_CHECKING:`` / ``if typing.TYPE_CHECKING:``."""
    if not isinstance(node, ast.If):
        return False
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def import_edges(package_dir: Path) -> list[Edge]:
    """Every import of a module of the package by another (module level and inside functions).

    Imports under ``if TYPE_CHECKING:`` are left out: they never run.

    ``from fijax.a import b`` points at ``fijax.a.b`` when that is a module, else at ``fijax.a``.
    """
    modules = discover(package_dir)
    top = package_dir.name

    def resolve(name: str) -> str | None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    edges = []
    for name, (path, is_pkg) in modules.items():
        package = name if is_pkg else name.rpartition(".")[0]

        def visit(node: ast.AST, lazy: bool, name: str = name, package: str = package) -> None:
            for child in ast.iter_child_nodes(node):
                if _is_type_checking(child):  # annotations only: never runs
                    for sub in child.orelse:
                        visit(ast.Module(body=[sub], type_ignores=[]), lazy)
                    continue
                targets: list[str] = []
                if isinstance(child, ast.Import):
                    targets = [a.name for a in child.names]
                elif isinstance(child, ast.ImportFrom):
                    if child.level:
                        base = package.split(".")[: len(package.split(".")) - (child.level - 1)]
                        mod = ".".join(base + ([child.module] if child.module else []))
                    else:
                        mod = child.module or ""
                    targets = [f"{mod}.{a.name}" if f"{mod}.{a.name}" in modules else mod for a in child.names]
                for t in targets:
                    if t == top or t.startswith(top + "."):
                        target = resolve(t)
                        if target and target != name:
                            edges.append(Edge(name, target, child.lineno, lazy))
                visit(child, lazy or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda))

        visit(ast.parse(path.read_text(), str(path)), False)
    return edges


def find_cycles(edges: list[Edge]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan), each sorted."""
    graph: dict[str, set[str]] = {}
    for e in edges:
        graph.setdefault(e.source, set()).add(e.target)
        graph.setdefault(e.target, set())
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def strongconnect(v: str) -> None:  # recursion depth <= number of modules (~150)
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                strongconnect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            strongconnect(v)
    return out


def floor_of(module: str) -> str | None:
    """The floor of ``module`` (longest matching prefix in :data:`FLOORS`), or ``None``."""
    best, best_len = None, -1
    for floor, prefixes in FLOORS:
        for p in prefixes:
            if (module == p or (module.startswith(p + ".") and p != "fijax")) and len(p) > best_len:
                best, best_len = floor, len(p)
    return best


def _rank(floor: str) -> int:
    return [f for f, _ in FLOORS].index(floor)


def upward_imports(edges: list[Edge]) -> list[str]:
    """``"a:12 (floor) -> b (floor)"`` for every import of a module on a higher floor."""
    out = []
    for e in edges:
        src, dst = floor_of(e.source), floor_of(e.target)
        if src and dst and _rank(dst) > _rank(src):
            out.append(f"{e.source}:{e.line} ({src}) -> {e.target} ({dst}){' [inside a function]' if e.lazy else ''}")
    return out


def function_lengths(package_dir: Path) -> dict[str, int]:
    """``{qualified name: lines of code}`` of every function (nested ones too), docstrings not counted."""
    out = {}
    for name, (path, _) in discover(package_dir).items():

        def visit(node: ast.AST, prefix: str) -> None:
            for child in ast.iter_child_nodes(node):
                if isinstance(child, ast.ClassDef):
                    visit(child, f"{prefix}.{child.name}")
                elif isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                    length = child.end_lineno - child.lineno + 1
                    doc = child.body[0]
                    if isinstance(doc, ast.Expr) and isinstance(doc.value, ast.Constant) \
                            and isinstance(doc.value.value, str):
                        length -= doc.end_lineno - doc.lineno + 1
                    out[f"{prefix}.{child.name}"] = length
                    visit(child, f"{prefix}.{child.name}")
                else:
                    visit(child, prefix)

        visit(ast.parse(path.read_text(), str(path)), name)
    return out


# -- the rules -----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def edges() -> list[Edge]:
    return import_edges(PACKAGE_DIR)


def test_every_module_has_a_floor():
    missing = sorted(m for m in discover(PACKAGE_DIR) if floor_of(m) is None)
    assert not missing, f"add these modules to FLOORS in {__file__} (and the picture in docs/DEVELOPING.md): {missing}"


def test_no_import_cycles(edges):
    cycles = find_cycles(edges)
    detail = ["  " + " <-> ".join(c) + "\n" + "\n".join(
        f"      {e.source}:{e.line} -> {e.target}{' (inside a function)' if e.lazy else ''}"
        for e in edges if e.source in c and e.target in c) for c in cycles]
    assert not cycles, "import cycles among fijax modules:\n" + "\n".join(detail)


def test_imports_only_go_down(edges):
    up = upward_imports(edges)
    assert not up, "imports that go up a floor (see docs/DEVELOPING.md, 'The house'):\n  " + "\n  ".join(up)


def test_core_never_reaches_a_face(edges):
    """Transitively: nothing reachable from the core (engine, qc, classical, registry, io) is a face."""
    graph: dict[str, set[str]] = {}
    for e in edges:
        graph.setdefault(e.source, set()).add(e.target)
    for start in sorted(m for m in discover(PACKAGE_DIR) if floor_of(m) in CORE_FLOORS):
        seen, todo, parent = {start}, [start], {}
        while todo:
            v = todo.pop()
            for w in graph.get(v, ()):
                if w not in seen:
                    seen.add(w)
                    parent[w] = v
                    todo.append(w)
        faces = sorted(m for m in seen if floor_of(m) in ("ops", "faces"))
        if faces:
            path, v = [faces[0]], faces[0]
            while v in parent:
                v = parent[v]
                path.append(v)
            pytest.fail(f"{start} reaches {faces[0]}: {' -> '.join(reversed(path))}")


def test_ground_floor_imports_only_the_ground_floor(edges):
    bad = [f"{e.source}:{e.line} -> {e.target}" for e in edges
           if floor_of(e.source) == "ground" and floor_of(e.target) != "ground"]
    assert not bad, "errors/paths/versions must import nothing of fijax above them:\n  " + "\n  ".join(bad)


def test_no_function_over_the_limit():
    lengths = function_lengths(PACKAGE_DIR)
    too_long = {f: n for f, n in lengths.items() if n > MAX_FUNCTION_LINES and n > LONG_FUNCTIONS.get(f, 0)}
    assert not too_long, (f"functions over {MAX_FUNCTION_LINES} lines of code (split them): "
                          + ", ".join(f"{f} ({n})" for f, n in sorted(too_long.items())))


# -- the checker itself catches what it should ---------------------------------------------------

def _fake_package(tmp_path: Path, files: dict[str, str]) -> Path:
    pkg = tmp_path / "fijax"
    for rel, text in {"__init__.py": "", **files}.items():
        (pkg / rel).parent.mkdir(parents=True, exist_ok=True)
        (pkg / rel).write_text(text)
    return pkg


def test_checker_sees_a_cycle_hidden_in_a_function(tmp_path):
    pkg = _fake_package(tmp_path, {
        "engine/__init__.py": "",
        "engine/model.py": "def predict():\n    from fijax.engine import predict\n",
        "engine/predict.py": "from . import model\n",
        "engine/unet.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from fijax.engine.model import M\n",
        "io/__init__.py": "from fijax.io.image import Image\n",
        "io/image.py": "class Image: ...\n",
    })
    edges = import_edges(pkg)
    assert Edge("fijax.engine.model", "fijax.engine.predict", 2, True) in edges
    assert Edge("fijax.engine.predict", "fijax.engine.model", 1, False) in edges
    assert find_cycles(edges) == [["fijax.engine.model", "fijax.engine.predict"]]
    assert not [e for e in edges if e.source == "fijax.engine.unet"]  # TYPE_CHECKING imports never run


def test_checker_sees_upward_and_ground_floor_imports(tmp_path):
    pkg = _fake_package(tmp_path, {
        "versions.py": "def jars():\n    from fijax.bridge.jars import read\n",
        "bridge/__init__.py": "", "bridge/jars.py": "read = 1\n",
        "engine/__init__.py": "", "engine/train.py": "import fijax.server.app\n",
        "server/__init__.py": "", "server/app.py": "from fijax.engine import train\n",
    })
    up = upward_imports(import_edges(pkg))
    assert up == ["fijax.engine.train:1 (engine) -> fijax.server.app (faces)",
                  "fijax.versions:2 (ground) -> fijax.bridge.jars (faces) [inside a function]"]


def test_function_lengths_skip_docstrings(tmp_path):
    body = "\n".join(f"    x{i} = {i}" for i in range(5))
    pkg = _fake_package(tmp_path, {"m.py": f'class C:\n    def f(self):\n        """Doc.\n\n        More.\n        """\n'
                                           f"        return 1\n\ndef g():\n{body}\n"})
    assert function_lengths(pkg) == {"fijax.m.C.f": 2, "fijax.m.g": 6}
