"""DataZone records of subscriptions: requests, subscriptions, grants and custom subscription
targets (the operations and their fulfilment are in subscriptions.py and fulfilment.py)."""

from __future__ import annotations

import copy
from datetime import datetime
from typing import Any

from smus_mesh_emulator.datazone.common import (
    DomainScope,
    drop_none,
    new_id,
    now,
)
from smus_mesh_emulator.datazone.ledger import Fulfilment, TableRef
from smus_mesh_emulator.datazone.records.catalog import (
    Asset,
    Listing,
)
from smus_mesh_emulator.datazone.records.projects import Project, ProjectScope


def _form_output(form: dict[str, Any]) -> dict[str, Any]:
    return drop_none(
        {
            "formName": form["formName"],
            "typeName": form.get("typeIdentifier"),
            "typeRevision": form.get("typeRevision"),
            "content": form.get("content"),
        }
    )


class SubscriptionRequest:
    """A project's request for one listing."""

    def __init__(
        self,
        domain: ProjectScope,
        project: Project,
        listing: Listing,
        params: dict[str, Any],
        created_by: str,
    ) -> None:
        self.id = new_id(14)
        self.domain_id = domain.id
        self.status = "PENDING"
        self.created_by = created_by
        self.updated_by: str | None = None
        self.created_at: datetime = now()
        self.updated_at: datetime = self.created_at
        self.request_reason: str = params["requestReason"]
        self.project_id: str = project.id
        self.project_name: str = project.name
        self.listing_id = listing.id
        self.owner_project_id = listing.owning_project_id
        self.listing = listing.subscribed_listing(domain)
        self.asset_scopes: list[dict[str, Any]] = list(params.get("assetScopes") or [])
        self.metadata_forms = [_form_output(f) for f in params.get("metadataForms") or []]
        self.reviewer_id: str | None = None
        self.decision_comment: str | None = None
        self.existing_subscription_id: str | None = None

    def subscribed_listings(self) -> list[dict[str, Any]]:
        listing = copy.deepcopy(self.listing)
        if self.asset_scopes:
            scope = self.asset_scopes[0]
            listing["item"]["assetListing"]["assetScope"] = {
                "assetId": scope["assetId"],
                "filterIds": list(scope.get("filterIds") or []),
                "status": self.status,
            }
        return [listing]

    def _common(self) -> dict[str, Any]:
        return drop_none(
            {
                "id": self.id,
                "createdBy": self.created_by,
                "updatedBy": self.updated_by,
                "domainId": self.domain_id,
                "status": self.status,
                "createdAt": self.created_at,
                "updatedAt": self.updated_at,
                "requestReason": self.request_reason,
                "subscribedPrincipals": [
                    {"project": {"id": self.project_id, "name": self.project_name}}
                ],
                "subscribedListings": self.subscribed_listings(),
                "reviewerId": self.reviewer_id,
                "decisionComment": self.decision_comment,
                "existingSubscriptionId": self.existing_subscription_id,
            }
        )

    def to_dict(self) -> dict[str, Any]:
        result = self._common()
        if self.metadata_forms:
            result["metadataForms"] = self.metadata_forms
        return result

    def to_summary_dict(self) -> dict[str, Any]:
        result = self._common()
        summaries = [
            {k: f[k] for k in ("formName", "typeName", "typeRevision")}
            for f in self.metadata_forms
            if f.get("typeName") and f.get("typeRevision")
        ]
        if summaries:
            result["metadataFormsSummary"] = summaries
        return result


class Subscription:
    """An accepted request: the consuming project may use the listing while APPROVED."""

    def __init__(self, request: SubscriptionRequest, created_by: str) -> None:
        self.id = new_id(14)
        self.domain_id = request.domain_id
        self.status = "APPROVED"
        self.created_by = created_by
        self.updated_by: str | None = None
        self.created_at: datetime = now()
        self.updated_at: datetime = self.created_at
        self.project_id = request.project_id
        self.project_name = request.project_name
        self.listing_id = request.listing_id
        self.owner_project_id = request.owner_project_id
        self.listing = request.subscribed_listings()[0]
        self.request_id = request.id
        self.retain_permissions: bool | None = None

    def to_dict(self) -> dict[str, Any]:
        return drop_none(
            {
                "id": self.id,
                "createdBy": self.created_by,
                "updatedBy": self.updated_by,
                "domainId": self.domain_id,
                "status": self.status,
                "createdAt": self.created_at,
                "updatedAt": self.updated_at,
                "subscribedPrincipal": {
                    "project": {"id": self.project_id, "name": self.project_name}
                },
                "subscribedListing": self.listing,
                "subscriptionRequestId": self.request_id,
                "retainPermissions": self.retain_permissions,
            }
        )

    to_summary_dict = to_dict


