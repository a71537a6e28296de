"""`down` from any starting point leaves every account exactly as it was before `up`
(issue 5.2 and 5.4): after a complete `up` (and run twice), after an `up` killed at five
and more points, without the state file, after resources were deleted by hand; and what
existed before `up` survives it, as it was.

"As it was" is the emulator's own inventory of every account and class (DESIGN.md), taken
before `up` and compared after `down`; `down` must also report no leftover of its own.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from smus_mesh.collaboration import Collaboration
from smus_mesh.engine.workspace import Workspace
from smus_mesh.inventory import Inventory
from smus_mesh.resources.subscriptions import GrantPolls, SubscriptionRequest, subscriptions_of
from tests.e2e.conftest import Deployed, example_document
from tests.e2e.helpers import (
    KILL_POINTS,
    assert_inventory_unchanged,
    calls_since,
    last_seq,
    mutating_calls,
    run_killed_at,
    run_up_killed_at,
)
from tests.support import CONSUMER_ACCOUNT, DOMAIN_ACCOUNT, Cloud


def _down_leaves_nothing(
    cloud: Cloud, workspace: Workspace, before: dict[str, Any], scenario: str
) -> float:
    """Run `down`; assert it succeeded, found no leftover and restored the inventory.
    Returns its wall time."""
    started = time.monotonic()
    report, leftovers = workspace.down()
    seconds = time.monotonic() - started
    assert report.ok, [f.message for f in report.failures]
    assert leftovers.count() == 0, leftovers.to_dict()
    assert set(leftovers.by_class().values()) == {0}
    assert_inventory_unchanged(before, cloud.inventory(), scenario)
    return seconds


def test_down_after_a_complete_up_then_again_changes_nothing(
    cloud: Cloud, make_workspace: Callable[..., Workspace], tmp_path: Path
) -> None:
    state = tmp_path / "state.json"
    before = cloud.inventory()
    report = make_workspace(state=state).up()
    assert report.ok, [f.message for f in report.failures]
    assert cloud.inventory() != before

    since = last_seq(cloud)
    seconds = _down_leaves_nothing(cloud, make_workspace(state=state), before, "down after up")
    print(f"[down after a complete up] wall time {seconds:.2f}s")
    # `down` observes once and deletes with what it observed: each blueprint configuration
    # (Tooling and DataLake in both accounts) is read once for the plan and once more to
    # see it gone, and the blueprint ids are listed once per account (twice when both of an
    # account's configurations ask at the same moment).
    reads = Counter(c["operation"] for c in calls_since(cloud, since))
    assert reads["DeleteEnvironmentBlueprintConfiguration"] == 4
    assert reads["GetEnvironmentBlueprintConfiguration"] == 2 * 4
    assert reads["ListEnvironmentBlueprints"] <= 4
    assert not state.exists()

    # Twice: the second finds nothing to do and changes nothing.
    since = last_seq(cloud)
    _down_leaves_nothing(cloud, make_workspace(state=state), before, "second down")
    assert mutating_calls(cloud, since) == []


def test_down_revokes_each_subscription_without_listing_its_requests_again(
    cloud: Cloud,
    make_workspace: Callable[..., Workspace],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Three subscriptions of one consumer project: `down` revokes each and deletes its
    grant; the pending requests beside them (none here) are read once for the project by
    the plan's observation, not once more per subscription as it deletes, and the grants'
    polls can share one list of the project (ADR 43).

    `down` runs with one worker: a step that waits lends it (ADR 47), so the second
    subscription is revoked while the first one's revocation is awaited, before any grant
    is deleted. A wait that held its worker revoked, awaited and deleted one after the
    other. (Polls 0.1 s apart: time enough for the executor to start the next step.)"""
    document = example_document()
    (table,) = document["tables"]
    names = ["inventory", "stock_b", "stock_c"]
    document["tables"] = [
        {**table, "name": n, "table": n, "location": table["location"].replace("inventory", n)}
        for n in names
    ]
    (producer,) = [p for p in document["projects"] if p["name"] == "producer"]
    producer["imports"] = names
    document["subscriptions"][0]["tables"] = names
    state = tmp_path / "state.json"
    before = cloud.inventory()
    report = make_workspace(document, state).up()
    assert report.ok, [f.message for f in report.failures]

    # The grants' polls: by consumer project (a revocation's, ADR 43) one call answers the
    # three subscriptions' reads; by listing (a grant wait's) each listing needs its own.
    collaboration = Collaboration(make_workspace(document, state))
    keys = [collaboration._key(f"request:consumer:{n}") for n in names]
    ctx = collaboration._require(*keys)
    reads: dict[str, list[list[dict[str, Any]]]] = {}
    for by in ("owningProjectId", "subscribedListingId"):
        asked, polls = time.monotonic(), []
        for key in keys:
            resource = collaboration.workspace.graph.get(key)
            assert isinstance(resource, SubscriptionRequest)
            domain_id, listing_id, consumer_id = resource.ids(ctx)
            [subscription] = subscriptions_of(
                ctx, resource.account, domain_id, listing_id, consumer_id, "APPROVED"
            )
            value = consumer_id if by == "owningProjectId" else listing_id
            polls.append(
                GrantPolls(ctx, resource.account, domain_id, subscription["id"], (by, value), asked)
            )
        seq = last_seq(cloud)
        reads[by] = [poll.read() for poll in polls]
        listed = [c for c in calls_since(cloud, seq) if c["operation"] == "ListSubscriptionGrants"]
        assert len(listed) == (1 if by == "owningProjectId" else 3), by
        assert [[g["subscriptionId"] for g in read] for read in reads[by]] == [
            [poll.subscription_id] for poll in polls
        ]
    assert reads["owningProjectId"] == reads["subscribedListingId"]

    since = last_seq(cloud)
    monkeypatch.setenv("SMUS_MESH_MAX_WORKERS", "1")
    monkeypatch.setenv("SMUS_MESH_POLL_INITIAL", "0.1")
    monkeypatch.setenv("SMUS_MESH_POLL_MAX", "0.1")
    _down_leaves_nothing(cloud, make_workspace(document, state), before, "three subscriptions")
    order = [c["operation"] for c in calls_since(cloud, since)]
    calls = Counter(order)
    assert calls["RevokeSubscription"] == 3
    assert calls["DeleteSubscriptionGrant"] == 3
    revoked = [i for i, operation in enumerate(order) if operation == "RevokeSubscription"]
    assert revoked[1] < order.index("DeleteSubscriptionGrant"), order
    assert calls["ListSubscriptionRequests"] == 1, calls
    assert not state.exists()


