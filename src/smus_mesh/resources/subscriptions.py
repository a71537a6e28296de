# Over 800 lines: workflow phases K, L and M, whose steps share the reads of a consumer's
# requests, subscriptions and grants (`_of_consumer`, `GrantPolls`) and the revocation.
"""The consumer side (workflow.md phases K, L, M): the subscription request, the
producer's decision under its approval policy, and the grant DataZone fulfils.

* A request is made only when the consumer project holds no pending request and no
  approved subscription for the listing, so re-running `up` never asks twice.
* The decision follows the producer project's `approval` policy: `auto` accepts,
  `rules` accepts or rejects by consumer project, table and requester, `manual`
  leaves it to `smus-mesh approve` / `reject` (then `up` stops at the request).
* The grant step waits until every grant reads COMPLETED with every asset GRANTED,
  and fails with DataZone's failure cause otherwise.
* A subscription the config marks `state: unsubscribed`, or that `smus-mesh
  unsubscribe` ended (recorded in the state file), is not asked for again: `up`
  cancels what is still subscribed or pending, and the other two steps stand aside.
"""

from __future__ import annotations

import fnmatch
import time
from typing import Any

from botocore.exceptions import ClientError

from smus_mesh.config import ApprovalConfig
from smus_mesh.errors import FailedStatus, StepError
from smus_mesh.resources.base import Observed, Resource, Status, register
from smus_mesh.resources.context import Context
from smus_mesh.resources.datazone import is_conflict, is_not_found, joined_unless_made, paginate

_DZ = "datazone:"

GRANT_IN_PROGRESS = ("PENDING", "IN_PROGRESS")
AWAITING_APPROVAL = "no grant: the request awaits approval"
UNSUBSCRIBED = "unsubscribed (the config or `smus-mesh unsubscribe`)"
GRANT_FAILED = ("GRANT_FAILED", "REVOKE_FAILED", "GRANT_AND_REVOKE_FAILED", "INACCESSIBLE")
SUBSCRIPTION_ENDED = ("REVOKED", "CANCELLED")
#: Every status of a request (ListSubscriptionRequests lists one per call).
REQUEST_STATUSES = ("PENDING", "ACCEPTED", "REJECTED")
#: Ids an observation found (None: not looked at, list them).
Ids = list[str] | None


def find_listing(
    ctx: Context, account: str, domain_id: str, producer_id: str, asset_id: str, text: str
) -> str | None:
    """The listing of an asset as a consumer finds it: through the catalog search.

    Once found, the answer holds for the run in that account: the consumer projects of
    a table need not each search, nor wait for the search index, again (ADR 42)."""
    key = f"listing:{account}:{domain_id}:{producer_id}:{asset_id}"
    return ctx.memo_found(
        key, lambda: _search_listing(ctx, account, domain_id, producer_id, asset_id, text)
    )


def _search_listing(
    ctx: Context, account: str, domain_id: str, producer_id: str, asset_id: str, text: str
) -> str | None:
    """One search, shared with the steps that ask it at the same time: a table's consumer
    projects ask as soon as it is published, all at once."""

    def fetch() -> list[dict[str, Any]]:
        return list(
            paginate(
                ctx.client(account, "datazone"),
                "search_listings",
                "items",
                domainIdentifier=domain_id,
                searchText=text,
                filters={"filter": {"attribute": "owningProjectId", "value": producer_id}},
            )
        )

    for item in ctx.fresh_list(("search_listings", account, domain_id, producer_id, text), fetch):
        listing = item.get("assetListing")
        if listing and listing.get("entityId") == asset_id:
            return str(listing["listingId"])
    return None


