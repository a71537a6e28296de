"""DataZone subscriptions: requests, acceptance (throttled), grants fulfilled in Lake
Formation and Glue across the two accounts, revocation, cancellation, subscription
targets, and what a project's deletion takes with it.

One domain with a deployed producer and consumer project is built per module; every
test publishes tables of its own, so tests do not see each other's subscriptions.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from smus_mesh_emulator.runtime import RUNTIME
from smus_mesh_emulator.server import EmulatorServer
from tests.emulator.datazone_setup import (
    ROWS,
    Mesh,
    accepted_subscription,
    athena_query,
    create_table,
    deploy_project,
    grant_import_access,
    mesh_on,
    outsider_session,
    publish,
    published_listing,
    subscribe,
    subscription_of_request,
    wait_grants,
)
from tests.support import CONSUMER_ACCOUNT, DOMAIN_ACCOUNT

HEADER = ["id", "item", "quantity"]


@pytest.fixture(scope="module")
def mesh(emulator_server: EmulatorServer) -> Iterator[Mesh]:
    with mesh_on(emulator_server.url) as mesh:
        yield mesh


@pytest.fixture
def dz(mesh: Mesh) -> Any:
    return mesh.datazone()


def error_of(excinfo: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    error = excinfo.value.response["Error"]
    return error["Code"], error["Message"]


def table_resource(database: str, table: str, catalog: str = DOMAIN_ACCOUNT) -> dict[str, Any]:
    return {"Table": {"CatalogId": catalog, "DatabaseName": database, "Name": table}}


def lf_holders(
    mesh: Mesh, account: str, resource: dict[str, Any]
) -> dict[str, tuple[set[str], set[str]]]:
    """principal -> (permissions, grantable) on `resource` as `account` lists them."""
    items = mesh.cloud.client("lakeformation", account).list_permissions(Resource=resource)[
        "PrincipalResourcePermissions"
    ]
    held: dict[str, tuple[set[str], set[str]]] = {}
    for item in items:
        permissions, grantable = held.setdefault(
            item["Principal"]["DataLakePrincipalIdentifier"], (set(), set())
        )
        permissions.update(item["Permissions"])
        grantable.update(item.get("PermissionsWithGrantOption") or [])
    return held


def consumer_tables(mesh: Mesh) -> dict[str, dict[str, Any]]:
    glue = mesh.cloud.client("glue", CONSUMER_ACCOUNT)
    return {t["Name"]: t for t in glue.get_tables(DatabaseName=mesh.consumer.glue_db)["TableList"]}


def rows_of(mesh: Mesh, table: str) -> tuple[str, str | None, list[list[str]]]:
    sql = f'SELECT * FROM "{mesh.consumer.glue_db}"."{table}" ORDER BY id'  # noqa: S608
    return athena_query(mesh, mesh.consumer, sql)


# --- requests -----------------------------------------------------------------------------------


def test_request_is_pending_and_both_projects_list_it(mesh: Mesh, dz: Any) -> None:
    asset_id, listing_id = published_listing(mesh, "req_db", "orders")
    request = subscribe(mesh, listing_id)
    assert request["status"] == "PENDING"
    assert request["subscribedPrincipals"] == [
        {"project": {"id": mesh.consumer.id, "name": "consumer"}}
    ]
    [listing] = request["subscribedListings"]
    assert (listing["id"], listing["ownerProjectId"], listing["ownerProjectName"]) == (
        listing_id,
        mesh.producer.id,
        "producer",
    )
    assert listing["item"]["assetListing"]["entityId"] == asset_id
    details = dz.get_subscription_request_details(
        domainIdentifier=mesh.domain_id, identifier=request["id"]
    )
    assert (details["status"], details["requestReason"]) == (
        "PENDING",
        "needed for the quarterly report",
    )

    def listed(**filters: Any) -> list[str]:
        items = dz.list_subscription_requests(domainIdentifier=mesh.domain_id, **filters)["items"]
        return [r["id"] for r in items]

    assert listed(subscribedListingId=listing_id) == [request["id"]]
    assert listed(subscribedListingId=listing_id, owningProjectId=mesh.consumer.id) == [
        request["id"]
    ]
    assert listed(
        subscribedListingId=listing_id, approverProjectId=mesh.producer.id, status="PENDING"
    ) == [request["id"]]
    assert listed(subscribedListingId=listing_id, status="ACCEPTED") == []
    assert listed(subscribedListingId=listing_id, owningProjectId=mesh.producer.id) == []

    with pytest.raises(ClientError) as excinfo:
        subscribe(mesh, listing_id)
    assert error_of(excinfo) == (
        "ConflictException",
        f"A PENDING subscription request ({request['id']}) already exists for project "
        f"{mesh.consumer.id} and listing {listing_id}",
    )


def test_request_errors(mesh: Mesh, dz: Any) -> None:
    asset_id, listing_id = published_listing(mesh, "reqerr_db", "orders")

    def request(**overrides: Any) -> Any:
        params: dict[str, Any] = {
            "domainIdentifier": mesh.domain_id,
            "subscribedPrincipals": [{"project": {"identifier": mesh.consumer.id}}],
            "subscribedListings": [{"identifier": listing_id}],
            "requestReason": "why not",
        }
        params.update(overrides)
        return dz.create_subscription_request(**params)

    cases = [
        (
            {"subscribedPrincipals": [{"project": {"identifier": mesh.producer.id}}]},
            "ValidationException",
            f"Project {mesh.producer.id} owns listing {listing_id}; a project cannot subscribe "
            "to its own assets",
        ),
        (
            {"subscribedPrincipals": [{"iam": {"identifier": mesh.consumer.role_arn}}]},
            "ValidationException",
            "The emulator supports project principals only (subscribedPrincipals[0].project)",
        ),
        (
            {"subscribedListings": [{"identifier": "nolisting"}]},
            "ResourceNotFoundException",
            "Listing nolisting not found",
        ),
        (
            {"subscribedPrincipals": [{"project": {"identifier": "noproject"}}]},
            "ResourceNotFoundException",
            "Project noproject not found",
        ),
        (
            {"assetScopes": [{"assetId": asset_id, "filterIds": ["f1"]}]},
            "ResourceNotFoundException",
            "Asset filter f1 not found",
        ),
    ]
    for overrides, code, message in cases:
        with pytest.raises(ClientError) as excinfo:
            request(**overrides)
        assert error_of(excinfo) == (code, message)

    outsider = outsider_session(mesh.cloud).client("datazone", endpoint_url=mesh.cloud.url)
    with pytest.raises(ClientError) as excinfo:
        outsider.create_subscription_request(
            domainIdentifier=mesh.domain_id,
            subscribedPrincipals=[{"project": {"identifier": mesh.consumer.id}}],
            subscribedListings=[{"identifier": listing_id}],
            requestReason="sneaky",
        )
    assert error_of(excinfo) == (
        "AccessDeniedException",
        f"User arn:aws:iam::{DOMAIN_ACCOUNT}:role/Outsider is not a member of project "
        f"{mesh.consumer.id}",
    )

    dz.create_listing_change_set(
        domainIdentifier=mesh.domain_id,
        entityIdentifier=asset_id,
        entityType="ASSET",
        action="UNPUBLISH",
    )
    with pytest.raises(ClientError) as excinfo:
        request()
    assert error_of(excinfo) == (
        "ConflictException",
        f"Listing {listing_id} is INACTIVE; only ACTIVE listings can be subscribed to",
    )


def test_reject_and_delete_a_request(mesh: Mesh, dz: Any) -> None:
    _, listing_id = published_listing(mesh, "reject_db", "orders")
    request = subscribe(mesh, listing_id)
    outsider = outsider_session(mesh.cloud).client("datazone", endpoint_url=mesh.cloud.url)
    with pytest.raises(ClientError) as excinfo:
        outsider.reject_subscription_request(
            domainIdentifier=mesh.domain_id, identifier=request["id"]
        )
    assert error_of(excinfo)[0] == "AccessDeniedException"

    rejected = dz.reject_subscription_request(
        domainIdentifier=mesh.domain_id, identifier=request["id"], decisionComment="not now"
    )
    assert (rejected["status"], rejected["decisionComment"]) == ("REJECTED", "not now")
    assert rejected["reviewerId"] == rejected["updatedBy"]
    with pytest.raises(ClientError) as excinfo:
        dz.accept_subscription_request(domainIdentifier=mesh.domain_id, identifier=request["id"])
    assert error_of(excinfo) == (
        "ConflictException",
        f"Subscription request {request['id']} is REJECTED; only PENDING requests can be accepted",
    )
    assert (
        dz.list_subscriptions(domainIdentifier=mesh.domain_id, subscribedListingId=listing_id)[
            "items"
        ]
        == []
    )

    dz.delete_subscription_request(domainIdentifier=mesh.domain_id, identifier=request["id"])
    with pytest.raises(ClientError) as excinfo:
        dz.get_subscription_request_details(
            domainIdentifier=mesh.domain_id, identifier=request["id"]
        )
    assert error_of(excinfo) == (
        "ResourceNotFoundException",
        f"Subscription request {request['id']} not found",
    )


def test_lists_without_a_status_answer_pending_requests_and_approved_subscriptions(
    mesh: Mesh, dz: Any
) -> None:
    """The API reference: without `status`, ListSubscriptionRequests "returns only
    PENDING subscription requests" and ListSubscriptions "only APPROVED subscriptions";
    a given status filters as asked."""
    _, pending_listing = published_listing(mesh, "status_db", "waiting")
    _, rejected_listing = published_listing(mesh, "status_db", "refused")
    _, accepted_listing = published_listing(mesh, "status_db", "granted")
    pending = subscribe(mesh, pending_listing)
    rejected = subscribe(mesh, rejected_listing)
    dz.reject_subscription_request(
        domainIdentifier=mesh.domain_id, identifier=rejected["id"], decisionComment="no"
    )
    cancelled, _ = accepted_subscription(mesh, accepted_listing)
    dz.cancel_subscription(domainIdentifier=mesh.domain_id, identifier=cancelled["id"])
    approved, _ = accepted_subscription(mesh, accepted_listing)
    ours = {pending_listing, rejected_listing, accepted_listing}

    def requests(**status: str) -> list[str]:
        items = dz.list_subscription_requests(
            domainIdentifier=mesh.domain_id, owningProjectId=mesh.consumer.id, **status
        )["items"]
        return sorted(r["id"] for r in items if r["subscribedListings"][0]["id"] in ours)

    def subscriptions(**filters: str) -> list[str]:
        items = dz.list_subscriptions(
            domainIdentifier=mesh.domain_id, owningProjectId=mesh.consumer.id, **filters
        )["items"]
        return sorted(s["id"] for s in items if s["subscribedListing"]["id"] in ours)

    assert requests() == [pending["id"]]
    assert requests(status="PENDING") == [pending["id"]]
    assert requests(status="REJECTED") == [rejected["id"]]
    assert requests(status="ACCEPTED") == sorted(
        [cancelled["subscriptionRequestId"], approved["subscriptionRequestId"]]
    )
    assert subscriptions() == [approved["id"]]
    assert subscriptions(status="APPROVED") == [approved["id"]]
    assert subscriptions(status="CANCELLED") == [cancelled["id"]]
    assert subscriptions(status="REVOKED") == []
    # Also with a request named: its subscription, cancelled, is not APPROVED.
    request_id = cancelled["subscriptionRequestId"]
    assert subscriptions(subscriptionRequestIdentifier=request_id) == []
    assert subscriptions(subscriptionRequestIdentifier=request_id, status="CANCELLED") == [
        cancelled["id"]
    ]


def test_accept_and_cancel_are_limited_to_three_per_second(mesh: Mesh) -> None:
    strict = mesh.cloud.session().client(
        "datazone", endpoint_url=mesh.cloud.url, config=Config(retries={"total_max_attempts": 1})
    )

    def answer(call: Any, identifier: str) -> tuple[str, str]:
        with pytest.raises(ClientError) as excinfo:
            call(domainIdentifier=mesh.domain_id, identifier=identifier)
        return error_of(excinfo)

    for operation, call in (
        ("AcceptSubscriptionRequest", strict.accept_subscription_request),
        ("CancelSubscription", strict.cancel_subscription),
    ):
        # Twelve calls at once against a bucket of 3 refilled at 3/s: at least 3 are
        # throttled unless they take more than 2 s to arrive, whatever the machine.
        with ThreadPoolExecutor(max_workers=12) as pool:
            answers = list(pool.map(lambda i, c=call: answer(c, f"nothing{i}"), range(12)))
        throttled = [a for a in answers if a[0] == "ThrottlingException"]
        assert len(throttled) >= 3, answers
        assert set(throttled) == {
            (
                "ThrottlingException",
                f"Rate exceeded: {operation} is limited to 3 requests per second",
            )
        }
        assert all(a[0] in ("ThrottlingException", "ResourceNotFoundException") for a in answers)


def test_calls_paced_under_the_quota_are_not_throttled_for_waiting_in_a_queue(
    mesh: Mesh,
) -> None:
    """AWS meters a quota when a call arrives. Six calls 0.4 s apart (2.5 per second,
    under 3) that all wait behind one long request are then served in a burst; none of
    them is throttled, because none arrived in one. (The first comes after a second, when
    the bucket is full again whatever the test before did.)"""
    strict = mesh.cloud.session().client(
        "datazone", endpoint_url=mesh.cloud.url, config=Config(retries={"total_max_attempts": 1})
    )

    def paced(i: int) -> tuple[str, str]:
        time.sleep(1.0 + 0.4 * i)
        with pytest.raises(ClientError) as excinfo:
            strict.accept_subscription_request(
                domainIdentifier=mesh.domain_id, identifier=f"nothing{i}"
            )
        return error_of(excinfo)

    pool = ThreadPoolExecutor(max_workers=6)
    with RUNTIME.lock:  # what a long request holds: the six calls queue behind it
        futures = [pool.submit(paced, i) for i in range(6)]
        time.sleep(4.5)  # the last call was sent at 3 s
    answers = [f.result() for f in futures]
    pool.shutdown()
    assert {a[0] for a in answers} == {"ResourceNotFoundException"}, answers
    # botocore retries the throttling with jittered backoff, so a client that allows a few
    # attempts (the tool uses standard retries) only sees the real answer.
    patient = mesh.cloud.session().client(
        "datazone", endpoint_url=mesh.cloud.url, config=Config(retries={"max_attempts": 10})
    )
    for index in range(5):
        with pytest.raises(ClientError) as excinfo:
            patient.accept_subscription_request(
                domainIdentifier=mesh.domain_id, identifier=f"none{index}"
            )
        assert error_of(excinfo) == (
            "ResourceNotFoundException",
            f"Subscription request none{index} not found",
        )


# --- accept and fulfilment -----------------------------------------------------------------------


def test_accept_grants_through_in_progress_states_and_the_consumer_can_query(
    mesh: Mesh, dz: Any
) -> None:
    asset_id, listing_id = published_listing(mesh, "accept_db", "accept_orders")
    # A link the consumer's admin made beforehand: Lake Formation denies the project role.
    glue_c = mesh.cloud.client("glue", CONSUMER_ACCOUNT)
    glue_c.create_table(
        DatabaseName=mesh.consumer.glue_db,
        TableInput={
            "Name": "accept_probe",
            "TargetTable": {
                "CatalogId": DOMAIN_ACCOUNT,
                "DatabaseName": "accept_db",
                "Name": "accept_orders",
            },
        },
    )
    state, reason, _ = rows_of(mesh, "accept_probe")
    assert state == "FAILED"
    assert reason is not None and "Insufficient Lake Formation permission(s)" in reason

    request = subscribe(mesh, listing_id)
    accepted = dz.accept_subscription_request(
        domainIdentifier=mesh.domain_id,
        identifier=request["id"],
        decisionComment="approved",
        assetScopes=[{"assetId": asset_id, "filterIds": []}],
    )
    assert (accepted["status"], accepted["decisionComment"]) == ("ACCEPTED", "approved")
    assert accepted["subscribedListings"][0]["item"]["assetListing"]["assetScope"] == {
        "assetId": asset_id,
        "filterIds": [],
        "status": "ACCEPTED",
    }
    subscription = subscription_of_request(mesh, request["id"])
    assert subscription["status"] == "APPROVED"
    assert subscription["subscribedPrincipal"] == {
        "project": {"id": mesh.consumer.id, "name": "consumer"}
    }
    assert subscription["subscribedListing"]["id"] == listing_id

    def grants() -> list[dict[str, Any]]:
        return list(
            dz.list_subscription_grants(
                domainIdentifier=mesh.domain_id, subscriptionId=subscription["id"]
            )["items"]
        )

    [pending] = grants()
    assert (pending["status"], pending["assets"][0]["status"]) == ("PENDING", "GRANT_PENDING")
    assert pending["environmentId"] == mesh.consumer.lakehouse_id
    assert pending["grantedEntity"] == {"listing": {"id": listing_id, "revision": "1"}}
    # IN_PROGRESS lasts no time under the "none" latency profile: once the first read has
    # seen PENDING, the grant is done.
    [done] = grants()
    assert done["status"] == "COMPLETED"
    [granted] = done["assets"]
    assert (granted["assetId"], granted["status"], granted["targetName"]) == (
        asset_id,
        "GRANTED",
        "accept_orders",
    )
    assert "grantedTimestamp" in granted
    grant = dz.get_subscription_grant(domainIdentifier=mesh.domain_id, identifier=done["id"])
    [target] = dz.list_subscription_targets(
        domainIdentifier=mesh.domain_id, environmentIdentifier=mesh.consumer.lakehouse_id
    )["items"]
    assert grant["subscriptionTargetId"] == target["id"]
    for filters in (
        {"environmentId": mesh.consumer.lakehouse_id},
        {"subscriptionTargetId": target["id"]},
        {"owningProjectId": mesh.consumer.id},
    ):
        found = dz.list_subscription_grants(
            domainIdentifier=mesh.domain_id, subscribedListingId=listing_id, **filters
        )["items"]
        assert [g["id"] for g in found] == [grant["id"]], filters
    assert (
        dz.list_subscription_grants(
            domainIdentifier=mesh.domain_id,
            subscribedListingId=listing_id,
            owningProjectId=mesh.producer.id,
        )["items"]
        == []
    )

    # Fulfilment: the producer granted the consumer account (with grant option), the
    # consumer made a resource link and granted its project role.
    producer_view = lf_holders(mesh, DOMAIN_ACCOUNT, table_resource("accept_db", "accept_orders"))
    assert producer_view[CONSUMER_ACCOUNT] == ({"SELECT", "DESCRIBE"}, {"SELECT", "DESCRIBE"})
    link = consumer_tables(mesh)["accept_orders"]
    assert link["TargetTable"] == {
        "CatalogId": DOMAIN_ACCOUNT,
        "DatabaseName": "accept_db",
        "Name": "accept_orders",
        "Region": "us-east-1",
    }
    consumer_view = lf_holders(mesh, CONSUMER_ACCOUNT, table_resource("accept_db", "accept_orders"))
    assert consumer_view[mesh.consumer.role_arn][0] >= {"SELECT", "DESCRIBE"}
    assert rows_of(mesh, "accept_orders") == ("SUCCEEDED", None, [HEADER, *map(list, ROWS)])

    with pytest.raises(ClientError) as excinfo:
        subscribe(mesh, listing_id)
    assert error_of(excinfo) == (
        "ConflictException",
        f"Project {mesh.consumer.id} already has an APPROVED subscription "
        f"({subscription['id']}) to listing {listing_id}",
    )
    subscribed = (
        "ConflictException",
        f"Listing {listing_id} has approved subscriptions ({subscription['id']}); revoke them "
        "first",
    )
    with pytest.raises(ClientError) as excinfo:
        dz.delete_listing(domainIdentifier=mesh.domain_id, identifier=listing_id)
    assert error_of(excinfo) == subscribed
    # Unpublishing stops new requests but keeps the subscription, so the asset stays too.
    dz.create_listing_change_set(
        domainIdentifier=mesh.domain_id,
        entityIdentifier=asset_id,
        entityType="ASSET",
        action="UNPUBLISH",
    )
    with pytest.raises(ClientError) as excinfo:
        dz.delete_asset(domainIdentifier=mesh.domain_id, identifier=asset_id)
    assert error_of(excinfo) == subscribed
    assert rows_of(mesh, "accept_orders")[0] == "SUCCEEDED"

    # Revocation by the owner: the grant walks back, the link and grants go, access ends.
    revoked = dz.revoke_subscription(domainIdentifier=mesh.domain_id, identifier=subscription["id"])
    assert revoked["status"] == "REVOKED"
    [revoking] = grants()
    assert (revoking["status"], revoking["assets"][0]["status"]) == ("PENDING", "REVOKE_PENDING")
    [ended] = grants()
    assert (ended["status"], ended["assets"][0]["status"]) == ("COMPLETED", "REVOKED")
    assert "accept_orders" not in consumer_tables(mesh)
    assert CONSUMER_ACCOUNT not in lf_holders(
        mesh, DOMAIN_ACCOUNT, table_resource("accept_db", "accept_orders")
    )
    assert mesh.consumer.role_arn not in lf_holders(
        mesh, CONSUMER_ACCOUNT, table_resource("accept_db", "accept_orders")
    )
    state, reason, _ = rows_of(mesh, "accept_probe")
    assert state == "FAILED"
    assert reason is not None and "Insufficient Lake Formation permission(s)" in reason
    glue_c.delete_table(DatabaseName=mesh.consumer.glue_db, Name="accept_probe")

    with pytest.raises(ClientError) as excinfo:
        dz.cancel_subscription(domainIdentifier=mesh.domain_id, identifier=subscription["id"])
    assert error_of(excinfo) == (
        "ConflictException",
        f"Subscription {subscription['id']} is REVOKED; only APPROVED subscriptions can be revoked "
        "or cancelled",
    )
    # Teardown order of research/workflow.md §2.2: then delete the grant.
    dz.delete_subscription_grant(domainIdentifier=mesh.domain_id, identifier=ended["id"])
    with pytest.raises(ClientError) as excinfo:
        dz.get_subscription_grant(domainIdentifier=mesh.domain_id, identifier=ended["id"])
    assert error_of(excinfo) == (
        "ResourceNotFoundException",
        f"Subscription grant {ended['id']} not found",
    )


def test_accept_needs_membership_of_the_owning_project(mesh: Mesh, dz: Any) -> None:
    _, listing_id = published_listing(mesh, "acceptown_db", "orders")
    request = subscribe(mesh, listing_id)
    outsider = outsider_session(mesh.cloud).client("datazone", endpoint_url=mesh.cloud.url)
    with pytest.raises(ClientError) as excinfo:
        outsider.accept_subscription_request(
            domainIdentifier=mesh.domain_id, identifier=request["id"]
        )
    assert error_of(excinfo) == (
        "AccessDeniedException",
        f"User arn:aws:iam::{DOMAIN_ACCOUNT}:role/Outsider is not a member of project "
        f"{mesh.producer.id}",
    )
    for call in (outsider.get_subscription_request_details,):
        with pytest.raises(ClientError) as excinfo:
            call(domainIdentifier=mesh.domain_id, identifier=request["id"])
        assert error_of(excinfo)[0] == "AccessDeniedException"
    assert outsider.list_subscription_requests(domainIdentifier=mesh.domain_id)["items"] == []


def test_grant_fails_when_the_table_is_not_lake_formation_managed(mesh: Mesh, dz: Any) -> None:
    _, listing_id = published_listing(mesh, "hybrid_db", "orders")
    mesh.cloud.client("lakeformation").grant_permissions(
        Principal={"DataLakePrincipalIdentifier": "IAM_ALLOWED_PRINCIPALS"},
        Resource={"Table": {"DatabaseName": "hybrid_db", "Name": "orders"}},
        Permissions=["ALL"],
    )
    _, grants = accepted_subscription(mesh, listing_id)
    [grant] = grants
    assert grant["status"] == "GRANT_FAILED"
    [asset] = grant["assets"]
    assert asset["status"] == "GRANT_FAILED"
    assert asset["failureCause"]["message"] == (
        "Table hybrid_db.orders is not managed by Lake Formation: IAMAllowedPrincipals holds "
        "permissions on table hybrid_db.orders: access to it is controlled by IAM, not by Lake "
        "Formation"
    )
    assert "failureTimestamp" in asset
    assert CONSUMER_ACCOUNT not in lf_holders(
        mesh, DOMAIN_ACCOUNT, table_resource("hybrid_db", "orders")
    )


def test_grant_fails_when_the_manage_access_role_cannot_regrant(mesh: Mesh, dz: Any) -> None:
    _, listing_id = published_listing(mesh, "noregrant_db", "orders")
    mesh.cloud.client("lakeformation").revoke_permissions(
        Principal={"DataLakePrincipalIdentifier": mesh.producer_setup.manage_access_role},
        Resource={"Table": {"DatabaseName": "noregrant_db", "Name": "orders"}},
        Permissions=[],
        PermissionsWithGrantOption=["SELECT"],
    )
    _, [grant] = accepted_subscription(mesh, listing_id)
    assert grant["status"] == "GRANT_FAILED"
    assert grant["assets"][0]["failureCause"]["message"] == (
        f"Manage access role {mesh.producer_setup.manage_access_role} lacks SELECT with grant "
        f"option on table noregrant_db.orders in account {DOMAIN_ACCOUNT}"
    )


def test_cancel_by_the_subscriber_revokes_access(mesh: Mesh, dz: Any) -> None:
    _, listing_id = published_listing(mesh, "cancel_db", "cancel_orders")
    subscription, [grant] = accepted_subscription(mesh, listing_id)
    assert grant["assets"][0]["status"] == "GRANTED"
    outsider = outsider_session(mesh.cloud).client("datazone", endpoint_url=mesh.cloud.url)
    with pytest.raises(ClientError) as excinfo:
        outsider.cancel_subscription(domainIdentifier=mesh.domain_id, identifier=subscription["id"])
    assert error_of(excinfo)[0] == "AccessDeniedException"
    with pytest.raises(ClientError) as excinfo:
        outsider.revoke_subscription(domainIdentifier=mesh.domain_id, identifier=subscription["id"])
    assert error_of(excinfo)[0] == "AccessDeniedException"

    assert grant["assets"][0]["targetName"] in consumer_tables(mesh)
    cancelled = dz.cancel_subscription(
        domainIdentifier=mesh.domain_id, identifier=subscription["id"]
    )
    assert cancelled["status"] == "CANCELLED"
    [ended] = wait_grants(mesh, subscription["id"])
    assert ended["assets"][0]["status"] == "REVOKED"
    assert "cancel_orders" not in consumer_tables(mesh)
    current = dz.get_subscription(domainIdentifier=mesh.domain_id, identifier=subscription["id"])
    assert current["status"] == "CANCELLED"
    assert [
        s["id"]
        for s in dz.list_subscriptions(
            domainIdentifier=mesh.domain_id,
            subscribedListingId=listing_id,
            status="CANCELLED",
            owningProjectId=mesh.consumer.id,
            approverProjectId=mesh.producer.id,
        )["items"]
    ] == [subscription["id"]]


def test_two_projects_of_one_account_keep_access_until_the_last_subscription_ends(
    mesh: Mesh, dz: Any
) -> None:
    """Both rely on the producer's grant of the table to their account: cancelling one
    subscription leaves the other's access; ending the last one removes the grant."""
    profile = next(
        p
        for p in dz.list_project_profiles(domainIdentifier=mesh.domain_id)["items"]
        if p["name"] == "consumer"
    )
    second = deploy_project(mesh.cloud, mesh.domain, profile["id"], "second", "second_db")
    _, listing_id = published_listing(mesh, "shared_db", "shared_orders")
    first_subscription, [first_grant] = accepted_subscription(mesh, listing_id)
    request = subscribe(mesh, listing_id, second.id)
    dz.accept_subscription_request(domainIdentifier=mesh.domain_id, identifier=request["id"])
    second_subscription = subscription_of_request(mesh, request["id"])
    [second_grant] = wait_grants(mesh, second_subscription["id"])
    assert second_grant["assets"][0]["status"] == "GRANTED"
    source = table_resource("shared_db", "shared_orders")
    assert CONSUMER_ACCOUNT in lf_holders(mesh, DOMAIN_ACCOUNT, source)

    dz.cancel_subscription(domainIdentifier=mesh.domain_id, identifier=first_subscription["id"])
    [ended] = wait_grants(mesh, first_subscription["id"])
    assert ended["assets"][0]["status"] == "REVOKED"
    assert first_grant["assets"][0]["targetName"] not in consumer_tables(mesh)
    held = lf_holders(mesh, DOMAIN_ACCOUNT, source)
    assert held[CONSUMER_ACCOUNT] == ({"SELECT", "DESCRIBE"}, {"SELECT", "DESCRIBE"})
    link = second_grant["assets"][0]["targetName"]
    sql = f'SELECT count(*) AS n FROM "{second.glue_db}"."{link}"'  # noqa: S608
    assert athena_query(mesh, second, sql) == ("SUCCEEDED", None, [["n"], [str(len(ROWS))]])

    dz.cancel_subscription(domainIdentifier=mesh.domain_id, identifier=second_subscription["id"])
    [ended] = wait_grants(mesh, second_subscription["id"])
    assert ended["assets"][0]["status"] == "REVOKED"
    assert CONSUMER_ACCOUNT not in lf_holders(mesh, DOMAIN_ACCOUNT, source)
    assert link not in {
        t["Name"]
        for t in mesh.cloud.client("glue", CONSUMER_ACCOUNT).get_tables(
            DatabaseName=second.glue_db
        )["TableList"]
    }
    state, reason, _ = athena_query(mesh, second, sql)
    assert (state, reason) == (
        "FAILED",
        f"TABLE_NOT_FOUND: line 1:27: Table 'awsdatacatalog.second_db.{link}' does not exist",
    )