#: `down` straight after a killed `up` (no resume): what exists is half made, with
#: asynchronous work in flight: the domain, the share's invitation, the environments, the
#: data source run, the grant.
_DOWN_AT = (
    "CreateDomain",
    "CreateResourceShare",
    "CreateProject",
    "StartDataSourceRun",
    "AcceptSubscriptionRequest",
)
DOWN_KILL_POINTS = tuple(p for p in KILL_POINTS if p[0] in _DOWN_AT)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("operation", "occurrence"), DOWN_KILL_POINTS, ids=[p[0] for p in DOWN_KILL_POINTS]
)
def test_down_after_up_was_killed(
    cloud: Cloud,
    make_workspace: Callable[..., Workspace],
    write_config: Callable[[dict[str, Any]], Path],
    tmp_path: Path,
    operation: str,
    occurrence: int,
) -> None:
    state = tmp_path / "state.json"
    before = cloud.inventory()
    kill = run_up_killed_at(cloud, write_config(example_document()), state, operation, occurrence)
    print(f"\n{kill.describe()}")
    assert cloud.inventory() != before

    _down_leaves_nothing(
        cloud, make_workspace(state=state), before, f"down after up killed at {operation}"
    )
    assert not state.exists()


def test_down_killed_while_the_domain_is_deleting_then_run_again(
    cloud: Cloud,
    make_workspace: Callable[..., Workspace],
    write_config: Callable[[dict[str, Any]], Path],
    deployed_example: Deployed,
) -> None:
    """An interrupted teardown is a starting point too: the domain's cascade is under way,
    the roles it needs are still there (they go last), and `down` finishes the job."""
    state, before = deployed_example.state, deployed_example.before
    kill = run_killed_at(
        cloud, write_config(example_document()), state, ("down", "--yes"), "DeleteDomain"
    )
    print(f"\n{kill.describe()}")
    assert state.exists()

    _down_leaves_nothing(cloud, make_workspace(state=state), before, "down after a killed down")
    assert not state.exists()


