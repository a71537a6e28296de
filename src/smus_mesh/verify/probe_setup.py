"""The set-up `verify-aws` builds: its own, derived from the user's config.

verify-aws does not run the user's set-up: it needs a known shape (a producer and
two consumer projects of one consumer account subscribed to one small table, for
ADR 5 point 8) and must not touch what the user built. It takes from the user's
config only how to reach the accounts (credentials, VPC), the region, the domain's
kind (IAM or IAM Identity Center, existing roles) and the settings, and names
everything `verify-<name>` so that `down` and `audit` find exactly what it made.
"""

from __future__ import annotations

from typing import Any

from smus_mesh.config import Config, parse_config
from smus_mesh.errors import UserError

TABLE = "probe"
PRODUCER = "verify-producer"
CONSUMERS = ("verify-consumer-a", "verify-consumer-b")
ROWS = [[1, "alpha"], [2, "beta"], [3, "gamma"]]


def verify_name(name: str) -> str:
    """`verify-<name>`, within a set-up name's 24 characters."""
    return f"verify-{name}"[:24].rstrip("-")


def consumer_account(config: Config) -> str:
    """The alias of the account the consumers go to: the first project account that is
    not the domain's, else any other account of the config."""
    domain = config.domain.account
    for alias in [p.account for p in config.projects] + list(config.accounts):
        if alias != domain:
            return alias
    raise UserError(
        "verify-aws needs two accounts (the domain's and a consumer's); the config has "
        f"only {domain!r}: add the consumer account under `accounts` and give a project to it"
    )


def verification_config(config: Config) -> Config:
    """The verification set-up of the accounts of `config`."""
    name = verify_name(config.name)
    producer, consumer = config.domain.account, consumer_account(config)
    producer_id = config.account_id(producer)
    bucket = f"smus-mesh-{name}-{producer_id}"
    # Field by field: only what makes a new domain of the same kind (never a reference to
    # an existing domain: verify-aws always creates, and deletes, its own).
    source = config.domain
    domain: dict[str, Any] = {
        "name": f"smus-mesh-{name}",
        "account": producer,
        "description": "smus-mesh verify-aws (temporary)",
        "auth": source.auth,
        "roles": source.roles.model_dump(exclude_none=True),
    }
    if source.auth == "iam_identity_center":
        domain["identity_center_instance_arn"] = source.identity_center_instance_arn
        domain["user_assignment"] = source.user_assignment
    document: dict[str, Any] = {
        "version": 1,
        "name": name,
        "region": config.region,
        "accounts": {
            alias: config.accounts[alias].model_dump(exclude_none=True, exclude_defaults=True)
            | {"account_id": config.account_id(alias)}
            for alias in (producer, consumer)
        },
        "domain": domain,
        "tables": [
            {
                "name": TABLE,
                "account": producer,
                "database": name.replace("-", "_"),
                "table": TABLE,
                "location": f"s3://{bucket}/{TABLE}/",
                "format": "csv",
                "columns": [{"name": "id", "type": "int"}, {"name": "label", "type": "string"}],
                "rows": ROWS,
            }
        ],
        "projects": [
            {
                "name": PRODUCER,
                "account": producer,
                "imports": [TABLE],
                "approval": {"mode": "auto"},
            },
            *({"name": c, "account": consumer} for c in CONSUMERS),
        ],
        "subscriptions": [
            {"project": c, "tables": [TABLE], "reason": "smus-mesh verify-aws"} for c in CONSUMERS
        ],
        "checks": [
            {
                "name": f"{c} reads {TABLE}",
                "project": c,
                "sql": "SELECT id, label FROM {" + TABLE + "} ORDER BY id",  # noqa: S608
                "expect_rows": ROWS,
            }
            for c in CONSUMERS
        ],
        "settings": dict(config.settings),
    }
    return parse_config(document, f"the verification set-up of {config.name!r}")


#: What verify-aws calls beyond `up`, `query` and `down` (its observations and probes).
PROBE_ACTIONS = {
    "domain": (
        "athena:StartQueryExecution",
        "athena:GetQueryExecution",
        "athena:GetQueryResults",
        "glue:CreateDatabase",
        "glue:CreateTable",
        "glue:GetTable",
        # The probes' own database, which the narrowed `Glue` statement does not name.
        "glue:GetDatabase",
        "glue:DeleteDatabase",
        "lakeformation:GetDataAccess",
        "lakeformation:ListPermissions",
        "lakeformation:GetDataLakeSettings",
        "ram:ListResources",
        "s3:GetObject",
        "s3:ListBucket",
        "cloudformation:DescribeStacks",
        "datazone:ListProjects",
        "datazone:ListEnvironments",
        "datazone:GetEnvironment",
        "datazone:ListDataSources",
        "datazone:GetDataSource",
        "datazone:ListDataSourceRuns",
        "datazone:ListSubscriptions",
        "datazone:ListSubscriptionGrants",
        "datazone:AcceptSubscriptionRequest",
        "datazone:DeleteDomain",
    ),
    "other": (
        # Its leftover check reads every account's domains (`permissions` gives an
        # associated account no GetDomain: up, query, down and audit never call it there).
        "datazone:ListDomains",
        "datazone:GetDomain",
        "glue:GetTable",
        "lakeformation:ListPermissions",
        "lakeformation:GetDataLakeSettings",
        "cloudformation:DescribeStacks",
        "iam:GetRole",
    ),
}


def verify_policy(verification: Config, alias: str) -> dict[str, Any]:
    """The policy verify-aws needs in account `alias`: `permissions`' policy of the
    verification set-up, plus one statement for the probes' calls."""
    from smus_mesh.permissions import operator_policy

    policy = operator_policy(verification, alias)
    which = "domain" if alias == verification.domain.account else "other"
    policy["Statement"].append(
        {
            "Sid": "VerifyAwsProbes",
            "Effect": "Allow",
            "Action": sorted(PROBE_ACTIONS[which]),
            # Reads and the probes' own database; Athena's primary workgroup.
            "Resource": "*",
        }
    )
    return policy
