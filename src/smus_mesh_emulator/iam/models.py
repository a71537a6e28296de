"""AWS managed policies materialised on first reference, and trust policy updates that accept
the session actions AWS accepts."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from moto.iam.models import AWSManagedPolicy, iam_backends

_AWS_POLICY_PREFIX = "arn:aws:iam::aws:policy/"


@cache
def _catalogue() -> dict[str, Any]:
    from moto.iam.aws_managed_policies import aws_managed_policies_data

    data: dict[str, Any] = json.loads(aws_managed_policies_data)
    return data


def ensure_aws_managed_policy(account_id: str, policy_arn: str | None) -> None:
    """Add the AWS managed policy `policy_arn` to the account if AWS has it."""
    if not policy_arn or not policy_arn.startswith(_AWS_POLICY_PREFIX):
        return
    backend = iam_backends[account_id]["global"]
    if policy_arn in backend.managed_policies:
        return
    name = policy_arn.rsplit("/", 1)[-1]
    data = _catalogue().get(name)
    if data is None:
        return
    policy = AWSManagedPolicy.from_data(name, account_id, "us-east-1", data)
    if policy.arn == policy_arn:  # the path must match too (service-role/ vs /)
        backend.managed_policies[policy.arn] = policy


#: Actions a trust policy may grant besides moto's list: AWS documents session tags and
#: trusted context for service roles (DataZone's domain execution role uses both), and
#: moto already accepts them at CreateRole.
TRUST_SESSION_ACTIONS = frozenset({"sts:TagSession", "sts:SetContext"})


def _without_session_actions(document: str) -> str:
    """The same trust policy minus the session actions, for moto's validator only."""
    try:
        policy = json.loads(document)
    except json.JSONDecodeError:
        return document
    statements = policy.get("Statement", [])
    for statement in statements if isinstance(statements, list) else [statements]:
        actions = statement.get("Action")
        if isinstance(actions, list):
            kept = [a for a in actions if a not in TRUST_SESSION_ACTIONS]
            statement["Action"] = kept or ["sts:AssumeRole"]
        elif actions in TRUST_SESSION_ACTIONS:
            statement["Action"] = "sts:AssumeRole"
    return json.dumps(policy)


def update_assume_role_policy(account_id: str, role_name: str, document: str) -> None:
    from moto.iam.policy_validation import IAMTrustPolicyDocumentValidator

    backend = iam_backends[account_id]["global"]
    role = backend.get_role(role_name)
    IAMTrustPolicyDocumentValidator(_without_session_actions(document)).validate()
    role.assume_role_policy_document = document
