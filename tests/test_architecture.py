"""The code's layout, checked: which package may import which, and no import cycle between
modules (imports inside functions count; those under `if TYPE_CHECKING:` do not, as they never
run). README.md's "How the code is laid out" describes the same rules."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

from tests.helpers.paths import ROOT

PACKAGES = ("tracker", "ui")
# The one edge allowed to close a loop: the CLI starts the desktop app in GUI mode.
GUI_LAUNCH = {("tracker.cli.main", "ui.launch"), ("tracker.cli.run", "ui.launch")}
# Stages that decide never reach for storage backends, the command line or the engine that runs them.
STAGES = ("tracker.track", "tracker.identity")
NOT_FROM_STAGES = ("tracker.gallery.sqlite", "tracker.gallery.postgres", "tracker.gallery.postgres_undo",
                   "tracker.gallery.undo", "tracker.cli", "tracker.engine", "tracker.sinks", "ui")
# The foundation every package builds on imports none of them.
FOUNDATION = ("tracker.records", "tracker.geometry", "tracker.errors", "tracker.assignment", "tracker.quality")


def modules() -> dict[str, Path]:
    out = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            out[".".join(parts)] = path
    return out


def _type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(tree: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and _type_checking(node):
            yield from (n for child in node.orelse for n in _imports_in(child))
            continue
        yield from _imports_in(node)


def _imports_in(node: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    if isinstance(node, ast.Import | ast.ImportFrom):
        yield node
    elif isinstance(node, ast.If) and _type_checking(node):
        return
    else:
        for child in ast.iter_child_nodes(node):
            yield from _imports_in(child)


def graph() -> dict[str, set[str]]:
    """module -> the modules of ours it imports (a package's __init__ counts as a module)."""
    mods = modules()
    edges: dict[str, set[str]] = {m: set() for m in mods}
    for name, path in mods.items():
        is_package = path.name == "__init__.py"
        for node in _imports(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            else:
                base = node.module or ""
                if node.level:
                    parts = name.split(".") if is_package else name.split(".")[:-1]
                    parts = parts[: len(parts) - (node.level - 1)]
                    base = ".".join([*parts, *([node.module] if node.module else [])])
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in mods else base for a in node.names]
            for target in targets:
                while target and target not in mods:
                    target = target.rpartition(".")[0]
                if target and target != name:
                    edges[name].add(target)
    return edges


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                out.append(sorted(group))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return out


def _within(module: str, prefixes: tuple[str, ...]) -> bool:
    return any(module == p or module.startswith(p + ".") for p in prefixes)


def test_no_import_cycle() -> None:
    edges = {m: {t for t in ts if (m, t) not in GUI_LAUNCH} for m, ts in graph().items()}
    assert cycles(edges) == []


def test_the_engine_never_imports_the_app_except_to_launch_it() -> None:
    wrong = sorted((m, t) for m, ts in graph().items() if m.startswith("tracker") for t in ts
                   if _within(t, ("ui",)) and (m, t) not in GUI_LAUNCH)
    assert wrong == []


def test_tracking_and_identity_stay_stages() -> None:
    wrong = sorted((m, t) for m, ts in graph().items() if _within(m, STAGES) for t in ts if _within(t, NOT_FROM_STAGES))
    assert wrong == []


def test_the_foundation_imports_no_package_of_ours() -> None:
    wrong = sorted((m, t) for m, ts in graph().items() if m in FOUNDATION for t in ts
                   if t not in FOUNDATION and t != "tracker")
    assert wrong == []


def test_no_module_reads_another_modules_private_names() -> None:
    mods = modules()
    wrong = []
    for name, path in mods.items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.level or (node.module or "").split(".")[0] in PACKAGES):
                wrong += [f"{name}: {a.name}" for a in node.names
                          if a.name.startswith("_") and not a.name.endswith("__")]
    assert wrong == []


def test_no_module_over_400_lines() -> None:
    long = {name: n for name, path in modules().items() if (n := len(path.read_text().splitlines())) > 400}
    assert long == {}


def test_the_checker_sees_a_cycle_and_an_import_inside_a_function() -> None:
    tree = ast.parse("import os\ndef f():\n    from x import y\nif TYPE_CHECKING:\n    import z\n")
    assert [n.module if isinstance(n, ast.ImportFrom) else n.names[0].name for n in _imports(tree)] == ["os", "x"]
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    edges = graph()
    assert "tracker.config" in edges["tracker.engine.pipeline"]  # a relative import, resolved


def test_every_package_ships_in_the_wheel() -> None:
    """pyproject.toml lists the packages by name (assets/ ships under another name): a new package
    folder must be listed, or `pip install` leaves it out."""
    import tomllib

    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    folders = {".".join(p.parent.relative_to(ROOT).parts) for package in PACKAGES
               for p in (ROOT / package).rglob("__init__.py")}
    assert folders - listed == set()