#: Under the "none" latency profile, a transition nobody reads completes within this (ADR 3).
UNOBSERVED_BOUND = 0.5


def _probe(mesh: Mesh, name: str, database: str, table: str) -> None:
    """A link the consumer's admin makes to the producer's table: what the project role
    reads through it is up to Lake Formation's grants, not to DataZone's own link."""
    mesh.cloud.client("glue", CONSUMER_ACCOUNT).create_table(
        DatabaseName=mesh.consumer.glue_db,
        TableInput={
            "Name": name,
            "TargetTable": {"CatalogId": DOMAIN_ACCOUNT, "DatabaseName": database, "Name": table},
        },
    )


def test_revocation_ends_access_with_nobody_polling_the_grant(
    mesh: Mesh, dz: Any, default_grace: float
) -> None:
    _, revoked_listing = published_listing(mesh, "unpolled_db", "unpolled_orders")
    subscription, _ = accepted_subscription(mesh, revoked_listing)
    _probe(mesh, "unpolled_probe", "unpolled_db", "unpolled_orders")
    # The neighbour: a subscription that is not revoked keeps its access.
    _, kept_listing = published_listing(mesh, "kept_db", "kept_orders")
    accepted_subscription(mesh, kept_listing)
    _probe(mesh, "kept_probe", "kept_db", "kept_orders")
    assert rows_of(mesh, "unpolled_probe")[0] == "SUCCEEDED"

    revoked = dz.revoke_subscription(domainIdentifier=mesh.domain_id, identifier=subscription["id"])
    assert revoked["status"] == "REVOKED"
    time.sleep(UNOBSERVED_BOUND)  # nobody reads the grant meanwhile
    state, reason, _ = rows_of(mesh, "unpolled_probe")
    assert (state, reason) == (
        "FAILED",
        "Insufficient permissions to execute the query. Insufficient Lake Formation "
        f"permission(s) on {mesh.consumer.glue_db}.unpolled_probe",
    )
    assert "unpolled_orders" not in consumer_tables(mesh)
    assert rows_of(mesh, "kept_probe") == ("SUCCEEDED", None, [HEADER, *map(list, ROWS)])
    # The grant's first read comes after the bound: it is over.
    [ended] = dz.list_subscription_grants(
        domainIdentifier=mesh.domain_id, subscriptionId=subscription["id"]
    )["items"]
    assert (ended["status"], ended["assets"][0]["status"]) == ("COMPLETED", "REVOKED")
    # ... and it ended within the bound of the revocation, not when someone next called.
    assert ended["updatedAt"] - revoked["updatedAt"] < timedelta(seconds=UNOBSERVED_BOUND)


