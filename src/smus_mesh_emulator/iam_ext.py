"""IAM: AWS managed policies exist, as in every real account, without loading all of them;
and UpdateAssumeRolePolicy accepts the session actions AWS accepts in trust policies.

moto can preload its 1,582 AWS managed policies into every IAM backend, but it
creates one IAM backend per partition for each account it looks up (on every
request), which made each reset cost seconds. Instead, an AWS managed policy is
materialised in an account the first time it is referenced by ARN (attach,
get, get version); an ARN that AWS does not have still fails with NoSuchEntity.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from moto.iam.models import AWSManagedPolicy, iam_backends
from moto.iam.responses import IamResponse

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


class ManagedPolicyIamResponse(IamResponse):
    """moto's IAM, resolving AWS managed policy ARNs on first reference."""

    def call_action(self) -> Any:
        ensure_aws_managed_policy(self.current_account, self._get_param("PolicyArn"))
        return super().call_action()

    def update_assume_role_policy(self) -> Any:
        from moto.core.responses import EmptyResult

        update_assume_role_policy(
            self.current_account, self._get_param("RoleName"), self._get_param("PolicyDocument")
        )
        return EmptyResult()


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
