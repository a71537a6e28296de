"""Publish, subscribe, approve, grant and query across accounts (issue 4.5), on the emulator.

Three accounts take part: 111111111111 holds the domain and the producer project,
222222222222 the `consumer` project, and the emulator's base account 123456789012
(reached with the default credentials: an account entry with only its id) the
`analytics` project, so that two consumer accounts subscribe to the same table.
Each scenario makes one set-up and drives it through the CLI as a user would,
checking what DataZone, Lake Formation and the calls log say after each command.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from smus_mesh.cli import app
from smus_mesh.collaboration import Collaboration
from smus_mesh.config import load_config
from smus_mesh.engine.workspace import Workspace
from smus_mesh.resources.subscriptions import SubscriptionRequest, revoke_subscriptions
from smus_mesh.settings import Settings
from tests.e2e.conftest import FAST, example_document
from tests.e2e.helpers import (
    REQUEST_STATUSES,
    SUBSCRIPTION_STATUSES,
    calls_since,
    every_status,
    last_seq,
)
from tests.support import BASE_ACCOUNT, CONSUMER_ACCOUNT, DOMAIN_ACCOUNT, Cloud

ENV = {"COLUMNS": "200", "NO_COLOR": "1", "TERM": "dumb"}
ROWS = [["faro", 120], ["lisbon", 450], ["porto", 4295]]  # typed: sum() is a bigint
STOCK = "stock per warehouse"  # the example's check, run by `consumer`
COUNT = "analytics count"
NO_GRANT = "has no granted subscription to 'inventory'"
REJECTION = "analytics must ask the data owner first"


def three_accounts(approval: dict[str, Any]) -> dict[str, Any]:
    """The example with a second consumer project in the base account."""
    document = example_document()
    document["accounts"]["analytics"] = {"account_id": BASE_ACCOUNT}
    document["projects"][0]["approval"] = approval
    document["projects"].append({"name": "analytics", "account": "analytics"})
    document["subscriptions"].append(
        {"project": "analytics", "tables": ["inventory"], "reason": "Demand forecasts."}
    )
    document["checks"].append(
        {
            "name": COUNT,
            "project": "analytics",
            "sql": "SELECT count(*) AS n FROM {inventory}",
            "expect_rows": [[5]],
        }
    )
    return document


class SetUp:
    """One set-up on disk (config + state) and the CLI on it."""

    def __init__(self, config: Path, state: Path) -> None:
        self.config = config
        self.state = state

    def cli(self, *args: str, config: Path | None = None) -> Result:
        command = ["-c", str(config or self.config), "--state", str(self.state), *args]
        return CliRunner().invoke(app, command, env=ENV)

    def json(self, *args: str, config: Path | None = None) -> tuple[int, Any]:
        result = self.cli("--output", "json", *args, config=config)
        try:
            return result.exit_code, json.loads(result.stdout)
        except json.JSONDecodeError:  # pragma: no cover - shows what went wrong
            pytest.fail(f"not JSON (exit {result.exit_code}):\n{result.output}")

    def up(self) -> dict[str, Any]:
        code, report = self.json("up")
        assert code == 0, report
        assert report["ok"] is True, report["failures"]
        return dict(report)

    def query(self, *checks: str) -> tuple[int, dict[str, dict[str, Any]]]:
        args = [arg for name in checks for arg in ("--check", name)]
        code, payload = self.json("query", *args)
        return code, {c["name"]: c for c in payload["checks"]}

    def workspace(self) -> Workspace:
        config = load_config(self.config)
        return Workspace(config, self.state, settings=Settings.load({**FAST, **config.settings}))


@pytest.fixture
def set_up(
    cloud: Cloud, fast_polling: None, write_config: Callable[[dict[str, Any]], Path], tmp_path: Path
) -> Callable[[dict[str, Any]], SetUp]:
    def make(document: dict[str, Any]) -> SetUp:
        return SetUp(write_config(document), tmp_path / "state.json")

    return make


# --- reading DataZone as the domain account ------------------------------------------------


class DataZone:
    def __init__(self, cloud: Cloud) -> None:
        self.client = cloud.client("datazone", DOMAIN_ACCOUNT)
        [domain] = self.client.list_domains()["items"]
        self.domain = domain["id"]
        projects = self.client.list_projects(domainIdentifier=self.domain)["items"]
        self.projects = {p["name"]: p["id"] for p in projects}

    def requests(self, project: str) -> list[dict[str, Any]]:
        return every_status(
            self.client,
            "list_subscription_requests",
            REQUEST_STATUSES,
            domainIdentifier=self.domain,
            owningProjectId=self.projects[project],
        )

    def subscriptions(self, project: str) -> list[dict[str, Any]]:
        return every_status(
            self.client,
            "list_subscriptions",
            SUBSCRIPTION_STATUSES,
            domainIdentifier=self.domain,
            owningProjectId=self.projects[project],
        )

    def grants(self) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = self.client.list_subscription_grants(
            domainIdentifier=self.domain
        )["items"]
        return items


def mutating(cloud: Cloud) -> list[str]:
    return [c["operation"] for c in cloud.calls() if c["mutating"]]


def steps(report: dict[str, Any], kind: str) -> dict[str, str]:
    """Messages of the subscription steps of one kind, by consumer project."""
    prefix = f"datazone:{kind}/"
    return {
        s["key"][len(prefix) :].split("/")[0]: s["message"]
        for s in report["steps"]
        if s["key"].startswith(prefix)
    }


# --- scenarios ---------------------------------------------------------------------------------


def test_two_consumer_accounts_subscribe_to_one_table(
    cloud: Cloud, set_up: Callable[[dict[str, Any]], SetUp]
) -> None:
    """auto: both consumers get the rows from their own accounts; a second `up` asks for
    nothing; access revoked out of band is an Athena denial; unsubscribe denies one."""
    setup = set_up(three_accounts({"mode": "auto"}))
    report = setup.up()
    assert steps(report, "approval") == {
        "consumer": "ACCEPTED (Approved by smus-mesh)",
        "analytics": "ACCEPTED (Approved by smus-mesh)",
    }
    assert steps(report, "subscription-grant") == {"consumer": "GRANTED", "analytics": "GRANTED"}

    datazone = DataZone(cloud)
    for project in ("consumer", "analytics"):
        [subscription] = datazone.subscriptions(project)
        assert subscription["status"] == "APPROVED"
    grants = datazone.grants()
    assert len(grants) == 2
    assert {g["status"] for g in grants} == {"COMPLETED"}
    assert {a["status"] for g in grants for a in g["assets"]} == {"GRANTED"}

    # Each consumer reads in its own account, at names DataZone chose (not hard-coded).
    collaboration = Collaboration(setup.workspace())
    for project, account in (("consumer", CONSUMER_ACCOUNT), ("analytics", BASE_ACCOUNT)):
        access = collaboration.access(project)
        assert access.account_id == account
        assert access.role_arn.startswith(f"arn:aws:iam::{account}:role/datazone_usr_role_")
        link = cloud.client("glue", account).get_table(
            DatabaseName=access.database, Name=access.tables["inventory"]
        )["Table"]
        assert link["TargetTable"]["CatalogId"] == DOMAIN_ACCOUNT  # a resource link
        workgroup = cloud.client("athena", account).get_work_group(WorkGroup=access.workgroup)
        assert workgroup["WorkGroup"]["Name"] == access.workgroup

    code, checks = setup.query()
    assert code == 0, checks
    assert (checks[STOCK]["ok"], checks[STOCK]["rows"]) == (True, ROWS)
    assert (checks[COUNT]["ok"], checks[COUNT]["rows"]) == (True, [[5]])

    # Re-running `up` after the subscription asks for nothing and changes nothing.
    cloud.admin("POST", "calls/reset")
    again = setup.up()
    assert again["calls"]["by_kind"]["mutating"] == 0
    assert mutating(cloud) == []
    assert steps(again, "subscription-grant") == {"consumer": "GRANTED", "analytics": "GRANTED"}

    # The producer's Lake Formation grant to the analytics account, revoked behind
    # DataZone's back: the grant still reads COMPLETED, but Athena denies the query.
    lakeformation = cloud.client("lakeformation", DOMAIN_ACCOUNT)
    to_analytics = [
        p
        for p in lakeformation.list_permissions()["PrincipalResourcePermissions"]
        if p["Principal"]["DataLakePrincipalIdentifier"] == BASE_ACCOUNT
        and "Table" in p["Resource"]
    ]
    assert to_analytics, "DataZone granted the consumer account nothing in Lake Formation"
    for permission in to_analytics:
        lakeformation.revoke_permissions(
            Principal=permission["Principal"],
            Resource=permission["Resource"],
            Permissions=permission["Permissions"],
            PermissionsWithGrantOption=permission.get("PermissionsWithGrantOption", []),
        )
    code, checks = setup.query(COUNT)
    assert code == 1
    assert checks[COUNT]["ok"] is False
    assert checks[COUNT]["message"].startswith("query FAILED: "), checks[COUNT]["message"]
    assert "Insufficient Lake Formation permission(s)" in checks[COUNT]["message"]
    assert checks[COUNT]["rows"] == []

    # unsubscribe: the consumer's subscription is cancelled and its query denied;
    # the other consumer keeps its subscription.
    result = setup.cli("unsubscribe", "--project", "consumer", "--table", "inventory")
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        "cancelled 1 subscription(s) of consumer to inventory\n"
        "recorded in the state file: `up` will not subscribe again\n"
    )
    assert [s["status"] for s in datazone.subscriptions("consumer")] == ["CANCELLED"]
    assert [s["status"] for s in datazone.subscriptions("analytics")] == ["APPROVED"]
    denied = setup.cli("query", "--check", STOCK)
    assert denied.exit_code == 1
    assert f"project consumer {NO_GRANT}" in denied.stderr
    assert "FAILED" in denied.stdout

    # A subscription that ended after teardown observed it (by hand, or by a parallel run)
    # is no error: its grants are awaited and deleted all the same.
    [cancelled] = datazone.subscriptions("consumer")
    seq = last_seq(cloud)
    collaboration = Collaboration(setup.workspace())
    request_key = collaboration._key("request:consumer:inventory")
    ctx = collaboration._require(request_key)
    resource = collaboration.workspace.graph.get(request_key)
    assert isinstance(resource, SubscriptionRequest)
    domain_id, listing_id, consumer_id = resource.ids(ctx)
    revoked = revoke_subscriptions(
        ctx, resource, domain_id, listing_id, consumer_id, approved=[cancelled["id"]]
    )
    assert revoked == 1
    [revoke] = [c for c in calls_since(cloud, seq) if c["operation"] == "RevokeSubscription"]
    assert (revoke["status"], revoke["error_code"]) == (409, "ConflictException")
    assert [g for g in datazone.grants() if g["subscriptionId"] == cancelled["id"]] == []
    assert [s["status"] for s in datazone.subscriptions("consumer")] == ["CANCELLED"]


def test_rules_accept_one_consumer_and_reject_the_other(
    cloud: Cloud, set_up: Callable[[dict[str, Any]], SetUp], write_config: Callable[..., Path]
) -> None:
    document = three_accounts(
        {
            "mode": "rules",
            "rules": [
                {"decision": "accept", "consumer_project": "consumer", "table": "inventory"},
                {"decision": "reject", "consumer_project": "analytics", "comment": REJECTION},
            ],
            "default": "leave",
        }
    )
    setup = set_up(document)
    up = setup.cli("up")
    assert up.exit_code == 0, up.output  # a rejection is an outcome, not a failure
    assert f"  datazone:approval/analytics/inventory: REJECTED ({REJECTION})\n" in up.stdout
    assert "  datazone:approval/consumer/inventory: ACCEPTED (Approved by smus-mesh)\n" in (
        up.stdout
    )
    assert (
        "  datazone:subscription-grant/analytics/inventory: no grant: the request was rejected\n"
        in up.stdout
    )

    datazone = DataZone(cloud)
    [rejected] = datazone.requests("analytics")
    assert (rejected["status"], rejected["decisionComment"]) == ("REJECTED", REJECTION)
    [accepted] = datazone.requests("consumer")
    assert (accepted["status"], accepted["decisionComment"]) == (
        "ACCEPTED",
        "Approved by smus-mesh",
    )
    assert datazone.subscriptions("analytics") == []
    assert [g["status"] for g in datazone.grants()] == ["COMPLETED"]

    code, checks = setup.query()
    assert code == 1
    assert (checks[STOCK]["ok"], checks[STOCK]["rows"]) == (True, ROWS)
    assert checks[COUNT]["ok"] is False
    assert checks[COUNT]["message"].startswith(f"project analytics {NO_GRANT}")

    # Re-running `up` neither asks again for the rejected table nor changes anything.
    cloud.admin("POST", "calls/reset")
    again = setup.up()
    assert mutating(cloud) == []
    assert steps(again, "approval")["analytics"] == f"REJECTED ({REJECTION})"
    assert len(datazone.requests("analytics")) == 1

    # Rows that differ from the check: exit 1 and the message says what differs.
    document["checks"][0]["expect_rows"][1] = ["lisbon", 451]
    document["checks"][1]["expect_rows"] = None
    document["checks"][1]["project"] = "consumer"
    document["checks"][1]["name"] = "row count"
    document["checks"][1]["expect_row_count"] = 4
    differing = write_config(document)
    result = setup.cli("query", config=differing)
    assert result.exit_code == 1
    assert "  row 2: expected ['lisbon', 451], got ['lisbon', '450']\n" in result.stderr
    assert "  expected 4 row(s), got 1\n" in result.stderr
    assert f"{STOCK} (consumer): FAILED" in result.stdout


def test_manual_approval_then_approve_and_reject(
    cloud: Cloud, set_up: Callable[[dict[str, Any]], SetUp]
) -> None:
    setup = set_up(three_accounts({"mode": "manual"}))
    report = setup.up()  # stops after the requests, and succeeds
    assert steps(report, "subscription-request") == {
        "consumer": "request PENDING",
        "analytics": "request PENDING",
    }
    assert steps(report, "approval") == {}
    datazone = DataZone(cloud)
    for project in ("consumer", "analytics"):
        assert [r["status"] for r in datazone.requests(project)] == ["PENDING"]
    assert datazone.grants() == []

    # Denied before acceptance.
    code, checks = setup.query()
    assert code == 1
    for name, project in ((STOCK, "consumer"), (COUNT, "analytics")):
        assert checks[name]["ok"] is False
        assert checks[name]["message"].startswith(f"project {project} {NO_GRANT}")

    # A second `up` while the requests wait makes no new request.
    cloud.admin("POST", "calls/reset")
    setup.up()
    assert mutating(cloud) == []

    # approve: accepts as the producer and waits until the grant is fulfilled.
    cloud.admin("POST", "calls/reset")
    approved = setup.cli("approve", "--project", "consumer")
    assert approved.exit_code == 0, approved.output
    [request] = datazone.requests("consumer")
    assert approved.stdout == f"accepted: consumer -> inventory ({request['id']})\n"
    assert (request["status"], request["decisionComment"]) == (
        "ACCEPTED",
        "Approved with smus-mesh",
    )
    operations = [c["operation"] for c in cloud.calls()]
    accepted_at = operations.index("AcceptSubscriptionRequest")
    assert "ListSubscriptionGrants" in operations[accepted_at:]  # it waited for the grant
    [grant] = datazone.grants()
    assert grant["status"] == "COMPLETED"
    assert [a["status"] for a in grant["assets"]] == ["GRANTED"]
    code, checks = setup.query(STOCK)
    assert code == 0
    assert checks[STOCK]["rows"] == ROWS

    # reject the other consumer with a comment: its query stays denied.
    rejected = setup.cli("reject", "--project", "analytics", "--comment", REJECTION)
    assert rejected.exit_code == 0, rejected.output
    [request] = datazone.requests("analytics")
    assert rejected.stdout == f"rejected: analytics -> inventory ({request['id']})\n"
    assert (request["status"], request["decisionComment"]) == ("REJECTED", REJECTION)
    code, checks = setup.query(COUNT)
    assert code == 1
    assert checks[COUNT]["message"].startswith(f"project analytics {NO_GRANT}")

    # Nothing is left to decide.
    nothing = setup.cli("approve")
    assert nothing.exit_code == 2
    assert nothing.stderr == "error: no pending subscription request matches\n"


def test_unsubscribe_from_a_table_not_subscribed_is_a_user_error(
    cloud: Cloud, set_up: Callable[[dict[str, Any]], SetUp]
) -> None:
    setup = set_up(example_document())
    result = setup.cli("unsubscribe", "--project", "producer", "--table", "inventory")
    assert result.exit_code == 2
    assert result.stderr == "error: the config has no subscription of 'producer' to 'inventory'\n"
    assert mutating(cloud) == []


def test_manual_approval_is_visible_and_unsubscribe_is_recorded(
    cloud: Cloud, set_up: Callable[[dict[str, Any]], SetUp], write_config: Callable[..., Path]
) -> None:
    """approval: manual end to end (issue 12.5): `up` says what waits, `requests` lists it,
    `outputs` shows the ids, `unsubscribe` is recorded (twice is a no-op) and the next `up`
    does not ask again until the config says `state: subscribed`; `state: unsubscribed`
    cancels."""
    document = example_document()
    document["projects"][0]["approval"] = {"mode": "manual"}
    setup = set_up(document)
    up = setup.cli("up")
    assert up.exit_code == 0, up.output
    datazone = DataZone(cloud)
    [request] = datazone.requests("consumer")
    assert request["status"] == "PENDING"
    assert up.stderr.endswith(
        f"1 subscription request(s) wait for the producer: consumer -> inventory "
        f"({request['id']}); see them with `smus-mesh requests`, decide with "
        "`smus-mesh approve` or `smus-mesh reject`\n"
    ), up.stderr
    code, listed = setup.json("requests")
    assert code == 0
    assert listed["requests"] == [
        {
            "project": "consumer",
            "table": "inventory",
            "producer": "producer",
            "state": "subscribed",
            "request_id": request["id"],
            "status": "PENDING",
            "reason": request["requestReason"],
            "decision_comment": "",
            "updated_at": listed["requests"][0]["updated_at"],
        }
    ]
    code, report = setup.json("up")  # again: still waiting, said again, nothing asked
    assert code == 0
    assert report["awaiting_approval"] == [
        {"project": "consumer", "table": "inventory", "request_id": request["id"]}
    ]
    assert approved_ok(setup)

    code, outputs = setup.json("outputs")
    assert code == 0
    [domain] = datazone.client.list_domains()["items"]
    described = datazone.client.get_domain(identifier=domain["id"])
    assert outputs["domain"] == {
        "name": "smus-mesh-demo",
        "id": domain["id"],
        "arn": described["arn"],
        "portal_url": described["portalUrl"],
        "account_id": DOMAIN_ACCOUNT,
        "joined": False,  # smus-mesh created it (ADR 26)
    }
    assert outputs["setup_id"] == described["tags"]["smus-mesh:setup-id"]
    # Each project made by smus-mesh (not joined), from the set-up's own profile.
    profiles = {
        p["id"]: p["name"]
        for p in datazone.client.list_project_profiles(domainIdentifier=domain["id"])["items"]
    }
    made_from = {
        name: outputs["projects"][name].pop("profile") for name in ("producer", "consumer")
    }
    for profile in made_from.values():
        assert profile == {"id": profile["id"], "name": profiles[profile["id"]], "joined": False}
    assert made_from["producer"]["id"] != made_from["consumer"]["id"]  # one per account
    assert outputs["projects"] == {
        "producer": {
            "id": datazone.projects["producer"],
            "account": "producer",
            "account_id": DOMAIN_ACCOUNT,
            "joined": False,
        },
        "consumer": {
            "id": datazone.projects["consumer"],
            "account": "consumer",
            "account_id": CONSUMER_ACCOUNT,
            "joined": False,
        },
    }
    [subscription] = datazone.subscriptions("consumer")
    assert outputs["subscriptions"] == [
        {
            "project": "consumer",
            "table": "inventory",
            "state": "subscribed",
            "request_status": "APPROVED",
            "request_id": request["id"],
            "subscription_id": subscription["id"],
        }
    ]
    assert all(arn.startswith("arn:aws:iam::") for arn in outputs["roles"].values())

    # unsubscribe: cancelled and recorded; twice is a no-op; `up` does not ask again.
    first = setup.cli("unsubscribe", "--project", "consumer", "--table", "inventory")
    assert first.exit_code == 0, first.output
    assert first.stdout == (
        "cancelled 1 subscription(s) of consumer to inventory\n"
        "recorded in the state file: `up` will not subscribe again\n"
    )
    assert [s["status"] for s in datazone.subscriptions("consumer")] == ["CANCELLED"]
    cloud.admin("POST", "calls/reset")
    second = setup.cli("unsubscribe", "--project", "consumer", "--table", "inventory")
    assert second.exit_code == 0, second.output
    assert second.stdout == (
        "consumer is not subscribed to inventory: nothing to cancel\n"
        "recorded in the state file: `up` will not subscribe again\n"
    )
    assert mutating(cloud) == []
    code, report = setup.json("up")
    assert code == 0
    assert report["awaiting_approval"] == []
    assert mutating(cloud) == []
    assert setup.cli("plan", "--expect-no-changes").exit_code == 0
    code, listed = setup.json("requests")
    assert [(r["state"], r["status"]) for r in listed["requests"]] == [("unsubscribed", "ACCEPTED")]
    code, outputs = setup.json("outputs")
    assert [(s["state"], s["request_status"]) for s in outputs["subscriptions"]] == [
        ("unsubscribed", "UNSUBSCRIBED")
    ]

    # `state: subscribed` in the config undoes it: a new request, waiting again; and
    # `unsubscribe` against that config is refused.
    document["subscriptions"][0]["state"] = "subscribed"
    write_config(document)
    refused = setup.cli("unsubscribe", "--project", "consumer", "--table", "inventory")
    assert refused.exit_code == 2
    assert refused.stderr.startswith(
        "error: the config says `state: subscribed` for 'consumer' -> 'inventory', so the next "
    ), refused.stderr
    code, report = setup.json("up")
    assert code == 0
    [again] = [r for r in datazone.requests("consumer") if r["status"] == "PENDING"]
    assert report["awaiting_approval"] == [
        {"project": "consumer", "table": "inventory", "request_id": again["id"]}
    ]
    assert approved_ok(setup)

    # `state: unsubscribed` in the config: `up` cancels, then has nothing to do.
    document["subscriptions"][0]["state"] = "unsubscribed"
    write_config(document)
    setup.up()
    assert sorted(s["status"] for s in datazone.subscriptions("consumer")) == [
        "CANCELLED",
        "CANCELLED",
    ]
    assert setup.cli("plan", "--expect-no-changes").exit_code == 0
    code, checks = setup.query(STOCK)
    assert code == 1
    assert checks[STOCK]["message"].startswith(f"project consumer {NO_GRANT}")


def approved_ok(setup: SetUp) -> bool:
    """`approve` the consumer's request, then its query returns the rows."""
    approved = setup.cli("approve", "--project", "consumer")
    assert approved.exit_code == 0, approved.output
    code, checks = setup.query(STOCK)
    assert code == 0, checks
    return bool(checks[STOCK]["rows"] == ROWS)
