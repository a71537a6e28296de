"""IAM: AWS managed policies exist, as in every real account, without loading all of them.

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
