"""Joining a domain smus-mesh did not create (issue 15.1, ADR 26).

The domain, its blueprint configurations in both accounts, their policy grants, two
project profiles and two deployed projects are made with plain boto3, as AWS's docs
describe them (`tests/emulator/datazone_setup.build_mesh`). Two set-ups then join that
domain by id beside each other (`other`, then `demo`); `demo` runs its check, goes
`down` and audits clean. The emulator's whole inventory after `demo`'s `down` equals
the one before its `up` (so the foreign domain, its configurations, profiles and
projects, and `other`, are exactly as they were), `other` still works, and no mutating
call of a kind that could touch the foreign parts was made (the calls log).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from smus_mesh.cli import app
from smus_mesh.collaboration import Collaboration
from smus_mesh.config import parse_config
from smus_mesh.engine.plan import JOINED, Action
from smus_mesh.engine.state import State
from smus_mesh.engine.workspace import Workspace
from smus_mesh.errors import ConfigError, UserError
from smus_mesh.settings import Settings
from tests.e2e.conftest import FAST, SetUpOnce, example_document
from tests.e2e.helpers import (
    assert_roles_deleted_last,
    calls_since,
    inventory_diff,
    last_seq,
    run_up_killed_at,
)
from tests.e2e.test_neighbours import lake_formation_permissions
from tests.emulator.datazone_setup import (
    Mesh,
    accepted_subscription,
    build_mesh,
    published_listing,
)
from tests.support import DOMAIN_ACCOUNT, Cloud

CLI_ENV = {"COLUMNS": "200", "NO_COLOR": "1", "TERM": "dumb"}
EXPECTED_ROWS = [["faro", "120"], ["lisbon", "450"], ["porto", "4295"]]

#: DataZone and RAM calls that would change what the domain's owner made: a joined
#: set-up whose accounts are configured already makes none of them.
FOREIGN_MUTATIONS = (
    "DeleteDomain",
    "UpdateDomain",
    "TagResource",
    "UntagResource",
    "PutEnvironmentBlueprintConfiguration",
    "DeleteEnvironmentBlueprintConfiguration",
    "UpdateProject",
    "UpdateProjectProfile",
    "CreateResourceShare",
    "DeleteResourceShare",
    "AcceptResourceShareInvitation",
    "DisassociateResourceShare",
    "UpdateResourceShare",
    "CreateProjectMembership",
    "DeleteProjectMembership",
)


def joined_document(domain_id: str, name: str = "demo") -> dict[str, Any]:
    """The example set-up in the existing domain `domain_id` (under `name`)."""
    document = example_document()
    document["name"] = name
    document["domain"] = {"id": domain_id, "account": "producer"}
    table = document["tables"][0]
    table["database"] = f"retail_{name}"
    table["location"] = f"s3://smus-mesh-{name}-retail-111111111111/inventory/"
    for project in document["projects"]:
        project["name"] = f"{name}-{project['name']}"
    for subscription in document["subscriptions"]:
        subscription["project"] = f"{name}-{subscription['project']}"
    for check in document["checks"]:
        check["project"] = f"{name}-{check['project']}"
    return document


def workspace(document: dict[str, Any], state: Path) -> Workspace:
    config = parse_config(document, "test config")
    return Workspace(config, state, settings=Settings.load({**FAST, **config.settings}))


def foreign_parts(cloud: Cloud, mesh: Mesh) -> dict[str, Any]:
    """What the domain's owner made, read with the owner's boto3 clients."""
    datazone = mesh.datazone()
    domain_id = mesh.domain_id
    parts: dict[str, Any] = {"domain": datazone.get_domain(identifier=domain_id)}
    parts["profiles"] = datazone.list_project_profiles(domainIdentifier=domain_id)["items"]
    parts["projects"] = [
        datazone.get_project(domainIdentifier=domain_id, identifier=p["id"])
        for p in datazone.list_projects(domainIdentifier=domain_id)["items"]
    ]
    for setup in (mesh.producer_setup, mesh.consumer_setup):
        account_dz = cloud.client("datazone", setup.account)
        parts[f"blueprints {setup.account}"] = [
            account_dz.get_environment_blueprint_configuration(
                domainIdentifier=domain_id, environmentBlueprintIdentifier=blueprint
            )
            for blueprint in setup.blueprints.values()
        ]
        parts[f"grants {setup.account}"] = [
            account_dz.list_policy_grants(
                domainIdentifier=domain_id,
                entityType="ENVIRONMENT_BLUEPRINT_CONFIGURATION",
                entityIdentifier=f"{setup.account}:{blueprint}",
                policyType="CREATE_ENVIRONMENT_FROM_BLUEPRINT",
            )["grantList"]
            for blueprint in setup.blueprints.values()
        ]
    return json.loads(json.dumps(_without_metadata(parts), default=str, sort_keys=True))


def _without_metadata(value: Any) -> Any:
    """The answers without each call's own ResponseMetadata (request id, date)."""
    if isinstance(value, dict):
        return {k: _without_metadata(v) for k, v in value.items() if k != "ResponseMetadata"}
    if isinstance(value, list):
        return [_without_metadata(v) for v in value]
    return value


