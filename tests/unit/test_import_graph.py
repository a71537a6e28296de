"""The tool's and the emulator's modules import each other in one direction only, counting
the imports made for annotations (`if TYPE_CHECKING:`) too: a cycle there is a cycle in the
design, even though it runs. (import-linter's contracts in pyproject.toml check the same
graph, package by package; this finds a cycle between any modules.)"""

from __future__ import annotations

import grimp


def cycles(graph: grimp.ImportGraph, package: str) -> list[list[str]]:
    """Strongly connected groups of more than one module under `package` (Tarjan)."""
    modules = sorted(m for m in graph.modules if m == package or m.startswith(package + "."))
    inside = set(modules)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for imported in sorted(graph.find_modules_directly_imported_by(module) & inside):
            if imported not in index:
                visit(imported)
                low[module] = min(low[module], low[imported])
            elif imported in on_stack:
                low[module] = min(low[module], index[imported])
        if low[module] == index[module]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == module:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for module in modules:
        if module not in index:
            visit(module)
    return found


def test_the_tool_has_no_import_cycle_not_even_for_annotations() -> None:
    graph = grimp.build_graph("smus_mesh", exclude_type_checking_imports=False)
    assert cycles(graph, "smus_mesh") == []


def test_the_emulator_has_no_import_cycle_not_even_for_annotations() -> None:
    # The DataZone domain's stores hold the records, which read their domain only through
    # common.DomainScope: the records sit below domains.py, the operations above it.
    graph = grimp.build_graph("smus_mesh_emulator", exclude_type_checking_imports=False)
    assert cycles(graph, "smus_mesh_emulator") == []


def test_a_cycle_is_found_when_there_is_one() -> None:
    # The check itself can fail: resources.context imported resources.base's Resource for
    # the annotation of Context.wait, while base imports context for its own annotations.
    graph = grimp.build_graph("smus_mesh", exclude_type_checking_imports=False)
    graph.add_import(
        importer="smus_mesh.resources.context",
        imported="smus_mesh.resources.base",
        line_number=1,
        line_contents="from smus_mesh.resources.base import Resource",
    )
    assert cycles(graph, "smus_mesh") == [
        ["smus_mesh.resources.base", "smus_mesh.resources.context"]
    ]
