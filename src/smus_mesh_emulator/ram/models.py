"""RAM's shares, invitations and associations (the storage and the rules of their life cycle)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from moto.moto_api._internal import mock_random
from moto.ram.models import ResourceAccessManagerBackend, ResourceShare, ram_backends
from moto.ram.utils import AWS_MANAGED_PERMISSIONS, RAM_RESOURCE_TYPES

from smus_mesh_emulator.organizations import models as organizations
from smus_mesh_emulator.progress import Stage, Transition
from smus_mesh_emulator.ram.exceptions import (
    MalformedArnException,
    OperationNotPermittedException,
    UnknownResourceException,
)
from smus_mesh_emulator.runtime import RUNTIME

DATAZONE_DOMAIN_TYPE = "datazone:Domain"


#: The RAM managed permissions for DataZone domains (research/workflow.md phase D):
#: V1 domains use the default one, V2 (SageMaker Unified Studio) the extended one.
DATAZONE_PERMISSIONS = {
    "AWSRAMDefaultPermissionAmazonDataZoneDomain": True,
    "AWSRAMPermissionsAmazonDatazoneDomainExtendedServiceAccess": False,
}


_DATAZONE_PERMISSIONS_CREATED = datetime(2023, 9, 28, tzinfo=UTC)


_ACCOUNT_ID = re.compile(r"^\d{12}$")


#: The organization as a principal: `arn:aws:organizations::<management>:organization/o-...`.
_ORGANIZATION_PRINCIPAL = re.compile(r"^arn:aws[a-z-]*:organizations::\d{12}:organization/(o-\w+)$")


_ORGANIZATION_OR_UNIT = re.compile(r"^arn:aws[a-z-]*:organizations::\d{12}:(?:organization|ou)/")


_IAM_PRINCIPAL = re.compile(r"^arn:aws[a-z-]*:iam::(\d{12}):(?:root|role/.+|user/.+)$")


DATAZONE_DOMAIN_ARN = re.compile(
    r"^arn:aws:datazone:([a-z0-9-]+):(\d{12}):domain/(dzd[-_][a-zA-Z0-9_-]{1,36})$"
)


ARN_RESOURCE = re.compile(r"^arn:aws[a-z-]*:([a-z0-9-]+):[a-z0-9-]*:\d{12}:([a-z-]+)[/:]")


#: How RAM tells whether a shareable resource of another emulated service exists, by RAM
#: resource type: `exists(account, region, resource id)`, filled by `services.register_all()`.
#: RAM does not import DataZone, which imports RAM (an account may use a domain once RAM
#: shares it), so the dependency points one way.
RESOURCE_EXISTS: dict[str, Callable[[str, str, str], bool]] = {}


def now() -> datetime:
    return datetime.now(UTC)


def aware(moment: datetime) -> datetime:
    """moto stores naive UTC datetimes; the serializer needs them zoned."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def account_of_principal(principal: str) -> str | None:
    """The account a principal belongs to (account id or IAM ARN), else None."""
    if _ACCOUNT_ID.match(principal):
        return principal
    match = _IAM_PRINCIPAL.match(principal)
    return match.group(1) if match else None


def resource_type_of(arn: str) -> str:
    """RAM's resource type name for a resource ARN, e.g. `glue:Database`."""
    if DATAZONE_DOMAIN_ARN.match(arn):
        return DATAZONE_DOMAIN_TYPE
    match = ARN_RESOURCE.match(arn)
    if not match:
        return "unknown"
    service, segment = match.groups()
    wanted = segment.replace("-", "").lower()
    for entry in RAM_RESOURCE_TYPES:
        known_service, _, name = entry["resourceType"].partition(":")
        if known_service == service and name.lower() == wanted:
            return str(entry["resourceType"])
    return f"{service}:{segment}"


def known_resource_types() -> set[str]:
    return {str(entry["resourceType"]).lower() for entry in RAM_RESOURCE_TYPES} | {
        DATAZONE_DOMAIN_TYPE.lower()
    }


def permission_catalogue() -> dict[str, dict[str, Any]]:
    """AWS managed permissions by ARN: moto's list plus DataZone's domain permissions."""
    catalogue: dict[str, dict[str, Any]] = {}
    for permission in AWS_MANAGED_PERMISSIONS:
        created = aware(datetime.fromisoformat(permission["creationTime"]))
        catalogue[permission["arn"]] = {
            "arn": permission["arn"],
            "name": permission["name"],
            "version": permission["version"],
            "resourceType": permission["resourceType"],
            "isResourceTypeDefault": permission["isResourceTypeDefault"],
            "creationTime": created,
        }
    for name, is_default in DATAZONE_PERMISSIONS.items():
        arn = f"arn:aws:ram::aws:permission/{name}"
        catalogue[arn] = {
            "arn": arn,
            "name": name,
            "version": "1",
            "resourceType": DATAZONE_DOMAIN_TYPE,
            "isResourceTypeDefault": is_default,
            "creationTime": _DATAZONE_PERMISSIONS_CREATED,
        }
    return catalogue


