"""The shape of the package: an import graph with no cycle, frozen core records, and every
error class in nnhand/errors.py.

The import graph is read from the source with `ast` (not from what happens to be imported
at run time), so an import inside a function counts as much as one at the top of a module:
a cycle hidden in a function is still a cycle between the modules. Only the body of an
`if TYPE_CHECKING:` block is left out: it never runs (it names types for mypy alone).
"""

from __future__ import annotations

import ast
import dataclasses
import importlib
import inspect
from pathlib import Path

import pytest

import nnhand

PACKAGE = Path(nnhand.__file__).parent


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _base(module: str, path: Path, node: ast.ImportFrom) -> str:
    """The absolute name `from <...> import` names (relative imports resolved)."""
    if not node.level:
        return node.module or ""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for _ in range(node.level - 1):
        package = package.rpartition(".")[0]
    return f"{package}.{node.module}" if node.module else package


def _type_checking(node: ast.AST) -> bool:
    if not isinstance(node, ast.If):
        return False
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _nodes(tree: ast.AST) -> list[ast.AST]:
    """Every node of `tree`, but for the bodies of `if TYPE_CHECKING:` (their `else` stays)."""
    out, todo = [], [tree]
    while todo:
        node = todo.pop()
        out.append(node)
        if _type_checking(node):
            assert isinstance(node, ast.If)
            todo.extend(node.orelse)
            continue
        todo.extend(ast.iter_child_nodes(node))
    return out


def imports_of(module: str) -> set[str]:
    """The nnhand modules `module` imports anywhere in its source (the deepest module named:
    `from nnhand.core import engine` is nnhand.core.engine, `from nnhand.values import X`
    is nnhand.values)."""
    path = MODULES[module]
    found: set[str] = set()
    for node in _nodes(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = _base(module, path, node)
            names = [f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base for a in node.names]
        else:
            continue
        for name in names:
            while name and name not in MODULES:  # `import nnhand.core.engine.x`: the module part
                name = name.rpartition(".")[0]
            if name and name != module:
                found.add(name)
    return found


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of the directed graph (as a path that ends where it starts), or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state:
                cycle = visit(nxt)
                if cycle:
                    return cycle
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            cycle = visit(node)
            if cycle:
                return cycle
    return None


def test_the_cycle_finder_finds_a_cycle_and_only_a_cycle() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None


def test_the_import_reader_skips_only_type_checking_blocks() -> None:
    tree = ast.parse(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import a\nelse:\n    import b\n"
        "def f():\n    import c\n"
    )
    names = {alias.name for node in _nodes(tree) if isinstance(node, ast.Import) for alias in node.names}
    assert names == {"b", "c"}


def test_the_import_reader_sees_imports_inside_functions() -> None:
    # core/reading is imported by givens.read_given inside the function only.
    assert "nnhand.core.reading" in imports_of("nnhand.core.givens")
    assert "nnhand.core.template" in imports_of("nnhand.core.engine")
    assert "nnhand.safety.safeio" in imports_of("nnhand.core.template")  # inside load_template


def test_the_import_graph_has_no_cycle() -> None:
    graph = {module: imports_of(module) for module in MODULES}
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_the_template_does_not_reach_the_engine() -> None:
    """The template is below the instance: shape inference on a sample lives in the engine."""
    graph = {module: imports_of(module) for module in MODULES}
    reached, todo = set(), ["nnhand.core.template"]
    while todo:
        for nxt in graph[todo.pop()]:
            if nxt not in reached:
                reached.add(nxt)
                todo.append(nxt)
    assert "nnhand.core.engine" not in reached


@pytest.mark.parametrize(("module", "name"), [("nnhand.core.template", "Template"), ("nnhand.core.engine", "Problem")])
def test_core_records_are_frozen(module: str, name: str) -> None:
    cls = getattr(importlib.import_module(module), name)
    assert dataclasses.is_dataclass(cls)
    assert cls.__dataclass_params__.frozen


def test_a_problem_cannot_be_changed_after_it_is_built() -> None:
    from nnhand import api
    from nnhand.core.engine import Variant, generate

    problem = generate(api.load("single-neuron"), 3)
    with pytest.raises(dataclasses.FrozenInstanceError):
        problem.variant = Variant("single-neuron", 1, seed=4)  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        problem.template.title = "changed"  # type: ignore[misc]


def test_every_error_class_lives_in_errors() -> None:
    """Exceptions defined under nnhand/ are in nnhand/errors.py, but for private control-flow
    ones (a leading underscore) that never leave their module."""
    outside = []
    for module in MODULES:
        if module in ("nnhand.__main__",):
            continue
        loaded = importlib.import_module(module)
        for name, obj in vars(loaded).items():
            if (
                inspect.isclass(obj)
                and issubclass(obj, BaseException)
                and obj.__module__ == module
                and module != "nnhand.errors"
                and not name.startswith("_")
            ):
                outside.append(f"{module}.{name}")
    assert not outside, f"error classes outside nnhand/errors.py: {outside}"


def test_the_error_class_reader_would_see_one() -> None:
    """The check above reads class definitions from the modules themselves: a class defined
    in a module (not imported into it) is what it looks for."""
    from nnhand.core import template

    assert template._ValueOnly.__module__ == "nnhand.core.template"
    assert issubclass(template._ValueOnly, Exception)


def test_caches_cannot_grow_without_bound() -> None:
    """The per-template cache (plans, shapes, slips) and the cache of loaded files are bounded:
    a long-running process that sees many params or files keeps the newest entries only."""
    from nnhand import api
    from nnhand.core import template as template_module
    from nnhand.core.engine import shapes

    cache = template_module.BoundedCache(3)
    for i in range(10):
        cache[i] = i
    assert list(cache) == [7, 8, 9]
    cache[8] = "again"  # replacing an entry forgets nothing
    assert list(cache.items()) == [(7, 7), (8, "again"), (9, 9)]

    assert isinstance(template_module._CACHE, template_module.BoundedCache)
    matmul = api.load("matmul")
    assert isinstance(matmul.cache, template_module.BoundedCache)
    sizes = [(m, k) for m in range(1, 5) for k in range(1, 5)] * 6  # more entries than it keeps
    for i, (m, k) in enumerate(sizes):
        n = 1 + i % 4  # C is m x n: a number when 1 x 1, a column vector when n = 1
        assert shapes(matmul, {"m": m, "k": k, "n": n})["C"] == (() if (m, n) == (1, 1) else (m,) if n == 1 else (m, n))
    assert len(matmul.cache) <= matmul.cache.maxsize
