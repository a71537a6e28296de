"""The whole collaboration on the emulator: up, query, second up, down, audit."""

from __future__ import annotations

from collections.abc import Callable

from smus_mesh.collaboration import Collaboration
from smus_mesh.engine.workspace import Workspace
from tests.support import Cloud


def test_up_query_down_leaves_both_accounts_as_they_were(
    cloud: Cloud, make_workspace: Callable[..., Workspace]
) -> None:
    before = cloud.inventory()
    workspace = make_workspace()

    report = workspace.up()
    assert report.ok, [f.message for f in report.failures]

    results = Collaboration(workspace).run_checks()
    assert [(r.ok, r.columns, r.rows) for r in results] == [
        (True, ["warehouse", "units"], [["faro", "120"], ["lisbon", "450"], ["porto", "4295"]])
    ]

    cloud.admin("POST", "calls/reset")
    again = make_workspace().up()
    assert again.ok
    mutating = [c for c in cloud.calls() if c["mutating"]]
    assert mutating == []

    down, leftovers = make_workspace().down()
    assert down.ok, [f.message for f in down.failures]
    assert leftovers.count() == 0
    assert cloud.inventory() == before
