"""`down` of one set-up leaves its neighbours exactly as they were (issue 12.1).

Three tenants of the same two emulated accounts:

* `foreign`: a SageMaker Unified Studio domain made with plain boto3 (not smus-mesh), with
  its own projects in both accounts, its manage-access role (`AmazonSageMakerManageAccess-
  <region>-dzd_...`, the name every domain's role has) and Lake Formation grants to it;
* `other`: a second smus-mesh set-up (its own name, domain, table and state file);
* `demo`: the example set-up, brought up after the other two and then taken down.

(`other` is set up before the foreign domain is made, so that its `up` is shared with the
tests beside it: tests/e2e/conftest.set_up_once, ADR 38.)

The emulator's whole inventory (every account and class, the Lake Formation permission
list included) after `demo`'s `down` must be equal to the one before its `up`; `other`'s
own audit must count the same objects, its query must still return its rows and its plan
must have nothing to do. Also with `down --ignore-state`, which finds what is `demo`'s
from the tags and the domain alone.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from smus_mesh.collaboration import Collaboration
from smus_mesh.config import parse_config
from smus_mesh.engine.workspace import Workspace
from smus_mesh.settings import Settings
from tests.e2e.conftest import FAST, Deployed, SetUpOnce, example_document
from tests.e2e.helpers import assert_roles_deleted_last, calls_since, inventory_diff, last_seq
from tests.emulator.datazone_setup import (
    build_mesh,
    create_table,
    grant_import_access,
    make_lake_formation_admin,
)
from tests.support import CONSUMER_ACCOUNT, DOMAIN_ACCOUNT, Cloud

EXPECTED_ROWS = [["faro", "120"], ["lisbon", "450"], ["porto", "4295"]]


def other_document() -> dict[str, Any]:
    """The example under another name, with its own domain, database and bucket."""
    document = example_document()
    document["name"] = "other"
    document["domain"]["name"] = "smus-mesh-other"
    table = document["tables"][0]
    table["database"] = "retail_other"
    table["location"] = "s3://smus-mesh-other-retail-111111111111/inventory/"
    return document


def other_up(set_up_once: SetUpOnce, state: Path) -> None:
    """`other` set up, its state file at `state`: the neighbour of several tests, set up
    once per process and restored for the next (ADR 38)."""

    def build() -> None:
        report = _workspace(other_document(), state).up()
        assert report.ok, [f.message for f in report.failures]

    set_up_once("up", [other_document()], build, [state])


def other_and_foreign(cloud: Cloud, set_up_once: SetUpOnce, state: Path) -> dict[str, str]:
    """`other` set up (`other_up`), then a domain made by plain boto3 (`foreign_domain`):
    once per process (ADR 38)."""

    def build() -> dict[str, str]:
        other_up(set_up_once, state)
        return foreign_domain(cloud)

    return set_up_once("up, then a foreign domain", [other_document()], build, [state])


def foreign_domain(cloud: Cloud) -> dict[str, str]:
    """A domain made by plain boto3, its projects, and grants to its manage-access role."""
    mesh = build_mesh(cloud)
    create_table(cloud, "corp_sales", "orders")
    grant_import_access(
        cloud,
        "corp_sales",
        "orders",
        mesh.producer.role_arn,
        mesh.producer_setup.manage_access_role,
    )
    return {"id": mesh.domain_id, "manage_access_role": mesh.producer_setup.manage_access_role}


def lake_formation_permissions(cloud: Cloud, account: str) -> list[str]:
    """Every Lake Formation permission of an account, as sorted JSON lines."""
    lakeformation = cloud.client("lakeformation", account)
    entries: list[str] = []
    token = None
    while True:
        page = lakeformation.list_permissions(**({"NextToken": token} if token else {}))
        entries += [
            json.dumps(
                {k: v for k, v in entry.items() if k != "LastUpdated"}, sort_keys=True, default=str
            )
            for entry in page.get("PrincipalResourcePermissions", [])
        ]
        token = page.get("NextToken")
        if not token:
            return sorted(entries)


def _workspace(document: dict[str, Any], state: Path, ignore_state: bool = False) -> Workspace:
    config = parse_config(document, "test config")
    return Workspace(
        config,
        state,
        settings=Settings.load({**FAST, **config.settings}),
        ignore_state=ignore_state,
    )


@pytest.mark.parametrize("ignore_state", [False, True], ids=["with-state", "ignore-state"])
def test_down_of_one_set_up_leaves_the_others_as_they_were(
    cloud: Cloud, tmp_path: Path, fast_polling: None, set_up_once: SetUpOnce, ignore_state: bool
) -> None:
    other_state = tmp_path / "other" / "state.json"
    demo_state = tmp_path / "demo" / "state.json"
    other: Callable[[], Workspace] = lambda: _workspace(other_document(), other_state)  # noqa: E731

    def neighbours_and_demo() -> tuple[dict[str, str], Any, Any, Any]:
        foreign = other_and_foreign(cloud, set_up_once, other_state)
        before = cloud.inventory()
        permissions_before = {a: lake_formation_permissions(cloud, a) for a in before}
        other_audit_before = other().audit().to_dict()
        report = _workspace(example_document(), demo_state).up()
        assert report.ok, [f.message for f in report.failures]
        return foreign, before, permissions_before, other_audit_before

    # The neighbours and `demo`'s `up`, shared by both ways of `down` (ADR 38).
    foreign, before, permissions_before, other_audit_before = set_up_once(
        "neighbours, then up",
        [other_document(), example_document()],
        neighbours_and_demo,
        [other_state, demo_state],
    )
    assert other_audit_before["leftovers"] > 0
    # The foreign domain's manage-access role holds grants, and so does the other set-up's.
    foreign_grants = [p for p in permissions_before[DOMAIN_ACCOUNT] if foreign["id"] in p]
    assert len(foreign_grants) >= 2, permissions_before[DOMAIN_ACCOUNT]
    assert cloud.inventory() != before

    since = last_seq(cloud)
    down, leftovers = _workspace(example_document(), demo_state, ignore_state).down()
    assert down.ok, [f.message for f in down.failures]
    assert leftovers.count() == 0, leftovers.to_dict()
    # demo's roles went last, after its domain was gone (ADR 40); the neighbours' stayed.
    calls = calls_since(cloud, since)
    assert assert_roles_deleted_last(calls) == 7

    after = cloud.inventory()
    permissions_after = {a: lake_formation_permissions(cloud, a) for a in after}
    other_audit_after = other().audit().to_dict()
    counts = {
        "inventory objects": (_count(before), _count(after)),
        "lakeformation permissions": (
            sum(map(len, permissions_before.values())),
            sum(map(len, permissions_after.values())),
        ),
        "other's audit": (other_audit_before["leftovers"], other_audit_after["leftovers"]),
    }
    print(f"\n[neighbours, down {'--ignore-state' if ignore_state else ''}] before/after {counts}")
    assert inventory_diff(before, after) == {}, json.dumps(inventory_diff(before, after), indent=1)
    assert permissions_after == permissions_before
    assert other_audit_after == other_audit_before

    # The neighbour still works: its query returns its rows, its plan has nothing to do.
    results = Collaboration(other()).run_checks()
    assert [(r.ok, r.rows) for r in results] == [(True, EXPECTED_ROWS)]
    assert [s.key for s in other().plan().changes()] == []


def _count(inventory: dict[str, Any]) -> int:
    return sum(len(items) for classes in inventory.values() for items in classes.values())


# --- named like ours, not ours (the name alone attributes nothing) -----------------------------

TEAM_ROLE = "arn:aws:iam::{account}:role/OrganizationAccountAccessRole"


def team_database(cloud: Cloud, account: str, name: str) -> dict[str, Any]:
    """A team's own Glue database made with plain boto3, with a table and a Lake Formation
    grant on it; returns what must still be there afterwards."""
    glue = cloud.client("glue", account)
    glue.create_database(DatabaseInput={"Name": name, "Description": "finance team"})
    glue.create_table(
        DatabaseName=name,
        TableInput={
            "Name": "ledger",
            "StorageDescriptor": {
                "Columns": [{"Name": "a", "Type": "string"}],
                "Location": "s3://finance-ledger/x/",
            },
        },
    )
    role = TEAM_ROLE.format(account=account)
    make_lake_formation_admin(cloud, account, role)
    cloud.client("lakeformation", account).grant_permissions(
        Principal={"DataLakePrincipalIdentifier": role},
        Resource={"Database": {"Name": name}},
        Permissions=["DESCRIBE"],
    )
    return team_database_state(cloud, account, name)


def team_database_state(cloud: Cloud, account: str, name: str) -> dict[str, Any]:
    glue = cloud.client("glue", account)
    names = [d["Name"] for d in glue.get_databases()["DatabaseList"]]
    if name not in names:
        return {"database": None}
    grants = cloud.client("lakeformation", account).list_permissions(
        Resource={"Database": {"Name": name}}
    )["PrincipalResourcePermissions"]
    return {
        "database": name,
        "tables": sorted(t["Name"] for t in glue.get_tables(DatabaseName=name)["TableList"]),
        "grants": sorted(
            (g["Principal"]["DataLakePrincipalIdentifier"], *g["Permissions"]) for g in grants
        ),
    }


def _listed_ids(inventory: Any) -> dict[str, dict[str, list[str]]]:
    return {
        alias: {cls: [f.id for f in items] for cls, items in classes.items() if items}
        for alias, classes in inventory.accounts.items()
    }


def collision_documents() -> tuple[dict[str, Any], dict[str, Any]]:
    """Set-up `demo-eu` (project `consumer`) and set-up `demo` (project `eu-consumer`): both
    projects' databases are named `demo_eu_consumer`."""
    demo_eu = example_document()
    demo_eu["name"] = "demo-eu"
    demo_eu["domain"]["name"] = "smus-mesh-demo-eu"
    demo = example_document()
    demo["projects"][1]["name"] = "eu-consumer"
    demo["subscriptions"][0]["project"] = "eu-consumer"
    demo["checks"][0]["project"] = "eu-consumer"
    return demo_eu, demo


