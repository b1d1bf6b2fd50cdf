"""The package's layout, read with ast from the source (issues 18 and 31): imports flow one way, lazy
(function-level) imports included, so a circle fails here rather than at some user's first call; the rooms
(auth, pace, rest, live, notebook, testing) import only the rooms below them; only notebook/ imports IPython,
ipywidgets or traitlets; no module is over 400 lines, no class over 300, no folder over 12 modules; the top
level holds only __init__.py, _errors.py, the subpackages and their data (and the allowances below)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "kiwoom_nb"

#: Each room and the rooms it may import (besides itself and kiwoom_nb._errors, which every room uses). The package's
#: __init__ (the public names, imported lazily) stands above them all; nothing but testing/ imports testing/.
ROOMS = {
    "auth": set(),
    "store": set(),  # the candle files: rest's candles hand it their fetching, it knows no TR (issue 32)
    "pace": set(),  # the pacing budget shared by processes and machines (issue 33)
    "rest": {"auth", "store", "pace"},
    "live": {"rest", "auth", "pace"},
    "orders": {"live", "rest", "auth"},
    "notebook": {"orders", "live", "rest", "auth", "store", "pace"},
    "testing": {"live", "rest", "auth", "pace"},
}
#: What the top level of kiwoom_nb/ may hold besides __init__.py, _errors.py, py.typed, data/ and the rooms, and why.
ALLOWANCES = {
    # A kernel that imported kiwoom_nb before the rooms (an upgrade while it runs) still spawns
    # `python -m kiwoom_nb._revoker` at its first login: a module of that name must go on running the revoker.
    # A shim module rather than a `_revoker/` package with a __main__: it stays one file, imports only
    # kiwoom_nb.auth._revoker, and nothing imports it (checked below).
    "_revoker.py": "the revoker's command line of kernels started before the move",
}
GUI = ("IPython", "ipywidgets", "traitlets")
MAX_MODULE_LINES, MAX_CLASS_LINES, MAX_FOLDER_MODULES = 400, 300, 12


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


def room_of(module: str) -> str:
    """kiwoom_nb.rest._api -> "rest"; kiwoom_nb._errors -> "_errors"; kiwoom_nb -> ""."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def test_rooms_import_only_the_rooms_below_them():
    wrong = []
    for name, targets in graph().items():
        room = room_of(name)
        if room == "":  # kiwoom_nb/__init__: the public names
            continue
        allowed = ROOMS.get(room, {"auth"} if name == "kiwoom_nb._revoker" else set()) | {room, "_errors"}
        wrong += [f"{name} imports {target}" for target in sorted(targets) if room_of(target) not in allowed]
    assert wrong == []


def test_sub_rooms_keep_to_themselves():
    """notebook/panel/ imports no magics; testing/market/ (the fake's data) imports nothing of kiwoom_nb but itself."""
    edges = graph()
    panel = {n: sorted(t for t in ts if t.startswith("kiwoom_nb.notebook._") and t.rpartition(".")[2] in
                       ("_magics", "_load", "_tr_magic", "_candles_magic", "_watch_magic"))
             for n, ts in edges.items() if n.startswith("kiwoom_nb.notebook.panel")}
    market = {n: sorted(t for t in ts if not t.startswith("kiwoom_nb.testing.market"))
              for n, ts in edges.items() if n.startswith("kiwoom_nb.testing.market")}
    assert {n: ts for n, ts in {**panel, **market}.items() if ts} == {}


def test_nothing_imports_the_revoker_shim_or_the_fake():
    importers = {name: targets for name, targets in graph().items()
                 if "kiwoom_nb._revoker" in targets or (room_of(name) != "testing" and
                                                       any(room_of(t) == "testing" for t in targets))}
    assert importers == {}


def third_party_imports(path: Path) -> set[str]:
    """Top-level names of every absolute import in ``path``, TYPE_CHECKING blocks excluded."""
    tree = ast.parse(path.read_text("utf-8"))
    skipped = {id(node) for node in ast.walk(tree) if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
               for node in ast.walk(node)}
    found = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            found.add(node.module.split(".")[0])
    return found