def test_down_without_the_state_file_finds_the_setup_by_tags_and_names(
    cloud: Cloud, make_workspace: Callable[..., Workspace], deployed_example: Deployed
) -> None:
    state, before = deployed_example.state, deployed_example.before
    state.unlink()

    _down_leaves_nothing(cloud, make_workspace(state=state), before, "down without state file")


def test_down_after_resources_were_deleted_by_hand(
    cloud: Cloud, make_workspace: Callable[..., Workspace], deployed_example: Deployed
) -> None:
    state, before = deployed_example.state, deployed_example.before
    datazone = cloud.client("datazone", DOMAIN_ACCOUNT)
    (domain_id,) = [d["id"] for d in datazone.list_domains()["items"]]
    (project_id,) = [
        p["id"]
        for p in datazone.list_projects(domainIdentifier=domain_id)["items"]
        if p["name"] == "consumer"
    ]

    # The consumer project, through DataZone (its environments and their stacks go with it).
    datazone.delete_project(
        domainIdentifier=domain_id, identifier=project_id, skipDeletionCheck=True
    )
    _wait_gone(lambda: datazone.get_project(domainIdentifier=domain_id, identifier=project_id))
    # Then a role it no longer needs: the consumer account's provisioning role.
    iam = cloud.client("iam", CONSUMER_ACCOUNT)
    role = "AmazonSageMakerProvisioning-demo"
    for policy in iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"]:
        iam.detach_role_policy(RoleName=role, PolicyArn=policy["PolicyArn"])
    iam.delete_role(RoleName=role)
    # And the table's data.
    s3 = cloud.client("s3", DOMAIN_ACCOUNT)
    bucket = "smus-mesh-demo-retail-111111111111"
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]
    assert keys
    s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": k} for k in keys]})

    _down_leaves_nothing(cloud, make_workspace(state=state), before, "down after hand deletions")