def test_revoke_with_retained_permissions_keeps_access(mesh: Mesh, dz: Any) -> None:
    _, listing_id = published_listing(mesh, "retain_db", "retain_orders")
    subscription, [grant] = accepted_subscription(mesh, listing_id)
    revoked = dz.revoke_subscription(
        domainIdentifier=mesh.domain_id, identifier=subscription["id"], retainPermissions=True
    )
    assert (revoked["status"], revoked["retainPermissions"]) == ("REVOKED", True)
    still = dz.get_subscription_grant(domainIdentifier=mesh.domain_id, identifier=grant["id"])
    assert still["assets"][0]["status"] == "GRANTED"
    link_name = grant["assets"][0]["targetName"]
    assert link_name in consumer_tables(mesh)
    # Deleting the grant is what takes the access away.
    deleting = dz.delete_subscription_grant(domainIdentifier=mesh.domain_id, identifier=grant["id"])
    assert deleting["assets"][0]["status"] == "REVOKE_PENDING"
    for _ in range(3):
        try:
            dz.get_subscription_grant(domainIdentifier=mesh.domain_id, identifier=grant["id"])
        except ClientError as gone:
            assert gone.response["Error"]["Code"] == "ResourceNotFoundException"
            break
    else:
        raise AssertionError("the deleted grant did not disappear")
    assert link_name not in consumer_tables(mesh)


