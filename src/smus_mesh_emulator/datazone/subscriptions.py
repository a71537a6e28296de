"""DataZone emulation: subscription requests, subscriptions, subscription grants (fulfilled
by fulfilment.py), subscription targets.

The consumer's half of the catalog (research/workflow.md phases K, L, M and §2.2 step 1):

* a member of the consuming project asks for one ACTIVE listing (a request, PENDING);
* a member of the listing's owning project accepts or rejects it (accepting, like
  cancelling, is limited to 3 calls per second, DataZone's quota); accepting makes an
  APPROVED subscription and one grant per subscription target of the consuming project
  (its Lakehouse Database environment's target);
* a grant goes PENDING -> IN_PROGRESS -> COMPLETED while its asset goes GRANT_PENDING ->
  GRANT_IN_PROGRESS -> GRANTED, and Lake Formation and Glue change in both accounts only
  at that last moment (fulfilment.fulfil); a grant that cannot be made ends GRANT_FAILED
  with the reason in the asset's failureCause, which is what a tool must surface;
* revoking (owner), cancelling (subscriber) or deleting a grant walks the assets through
  REVOKE_PENDING -> REVOKE_IN_PROGRESS -> REVOKED and undoes exactly what was granted.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from smus_mesh_emulator.datazone import fulfilment
from smus_mesh_emulator.datazone.catalog import (
    CatalogBackend,
    is_member,
    listing_of,
    member_project,
    profile_id,
)
from smus_mesh_emulator.datazone.common import (
    Caller,
    mark_read,
    not_found,
    now,
    require,
)
from smus_mesh_emulator.datazone.domains import Domain
from smus_mesh_emulator.datazone.exceptions import (
    AccessDeniedException,
    ConflictException,
    ResourceNotFoundException,
    ThrottlingException,
    ValidationException,
)
from smus_mesh_emulator.datazone.fulfilment import FulfilmentFailure
from smus_mesh_emulator.datazone.records.catalog import Asset, Listing
from smus_mesh_emulator.datazone.records.projects import Project
from smus_mesh_emulator.datazone.records.subscriptions import (
    CustomSubscriptionTarget,
    Subscription,
    SubscriptionGrant,
    SubscriptionRequest,
)
from smus_mesh_emulator.progress import Stage
from smus_mesh_emulator.runtime import RUNTIME

#: DataZone quota: AcceptSubscriptionRequest and CancelSubscription are limited to 3
#: requests per second each (research/workflow.md §4.8); applied per domain.
DECISIONS_PER_SECOND = 3


@dataclass
class _TokenBucket:
    """Tokens left for one (domain, operation) and when they were counted (monotonic s)."""

    tokens: float
    counted_at: float


#: How DataZone meters the quota is not documented; AWS documents token buckets for the
#: APIs whose throttling it describes (EC2: a bucket that refills at the sustained rate
#: and holds a burst). Assumed here: 3 tokens, refilled at 3 per second.
_buckets: dict[tuple[str, str], _TokenBucket] = {}

GLUE_TARGET_CONFIG_FORM = "GlueSubscriptionTargetConfigForm"


def _asset_type_name(type_identifier: str) -> str:
    return type_identifier.removeprefix("amazon.datazone.")


# --- lookups -------------------------------------------------------------------------------------


def request_of(domain: Domain, identifier: str) -> SubscriptionRequest:
    request: SubscriptionRequest | None = domain.subscription_requests.get(identifier)
    if request is None:
        raise not_found("Subscription request", identifier)
    return request


def subscription_of(domain: Domain, identifier: str) -> Subscription:
    subscription: Subscription | None = domain.subscriptions.get(identifier)
    if subscription is None:
        raise not_found("Subscription", identifier)
    return subscription


def grant_of(domain: Domain, identifier: str) -> SubscriptionGrant:
    grant: SubscriptionGrant | None = domain.subscription_grants.get(identifier)
    if grant is None:
        raise not_found("Subscription grant", identifier)
    return grant


def environment_of(domain: Domain, identifier: str) -> Any:
    environment = domain.environments.get(identifier)
    if environment is None:
        raise not_found("Environment", identifier)
    return environment


def target_database(target: Any) -> str | None:
    """The Glue database a subscription target's config form names."""
    for form in target.config:
        try:
            content = json.loads(form.get("content") or "{}")
        except json.JSONDecodeError:
            continue
        if isinstance(content, dict) and content.get("databaseName"):
            return str(content["databaseName"])
    return None