@dataclass(eq=False)
class Association:
    """One principal or resource of a share, with its RAM association status."""

    entity: str
    association_type: str  # PRINCIPAL | RESOURCE
    status: str
    external: bool = False
    status_message: str | None = None
    created: datetime = field(default_factory=now)
    updated: datetime = field(default_factory=now)
    transition: Transition | None = None

    def set_status(self, status: str, message: str | None = None) -> None:
        self.status = status
        self.status_message = message
        self.updated = now()

    def to_dict(self, share: Share) -> dict[str, Any]:
        data: dict[str, Any] = {
            "resourceShareArn": share.arn,
            "resourceShareName": share.name,
            "associatedEntity": self.entity,
            "associationType": self.association_type,
            "status": self.status,
            "creationTime": self.created,
            "lastUpdatedTime": self.updated,
            "external": self.external,
        }
        if self.status_message:
            data["statusMessage"] = self.status_message
        return data


@dataclass(eq=False)
class Invitation:
    """The invitation an external account receives to join a share."""

    arn: str
    share: Share
    receiver_account: str
    receiver_arn: str | None
    status: str = "PENDING"
    timestamp: datetime = field(default_factory=now)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "resourceShareInvitationArn": self.arn,
            "resourceShareName": self.share.name,
            "resourceShareArn": self.share.arn,
            "senderAccountId": self.share.account_id,
            "receiverAccountId": self.receiver_account,
            "invitationTimestamp": self.timestamp,
            "status": self.status,
        }
        if self.receiver_arn:
            data["receiverArn"] = self.receiver_arn
        return data


