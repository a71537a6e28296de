"""RAM as the DataZone account association needs it: shareable domains, invitations, views.

DataZone has no "associate account" API: the domain account shares the domain
with the other account through AWS RAM, the other account accepts the
invitation, and the domain account polls the principal association until it
is ASSOCIATED (research/workflow.md phase D). moto 5.2.5 lacks most of that
(research/emulation.md §2):

* a DataZone domain ARN is rejected ("You cannot share the selected resource
  type": `ResourceShare.SHAREABLE_RESOURCES` has no "domain"), and
  `permissionArns` is ignored;
* there are no invitations at all, and every association reads ASSOCIATED at once;
* `GetResourceShares(resourceOwner="OTHER-ACCOUNTS")` is a 500, its
  `resourceShareStatus` filter is ignored, and `ListResources` does not exist.

`RamResponse` subclasses moto's RAM response. Shares are `Share` objects, a
subclass of moto's `ResourceShare` whose own `SHAREABLE_RESOURCES` adds
"domain" (moto's class and module are left untouched), stored in moto's
backend list so that moto's remaining operations (UpdateResourceShare,
ListPermissions, ...) keep working on them. Invitations and association
states live on the share. The emulated accounts are not in an AWS
Organization, so every other account is an external principal and gets an
invitation; its association reads ASSOCIATING until the invitation is
accepted, then passes through the scheduler (kind "ram.associate") to
ASSOCIATED, and reads DISASSOCIATED once the share is deleted.

`associated_accounts()` is the in-process view the DataZone backend uses to
decide whether an account may use a domain.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from moto.core.exceptions import ServiceException
from moto.core.responses import ActionResult
from moto.moto_api._internal import mock_random
from moto.ram.models import ResourceAccessManagerBackend, ResourceShare, ram_backends
from moto.ram.responses import ResourceAccessManagerResponse
from moto.ram.utils import AWS_MANAGED_PERMISSIONS, RAM_RESOURCE_TYPES

from smus_mesh_emulator.progress import Stage, Transition
from smus_mesh_emulator.runtime import RUNTIME

#: Page size when the caller gives no maxResults (RAM's documented maximum is 500).
DEFAULT_PAGE_SIZE = 500

DATAZONE_DOMAIN_TYPE = "datazone:Domain"
#: The RAM managed permissions for DataZone domains (research/workflow.md phase D):
#: V1 domains use the default one, V2 (SageMaker Unified Studio) the extended one.
DATAZONE_PERMISSIONS = {
    "AWSRAMDefaultPermissionAmazonDataZoneDomain": True,
    "AWSRAMPermissionsAmazonDatazoneDomainExtendedServiceAccess": False,
}
_DATAZONE_PERMISSIONS_CREATED = datetime(2023, 9, 28, tzinfo=UTC)

_ACCOUNT_ID = re.compile(r"^\d{12}$")
_IAM_PRINCIPAL = re.compile(r"^arn:aws[a-z-]*:iam::(\d{12}):(?:root|role/.+|user/.+)$")
_DATAZONE_DOMAIN_ARN = re.compile(
    r"^arn:aws:datazone:([a-z0-9-]+):(\d{12}):domain/(dzd[-_][a-zA-Z0-9_-]{1,36})$"
)
_ARN_RESOURCE = re.compile(r"^arn:aws[a-z-]*:([a-z0-9-]+):[a-z0-9-]*:\d{12}:([a-z-]+)[/:]")


# --- errors (codes are botocore's RAM error shapes) --------------------------------


class RamError(ServiceException):
    code = "ServerInternalException"


class InvalidParameterException(RamError):
    code = "InvalidParameterException"


class InvalidNextTokenException(RamError):
    code = "InvalidNextTokenException"


class InvalidResourceTypeException(RamError):
    code = "InvalidResourceTypeException"


class MalformedArnException(RamError):
    code = "MalformedArnException"


class OperationNotPermittedException(RamError):
    code = "OperationNotPermittedException"


class UnknownResourceException(RamError):
    code = "UnknownResourceException"


class InvitationArnNotFoundException(RamError):
    code = "ResourceShareInvitationArnNotFoundException"


class InvitationAlreadyAcceptedException(RamError):
    code = "ResourceShareInvitationAlreadyAcceptedException"


class InvitationAlreadyRejectedException(RamError):
    code = "ResourceShareInvitationAlreadyRejectedException"


class InvitationExpiredException(RamError):
    code = "ResourceShareInvitationExpiredException"


# --- model ---------------------------------------------------------------------------


def _now() -> datetime:
    return datetime.now(UTC)


def _aware(moment: datetime) -> datetime:
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
    if _DATAZONE_DOMAIN_ARN.match(arn):
        return DATAZONE_DOMAIN_TYPE
    match = _ARN_RESOURCE.match(arn)
    if not match:
        return "unknown"
    service, segment = match.groups()
    wanted = segment.replace("-", "").lower()
    for entry in RAM_RESOURCE_TYPES:
        known_service, _, name = entry["resourceType"].partition(":")
        if known_service == service and name.lower() == wanted:
            return str(entry["resourceType"])
    return f"{service}:{segment}"


def _known_resource_types() -> set[str]:
    return {str(entry["resourceType"]).lower() for entry in RAM_RESOURCE_TYPES} | {
        DATAZONE_DOMAIN_TYPE.lower()
    }


def _permission_catalogue() -> dict[str, dict[str, Any]]:
    """AWS managed permissions by ARN: moto's list plus DataZone's domain permissions."""
    catalogue: dict[str, dict[str, Any]] = {}
    for permission in AWS_MANAGED_PERMISSIONS:
        created = _aware(datetime.fromisoformat(permission["creationTime"]))
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
    created: datetime = field(default_factory=_now)
    updated: datetime = field(default_factory=_now)
    transition: Transition | None = None

    def set_status(self, status: str, message: str | None = None) -> None:
        self.status = status
        self.status_message = message
        self.updated = _now()

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
    timestamp: datetime = field(default_factory=_now)

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
        receivers = {account_of_principal(p) for p in principals} - {None, self.account_id}
        if receivers and not self.allow_external_principals:
            # The emulated accounts belong to no Organization, so any other account is
            # external. Unverified: AWS's exact wording of this refusal.
            raise OperationNotPermittedException(
                f"The resource share {self.name} does not allow external principals, and "
                f"{', '.join(sorted(str(r) for r in receivers))} is not in your organization."
            )
        super().add_principals(principals)
        for principal in principals:
            receiver = account_of_principal(principal)
            if receiver is None or receiver == self.account_id:
                # Service principals, organizations and the owner's own account need no
                # invitation.
                self.principal_associations[principal] = Association(
                    principal, "PRINCIPAL", "ASSOCIATED"
                )
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
            elif _ARN_RESOURCE.match(arn) and arn.split(":")[5].startswith("domain"):
                raise MalformedArnException("You cannot share the selected resource type.")
        super().add_resources(resource_arns)
        for arn in resource_arns:
            self.resource_associations[arn] = Association(arn, "RESOURCE", "ASSOCIATED")

    def _check_domain(self, arn: str) -> None:
        from smus_mesh_emulator.datazone.models import datazone_backends

        match = _DATAZONE_DOMAIN_ARN.match(arn)
        if not match:
            raise MalformedArnException(
                f"The specified resource ARN {arn} is not valid. Verify the ARN and try again."
            )
        region, account_id, domain_id = match.groups()
        per_account = datazone_backends.get(account_id)
        backend = per_account.get(region) if per_account is not None else None
        exists = backend is not None and domain_id in backend.domains
        if account_id != self.account_id or not exists:
            raise UnknownResourceException(f"Resource {arn} could not be found.")

    def set_permissions(self, permission_arns: list[str]) -> None:
        """Attach the given RAM managed permissions, or each resource type's default."""
        catalogue = _permission_catalogue()
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
        return [
            a
            for p, a in self.principal_associations.items()
            if account_of_principal(p) == account_id
        ]

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
        invitation = self.invitations.get(account_id)
        return invitation is not None and invitation.status == "ACCEPTED"

    def to_dict(self) -> dict[str, Any]:
        return {
            "resourceShareArn": self.arn,
            "name": self.name,
            "owningAccountId": self.owning_account_id,
            "allowExternalPrincipals": self.allow_external_principals,
            "status": self.status,
            "tags": [{"key": k, "value": v} for k, v in sorted(self.tags.items())],
            "creationTime": _aware(self.creation_time),
            "lastUpdatedTime": _aware(self.last_updated_time),
            "featureSet": self.feature_set,
        }