class GrantedAsset:
    """One asset of a grant, and what granting it did (to be undone on revocation)."""

    def __init__(self, asset: Asset, wanted_name: str | None) -> None:
        self.asset_id = asset.id
        self.asset_revision = str(asset.revision)
        self.table: TableRef = asset.table
        self.wanted_name = wanted_name
        self.status = "GRANT_PENDING"
        self.target_name: str | None = None
        self.failure_cause: str | None = None
        self.granted_at: datetime | None = None
        self.failed_at: datetime | None = None
        self.fulfilment: Fulfilment | None = None

    def to_dict(self) -> dict[str, Any]:
        return drop_none(
            {
                "assetId": self.asset_id,
                "assetRevision": self.asset_revision,
                "status": self.status,
                "targetName": self.target_name,
                "failureCause": {"message": self.failure_cause} if self.failure_cause else None,
                "grantedTimestamp": self.granted_at,
                "failureTimestamp": self.failed_at,
            }
        )


class SubscriptionGrant:
    """A listing granted to one subscription target (one environment of the consumer)."""

    def __init__(
        self,
        domain: DomainScope,
        subscription_id: str | None,
        listing: Listing,
        asset: Asset,
        target: Any,
        created_by: str,
        wanted_name: str | None = None,
    ) -> None:
        self.id = new_id(14)
        self.domain_id = domain.id
        self.created_by = created_by
        self.updated_by: str | None = None
        self.created_at: datetime = now()
        self.updated_at: datetime = self.created_at
        self.environment_id: str = target.environment_id
        self.target_id: str = target.id
        self.project_id: str = target.project_id
        self.listing_id = listing.id
        self.listing_revision = str(listing.revision)
        self.owner_project_id = listing.owning_project_id
        self.subscription_id = subscription_id
        self.status = "PENDING"
        self.assets = [GrantedAsset(asset, wanted_name)]
        self.transition: Any = None
        #: Set by DeleteSubscriptionGrant: the grant disappears once revoked.
        self.delete_when_revoked = False

    def to_dict(self) -> dict[str, Any]:
        return drop_none(
            {
                "id": self.id,
                "createdBy": self.created_by,
                "updatedBy": self.updated_by,
                "domainId": self.domain_id,
                "createdAt": self.created_at,
                "updatedAt": self.updated_at,
                "environmentId": self.environment_id,
                "subscriptionTargetId": self.target_id,
                "grantedEntity": {
                    "listing": {"id": self.listing_id, "revision": self.listing_revision}
                },
                "status": self.status,
                "assets": [a.to_dict() for a in self.assets],
                "subscriptionId": self.subscription_id,
            }
        )

    to_summary_dict = to_dict

    @property
    def revoked(self) -> bool:
        return all(a.status == "REVOKED" for a in self.assets)


class CustomSubscriptionTarget:
    """A subscription target made with CreateSubscriptionTarget (DataZone makes the
    Lakehouse Database environment's own target itself, see projects.SubscriptionTarget);
    same attributes, so grants treat both alike."""

    def __init__(
        self, domain: DomainScope, environment: Any, params: dict[str, Any], created_by: str
    ) -> None:
        self.id = new_id(14)
        self.domain_id = domain.id
        self.project_id: str = environment.project_id
        self.environment_id: str = environment.id
        self.name: str = params["name"]
        self.type: str = params["type"]
        self.applicable_asset_types: list[str] = list(params["applicableAssetTypes"])
        self.authorized_principals: list[str] = list(params["authorizedPrincipals"])
        self.manage_access_role: str = params["manageAccessRole"]
        self.provider: str = params.get("provider") or "Amazon DataZone"
        self.config: list[dict[str, Any]] = list(params["subscriptionTargetConfig"])
        self.subscription_grant_creation_mode: str = (
            params.get("subscriptionGrantCreationMode") or "AUTOMATIC"
        )
        self.created_by = created_by
        self.created_at: datetime = now()

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "authorizedPrincipals": self.authorized_principals,
            "domainId": self.domain_id,
            "projectId": self.project_id,
            "environmentId": self.environment_id,
            "name": self.name,
            "type": self.type,
            "createdBy": self.created_by,
            "createdAt": self.created_at,
            "manageAccessRole": self.manage_access_role,
            "applicableAssetTypes": self.applicable_asset_types,
            "subscriptionTargetConfig": self.config,
            "provider": self.provider,
            "subscriptionGrantCreationMode": self.subscription_grant_creation_mode,
        }
