"""smus-mesh runs on exactly the policy `smus-mesh permissions` prints (issue 13, item 3).

In each account an operator role whose only policy is `permissions --account A` for the
example; the config assumes those roles instead of OrganizationAccountAccessRole, and
up, query, down and audit run under strict IAM. Without one statement, `up` stops on an
AccessDenied that names the action (or, for a statement only the leftover sweep needs,
`down` or `audit` does). A sample of statements runs by default; every one with
SMUS_MESH_IAM_EVERY_STATEMENT=1 (about ten seconds each).
"""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner, Result

from smus_mesh.cli import app
from smus_mesh.resources.naming import SETUP_TAG
from tests.e2e.conftest import example_document
from tests.support import BASE_ACCOUNT, CONSUMER_ACCOUNT, DOMAIN_ACCOUNT, Cloud, management_trust

ENV = {"COLUMNS": "200", "NO_COLOR": "1", "TERM": "dumb"}
OPERATOR = "SmusMeshOperator"

#: Statements removed one at a time by default (Sid per account alias); the rest with
#: SMUS_MESH_IAM_EVERY_STATEMENT=1.
SAMPLE = {
    ("producer", "Datazone"),
    ("producer", "S3"),
    ("producer", "Glue"),
    ("producer", "PassOnlyToDataZoneAndLakeFormation"),
    ("consumer", "Glue"),
    ("consumer", "Athena"),
    ("producer", "Codecommit"),
    ("consumer", "Cloudformation"),
    ("consumer", "PassOnlyToDataZoneAndLakeFormation"),
    # The list calls the reference gives no resource type ("*"): each proven needed.
    ("consumer", "AthenaList"),
    ("producer", "CodecommitList"),
    ("consumer", "CloudformationList"),
    # DataZone's and RAM's statements on a domain, a share, an invitation.
    ("producer", "DatazoneDomain"),
    ("producer", "RamShare"),
    ("consumer", "RamInvitation"),
}


#: Statements only the leftover sweep of `down` and `audit` needs: a run that leaves
#: nothing behind never calls them, so the tests first plant what a failed stack deletion
#: leaves (research/workflow.md, teardown pitfalls), tagged with the set-up, and a RAM share
#: (in an associated account, only a leftover share is ever deleted: `RamShare` there).
SWEEP_ONLY = {"Athena", "Codecommit", "Cloudformation", "RamShare"}


def plant_leftovers(cloud: Cloud, account: str) -> None:
    """An Athena workgroup, a CodeCommit repository and a `DataZone-Env-*` stack tagged
    with the example's set-up, as DataZone's failed deletions leave them; and a RAM share
    tagged with it, as an interrupted `down` of a set-up whose domain was in this account
    leaves it (the sweep looks for shares in every account)."""
    tags = {SETUP_TAG: "demo"}
    cloud.client("ram", account).create_resource_share(
        name="DataZone-leftover", tags=[{"key": k, "value": v} for k, v in tags.items()]
    )
    cloud.client("athena", account).create_work_group(
        Name="leftover", Tags=[{"Key": k, "Value": v} for k, v in tags.items()]
    )
    cloud.client("codecommit", account).create_repository(repositoryName="leftover", tags=tags)
    template = {"Resources": {"Handle": {"Type": "AWS::CloudFormation::WaitConditionHandle"}}}
    cloud.client("cloudformation", account).create_stack(
        StackName="DataZone-Env-leftover",
        TemplateBody=json.dumps(template),
        Tags=[{"Key": k, "Value": v} for k, v in tags.items()],
    )


def run(*args: str | Path) -> Result:
    return CliRunner().invoke(app, [str(a) for a in args], env=ENV)


def printed_policies(config: Path, aliases: list[str]) -> dict[str, dict[str, Any]]:
    policies = {}
    for alias in aliases:
        printed = run("-c", config, "permissions", "--account", alias)
        assert printed.exit_code == 0, printed.output
        policies[alias] = json.loads(printed.stdout)
    return policies


def operator_config(tmp_path: Path) -> Path:
    """The example config, its accounts reached through SmusMeshOperator."""
    document = example_document()
    for account in document["accounts"].values():
        account["role_arn"] = f"arn:aws:iam::{account['account_id']}:role/{OPERATOR}"
    config = tmp_path / "smus-mesh.yaml"
    config.write_text(yaml.safe_dump(document, sort_keys=False))
    return config


def with_operator_roles(cloud: Cloud, config: Path, policies: dict[str, dict[str, Any]]) -> None:
    """SmusMeshOperator in each account: `policies[alias]` its only policy, trusting the
    management account only."""
    trust = management_trust()
    for alias, account in yaml.safe_load(config.read_text())["accounts"].items():
        iam = cloud.client("iam", account["account_id"])
        iam.create_role(RoleName=OPERATOR, AssumeRolePolicyDocument=json.dumps(trust))
        iam.put_role_policy(
            RoleName=OPERATOR,
            PolicyName="smus-mesh-permissions",
            PolicyDocument=json.dumps(policies[alias]),
        )


