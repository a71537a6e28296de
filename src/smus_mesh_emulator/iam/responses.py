"""The IAM API: moto's, resolving AWS managed policy ARNs on first reference."""

from __future__ import annotations

from typing import Any

from moto.iam.responses import IamResponse

from smus_mesh_emulator.iam.models import ensure_aws_managed_policy, update_assume_role_policy


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