def _wait_gone(read: Callable[[], Any], timeout: float = 30.0) -> None:
    """Poll `read` until it raises ResourceNotFoundException."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            read()
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ResourceNotFoundException":
                return
            raise
        time.sleep(0.01)
    raise AssertionError(f"still there after {timeout}s")


# --- what existed before `up` ---------------------------------------------------------------

EXISTING_BUCKET = "pre-existing-sales-111111111111"
EXISTING_ROWS = "region,amount\nnorth,10\nsouth,32\nnorth,5\n"
EXECUTION_ROLE = "PreExistingDomainExecution"
STEWARD_ROLE = "DataSteward"


def _existing_resources(cloud: Cloud) -> dict[str, str]:
    """Make by hand what a team already has: data, its Glue table, a role, an admin."""
    s3 = cloud.client("s3", DOMAIN_ACCOUNT)
    s3.create_bucket(Bucket=EXISTING_BUCKET)
    s3.put_object(Bucket=EXISTING_BUCKET, Key="orders/part-0.csv", Body=EXISTING_ROWS.encode())
    s3.put_object(Bucket=EXISTING_BUCKET, Key="README.txt", Body=b"not part of the table")
    glue = cloud.client("glue", DOMAIN_ACCOUNT)
    glue.create_database(DatabaseInput={"Name": "sales", "Description": "the sales team's"})
    glue.create_table(
        DatabaseName="sales",
        TableInput={
            "Name": "orders",
            "TableType": "EXTERNAL_TABLE",
            "Parameters": {"classification": "csv", "skip.header.line.count": "1"},
            "StorageDescriptor": {
                "Columns": [
                    {"Name": "region", "Type": "string"},
                    {"Name": "amount", "Type": "int"},
                ],
                "Location": f"s3://{EXISTING_BUCKET}/orders/",
                "InputFormat": "org.apache.hadoop.mapred.TextInputFormat",
                "OutputFormat": "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat",
                "SerdeInfo": {
                    "SerializationLibrary": "org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe",
                    "Parameters": {"field.delim": ","},
                },
            },
        },
    )
    iam = cloud.client("iam", DOMAIN_ACCOUNT)
    trust = (
        '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", '
        '"Principal": {"Service": "datazone.amazonaws.com"}, '
        '"Action": ["sts:AssumeRole", "sts:TagSession"], '
        '"Condition": {"StringEquals": {"aws:SourceAccount": "111111111111"}}}]}'
    )
    execution = iam.create_role(
        RoleName=EXECUTION_ROLE,
        Path="/service-role/",
        AssumeRolePolicyDocument=trust,
        Tags=[{"Key": "team", "Value": "platform"}],
    )["Role"]["Arn"]
    iam.attach_role_policy(
        RoleName=EXECUTION_ROLE,
        PolicyArn="arn:aws:iam::aws:policy/service-role/SageMakerStudioDomainExecutionRolePolicy",
    )
    steward = iam.create_role(
        RoleName=STEWARD_ROLE,
        AssumeRolePolicyDocument=(
            '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", '
            '"Principal": {"AWS": "arn:aws:iam::111111111111:root"}, "Action": "sts:AssumeRole"}]}'
        ),
    )["Role"]["Arn"]
    cloud.client("lakeformation", DOMAIN_ACCOUNT).put_data_lake_settings(
        DataLakeSettings={"DataLakeAdmins": [{"DataLakePrincipalIdentifier": steward}]}
    )
    return {"execution": execution, "steward": steward}


def _describe_existing(cloud: Cloud) -> dict[str, Any]:
    """Everything about the pre-existing resources that smus-mesh must not change."""
    s3 = cloud.client("s3", DOMAIN_ACCOUNT)
    objects = {
        o["Key"]: s3.get_object(Bucket=EXISTING_BUCKET, Key=o["Key"])["Body"].read()
        for o in s3.list_objects_v2(Bucket=EXISTING_BUCKET)["Contents"]
    }
    glue = cloud.client("glue", DOMAIN_ACCOUNT)
    iam = cloud.client("iam", DOMAIN_ACCOUNT)
    role = iam.get_role(RoleName=EXECUTION_ROLE)["Role"]
    role.pop("RoleLastUsed", None)
    settings = cloud.client("lakeformation", DOMAIN_ACCOUNT).get_data_lake_settings()
    return {
        "objects": objects,
        "database": glue.get_database(Name="sales")["Database"],
        "table": glue.get_table(DatabaseName="sales", Name="orders")["Table"],
        "role": role,
        "role_policies": iam.list_attached_role_policies(RoleName=EXECUTION_ROLE)[
            "AttachedPolicies"
        ],
        "role_inline": iam.list_role_policies(RoleName=EXECUTION_ROLE)["PolicyNames"],
        "role_tags": iam.list_role_tags(RoleName=EXECUTION_ROLE)["Tags"],
        "admins": settings["DataLakeSettings"]["DataLakeAdmins"],
        "open_to_iam": _iam_allowed(cloud),
    }


def _iam_allowed(cloud: Cloud) -> dict[str, list[str]]:
    """What IAM_ALLOWED_PRINCIPALS holds on the pre-existing database and table."""
    lakeformation = cloud.client("lakeformation", DOMAIN_ACCOUNT)
    held = {}
    for name, resource in (
        ("database", {"Database": {"Name": "sales"}}),
        ("table", {"Table": {"DatabaseName": "sales", "Name": "orders"}}),
    ):
        entries = lakeformation.list_permissions(
            Principal={"DataLakePrincipalIdentifier": "IAM_ALLOWED_PRINCIPALS"}, Resource=resource
        )["PrincipalResourcePermissions"]
        held[name] = sorted(p for e in entries for p in e["Permissions"])
    return held


def test_pre_existing_bucket_table_role_and_admin_survive_up_and_down(
    cloud: Cloud, make_workspace: Callable[..., Workspace], tmp_path: Path
) -> None:
    arns = _existing_resources(cloud)
    existing = _describe_existing(cloud)
    assert existing["open_to_iam"] == {"database": ["ALL"], "table": ["ALL"]}
    before = cloud.inventory()

    document = example_document()
    document["domain"]["roles"] = {"execution": arns["execution"]}
    document["tables"] = [
        {
            "name": "sales",
            "account": "producer",
            "database": "sales",
            "table": "orders",
            "location": f"s3://{EXISTING_BUCKET}/orders/",
            "format": "csv",
            "create": False,
        }
    ]
    document["projects"][0]["imports"] = ["sales"]
    document["subscriptions"][0]["tables"] = ["sales"]
    document["checks"] = [
        {
            "name": "amount per region",
            "project": "consumer",
            "sql": "SELECT region, sum(amount) AS total FROM {sales} "
            "GROUP BY region ORDER BY region",
            "expect_rows": [["north", 15], ["south", 32]],
        }
    ]
    state = tmp_path / "state.json"
    report = make_workspace(document, state).up()
    assert report.ok, [f.message for f in report.failures]

    # DataZone subscribes only to Lake-Formation-only tables: `up` revoked the IAM access...
    during = _describe_existing(cloud)
    assert during["open_to_iam"] == {"database": [], "table": []}
    assert {a["DataLakePrincipalIdentifier"] for a in during["admins"]} >= {arns["steward"]}
    assert {k: v for k, v in during.items() if k not in ("open_to_iam", "admins")} == {
        k: v for k, v in existing.items() if k not in ("open_to_iam", "admins")
    }
    results = Collaboration(make_workspace(document, state)).run_checks()
    assert [(r.ok, r.rows) for r in results] == [(True, [["north", "15"], ["south", "32"]])]

    _down_leaves_nothing(cloud, make_workspace(document, state), before, "pre-existing kept")
    # ... and `down` gave it back; everything else is exactly as it was.
    assert _describe_existing(cloud) == existing


# --- a database of ours that holds tables that are not (ADR 50) -----------------------------

NEIGHBOUR_TABLE = {
    "Name": "finance_ledger",
    "TableType": "EXTERNAL_TABLE",
    "Parameters": {"classification": "csv", "owner": "finance"},
    "StorageDescriptor": {
        "Columns": [{"Name": "entry", "Type": "string"}, {"Name": "amount", "Type": "int"}],
        "Location": "s3://finance-ledger-111111111111/ledger/",
    },
}
#: What of a Glue table its owner reads back (the rest is bookkeeping: times, versions).
TABLE_FIELDS = ("Name", "DatabaseName", "TableType", "Parameters", "StorageDescriptor")


def neighbour_table(cloud: Cloud, database: str) -> dict[str, Any]:
    """A team's own table in `database`, made with plain boto3 (Glue CreateTable)."""
    glue = cloud.client("glue", DOMAIN_ACCOUNT)
    glue.create_table(DatabaseName=database, TableInput=NEIGHBOUR_TABLE)
    return _table_as_read(cloud, database)


