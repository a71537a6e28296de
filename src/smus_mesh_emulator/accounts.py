"""Accounts as in real life: a base account, two member accounts, and STS that checks roles.

moto picks the account of a request from its access key: keys returned by
`sts:AssumeRole` belong to the role's account, anything else is the base
account (moto's default, 123456789012). So:

* the base account is the "management" account any credentials start in;
* accounts 111111111111 (domain + producer) and 222222222222 (consumer) exist
  at start with `OrganizationAccountAccessRole`, trusting the base account, as
  AWS Organizations creates it in member accounts;
* `AssumeRole` into a role that does not exist, or whose trust policy does not
  name the caller, is AccessDenied (moto lets any AssumeRole succeed): see `sts/`.
"""

from __future__ import annotations

import json
import re

from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.iam.models import iam_backends

BASE_ACCOUNT = DEFAULT_ACCOUNT_ID
DOMAIN_ACCOUNT = "111111111111"
CONSUMER_ACCOUNT = "222222222222"
MEMBER_ACCOUNTS = (DOMAIN_ACCOUNT, CONSUMER_ACCOUNT)
ORG_ROLE_NAME = "OrganizationAccountAccessRole"
ADMIN_POLICY_ARN = "arn:aws:iam::aws:policy/AdministratorAccess"

#: Resources a fresh account has, which the inventory must not report.
DEFAULT_ROLE_NAMES = frozenset({ORG_ROLE_NAME})


def org_role_arn(account_id: str) -> str:
    return f"arn:aws:iam::{account_id}:role/{ORG_ROLE_NAME}"


def _org_trust_policy() -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:aws:iam::{BASE_ACCOUNT}:root"},
                    "Action": "sts:AssumeRole",
                }
            ],
        }
    )


def bootstrap() -> None:
    """Create the member accounts' OrganizationAccountAccessRole (idempotent)."""
    for account_id in MEMBER_ACCOUNTS:
        iam = iam_backends[account_id]["global"]
        if any(role.name == ORG_ROLE_NAME for role in iam.roles.values()):
            continue
        iam.create_role(
            role_name=ORG_ROLE_NAME,
            assume_role_policy_document=_org_trust_policy(),
            path="/",
            permissions_boundary=None,
            description="Created by AWS Organizations for the management account",
            tags=[],
            max_session_duration="3600",
        )
        from smus_mesh_emulator.iam.models import ensure_aws_managed_policy

        ensure_aws_managed_policy(account_id, ADMIN_POLICY_ARN)
        iam.attach_role_policy(ADMIN_POLICY_ARN, ORG_ROLE_NAME)


def known_accounts() -> list[str]:
    return [BASE_ACCOUNT, *MEMBER_ACCOUNTS]


# --- STS -------------------------------------------------------------------------

_ASSUMED_ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:sts::(\d{12}):assumed-role/([\w+=,.@-]+)/.+$")


def caller_arn(account_id: str, access_key: str) -> str:
    """The IAM ARN of a caller: its role ARN for assumed-role keys, else the account root."""
    from moto.sts.models import sts_backends

    for backend in sts_backends[account_id].values():
        assumed = backend.get_assumed_role_from_access_key(access_key)
        if assumed is not None:
            return str(assumed.arn)
    return f"arn:aws:iam::{account_id}:root"


def principal_of(arn: str) -> str:
    """Normalise an assumed-role session ARN to the role ARN it came from."""
    match = _ASSUMED_ROLE_ARN.match(arn)
    if not match:
        return arn
    account_id, role_name = match.groups()
    iam = iam_backends[account_id]["global"]
    for role in iam.roles.values():
        if role.name == role_name:
            return str(role.arn)
    return f"arn:aws:iam::{account_id}:role/{role_name}"