def _require_either_member(domain: Domain, caller: Caller, *project_ids: str) -> None:
    if not any(is_member(domain, p, caller) for p in project_ids):
        raise AccessDeniedException(
            f"User {caller.arn} is not a member of project "
            + " or ".join(dict.fromkeys(project_ids))
        )


def _throttle(domain_id: str, operation: str) -> None:
    """ThrottlingException when the (domain, operation) bucket is empty: a burst of more
    than 3 calls, or more than 3 per second sustained (botocore retries it with backoff,
    so a well-behaved client only slows down). Under the realistic profile the second is
    scaled like every other duration: the emulated cloud runs AWS compressed in time,
    quotas included.

    A call counts when it arrived (`Runtime.arrival`), not when the emulator got round to
    it: AWS meters a quota at its front door, so calls a client paced do not become a
    burst by queueing behind the domain's lock (ADR 36)."""
    moment = RUNTIME.arrival()
    period = RUNTIME.profile.scaled(1.0)
    bucket = _buckets.setdefault((domain_id, operation), _TokenBucket(DECISIONS_PER_SECOND, moment))
    # Requests are served in about the order they came (fair locks), not exactly.
    refill = max(0.0, moment - bucket.counted_at) * DECISIONS_PER_SECOND / period
    bucket.tokens = min(float(DECISIONS_PER_SECOND), bucket.tokens + refill)
    bucket.counted_at = max(bucket.counted_at, moment)
    if bucket.tokens < 1:
        raise ThrottlingException(
            f"Rate exceeded: {operation} is limited to {DECISIONS_PER_SECOND} requests per second"
        )
    bucket.tokens -= 1


#: Attributes a list filter may look up by index: set at creation, never changed.
_INDEXED = ("subscription_id", "request_id", "project_id", "listing_id")


def _select(domain: Domain, collection: str, filters: dict[str, str | None]) -> Iterator[Any]:
    """The objects of `domain.<collection>` whose attributes equal every given filter
    (None filters ignored).

    Why an index: in a large set-up every consumer step lists by project or
    subscription, thousands of times over thousands of objects. A filter on an attribute
    fixed at creation reads the objects from a per-attribute index, rebuilt when the
    collection changed (objects are only added under new ids or removed, so its size and
    last id tell).
    """
    objects: dict[str, Any] = getattr(domain, collection)
    wanted = [(name, value) for name, value in filters.items() if value is not None]
    keyed = next(((name, value) for name, value in wanted if name in _INDEXED), None)
    candidates: Iterable[Any] = objects.values()
    if keyed is not None:
        candidates = _index(domain, collection, objects, keyed[0]).get(keyed[1], ())
    for obj in candidates:
        if all(getattr(obj, name) == value for name, value in wanted):
            yield obj


def _index(
    domain: Domain, collection: str, objects: dict[str, Any], attribute: str
) -> dict[str, list[Any]]:
    indexes: dict[tuple[str, str], tuple[tuple[int, str | None], dict[str, list[Any]]]]
    indexes = domain.__dict__.setdefault("_list_indexes", {})
    version = (len(objects), next(reversed(objects), None))
    cached = indexes.get((collection, attribute))
    if cached is not None and cached[0] == version:
        return cached[1]
    index: dict[str, list[Any]] = {}
    for obj in objects.values():
        index.setdefault(getattr(obj, attribute), []).append(obj)
    indexes[(collection, attribute)] = (version, index)
    return index


def _visible(domain: Domain, items: Iterable[Any], caller: Caller) -> list[Any]:
    """The items whose subscribing or owning project the caller is a member of (each
    project checked once per call)."""
    member: dict[str, bool] = {}

    def of(project_id: str) -> bool:
        if project_id not in member:
            member[project_id] = is_member(domain, project_id, caller)
        return member[project_id]

    return [item for item in items if of(item.project_id) or of(item.owner_project_id)]


def _sorted(items: list[Any], params: dict[str, Any]) -> list[Any]:
    key = "updated_at" if params.get("sortBy") == "UPDATED_AT" else "created_at"
    return sorted(
        items,
        key=lambda o: getattr(o, key, None) or o.created_at,
        reverse=params.get("sortOrder") == "DESCENDING",
    )


# --- the mixin -----------------------------------------------------------------------------------