def test_manual_grant_to_a_custom_target_with_a_chosen_name(mesh: Mesh, dz: Any) -> None:
    _, listing_id = published_listing(mesh, "manual_db", "manual_orders")
    environment = mesh.consumer.lakehouse_id
    target = dz.create_subscription_target(
        domainIdentifier=mesh.domain_id,
        environmentIdentifier=environment,
        name="manual-target",
        type="GlueSubscriptionTargetType",
        subscriptionTargetConfig=[
            {
                "formName": "GlueSubscriptionTargetConfigForm",
                "content": f'{{"databaseName": "{mesh.consumer.glue_db}"}}',
            }
        ],
        authorizedPrincipals=[mesh.consumer.role_arn],
        manageAccessRole=mesh.consumer_setup.manage_access_role,
        applicableAssetTypes=["GlueTableAssetType"],
        subscriptionGrantCreationMode="MANUAL",
    )
    assert (target["subscriptionGrantCreationMode"], target["provider"]) == (
        "MANUAL",
        "Amazon DataZone",
    )
    listed = dz.list_subscription_targets(
        domainIdentifier=mesh.domain_id, environmentIdentifier=environment
    )
    assert target["id"] in [t["id"] for t in listed["items"]]
    assert (
        dz.get_subscription_target(
            domainIdentifier=mesh.domain_id,
            environmentIdentifier=environment,
            identifier=target["id"],
        )["name"]
        == "manual-target"
    )

    subscription, automatic = accepted_subscription(mesh, listing_id)
    assert [g["subscriptionTargetId"] for g in automatic] != [target["id"]]  # MANUAL: no grant made
    manual = dz.create_subscription_grant(
        domainIdentifier=mesh.domain_id,
        environmentIdentifier=environment,
        subscriptionTargetIdentifier=target["id"],
        grantedEntity={"listing": {"identifier": listing_id, "revision": "1"}},
        assetTargetNames=[
            {"assetId": automatic[0]["assets"][0]["assetId"], "targetName": "manual_copy"}
        ],
    )
    assert (manual["status"], manual["subscriptionId"]) == ("PENDING", subscription["id"])
    settled = [g for g in wait_grants(mesh, subscription["id"]) if g["id"] == manual["id"]]
    assert settled[0]["assets"][0]["targetName"] == "manual_copy"
    assert consumer_tables(mesh)["manual_copy"]["TargetTable"]["Name"] == "manual_orders"
    with pytest.raises(ClientError) as excinfo:
        dz.create_subscription_grant(
            domainIdentifier=mesh.domain_id,
            environmentIdentifier=environment,
            subscriptionTargetIdentifier=target["id"],
            grantedEntity={"listing": {"identifier": listing_id, "revision": "1"}},
        )
    assert error_of(excinfo) == (
        "ConflictException",
        f"Listing {listing_id} is already granted to subscription target {target['id']}",
    )
    with pytest.raises(ClientError) as excinfo:
        dz.delete_subscription_target(
            domainIdentifier=mesh.domain_id,
            environmentIdentifier=environment,
            identifier=target["id"],
        )
    assert error_of(excinfo) == (
        "ConflictException",
        f"Subscription target {target['id']} still has subscription grants ({manual['id']}); "
        "revoke or delete them first",
    )
    # Two grants give the same account-level access: revoking one keeps the other's.
    dz.delete_subscription_grant(domainIdentifier=mesh.domain_id, identifier=manual["id"])
    wait_grants(mesh, subscription["id"])
    assert "manual_copy" not in consumer_tables(mesh)
    assert rows_of(mesh, "manual_orders")[0] == "SUCCEEDED"
    dz.delete_subscription_target(
        domainIdentifier=mesh.domain_id, environmentIdentifier=environment, identifier=target["id"]
    )
    with pytest.raises(ClientError) as excinfo:
        dz.get_subscription_target(
            domainIdentifier=mesh.domain_id,
            environmentIdentifier=environment,
            identifier=target["id"],
        )
    assert error_of(excinfo) == (
        "ResourceNotFoundException",
        f"Subscription target {target['id']} not found",
    )
    dz.revoke_subscription(domainIdentifier=mesh.domain_id, identifier=subscription["id"])
    wait_grants(mesh, subscription["id"])