def _table_as_read(cloud: Cloud, database: str) -> dict[str, Any]:
    glue = cloud.client("glue", DOMAIN_ACCOUNT)
    table = glue.get_table(DatabaseName=database, Name=NEIGHBOUR_TABLE["Name"])["Table"]
    return {k: table.get(k) for k in TABLE_FIELDS}


KEPT = (
    "kept: it holds 1 table(s) that are not this set-up's (finance_ledger), which "
    "DeleteDatabase would delete with it"
)


def assert_kept_for_the_neighbour(
    cloud: Cloud, database: str, table: dict[str, Any], before: dict[str, Any]
) -> None:
    """`database` is there, with the neighbour's table as it was and none of the set-up's;
    once the neighbour deletes its table and a person the database, every account is as
    it was before `up`."""
    glue = cloud.client("glue", DOMAIN_ACCOUNT)
    assert _table_as_read(cloud, database) == table
    tables = glue.get_tables(DatabaseName=database)["TableList"]
    assert [t["Name"] for t in tables] == ["finance_ledger"]
    glue.delete_table(DatabaseName=database, Name="finance_ledger")
    glue.delete_database(Name=database)
    assert_inventory_unchanged(before, cloud.inventory(), f"{database} kept for a neighbour")


def test_down_keeps_a_database_that_holds_a_table_not_ours(
    cloud: Cloud, make_workspace: Callable[..., Workspace], deployed_example: Deployed
) -> None:
    """Glue's DeleteDatabase deletes every table in the database: a team's table added to
    the database `up` made keeps it. `down` deletes only its own table and says why the
    database is kept, naming the table; the run succeeds and the audit counts neither the
    database nor the grants on it that are not the set-up's as leftovers (as for what
    `down` leaves because it is not the set-up's), so the state file goes. Run again,
    `down` changes nothing."""
    state, before = deployed_example.state, deployed_example.before
    table = neighbour_table(cloud, "retail")

    report, leftovers = make_workspace(state=state).down()
    assert report.ok, [f.message for f in report.failures]
    (result,) = [r for r in report.results if r.key == "glue:database/producer/retail"]
    assert result.to_dict()["message"] == KEPT
    assert (result.action, result.ok) == ("delete", True)
    assert leftovers.count() == 0, leftovers.to_dict()
    assert not state.exists()
    assert make_workspace(state=state).audit().count() == 0

    since = last_seq(cloud)
    report, leftovers = make_workspace(state=state).down()
    assert report.ok and leftovers.count() == 0
    assert mutating_calls(cloud, since) == []
    assert_kept_for_the_neighbour(cloud, "retail", table, before)


