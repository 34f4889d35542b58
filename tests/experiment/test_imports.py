"""`experiment/` has no import circle (also none hidden inside a function body)."""

import ast
from pathlib import Path

EXPERIMENT = Path(__file__).resolve().parents[2] / "experiment"


def _graph() -> dict[str, set[str]]:
    graph = {}
    for path in EXPERIMENT.glob("*.py"):
        targets = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                if node.module == "experiment":
                    targets.update(a.name for a in node.names)
                elif node.module.startswith("experiment."):
                    targets.add(node.module.split(".")[1])
            elif isinstance(node, ast.Import):
                targets.update(a.name.split(".")[1] for a in node.names
                               if a.name.startswith("experiment."))
        graph[path.stem] = targets - {path.stem}
    return graph


def test_no_module_of_the_experiment_imports_one_that_imports_it_back():
    graph = _graph()

    def reaches(start: str, goal: str, seen: set[str]) -> bool:
        for nxt in graph.get(start, ()):
            if nxt == goal or (nxt not in seen and reaches(nxt, goal, seen | {nxt})):
                return True
        return False

    assert [name for name in graph if reaches(name, name, set())] == []