def test_same_account_subscription_grants_the_project_role_directly(mesh: Mesh, dz: Any) -> None:
    profile = next(
        p
        for p in dz.list_project_profiles(domainIdentifier=mesh.domain_id)["items"]
        if p["name"] == "producer"
    )
    analytics = deploy_project(mesh.cloud, mesh.domain, profile["id"], "analytics", "analytics_db")
    _, listing_id = published_listing(mesh, "local_db", "orders")
    request = subscribe(mesh, listing_id, analytics.id)
    dz.accept_subscription_request(domainIdentifier=mesh.domain_id, identifier=request["id"])
    subscription = subscription_of_request(mesh, request["id"])
    [grant] = wait_grants(mesh, subscription["id"])
    assert grant["assets"][0]["status"] == "GRANTED"
    held = lf_holders(mesh, DOMAIN_ACCOUNT, table_resource("local_db", "orders"))
    assert analytics.role_arn in held and DOMAIN_ACCOUNT not in held
    assert held[analytics.role_arn][0] >= {"SELECT", "DESCRIBE"}
    link = grant["assets"][0]["targetName"]
    sql = f'SELECT count(*) AS n FROM "{analytics.glue_db}"."{link}"'  # noqa: S608
    state, _, rows = athena_query(mesh, analytics, sql)
    assert (state, rows) == ("SUCCEEDED", [["n"], [str(len(ROWS))]])


