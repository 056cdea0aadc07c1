"""Dependencies point one way: facade -> manager -> disk -> backend <- drivers/decorators.

The import graph is read from the source (imports inside functions count: they
run too; ``if TYPE_CHECKING:`` blocks do not). A cycle, or a lower layer that
imports a higher one, fails here with the modules named.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "flystore"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_type_checking_block(node: ast.AST) -> bool:
    if not isinstance(node, ast.If):
        return False
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(path: Path, modules: set[str]) -> set[str]:
    """The flystore modules ``path`` imports at run time (at any depth of its code)."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()

    def resolve(base: str, level: int) -> str:
        if level == 0:
            return base
        anchor = package.split(".")
        anchor = anchor[: len(anchor) - (level - 1)]
        return ".".join([*anchor, base] if base else anchor)

    def visit(node: ast.AST) -> None:
        if _is_type_checking_block(node):
            return
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "flystore":
                    found.add(alias.name)
        elif isinstance(node, ast.ImportFrom):
            target = resolve(node.module or "", node.level)
            if target.split(".")[0] == "flystore":
                for alias in node.names:
                    candidate = f"{target}.{alias.name}"
                    found.add(candidate if candidate in modules else target)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(path.read_text(), str(path)))
    return {module for module in found if module in modules and module != name}


def _graph() -> dict[str, set[str]]:
    files = sorted(PACKAGE.rglob("*.py"))
    modules = {_module_name(path) for path in files}
    return {_module_name(path): _imports(path, modules) for path in files}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                connect(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            connect(node)
    return found


def test_the_package_has_no_import_cycles() -> None:
    assert _cycles(_graph()) == []


# (module prefix, what it must never import): the layers below may not reach up.
FORBIDDEN = [
    ("flystore.disk", ("flystore.manager", "flystore.storage", "flystore.drivers", "flystore.decorators")),
    ("flystore.backend", ("flystore.disk", "flystore.manager", "flystore.storage", "flystore.drivers")),
    ("flystore.config", ("flystore.disk", "flystore.manager", "flystore.storage", "flystore.drivers")),
    ("flystore.signing", ("flystore.disk", "flystore.manager", "flystore.storage")),
    ("flystore.errors", ("flystore.",)),
    ("flystore.paths", ("flystore.disk", "flystore.manager", "flystore.storage")),
    ("flystore.drivers", ("flystore.manager", "flystore.storage")),
    ("flystore.decorators", ("flystore.manager", "flystore.storage")),
    ("flystore.manager", ("flystore.storage",)),
]


@pytest.mark.parametrize(("lower", "higher"), FORBIDDEN, ids=[lower for lower, _ in FORBIDDEN])
def test_lower_layers_never_import_higher_ones(lower: str, higher: tuple[str, ...]) -> None:
    graph = _graph()
    offending = sorted(
        f"{module} imports {target}"
        for module, targets in graph.items()
        if module == lower or module.startswith(lower + ".")
        for target in targets
        if any(target == bad or target.startswith(bad if bad.endswith(".") else bad + ".") for bad in higher)
        and not (lower == "flystore.errors" and (target == lower or target.startswith(lower + ".")))
    )
    assert offending == []


def test_the_checker_sees_a_cycle_and_lazy_imports() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycles(graph) == [["a", "b", "c"]]
    disk_imports = _graph()["flystore.disk"]
    assert "flystore.responses" in disk_imports  # imported inside download_response(): still seen


def _higher_scoped_instance_fixtures(source: Path) -> list[str]:
    """``file:line name`` of every fixture in a class with a scope above "function" whose first argument is self."""
    found = []
    for node in ast.walk(ast.parse(source.read_text(), filename=str(source))):
        if not isinstance(node, ast.ClassDef):
            continue
        for method in node.body:
            if not isinstance(method, ast.FunctionDef) or not method.args.args:
                continue
            scoped = any(
                isinstance(decorator, ast.Call)
                and any(keyword.arg == "scope" and not (isinstance(keyword.value, ast.Constant)
                                                        and keyword.value.value == "function")
                        for keyword in decorator.keywords)
                for decorator in method.decorator_list
            )
            if scoped and method.args.args[0].arg == "self":
                found.append(f"{source.name}:{method.lineno} {method.name}")
    return found


def test_class_scoped_fixtures_are_classmethods() -> None:
    """pytest 9.1 deprecates higher-scoped fixtures bound to a test instance (#10819); under
    filterwarnings=error one errors every test of its class. pytest 9.0 says nothing, so this checks."""
    sources = [*Path(__file__).resolve().parent.rglob("*.py"), *(PACKAGE / "testing").rglob("*.py")]
    offending = [where for source in sources for where in _higher_scoped_instance_fixtures(source)]
    assert offending == []