def _of_consumer(
    ctx: Context,
    account: str,
    operation: str,
    domain_id: str,
    listing_id: str,
    consumer_id: str,
    statuses: tuple[str, ...],
) -> list[dict[str, Any]]:
    """A consumer project's subscriptions or requests in `statuses` for one listing, oldest
    first.

    One List call per status: the API filters by one status, and without one answers
    only PENDING requests / APPROVED subscriptions (botocore model, `status`), so a
    decision asks for each status it needs, and no more.

    During an observation, which reads every step at once, listed per project (workflow.md
    K: `owningProjectId`) and shared between the steps of that project: one call for a
    hundred tables. A step acting at its own moment asks DataZone for its listing only
    (`subscribedListingId`): the project's whole list, read again by each of its steps as
    their moments come, was a third of the tool's CPU at 20 x 100 (ADR 42). Either answer
    is shared with the callers that overlap, grouped by listing once (`fresh_groups`).
    """
    items: list[dict[str, Any]] = []
    for status in statuses:
        kwargs: dict[str, Any] = {
            "domainIdentifier": domain_id,
            "owningProjectId": consumer_id,
            "status": status,
        }
        scope: tuple[str, ...] = (account, operation, domain_id, consumer_id, status)
        if ctx.observing_since is None:
            kwargs["subscribedListingId"] = listing_id
            scope = (*scope, listing_id)

        def fetch(kwargs: dict[str, Any] = kwargs) -> list[dict[str, Any]]:
            return list(paginate(ctx.client(account, "datazone"), operation, "items", **kwargs))

        items += ctx.fresh_groups(scope, fetch, _listing_ids).get(listing_id, [])
    return sorted(items, key=lambda r: str(r.get("updatedAt") or r.get("createdAt") or ""))


def _listing_ids(item: dict[str, Any]) -> list[str]:
    """The listings a subscription (`subscribedListing`) or request (`subscribedListings`)
    is about."""
    listings = item.get("subscribedListings") or [item.get("subscribedListing") or {}]
    return [str(listing["id"]) for listing in listings if listing.get("id")]


def subscriptions_of(
    ctx: Context,
    account: str,
    domain_id: str,
    listing_id: str,
    consumer_id: str,
    status: str,
    *statuses: str,
) -> list[dict[str, Any]]:
    """The consumer's subscriptions to the listing in any of the statuses named (APPROVED,
    REVOKED, CANCELLED), oldest first: one ListSubscriptions per status."""
    return _of_consumer(
        ctx, account, "list_subscriptions", domain_id, listing_id, consumer_id, (status, *statuses)
    )


def requests_of(
    ctx: Context,
    account: str,
    domain_id: str,
    listing_id: str,
    consumer_id: str,
    status: str,
    *statuses: str,
) -> list[dict[str, Any]]:
    """The consumer's requests for the listing in any of the statuses named (PENDING,
    ACCEPTED, REJECTED), oldest first: one ListSubscriptionRequests per status."""
    return _of_consumer(
        ctx,
        account,
        "list_subscription_requests",
        domain_id,
        listing_id,
        consumer_id,
        (status, *statuses),
    )


def current_request(
    ctx: Context, account: str, domain_id: str, listing_id: str, consumer_id: str
) -> dict[str, Any] | None:
    """The request that decides for the consumer and listing: the latest PENDING one, else
    the latest decided one (ACCEPTED or REJECTED), else None. The decided ones are read
    only when none is pending: the calls a decision needs."""
    pending = requests_of(ctx, account, domain_id, listing_id, consumer_id, "PENDING")
    if pending:
        return pending[-1]
    decided = requests_of(ctx, account, domain_id, listing_id, consumer_id, "ACCEPTED", "REJECTED")
    return decided[-1] if decided else None


def grants_of(
    ctx: Context, account: str, domain_id: str, subscription_id: str
) -> list[dict[str, Any]]:
    """A subscription's grants (one read; a wait polls with `GrantPolls`)."""
    return GrantPolls(ctx, account, domain_id, subscription_id).read()


