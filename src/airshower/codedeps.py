"""The package files a stage's code depends on, derived from its imports (parsed, never imported).

A workflow rule lists, as inputs, the source files of the code its job runs, so that a change
to any of them re-runs the job. :func:`source_files` derives that list from the stage's entry
modules: the transitive closure over ``airshower`` imports, found by parsing each module with
:mod:`ast`:

* ``import airshower.x.y`` and ``from airshower.x import y`` (``y`` a submodule or a name),
  relative imports, at module level or inside functions; the ``__init__.py`` of every package
  on the way (Python runs them);
* ``importlib.import_module("airshower.x")`` with a literal name, and ``"airshower.x:Name"``
  strings: the package's references to code imported on use (e.g. ``sources.registry.CLASSES``);
* not what runs only for type checkers (``if TYPE_CHECKING:``);
* package data a module reads (:mod:`importlib.resources` ``files(...)``, or next to its
  ``__file__``): string literals of the module, and literal ``joinpath`` arguments and ``/``
  chains, that name a file of the package, e.g. ``resources/sd_parameters.json`` of
  :mod:`airshower.physics.parameters` and ``schemas/config.schema.yaml`` of
  :mod:`airshower.config`.

Paths are relative to the working folder (the checkout, where the workflow runs), so a
study moved with its checkout keeps its inputs. The modules are only parsed: planning the
workflow needs neither torch nor any other dependency of the code analysed.
"""

from __future__ import annotations

import ast
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

PACKAGE = "airshower"
# the folder holding the package (src/ of a checkout): the default place to read sources from
SRC = Path(__file__).resolve().parent.parent
# "airshower.x.y:Name": a reference to code imported on use
_REFERENCE = re.compile(rf"^({PACKAGE}(?:\.\w+)*):\w+(?:\.\w+)*$")


class CodeDepsError(LookupError):
    """A module named as an entry, or imported by the code analysed, has no source file."""


@dataclass(frozen=True)
class _Module:
    """What one parsed module refers to: ``airshower`` modules (with names that may be
    submodules) and the package files it reads."""

    imports: tuple[tuple[str, tuple[str, ...]], ...]  # (module, names imported from it)
    references: tuple[str, ...]  # "airshower.x:Name" modules: followed when they exist
    data: tuple[Path, ...]


def module_file(module: str, src: Path = SRC) -> Path | None:
    """The source file of ``module`` under ``src`` (``x/y.py`` or ``x/y/__init__.py``), or None."""
    base = Path(src, *module.split("."))
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None


def _is_package(module: str) -> bool:
    return module == PACKAGE or module.startswith(PACKAGE + ".")


def _parents(module: str) -> Iterator[str]:
    """``a``, ``a.b``, ``a.b.c`` for ``a.b.c``: every package run on the way to the module."""
    parts = module.split(".")
    for i in range(1, len(parts) + 1):
        yield ".".join(parts[:i])


def _type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _runtime_nodes(tree: ast.AST) -> Iterator[ast.AST]:
    """Every node of the tree except the bodies of ``if TYPE_CHECKING:`` blocks."""
    stack = [tree]
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, ast.If) and _type_checking(node):
            stack.extend(node.orelse)
            continue
        stack.extend(ast.iter_child_nodes(node))


def _absolute(module: str, is_package: bool, level: int, name: str | None) -> str:
    """The absolute module of ``from {'.' * level}{name} import ...`` in ``module``."""
    if level == 0:
        return name or ""
    parts = module.split(".")
    if not is_package:
        parts = parts[:-1]
    parts = parts[: len(parts) - (level - 1)] if level > 1 else parts
    return ".".join([*parts, name] if name else parts)


