"""The local host's layers: imports flow one way (``emulator/README.md``, "Layers").

An AST walk over ``emulator/``: every import of one of our modules (at the top of a file, inside a
function or under ``TYPE_CHECKING``) must point to the importer's own package or to one the table
below allows. A new import against the flow fails here with the file, the line and the rule.
"""

from __future__ import annotations

import ast
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

EMULATOR = Path(__file__).resolve().parents[2] / "emulator"

# package -> the packages of ours it may import (besides itself). Read top to bottom: each layer
# may import the ones above it in this table, never one below it.
ALLOWED: dict[str, frozenset[str]] = {
    "protocol": frozenset(),
    "store": frozenset({"protocol"}),
    "core": frozenset({"protocol", "store"}),
    "worker": frozenset({"protocol", "store", "core"}),
    "runtime": frozenset({"protocol", "store", "core", "worker"}),
    "triggers": frozenset({"protocol", "store", "core", "worker"}),  # beside the runtime
    "views": frozenset({"protocol", "core"}),
    "http": frozenset({"protocol", "store", "core", "worker", "runtime", "triggers", "views"}),
    # the 2.x SDK's gRPC edge, beside http/ (it builds protobuf with worker/sdk2's messages)
    "grpc_api": frozenset({"protocol", "store", "core", "worker", "runtime"}),
    "host": frozenset({"protocol", "store", "core", "worker", "runtime", "triggers", "views",
                       "http", "grpc_api"}),
    "testing": frozenset({"protocol", "runtime", "http", "host"}),
}
# The edges reach the runtime through its operations facade only.
RUNTIME_FACADE = "runtime.operations"
FACADE_ONLY = frozenset({"http", "grpc_api"})
# Above the worker, the app's code runs through the worker seam (worker/seam.py) only.
APP_CODE = ("worker.invoke", "worker.replay_check")
SEAM_ONLY = frozenset({"runtime", "triggers", "http", "grpc_api"})
# Below the runtime, the store is its contract only: its face loads SQLite.
STORE_CONTRACT = "store.base"
CONTRACT_ONLY = frozenset({"core", "worker", "views"})
# What the pure layers must not use at all.
FORBIDDEN_LIBRARIES = {
    "core": frozenset({"asyncio", "threading", "concurrent", "sqlite3", "aiohttp"}),
}
STDLIB_ONLY = frozenset({"protocol"})
# The top level holds the packages and these entry modules only.
ENTRY_MODULES = frozenset({"__init__", "__main__", "pytest_plugin"})
MAX_LINES = 400


@dataclass(frozen=True)
class Import:
    file: Path
    line: int
    target: str  # dotted, relative to ``emulator`` ("" for the package itself); or a library


def _module_parts(path: Path) -> list[str]:
    parts = list(path.relative_to(EMULATOR).with_suffix("").parts)
    return parts[:-1] if parts[-1] == "__init__" else parts


def imports_of(path: Path) -> tuple[list[Import], list[Import]]:
    """(imports of our modules, imports of other top-level modules) of one file."""
    parts = _module_parts(path)
    package = parts if path.name == "__init__.py" else parts[:-1]
    ours: list[Import] = []
    libraries: list[Import] = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[:len(package) - node.level + 1]
                module = [*base, *(node.module.split(".") if node.module else [])]
                names = [a.name for a in node.names] if not node.module else [""]
                for name in names:
                    ours.append(Import(path, node.lineno, ".".join(filter(None, [*module, name]))))
            elif node.module and node.module.split(".")[0] == "emulator":
                ours.append(Import(path, node.lineno, node.module.partition(".")[2]))
            elif node.module:
                libraries.append(Import(path, node.lineno, node.module.split(".")[0]))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "emulator":
                    ours.append(Import(path, node.lineno, alias.name.partition(".")[2]))
                else:
                    libraries.append(Import(path, node.lineno, alias.name.split(".")[0]))
    return ours, libraries


def _files() -> list[Path]:
    return sorted(EMULATOR.rglob("*.py"))