class Share(ResourceShare):
    """A resource share that can hold DataZone domains and carries invitations.

    `SHAREABLE_RESOURCES` is moto's list plus "domain" on this subclass only;
    `add_resources` narrows "domain" to DataZone domain ARNs that exist and
    belong to the sharing account.
    """

    SHAREABLE_RESOURCES = [*ResourceShare.SHAREABLE_RESOURCES, "domain"]

    def __init__(self, account_id: str, region: str, **kwargs: Any) -> None:
        super().__init__(account_id, region, **kwargs)
        self.tags: dict[str, str] = {t["key"]: t.get("value", "") for t in kwargs.get("tags") or []}
        self.permission_arns: list[str] = []
        self.principal_associations: dict[str, Association] = {}
        self.resource_associations: dict[str, Association] = {}
        self.invitations: dict[str, Invitation] = {}  # by receiver account

    # creation -------------------------------------------------------------------
    def add_principals(self, principals: list[str]) -> None:
        """Add principals as RAM does for the share's organization (docs/adr: organization).

        * An account of the owner's organization, once RAM sharing with AWS Organizations
          is enabled, is associated without an invitation (ASSOCIATING, then ASSOCIATED).
        * Any other account is external: refused by an ORG-ONLY share
          (`allowExternalPrincipals=false`), else invited; its association stays
          ASSOCIATING until it accepts.
        * The organization (or one of its OUs) as principal needs sharing enabled.
        """
        sharing = organizations.ram_sharing_enabled(self.account_id)
        if not sharing and any(_ORGANIZATION_OR_UNIT.match(p) for p in principals):
            # Unverified: AWS's exact wording of this refusal.
            raise OperationNotPermittedException(
                "You can share with your organization or an organizational unit only after "
                "you enable sharing with AWS Organizations (EnableSharingWithAwsOrganization)."
            )
        receivers = {account_of_principal(p) for p in principals} - {None, self.account_id}
        outsiders = sorted(
            str(r)
            for r in receivers
            if not (sharing and organizations.same_organization(self.account_id, str(r)))
        )
        if outsiders and not self.allow_external_principals:
            # Unverified: AWS's exact wording of this refusal.
            reason = (
                "is not in your organization"
                if sharing
                else "cannot be checked against your organization: sharing with AWS "
                "Organizations is not enabled"
            )
            raise OperationNotPermittedException(
                f"The resource share {self.name} does not allow external principals, and "
                f"{', '.join(outsiders)} {reason}."
            )
        super().add_principals(principals)
        for principal in principals:
            receiver = account_of_principal(principal)
            if receiver is None or receiver == self.account_id:
                # Service principals, the organization, its OUs and the owner's own account
                # need no invitation.
                self.principal_associations[principal] = Association(
                    principal, "PRINCIPAL", "ASSOCIATED"
                )
                continue
            if receiver not in outsiders:
                association = Association(principal, "PRINCIPAL", "ASSOCIATING")
                self.principal_associations[principal] = association
                self._associate(association)
                continue
            self.principal_associations[principal] = Association(
                principal, "PRINCIPAL", "ASSOCIATING", external=True
            )
            if receiver not in self.invitations:
                self.invitations[receiver] = Invitation(
                    arn=(
                        f"arn:aws:ram:{self.region}:{self.account_id}:"
                        f"resource-share-invitation/{mock_random.uuid4()}"
                    ),
                    share=self,
                    receiver_account=receiver,
                    receiver_arn=None if principal == receiver else principal,
                )

    def add_resources(self, resource_arns: list[str]) -> None:
        for arn in resource_arns:
            if ":datazone:" in arn:
                self._check_domain(arn)
            elif ARN_RESOURCE.match(arn) and arn.split(":")[5].startswith("domain"):
                raise MalformedArnException("You cannot share the selected resource type.")
        super().add_resources(resource_arns)
        for arn in resource_arns:
            self.resource_associations[arn] = Association(arn, "RESOURCE", "ASSOCIATED")

    def _check_domain(self, arn: str) -> None:
        match = DATAZONE_DOMAIN_ARN.match(arn)
        if not match:
            raise MalformedArnException(
                f"The specified resource ARN {arn} is not valid. Verify the ARN and try again."
            )
        region, account_id, domain_id = match.groups()
        exists = RESOURCE_EXISTS.get(DATAZONE_DOMAIN_TYPE)
        if (
            account_id != self.account_id
            or exists is None
            or not exists(account_id, region, domain_id)
        ):
            raise UnknownResourceException(f"Resource {arn} could not be found.")

    def set_permissions(self, permission_arns: list[str]) -> None:
        """Attach the given RAM managed permissions, or each resource type's default."""
        catalogue = permission_catalogue()
        for arn in permission_arns:
            if not arn.startswith("arn:aws:ram:"):
                raise MalformedArnException(
                    f"The specified permission ARN {arn} is not valid. Verify the ARN and "
                    "try again."
                )
            if arn not in catalogue:
                raise UnknownResourceException(f"Permission {arn} could not be found.")
        if not permission_arns:
            types = {resource_type_of(arn) for arn in self.resource_arns}
            permission_arns = [
                p["arn"]
                for p in catalogue.values()
                if p["resourceType"] in types and p["isResourceTypeDefault"]
            ]
        self.permission_arns = list(permission_arns)

    # life cycle -------------------------------------------------------------------
    def associations_of(self, account_id: str) -> list[Association]:
        """The principal associations that give `account_id` the share: its own (account
        or IAM principals of it), and the organization's if it is a member."""
        return [
            a
            for p, a in self.principal_associations.items()
            if account_of_principal(p) == account_id
            or (_ORGANIZATION_PRINCIPAL.match(p) and self._organization_covers(p, account_id))
        ]

    def _organization_covers(self, principal: str, account_id: str) -> bool:
        match = _ORGANIZATION_PRINCIPAL.match(principal)
        return bool(
            match
            and match.group(1) == organizations.organization_of(account_id)
            and organizations.same_organization(self.account_id, account_id)
        )

    def accept(self, invitation: Invitation) -> None:
        invitation.status = "ACCEPTED"
        for association in self.associations_of(invitation.receiver_account):
            self._associate(association)

    @staticmethod
    def _associate(association: Association) -> None:
        RUNTIME.scheduler.cancel(association.transition)

        def apply(status: str) -> None:
            association.set_status(status)

        association.transition = RUNTIME.scheduler.start(
            [Stage("ASSOCIATING", "ram.associate")],
            "ASSOCIATED",
            apply,
            label=f"ram-association:{association.entity}",
        )

    def reject(self, invitation: Invitation) -> None:
        invitation.status = "REJECTED"
        for association in self.associations_of(invitation.receiver_account):
            # Unverified: AWS documents no status for a rejected principal; FAILED is
            # terminal, so a caller polling for ASSOCIATED stops instead of waiting forever.
            association.set_status(
                "FAILED", f"The invitation was rejected by {invitation.receiver_account}."
            )

    def delete_share(self) -> None:
        self.delete()
        for association in [
            *self.principal_associations.values(),
            *self.resource_associations.values(),
        ]:
            RUNTIME.scheduler.cancel(association.transition)
            association.transition = None
            association.set_status("DISASSOCIATED")
        for invitation in self.invitations.values():
            if invitation.status == "PENDING":
                # Unverified: the invitation of a deleted share cannot be accepted any more.
                invitation.status = "EXPIRED"

    # views --------------------------------------------------------------------------
    def accepted_by(self, account_id: str) -> bool:
        """Whether `account_id` has the share: it accepted the invitation, or it is in the
        organization and was shared with without one."""
        invitation = self.invitations.get(account_id)
        if invitation is not None:
            return invitation.status == "ACCEPTED"
        return any(
            not a.external and a.status in ("ASSOCIATING", "ASSOCIATED")
            for a in self.associations_of(account_id)
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "resourceShareArn": self.arn,
            "name": self.name,
            "owningAccountId": self.owning_account_id,
            "allowExternalPrincipals": self.allow_external_principals,
            "status": self.status,
            "tags": [{"key": k, "value": v} for k, v in sorted(self.tags.items())],
            "creationTime": aware(self.creation_time),
            "lastUpdatedTime": aware(self.last_updated_time),
            "featureSet": self.feature_set,
        }


