"""The layers only point down: itembank ← embeddings ← search ← monitoring.

Every import of the installed packages (at module level and inside functions) is read with
`ast` and checked: no module imports a higher layer, no two modules import each other (directly
or round a longer loop), and no module other than a task module imports a `tasks` module
(services enqueue by task name; `tasks.py` imports services, never the reverse).
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LAYERS = {"itembank": 0, "embeddings": 1, "search": 2, "monitoring": 3}

# Nothing is allowed to break the rules; a new exception needs a reason written here.
ALLOWED_UPWARD: set[tuple[str, str]] = set()
ALLOWED_CYCLES: set[frozenset[str]] = set()
ALLOWED_TASK_IMPORTS: set[tuple[str, str]] = set()


def module_files() -> dict[str, Path]:
    found = {}
    for package in LAYERS:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            if "migrations" in parts:
                continue
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join(parts)] = path
    return found


MODULES = module_files()


def known(name: str) -> str | None:
    """The module of ours that importing `name` loads last (a.b.C → a.b), or None if not ours."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def imports_of(module: str, path: Path) -> list[tuple[str, int]]:
    """(imported module of ours, line) for every import statement anywhere in the file."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                parts = parts[: len(parts) - node.level + 1]
                base = ".".join([*parts, base] if base else parts)
            # `from a import b`: b is the module a.b when there is one, else a name in a.
            targets = [
                f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base
                for alias in node.names
            ]
        for target in targets:
            resolved = known(target)
            if resolved is not None and resolved != module:
                found.append((resolved, node.lineno))
    return found


def import_graph() -> dict[str, dict[str, int]]:
    """module → {imported module: first line importing it}."""
    graph: dict[str, dict[str, int]] = defaultdict(dict)
    for module, path in MODULES.items():
        for target, line in imports_of(module, path):
            graph[module].setdefault(target, line)
    return graph


GRAPH = import_graph()


def where(module: str, target: str) -> str:
    path = MODULES[module].relative_to(ROOT)
    return f"{module} imports {target} ({path}:{GRAPH[module][target]})"


def layer(module: str) -> int:
    return LAYERS[module.partition(".")[0]]


def is_ancestor(package: str, module: str) -> bool:
    return module.startswith(package + ".")


def strongly_connected(graph: dict[str, set[str]]) -> list[set[str]]:
    """Tarjan's algorithm, iterative; the components with more than one module."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = set()
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.add(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        components.append(component)
    return components


def test_the_walk_sees_the_packages_and_function_level_imports() -> None:
    # The walk itself can fail: it must find the modules and an import inside a function.
    assert {"itembank.models", "embeddings.pipeline", "search.engine"} <= set(MODULES)
    assert "itembank.celery" in GRAPH["itembank"]
    assert all(not module.endswith("migrations") for module in MODULES)
    assert strongly_connected({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [{"a", "b", "c"}]


def test_no_module_imports_a_higher_layer() -> None:
    upward = [
        where(module, target)
        for module, targets in sorted(GRAPH.items())
        for target in sorted(targets)
        if layer(target) > layer(module)
        and (module, target.partition(".")[0]) not in ALLOWED_UPWARD
    ]
    assert not upward, "imports pointing up a layer:\n" + "\n".join(upward)


def test_no_import_cycles() -> None:
    # A package's own modules importing the package (itembank.celery → itembank) is how Django
    # and Celery load an app; those edges do not count.
    graph = {
        module: {target for target in targets if not is_ancestor(target, module)}
        for module, targets in GRAPH.items()
    }
    for module in MODULES:
        graph.setdefault(module, set())
    cycles = []
    for component in strongly_connected(graph):
        if frozenset(component) in ALLOWED_CYCLES:
            continue
        edges = [
            where(module, target)
            for module in sorted(component)
            for target in sorted(graph[module] & component)
        ]
        cycles.append("cycle " + " ↔ ".join(sorted(component)) + ":\n  " + "\n  ".join(edges))
    assert not cycles, "import cycles:\n" + "\n".join(cycles)


def test_only_task_modules_import_task_modules() -> None:
    wrong = [
        where(module, target)
        for module, targets in sorted(GRAPH.items())
        for target in sorted(targets)
        if target.rpartition(".")[2] == "tasks"
        and module.rpartition(".")[2] != "tasks"
        and (module, target) not in ALLOWED_TASK_IMPORTS
    ]
    assert not wrong, "services enqueue by task name, never import tasks:\n" + "\n".join(wrong)


OUTSIDE_THE_PRODUCT = ("benchmarks", "tests", "scripts")


def test_the_product_never_imports_benchmarks_tests_or_scripts() -> None:
    # Benchmarks, the load test, test support and the dev launcher may import the product;
    # the installed packages never import them (they are not installed in a deployment).
    wrong = []
    for module, path in sorted(MODULES.items()):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
                names = [node.module]
            for name in names:
                if name.partition(".")[0] in OUTSIDE_THE_PRODUCT:
                    line = f"{path.relative_to(ROOT)}:{node.lineno}"
                    wrong.append(f"{module} imports {name} ({line})")
    assert not wrong, "product code importing non-product code:\n" + "\n".join(wrong)