# --- lookups -------------------------------------------------------------------------


def _shares(backend: ResourceAccessManagerBackend | None) -> list[Share]:
    if backend is None:
        return []
    return [s for s in backend.resource_shares if isinstance(s, Share)]


def _existing_backend(account_id: str, region: str) -> ResourceAccessManagerBackend | None:
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
            yield from _shares(backend)  # type: ignore[arg-type]


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
        for share in _shares(_existing_backend(owner_account, region)):
            if share.status != "ACTIVE" or resource_arn not in share.resource_arns:
                continue
            for principal, association in share.principal_associations.items():
                RUNTIME.scheduler.observe(association.transition)
                account = account_of_principal(principal)
                if association.status == "ASSOCIATED" and account is not None:
                    accounts.add(account)
    return accounts


def _page(
    items: list[Any], next_token: str | None, max_results: int | None
) -> tuple[list[Any], str | None]:
    start = 0
    if next_token:
        try:
            start = int(next_token)
        except ValueError:
            start = -1
        if not 0 <= start <= len(items):
            raise InvalidNextTokenException("The specified value for nextToken is not valid.")
    size = max_results or DEFAULT_PAGE_SIZE
    end = start + size
    return items[start:end], (str(end) if end < len(items) else None)


# --- HTTP ----------------------------------------------------------------------------