def _ours_only(parts: dict[str, Any], setups: tuple[str, ...]) -> dict[str, Any]:
    """The foreign parts without the projects and profiles of the joined set-ups."""
    kept = dict(parts)
    kept["profiles"] = [p for p in parts["profiles"] if not p["name"].startswith(setups)]
    kept["projects"] = [p for p in parts["projects"] if not p["name"].startswith(setups)]
    for entity in ("domain",):
        kept[entity] = {k: v for k, v in parts[entity].items() if k != "lastUpdatedAt"}
    return kept


@dataclass(frozen=True)
class Owner:
    """The owner's domain (`build_mesh`), what the owner made (`foreign_parts`) and its
    project profiles' ids by name, as they were before any set-up joined it."""

    mesh: Mesh
    parts: dict[str, Any]
    profile_ids: dict[str, str]


def owner_and_joined_neighbour(cloud: Cloud, set_up_once: SetUpOnce, state: Path) -> Owner:
    """The owner's domain, then `other` joined to it and set up (its state at `state`):
    the set-up of the tests of joined domains, run once per process (ADR 38)."""

    def build() -> Owner:
        mesh = build_mesh(cloud)
        profiles = mesh.datazone().list_project_profiles(domainIdentifier=mesh.domain_id)
        profile_ids = {p["name"]: p["id"] for p in profiles["items"]}
        owner = Owner(mesh, foreign_parts(cloud, mesh), profile_ids)
        report = workspace(joined_document(mesh.domain_id, "other"), state).up()
        assert report.ok, [f.message for f in report.failures]
        return owner

    owner = set_up_once("owner's domain, then up", [joined_document("", "other")], build, [state])
    # Its clients with this test's handle on the cloud (sessions of the restored STS).
    return replace(owner, mesh=replace(owner.mesh, cloud=cloud))