def test_only_the_notebook_room_imports_ipython_ipywidgets_or_traitlets():
    outside = {str(path.relative_to(ROOT)): sorted(third_party_imports(path) & set(GUI))
               for path in PACKAGE.rglob("*.py") if "notebook" not in path.relative_to(PACKAGE).parts}
    assert {path: names for path, names in outside.items() if names} == {}


def test_no_module_over_400_lines_no_class_over_300():
    long_modules, long_classes = {}, {}
    for path in PACKAGE.rglob("*.py"):
        lines = len(path.read_text("utf-8").splitlines())
        if lines > MAX_MODULE_LINES:
            long_modules[str(path.relative_to(ROOT))] = lines
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.ClassDef):
                start = min([node.lineno] + [d.lineno for d in node.decorator_list])
                if node.end_lineno - start + 1 > MAX_CLASS_LINES:
                    long_classes[f"{path.relative_to(ROOT)}:{node.name}"] = node.end_lineno - start + 1
    assert (long_modules, long_classes) == ({}, {})


def test_no_folder_holds_more_than_12_modules():
    folders = {path.parent for path in PACKAGE.rglob("*.py")}
    crowded = {str(folder.relative_to(ROOT)): n for folder in folders
               if (n := len(list(folder.glob("*.py")))) > MAX_FOLDER_MODULES}
    assert crowded == {}


def test_the_top_level_holds_only_the_public_names_the_errors_the_rooms_and_their_data():
    rooms = {path.name for path in PACKAGE.iterdir() if (path / "__init__.py").exists()}
    assert rooms == set(ROOMS)
    others = {path.name for path in PACKAGE.iterdir() if path.name not in rooms and path.name != "__pycache__"}
    assert others == {"__init__.py", "_errors.py", "py.typed", "data"} | set(ALLOWANCES)
    assert not list((PACKAGE / "data").glob("*.py")), "data/ holds data, not code"
    shim = (PACKAGE / "_revoker.py").read_text("utf-8")
    assert len(shim.splitlines()) < 20 and "from kiwoom_nb.auth._revoker import main" in shim


def test_each_subpackage_says_what_it_owns_and_what_it_must_not_do():
    vague = []
    for init in PACKAGE.rglob("__init__.py"):
        if init.parent == PACKAGE:
            continue
        doc = ast.get_docstring(ast.parse(init.read_text("utf-8"))) or ""
        if not re.search(r"\bowns\b", doc, re.I) or not re.search(r"\bmust not\b|\bnever\b|\bno\b", doc, re.I):
            vague.append(str(init.relative_to(ROOT)))
    assert vague == []


def test_the_wheel_lists_every_subpackage_and_data_file():
    """pyproject.toml names every package (setuptools does not find them: the list is explicit) and every data file;
    tests/test_wheel.py checks that the built wheel then holds every file of kiwoom_nb/."""
    text = (ROOT / "pyproject.toml").read_text("utf-8")
    listed = set(re.findall(r'"(kiwoom_nb[\w.]*)"', re.search(r"^packages = \[(.*?)\]", text, re.S | re.M).group(1)))
    packages = {module_name(init.parent / "__init__.py") for init in PACKAGE.rglob("__init__.py")}
    assert listed == packages
    data = re.search(r"^kiwoom_nb = \[(.*?)\]", text, re.S | re.M).group(1)
    assert {f"data/{path.name}" for path in (PACKAGE / "data").iterdir()} <= set(re.findall(r'"([^"]+)"', data))


def magic_classes() -> dict[str, set[str]]:
    """Every @magics_class under notebook/: its name -> the line magics it defines."""
    found = {}
    for path in (PACKAGE / "notebook").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.ClassDef) and any("magics_class" in ast.unparse(d) for d in node.decorator_list):
                found[node.name] = {f.name for f in node.body if isinstance(f, ast.FunctionDef)
                                    and any("line_magic" in ast.unparse(d) for d in f.decorator_list)}
    return found


def test_the_magics_are_split_by_what_users_do():
    classes = magic_classes()
    assert classes.pop("KiwoomMagics") == {"kiwoom_login", "kiwoom_logout", "kiwoom_status"}  # %config KiwoomMagics.*
    assert sorted(classes.values(), key=sorted) == [{"kiwoom"}, {"kiwoom_candles"}, {"kiwoom_order"}, {"kiwoom_watch"}]


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
