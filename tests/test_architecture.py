"""The house rules, read from the code itself: rooms that import only downwards, no import cycle, modules
of a readable size. `docs/architecture.md` lists the rooms in this order."""
from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import PROJECT_DIR

# Lowest first: a module may import its own room and the rooms listed before it, never one after it.
ROOMS: tuple[tuple[str, ...], ...] = (
    ("aiplane", "aiplane.errors", "aiplane.files"),
    ("aiplane.planning",),
    ("aiplane.spec",),
    ("aiplane.components",),
    ("aiplane.tenancy",),
    ("aiplane.loader",),
    ("aiplane.synth",),
    ("aiplane.export",),
    ("aiplane.review",),
    ("aiplane.platform", "aiplane.cost", "aiplane.queueing"),
    ("aiplane.artifacts", "aiplane.preflight", "aiplane.capacity_blocks", "aiplane.schema", "aiplane.verify"),
    ("aiplane.policy",),
    ("aiplane.diff",),
    ("aiplane.onboarding", "aiplane.deploy"),
    ("aiplane.cli",),
    ("aiplane.docs", "aiplane.bench", "aiplane.__main__"),
)
MAX_MODULE_LINES = 600


def source_modules() -> dict[str, Path]:
    """Every module of the package by its import name; components/ installs as aiplane.components."""
    modules = {}
    for folder, package in ((PROJECT_DIR / "aiplane", "aiplane"), (PROJECT_DIR / "components", "aiplane.components")):
        for path in folder.rglob("*.py"):
            parts = path.relative_to(folder).with_suffix("").parts
            name = ".".join((package, *parts))
            modules[name.removesuffix(".__init__")] = path
    return modules


def room_of(module: str) -> int:
    best, rank = -1, -1
    for index, members in enumerate(ROOMS):
        for member in members:
            if (module == member or module.startswith(member + ".")) and len(member) > best:
                best, rank = len(member), index
    assert rank >= 0, f"{module} is in no room: add it to ROOMS and docs/architecture.md"
    return rank


def imports_of(module: str, path: Path, known: set[str]) -> set[str]:
    """The aiplane modules `module` imports anywhere in its body (functions included)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{base}" if base else anchor
            for alias in node.names:
                found.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base)
    return {name for name in found if name in known}


def import_graph() -> dict[str, set[str]]:
    modules = source_modules()
    return {name: imports_of(name, path, set(modules)) - {name} for name, path in modules.items()}


def test_no_module_imports_a_higher_room():
    upward = [
        f"{module} (room {room_of(module)}) imports {target} (room {room_of(target)})"
        for module, targets in import_graph().items()
        for target in sorted(targets)
        if room_of(target) > room_of(module)
    ]
    assert not upward, "\n".join(upward)


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == 1:
                return stack[stack.index(target):] + [target]
            if target not in state and (cycle := visit(target)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_no_import_cycle():
    cycle = find_cycle(import_graph())
    assert cycle is None, " -> ".join(cycle or [])


def test_the_cycle_finder_finds_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_the_spec_is_typed_now_that_it_has_no_cycle():
    from aiplane.spec import StackSpec, Tenant

    assert StackSpec.__dataclass_fields__["tenants"].type == "tuple[Tenant, ...]"
    assert Tenant.__module__ == "aiplane.spec.tenant"


def test_no_module_is_too_long():
    long = {name: lines for name, path in source_modules().items() if (lines := len(path.read_text().splitlines())) > MAX_MODULE_LINES}
    assert not long, f"modules over {MAX_MODULE_LINES} lines: {long}"


def test_everything_imports_components_by_its_package_name():
    offenders = []
    for path in [*PROJECT_DIR.glob("*.py"), *(p for d in ("aiplane", "components", "tests", "examples") for p in (PROJECT_DIR / d).rglob("*.py"))]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [alias.name for alias in node.names] if isinstance(node, ast.Import) else [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level else []
            offenders += [f"{path.relative_to(PROJECT_DIR)}: {name}" for name in names if name == "components" or name.startswith("components.")]
    assert not offenders, offenders
