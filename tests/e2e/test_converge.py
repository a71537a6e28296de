"""`up` converges safely from what exists to the config (issue 12, ADR 18).

Safety first: a domain found by name that is another set-up's is never adopted, and a role
made again takes the blueprint configurations that use it along. Then one set-up walks a
chain of config edits beside a neighbour set-up that must stay untouched.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from smus_mesh.config import parse_config
from smus_mesh.engine.plan import Action
from smus_mesh.engine.workspace import Workspace
from smus_mesh.errors import UserError
from smus_mesh.settings import Settings
from tests.e2e.conftest import FAST, example_document
from tests.e2e.helpers import inventory_diff, last_seq, mutating_calls
from tests.e2e.test_neighbours import other_document
from tests.support import CONSUMER_ACCOUNT, Cloud


def _workspace(document: dict[str, Any], state: Path) -> Workspace:
    config = parse_config(document, "test config")
    return Workspace(config, state, settings=Settings.load({**FAST, **config.settings}))


def test_a_domain_of_the_same_name_that_is_another_set_ups_is_never_adopted(
    cloud: Cloud, tmp_path: Path, fast_polling: None
) -> None:
    """`other` uses the domain name of `demo`'s config: `demo` refuses (exit 2, nothing
    changed) rather than building its projects in `other`'s domain; its `down` leaves
    `other` as it was."""
    neighbour = other_document()
    neighbour["domain"]["name"] = example_document()["domain"]["name"]
    other: Callable[[], Workspace] = lambda: _workspace(neighbour, tmp_path / "other.json")  # noqa: E731
    assert other().up().ok
    before = cloud.inventory()
    domain_id = other().outputs()["domain"]["id"]

    demo: Callable[[], Workspace] = lambda: _workspace(example_document(), tmp_path / "demo.json")  # noqa: E731
    step = demo().plan().step("datazone:domain/domain")
    assert step.action == Action.BLOCKED
    assert step.reason.startswith(
        f"not this set-up's: the domain named smus-mesh-demo ({domain_id}) belongs to set-up "
        "'other' (id "
    ), step.reason

    seq = last_seq(cloud)
    with pytest.raises(UserError) as refused:
        demo().up()
    assert refused.value.exit_code == 2
    assert str(refused.value).startswith("refused, nothing was changed: datazone:domain/domain:")
    assert "give this config another domain.name" in str(refused.value)
    assert mutating_calls(cloud, seq) == []

    report, leftovers = demo().down()
    assert report.ok, [f.message for f in report.failures]
    assert leftovers.count() == 0
    assert inventory_diff(before, cloud.inventory()) == {}
    assert other().plan().changes() == []


def test_a_role_made_again_takes_its_blueprint_configurations_along(
    cloud: Cloud, make_workspace: Callable[..., Workspace]
) -> None:
    """The consumer account's provisioning role is deleted by hand, and its blueprint
    configurations point at an older ARN of it: `plan` says they wait for the role (not
    that they do not exist), `up` makes the role and moves them to its ARN."""
    assert make_workspace().up().ok
    iam = cloud.client("iam", CONSUMER_ACCOUNT)
    role = iam.get_role(RoleName="AmazonSageMakerProvisioning-demo")["Role"]
    for attached in iam.list_attached_role_policies(RoleName=role["RoleName"])["AttachedPolicies"]:
        iam.detach_role_policy(RoleName=role["RoleName"], PolicyArn=attached["PolicyArn"])
    for name in iam.list_role_policies(RoleName=role["RoleName"])["PolicyNames"]:
        iam.delete_role_policy(RoleName=role["RoleName"], PolicyName=name)
    iam.delete_role(RoleName=role["RoleName"])
    old_arn = role["Arn"].replace("/service-role/", "/legacy/")
    datazone = cloud.client("datazone", CONSUMER_ACCOUNT)
    domain_id = make_workspace().outputs()["domain"]["id"]
    blueprints = datazone.list_environment_blueprints(domainIdentifier=domain_id, managed=True)
    configured = []
    for blueprint in blueprints["items"]:
        try:
            current = datazone.get_environment_blueprint_configuration(
                domainIdentifier=domain_id, environmentBlueprintIdentifier=blueprint["id"]
            )
        except datazone.exceptions.ResourceNotFoundException:
            continue
        datazone.put_environment_blueprint_configuration(
            domainIdentifier=domain_id,
            environmentBlueprintIdentifier=blueprint["id"],
            enabledRegions=current["enabledRegions"],
            provisioningRoleArn=old_arn,
            manageAccessRoleArn=current["manageAccessRoleArn"],
            regionalParameters=current["regionalParameters"],
            **(
                {"provisioningConfigurations": current["provisioningConfigurations"]}
                if current.get("provisioningConfigurations")
                else {}
            ),
        )
        configured.append(blueprint["id"])
    assert len(configured) == 2

    plan = make_workspace().plan()
    changes = {s.key: (s.action, s.reason) for s in plan.changes()}
    role_key = "iam:role/provisioning/consumer"
    assert changes[role_key] == (Action.CREATE, "does not exist")
    for blueprint in ("Tooling", "DataLake"):
        key = f"datazone:blueprint-configuration/consumer/{blueprint}"
        assert changes[key] == (
            Action.CREATE,
            f"waits for {role_key}: looked for again once that exists",
        )

    report = make_workspace().up()
    assert report.ok, [f.message for f in report.failures]
    new_arn = iam.get_role(RoleName=role["RoleName"])["Role"]["Arn"]
    assert new_arn != old_arn
    for blueprint_id in configured:
        current = datazone.get_environment_blueprint_configuration(
            domainIdentifier=domain_id, environmentBlueprintIdentifier=blueprint_id
        )
        assert current["provisioningRoleArn"] == new_arn
    assert make_workspace().plan().changes() == []