def test_a_teams_database_named_like_a_project_database_is_left_alone(
    cloud: Cloud, tmp_path: Path, fast_polling: None
) -> None:
    """The example's consumer project database would be `demo_consumer`; a team's own
    database of that name (with a table and a grant) is neither listed by `audit` nor
    deleted by `down` of the example, never brought up."""
    team = team_database(cloud, CONSUMER_ACCOUNT, "demo_consumer")
    assert team["tables"] == ["ledger"]
    before = cloud.inventory()
    state = tmp_path / "demo" / "state.json"

    audit = _workspace(example_document(), state).audit()
    assert audit.count() == 0, _listed_ids(audit)

    down, leftovers = _workspace(example_document(), state).down()
    assert down.ok, [f.message for f in down.failures]
    assert leftovers.count() == 0, leftovers.to_dict()
    assert team_database_state(cloud, CONSUMER_ACCOUNT, "demo_consumer") == team
    assert inventory_diff(before, cloud.inventory()) == {}


def test_a_teams_database_named_like_a_project_database_outlives_up_and_down(
    cloud: Cloud, tmp_path: Path, fast_polling: None
) -> None:
    """`up` of the example on top of a team's `demo_consumer` (its consumer project's
    environment cannot make the database), then `down`: the team's database, table and
    grant stay."""
    team = team_database(cloud, CONSUMER_ACCOUNT, "demo_consumer")
    state = tmp_path / "demo" / "state.json"
    report = _workspace(example_document(), state).up()
    assert not report.ok
    assert any("datazone:project/consumer" in f.message for f in report.failures), [
        f.message for f in report.failures
    ]
    assert team_database_state(cloud, CONSUMER_ACCOUNT, "demo_consumer") == team

    down, leftovers = _workspace(example_document(), state).down()
    assert down.ok, [f.message for f in down.failures]
    assert leftovers.count() == 0, leftovers.to_dict()
    assert team_database_state(cloud, CONSUMER_ACCOUNT, "demo_consumer") == team