def test_the_sweep_keeps_a_database_that_holds_a_table_not_ours(
    cloud: Cloud, make_workspace: Callable[..., Workspace], deployed_example: Deployed
) -> None:
    """The sweep after `down`'s steps deletes what the audit found; a table not the set-up's
    that appears in one of its databases after the audit keeps the database the same way:
    the set-up's own table is deleted, the team's left. (The sweep of the database's
    findings alone, while the set-up is up, so that its grants on it can still be revoked.)"""
    state, before = deployed_example.state, deployed_example.before
    workspace = make_workspace(state=state)
    found = workspace.audit()  # reads the set-up id from the state, as `down` does
    retail = {
        cls: [f for f in found.accounts["producer"][cls] if "retail" in f.id]
        for cls in ("glue_tables", "glue_databases", "lakeformation_permissions")
    }
    assert [(f.id, f.why) for f in retail["glue_tables"]] == [
        ("retail.inventory", "created by smus-mesh")
    ]
    assert [(f.id, f.why) for f in retail["glue_databases"]] == [("retail", "created by smus-mesh")]
    table = neighbour_table(cloud, "retail")  # after the audit
    said: list[str] = []
    auditor = workspace.auditor()
    errors = auditor.sweep(Inventory({"producer": retail}, found.account_ids), said.append)
    assert errors == []
    assert said[-2:] == [
        "deleted leftover glue_tables retail.inventory in producer",
        f"leftover glue_databases retail in producer {KEPT}",
    ]
    # Listed again, it is not a leftover: the set-up keeps it for the team's table.
    assert "retail" not in [
        f.id for f in workspace.auditor().run().accounts["producer"]["glue_databases"]
    ]

    report, leftovers = make_workspace(state=state).down()
    assert report.ok, [f.message for f in report.failures]
    assert leftovers.count() == 0, leftovers.to_dict()
    assert_kept_for_the_neighbour(cloud, "retail", table, before)