class SubscriptionsBackend(CatalogBackend):
    """Subscription requests, subscriptions, grants and subscription targets."""

    # requests ------------------------------------------------------------------------------
    def create_subscription_request(self, caller: Caller, params: dict[str, Any]) -> dict[str, Any]:
        domain = self.domain_for(caller, require(params, "domainIdentifier"))
        principals = require(params, "subscribedPrincipals")
        listings = require(params, "subscribedListings")
        require(params, "requestReason")
        if len(principals) != 1 or len(listings) != 1:
            raise ValidationException(
                "Exactly one subscribed principal and one subscribed listing are required"
            )
        project_principal = principals[0].get("project")
        if not project_principal or not project_principal.get("identifier"):
            # DataZone also accepts user, group and IAM principals; the emulated workflow
            # subscribes projects only.
            raise ValidationException(
                "The emulator supports project principals only (subscribedPrincipals[0].project)"
            )
        if params.get("assetPermissions"):
            raise ValidationException(
                "assetPermissions apply to S3 object collection assets; Glue table listings "
                "take none"
            )
        project = member_project(domain, project_principal["identifier"], caller)
        listing = listing_of(domain, listings[0]["identifier"])
        if listing.status != "ACTIVE":
            raise ConflictException(
                f"Listing {listing.id} is {listing.status}; only ACTIVE listings can be "
                "subscribed to"
            )
        if listing.owning_project_id == project.id:
            # Choice: the portal offers no subscription to a project's own assets.
            raise ValidationException(
                f"Project {project.id} owns listing {listing.id}; a project cannot subscribe "
                "to its own assets"
            )
        self._check_asset_scopes(listing, params.get("assetScopes"))
        for request in domain.subscription_requests.values():
            if (
                request.project_id == project.id
                and request.listing_id == listing.id
                and request.status == "PENDING"
            ):
                raise ConflictException(
                    f"A PENDING subscription request ({request.id}) already exists for project "
                    f"{project.id} and listing {listing.id}"
                )
        for subscription in domain.subscriptions.values():
            if (
                subscription.project_id == project.id
                and subscription.listing_id == listing.id
                and subscription.status == "APPROVED"
            ):
                raise ConflictException(
                    f"Project {project.id} already has an APPROVED subscription "
                    f"({subscription.id}) to listing {listing.id}"
                )
        request = SubscriptionRequest(domain, project, listing, params, profile_id(domain, caller))
        domain.subscription_requests[request.id] = request
        return request.to_dict()

    @staticmethod
    def _check_asset_scopes(listing: Listing, scopes: list[dict[str, Any]] | None) -> None:
        for scope in scopes or []:
            if scope["assetId"] != listing.asset_id:
                raise ValidationException(
                    f"Asset scope names asset {scope['assetId']}, which listing {listing.id} "
                    "does not contain"
                )
            for filter_id in scope.get("filterIds") or []:
                # No asset filter operation is implemented, so no filter can exist.
                raise not_found("Asset filter", filter_id)

    def get_subscription_request_details(
        self, caller: Caller, params: dict[str, Any]
    ) -> dict[str, Any]:
        domain = self.domain_for(caller, require(params, "domainIdentifier"))
        request = request_of(domain, require(params, "identifier"))
        _require_either_member(domain, caller, request.project_id, request.owner_project_id)
        return request.to_dict()

    def list_subscription_requests(self, caller: Caller, params: dict[str, Any]) -> dict[str, Any]:
        domain = self.domain_for(caller, require(params, "domainIdentifier"))
        filters = {
            # "if not specified, by default, Amazon DataZone returns only PENDING
            # subscription requests" (API reference, ListSubscriptionRequests `status`)
            "status": params.get("status") or "PENDING",
            "listing_id": params.get("subscribedListingId"),
            "project_id": params.get("owningProjectId"),
            "owner_project_id": params.get("approverProjectId"),
        }
        items = _visible(domain, _select(domain, "subscription_requests", filters), caller)
        return {"items": [r.to_summary_dict() for r in _sorted(items, params)]}

    def _decidable(
        self, caller: Caller, params: dict[str, Any], verb: str
    ) -> tuple[Domain, SubscriptionRequest]:
        """The PENDING request a member of the listing's owning project may decide on."""
        domain = self.domain_for(caller, require(params, "domainIdentifier"))
        request = request_of(domain, require(params, "identifier"))
        # "You must be a member of the owning project ... to approve or reject" [SMUS-approve]
        member_project(domain, request.owner_project_id, caller)
        if request.status != "PENDING":
            raise ConflictException(
                f"Subscription request {request.id} is {request.status}; only PENDING requests "
                f"can be {verb}"
            )
        return domain, request

    @staticmethod
    def _decide(
        domain: Domain,
        request: SubscriptionRequest,
        caller: Caller,
        params: dict[str, Any],
        status: str,
    ) -> None:
        request.status = status
        request.reviewer_id = profile_id(domain, caller)
        request.updated_by = request.reviewer_id
        request.updated_at = now()
        request.decision_comment = params.get("decisionComment")

    def accept_subscription_request(self, caller: Caller, params: dict[str, Any]) -> dict[str, Any]:
        _throttle(require(params, "domainIdentifier"), "AcceptSubscriptionRequest")
        domain, request = self._decidable(caller, params, "accepted")
        listing: Listing | None = domain.listings.get(request.listing_id)
        if listing is None:
            raise ResourceNotFoundException(
                f"Listing {request.listing_id} of subscription request {request.id} no longer "
                "exists"
            )
        asset: Asset | None = domain.assets.get(listing.asset_id)
        if asset is None:
            raise ConflictException(f"Asset {listing.asset_id} of listing {listing.id} was deleted")
        if params.get("assetPermissions"):
            raise ValidationException(
                "assetPermissions apply to S3 object collection assets; Glue table listings "
                "take none"
            )
        scopes = params.get("assetScopes")
        self._check_asset_scopes(listing, scopes)
        self._decide(domain, request, caller, params, "ACCEPTED")
        if scopes:
            request.asset_scopes = list(scopes)
        subscription = Subscription(request, profile_id(domain, caller))
        domain.subscriptions[subscription.id] = subscription
        for target in domain.subscription_targets.values():
            if (
                target.project_id == subscription.project_id
                and _asset_type_name(asset.type_identifier)
                in {_asset_type_name(t) for t in target.applicable_asset_types}
                and getattr(target, "subscription_grant_creation_mode", "AUTOMATIC") != "MANUAL"
            ):
                self._create_grant(
                    domain, subscription.id, listing, asset, target, subscription.created_by
                )
        return request.to_dict()

    def reject_subscription_request(self, caller: Caller, params: dict[str, Any]) -> dict[str, Any]:
        domain, request = self._decidable(caller, params, "rejected")
        self._decide(domain, request, caller, params, "REJECTED")
        return request.to_dict()

    def delete_subscription_request(self, caller: Caller, params: dict[str, Any]) -> dict[str, Any]:
        domain = self.domain_for(caller, require(params, "domainIdentifier"))
        request = request_of(domain, require(params, "identifier"))
        _require_either_member(domain, caller, request.project_id, request.owner_project_id)
        domain.subscription_requests.pop(request.id, None)
        return {}

    # subscriptions -------------------------------------------------------------------------
    def get_subscription(self, caller: Caller, params: dict[str, Any]) -> dict[str, Any]:
        domain = self.domain_for(caller, require(params, "domainIdentifier"))
        subscription = subscription_of(domain, require(params, "identifier"))
        _require_either_member(
            domain, caller, subscription.project_id, subscription.owner_project_id
        )
        return subscription.to_dict()

    def list_subscriptions(self, caller: Caller, params: dict[str, Any]) -> dict[str, Any]:
        domain = self.domain_for(caller, require(params, "domainIdentifier"))
        filters = {
            "request_id": params.get("subscriptionRequestIdentifier"),
            # "if not provided, by default, Amazon DataZone returns only APPROVED
            # subscriptions" (API reference, ListSubscriptions `status`)
            "status": params.get("status") or "APPROVED",
            "listing_id": params.get("subscribedListingId"),
            "project_id": params.get("owningProjectId"),
            "owner_project_id": params.get("approverProjectId"),
        }
        items = _visible(domain, _select(domain, "subscriptions", filters), caller)
        return {"items": [s.to_summary_dict() for s in _sorted(items, params)]}

    def revoke_subscription(self, caller: Caller, params: dict[str, Any]) -> dict[str, Any]:
        domain = self.domain_for(caller, require(params, "domainIdentifier"))
        subscription = subscription_of(domain, require(params, "identifier"))
        member_project(domain, subscription.owner_project_id, caller)
        retain = bool(params.get("retainPermissions"))
        self._end_subscription(domain, subscription, "REVOKED", caller, revoke_access=not retain)
        subscription.retain_permissions = retain
        return subscription.to_dict()

    def cancel_subscription(self, caller: Caller, params: dict[str, Any]) -> dict[str, Any]:
        _throttle(require(params, "domainIdentifier"), "CancelSubscription")
        domain = self.domain_for(caller, params["domainIdentifier"])
        subscription = subscription_of(domain, require(params, "identifier"))
        member_project(domain, subscription.project_id, caller)
        self._end_subscription(domain, subscription, "CANCELLED", caller, revoke_access=True)
        return subscription.to_dict()

    def _end_subscription(
        self,
        domain: Domain,
        subscription: Subscription,
        status: str,
        caller: Caller,
        revoke_access: bool,
    ) -> None:
        """REVOKED / CANCELLED at once (the status enum has no in-progress value); the
        grants show the revocation's progress. With retainPermissions, grants and access
        stay as they are."""
        if subscription.status != "APPROVED":
            raise ConflictException(
                f"Subscription {subscription.id} is {subscription.status}; only APPROVED "
                "subscriptions can be revoked or cancelled"
            )
        subscription.status = status
        subscription.updated_by = profile_id(domain, caller)
        subscription.updated_at = now()
        if revoke_access:
            grants = _select(domain, "subscription_grants", {"subscription_id": subscription.id})
            for grant in list(grants):
                if not grant.revoked:
                    self._start_revoking(domain, grant)

    # grants --------------------------------------------------------------------------------
    def _create_grant(
        self,
        domain: Domain,
        subscription_id: str | None,
        listing: Listing,
        asset: Asset,
        target: Any,
        created_by: str,
        wanted_name: str | None = None,
    ) -> SubscriptionGrant:
        grant = SubscriptionGrant(
            domain, subscription_id, listing, asset, target, created_by, wanted_name
        )
        domain.subscription_grants[grant.id] = grant
        asset_status = {"PENDING": "GRANT_PENDING", "IN_PROGRESS": "GRANT_IN_PROGRESS"}

        def fulfilled() -> None:
            self._fulfil(domain, grant)

        self._walk(grant, "subscription_grant.grant", asset_status, fulfilled)
        return grant

    @staticmethod
    def _walk(
        grant: SubscriptionGrant,
        kind: str,
        asset_status: dict[str, str],
        on_complete: Callable[[], None],
    ) -> None:
        """PENDING -> IN_PROGRESS -> COMPLETED, the assets following `asset_status`; the
        completion decides the assets' final status."""
        RUNTIME.scheduler.cancel(grant.transition)

        def apply(status: str) -> None:
            grant.status = status
            grant.updated_at = now()
            for asset in grant.assets:
                asset.status = asset_status.get(status, asset.status)

        grant.transition = RUNTIME.scheduler.start(
            [Stage("PENDING"), Stage("IN_PROGRESS", kind)],
            "COMPLETED",
            apply,
            on_complete,
            label=f"SubscriptionGrant:{grant.id}",
        )

    def _fulfil(self, domain: Domain, grant: SubscriptionGrant) -> None:
        target = domain.subscription_targets.get(grant.target_id)
        environment = domain.environments.get(grant.environment_id)
        for asset in grant.assets:
            try:
                if target is None or environment is None:
                    raise FulfilmentFailure(
                        f"Subscription target {grant.target_id} (environment "
                        f"{grant.environment_id}) no longer exists"
                    )
                database = target_database(target)
                if database is None:
                    raise FulfilmentFailure(
                        f"Subscription target {target.id} names no Glue database in its "
                        f"{GLUE_TARGET_CONFIG_FORM}"
                    )
                asset.fulfilment = fulfilment.fulfil(
                    domain,
                    asset.table,
                    str(environment.account_id),
                    database,
                    list(target.authorized_principals),
                    target.manage_access_role,
                    asset.wanted_name,
                )
            except FulfilmentFailure as failure:
                asset.status = "GRANT_FAILED"
                asset.failure_cause = str(failure)
                asset.failed_at = now()
                continue
            asset.status = "GRANTED"
            asset.target_name = asset.fulfilment.target_name
            asset.granted_at = now()
            asset.failure_cause = None
            asset.failed_at = None
        if any(a.status == "GRANT_FAILED" for a in grant.assets):
            grant.status = "GRANT_FAILED"

    def _start_revoking(self, domain: Domain, grant: SubscriptionGrant) -> None:
        asset_status = {"PENDING": "REVOKE_PENDING", "IN_PROGRESS": "REVOKE_IN_PROGRESS"}

        def revoked() -> None:
            self._revoke(domain, grant)

        self._walk(grant, "subscription_grant.revoke", asset_status, revoked)

    def _revoke(self, domain: Domain, grant: SubscriptionGrant) -> None:
        """Undo what the grant's assets did, keeping what other live grants also rely on."""
        RUNTIME.scheduler.cancel(grant.transition)
        for asset in grant.assets:
            if asset.fulfilment is not None:
                fulfilment.revoke(domain, asset.fulfilment)
                asset.fulfilment = None
            asset.status = "REVOKED"
        grant.status = "COMPLETED"
        grant.updated_at = now()
        if grant.delete_when_revoked:
            domain.subscription_grants.pop(grant.id, None)

    def create_subscription_grant(self, caller: Caller, params: dict[str, Any]) -> dict[str, Any]:
        domain = self.domain_for(caller, require(params, "domainIdentifier"))
        environment = environment_of(domain, require(params, "environmentIdentifier"))
        member_project(domain, environment.project_id, caller)
        entity = require(params, "grantedEntity").get("listing") or {}
        listing = listing_of(domain, require(entity, "identifier"))
        if entity.get("revision") not in (None, str(listing.revision)):
            raise ResourceNotFoundException(
                f"Listing {listing.id} revision {entity['revision']} not found (latest is "
                f"{listing.revision})"
            )
        target_id = params.get("subscriptionTargetIdentifier")
        targets = [
            t
            for t in domain.subscription_targets.values()
            if t.environment_id == environment.id and target_id in (None, t.id)
        ]
        if not targets:
            raise ResourceNotFoundException(
                f"Subscription target {target_id} not found in environment {environment.id}"
                if target_id
                else f"Environment {environment.id} has no subscription target"
            )
        target = targets[0]
        subscription = next(
            (
                s
                for s in domain.subscriptions.values()
                if s.project_id == environment.project_id
                and s.listing_id == listing.id
                and s.status == "APPROVED"
            ),
            None,
        )
        if subscription is None:
            raise ValidationException(
                f"Project {environment.project_id} has no APPROVED subscription to listing "
                f"{listing.id}"
            )
        if any(
            g.target_id == target.id and g.listing_id == listing.id and not g.revoked
            for g in domain.subscription_grants.values()
        ):
            raise ConflictException(
                f"Listing {listing.id} is already granted to subscription target {target.id}"
            )
        asset: Asset | None = domain.assets.get(listing.asset_id)
        if asset is None:
            raise ConflictException(f"Asset {listing.asset_id} of listing {listing.id} was deleted")
        names = {n["assetId"]: n["targetName"] for n in params.get("assetTargetNames") or []}
        grant = self._create_grant(
            domain,
            subscription.id,
            listing,
            asset,
            target,
            profile_id(domain, caller),
            names.get(asset.id),
        )
        return grant.to_dict()

    def get_subscription_grant(self, caller: Caller, params: dict[str, Any]) -> dict[str, Any]:
        domain = self.domain_for(caller, require(params, "domainIdentifier"))
        grant = grant_of(domain, require(params, "identifier"))
        _require_either_member(domain, caller, grant.project_id, grant.owner_project_id)
        mark_read(grant)
        return grant.to_dict()

    def list_subscription_grants(self, caller: Caller, params: dict[str, Any]) -> dict[str, Any]:
        domain = self.domain_for(caller, require(params, "domainIdentifier"))
        filters = {
            "environment_id": params.get("environmentId"),
            "target_id": params.get("subscriptionTargetId"),
            "listing_id": params.get("subscribedListingId"),
            "subscription_id": params.get("subscriptionId"),
            "project_id": params.get("owningProjectId"),
        }
        items = _visible(domain, _select(domain, "subscription_grants", filters), caller)
        mark_read(*items)
        return {"items": [g.to_summary_dict() for g in _sorted(items, params)]}

    def delete_subscription_grant(self, caller: Caller, params: dict[str, Any]) -> dict[str, Any]:
        """Revoke (if needed) and delete: gone at once when nothing is granted any more,
        else once the revocation has run (poll GetSubscriptionGrant until 404)."""
        domain = self.domain_for(caller, require(params, "domainIdentifier"))
        grant = grant_of(domain, require(params, "identifier"))
        _require_either_member(domain, caller, grant.project_id, grant.owner_project_id)
        grant.updated_by = profile_id(domain, caller)
        grant.delete_when_revoked = True
        revoking = any(a.status.startswith("REVOKE_") for a in grant.assets)
        if revoking:
            pass  # the running revocation deletes it when done
        elif any(a.fulfilment is not None for a in grant.assets):
            self._start_revoking(domain, grant)
        else:
            self._revoke(domain, grant)  # nothing was granted: gone at once
        return grant.to_dict()

    # subscription targets ----------------------------------------------------------------------
    def list_subscription_targets(self, caller: Caller, params: dict[str, Any]) -> dict[str, Any]:
        domain = self.domain_for(caller, require(params, "domainIdentifier"))
        environment = environment_of(domain, require(params, "environmentIdentifier"))
        member_project(domain, environment.project_id, caller)
        targets = [
            t for t in domain.subscription_targets.values() if t.environment_id == environment.id
        ]
        return {"items": [t.to_dict() for t in _sorted(targets, params)]}

    def get_subscription_target(self, caller: Caller, params: dict[str, Any]) -> dict[str, Any]:
        domain = self.domain_for(caller, require(params, "domainIdentifier"))
        environment = environment_of(domain, require(params, "environmentIdentifier"))
        member_project(domain, environment.project_id, caller)
        identifier = require(params, "identifier")
        target = domain.subscription_targets.get(identifier)
        if target is None or target.environment_id != environment.id:
            raise not_found("Subscription target", identifier)
        return dict(target.to_dict())

    def create_subscription_target(self, caller: Caller, params: dict[str, Any]) -> dict[str, Any]:
        domain = self.domain_for(caller, require(params, "domainIdentifier"))
        environment = environment_of(domain, require(params, "environmentIdentifier"))
        member_project(domain, environment.project_id, caller)
        for member in (
            "name",
            "type",
            "subscriptionTargetConfig",
            "authorizedPrincipals",
            "manageAccessRole",
            "applicableAssetTypes",
        ):
            require(params, member)
        if any(
            t.environment_id == environment.id and t.name == params["name"]
            for t in domain.subscription_targets.values()
        ):
            raise ConflictException(
                f"Environment {environment.id} already has a subscription target named "
                f"{params['name']}"
            )
        target = CustomSubscriptionTarget(domain, environment, params, profile_id(domain, caller))
        domain.subscription_targets[target.id] = target
        return target.to_dict()

    def delete_subscription_target(self, caller: Caller, params: dict[str, Any]) -> dict[str, Any]:
        domain = self.domain_for(caller, require(params, "domainIdentifier"))
        environment = environment_of(domain, require(params, "environmentIdentifier"))
        member_project(domain, environment.project_id, caller)
        identifier = require(params, "identifier")
        target = domain.subscription_targets.get(identifier)
        if target is None or target.environment_id != environment.id:
            raise not_found("Subscription target", identifier)
        live = [
            g.id
            for g in domain.subscription_grants.values()
            if g.target_id == target.id and not g.revoked
        ]
        if live:
            raise ConflictException(
                f"Subscription target {target.id} still has subscription grants "
                f"({', '.join(live)}); revoke or delete them first"
            )
        domain.subscription_targets.pop(target.id, None)
        return {}

    # project deletion -----------------------------------------------------------------------------
    def _release_project(self, domain: Domain, project: Project, driven: bool) -> None:
        """A project is being deleted: revoke at once every grant that involves it (as
        subscriber, as owner, or through its subscription targets) and forget its requests;
        the project's own subscriptions go with it, while subscriptions others hold to its
        listings stay, REVOKED. Then its catalog objects and environments go."""
        for grant in list(domain.subscription_grants.values()):
            if project.id in (grant.project_id, grant.owner_project_id):
                grant.delete_when_revoked = True
                self._revoke(domain, grant)
        for subscription in list(domain.subscriptions.values()):
            if subscription.project_id == project.id:
                domain.subscriptions.pop(subscription.id, None)
            elif subscription.owner_project_id == project.id and subscription.status == "APPROVED":
                subscription.status = "REVOKED"
                subscription.updated_at = now()
        for request in list(domain.subscription_requests.values()):
            if project.id in (request.project_id, request.owner_project_id):
                domain.subscription_requests.pop(request.id, None)
        super()._release_project(domain, project, driven)