def test_two_set_ups_whose_project_databases_share_a_name(
    cloud: Cloud, tmp_path: Path, fast_polling: None
) -> None:
    """Set-up `demo` is up with project `eu-consumer`, whose database is `demo_eu_consumer`:
    its own audit lists that database. Set-up `demo-eu` (project `consumer`, never brought
    up) gives its consumer project the same database name: its `audit` lists nothing and
    its `down` leaves `demo`'s database, tables and grants, and `demo` still works."""
    demo_eu, demo = collision_documents()
    demo_state, demo_eu_state = tmp_path / "demo" / "state.json", tmp_path / "eu" / "state.json"
    report = _workspace(demo, demo_state).up()
    assert report.ok, [f.message for f in report.failures]
    ours = _listed_ids(_workspace(demo, demo_state).audit())
    assert "demo_eu_consumer" in ours["consumer"]["glue_databases"]
    kept = team_database_state(cloud, CONSUMER_ACCOUNT, "demo_eu_consumer")
    assert kept["database"] == "demo_eu_consumer" and kept["grants"], kept
    before = cloud.inventory()

    audit = _workspace(demo_eu, demo_eu_state).audit()
    assert audit.count() == 0, _listed_ids(audit)
    down, leftovers = _workspace(demo_eu, demo_eu_state).down()
    assert down.ok, [f.message for f in down.failures]
    assert leftovers.count() == 0, leftovers.to_dict()

    assert inventory_diff(before, cloud.inventory()) == {}
    assert team_database_state(cloud, CONSUMER_ACCOUNT, "demo_eu_consumer") == kept
    assert _listed_ids(_workspace(demo, demo_state).audit()) == ours
    results = Collaboration(_workspace(demo, demo_state)).run_checks()
    assert [(r.ok, r.rows) for r in results] == [(True, EXPECTED_ROWS)]