def _strings(node: ast.AST) -> list[str] | None:
    """The literal path pieces of ``"a"``, ``x.joinpath("a", "b")`` or ``p / "a" / "b"``."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "joinpath":
        pieces = [_strings(a) for a in node.args]
        return [p for piece in pieces for p in piece] if pieces and all(pieces) else None
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
        right = _strings(node.right)
        left = _strings(node.left) or []
        return [*left, *right] if right else None
    return None


def _data_anchors(tree: ast.AST, module: str, path: Path, src: Path) -> set[Path]:
    """Folders the module reads package files from: those of ``files(...)`` and of ``__file__``."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    anchors: set[Path] = set()
    for node in _runtime_nodes(tree):
        if isinstance(node, ast.Name) and node.id == "__file__":
            anchors.add(path.parent)
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
        if name != "files":
            continue
        arg = node.args[0] if node.args else None
        if arg is None or (isinstance(arg, ast.Name) and arg.id in ("__package__", "__name__")):
            anchors.add(Path(src, *package.split(".")))
        elif isinstance(arg, ast.Constant) and isinstance(arg.value, str) and _is_package(arg.value):
            anchors.add(Path(src, *arg.value.split(".")))
    return anchors


@lru_cache(maxsize=None)
def _parse(path: Path, module: str, src: Path, stamp: float) -> _Module:
    """The ``airshower`` imports and package files of one module (cached per file version)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    is_package = path.name == "__init__.py"
    imports: list[tuple[str, tuple[str, ...]]] = []
    references: list[str] = []
    pieces: list[list[str]] = []
    for node in _runtime_nodes(tree):
        if isinstance(node, ast.Import):
            imports += [(alias.name, ()) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(module, is_package, node.level, node.module)
            imports.append((base, tuple(a.name for a in node.names if a.name != "*")))
        elif isinstance(node, ast.Call):
            func = node.func
            if (
                isinstance(func, ast.Attribute) and func.attr == "import_module"
                and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)
            ):
                imports.append((node.args[0].value, ()))
            if (found := _strings(node)) is not None:
                pieces.append(found)
        elif isinstance(node, ast.BinOp) and (found := _strings(node)) is not None:
            pieces.append(found)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            if match := _REFERENCE.match(node.value):
                references.append(match.group(1))
            pieces.append([node.value])
    data: set[Path] = set()
    for anchor in _data_anchors(tree, module, path, src):
        for parts in pieces:
            if any(not p or os.path.isabs(p) or "\n" in p for p in parts):
                continue
            candidate = anchor.joinpath(*parts)
            if candidate.suffix != ".py" and candidate.is_file():
                data.add(candidate)
    own = tuple((m, names) for m, names in imports if _is_package(m))
    return _Module(imports=own, references=tuple(references), data=tuple(sorted(data)))


def _excluded(module: str, exclude: tuple[str, ...]) -> bool:
    return any(module == e or module.startswith(e + ".") for e in exclude)


def source_files(
    modules: Iterable[str],
    *,
    src: str | os.PathLike[str] = SRC,
    root: str | os.PathLike[str] | None = None,
    exclude: Iterable[str] = (),
) -> list[str]:
    """The sorted source and data files that the entry ``modules`` depend on, relative to ``root``.

    ``src`` is the folder holding the ``airshower`` package (``src/`` of the checkout the
    workflow runs); ``root`` the folder the paths are relative to (default: the working
    folder). ``exclude`` names modules (with their submodules) that are neither listed nor
    followed: code the caller knows its job never runs, such as the figures that only
    ``airshower simulate --validate`` draws. Raises :class:`CodeDepsError` for an entry or an
    imported ``airshower`` module without a source file.
    """
    src_dir = Path(src).resolve()
    base = Path(root if root is not None else os.getcwd()).resolve()
    skip = tuple(exclude)
    files: set[Path] = set()
    seen: set[str] = set()
    todo: list[tuple[str, str]] = [(m, "the entry modules") for m in modules]
    while todo:
        module, importer = todo.pop()
        if module in seen or _excluded(module, skip):
            continue
        seen.add(module)
        path = module_file(module, src_dir)
        if path is None:
            raise CodeDepsError(f"{module} (imported by {importer}) has no source file under {src_dir}")
        files.add(path)
        parsed = _parse(path, module, src_dir, path.stat().st_mtime)
        files.update(parsed.data)
        for parent in _parents(module):
            todo.append((parent, module))
        for target, names in parsed.imports:
            todo.extend((m, module) for m in _parents(target))
            todo.extend((f"{target}.{n}", module) for n in names if module_file(f"{target}.{n}", src_dir))
        # a reference to a module not (yet) there fails when used, not when planning
        todo.extend((m, module) for m in parsed.references if module_file(m, src_dir))
    return sorted(os.path.relpath(f, base) for f in files)
