"""The dependency graph: batches, order, reverse order, and named errors."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from smus_mesh.config import parse_config
from smus_mesh.engine.graph import Graph
from smus_mesh.errors import PlanError
from smus_mesh.resources.base import Resource
from smus_mesh.resources.setup import SetupBuilder
from tests.unit.fakes import Fake
from tests.unit.test_config import example


def keys(resources: Sequence[Resource]) -> list[str]:
    return [r.key for r in resources]


def diamond() -> Graph:
    """a <- b, a <- c, (b, c) <- d, and e on its own."""
    return Graph(
        [
            Fake("d", ("fake:thing/b", "fake:thing/c")),
            Fake("b", ("fake:thing/a",)),
            Fake("a"),
            Fake("c", ("fake:thing/a",)),
            Fake("e"),
        ]
    )


def test_batches_group_what_can_run_at_once() -> None:
    graph = diamond()
    assert [keys(b) for b in graph.batches()] == [
        ["fake:thing/a", "fake:thing/e"],
        ["fake:thing/b", "fake:thing/c"],
        ["fake:thing/d"],
    ]


def test_order_puts_every_step_after_its_dependencies() -> None:
    graph = diamond()
    order = keys(graph.ordered())
    assert order == ["fake:thing/a", "fake:thing/e", "fake:thing/b", "fake:thing/c", "fake:thing/d"]
    for resource in graph:
        for dependency in resource.depends_on:
            assert order.index(dependency) < order.index(resource.key)


def test_reversed_is_the_order_backwards() -> None:
    graph = diamond()
    assert keys(graph.reversed()) == list(reversed(keys(graph.ordered())))
    assert keys(graph.reversed())[0] == "fake:thing/d"


def test_dependents_and_ancestors() -> None:
    graph = diamond()
    assert sorted(graph.dependents("fake:thing/a")) == ["fake:thing/b", "fake:thing/c"]
    assert graph.dependents("fake:thing/d") == []
    assert graph.ancestors("fake:thing/d") == {"fake:thing/a", "fake:thing/b", "fake:thing/c"}
    assert graph.ancestors("fake:thing/a") == set()
    assert len(graph) == 5
    assert "fake:thing/e" in graph
    assert "fake:thing/z" not in graph


def test_a_cycle_is_a_plan_error_naming_the_loop() -> None:
    with pytest.raises(PlanError) as caught:
        Graph(
            [
                Fake("a", ("fake:thing/c",)),
                Fake("b", ("fake:thing/a",)),
                Fake("c", ("fake:thing/b",)),
                Fake("stuck-behind", ("fake:thing/a",)),
                Fake("free"),
            ]
        )
    assert str(caught.value) == (
        "dependency cycle: fake:thing/a -> fake:thing/c -> fake:thing/b -> fake:thing/a"
    )


def test_a_step_depending_on_itself_is_a_cycle() -> None:
    with pytest.raises(PlanError, match=r"^dependency cycle: fake:thing/a -> fake:thing/a$"):
        Graph([Fake("a", ("fake:thing/a",))])


def test_an_unknown_dependency_is_named() -> None:
    with pytest.raises(PlanError) as caught:
        Graph([Fake("a"), Fake("b", ("fake:thing/a", "fake:thing/ghost"))])
    assert str(caught.value) == "fake:thing/b depends on unknown step(s): fake:thing/ghost"


def test_two_resources_with_one_key_are_refused() -> None:
    with pytest.raises(PlanError, match=r"two resources share the key fake:thing/a"):
        Graph([Fake("a"), Fake("a")])


def test_an_unknown_step_lists_the_valid_ones() -> None:
    graph = Graph([Fake("b"), Fake("a")])
    with pytest.raises(PlanError) as caught:
        graph.get("fake:thing/c")
    assert str(caught.value) == "no step 'fake:thing/c'; steps are: fake:thing/a, fake:thing/b"


def test_the_example_builds_an_acyclic_graph_in_workflow_order() -> None:
    builder = SetupBuilder(parse_config(example(), "example"))
    graph = Graph(builder.build())
    order = keys(graph.ordered())
    position = {key: i for i, key in enumerate(order)}
    k = builder.keys
    # workflow.md: roles before the domain, the domain before the share and the
    # blueprints, projects before imports, the listing before the request, the
    # request before the approval and the grant.
    assert position[k["role:execution"]] < position[k["domain"]]
    assert position[k["domain"]] < position[k["share:consumer"]] < position[k["accept:consumer"]]
    assert position[k["accept:consumer"]] < position[k["blueprint:consumer:Tooling"]]
    assert position[k["blueprint:consumer:Tooling"]] < position[k["blueprint:consumer:DataLake"]]
    assert position[k["project:producer"]] < position[k["data-source:producer:retail"]]
    assert position[k["listing:inventory"]] < position[k["request:consumer:inventory"]]
    assert (
        position[k["request:consumer:inventory"]]
        < position[k["approval:consumer:inventory"]]
        < position[k["grant:consumer:inventory"]]
    )
    # the two accounts' independent steps share the first batch
    first = keys(graph.batches()[0])
    assert k["role:provisioning:producer"] in first
    assert k["role:provisioning:consumer"] in first


def test_manual_approval_has_no_approval_or_grant_step() -> None:
    document = example()
    document["projects"][0]["approval"] = {"mode": "manual"}
    builder = SetupBuilder(parse_config(document, "example"))
    Graph(builder.build())
    assert "request:consumer:inventory" in builder.keys
    assert "approval:consumer:inventory" not in builder.keys
    assert "grant:consumer:inventory" not in builder.keys


def test_dependencies_outside_the_graph_order_nothing() -> None:
    """What `up` removes is a graph of its own whose steps may depend on steps that stay."""
    removed = Graph(
        [Fake("listing", ("fake:thing/import",)), Fake("grant", ("fake:thing/listing",))],
        outside=["fake:thing/import"],
    )
    assert [r.key for r in removed.reversed()] == ["fake:thing/grant", "fake:thing/listing"]
    assert removed.dependents("fake:thing/listing") == ["fake:thing/grant"]
    assert removed.ancestors("fake:thing/grant") == {"fake:thing/listing"}
    with pytest.raises(PlanError, match="unknown step"):
        Graph([Fake("listing", ("fake:thing/import",))])


def _graph(document: dict[str, Any]) -> tuple[Graph, dict[str, str]]:
    builder = SetupBuilder(parse_config(document, "example"))
    return Graph(builder.build()), builder.keys


def test_a_table_moved_to_another_database_replaces_what_hangs_on_it() -> None:
    """ADR 52: the keys that stay but stand for objects of the new database now (the table,
    its grants, its listing and the subscriptions to it); the import, the data source and
    the database grants have keys of their own, which left the config."""
    before, k = _graph(example())
    moved = example()
    moved["tables"][0]["database"] = "retail_v2"
    after, _ = _graph(moved)
    assert before.replaced_in(after) == {
        k["table:inventory"],
        k["lf-only:inventory"],
        k["lf-grant:producer:inventory:project:table"],
        k["lf-grant:producer:inventory:manage-access:table"],
        k["listing:inventory"],
        k["request:consumer:inventory"],
        k["approval:consumer:inventory"],
        k["grant:consumer:inventory"],
    }
    assert k["import:producer:retail"] not in after
    assert before.replaced_in(_graph(example())[0]) == frozenset()


def test_what_a_moved_table_leaves_behind_in_its_database_is_not_replaced() -> None:
    """Only the moved table's keys: the data source and import of the database it left stay
    the same objects (their filter follows), and so do the other table's listing and
    subscription."""
    orders = {
        **example()["tables"][0],
        "name": "orders",
        "table": "orders",
        "location": "s3://smus-mesh-demo-retail-111111111111/orders/",
    }
    document = example()
    document["tables"].append(orders)
    document["projects"][0]["imports"].append("orders")
    document["subscriptions"][0]["tables"].append("orders")
    before, k = _graph(document)
    document["tables"][1]["database"] = "archive"
    after, _ = _graph(document)
    replaced = before.replaced_in(after)
    assert replaced == {
        k["table:orders"],
        k["lf-only:orders"],
        k["lf-grant:producer:orders:project:table"],
        k["lf-grant:producer:orders:manage-access:table"],
        k["listing:orders"],
        k["request:consumer:orders"],
        k["approval:consumer:orders"],
        k["grant:consumer:orders"],
    }
    for alias in ("data-source:producer:retail", "import:producer:retail", "listing:inventory"):
        assert k[alias] in after and k[alias] not in replaced