def test_two_set_ups_join_a_foreign_domain_and_leave_it_as_it_was(
    cloud: Cloud, tmp_path: Path, fast_polling: None, set_up_once: SetUpOnce
) -> None:
    other_state = tmp_path / "other.json"
    demo_state = tmp_path / "demo.json"
    owner = owner_and_joined_neighbour(cloud, set_up_once, other_state)
    mesh, foreign_before = owner.mesh, owner.parts

    before = cloud.inventory()
    seq = last_seq(cloud)
    demo = joined_document(mesh.domain_id)

    # The plan shows the owner's parts as joined and keeps them.
    plan = workspace(demo, demo_state).plan()
    joined = {s.key: s for s in plan.steps if s.reason.startswith("joined")}
    assert {s.kind for s in joined.values()} == {
        "datazone:domain",
        "datazone:blueprint-configuration",
        "datazone:policy-grant",
        "ram:domain-share",
        "ram:share-acceptance",
    }, [(s.key, s.reason) for s in plan.steps]
    assert all(s.action == Action.KEEP for s in joined.values())
    assert not [s for s in plan.steps if s.kind == "iam:role" and "domain-" in s.key]

    report = workspace(demo, demo_state).up()
    assert report.ok, [f.message for f in report.failures]
    results = Collaboration(workspace(demo, demo_state)).run_checks()
    assert [(r.ok, r.rows) for r in results] == [(True, EXPECTED_ROWS)]
    assert [s.key for s in workspace(demo, demo_state).plan().changes()] == []
    down_plan, _, _ = workspace(demo, demo_state).down_plan()
    assert {s.key for s in down_plan.steps if s.action == Action.DELETE} & set(joined) == set()
    assert all(down_plan.step(k).reason.startswith("joined") for k in joined)

    down_seq = last_seq(cloud)
    down, leftovers = workspace(demo, demo_state).down()
    assert down.ok, [f.message for f in down.failures]
    assert leftovers.count() == 0, leftovers.to_dict()
    assert workspace(demo, demo_state).audit().count() == 0
    # The domain stays; demo's roles still go after its projects and everything else
    # (ADR 40): provisioning, manage-access and Lake Formation.
    assert assert_roles_deleted_last(calls_since(cloud, down_seq)) == 5

    after = cloud.inventory()
    assert inventory_diff(before, after) == {}, json.dumps(inventory_diff(before, after), indent=1)
    calls = [c for c in cloud.calls() if int(c["seq"]) > seq and c["mutating"]]
    touched = Counter(c["operation"] for c in calls if c["operation"] in FOREIGN_MUTATIONS)
    assert touched == Counter(), touched
    setups = ("other-", "demo-")
    assert _ours_only(foreign_parts(cloud, mesh), setups) == _ours_only(foreign_before, setups)

    # The neighbour on the same joined domain still works and has nothing to do.
    results = Collaboration(workspace(joined_document(mesh.domain_id, "other"), other_state))
    assert [(r.ok, r.rows) for r in results.run_checks()] == [(True, EXPECTED_ROWS)]
    other = joined_document(mesh.domain_id, "other")
    assert [s.key for s in workspace(other, other_state).plan().changes()] == []
    down, leftovers = workspace(other, other_state).down()
    assert down.ok and leftovers.count() == 0, leftovers.to_dict()
    assert foreign_parts(cloud, mesh) == foreign_before


def test_a_domain_id_that_does_not_exist_is_refused_before_any_change(
    cloud: Cloud, tmp_path: Path, fast_polling: None
) -> None:
    document = joined_document("dzd_doesnotexist42")
    seq = int(cloud.calls()[-1]["seq"]) if cloud.calls() else 0
    with pytest.raises(UserError) as raised:
        workspace(document, tmp_path / "state.json").up()
    assert raised.value.exit_code == 2
    assert str(raised.value) == (
        "domain.id: the domain dzd_doesnotexist42 does not exist in account 111111111111 "
        "(producer), us-east-1, or these credentials cannot reach it "
        "(ResourceNotFoundException: Domain dzd_doesnotexist42 not found)"
    )
    assert [c for c in cloud.calls() if int(c["seq"]) > seq and c["mutating"]] == []


@pytest.mark.parametrize("command", ["plan", "up", "down", "status"])
def test_the_cli_refuses_a_domain_it_cannot_join_with_exit_2(
    cloud: Cloud, tmp_path: Path, fast_polling: None, command: str
) -> None:
    path = tmp_path / "joined.yaml"
    path.write_text(yaml.safe_dump(joined_document("dzd_doesnotexist42")))
    seq = int(cloud.calls()[-1]["seq"]) if cloud.calls() else 0
    args = ["-c", str(path), "--state", str(tmp_path / "state.json"), command]
    if command in ("up", "down"):
        args.append("--yes")
    result = CliRunner().invoke(app, args, env=CLI_ENV)
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    assert result.stderr == (
        "error: domain.id: the domain dzd_doesnotexist42 does not exist in account "
        "111111111111 (producer), us-east-1, or these credentials cannot reach it "
        "(ResourceNotFoundException: Domain dzd_doesnotexist42 not found)\n"
    )
    assert [c for c in cloud.calls() if int(c["seq"]) > seq and c["mutating"]] == []


def test_joining_by_name_needs_a_domain_of_that_name(
    cloud: Cloud, tmp_path: Path, fast_polling: None
) -> None:
    document = joined_document("dzd_unused")
    document["domain"] = {"name": "nobody-made-this", "existing": True, "account": "producer"}
    with pytest.raises(UserError) as raised:
        workspace(document, tmp_path / "state.json").plan()
    assert raised.value.exit_code == 2
    assert str(raised.value) == (
        "domain.name: no domain named 'nobody-made-this' to join in account 111111111111 "
        "(producer), us-east-1 (domain.existing: true joins a domain that exists)"
    )