#: The service-linked role EnableSharingWithAwsOrganization creates in the management account.
RAM_SERVICE_ROLE = "AWSServiceRoleForResourceAccessManager"
RAM_SERVICE_POLICY_ARN = (
    "arn:aws:iam::aws:policy/aws-service-role/AWSResourceAccessManagerServiceRolePolicy"
)
RAM_SERVICE_PRINCIPAL = organizations.RAM_SERVICE_PRINCIPAL


def enable_sharing_with_organization(account_id: str) -> None:
    """EnableSharingWithAwsOrganization from the management account `account_id`: RAM may
    read the organization (its service-linked role, trusted access), and shares to member
    accounts need no invitation from now on."""
    from moto.iam.models import iam_backends
    from moto.organizations.models import organizations_backends

    from smus_mesh_emulator.iam.models import ensure_aws_managed_policy

    iam = iam_backends[account_id]["global"]
    if not any(role.name == RAM_SERVICE_ROLE for role in iam.roles.values()):
        iam.create_role(
            role_name=RAM_SERVICE_ROLE,
            assume_role_policy_document=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": RAM_SERVICE_PRINCIPAL},
                            "Action": "sts:AssumeRole",
                        }
                    ],
                }
            ),
            path=f"/aws-service-role/{RAM_SERVICE_PRINCIPAL}/",
            permissions_boundary=None,
            description="",
            tags=[],
            max_session_duration="3600",
        )
        ensure_aws_managed_policy(account_id, RAM_SERVICE_POLICY_ARN)
        iam.attach_role_policy(RAM_SERVICE_POLICY_ARN, RAM_SERVICE_ROLE)
    backend = organizations_backends[account_id][organizations.PARTITION]
    backend.enable_aws_service_access(ServicePrincipal=organizations.RAM_SERVICE_PRINCIPAL)


def shares_of(backend: ResourceAccessManagerBackend | None) -> list[Share]:
    if backend is None:
        return []
    return [s for s in backend.resource_shares if isinstance(s, Share)]


def existing_backend(account_id: str, region: str) -> ResourceAccessManagerBackend | None:
    """The account's RAM backend if it exists; never creates one (reads stay pure)."""
    per_account = ram_backends.get(account_id)
    backend: ResourceAccessManagerBackend | None = (
        per_account.get(region) if per_account is not None else None
    )
    return backend


def all_shares(region: str | None = None) -> Iterator[Share]:
    """Every share of every account (in `region`, or in all regions)."""
    for _, backend_region, backend in list(ram_backends.iter_backends()):
        if region is None or backend_region == region:
            yield from shares_of(backend)  # type: ignore[arg-type]


def associated_accounts(owner_account: str, region: str, resource_arn: str) -> set[str]:
    """Accounts that `resource_arn` (owned by `owner_account`) is shared with and that
    have accepted the share: their principal association is ASSOCIATED.

    Called in-process by the DataZone backend, under the request lock. Asking is a
    read of the association, so an accepted association's ASSOCIATING stage counts
    as observed: a tool that polls DataZone rather than RAM still sees the
    association complete after its duration, as it would on AWS.

    Examples:
        >>> associated_accounts("111111111111", "us-east-1", domain_arn)
        {'222222222222'}
    """
    accounts: set[str] = set()
    with RUNTIME.lock:  # re-entrant: DataZone calls this while holding it
        for share in shares_of(existing_backend(owner_account, region)):
            if share.status != "ACTIVE" or resource_arn not in share.resource_arns:
                continue
            for principal, association in share.principal_associations.items():
                RUNTIME.scheduler.mark_read(association.transition)
                if association.status != "ASSOCIATED":
                    continue
                account = account_of_principal(principal)
                if account is not None:
                    accounts.add(account)
                elif _ORGANIZATION_PRINCIPAL.match(principal):
                    accounts.update(
                        a
                        for a in organizations.known_accounts()
                        if a != owner_account and share._organization_covers(principal, a)
                    )
    return accounts
