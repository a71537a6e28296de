"""The STS API: moto's, except that AssumeRole needs the role to exist and to trust the caller."""

from __future__ import annotations

import json
import re
from typing import Any

from moto.core.responses import ActionResult
from moto.iam.models import iam_backends
from moto.sts.responses import TokenResponse

from smus_mesh_emulator.accounts import caller_arn, principal_of
from smus_mesh_emulator.sts.exceptions import AccessDenied

_ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::(\d{12}):role/(?:.*/)?([\w+=,.@-]+)$")


def _trusts(
    policy_document: str, caller_account: str, caller: str, external_id: str | None
) -> bool:
    try:
        policy = json.loads(policy_document)
    except (TypeError, json.JSONDecodeError):
        return False
    statements = policy.get("Statement", [])
    if isinstance(statements, dict):
        statements = [statements]
    for statement in statements:
        if statement.get("Effect") != "Allow":
            continue
        actions = statement.get("Action", [])
        actions = [actions] if isinstance(actions, str) else actions
        if not any(a in ("sts:AssumeRole", "sts:*", "*") for a in actions):
            continue
        principals = statement.get("Principal", {})
        if principals == "*":
            aws_principals: list[str] = ["*"]
        else:
            aws = principals.get("AWS", []) if isinstance(principals, dict) else []
            aws_principals = [aws] if isinstance(aws, str) else list(aws)
        allowed = any(
            p in ("*", caller_account, f"arn:aws:iam::{caller_account}:root", caller)
            for p in aws_principals
        )
        if not allowed:
            continue
        wanted = statement.get("Condition", {}).get("StringEquals", {}).get("sts:ExternalId")
        if wanted is not None and wanted != external_id:
            continue
        return True
    return False


class StrictTokenResponse(TokenResponse):
    """moto's STS, except AssumeRole requires the role to exist and to trust the caller."""

    def assume_role(self) -> ActionResult:
        role_arn = self._get_param("RoleArn") or ""
        match = _ROLE_ARN.match(role_arn)
        caller = principal_of(caller_arn(self.current_account, self.get_access_key()))
        denied = (
            f"User: {caller} is not authorized to perform: sts:AssumeRole on resource: {role_arn}"
        )
        if not match:
            raise AccessDenied(denied)
        account_id, role_name = match.groups()
        iam = iam_backends[account_id]["global"]
        role: Any = next((r for r in iam.roles.values() if r.name == role_name), None)
        if role is None or not _trusts(
            role.assume_role_policy_document,
            self.current_account,
            caller,
            self._get_param("ExternalId"),
        ):
            raise AccessDenied(denied)
        result: ActionResult = super().assume_role()
        return result