@pytest.mark.parametrize(
    ("domain", "problems"),
    [
        (
            {"id": "dzd_abc", "account": "producer", "auth": "iam", "roles": {}},
            [
                (
                    f"domain.{field}",
                    "only for a domain smus-mesh creates; a joined domain (id or existing: true) "
                    "keeps its own",
                )
                for field in ("auth", "roles")
            ],
        ),
        (
            {"id": "dzd_abc", "existing": False, "account": "producer"},
            [("domain.existing", "id names an existing domain to join: drop existing: false")],
        ),
        (
            {"account": "producer"},
            [
                (
                    "domain.name",
                    "required field is missing (or give id to join an existing domain)",
                )
            ],
        ),
        (
            {"id": "abc", "account": "producer"},
            [("domain.id", "expected a DataZone domain id like dzd_4p9n6sw4qt9xgn, got 'abc'")],
        ),
    ],
)
def test_a_joined_domain_config_is_validated_with_paths(
    domain: dict[str, Any], problems: list[tuple[str, str]]
) -> None:
    document = joined_document("dzd_abc")
    document["domain"] = domain
    with pytest.raises(ConfigError) as raised:
        parse_config(document, "test config")
    assert raised.value.problems == problems


def test_an_existing_project_needs_a_joined_domain() -> None:
    document = example_document()
    document["projects"][1]["existing"] = True
    with pytest.raises(ConfigError) as raised:
        parse_config(document, "test config")
    assert raised.value.problems == [
        (
            "projects[1].existing",
            "an existing project needs a joined domain (domain.id, or domain.existing: true); "
            "a domain smus-mesh creates has no projects yet",
        )
    ]


def test_an_existing_project_of_a_joined_domain_publishes_and_is_left_as_it_was(
    cloud: Cloud, tmp_path: Path, fast_polling: None
) -> None:
    """The owner's `producer` project (configured `existing: true`) imports and publishes
    the set-up's table for a consumer project smus-mesh makes; after `down` the project
    and everything else of the owner's is as it was."""
    mesh = build_mesh(cloud)
    foreign_before = foreign_parts(cloud, mesh)
    before = cloud.inventory()
    document = joined_document(mesh.domain_id)
    document["domain"] = {"name": "corp", "existing": True, "account": "producer"}
    document["projects"][0]["name"] = "producer"
    document["projects"][0]["existing"] = True
    state = tmp_path / "state.json"

    plan = workspace(document, state).plan()
    assert plan.step("datazone:project/producer").reason == "joined (not ours): used as it is"
    # No profile for an account whose projects all exist.
    assert "datazone:project-profile/producer" not in {s.key for s in plan.steps}

    report = workspace(document, state).up()
    assert report.ok, [f.message for f in report.failures]
    results = Collaboration(workspace(document, state)).run_checks()
    assert [(r.ok, r.rows) for r in results] == [(True, EXPECTED_ROWS)]
    status = {row["key"]: row for row in workspace(document, state).status()}
    assert status["datazone:project/producer"]["owned"] is False
    assert "joined" in status["datazone:project/producer"]["detail"]

    down, leftovers = workspace(document, state).down()
    assert down.ok, [f.message for f in down.failures]
    assert leftovers.count() == 0, leftovers.to_dict()
    after = cloud.inventory()
    assert inventory_diff(before, after) == {}, json.dumps(inventory_diff(before, after), indent=1)
    assert foreign_parts(cloud, mesh) == foreign_before


def test_a_namesake_project_in_a_joined_domain_is_refused(
    cloud: Cloud, tmp_path: Path, fast_polling: None
) -> None:
    """A project of the config's name that the set-up did not make is never adopted."""
    mesh = build_mesh(cloud)
    document = joined_document(mesh.domain_id)
    document["projects"][1]["name"] = "consumer"  # the owner's
    document["subscriptions"][0]["project"] = "consumer"
    document["checks"][0]["project"] = "consumer"
    seq = int(cloud.calls()[-1]["seq"])
    with pytest.raises(UserError) as raised:
        workspace(document, tmp_path / "state.json").up()
    assert raised.value.exit_code == 2
    assert str(raised.value) == (
        "refused, nothing was changed: datazone:project/consumer: the project consumer "
        f"({mesh.consumer.id}) exists in the joined domain {mesh.domain_id} and was not made "
        "by this set-up; smus-mesh never adopts it: rename it in the config, or name it as "
        "existing"
    )
    assert [c for c in cloud.calls() if int(c["seq"]) > seq and c["mutating"]] == []