def flow_violations(files: list[Path]) -> list[str]:
    """Every import against the flow, as ``file:line: message``."""
    found = []
    for path in files:
        parts = _module_parts(path)
        ours, libraries = imports_of(path)
        where = lambda imp: f"{imp.file.relative_to(EMULATOR.parent)}:{imp.line}"  # noqa: E731
        if len(parts) <= 1:  # a top-level entry module (or the package itself)
            if parts and parts[0] not in ENTRY_MODULES and path.name != "__init__.py":
                found.append(f"{path.relative_to(EMULATOR.parent)}: a module at the top level; "
                             f"put it in the package of its layer")
            continue
        layer = parts[0]
        if layer not in ALLOWED:
            found.append(f"{path.relative_to(EMULATOR.parent)}: package {layer!r} has no row in "
                         f"ALLOWED; give it its place in the layers")
            continue
        for imp in ours:
            target = imp.target.split(".")[0]
            if target in ("", "__version__"):  # the package's version
                continue
            if target not in ALLOWED:
                found.append(f"{where(imp)}: {layer} imports the top level ({imp.target})")
                continue
            if target == layer:
                continue
            if target not in ALLOWED[layer]:
                found.append(f"{where(imp)}: {layer} imports {target} ({imp.target}), "
                             f"against the flow")
            elif layer in SEAM_ONLY and imp.target.startswith(APP_CODE):
                found.append(f"{where(imp)}: {layer} calls the app's code ({imp.target}); "
                             f"go through the worker seam, worker.seam")
            elif (target == "runtime" and layer in FACADE_ONLY
                  and not imp.target.startswith(RUNTIME_FACADE)):
                found.append(f"{where(imp)}: {layer} reaches into the runtime ({imp.target}); "
                             f"go through its facade, {RUNTIME_FACADE}")
            elif (target == "store" and layer in CONTRACT_ONLY
                  and not imp.target.startswith(STORE_CONTRACT)):
                found.append(f"{where(imp)}: {layer} imports the store's face ({imp.target}); "
                             f"import its contract, {STORE_CONTRACT}")
        for imp in libraries:
            if imp.target in FORBIDDEN_LIBRARIES.get(layer, ()):
                found.append(f"{where(imp)}: {layer} is pure and imports {imp.target}")
            if layer in STDLIB_ONLY and imp.target not in sys.stdlib_module_names \
                    and imp.target != "__future__":
                found.append(f"{where(imp)}: {layer} is stdlib-only and imports {imp.target}")
    return found


def test_imports_flow_one_way():
    assert flow_violations(_files()) == []


def test_every_package_has_a_row_and_a_face():
    packages = {p.parent.name for p in EMULATOR.glob("*/__init__.py")}
    assert packages == set(ALLOWED)
    for name in packages:
        face = ast.parse((EMULATOR / name / "__init__.py").read_text())
        assert ast.get_docstring(face), f"emulator/{name}/__init__.py says what the layer holds"
        names = {t.id for node in face.body if isinstance(node, ast.Assign)
                 for t in node.targets if isinstance(t, ast.Name)}
        assert "__all__" in names, f"emulator/{name}/__init__.py has __all__"


def test_no_module_is_over_400_lines():
    long = {str(p.relative_to(EMULATOR)): n for p in _files()
            if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert long == {}


@pytest.mark.parametrize(("layer", "source", "message"), [
    ("core", "from ..runtime.engine import Engine\n", "core imports runtime"),
    ("core", "from ..store import SqliteStore\n", "import its contract"),
    ("protocol", "import aiohttp\n", "stdlib-only"),
    ("core", "import asyncio\n", "pure and imports asyncio"),
    ("views", "def f():\n    from emulator.http import api\n", "views imports http"),
    ("worker", "from ..host import server\n", "worker imports host"),
    ("http", "from ..runtime.engine import Engine\n", "go through its facade"),
    ("runtime", "from ..worker.invoke import invoke_activity\n", "go through the worker seam"),
])
def test_an_import_against_the_flow_is_caught(tmp_path, monkeypatch, layer, source, message):
    """The check itself: an upward import in a scratch copy of one layer's file is reported."""
    scratch = tmp_path / "emulator"
    (scratch / layer).mkdir(parents=True)
    module = scratch / layer / "upward.py"
    module.write_text(source)
    monkeypatch.setattr(sys.modules[__name__], "EMULATOR", scratch)
    (violation,) = flow_violations([module])
    assert message in violation and "upward.py:" in violation


def _resolve(target: str) -> str | None:
    """The module (dotted, under ``emulator``) an import target names, or None if none."""
    parts = target.split(".")
    while parts:
        path = EMULATOR.joinpath(*parts)
        if path.with_suffix(".py").exists() or (path / "__init__.py").exists():
            return ".".join(parts)
        parts = parts[:-1]
    return None


def import_cycles(files: list[Path]) -> list[list[str]]:
    """Circles in the module graph, counting every import (also ``TYPE_CHECKING`` ones and
    those inside functions: a circle hidden there is still a circle)."""
    graph: dict[str, set[str]] = {}
    for path in files:
        name = ".".join(_module_parts(path))
        targets = {_resolve(imp.target) for imp in imports_of(path)[0]}
        graph[name] = {t for t in targets if t is not None and t != name
                       and not name.startswith(t + ".") and t != ""}
    cycles, done, stack = [], set(), []

    def visit(node: str) -> None:
        if node in stack:
            cycles.append(stack[stack.index(node):] + [node])
            return
        if node in done:
            return
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            visit(nxt)
        stack.pop()
        done.add(node)

    for node in sorted(graph):
        visit(node)
    return cycles


def test_no_import_circles():
    assert import_cycles(_files()) == []
