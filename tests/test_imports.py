"""The modules of ``airshower`` import each other without cycles, lazy imports inside functions included.

Every module under ``src/airshower`` is parsed with :mod:`ast` (nothing is imported); every
``import`` and ``from ... import`` statement anywhere in it (module level, functions,
``TYPE_CHECKING`` blocks) is an edge to the ``airshower`` module it names. ``from a.b import c``
points at ``a.b.c`` when that is a module, else at ``a.b`` (the ``__init__`` files of the
parent packages, which Python runs first, are not edges: a package importing its own
submodules is no cycle). A cycle in this graph means that
some module imports one that imports it back, directly or through others: whoever changes one
of them has to know the other, and a lazy import that hides the cycle today breaks when it is
moved to the top of the file.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = "airshower"


def module_name(path: Path) -> str:
    """Dotted name of a source file under ``SRC`` (a package's ``__init__.py`` is the package)."""
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    """Every module of the package: dotted name -> file."""
    return {module_name(p): p for p in sorted((SRC / PACKAGE).rglob("*.py"))}


def _resolve_relative(current: str, is_package: bool, level: int, name: str | None) -> str:
    base = current.split(".") if is_package else current.split(".")[:-1]
    base = base[: len(base) - (level - 1)] if level > 1 else base
    return ".".join([*base, name] if name else base)


def _nearest(name: str, known: set[str]) -> str | None:
    """``name`` or its longest prefix that is a known module (``import a.b.c`` where c is not a module)."""
    parts = name.split(".")
    while parts:
        candidate = ".".join(parts)
        if candidate in known:
            return candidate
        parts.pop()
    return None


def imported(module: str, path: Path, known: set[str]) -> Iterator[tuple[str, int]]:
    """(airshower module, line) of every import statement of ``path``, wherever it stands."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    is_package = path.name == "__init__.py"
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == PACKAGE or alias.name.startswith(PACKAGE + "."):
                    target = _nearest(alias.name, known)
                    if target is not None:
                        yield target, node.lineno
        elif isinstance(node, ast.ImportFrom):
            base = (
                _resolve_relative(module, is_package, node.level, node.module) if node.level else node.module or ""
            )
            if not (base == PACKAGE or base.startswith(PACKAGE + ".")):
                continue
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                target = sub if sub in known else _nearest(base, known)
                if target is not None:
                    yield target, node.lineno


def import_graph() -> dict[str, dict[str, int]]:
    """module -> {imported module: line of the first such import}."""
    files = modules()
    known = set(files)
    graph: dict[str, dict[str, int]] = {}
    for name, path in files.items():
        edges: dict[str, int] = {}
        for target, line in imported(name, path, known):
            if target != name:
                edges.setdefault(target, line)
        graph[name] = edges
    return graph


def strongly_connected(graph: dict[str, dict[str, int]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, {})))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    top = stack.pop()
                    on_stack.discard(top)
                    component.append(top)
                    if top == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def a_cycle(graph: dict[str, dict[str, int]], component: list[str]) -> list[str]:
    """One closed path through ``component`` (breadth-first from its first module back to it)."""
    start = component[0]
    members = set(component)
    previous: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for child in sorted(graph[node]):
                if child == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(previous[path[-1]])
                    return [*reversed(path), start]
                if child in members and child not in previous:
                    previous[child] = node
                    following.append(child)
        frontier = following
    return component


def describe(graph: dict[str, dict[str, int]], cycle: list[str]) -> str:
    files = modules()
    steps = [
        f"{a} ({files[a].relative_to(SRC.parent)}:{graph[a][b]}) -> {b}" for a, b in zip(cycle, cycle[1:])
    ]
    return "\n    ".join(steps)


def test_the_graph_sees_lazy_relative_and_submodule_imports(tmp_path: Path) -> None:
    known = {"airshower", "airshower.figures", "airshower.figures.validation", "airshower.io.events",
             "airshower.simulate", "airshower.targets", "airshower.io"}
    path = tmp_path / "example.py"
    path.write_text(
        "from airshower import simulate\n"  # a submodule named in a from-import
        "from airshower.targets import TARGETS\n"  # a name of a module
        "from . import events\n"  # relative, in package airshower.io
        "if False:\n"
        "    import airshower.io.events.missing\n"  # the nearest module that exists
        "def draw():\n"
        "    from airshower.figures import validation\n"  # lazy, inside a function
        "    import numpy\n"
    )
    found = {target for target, _ in imported("airshower.io.example", path, known)}
    assert found == {"airshower.simulate", "airshower.targets", "airshower.io.events", "airshower.figures.validation"}
    graph = import_graph()
    assert len(graph) > 50 and "airshower.inference.checkpoint" in graph["airshower.evaluation.predict"]


def test_no_import_cycles() -> None:
    graph = import_graph()
    cycles = [a_cycle(graph, c) for c in strongly_connected(graph)]
    message = "\n  ".join(f"cycle {' -> '.join(c)}:\n    {describe(graph, c)}" for c in cycles)
    assert not cycles, f"airshower modules that import each other (directly or through others):\n  {message}"


def reachable(graph: dict[str, dict[str, int]], start: str) -> set[str]:
    """Every module ``start`` imports, directly or through others."""
    seen: set[str] = set()
    todo = [start]
    while todo:
        for child in graph[todo.pop()]:
            if child not in seen:
                seen.add(child)
                todo.append(child)
    return seen


@pytest.mark.parametrize(
    "module",
    ["airshower.inference", "airshower.evaluation.predict", "airshower.evaluation.reconstruct", "airshower.export"],
)
def test_running_a_trained_network_needs_nothing_of_training(module: str) -> None:
    graph = import_graph()
    names = [m for m in graph if m == module or m.startswith(module + ".")]
    training = sorted({t for m in names for t in reachable(graph, m) if t.split(".")[:2] == ["airshower", "training"]})
    assert not training, f"{module} imports {training}: what prediction needs belongs in airshower.inference"