def _owner_imported_and_published(cloud: Cloud) -> tuple[Mesh, str, str, dict[str, Any]]:
    """The owner's domain, where the owner's `producer` project has imported and published
    the owner's table `corp_sales.orders` (with the Lake Formation grants that took), and a
    config that names that project `existing` and imports the same table: (the owner's
    mesh, asset id, listing id, config document)."""
    mesh = build_mesh(cloud)
    asset_id, listing_id = published_listing(mesh, "corp_sales", "orders")
    document: dict[str, Any] = {
        "version": 1,
        "name": "demo",
        "region": "us-east-1",
        "accounts": example_document()["accounts"],
        "domain": {"id": mesh.domain_id, "account": "producer"},
        "tables": [
            {
                "name": "orders",
                "account": "producer",
                "database": "corp_sales",
                "table": "orders",
                "location": f"s3://data-corp-sales-{DOMAIN_ACCOUNT}/orders/",
                "create": False,
            }
        ],
        "projects": [
            {
                "name": "producer",
                "account": "producer",
                "existing": True,
                "imports": ["orders"],
                "approval": {"mode": "auto"},
            },
            {"name": "demo-consumer", "account": "consumer"},
        ],
        "subscriptions": [{"project": "demo-consumer", "tables": ["orders"]}],
    }
    return mesh, asset_id, listing_id, document


#: The grants `up` finds complete, made by the owner (and the one it completes).
OWNERS_GRANTS = (
    "lakeformation:grant/producer/orders/project/table",
    "lakeformation:grant/producer/orders/manage-access/table",
    "lakeformation:grant/producer/corp_sales/manage-access/database",
)
PARTIAL_GRANT = "lakeformation:grant/producer/corp_sales/project/database"


def _assert_the_owners_parts_are_as_they_were(
    mesh: Mesh, asset_id: str, listing_id: str, permissions_before: list[str]
) -> None:
    # Every permission as it was: the owner's, and the owner's part of the partial one.
    assert lake_formation_permissions(mesh.cloud, DOMAIN_ACCOUNT) == permissions_before
    datazone = mesh.datazone()
    asset = datazone.get_asset(domainIdentifier=mesh.domain_id, identifier=asset_id)
    assert asset["listing"] == {"listingId": listing_id, "listingStatus": "ACTIVE"}
    listing = datazone.get_listing(domainIdentifier=mesh.domain_id, identifier=listing_id)
    assert listing["status"] == "ACTIVE"


def test_what_the_owner_imported_published_and_granted_is_never_adopted(
    cloud: Cloud, tmp_path: Path, fast_polling: None
) -> None:
    """The owner's `producer` project (`existing: true`) has imported and published the
    owner's table already, and Lake Formation holds the owner's grants for it (ADR 48).
    `up` finds them: they are the owner's, not the set-up's, and `down` leaves them. A grant
    the principal held in part (the project role's DESCRIBE on the database, without its
    grant option) is completed by `up`, and `down` revokes only what `up` added."""
    mesh, asset_id, listing_id, document = _owner_imported_and_published(cloud)
    state = tmp_path / "state.json"
    permissions_before = lake_formation_permissions(cloud, DOMAIN_ACCOUNT)
    database = {"Database": {"CatalogId": DOMAIN_ACCOUNT, "Name": "corp_sales"}}
    held = [
        (entry["Permissions"], entry["PermissionsWithGrantOption"])
        for entry in map(json.loads, permissions_before)
        if entry["Principal"]["DataLakePrincipalIdentifier"] == mesh.producer.role_arn
        and entry["Resource"] == database
    ]
    assert held == [(["DESCRIBE"], [])]

    plan = workspace(document, state).plan()
    found = (*OWNERS_GRANTS, "datazone:listing/orders")
    for key in found:
        assert (plan.step(key).action, plan.step(key).reason) == (Action.KEEP, JOINED), key
    assert plan.step(PARTIAL_GRANT).action == Action.CREATE

    report = workspace(document, state).up()
    assert report.ok, [f.message for f in report.failures]
    records = json.loads(state.read_text())["resources"]
    assert {key: records[key]["owned"] for key in found} == dict.fromkeys(found, False)
    assert records["datazone:import/producer/corp_sales"]["owned"] is not True
    assert records["datazone:import/producer/corp_sales"]["identity"]["theirs"] == [asset_id]
    assert records[PARTIAL_GRANT]["owned"] is True
    assert records[PARTIAL_GRANT]["identity"]["before"] == {
        "permissions": ["DESCRIBE"],
        "grantable": [],
    }

    down_plan, _, _ = workspace(document, state).down_plan()
    for key in found:
        assert down_plan.step(key).action == Action.KEEP, key
    down, leftovers = workspace(document, state).down()
    assert down.ok, [f.message for f in down.failures]
    assert leftovers.count() == 0, leftovers.to_dict()
    _assert_the_owners_parts_are_as_they_were(mesh, asset_id, listing_id, permissions_before)