class GrantPolls:
    """Successive reads of one subscription's grants, for a wait's polls.

    With `by` (a List filter: `subscribedListingId` or `owningProjectId` and its value),
    each read is the grants of that listing or consumer project, listed once for every
    step polling the same (`Context.list_newer_than`: a thousand waits need one call per
    listing or project and round, not one each), narrowed to those whose summary names
    the subscription. A grant wait polls by listing. A revocation polls by consumer
    project: `down` revokes a project's subscriptions together, so their waits overlap,
    while a listing's subscriptions, one per consumer, are revoked far apart (ADR 43).
    A read is always of a call that began after the previous read's (the first: after
    `since`, the call the wait is about, so a revocation is seen; or fresh as
    `Context.fresh_since` says), and, from the second read on, in the second half of the
    time since the previous read, so that sharing delays what a wait sees by half a poll
    interval at most.
    The summary's `subscriptionId` is deprecated ("multiple subscriptions can exist for a
    single grant"): when no shared grant names the subscription, the subscription's own
    list is read instead, as without `by` (so a filter DataZone read otherwise would cost
    calls, not correctness).
    """

    def __init__(
        self,
        ctx: Context,
        account: str,
        domain_id: str,
        subscription_id: str,
        by: tuple[str, str] | None = None,
        since: float | None = None,
    ) -> None:
        self.ctx = ctx
        self.account = account
        self.domain_id = domain_id
        self.subscription_id = subscription_id
        self.by = by
        #: when the call of the last answer began (at first: what the reads must be newer than)
        self._known = ctx.fresh_since() if since is None else since
        #: when the previous read was asked (None before the first)
        self._asked: float | None = None

    def _listed(self, **by: str) -> list[dict[str, Any]]:
        return list(
            paginate(
                self.ctx.client(self.account, "datazone"),
                "list_subscription_grants",
                "items",
                domainIdentifier=self.domain_id,
                **by,
            )
        )

    def read(self) -> list[dict[str, Any]]:
        now = time.monotonic()
        newer_than = self._known
        if self._asked is not None:
            newer_than = max(newer_than, (self._asked + now) / 2)
        self._asked = now
        if self.by:
            name, value = self.by
            scope = (self.account, "list_subscription_grants", self.domain_id, name, value)
            shared, self._known = self.ctx.list_newer_than(
                scope, lambda: self._listed(**{name: value}), newer_than
            )
            named = [g for g in shared if g.get("subscriptionId") == self.subscription_id]
            if named:
                return named
        self._known = time.monotonic()
        return self._listed(subscriptionId=self.subscription_id)


def grant_state(grants: list[dict[str, Any]]) -> Observed:
    """Collapse a subscription's grants: COMPLETED + every asset GRANTED, or why not."""
    if not grants:
        return Observed(Status.IN_PROGRESS, detail="waiting for DataZone to create the grant")
    failures = []
    waiting = []
    for grant in grants:
        assets = grant.get("assets", [])
        for asset in assets:
            if asset.get("status") in ("GRANT_FAILED", "REVOKE_FAILED"):
                cause = (asset.get("failureCause") or {}).get("message", "no reason given")
                failures.append(f"asset {asset.get('assetId')}: {asset['status']}: {cause}")
        if grant.get("status") in GRANT_FAILED and not failures:
            failures.append(f"grant {grant['id']}: {grant['status']}")
        if grant.get("status") in GRANT_IN_PROGRESS or any(
            a.get("status") != "GRANTED" for a in assets
        ):
            waiting.append(
                f"{grant.get('status')}/" + ",".join(a.get("status", "?") for a in assets)
            )
    if failures:
        return Observed(Status.FAILED, detail="; ".join(failures))
    if waiting:
        return Observed(Status.IN_PROGRESS, detail="grant " + "; ".join(waiting))
    return Observed(
        Status.COMPLETE,
        detail="GRANTED",
        outputs={
            "grants": [
                {
                    "id": g["id"],
                    "environment_id": g.get("environmentId", ""),
                    "target_id": g.get("subscriptionTargetId", ""),
                    "targets": [a.get("targetName", "") for a in g.get("assets", [])],
                }
                for g in grants
            ]
        },
    )


class _SubscriptionBase(Resource):
    #: Each subscription step tells where it ended (pending, accepted, rejected with the
    #: producer's comment, granted): a rejection is not a failure of `up`, but news.
    reports_outcome = True

    def __init__(
        self,
        consumer: str,
        table: str,
        domain_account: str,
        domain_key: str,
        consumer_key: str,
        producer_key: str,
        listing_key: str,
        depends_on: tuple[str, ...],
    ) -> None:
        super().__init__(f"{consumer}/{table}", domain_account, depends_on)
        self.consumer = consumer
        self.table = table
        self.domain_key = domain_key
        self.consumer_key = consumer_key
        self.producer_key = producer_key
        self.listing_key = listing_key

    def belongs_to(self) -> tuple[str, ...]:
        return (self.listing_key,)

    def ids(self, ctx: Context) -> tuple[str, str, str]:
        return (
            ctx.output(self.domain_key, "id"),
            ctx.output(self.listing_key, "listing_id"),
            ctx.output(self.consumer_key, "id"),
        )