# --- a second set-up of the same name (another set-up id) ---------------------------------------


def same_name_document() -> dict[str, Any]:
    """The example's name `demo` with another domain, database and bucket: another set-up
    (its own state file, so its own set-up id) of the same name."""
    document = example_document()
    document["domain"]["name"] = "smus-mesh-demo-second"
    table = document["tables"][0]
    table["database"] = "retail_second"
    table["location"] = "s3://smus-mesh-second-retail-111111111111/inventory/"
    return document


def test_a_set_up_of_the_same_name_leaves_the_first_ones_lake_formation_parts(
    cloud: Cloud, tmp_path: Path, deployed_example: Deployed
) -> None:
    """The example is up; a second `demo` (another config and state, so another set-up id)
    that never came up finds none of the first one's parts: not its location registration
    (made with `SmusMeshLakeFormationAccess-demo`, a role of the same name but the other
    id), not the Lake Formation admin it marked on that role, not its project databases.
    Its `down` plans no deletion and changes nothing; the first set-up still works."""
    lakeformation = cloud.client("lakeformation", DOMAIN_ACCOUNT)
    registrations = [r["ResourceArn"] for r in lakeformation.list_resources()["ResourceInfoList"]]
    assert registrations == ["arn:aws:s3:::smus-mesh-demo-retail-111111111111/inventory"]
    admins = lakeformation.get_data_lake_settings()["DataLakeSettings"]["DataLakeAdmins"]
    assert admins, "the example made its principal a data lake admin"
    before = cloud.inventory()
    second_state = tmp_path / "second" / "state.json"

    audit = _workspace(same_name_document(), second_state).audit()
    assert audit.count() == 0, _listed_ids(audit)
    plan, _, _ = _workspace(same_name_document(), second_state).down_plan()
    assert [s.key for s in plan.steps if s.action.value == "delete"] == []
    down, leftovers = _workspace(same_name_document(), second_state).down()
    assert down.ok, [f.message for f in down.failures]
    assert leftovers.count() == 0, leftovers.to_dict()

    assert inventory_diff(before, cloud.inventory()) == {}
    first = deployed_example.state
    assert [s.key for s in _workspace(example_document(), first).plan().changes()] == []
    results = Collaboration(_workspace(example_document(), first)).run_checks()
    assert [(r.ok, r.rows) for r in results] == [(True, EXPECTED_ROWS)]


