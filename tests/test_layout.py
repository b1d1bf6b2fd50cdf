"""Issue 18: imports inside kiwoom_nb flow one way. Read with ast from the source, lazy (function-level)
imports included, so a circle fails here rather than at some user's first call."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "kiwoom_nb"


def module_name(path: Path, package: Path = PACKAGE) -> str:
    parts = path.relative_to(package.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path, modules: set[str], root: Path = PACKAGE) -> set[str]:
    """The kiwoom_nb modules ``path`` imports anywhere in its code (top level, functions, TYPE_CHECKING blocks
    excluded: they never run)."""
    name = module_name(path, root)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    tree = ast.parse(path.read_text("utf-8"))
    skipped = {id(node) for node in ast.walk(tree) if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
               for node in ast.walk(node)}
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            targets = [base] + [f"{base}.{alias.name}" for alias in node.names]
        else:
            continue
        for target in targets:
            while target and target not in modules:  # kiwoom_nb.x.y -> kiwoom_nb.x
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def graph(root: Path = PACKAGE) -> dict[str, set[str]]:
    paths = sorted(root.rglob("*.py"))
    modules = {module_name(path, root) for path in paths}
    edges = {module_name(path, root): imports_of(path, modules, root) for path in paths}
    # a package's __init__ is imported by each of its modules; that edge is Python's, not a design choice
    return {name: {t for t in targets if not name.startswith(t + ".")} for name, targets in edges.items()}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    found, state, stack = [], {}, []

    def visit(node: str) -> None:
        state[node] = "open"
        stack.append(node)
        for target in sorted(edges.get(node, ())):
            if state.get(target) == "open":
                found.append(stack[stack.index(target):] + [target])
            elif target not in state:
                visit(target)
        stack.pop()
        state[node] = "done"

    for node in sorted(edges):
        if node not in state:
            visit(node)
    return found


def test_no_import_circles_among_kiwoom_nb_modules():
    assert cycles(graph()) == []


def test_the_check_sees_lazy_imports(tmp_path):
    package = tmp_path / "pkg"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("", "utf-8")
    (package / "a.py").write_text("from . import b\n", "utf-8")
    (package / "b.py").write_text("def f():\n    from .sub.c import g\n", "utf-8")  # lazy, two levels
    (package / "sub" / "__init__.py").write_text("", "utf-8")
    (package / "sub" / "c.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .. import b\n"
                                          "def g():\n    from ..a import x\n", "utf-8")

    assert cycles(graph(package)) == [["pkg.a", "pkg.b", "pkg.sub.c", "pkg.a"]]


@pytest.mark.parametrize("low, high", [
    ("kiwoom_nb._errors", "kiwoom_nb.auth._client"),
    ("kiwoom_nb.auth._client", "kiwoom_nb.auth._session"),
    ("kiwoom_nb.auth._session", "kiwoom_nb.rest._api"),
    ("kiwoom_nb.rest._frame", "kiwoom_nb.rest._api"),
    ("kiwoom_nb.notebook.panel._panel", "kiwoom_nb.notebook._magics"),
])
def test_lower_layers_do_not_import_higher_ones(low, high):
    edges = graph()
    reachable, todo = set(), [low]
    while todo:
        for target in edges.get(todo.pop(), ()):
            if target not in reachable:
                reachable.add(target)
                todo.append(target)
    assert high not in reachable, f"{low} reaches {high}"
