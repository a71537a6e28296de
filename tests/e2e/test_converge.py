"""`up` converges safely from what exists to the config (issue 12, ADR 19).

Safety first: a domain found by name that is another set-up's is never adopted, and a role
made again takes the blueprint configurations that use it along. Then one set-up walks a
chain of config edits beside a neighbour set-up that must stay untouched.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from smus_mesh.collaboration import Collaboration
from smus_mesh.config import parse_config
from smus_mesh.engine.plan import LEFT_THE_CONFIG, REPLACED, Action
from smus_mesh.engine.workspace import Workspace
from smus_mesh.errors import UserError
from smus_mesh.settings import Settings
from tests.e2e.conftest import FAST, Deployed, SetUpOnce, example_document
from tests.e2e.helpers import calls_since, inventory_diff, last_seq, mutating_calls
from tests.e2e.test_down import (
    KEPT,
    _table_as_read,
    assert_kept_for_the_neighbour,
    neighbour_table,
)
from tests.e2e.test_neighbours import other_document, other_up
from tests.support import CONSUMER_ACCOUNT, DOMAIN_ACCOUNT, Cloud


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
    cloud: Cloud, make_workspace: Callable[..., Workspace], deployed_example: Deployed
) -> None:
    """The consumer account's provisioning role is deleted by hand, and its blueprint
    configurations point at an older ARN of it: `plan` says they wait for the role (not
    that they do not exist), `up` makes the role and moves them to its ARN."""
    # The example set up (ADR 32), its state where make_workspace() looks: tmp_path/state.json.
    assert make_workspace().state_path == deployed_example.state
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


# --- every change converges ----------------------------------------------------------------

ORDERS = {
    "name": "orders",
    "account": "producer",
    "database": "retail",
    "table": "orders",
    "location": "s3://smus-mesh-demo-retail-111111111111/orders/",
    "format": "csv",
    "columns": [{"name": "sku", "type": "string"}, {"name": "units", "type": "int"}],
    "rows": [["A-1001", 3], ["B-2001", 5]],
}
ORDERS_CHECK = {
    "name": "orders",
    "project": "consumer",
    "sql": "SELECT sku, units FROM {orders} ORDER BY sku",
}


def _edit(document: dict[str, Any], change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    edited = copy.deepcopy(document)
    change(edited)
    return edited


def _add_orders(d: dict[str, Any]) -> None:
    d["tables"].append(copy.deepcopy(ORDERS))
    d["projects"][0]["imports"].append("orders")


def _subscribe_orders(d: dict[str, Any]) -> None:
    d["subscriptions"][0]["tables"].append("orders")
    d["checks"].append({**ORDERS_CHECK, "expect_rows": [["A-1001", "3"], ["B-2001", "5"]]})


def _more_orders(d: dict[str, Any]) -> None:
    d["tables"][1]["rows"].append(["C-3001", 7])
    d["checks"][1]["expect_rows"].append(["C-3001", "7"])


def _orders_column(d: dict[str, Any]) -> None:
    d["tables"][1]["columns"].append({"name": "city", "type": "string"})
    d["tables"][1]["rows"] = [["A-1001", 3, "lisbon"], ["C-3001", 7, "faro"]]
    d["checks"][1] = {
        **ORDERS_CHECK,
        "sql": "SELECT sku, city FROM {orders} ORDER BY sku",
        "expect_rows": [["A-1001", "lisbon"], ["C-3001", "faro"]],
    }


def _add_analytics(d: dict[str, Any]) -> None:
    d["projects"].append({"name": "analytics", "account": "consumer"})
    d["subscriptions"].append({"project": "analytics", "tables": ["inventory"]})
    d["checks"].append(
        {
            "name": "analytics",
            "project": "analytics",
            "sql": "SELECT count(*) FROM {inventory}",
            "expect_rows": [["5"]],
        }
    )


def _remove_analytics(d: dict[str, Any]) -> None:
    d["projects"].pop()
    d["subscriptions"].pop()
    d["checks"].pop()


def _approval_rules(d: dict[str, Any]) -> None:
    d["projects"][0]["approval"] = {
        "mode": "rules",
        "rules": [{"decision": "accept", "consumer_project": "consumer"}],
        "default": "reject",
    }


def _unsubscribe_orders(d: dict[str, Any]) -> None:
    d["subscriptions"][0]["tables"].remove("orders")
    d["checks"].pop()


def _unimport_orders(d: dict[str, Any]) -> None:
    d["projects"][0]["imports"].remove("orders")


def _add_finance(d: dict[str, Any]) -> None:
    d["projects"].append(
        {
            "name": "finance",
            "account": "producer",
            "imports": ["orders"],
            "approval": {"mode": "auto"},
        }
    )


def _remove_finance(d: dict[str, Any]) -> None:
    d["projects"].pop()


def _remove_orders(d: dict[str, Any]) -> None:
    d["tables"].pop()


def _change_check(d: dict[str, Any]) -> None:
    d["checks"][0]["sql"] = "SELECT count(*) FROM {inventory}"
    d["checks"][0]["expect_rows"] = [["5"]]


#: (what the edit does, the edit, the plan's changed steps as {key: action})
CHAIN: list[tuple[str, Callable[[dict[str, Any]], None], dict[str, str]]] = [
    (
        "add a table, imported by the producer",
        _add_orders,
        {
            "s3:sample-data/orders": "create",
            "glue:table/orders": "create",
            "lakeformation:lf-only/orders": "create",
            "lakeformation:registration/orders": "create",
            "lakeformation:grant/producer/orders/project/table": "create",
            "lakeformation:grant/producer/orders/manage-access/table": "create",
            "datazone:data-source/producer/retail": "update",
            "datazone:import/producer/retail": "update",
            "datazone:listing/orders": "create",
        },
    ),
    (
        "subscribe the consumer to it (and check it)",
        _subscribe_orders,
        {
            "datazone:subscription-request/consumer/orders": "create",
            "datazone:approval/consumer/orders": "create",
            "datazone:subscription-grant/consumer/orders": "create",
        },
    ),
    ("change its rows", _more_orders, {"s3:sample-data/orders": "update"}),
    (
        "change its columns",
        _orders_column,
        {"s3:sample-data/orders": "update", "glue:table/orders": "update"},
    ),
    (
        "add a consumer project with a subscription",
        _add_analytics,
        {
            "datazone:project/analytics": "create",
            "datazone:subscription-request/analytics/inventory": "create",
            "datazone:approval/analytics/inventory": "create",
            "datazone:subscription-grant/analytics/inventory": "create",
        },
    ),
    (
        "remove that project",
        _remove_analytics,
        {
            "datazone:subscription-request/analytics/inventory": "delete",
            "datazone:project/analytics": "delete",
        },
    ),
    # The policy decides requests still to come: no object of AWS changes.
    ("change the approval mode and rules", _approval_rules, {}),
    (
        "remove the subscription",
        _unsubscribe_orders,
        {"datazone:subscription-request/consumer/orders": "delete"},
    ),
    (
        "remove the import of the table (the table stays)",
        _unimport_orders,
        {
            "datazone:listing/orders": "delete",
            "lakeformation:grant/producer/orders/project/table": "delete",
            "lakeformation:grant/producer/orders/manage-access/table": "delete",
            "datazone:data-source/producer/retail": "update",
        },
    ),
    (
        "add a producer project that imports it",
        _add_finance,
        {
            "datazone:project/finance": "create",
            "lakeformation:grant/finance/retail/project/database": "create",
            "lakeformation:grant/finance/orders/project/table": "create",
            "lakeformation:grant/finance/orders/manage-access/table": "create",
            "datazone:data-source/finance/retail": "create",
            "datazone:import/finance/retail": "create",
            "datazone:listing/orders": "create",
        },
    ),
    (
        # Its database grant to the manage-access role is the producer's too: left (SKIP).
        "remove that producer project",
        _remove_finance,
        {
            "datazone:listing/orders": "delete",
            "datazone:import/finance/retail": "delete",
            "datazone:data-source/finance/retail": "delete",
            "lakeformation:grant/finance/retail/project/database": "delete",
            "lakeformation:grant/finance/orders/project/table": "delete",
            "lakeformation:grant/finance/orders/manage-access/table": "delete",
            "datazone:project/finance": "delete",
        },
    ),
    (
        "remove the table",
        _remove_orders,
        {
            "lakeformation:lf-only/orders": "delete",
            "lakeformation:registration/orders": "delete",
            "glue:table/orders": "delete",
            "s3:sample-data/orders": "delete",
        },
    ),
    # Checks run at `query`: nothing to converge.
    ("change a check", _change_check, {}),
]


def test_every_change_converges_beside_a_neighbour(
    cloud: Cloud, tmp_path: Path, fast_polling: None, set_up_once: SetUpOnce
) -> None:
    """One set-up walks a chain of config edits: each time `plan` shows exactly the steps
    that change, `up` applies them, the next plan has nothing to do and the checks return
    the new rows. Then `down`: the emulator is as it was before the first `up`, and the
    neighbour set-up was never touched."""
    other: Callable[[], Workspace] = lambda: _workspace(other_document(), tmp_path / "other.json")  # noqa: E731
    other_up(set_up_once, tmp_path / "other.json")  # shared with the tests beside it (ADR 38)
    other_audit = other().audit().to_dict()
    before = cloud.inventory()

    document = example_document()
    state = tmp_path / "demo.json"
    assert _workspace(document, state).up().ok
    measured = []
    started = time.monotonic()
    drifts: dict[str, tuple[str, ...]] = {}
    for what, change, _ in CHAIN:
        document = _edit(document, change)
        workspace = _workspace(document, state)
        plan = workspace.plan()
        changed = {s.key: s.action.value for s in plan.changes()}
        # An update says what changes, attribute by attribute, before -> after (JSON too).
        for step in plan.changes():
            if step.action == Action.UPDATE:
                assert step.drift, (what, step)
                assert step.to_dict()["drift"] == list(step.drift)
                drifts[step.key] = step.drift
        seq = last_seq(cloud)
        report = workspace.up()
        assert report.ok, (what, [f.message for f in report.failures])
        calls = calls_since(cloud, seq)
        mutating = sorted(f"{c['service']}:{c['operation']}" for c in calls if c["mutating"])
        measured.append((what, changed, len(mutating), len(calls) - len(mutating), mutating))
        print(f"\n[chain] {what} {time.monotonic() - started:.1f}s {changed}", flush=True)
        assert [s.key for s in workspace.plan().changes()] == [], what
        results = Collaboration(workspace).run_checks()
        assert [r.ok for r in results] == [True] * len(document["checks"]), (
            what,
            [(r.name, r.rows, r.message) for r in results],
        )
    for what, changed, writes, reads, mutating in measured:
        print(
            f"\n[chain] {what}: plan {changed}\n  up: {writes} mutating, {reads} read: {mutating}"
        )
    for (what, _, expected), (_, changed, *_) in zip(CHAIN, measured, strict=True):
        assert changed == expected, what

    assert drifts == {
        # the last update of each: the table removed from the imports
        "datazone:data-source/producer/retail": ("tables: inventory, orders -> inventory",),
        "datazone:import/producer/retail": ("not imported: orders",),
        "glue:table/orders": (
            "columns: sku string, units int -> sku string, units int, city string",
        ),
        "s3:sample-data/orders": (drifts["s3:sample-data/orders"][0],),
    }
    assert drifts["s3:sample-data/orders"][0].startswith("rows: "), drifts
    assert " bytes (sha256 " in drifts["s3:sample-data/orders"][0]
    assert "-> 2 rows, " in drifts["s3:sample-data/orders"][0]

    report, leftovers = _workspace(document, state).down()
    assert report.ok, [f.message for f in report.failures]
    assert leftovers.count() == 0, leftovers.to_dict()
    assert inventory_diff(before, cloud.inventory()) == {}
    assert other().audit().to_dict() == other_audit
    assert other().plan().changes() == []


def test_a_database_that_left_the_config_is_kept_when_it_holds_a_table_not_ours(
    cloud: Cloud, make_workspace: Callable[..., Workspace], deployed_example: Deployed
) -> None:
    """`up` deletes the database of a table that left the config (ADR 19) only when no table
    in it is another's (ADR 50): a team's table added to it keeps it."""
    state, before = deployed_example.state, deployed_example.before
    ledger = {
        **copy.deepcopy(ORDERS),
        "name": "ledger",
        "database": "ledger_db",
        "table": "ledger",
        "location": "s3://smus-mesh-demo-retail-111111111111/ledger/",
    }
    with_ledger = _edit(example_document(), lambda d: d["tables"].append(ledger))
    report = make_workspace(with_ledger, state).up()
    assert report.ok, [f.message for f in report.failures]
    table = neighbour_table(cloud, "ledger_db")

    report = make_workspace(state=state).up()
    assert report.ok, [f.message for f in report.failures]
    (result,) = [r for r in report.results if r.key == "glue:database/producer/ledger_db"]
    assert (result.action, result.ok, result.message) == ("delete", True, KEPT)
    assert make_workspace(state=state).plan().changes() == []

    report, leftovers = make_workspace(state=state).down()
    assert report.ok, [f.message for f in report.failures]
    assert leftovers.count() == 0, leftovers.to_dict()
    assert_kept_for_the_neighbour(cloud, "ledger_db", table, before)


def test_a_table_moved_to_another_database_converges_beside_a_neighbour(
    cloud: Cloud, make_workspace: Callable[..., Workspace], deployed_example: Deployed
) -> None:
    """The config moves the example's table to another Glue database: `up` tears down what
    hung on the old table in AWS's order (the subscription revoked, the listing unpublished,
    then the asset deleted: DeleteAsset refuses a published asset), makes the table anew
    where the config says, and the consumer reads it there. Then nothing is left to do, and
    `down` leaves the accounts as they were; a team's own database, made beside it with
    plain boto3, is never touched."""
    state, before = deployed_example.state, deployed_example.before
    glue = cloud.client("glue", DOMAIN_ACCOUNT)
    glue.create_database(DatabaseInput={"Name": "ledger_team", "Description": "finance"})
    table = neighbour_table(cloud, "ledger_team")
    neighbour_database = glue.get_database(Name="ledger_team")["Database"]

    def moved(d: dict[str, Any]) -> None:
        d["tables"][0]["database"] = "retail_v2"

    document = _edit(example_document(), moved)
    plan = make_workspace(document, state).plan()
    deleted = [(s.key, s.reason) for s in plan.changes() if s.action == Action.DELETE]
    # The keys that stay, for objects of the new place now: their old objects go first.
    assert deleted == [
        ("datazone:subscription-request/consumer/inventory", REPLACED),
        ("datazone:listing/inventory", REPLACED),
        ("datazone:import/producer/retail", LEFT_THE_CONFIG),
        ("datazone:data-source/producer/retail", LEFT_THE_CONFIG),
        ("lakeformation:grant/producer/inventory/project/table", REPLACED),
        ("lakeformation:grant/producer/inventory/manage-access/table", REPLACED),
        ("lakeformation:grant/producer/retail/project/database", LEFT_THE_CONFIG),
        ("lakeformation:grant/producer/retail/manage-access/database", LEFT_THE_CONFIG),
        ("lakeformation:lf-only/inventory", REPLACED),
        ("glue:table/inventory", REPLACED),
        ("glue:database/producer/retail", LEFT_THE_CONFIG),
    ]
    created = {s.key for s in plan.changes() if s.action == Action.CREATE}
    assert {key for key, _ in deleted} - created == {
        "datazone:import/producer/retail",
        "datazone:data-source/producer/retail",
        "lakeformation:grant/producer/retail/project/database",
        "lakeformation:grant/producer/retail/manage-access/database",
        "glue:database/producer/retail",
    }
    seq = last_seq(cloud)
    report = make_workspace(document, state).up()
    assert report.ok, [(f.key, f.message) for f in report.failures]
    # AWS's teardown order (workflow.md 2.2): revoked, unpublished, then the asset deleted.
    writes = [
        c["operation"]
        for c in calls_since(cloud, seq)
        if c["service"] == "datazone" and c["mutating"]
    ]
    assert writes == [
        "RevokeSubscription",
        "DeleteSubscriptionGrant",
        "CreateListingChangeSet",  # UNPUBLISH
        "DeleteAsset",
        "DeleteDataSource",
        "CreateDataSource",
        "StartDataSourceRun",
        "CreateListingChangeSet",  # PUBLISH
        "CreateSubscriptionRequest",
        "AcceptSubscriptionRequest",
    ]
    assert [t["Name"] for t in glue.get_tables(DatabaseName="retail_v2")["TableList"]] == [
        "inventory"
    ]
    databases = {d["Name"] for d in glue.get_databases()["DatabaseList"]}
    assert "retail" not in databases, databases
    results = Collaboration(make_workspace(document, state)).run_checks()
    assert [(r.ok, r.rows) for r in results] == [
        (True, [["faro", "120"], ["lisbon", "450"], ["porto", "4295"]])
    ], [(r.name, r.rows, r.message) for r in results]
    assert make_workspace(document, state).plan().changes() == []

    report, leftovers = make_workspace(document, state).down()
    assert report.ok, [(f.key, f.message) for f in report.failures]
    assert leftovers.count() == 0, leftovers.to_dict()
    assert glue.get_database(Name="ledger_team")["Database"] == neighbour_database
    assert _table_as_read(cloud, "ledger_team") == table
    glue.delete_table(DatabaseName="ledger_team", Name="finance_ledger")
    glue.delete_database(Name="ledger_team")
    assert inventory_diff(before, cloud.inventory()) == {}


def test_a_table_moved_out_of_a_database_leaves_the_other_tables_subscriptions(
    cloud: Cloud, make_workspace: Callable[..., Workspace], deployed_example: Deployed
) -> None:
    """Of two tables of one database, one moves: only its objects are made anew. The data
    source of the database it left stays (its filter follows), and the other table keeps
    its asset, its listing and the consumer's subscription: the same ids as before. A
    team's own table in that database, made with plain boto3, outlives it all."""
    state, before = deployed_example.state, deployed_example.before
    table = neighbour_table(cloud, "retail")
    with_orders = _edit(_edit(example_document(), _add_orders), _subscribe_orders)
    report = make_workspace(with_orders, state).up()
    assert report.ok, [(f.key, f.message) for f in report.failures]

    def ids_of(document: dict[str, Any]) -> dict[str, Any]:
        rows = make_workspace(document, state).status()
        wanted = (
            "datazone:data-source/producer/retail",
            "datazone:listing/inventory",
            "datazone:subscription-request/consumer/inventory",
        )
        return {r["key"]: r["identity"] for r in rows if r["key"] in wanted}

    staying = ids_of(with_orders)
    moved = _edit(with_orders, lambda d: d["tables"][1].update(database="archive"))
    plan = make_workspace(moved, state).plan()
    assert {s.key: s.action.value for s in plan.changes() if s.action == Action.UPDATE} == {
        "datazone:data-source/producer/retail": "update"
    }
    report = make_workspace(moved, state).up()
    assert report.ok, [(f.key, f.message) for f in report.failures]
    assert ids_of(moved) == staying
    # Nothing of the old place is left: its table, asset and listing (so its subscription).
    glue = cloud.client("glue", DOMAIN_ACCOUNT)
    assert sorted(t["Name"] for t in glue.get_tables(DatabaseName="retail")["TableList"]) == [
        "finance_ledger",
        "inventory",
    ]
    datazone = cloud.client("datazone", DOMAIN_ACCOUNT)
    domain_id = make_workspace(moved, state).outputs()["domain"]["id"]
    assets = datazone.search(domainIdentifier=domain_id, searchScope="ASSET", searchText="orders")
    listings = datazone.search_listings(domainIdentifier=domain_id, searchText="orders")
    assert len(assets["items"]) == len(listings["items"]) == 1, (assets, listings)
    assert staying["datazone:subscription-request/consumer/inventory"]["subscription_id"]
    assert staying["datazone:listing/inventory"]["listing_id"]
    results = Collaboration(make_workspace(moved, state)).run_checks()
    assert [r.ok for r in results] == [True, True], [(r.name, r.rows, r.message) for r in results]
    assert make_workspace(moved, state).plan().changes() == []

    report, leftovers = make_workspace(moved, state).down()
    assert report.ok, [(f.key, f.message) for f in report.failures]
    assert leftovers.count() == 0, leftovers.to_dict()
    assert_kept_for_the_neighbour(cloud, "retail", table, before)
