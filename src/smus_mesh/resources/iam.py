"""IAM roles of workflow.md Phase A, with least-privilege trust policies.

Every service role trusts only its service principal and carries the
`aws:SourceAccount` (and, where the domain is known, `aws:SourceArn`)
conditions, so that DataZone acting for *another* account's domain cannot use
it (confused-deputy protection). Roles are tagged with the set-up, which is how
`down` and `audit` recognise them without a state file. A role named in the
config as existing is adopted: it is never modified or deleted.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from smus_mesh.errors import UserError, aws_code
from smus_mesh.resources.base import Observed, Resource, Status, register
from smus_mesh.resources.context import Context

DATAZONE = "datazone.amazonaws.com"
LAKEFORMATION = "lakeformation.amazonaws.com"
POLICY = "arn:aws:iam::aws:policy/"


@dataclass(frozen=True)
class RoleSpec:
    """What a role should look like."""

    name: str
    path: str
    trust: dict[str, Any]
    managed_policies: tuple[str, ...] = ()
    inline_policies: dict[str, dict[str, Any]] = field(default_factory=dict)
    description: str = ""


def service_trust(
    service: str,
    source_account: str,
    source_arn: str | None = None,
    actions: tuple[str, ...] = ("sts:AssumeRole",),
    tag_keys: str | None = None,
) -> dict[str, Any]:
    """A trust policy for one service principal, scoped to the calling account (and ARN)."""
    condition: dict[str, Any] = {"StringEquals": {"aws:SourceAccount": source_account}}
    if source_arn:
        condition["ArnEquals"] = {"aws:SourceArn": source_arn}
    if tag_keys:
        condition["ForAllValues:StringLike"] = {"aws:TagKeys": tag_keys}
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": service},
                "Action": list(actions),
                "Condition": condition,
            }
        ],
    }


def _brief(document: Any, limit: int = 300) -> str:
    """A policy document on one line, cut at `limit` characters (for a plan's diff)."""
    text = json.dumps(document, sort_keys=True, separators=(",", ":"))
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _normalise(document: Any) -> Any:
    """Policy documents as AWS returns them (string or URL-decoded dict) -> comparable."""
    if isinstance(document, str):
        from urllib.parse import unquote

        document = json.loads(unquote(document))
    return json.loads(json.dumps(document, sort_keys=True))


@register
class IamRole(Resource):
    """An IAM role smus-mesh creates (or adopts when the config names an existing one).

    Example (roles come from the domain, accounts and projects of the config)::

        domain:
          name: sales-mesh
          account: producer
          roles:
            execution: arn:aws:iam::111111111111:role/service-role/MyExistingExecutionRole
    """

    kind = "iam:role"
    iam_actions = (
        "iam:GetRole",
        "iam:CreateRole",
        "iam:TagRole",
        "iam:UpdateAssumeRolePolicy",
        "iam:AttachRolePolicy",
        "iam:PutRolePolicy",
        "iam:ListAttachedRolePolicies",
        "iam:ListRolePolicies",
        "iam:DetachRolePolicy",
        "iam:DeleteRolePolicy",
        "iam:DeleteRole",
        "iam:ListInstanceProfilesForRole",
    )
    updatable = True
    #: DataZone assumes the roles while it deletes the domain, projects, environments and
    #: grants (GetDomain answers 403 once they are gone; workflow.md 2.2 and 4.2).
    deleted_last = True

    def __init__(
        self,
        name: str,
        account: str,
        spec: Callable[[Context], RoleSpec],
        depends_on: tuple[str, ...] = (),
        existing_arn: str | None = None,
    ) -> None:
        super().__init__(name, account, depends_on)
        self.spec = spec
        self.existing_arn = existing_arn

    def _role_name(self, ctx: Context) -> str:
        if self.existing_arn:
            return self.existing_arn.rsplit("/", 1)[-1]
        return self.spec(ctx).name

    def observe(self, ctx: Context) -> Observed:
        name = self._role_name(ctx)
        iam = ctx.client(self.account, "iam")
        try:
            role = iam.get_role(RoleName=name)["Role"]
        except ClientError as exc:
            if aws_code(exc) == "NoSuchEntity":
                return Observed.absent(f"no role {name}")
            raise
        identity = {"arn": role["Arn"], "name": role["RoleName"]}
        if self.existing_arn:
            return Observed(Status.COMPLETE, identity, detail="existing role", owned=False)
        owned = ctx.names.is_ours(role.get("Tags"))
        tags = role.get("Tags")
        if tags is None:  # get_role may omit tags; ask explicitly
            tags = iam.list_role_tags(RoleName=name).get("Tags", [])
            owned = ctx.names.is_ours(tags)
        drift = self._drift(ctx, iam, role) if owned else ()
        return Observed(Status.COMPLETE, identity, detail="exists", owned=owned, drift=drift)

    def _drift(self, ctx: Context, iam: Any, role: dict[str, Any]) -> tuple[str, ...]:
        spec = self.spec(ctx)
        drift = []
        current = _normalise(role["AssumeRolePolicyDocument"])
        if current != _normalise(spec.trust):
            drift.append(f"trust policy: {_brief(current)} -> {_brief(_normalise(spec.trust))}")
        attached = {
            p["PolicyArn"]
            for p in iam.list_attached_role_policies(RoleName=spec.name)["AttachedPolicies"]
        }
        missing = sorted(set(spec.managed_policies) - attached)
        if missing:
            drift.append("missing policies " + ", ".join(p.rsplit("/", 1)[-1] for p in missing))
        if spec.inline_policies:
            inline = set(iam.list_role_policies(RoleName=spec.name)["PolicyNames"])
            if set(spec.inline_policies) - inline:
                drift.append("missing inline policies")
        return tuple(drift)

    def create(self, ctx: Context) -> dict[str, Any]:
        if self.existing_arn:
            raise UserError(
                f"{self.key}: the role {self.existing_arn} named in the config does not exist"
            )
        spec = self.spec(ctx)
        iam = ctx.client(self.account, "iam")
        role = iam.create_role(
            RoleName=spec.name,
            Path=spec.path,
            AssumeRolePolicyDocument=json.dumps(spec.trust),
            Description=spec.description[:1000],
            Tags=ctx.names.iam_tags(),
        )["Role"]
        self._attach(iam, spec)
        return {"arn": role["Arn"], "name": role["RoleName"]}

    @staticmethod
    def _attach(
        iam: Any,
        spec: RoleSpec,
        attached: frozenset[str] = frozenset(),
        inline: frozenset[str] = frozenset(),
    ) -> None:
        """Attach the managed policies and put the inline ones, except those already there."""
        for policy_arn in spec.managed_policies:
            if policy_arn not in attached:
                iam.attach_role_policy(RoleName=spec.name, PolicyArn=policy_arn)
        for policy_name, document in spec.inline_policies.items():
            if policy_name not in inline:
                iam.put_role_policy(
                    RoleName=spec.name, PolicyName=policy_name, PolicyDocument=json.dumps(document)
                )

    def update(self, ctx: Context, observed: Observed) -> None:
        spec = self.spec(ctx)
        iam = ctx.client(self.account, "iam")
        # Only what drifted: a role whose run was killed between CreateRole and
        # AttachRolePolicy has the right trust already and lacks only its policies.
        if any(d.startswith("trust policy") for d in observed.drift):
            iam.update_assume_role_policy(RoleName=spec.name, PolicyDocument=json.dumps(spec.trust))
        # Nor a policy that is there: a run killed after the first of several attachments
        # must not start every rerun with the same call (the crash chain of
        # tests/reliability found it never converging that way).
        attached = frozenset(
            p["PolicyArn"]
            for p in iam.list_attached_role_policies(RoleName=spec.name)["AttachedPolicies"]
        )
        inline = frozenset(iam.list_role_policies(RoleName=spec.name)["PolicyNames"])
        self._attach(iam, spec, attached, inline)

    def delete(self, ctx: Context, observed: Observed) -> None:
        name = observed.identity.get("name") or self._role_name(ctx)
        delete_role(ctx.client(self.account, "iam"), str(name))


def delete_role(iam: Any, name: str) -> None:
    """Detach managed policies, delete inline ones and instance profiles, then the role."""
    try:
        for page in iam.get_paginator("list_attached_role_policies").paginate(RoleName=name):
            for policy in page["AttachedPolicies"]:
                iam.detach_role_policy(RoleName=name, PolicyArn=policy["PolicyArn"])
        for page in iam.get_paginator("list_role_policies").paginate(RoleName=name):
            for policy_name in page["PolicyNames"]:
                iam.delete_role_policy(RoleName=name, PolicyName=policy_name)
        for page in iam.get_paginator("list_instance_profiles_for_role").paginate(RoleName=name):
            for profile in page["InstanceProfiles"]:
                iam.remove_role_from_instance_profile(
                    InstanceProfileName=profile["InstanceProfileName"], RoleName=name
                )
        iam.delete_role(RoleName=name)
    except ClientError as exc:
        if aws_code(exc) != "NoSuchEntity":
            raise


# --- the roles of workflow.md Phase A ---------------------------------------------------


def domain_execution_role(ctx: Context, account: str) -> RoleSpec:
    """A1: assumed by DataZone for the domain; session tags `datazone*` only."""
    return RoleSpec(
        name=ctx.names.domain_execution_role(),
        path=ctx.names.SERVICE_ROLE_PATH,
        trust=service_trust(
            DATAZONE,
            ctx.account_id(account),
            actions=("sts:AssumeRole", "sts:TagSession", "sts:SetContext"),
            tag_keys="datazone*",
        ),
        managed_policies=(POLICY + "service-role/SageMakerStudioDomainExecutionRolePolicy",),
        description="SageMaker Unified Studio domain execution role (smus-mesh)",
    )


def domain_service_role(ctx: Context, account: str) -> RoleSpec:
    """A2: the V2 domain's service role."""
    return RoleSpec(
        name=ctx.names.domain_service_role(),
        path=ctx.names.SERVICE_ROLE_PATH,
        trust=service_trust(DATAZONE, ctx.account_id(account)),
        managed_policies=(POLICY + "service-role/SageMakerStudioDomainServiceRolePolicy",),
        description="SageMaker Unified Studio domain service role (smus-mesh)",
    )


def provisioning_role(ctx: Context, domain_account: str) -> RoleSpec:
    """A3: provisions environments in its account; trusts DataZone acting for the
    *domain* account (also in a consumer account)."""
    return RoleSpec(
        name=ctx.names.provisioning_role(),
        path=ctx.names.SERVICE_ROLE_PATH,
        trust=service_trust(DATAZONE, ctx.account_id(domain_account)),
        managed_policies=(POLICY + "service-role/SageMakerStudioProjectProvisioningRolePolicy",),
        description="SageMaker Unified Studio blueprint provisioning role (smus-mesh)",
    )


def manage_access_role(ctx: Context, domain_account: str, domain_key: str) -> RoleSpec:
    """A4: grants Lake Formation access for subscriptions; trusts DataZone only for this
    domain (SourceArn), in every account."""
    domain_id = ctx.output(domain_key, "id")
    domain_arn = ctx.output(domain_key, "arn")
    return RoleSpec(
        name=ctx.names.manage_access_role(domain_id),
        path=ctx.names.SERVICE_ROLE_PATH,
        trust=service_trust(DATAZONE, ctx.account_id(domain_account), source_arn=domain_arn),
        managed_policies=(
            POLICY + "service-role/AmazonDataZoneGlueManageAccessRolePolicy",
            POLICY + "service-role/AmazonDataZoneRedshiftManageAccessRolePolicy",
            POLICY + "AmazonDataZoneSageMakerManageAccessRolePolicy",
        ),
        inline_policies={
            "RedshiftSecretStatement": {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Action": "secretsmanager:GetSecretValue",
                        "Resource": "*",
                        "Condition": {
                            "StringEquals": {
                                "secretsmanager:ResourceTag/AmazonDataZoneDomain": domain_id
                            }
                        },
                    }
                ],
            }
        },
        description="SageMaker Unified Studio manage-access role (smus-mesh)",
    )


def lakeformation_access_role(ctx: Context, account: str, locations: list[str]) -> RoleSpec:
    """The role Lake Formation uses to read registered S3 locations. A role of our own
    instead of the service-linked role, so that `down` leaves nothing shared behind and
    the role can read only the table locations."""
    buckets = sorted({loc[len("s3://") :].split("/", 1)[0] for loc in locations})
    objects = [f"arn:aws:s3:::{loc[len('s3://') :]}*" for loc in sorted(locations)]
    return RoleSpec(
        name=f"SmusMeshLakeFormationAccess-{ctx.names.setup}",
        path=ctx.names.SERVICE_ROLE_PATH,
        trust=service_trust(LAKEFORMATION, ctx.account_id(account)),
        inline_policies={
            "ReadRegisteredLocations": {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": objects},
                    {
                        "Effect": "Allow",
                        "Action": ["s3:ListBucket"],
                        "Resource": [f"arn:aws:s3:::{b}" for b in buckets],
                    },
                ],
            }
        },
        description="Lake Formation data access for smus-mesh tables",
    )
