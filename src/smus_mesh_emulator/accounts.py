"""Accounts as in real life: a management account, N member accounts, and STS that checks roles.

moto picks the account of a request from its access key: keys returned by
`sts:AssumeRole` belong to the role's account, anything else is the base
account (moto's default, 123456789012). So:

* the base account is the management account of the emulated AWS Organization,
  the account any credentials start in;
* the member accounts (`--accounts N`, default 2: 111111111111 holds the domain and
  the producer, 222222222222 the consumer; then 333333333333, ...) are members of
  its organization with `OrganizationAccountAccessRole`, trusting the management
  account, as AWS Organizations creates it (`organizations/`);
* `AssumeRole` into a role that does not exist, or whose trust policy does not
  name the caller, is AccessDenied (moto lets any AssumeRole succeed): see `sts/`.
"""

from __future__ import annotations

import re

from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.iam.models import iam_backends

BASE_ACCOUNT = DEFAULT_ACCOUNT_ID
DOMAIN_ACCOUNT = "111111111111"
CONSUMER_ACCOUNT = "222222222222"
ORG_ROLE_NAME = "OrganizationAccountAccessRole"

#: Member accounts at each reset unless `--accounts` or the reset says otherwise.
DEFAULT_MEMBER_COUNT = 2
#: Most member accounts a reset makes (AWS's default quota is 10 accounts an organization;
#: each emulated account costs memory and, with prewarm, start-up time).
MAX_MEMBER_COUNT = 100

#: Resources a fresh account has, which the inventory must not report.
DEFAULT_ROLE_NAMES = frozenset({ORG_ROLE_NAME})


def org_role_arn(account_id: str) -> str:
    return f"arn:aws:iam::{account_id}:role/{ORG_ROLE_NAME}"


def member_account_id(index: int) -> str:
    """The id of the `index`-th member account (from 1): 111111111111 to 999999999999,
    then 100000000010, 100000000011, ...

    Examples:
        >>> [member_account_id(i) for i in (1, 3, 10)]
        ['111111111111', '333333333333', '100000000010']
    """
    if index < 1:
        raise ValueError(f"member account indices start at 1, not {index}")
    return str(index) * 12 if index <= 9 else f"{100_000_000_000 + index:012d}"


def member_account_ids(count: int) -> list[str]:
    return [member_account_id(i) for i in range(1, count + 1)]


def check_member_count(value: object) -> int:
    """`value` as a member account count: an integer in [0, MAX_MEMBER_COUNT]."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"accounts must be an integer, not {type(value).__name__}")
    if not 0 <= value <= MAX_MEMBER_COUNT:
        raise ValueError(f"accounts must be between 0 and {MAX_MEMBER_COUNT}, not {value}")
    return value


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