def test_up_query_down_audit_run_on_the_printed_policy(
    enforced_iam: Cloud, fast_polling: None, tmp_path: Path
) -> None:
    cloud = enforced_iam
    config = operator_config(tmp_path)
    printed = printed_policies(config, ["producer", "consumer"])
    with_operator_roles(cloud, config, printed)
    for policy in printed.values():
        for statement in policy["Statement"]:
            assert statement["Action"] != "*" and "*" not in statement["Action"], statement
    for account in (DOMAIN_ACCOUNT, CONSUMER_ACCOUNT):
        plant_leftovers(cloud, account)  # the sweep's statements are proven enough too
    cloud.admin("POST", "calls/reset")
    common = ("-c", config, "--output", "json")
    up = run(*common, "up", "--auto-approve")
    assert up.exit_code == 0, up.output
    query = run(*common, "query")
    assert query.exit_code == 0, query.output
    assert all(c["ok"] and c["rows"] for c in json.loads(query.stdout)["checks"])
    down = run(*common, "down", "--yes")
    assert down.exit_code == 0, down.output
    audit = run(*common, "audit")
    assert audit.exit_code == 0, audit.output
    assert json.loads(audit.stdout)["leftovers"] == 0

    calls = cloud.calls()
    denied = [(c["account"], c["service"], c["operation"]) for c in calls if c["iam"] == "denied"]
    assert denied == [], (denied, up.output, down.output)
    by_service = Counter(c["service"] for c in calls if c["iam"] == "policy")
    # Everything in the member accounts went through policy evaluation, not a root bypass.
    assert {c["iam"] for c in calls if c["account"] != BASE_ACCOUNT} == {"policy"}
    assert by_service["datazone"] > 0 and by_service["s3"] > 0 and by_service["glue"] > 0
    print("authorised by policy evaluation, by service:", dict(sorted(by_service.items())))


def _statements() -> list[tuple[str, str]]:
    every = os.environ.get("SMUS_MESH_IAM_EVERY_STATEMENT") == "1"
    from smus_mesh.config import parse_config
    from smus_mesh.permissions import operator_policy

    config = parse_config(example_document(), "example")
    found = [
        (alias, statement["Sid"])
        for alias in config.used_accounts()
        for statement in operator_policy(config, alias)["Statement"]
    ]
    return [s for s in found if every or s in SAMPLE]


@pytest.mark.parametrize(("alias", "sid"), _statements())
def test_without_a_statement_the_run_fails_naming_its_action(
    alias: str, sid: str, enforced_iam: Cloud, fast_polling: None, tmp_path: Path
) -> None:
    cloud = enforced_iam
    config = operator_config(tmp_path)
    policies = printed_policies(config, ["producer", "consumer"])
    removed = next(s for s in policies[alias]["Statement"] if s["Sid"] == sid)
    policies[alias]["Statement"].remove(removed)
    with_operator_roles(cloud, config, policies)
    if sid in SWEEP_ONLY:
        plant_leftovers(cloud, yaml.safe_load(config.read_text())["accounts"][alias]["account_id"])
    actions = removed["Action"] if isinstance(removed["Action"], list) else [removed["Action"]]
    common = ("-c", config, "--output", "json")
    # Some statements serve only `down` and `audit` (their sweep of leftovers): the first
    # command that needs the statement must stop, naming one of its actions.
    for command in (("up", "--auto-approve"), ("query",), ("down", "--yes"), ("audit",)):
        result = run(*common, *command)
        if result.exit_code != 0:
            break
    else:
        # A statement the tool can do without (it falls back, e.g. to the path-less ARN of
        # its own role): its action was asked for and refused, and the run went on.
        refused = {
            f"{c['service']}:{c['operation']}" for c in cloud.calls() if c["iam"] == "denied"
        }
        assert refused & set(actions), f"{alias}'s {sid} is needed by none of the commands"
        return
    # An AccessDenied is not retried: each denied action was asked for a few times at most,
    # not hundreds of times (a retried iam:PassRole once was, 381 times).
    denied = Counter((c["service"], c["operation"]) for c in cloud.calls() if c["iam"] == "denied")
    assert denied and max(denied.values()) <= 5, denied
    if any(
        c["service"] == "s3" and c["operation"].startswith("Head")
        for c in cloud.calls()
        if c["iam"] == "denied"
    ):
        # A 403 to HeadBucket/HeadObject has no body: AWS names no action, and smus-mesh
        # says which permission to check.
        assert "403" in result.output and "s3:" in result.output, result.output
        return
    assert "AccessDenied" in result.output, result.output
    named = [a for a in actions if f"perform: {a} " in result.output]
    assert named, result.output