def test_a_neighbour_set_ups_table_in_our_database_survives_our_down(
    cloud: Cloud, tmp_path: Path, fast_polling: None, deployed_example: Deployed
) -> None:
    """`other` puts its table in the database `demo` made (`retail`): it uses the database
    as one that is not its own and creates its table inside. `demo`'s `down` keeps the
    database for it (DeleteDatabase would delete `other`'s table, ADR 50), and `other`
    still works; `other`'s `down` deletes only its table and leaves the database, which is
    not its own."""
    document = other_document()
    table = document["tables"][0]
    table["database"], table["table"] = "retail", "inventory_other"
    other_state = tmp_path / "other.json"
    report = _workspace(document, other_state).up()
    assert report.ok, [f.message for f in report.failures]
    glue = cloud.client("glue", DOMAIN_ACCOUNT)
    assert sorted(t["Name"] for t in glue.get_tables(DatabaseName="retail")["TableList"]) == [
        "inventory",
        "inventory_other",
    ]
    demo = lambda: _workspace(example_document(), deployed_example.state)  # noqa: E731

    down, leftovers = demo().down()
    assert down.ok, [f.message for f in down.failures]
    assert leftovers.count() == 0, leftovers.to_dict()
    (result,) = [r for r in down.results if r.key == "glue:database/producer/retail"]
    assert result.message == (
        "kept: it holds 1 table(s) that are not this set-up's (inventory_other), which "
        "DeleteDatabase would delete with it"
    )
    results = Collaboration(_workspace(document, other_state)).run_checks()
    assert [(r.ok, r.rows) for r in results] == [(True, EXPECTED_ROWS)]
    changes = {s.key for s in _workspace(document, other_state).plan().changes()}
    assert "glue:database/producer/retail" not in changes
    # Not the database's doing: `demo`'s `down` removed the operator's Lake Formation
    # administrator entry, which both set-ups use (`demo` added it), and gave the database
    # back the IAM_ALLOWED_PRINCIPALS grant its `up` had revoked. `other`'s `up` converges.
    assert changes <= {"lakeformation:admin/producer", "lakeformation:lf-only/inventory"}
    report = _workspace(document, other_state).up()
    assert report.ok, [f.message for f in report.failures]
    assert [s.key for s in _workspace(document, other_state).plan().changes()] == []

    down, leftovers = _workspace(document, other_state).down()
    assert down.ok, [f.message for f in down.failures]
    assert leftovers.count() == 0, leftovers.to_dict()
    assert glue.get_tables(DatabaseName="retail")["TableList"] == []
    # Empty now, and no set-up's: a person deletes it (`demo`'s state file, with the id its
    # parameters name, went with its `down`); then every account is as it was.
    assert demo().audit().count() == 0
    glue.delete_database(Name="retail")
    after = cloud.inventory()
    before = deployed_example.before
    assert inventory_diff(before, after) == {}, json.dumps(inventory_diff(before, after), indent=1)
