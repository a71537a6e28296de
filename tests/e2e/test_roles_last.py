"""`down` deletes the IAM roles last (ADR 40; workflow.md 2.2 step 16, 4.2): DataZone
assumes them until its asynchronous deletes are over, and GetDomain answers 403 while
the domain deletes once they are gone [TF-#48953].

The order is read from the emulator's calls log: every call that deletes a role comes
after every other change of the run and after the domain, the projects and the data
sources were seen gone. When a deletion before them fails, the roles are kept, the
report says why, and the next `down` finishes.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from smus_mesh.engine.plan import Action, Plan
from smus_mesh.engine.workspace import Workspace
from tests.e2e.conftest import Deployed, example_document
from tests.e2e.helpers import (
    ROLE_DELETION,
    assert_inventory_unchanged,
    assert_roles_deleted_last,
    calls_since,
    last_seq,
)
from tests.support import Cloud


def _role_steps(plan: Plan) -> list[str]:
    return [s.key for s in plan.steps if s.kind == "iam:role" and s.action == Action.DELETE]


def test_down_deletes_the_roles_after_every_other_deletion(
    cloud: Cloud,
    deploy_example: Callable[[Path], Deployed],
    make_workspace: Callable[..., Workspace],
    tmp_path: Path,
) -> None:
    deployed = deploy_example(tmp_path / "state.json")
    shown: list[Plan] = []
    since = last_seq(cloud)
    report, leftovers = make_workspace(state=deployed.state).down(approve=shown.append)
    assert report.ok, [f.message for f in report.failures]
    assert leftovers.count() == 0, leftovers.to_dict()
    calls = calls_since(cloud, since)

    roles = _role_steps(shown[0])
    # Execution, service, provisioning and manage-access (both accounts), Lake Formation.
    assert len(roles) == 7, roles
    assert assert_roles_deleted_last(calls) == len(roles)
    # The manage-access roles name the domain: they used to go before DeleteDomain.
    delete_domain = next(c["seq"] for c in calls if c["operation"] == "DeleteDomain")
    assert all(
        c["seq"] > delete_domain
        for c in calls
        if c["service"] == "iam" and c["operation"] in ROLE_DELETION
    )
    # What the plan shows and the report lists is the order it ran in: the roles last.
    deletions = [s.key for s in shown[0].steps if s.action == Action.DELETE]
    assert deletions[-len(roles) :] == roles
    roles_at = [s.kind == "iam:role" for s in shown[0].steps if s.action == Action.DELETE]
    assert roles_at == sorted(roles_at)  # every other deletion, then the roles
    done = [r.key for r in report.results if r.action == Action.DELETE.value]
    assert sorted(done[-len(roles) :]) == sorted(roles)
    assert_inventory_unchanged(deployed.before, cloud.inventory(), "down, roles last")


def _faults(cloud: Cloud, **settings: Any) -> None:
    cloud.admin("POST", "faults", settings)


def test_a_failed_deletion_keeps_the_roles_and_the_next_down_deletes_them(
    cloud: Cloud,
    deploy_example: Callable[[Path], Deployed],
    make_workspace: Callable[..., Workspace],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    """DeleteDomain keeps failing (a 5xx on every attempt): the domain stays, and so does
    every role (the sweep after the steps keeps them too); a `down` once AWS recovers
    deletes the domain, then the roles."""
    monkeypatch.setenv("SMUS_MESH_MAX_ATTEMPTS", "2")
    # The backoff between attempts is botocore's (up to 1 s here); skipping the sleep keeps
    # the test fast and changes nothing else.
    monkeypatch.setattr("botocore.endpoint.time.sleep", lambda seconds: None)
    deployed = deploy_example(tmp_path / "state.json")
    since = last_seq(cloud)
    _faults(cloud, error_rate=1.0, seed=1, operations=["DeleteDomain"])
    report, leftovers = make_workspace(state=deployed.state).down()
    _faults(cloud)
    assert not report.ok
    calls = calls_since(cloud, since)
    assert any(c["operation"] == "DeleteDomain" and c.get("injected") for c in calls)
    assert [c for c in calls if c["operation"] in ROLE_DELETION] == []

    results = {r.key: r for r in report.results}
    domain = results["datazone:domain/domain"]
    assert not domain.ok
    assert domain.message.startswith("datazone:domain/domain: ")
    assert "[DeleteDomain: InternalServerException]" in domain.message
    assert report.causes() == ["datazone:domain/domain"]
    assert report.transient  # the same command again can finish: exit 3
    kept = [r for r in report.results if r.key.startswith("iam:role/")]
    assert len(kept) == 7
    for result in kept:
        assert not result.ok
        assert result.message == (
            "kept: roles are deleted last, once every other deletion has succeeded, and "
            "datazone:domain/domain failed; run the same command again to finish"
        )
    # Everything else is gone; the roles and the domain are what is left.
    assert leftovers.by_class()["iam_roles"] == 7, leftovers.to_dict()
    assert leftovers.by_class()["datazone"] == 1
    assert deployed.state.exists()

    since = last_seq(cloud)
    report, leftovers = make_workspace(state=deployed.state).down()
    assert report.ok, [f.message for f in report.failures]
    assert leftovers.count() == 0, leftovers.to_dict()
    assert assert_roles_deleted_last(calls_since(cloud, since)) == 7
    assert_inventory_unchanged(deployed.before, cloud.inventory(), "down after a kept role")


def test_the_roles_of_what_left_the_config_go_after_the_rest_of_down(
    cloud: Cloud,
    deploy_example: Callable[[Path], Deployed],
    make_workspace: Callable[..., Workspace],
    tmp_path: Path,
) -> None:
    """The consumer project leaves the config, then `down` runs: it removes what left (the
    consumer account's roles among it) and deletes the rest; the removed roles too go after
    every deletion of the run, DeleteDomain's included, and the plan shows them last."""
    deployed = deploy_example(tmp_path / "state.json")
    document = example_document()
    document["projects"] = [p for p in document["projects"] if p["name"] != "consumer"]
    document["subscriptions"] = []
    document["checks"] = []
    shown: list[Plan] = []
    since = last_seq(cloud)
    report, leftovers = make_workspace(document, deployed.state).down(approve=shown.append)
    assert report.ok, [f.message for f in report.failures]
    assert leftovers.count() == 0, leftovers.to_dict()

    removed = [s.key for s in shown[0].steps if s.reason.startswith("left the config")]
    removed_roles = [k for k in removed if k.startswith("iam:role/")]
    assert sorted(removed_roles) == [
        "iam:role/manage-access/consumer",
        "iam:role/provisioning/consumer",
    ]
    # Shown as it runs: what left first, then the plan, the removed roles at the end.
    assert [s.key for s in shown[0].steps][-2:] == removed_roles
    roles_at = [s.kind == "iam:role" for s in shown[0].steps if s.action == Action.DELETE]
    assert roles_at == sorted(roles_at)  # every other deletion, then the roles
    assert [r.key for r in report.results][-2:] == removed_roles
    assert assert_roles_deleted_last(calls_since(cloud, since)) == 7
    assert_inventory_unchanged(deployed.before, cloud.inventory(), "down after a removal")
