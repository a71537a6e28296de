"""The CloudFormation API: moto's, creating and deleting stacks the way AWS does."""

from __future__ import annotations

from moto.cloudformation.exceptions import ValidationError
from moto.cloudformation.responses import CloudFormationResponse
from moto.core.responses import ActionResult, EmptyResult

from smus_mesh_emulator.cloudformation.stacks import create_stack, delete_stack_now


class CloudFormationStackResponse(CloudFormationResponse):
    """moto's CloudFormation with failing creations and DELETE_FAILED deletions."""

    def create_stack(self) -> ActionResult:
        body = self._get_param("TemplateBody")
        template_url = self._get_param("TemplateURL")
        if template_url:
            body = self._get_stack_from_s3_url(template_url)
        if not body:
            raise ValidationError(message="Either TemplateBody or TemplateURL must be specified.")
        on_failure = self._get_param("OnFailure") or (
            "DO_NOTHING" if self._get_bool_param("DisableRollback", False) else "ROLLBACK"
        )
        stack = create_stack(
            self.cloudformation_backend,
            name=self._get_param("StackName"),
            template_body=body,
            parameters=self._get_params_from_list(self._get_param("Parameters", [])),
            tags={t["Key"]: t["Value"] for t in self._get_param("Tags", [])},
            on_failure=on_failure,
            notification_arns=self._get_param("NotificationARNs", []),
            role_arn=self._get_param("RoleARN"),
            enable_termination_protection=self._get_param("EnableTerminationProtection"),
            timeout_in_mins=self._get_param("TimeoutInMinutes"),
            stack_policy_body=self._get_param("StackPolicyBody"),
        )
        return ActionResult({"StackId": stack.stack_id})

    def delete_stack(self) -> ActionResult:
        retain = frozenset(self._get_param("RetainResources", []) or [])
        delete_stack_now(self.cloudformation_backend, self._get_param("StackName"), retain)
        return EmptyResult()
