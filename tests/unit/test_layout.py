"""The package is laid out as the data flows: each subpackage imports only from itself and the
subpackages before it in LAYERS, and no module imports another in a circle."""
from __future__ import annotations

import ast
from pathlib import Path

import csp_pipeline

PACKAGE = Path(csp_pipeline.__file__).parent
LAYERS = ["core", "ingest", "transform", "publish", "privacy", "synthetic", "orchestration", "cli"]


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> dict[str, set[str]]:
    """Every csp_pipeline module and the csp_pipeline modules it imports (at any depth of its code)."""
    modules = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        targets: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                for alias in node.names:
                    full = f"{node.module}.{alias.name}"
                    targets.add(full if full in modules else node.module)
            elif isinstance(node, ast.Import):
                targets.update(a.name for a in node.names)
        graph[name] = {t for t in targets if t in modules and t != name}
    return graph


def _layer(module: str) -> int | None:
    parts = module.split(".")
    return LAYERS.index(parts[1]) if len(parts) > 1 and parts[1] in LAYERS else None


def test_every_module_sits_in_a_layer():
    loose = [m for m in import_graph() if m != "csp_pipeline" and _layer(m) is None]
    assert loose == [], f"modules outside the layered subpackages: {loose}"


def test_imports_point_only_down_the_flow():
    upward = [
        f"{source} imports {target}"
        for source, targets in import_graph().items()
        for target in targets
        if _layer(source) is not None and _layer(target) is not None and _layer(target) > _layer(source)
    ]
    assert upward == []


def test_no_import_circle():
    graph = import_graph()
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    circles: list[list[str]] = []

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for target in sorted(graph[node]):
            if state.get(target) == 1:
                circles.append(path[path.index(target):] + [target])
            elif target not in state:
                visit(target, path + [target])
        state[node] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert circles == []
