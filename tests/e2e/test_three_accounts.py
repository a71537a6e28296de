"""More than two accounts, end to end: examples/three-accounts.yaml (the domain and the
producer in one account, a consumer in each of two more) through the CLI as a user runs it,
on an emulated organization of three member accounts: up, query, audit, down, audit, with
nothing left in any account."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from smus_mesh.cli import app
from tests.support import BASE_ACCOUNT, CONSUMER_ACCOUNT, DOMAIN_ACCOUNT, THIRD_ACCOUNT, Cloud

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "three-accounts.yaml"
ENV = {"COLUMNS": "200", "NO_COLOR": "1", "TERM": "dumb"}


def run(*args: str | Path) -> Result:
    return CliRunner().invoke(app, [str(a) for a in args], env=ENV)


@pytest.fixture
def three_accounts(cloud: Cloud) -> Cloud:
    cloud.reset(accounts=3)
    return cloud


def test_three_accounts_up_query_down_audit_leave_every_account_as_it_was(
    three_accounts: Cloud, fast_polling: None, tmp_path: Path
) -> None:
    cloud = three_accounts
    assert cloud.accounts() == [BASE_ACCOUNT, DOMAIN_ACCOUNT, CONSUMER_ACCOUNT, THIRD_ACCOUNT]
    before = cloud.inventory()
    common = ("-c", EXAMPLE, "--state", tmp_path / "state.json", "--output", "json")

    up = run(*common, "up")
    assert up.exit_code == 0, up.output
    assert json.loads(up.stdout)["ok"] is True

    # Each consumer account has its project's environments, and the domain is shared with
    # both consumer accounts (one share each).
    stacks = {
        account: sorted(
            s["StackName"]
            for s in cloud.client("cloudformation", account).describe_stacks()["Stacks"]
            if s["StackName"].startswith("DataZone-Env-")
        )
        for account in (DOMAIN_ACCOUNT, CONSUMER_ACCOUNT, THIRD_ACCOUNT)
    }
    assert {account: len(names) for account, names in stacks.items()} == {
        DOMAIN_ACCOUNT: 2,
        CONSUMER_ACCOUNT: 2,
        THIRD_ACCOUNT: 2,
    }
    ram = cloud.client("ram", DOMAIN_ACCOUNT)
    shared_with = Counter(
        a["associatedEntity"]
        for a in ram.get_resource_share_associations(associationType="PRINCIPAL")[
            "resourceShareAssociations"
        ]
        if a["status"] == "ASSOCIATED"
    )
    assert shared_with == Counter({CONSUMER_ACCOUNT: 1, THIRD_ACCOUNT: 1})

    query = run(*common, "query")
    assert query.exit_code == 0, query.output
    checks = {c["name"]: c for c in json.loads(query.stdout)["checks"]}
    assert (checks["stock per warehouse"]["project"], checks["stock per warehouse"]["rows"]) == (
        "operations",
        [["faro", 120], ["lisbon", 450], ["porto", 4295]],
    )
    assert (checks["stock value"]["project"], checks["stock value"]["ok"]) == ("finance", True)
    assert checks["stock value"]["rows"] == [
        ["faro", 264.0],
        ["lisbon", 3272.0],
        ["porto", 1925.5],
    ]
    assert checks["stock value"]["columns"][1]["type"] == "double"

    audit = run(*common, "audit", "--no-expect-empty")
    assert audit.exit_code == 0, audit.output
    found = json.loads(audit.stdout)
    assert set(found["accounts"]) == {"producer", "operations", "finance"}
    # each account holds something of the set-up (its project's role, stacks, grants, ...)
    for alias, classes in found["accounts"].items():
        assert sum(len(v) for v in classes.values() if isinstance(v, list)) > 0, alias

    down = run(*common, "down", "--yes")
    assert down.exit_code == 0, down.output
    assert json.loads(down.stdout)["audit"]["leftovers"] == 0

    empty = run(*common, "audit")
    assert empty.exit_code == 0, empty.output
    assert json.loads(empty.stdout)["leftovers"] == 0
    assert cloud.inventory() == before