@register
class SubscriptionRequest(_SubscriptionBase):
    """The consumer project's request for a published table (one per project and table).

    Example::

        subscriptions:
          - {project: consumer, tables: [inventory], reason: "stock dashboards"}
    """

    kind = "datazone:subscription-request"
    async_delete = ("subscription_grant.revoke",)
    iam_actions = (
        _DZ + "SearchListings",
        _DZ + "CreateSubscriptionRequest",
        _DZ + "ListSubscriptionRequests",
        _DZ + "ListSubscriptions",
        _DZ + "RevokeSubscription",
        _DZ + "GetSubscription",
        _DZ + "ListSubscriptionGrants",
        _DZ + "DeleteSubscriptionGrant",
        _DZ + "DeleteSubscriptionRequest",
    )

    updatable = True

    def __init__(self, *args: Any, reason: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.reason = reason

    def observe(self, ctx: Context) -> Observed:
        observed = joined_unless_made(ctx, self.key, self._observe(ctx))  # ADR 48
        if ctx.subscription_wanted(self.consumer, self.table):
            return observed
        status = observed.identity.get("request_status")
        if status in ("APPROVED", "PENDING"):
            return Observed(
                Status.COMPLETE,
                observed.identity,
                detail=f"{observed.detail}; to be cancelled",
                owned=observed.owned,
                drift=(f"{status.lower()}, but {UNSUBSCRIBED}",),
            )
        identity = {**observed.identity, "request_status": "UNSUBSCRIBED"}
        return Observed(Status.COMPLETE, identity, detail=UNSUBSCRIBED, owned=True)

    def update(self, ctx: Context, observed: Observed) -> None:
        """Unsubscribed: cancel the approved subscription (consumer side), delete a
        pending request."""
        domain_id, listing_id, consumer_id = self.ids(ctx)
        approved = observed.identity.get("approved")
        if approved:
            revoke_subscriptions(
                ctx, self, domain_id, listing_id, consumer_id, cancel=True, approved=approved
            )
        self._delete_pending(ctx, domain_id, listing_id, consumer_id)

    def _observe(self, ctx: Context) -> Observed:
        domain_id, listing_id, consumer_id = self.ids(ctx)
        identity: dict[str, Any] = {"domain_id": domain_id, "listing_id": listing_id}
        approved = subscriptions_of(
            ctx, self.account, domain_id, listing_id, consumer_id, "APPROVED"
        )
        if approved:
            identity["subscription_id"] = approved[0]["id"]
            identity["request_id"] = approved[0].get("subscriptionRequestId", "")
            # Every approved one (normally one): what `delete` revokes, without listing again.
            identity["approved"] = [s["id"] for s in approved]
            identity["request_status"] = "APPROVED"
            if ctx.observing_since is not None:  # for `delete`, from the shared list (ADR 43)
                pending = requests_of(
                    ctx, self.account, domain_id, listing_id, consumer_id, "PENDING"
                )
                identity["pending"] = [r["id"] for r in pending]
            return Observed(Status.COMPLETE, identity, detail="subscribed", owned=True)
        latest = current_request(ctx, self.account, domain_id, listing_id, consumer_id)
        if latest is not None and latest["status"] == "PENDING":
            identity["request_id"] = latest["id"]
            identity["request_status"] = "PENDING"
            return Observed(Status.COMPLETE, identity, detail="request PENDING", owned=True)
        if latest is not None and latest["status"] == "REJECTED":
            identity["request_id"] = latest["id"]
            identity["request_status"] = "REJECTED"
            comment = latest.get("decisionComment") or "no comment"
            return Observed(Status.COMPLETE, identity, detail=f"REJECTED ({comment})", owned=True)
        if latest is not None and latest["status"] == "ACCEPTED":
            # Accepted, but no APPROVED subscription: not created yet, or revoked or
            # cancelled since. The config still wants it, so a revoked one is asked again.
            ended = subscriptions_of(
                ctx, self.account, domain_id, listing_id, consumer_id, *SUBSCRIPTION_ENDED
            )
            # ... and none approved since the first read (during an observation: that read).
            if ended and not subscriptions_of(
                ctx, self.account, domain_id, listing_id, consumer_id, "APPROVED"
            ):
                return Observed(Status.ABSENT, identity, detail="subscription revoked or cancelled")
            identity["request_id"] = latest["id"]
            identity["request_status"] = "ACCEPTED"
            return Observed(Status.COMPLETE, identity, detail="request ACCEPTED", owned=True)
        return Observed(Status.ABSENT, identity, detail="not requested")

    def create(self, ctx: Context) -> dict[str, Any]:
        domain_id, _, consumer_id = self.ids(ctx)
        producer_id = ctx.output(self.producer_key, "id")
        asset_id = ctx.output(self.listing_key, "asset_id")
        table = ctx.config.table(self.table)
        listing_id = None

        def found() -> Observed:
            nonlocal listing_id
            listing_id = find_listing(
                ctx, self.account, domain_id, producer_id, asset_id, table.table
            )
            if listing_id:
                return Observed(Status.COMPLETE)
            return Observed(Status.IN_PROGRESS, detail="listing not in the catalog search yet")

        # The search index is eventually consistent (workflow.md J4): poll it.
        ctx.wait(self, found, until=Status.COMPLETE, timeout=min(ctx.settings.timeout, 600))
        request = ctx.client(self.account, "datazone").create_subscription_request(
            domainIdentifier=domain_id,
            subscribedPrincipals=[{"project": {"identifier": consumer_id}}],
            subscribedListings=[{"identifier": listing_id}],
            requestReason=self.reason,
        )
        return {
            "domain_id": domain_id,
            "listing_id": listing_id,
            "request_id": request["id"],
            "request_status": request["status"],
        }

    def wait_created(self, ctx: Context) -> Observed:
        if not ctx.subscription_wanted(self.consumer, self.table):
            return self.observe(ctx)  # after `update` cancelled it
        # CreateSubscriptionRequest answers with the request's status: PENDING (approval
        # required) or ACCEPTED (it is not) is final for this step, no need to read it back.
        outputs = ctx.outputs(self.key)
        if outputs.get("request_status") in ("PENDING", "ACCEPTED"):
            keys = ("domain_id", "listing_id", "request_id", "request_status")
            identity = {k: outputs[k] for k in keys}
            detail = f"request {outputs['request_status']}"
            return Observed(Status.COMPLETE, identity, detail=detail, owned=True)
        return super().wait_created(ctx)

    def delete(self, ctx: Context, observed: Observed) -> None:
        """Revoke what was granted, delete the grants and any pending request."""
        domain_id, listing_id, consumer_id = self.ids(ctx)
        approved = observed.identity.get("approved")
        revoke_subscriptions(ctx, self, domain_id, listing_id, consumer_id, approved=approved)
        self._delete_pending(
            ctx, domain_id, listing_id, consumer_id, observed.identity.get("pending")
        )

    def _delete_pending(
        self, ctx: Context, domain_id: str, listing_id: str, consumer_id: str, pending: Ids = None
    ) -> None:
        """Delete the pending requests: those the plan's observation found, or listed now."""
        datazone = ctx.client(self.account, "datazone")
        if pending is None:
            found = requests_of(ctx, self.account, domain_id, listing_id, consumer_id, "PENDING")
            pending = [r["id"] for r in found]
        for request_id in pending:
            try:
                datazone.delete_subscription_request(
                    domainIdentifier=domain_id, identifier=request_id
                )
            except ClientError as exc:
                if not is_not_found(exc):
                    raise

    def wait_deleted(self, ctx: Context) -> Observed:
        return Observed.absent("revoked")


def revoke_subscriptions(
    ctx: Context,
    resource: Resource,
    domain_id: str,
    listing_id: str,
    consumer_id: str,
    cancel: bool = False,
    approved: list[str] | None = None,
) -> int:
    """Revoke (producer side) or cancel (consumer side) every approved subscription of the
    consumer to the listing, wait until its grants are revoked, and delete the grants.

    `approved` are the ids an observation just found; without them they are listed.
    """
    datazone = ctx.client(resource.account, "datazone")
    if approved is None:
        approved = [
            s["id"]
            for s in subscriptions_of(
                ctx, resource.account, domain_id, listing_id, consumer_id, "APPROVED"
            )
        ]
    for subscription_id in approved:
        # The answer carries the subscription's status (REVOKED / CANCELLED: the enum has no
        # in-progress value); read it back only if it does not. The grants show the progress.
        asked = time.monotonic()  # grants read from here on show the revocation
        try:
            if cancel:
                answer = datazone.cancel_subscription(
                    domainIdentifier=domain_id, identifier=subscription_id
                )
            else:
                answer = datazone.revoke_subscription(
                    domainIdentifier=domain_id,
                    identifier=subscription_id,
                    retainPermissions=False,
                )
            ended = answer.get("status") in SUBSCRIPTION_ENDED
        except ClientError as exc:
            # Revoked or cancelled since it was observed (by hand, or by a parallel run):
            # its grants are still to be awaited and deleted below.
            if not (is_not_found(exc) or is_conflict(exc)):
                raise
            ended = True
        last: list[dict[str, Any]] = []
        by = ("owningProjectId", consumer_id)
        polls = GrantPolls(ctx, resource.account, domain_id, subscription_id, by, asked)

        def revoked(subscription_id: str = subscription_id, polls: GrantPolls = polls) -> Observed:
            nonlocal ended, last
            if not ended:
                current = datazone.get_subscription(
                    domainIdentifier=domain_id, identifier=subscription_id
                )
                ended = current["status"] in SUBSCRIPTION_ENDED
                if not ended:
                    return Observed(Status.IN_PROGRESS, detail=str(current["status"]))
            last = polls.read()
            pending = [
                a.get("status")
                for g in last
                for a in g.get("assets", [])
                if a.get("status") not in ("REVOKED", "GRANT_FAILED")
            ]
            if "REVOKE_FAILED" in pending:
                return Observed(Status.FAILED, detail="REVOKE_FAILED")
            if pending:
                return Observed(Status.IN_PROGRESS, detail=f"revoking {pending}")
            return Observed(Status.COMPLETE)

        ctx.wait(resource, revoked, until=Status.COMPLETE)
        # The grants the last poll read, all revoked: delete them.
        for grant in last:
            try:
                datazone.delete_subscription_grant(
                    domainIdentifier=domain_id, identifier=grant["id"]
                )
            except ClientError as exc:
                if not is_not_found(exc):
                    raise
    return len(approved)


def decide(policy: ApprovalConfig, consumer: str, table: str, requester: str) -> tuple[str, str]:
    """The producer's answer to one request under its policy: (accept|reject|leave, comment)."""
    if policy.mode == "auto":
        return "accept", policy.comment
    if policy.mode == "manual":
        return "leave", ""
    for rule in policy.rules:
        if (
            rule.consumer_project in ("*", consumer)
            and rule.table in ("*", table)
            and fnmatch.fnmatchcase(requester, rule.requester)
        ):
            comment = rule.comment or (
                policy.comment if rule.decision == "accept" else "Rejected by smus-mesh rules"
            )
            return rule.decision, comment
    if policy.default == "leave":
        return "leave", ""
    return policy.default, policy.comment if policy.default == "accept" else "No rule matched"


@register
class SubscriptionApproval(_SubscriptionBase):
    """The producer project's decision on the request, by its approval policy.

    Example::

        projects:
          - name: producer
            account: producer
            imports: [inventory]
            approval:
              mode: rules
              rules:
                - {decision: accept, consumer_project: consumer, table: inventory}
                - {decision: reject, comment: "ask the data owner first"}
    """

    kind = "datazone:approval"
    paced = True  # AcceptSubscriptionRequest: 3 per second per account (workflow.md §4.8)
    iam_actions = (
        _DZ + "GetSubscriptionRequestDetails",
        _DZ + "AcceptSubscriptionRequest",
        _DZ + "RejectSubscriptionRequest",
        _DZ + "GetUserProfile",
    )
    deletable = False

    def __init__(self, *args: Any, request_key: str, policy: ApprovalConfig, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.request_key = request_key
        self.policy = policy
        #: The request as the last observation read it: the engine observes a step just
        #: before creating it, so `create` decides on that answer instead of reading again.
        self._observed_request: dict[str, Any] | None = None

    def _request(self, ctx: Context) -> dict[str, Any] | None:
        request_id = ctx.outputs(self.request_key).get("request_id")
        if not request_id:
            return None
        domain_id = ctx.output(self.domain_key, "id")
        try:
            return dict(
                ctx.client(self.account, "datazone").get_subscription_request_details(
                    domainIdentifier=domain_id, identifier=request_id
                )
            )
        except ClientError as exc:
            if is_not_found(exc):
                return None
            raise

    def observe(self, ctx: Context) -> Observed:
        if not ctx.subscription_wanted(self.consumer, self.table):
            return Observed(Status.COMPLETE, detail=UNSUBSCRIBED, owned=True)
        if ctx.outputs(self.request_key).get("subscription_id"):
            return Observed(Status.COMPLETE, detail="subscribed", owned=True)
        request = self._observed_request = self._request(ctx)
        if request is None:
            return Observed.absent("no request")
        if request["status"] == "PENDING":
            decision, _ = decide(
                self.policy, self.consumer, self.table, self._requester(ctx, request)
            )
            if decision == "leave":
                # The policy leaves it to a person: nothing for `up` to do, now or later.
                return Observed(
                    Status.COMPLETE,
                    {"request_id": request["id"], "decision": "leave"},
                    detail="PENDING: left for `smus-mesh approve` (no rule matched)",
                    owned=True,
                )
            return Observed(Status.ABSENT, {"request_id": request["id"]}, detail="PENDING")
        return Observed(
            Status.COMPLETE,
            {"request_id": request["id"]},
            detail=f"{request['status']} ({request.get('decisionComment') or ''})",
            owned=True,
        )

    def _requester(self, ctx: Context, request: dict[str, Any]) -> str:
        """The requesting principal's ARN (DataZone records the user profile id); looked up
        only when a rule matches on it."""
        created_by = str(request.get("createdBy", ""))
        if all(rule.requester == "*" for rule in self.policy.rules):
            return created_by
        try:
            profile = ctx.client(self.account, "datazone").get_user_profile(
                domainIdentifier=ctx.output(self.domain_key, "id"), userIdentifier=created_by
            )
        except ClientError:
            return created_by
        return str(((profile.get("details") or {}).get("iam") or {}).get("arn") or created_by)

    def create(self, ctx: Context) -> dict[str, Any]:
        request, self._observed_request = self._observed_request, None
        if request is None or request["id"] != ctx.outputs(self.request_key).get("request_id"):
            request = self._request(ctx)
        if request is None or request["status"] != "PENDING":
            return {}
        decision, comment = decide(
            self.policy, self.consumer, self.table, self._requester(ctx, request)
        )
        datazone = ctx.client(self.account, "datazone")
        domain_id = ctx.output(self.domain_key, "id")
        answer: dict[str, Any] = {}
        if decision == "accept":
            answer = datazone.accept_subscription_request(
                domainIdentifier=domain_id, identifier=request["id"], decisionComment=comment
            )
        elif decision == "reject":
            answer = datazone.reject_subscription_request(
                domainIdentifier=domain_id, identifier=request["id"], decisionComment=comment
            )
        return {
            "request_id": request["id"],
            "decision": decision,
            "decided": answer.get("status", ""),
            "comment": answer.get("decisionComment", comment),
        }

    def wait_created(self, ctx: Context) -> Observed:
        outputs = ctx.outputs(self.key)
        if outputs.get("decision") == "leave":
            return Observed(
                Status.COMPLETE, detail="left for `smus-mesh approve` (no rule matched)"
            )
        # The decision's answer carries the request's new status: read back only if not.
        if outputs.get("decided") in ("ACCEPTED", "REJECTED"):
            return Observed(
                Status.COMPLETE,
                {"request_id": outputs["request_id"], "decided": outputs["decided"]},
                detail=f"{outputs['decided']} ({outputs.get('comment') or ''})",
                owned=True,
            )
        return super().wait_created(ctx)

    def delete(self, ctx: Context, observed: Observed) -> None:
        return None


@register
class SubscriptionGrant(_SubscriptionBase):
    """The grant DataZone fulfils after acceptance: done when COMPLETED and GRANTED.

    Example (every subscription that is approved)::

        subscriptions:
          - {project: consumer, tables: [inventory], reason: "stock dashboards"}
    """

    kind = "datazone:subscription-grant"
    iam_actions = (_DZ + "ListSubscriptions", _DZ + "ListSubscriptionGrants")
    async_create = ("subscription_grant.grant",)
    deletable = False

    def __init__(self, *args: Any, approval_key: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.approval_key = approval_key

    def _observe(
        self, ctx: Context, polls: dict[str, GrantPolls] | None = None
    ) -> tuple[Observed, bool]:
        """What exists, and whether the request is still waiting for a decision. A wait
        passes `polls`, so that each of its reads of the grants is newer than the last."""
        domain_id, listing_id, consumer_id = self.ids(ctx)
        known = ctx.outputs(self.key).get("subscription_id")
        approved = (
            [{"id": known}]
            if known
            else subscriptions_of(ctx, self.account, domain_id, listing_id, consumer_id, "APPROVED")
        )
        if not approved:
            # The request that decides, as the request step reads it.
            request = current_request(ctx, self.account, domain_id, listing_id, consumer_id)
            latest = request["status"] if request else "none"
            if latest == "REJECTED":
                return Observed(Status.COMPLETE, detail="no grant: the request was rejected"), False
            if latest == "PENDING":
                if ctx.outputs(self.approval_key).get("decision") == "leave":
                    return Observed(Status.COMPLETE, detail=AWAITING_APPROVAL), False
                # Not done yet: the approval step, which runs first, is about to decide.
                # Reading this as done would leave the grant unawaited when a run killed
                # after CreateSubscriptionRequest is resumed; `wait_created` settles it.
                return Observed(Status.IN_PROGRESS, detail="the request awaits a decision"), True
            if latest == "none":
                # Nothing asked yet (a subscription new in the config): nothing to wait for.
                return Observed.absent("not requested yet"), False
            return Observed(Status.IN_PROGRESS, detail="waiting for the subscription"), False
        subscription_id = approved[0]["id"]
        # Later polls of this wait go straight to the grants (the id does not change).
        ctx.set_outputs(self.key, {**ctx.outputs(self.key), "subscription_id": subscription_id})
        by = ("subscribedListingId", listing_id)
        reader = GrantPolls(ctx, self.account, domain_id, subscription_id, by)
        if polls is not None:
            reader = polls.setdefault(subscription_id, reader)
        state = grant_state(reader.read())
        observed = Observed(
            state.status,
            {"subscription_id": subscription_id, "domain_id": domain_id},
            state.outputs,
            detail=state.detail,
            owned=True,
        )
        return observed, False

    def observe(self, ctx: Context) -> Observed:
        if not ctx.subscription_wanted(self.consumer, self.table):
            return Observed(Status.COMPLETE, detail=UNSUBSCRIBED, owned=True)
        return self._observe(ctx)[0]

    def create(self, ctx: Context) -> dict[str, Any]:
        return {}

    def wait_created(self, ctx: Context) -> Observed:
        polls: dict[str, GrantPolls] = {}

        def settled() -> Observed:
            observed, pending = self._observe(ctx, polls)
            if pending:
                # The approval step has run and left the request pending (rules with no
                # match and `default: leave`): there is no grant to wait for.
                return Observed(Status.COMPLETE, detail=AWAITING_APPROVAL)
            return observed

        try:
            return ctx.wait(self, settled, until=Status.COMPLETE)
        except FailedStatus as exc:
            raise StepError(self.key, f"the subscription grant failed: {exc}") from None

    def delete(self, ctx: Context, observed: Observed) -> None:
        return None