class RamResponse(ResourceAccessManagerResponse):
    """moto's RAM with DataZone domains, invitations and the receiving account's views."""

    def _share(self, arn: str | None, owned: bool = True) -> Share:
        """A share by ARN: the caller's own, or (`owned=False`) one shared with it."""
        for share in all_shares(self.region):
            if share.arn != arn:
                continue
            if share.account_id == self.current_account or (
                not owned and share.accepted_by(self.current_account)
            ):
                return share
        raise UnknownResourceException(f"ResourceShare {arn} could not be found.")

    def _resource_owner(self) -> str:
        owner = self._get_param("resourceOwner")
        if owner not in ("SELF", "OTHER-ACCOUNTS"):
            raise InvalidParameterException(
                f"{owner} is not a valid resource owner. Specify either SELF or "
                "OTHER-ACCOUNTS and try again."
            )
        return str(owner)

    # shares ----------------------------------------------------------------------------
    def create_resource_share(self) -> ActionResult:  # type: ignore[override]
        params = self.request_params
        share = Share(self.current_account, self.region, **params)
        share.add_resources(params.get("resourceArns") or [])
        share.add_principals(params.get("principals") or [])
        share.set_permissions(params.get("permissionArns") or [])
        self.ram_backend.resource_shares.append(share)
        return ActionResult(
            {"resourceShare": share.to_dict(), "clientToken": params.get("clientToken")}
        )

    def get_resource_shares(self) -> ActionResult:  # type: ignore[override]
        owner = self._resource_owner()
        if owner == "SELF":
            shares = _shares(self.ram_backend)
        else:
            shares = [
                s
                for s in all_shares(self.region)
                if s.account_id != self.current_account and s.accepted_by(self.current_account)
            ]
        arns = self._get_param("resourceShareArns")
        status = self._get_param("resourceShareStatus")
        name = self._get_param("name")
        permission = self._get_param("permissionArn")
        tag_filters = self._get_param("tagFilters") or []
        selected = [
            s
            for s in shares
            if (not arns or s.arn in arns)
            and (status is None or s.status == status)
            and (name is None or s.name == name)
            and (permission is None or permission in s.permission_arns)
            and all(
                f.get("tagKey") in s.tags
                and (not f.get("tagValues") or s.tags[f["tagKey"]] in f["tagValues"])
                for f in tag_filters
            )
        ]
        page, token = _page(selected, self._get_param("nextToken"), self._get_param("maxResults"))
        return ActionResult({"resourceShares": [s.to_dict() for s in page], "nextToken": token})

    def delete_resource_share(self) -> ActionResult:  # type: ignore[override]
        share = self._share(self._get_param("resourceShareArn"))
        share.delete_share()
        return ActionResult({"returnValue": True, "clientToken": self._get_param("clientToken")})

    def list_resource_share_permissions(self) -> ActionResult:
        share = self._share(self._get_param("resourceShareArn"), owned=False)
        catalogue = _permission_catalogue()
        summaries = [
            {
                "arn": arn,
                "version": catalogue[arn]["version"],
                "defaultVersion": True,
                "name": catalogue[arn]["name"],
                "resourceType": catalogue[arn]["resourceType"],
                "status": "ASSOCIATED",
                "creationTime": catalogue[arn]["creationTime"],
                "lastUpdatedTime": catalogue[arn]["creationTime"],
                "isResourceTypeDefault": catalogue[arn]["isResourceTypeDefault"],
                "permissionType": "AWS_MANAGED",
                "featureSet": "STANDARD",
            }
            for arn in share.permission_arns
        ]
        page, token = _page(summaries, self._get_param("nextToken"), self._get_param("maxResults"))
        return ActionResult({"permissions": page, "nextToken": token})

    # associations ---------------------------------------------------------------------
    def get_resource_share_associations(self) -> ActionResult:  # type: ignore[override]
        association_type = self._get_param("associationType")
        status = self._get_param("associationStatus")
        resource_arn = self._get_param("resourceArn")
        principal = self._get_param("principal")
        arns = self._get_param("resourceShareArns") or []
        if association_type not in ("PRINCIPAL", "RESOURCE"):
            raise InvalidParameterException(
                f"{association_type} is not a valid association type. Specify either "
                "PRINCIPAL or RESOURCE and try again."
            )
        if association_type == "PRINCIPAL" and resource_arn:
            raise InvalidParameterException(
                "You cannot specify a resource ARN when the association type is PRINCIPAL."
            )
        if association_type == "RESOURCE" and principal:
            raise InvalidParameterException(
                "You cannot specify a principal when the association type is RESOURCE."
            )
        wanted = principal if association_type == "PRINCIPAL" else resource_arn
        rows: list[dict[str, Any]] = []
        for share in _shares(self.ram_backend):
            if arns and share.arn not in arns:
                continue
            associations = (
                share.principal_associations
                if association_type == "PRINCIPAL"
                else share.resource_associations
            )
            for entity, association in associations.items():
                if (wanted and entity != wanted) or (status and association.status != status):
                    continue
                RUNTIME.scheduler.observe(association.transition)
                rows.append(association.to_dict(share))
        page, token = _page(rows, self._get_param("nextToken"), self._get_param("maxResults"))
        return ActionResult({"resourceShareAssociations": page, "nextToken": token})

    # invitations ------------------------------------------------------------------------
    def _received_invitations(self) -> list[Invitation]:
        return sorted(
            (
                invitation
                for share in all_shares(self.region)
                for invitation in share.invitations.values()
                if invitation.receiver_account == self.current_account
            ),
            key=lambda invitation: invitation.timestamp,
        )

    def _invitation(self, arn: str | None) -> Invitation:
        for invitation in self._received_invitations():
            if invitation.arn == arn:
                return invitation
        raise InvitationArnNotFoundException(
            f"ResourceShareInvitationArn {arn} could not be found."
        )

    def get_resource_share_invitations(self) -> ActionResult:
        invitation_arns = self._get_param("resourceShareInvitationArns") or []
        share_arns = self._get_param("resourceShareArns") or []
        received = self._received_invitations()
        known = {i.arn for i in received}
        missing = [arn for arn in invitation_arns if arn not in known]
        if missing:
            raise InvitationArnNotFoundException(
                f"ResourceShareInvitationArn {missing[0]} could not be found."
            )
        selected = [
            i
            for i in received
            if (not invitation_arns or i.arn in invitation_arns)
            and (not share_arns or i.share.arn in share_arns)
        ]
        page, token = _page(selected, self._get_param("nextToken"), self._get_param("maxResults"))
        return ActionResult(
            {"resourceShareInvitations": [i.to_dict() for i in page], "nextToken": token}
        )

    def _answerable(self) -> Invitation:
        invitation = self._invitation(self._get_param("resourceShareInvitationArn"))
        if invitation.status == "ACCEPTED":
            raise InvitationAlreadyAcceptedException(
                f"The invitation {invitation.arn} has already been accepted."
            )
        if invitation.status == "REJECTED":
            raise InvitationAlreadyRejectedException(
                f"The invitation {invitation.arn} has already been rejected."
            )
        if invitation.status == "EXPIRED":
            raise InvitationExpiredException(f"The invitation {invitation.arn} has expired.")
        return invitation

    def accept_resource_share_invitation(self) -> ActionResult:
        invitation = self._answerable()
        invitation.share.accept(invitation)
        return ActionResult(
            {
                "resourceShareInvitation": invitation.to_dict(),
                "clientToken": self._get_param("clientToken"),
            }
        )

    def reject_resource_share_invitation(self) -> ActionResult:
        invitation = self._answerable()
        invitation.share.reject(invitation)
        return ActionResult(
            {
                "resourceShareInvitation": invitation.to_dict(),
                "clientToken": self._get_param("clientToken"),
            }
        )

    # resources --------------------------------------------------------------------------
    def list_resources(self) -> ActionResult:
        owner = self._resource_owner()
        principal = self._get_param("principal")
        resource_type = self._get_param("resourceType")
        resource_arns = self._get_param("resourceArns") or []
        share_arns = self._get_param("resourceShareArns") or []
        scope = self._get_param("resourceRegionScope") or "ALL"
        if resource_type and resource_type.lower() not in _known_resource_types():
            raise InvalidResourceTypeException(
                f"The specified resource type {resource_type} is not valid."
            )
        if owner == "SELF":
            shares = [
                s
                for s in _shares(self.ram_backend)
                if principal is None or principal in s.principal_associations
            ]
        else:
            shares = [
                s
                for s in all_shares(self.region)
                if s.account_id != self.current_account
                and any(a.status == "ASSOCIATED" for a in s.associations_of(self.current_account))
                and (principal is None or principal == s.account_id)
            ]
        rows = [
            {
                "arn": arn,
                "type": resource_type_of(arn),
                "resourceShareArn": share.arn,
                "status": "AVAILABLE",
                "creationTime": association.created,
                "lastUpdatedTime": association.updated,
                "resourceRegionScope": "REGIONAL",
            }
            for share in shares
            if share.status == "ACTIVE" and (not share_arns or share.arn in share_arns)
            for arn, association in share.resource_associations.items()
            if association.status == "ASSOCIATED"
            and (not resource_arns or arn in resource_arns)
            and (not resource_type or resource_type_of(arn).lower() == resource_type.lower())
            and scope in ("ALL", "REGIONAL")
        ]
        page, token = _page(rows, self._get_param("nextToken"), self._get_param("maxResults"))
        return ActionResult({"resources": page, "nextToken": token})