def test_a_crash_right_after_completing_the_owners_grant_still_leaves_the_owners_part(
    cloud: Cloud,
    tmp_path: Path,
    fast_polling: None,
    write_config: Callable[[dict[str, Any]], Path],
) -> None:
    """`up` killed the moment Lake Formation has answered its one GrantPermissions (the
    grant completing the owner's DESCRIBE): what the principal held before was written to
    the state before the call, so the rerun finishes and `down` revokes only what `up`
    added (ADR 48)."""
    mesh, asset_id, listing_id, document = _owner_imported_and_published(cloud)
    state = tmp_path / "state.json"
    permissions_before = lake_formation_permissions(cloud, DOMAIN_ACCOUNT)

    kill = run_up_killed_at(cloud, write_config(document), state, "GrantPermissions")
    assert kill.operation == "GrantPermissions"
    record = State.load(state, "demo").records[PARTIAL_GRANT]
    assert record.owned is True
    assert record.identity["before"] == {"permissions": ["DESCRIBE"], "grantable": []}

    report = workspace(document, state).up()
    assert report.ok, [f.message for f in report.failures]
    # Found granted: the state remembers this set-up made it, so it is kept as its own.
    assert [r.action for r in report.results if r.key == PARTIAL_GRANT] == ["keep"]
    assert json.loads(state.read_text())["resources"][PARTIAL_GRANT]["owned"] is True
    down, leftovers = workspace(document, state).down()
    assert down.ok, [f.message for f in down.failures]
    assert leftovers.count() == 0, leftovers.to_dict()
    _assert_the_owners_parts_are_as_they_were(mesh, asset_id, listing_id, permissions_before)


def test_the_owners_subscription_of_an_existing_consumer_project_is_never_adopted(
    cloud: Cloud, tmp_path: Path, fast_polling: None
) -> None:
    """The owner's `consumer` project (`existing: true`) is subscribed to the owner's table
    already, by the owner: `up` finds the subscription and uses it, and `down` leaves it
    APPROVED with its grant (ADR 48)."""
    mesh, _, listing_id, document = _owner_imported_and_published(cloud)
    subscription, grants = accepted_subscription(mesh, listing_id)
    document["projects"][1] = {"name": "consumer", "account": "consumer", "existing": True}
    document["subscriptions"] = [{"project": "consumer", "tables": ["orders"]}]
    state = tmp_path / "state.json"
    request = "datazone:subscription-request/consumer/orders"

    plan = workspace(document, state).plan()
    assert (plan.step(request).action, plan.step(request).reason) == (Action.KEEP, JOINED)
    report = workspace(document, state).up()
    assert report.ok, [f.message for f in report.failures]
    assert json.loads(state.read_text())["resources"][request]["owned"] is False
    down_plan, _, _ = workspace(document, state).down_plan()
    assert down_plan.step(request).action == Action.KEEP
    down, leftovers = workspace(document, state).down()
    assert down.ok, [f.message for f in down.failures]
    assert leftovers.count() == 0, leftovers.to_dict()

    datazone = mesh.datazone()
    found = datazone.get_subscription(
        domainIdentifier=mesh.domain_id, identifier=subscription["id"]
    )
    assert found["status"] == "APPROVED"
    kept = datazone.list_subscription_grants(
        domainIdentifier=mesh.domain_id, subscriptionId=subscription["id"]
    )["items"]
    assert [(g["id"], g["status"]) for g in kept] == [(g["id"], g["status"]) for g in grants]
