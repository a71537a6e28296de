"""`auth: iam_identity_center` end to end (issue 15.1): smus-mesh creates an IAM Identity
Center domain on the domain account's instance, and makes a user and a group of its
identity store (made with plain boto3, as an administrator would) members of the consumer
project; the consumer's check runs; `down` and `audit` leave nothing."""

from __future__ import annotations

import json
from pathlib import Path

from smus_mesh.collaboration import Collaboration
from smus_mesh.config import parse_config
from smus_mesh.engine.workspace import Workspace
from smus_mesh.settings import Settings
from tests.e2e.conftest import FAST, example_document
from tests.e2e.helpers import inventory_diff
from tests.emulator.datazone_support import identity_center
from tests.support import DOMAIN_ACCOUNT, Cloud

EXPECTED_ROWS = [["faro", "120"], ["lisbon", "450"], ["porto", "4295"]]


def test_identity_center_users_and_groups_are_project_members(
    cloud: Cloud, tmp_path: Path, fast_polling: None
) -> None:
    instance_arn, user, group = identity_center(cloud)
    before = cloud.inventory()

    document = example_document()
    document["domain"].update(
        auth="iam_identity_center",
        identity_center_instance_arn=instance_arn,
        user_assignment="AUTOMATIC",
    )
    document["projects"][1]["members"] = [
        {"user": "ana"},
        {"group": group, "designation": "PROJECT_CATALOG_VIEWER"},
    ]
    config = parse_config(document, "test config")
    state = tmp_path / "state.json"

    def workspace() -> Workspace:
        return Workspace(config, state, settings=Settings.load({**FAST, **config.settings}))

    report = workspace().up()
    assert report.ok, [f.message for f in report.failures]
    outputs = workspace().outputs()
    datazone = cloud.client("datazone", DOMAIN_ACCOUNT)
    domain_id = outputs["domain"]["id"]
    assert datazone.get_domain(identifier=domain_id)["singleSignOn"] == {
        "type": "IAM_IDC",
        "userAssignment": "AUTOMATIC",
        "idcInstanceArn": instance_arn,
    }
    profile = datazone.get_user_profile(domainIdentifier=domain_id, userIdentifier=user)
    assert profile["details"] == {
        "sso": {"username": "ana", "firstName": "Ana", "lastName": "Silva"}
    }
    group_profile = datazone.get_group_profile(domainIdentifier=domain_id, groupIdentifier=group)
    members = datazone.list_project_memberships(
        domainIdentifier=domain_id, projectIdentifier=outputs["projects"]["consumer"]["id"]
    )["members"]
    assert {
        json.dumps(m["memberDetails"], sort_keys=True): m["designation"]
        for m in members
        if m["designation"] != "PROJECT_OWNER"
    } == {
        json.dumps({"user": {"userId": profile["id"]}}): "PROJECT_CONTRIBUTOR",
        json.dumps({"group": {"groupId": group_profile["id"]}}): "PROJECT_CATALOG_VIEWER",
    }
    results = Collaboration(workspace()).run_checks()
    assert [(r.ok, r.rows) for r in results] == [(True, EXPECTED_ROWS)]
    assert [s.key for s in workspace().plan().changes()] == []

    down, leftovers = workspace().down()
    assert down.ok, [f.message for f in down.failures]
    assert leftovers.count() == 0, leftovers.to_dict()
    after = cloud.inventory()
    assert inventory_diff(before, after) == {}, json.dumps(inventory_diff(before, after), indent=1)