# --- project deletion -------------------------------------------------------------------------


def test_deleting_projects_revokes_grants_and_removes_their_catalog(mesh: Mesh, dz: Any) -> None:
    profiles = {
        p["name"]: p["id"]
        for p in dz.list_project_profiles(domainIdentifier=mesh.domain_id)["items"]
    }
    seller = deploy_project(mesh.cloud, mesh.domain, profiles["producer"], "seller", "seller_db")
    buyer = deploy_project(mesh.cloud, mesh.domain, profiles["consumer"], "buyer", "buyer_db")
    create_table(mesh.cloud, "gone_db", "orders")
    grant_import_access(
        mesh.cloud, "gone_db", "orders", seller.role_arn, mesh.producer_setup.manage_access_role
    )
    source = dz.create_data_source(
        domainIdentifier=mesh.domain_id,
        projectIdentifier=seller.id,
        connectionIdentifier=seller.lakehouse_connection,
        name="seller-source",
        type="GLUE",
        publishOnImport=True,
        configuration={
            "glueRunConfiguration": {
                "relationalFilterConfigurations": [{"databaseName": "gone_db"}]
            }
        },
    )
    dz.get_data_source(domainIdentifier=mesh.domain_id, identifier=source["id"])
    run = dz.start_data_source_run(
        domainIdentifier=mesh.domain_id, dataSourceIdentifier=source["id"]
    )
    for _ in range(3):
        dz.get_data_source_run(domainIdentifier=mesh.domain_id, identifier=run["id"])
    [activity] = dz.list_data_source_run_activities(
        domainIdentifier=mesh.domain_id, identifier=run["id"]
    )["items"]
    asset_id = activity["dataAssetId"]
    listing = publish(mesh, asset_id)
    request = subscribe(mesh, listing["id"], buyer.id)
    dz.accept_subscription_request(domainIdentifier=mesh.domain_id, identifier=request["id"])
    subscription = subscription_of_request(mesh, request["id"])
    [grant] = wait_grants(mesh, subscription["id"])
    link = grant["assets"][0]["targetName"]
    glue_c = mesh.cloud.client("glue", CONSUMER_ACCOUNT)
    assert link in [t["Name"] for t in glue_c.get_tables(DatabaseName=buyer.glue_db)["TableList"]]

    # The consumer project goes first: its grant is revoked at once and its subscription goes.
    dz.delete_project(domainIdentifier=mesh.domain_id, identifier=buyer.id, skipDeletionCheck=True)
    assert CONSUMER_ACCOUNT not in lf_holders(
        mesh, DOMAIN_ACCOUNT, table_resource("gone_db", "orders")
    )
    with pytest.raises(ClientError) as excinfo:
        dz.get_subscription(domainIdentifier=mesh.domain_id, identifier=subscription["id"])
    assert error_of(excinfo)[0] == "ResourceNotFoundException"
    with pytest.raises(ClientError) as excinfo:
        dz.get_subscription_grant(domainIdentifier=mesh.domain_id, identifier=grant["id"])
    assert error_of(excinfo)[0] == "ResourceNotFoundException"

    # Then the producer project: its listing, asset, data source and runs go.
    dz.delete_project(domainIdentifier=mesh.domain_id, identifier=seller.id, skipDeletionCheck=True)
    for call, identifier, kind in (
        (dz.get_listing, listing["id"], "Listing"),
        (dz.get_data_source_run, run["id"], "Data source run"),
    ):
        with pytest.raises(ClientError) as excinfo:
            call(domainIdentifier=mesh.domain_id, identifier=identifier)
        assert error_of(excinfo) == ("ResourceNotFoundException", f"{kind} {identifier} not found")
    assert (
        dz.search_listings(domainIdentifier=mesh.domain_id, searchText="gone_db.orders")["items"]
        == []
    )
    assert seller.role_arn not in lf_holders(
        mesh, DOMAIN_ACCOUNT, {"Database": {"Name": "gone_db"}}
    )
