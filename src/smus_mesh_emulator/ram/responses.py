"""The RAM API: moto's RAM response with shareable domains, invitations and the views
DataZone's account association needs.
"""

from __future__ import annotations

from typing import Any

from moto.core.responses import ActionResult
from moto.ram.responses import ResourceAccessManagerResponse

from smus_mesh_emulator.organizations import models as organizations
from smus_mesh_emulator.paging import page
from smus_mesh_emulator.ram.exceptions import (
    InvalidNextTokenException,
    InvalidParameterException,
    InvalidResourceTypeException,
    InvitationAlreadyAcceptedException,
    InvitationAlreadyRejectedException,
    InvitationArnNotFoundException,
    InvitationExpiredException,
    OperationNotPermittedException,
    UnknownResourceException,
)
from smus_mesh_emulator.ram.models import (
    Invitation,
    Share,
    all_shares,
    enable_sharing_with_organization,
    known_resource_types,
    permission_catalogue,
    resource_type_of,
    shares_of,
)
from smus_mesh_emulator.runtime import RUNTIME

#: Page size when the caller gives no maxResults (RAM's documented maximum is 500).
DEFAULT_PAGE_SIZE = 500


def _page(
    items: list[Any], next_token: str | None, max_results: int | None, unique: str | list[str]
) -> tuple[list[Any], str | None]:
    return page(
        items,
        token=next_token,
        size=max_results,
        default_size=DEFAULT_PAGE_SIZE,
        unique=unique,
        invalid_token=lambda: InvalidNextTokenException(
            "The specified value for nextToken is not valid."
        ),
    )


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

    # organization ----------------------------------------------------------------------
    def enable_sharing_with_aws_organization(self) -> ActionResult:  # type: ignore[override]
        if organizations.management_account_of(self.current_account) != self.current_account:
            # Unverified: AWS's exact wording of this refusal.
            raise OperationNotPermittedException(
                "EnableSharingWithAwsOrganization can be called only from the management "
                "account of an organization in AWS Organizations."
            )
        enable_sharing_with_organization(self.current_account)
        return ActionResult({"returnValue": True})

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
            shares = shares_of(self.ram_backend)
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
        page, token = _page(
            selected, self._get_param("nextToken"), self._get_param("maxResults"), "arn"
        )
        return ActionResult({"resourceShares": [s.to_dict() for s in page], "nextToken": token})

    def delete_resource_share(self) -> ActionResult:  # type: ignore[override]
        share = self._share(self._get_param("resourceShareArn"))
        share.delete_share()
        return ActionResult({"returnValue": True, "clientToken": self._get_param("clientToken")})

    def list_resource_share_permissions(self) -> ActionResult:
        share = self._share(self._get_param("resourceShareArn"), owned=False)
        catalogue = permission_catalogue()
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
        page, token = _page(
            summaries, self._get_param("nextToken"), self._get_param("maxResults"), "arn"
        )
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
        for share in shares_of(self.ram_backend):
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
                RUNTIME.scheduler.mark_read(association.transition)
                rows.append(association.to_dict(share))
        page, token = _page(
            rows,
            self._get_param("nextToken"),
            self._get_param("maxResults"),
            ["resourceShareArn", "associatedEntity"],
        )
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
        page, token = _page(
            selected, self._get_param("nextToken"), self._get_param("maxResults"), "arn"
        )
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
        if resource_type and resource_type.lower() not in known_resource_types():
            raise InvalidResourceTypeException(
                f"The specified resource type {resource_type} is not valid."
            )
        if owner == "SELF":
            shares = [
                s
                for s in shares_of(self.ram_backend)
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
        page, token = _page(
            rows,
            self._get_param("nextToken"),
            self._get_param("maxResults"),
            ["resourceShareArn", "arn"],
        )
        return ActionResult({"resources": page, "nextToken": token})
