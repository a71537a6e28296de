"""DataZone client tokens (ADR 53): an operation whose input has an idempotency token
(`clientToken`, which botocore fills in and sends again on every retry of one call)
answers a repeat of a processed request with the first attempt's result instead of a
conflict with what that attempt made; the same token with other parameters is refused;
a failed attempt is not remembered.

Plain boto3 clients, written from the DataZone API reference: the first tests use only
CreateDomain and CreateUserProfile; the last ones build one domain with a producer and a
consumer project for the workflow's own creates (CreateSubscriptionRequest,
StartDataSourceRun).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import botocore.session
import pytest
from botocore.exceptions import ClientError

from smus_mesh_emulator.registration import is_mutating
from smus_mesh_emulator.server import EmulatorServer
from tests.emulator.datazone_setup import Mesh, create_data_source, mesh_on, published_listing
from tests.emulator.datazone_support import create_role
from tests.support import DOMAIN_ACCOUNT, Cloud


def error_of(excinfo: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    error = excinfo.value.response["Error"]
    return error["Code"], error["Message"]


def domain_roles(cloud: Cloud, prefix: str = "idem") -> dict[str, str]:
    return {
        "domainExecutionRole": create_role(cloud, DOMAIN_ACCOUNT, f"{prefix}-exec"),
        "serviceRole": create_role(cloud, DOMAIN_ACCOUNT, f"{prefix}-service"),
        "domainVersion": "V2",
    }


def domains_named(datazone: Any, name: str) -> list[dict[str, Any]]:
    return [d for d in datazone.list_domains()["items"] if d["name"] == name]


def lose_first_response(client: Any, operation: str) -> list[dict[str, Any]]:
    """Make `client` drop the response of the first attempt of each `operation` call and
    retry, as botocore does after a read timeout: the retry carries the same clientToken.
    The dropped responses (parsed) are collected in the list returned."""
    lost: list[dict[str, Any]] = []

    def retry_once(attempts: int, response: Any, **_: Any) -> int | None:
        if attempts == 1 and response is not None:
            lost.append(response[1])
            return 0  # retry at once
        return None

    client.meta.events.register_first(f"needs-retry.datazone.{operation}", retry_once)
    return lost


def test_every_operation_with_a_client_token_is_a_write() -> None:
    """The emulator finds each operation's token in the model, and the token store relies
    on those operations being writes: writes run alone (world lock exclusive, locking.py),
    so a token's look-up, the operation and its remembering are one step."""
    from smus_mesh_emulator.datazone.responses import idempotency_token

    model = botocore.session.get_session().get_service_model("datazone")
    with_token = [
        name
        for name in model.operation_names
        if model.operation_model(name).input_shape is not None
        and any(
            member.metadata.get("idempotencyToken")
            for member in model.operation_model(name).input_shape.members.values()
        )
    ]
    assert {"CreateDomain", "CreateSubscriptionRequest", "StartDataSourceRun"} <= set(with_token)
    assert {name: idempotency_token(name) for name in with_token} == dict.fromkeys(
        with_token, "clientToken"
    )
    assert idempotency_token("GetDomain") is None
    assert [name for name in with_token if not is_mutating(name)] == []


def test_a_create_sent_again_with_its_token_answers_the_first_result(cloud: Cloud) -> None:
    datazone = cloud.client("datazone")
    params = {"name": "idem", **domain_roles(cloud)}
    token = str(uuid.uuid4())
    first = datazone.create_domain(clientToken=token, **params)
    again = datazone.create_domain(clientToken=token, **params)
    assert again["id"] == first["id"]
    assert again["arn"] == first["arn"]
    assert again["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert [d["id"] for d in domains_named(datazone, "idem")] == [first["id"]]
    # A new token is a new request: the name is taken.
    with pytest.raises(ClientError) as excinfo:
        datazone.create_domain(clientToken=str(uuid.uuid4()), **params)
    assert error_of(excinfo) == ("ConflictException", "Domain name already exists: idem")
    # As botocore sends it when the caller gives none: a token of its own, another domain.
    with pytest.raises(ClientError) as excinfo:
        datazone.create_domain(**params)
    assert error_of(excinfo)[0] == "ConflictException"
    assert len(domains_named(datazone, "idem")) == 1


def test_a_lost_response_is_survived_by_the_sdk_retry(cloud: Cloud) -> None:
    datazone = cloud.session(DOMAIN_ACCOUNT).client("datazone", endpoint_url=cloud.url)
    lost = lose_first_response(datazone, "CreateDomain")
    created = datazone.create_domain(name="retried", **domain_roles(cloud))
    assert len(lost) == 1
    assert created["id"] == lost[0]["id"]
    assert [d["id"] for d in domains_named(datazone, "retried")] == [created["id"]]


def test_the_same_token_with_other_parameters_is_refused(cloud: Cloud) -> None:
    datazone = cloud.client("datazone")
    roles = domain_roles(cloud)
    token = str(uuid.uuid4())
    domain = datazone.create_domain(clientToken=token, name="first", **roles)
    with pytest.raises(ClientError) as excinfo:
        datazone.create_domain(clientToken=token, name="second", **roles)
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 409
    assert error_of(excinfo) == (
        "ConflictException",
        f"Client token {token} was already used by a CreateDomain request with different "
        "parameters: send that request again unchanged, or use a new client token",
    )
    assert domains_named(datazone, "second") == []
    # The token is the operation's: another operation may use the same one.
    profile_of = create_role(cloud, DOMAIN_ACCOUNT, "idem-user")
    other = create_role(cloud, DOMAIN_ACCOUNT, "idem-other-user")
    profile = datazone.create_user_profile(
        domainIdentifier=domain["id"], userIdentifier=profile_of, clientToken=token
    )
    assert profile["details"]["iam"]["arn"] == profile_of
    # An operation whose model lists no ConflictException answers ValidationException.
    with pytest.raises(ClientError) as excinfo:
        datazone.create_user_profile(
            domainIdentifier=domain["id"], userIdentifier=other, clientToken=token
        )
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert error_of(excinfo) == (
        "ValidationException",
        f"Client token {token} was already used by a CreateUserProfile request with "
        "different parameters: send that request again unchanged, or use a new client token",
    )


def test_a_failed_first_attempt_is_run_again(cloud: Cloud) -> None:
    datazone = cloud.client("datazone")
    execution = f"arn:aws:iam::{DOMAIN_ACCOUNT}:role/late-exec"
    token = str(uuid.uuid4())
    params = {"name": "late", "domainExecutionRole": execution, "clientToken": token}
    with pytest.raises(ClientError) as excinfo:
        datazone.create_domain(**params)
    assert error_of(excinfo) == (
        "ValidationException",
        f"domainExecutionRole {execution} does not exist in account {DOMAIN_ACCOUNT} or does "
        "not trust datazone.amazonaws.com",
    )
    assert create_role(cloud, DOMAIN_ACCOUNT, "late-exec") == execution
    domain = datazone.create_domain(**params)
    assert [d["id"] for d in domains_named(datazone, "late")] == [domain["id"]]
    # That success is what the token answers from now on.
    assert datazone.create_domain(**params)["id"] == domain["id"]


def test_a_reset_forgets_the_tokens(cloud: Cloud) -> None:
    token = str(uuid.uuid4())
    roles = domain_roles(cloud)
    first = cloud.client("datazone").create_domain(clientToken=token, name="reset", **roles)
    again = cloud.client("datazone").create_domain(clientToken=token, name="reset", **roles)
    assert again["id"] == first["id"]
    cloud.reset()
    again = cloud.client("datazone").create_domain(
        clientToken=token, name="reset", **domain_roles(cloud)
    )
    assert again["id"] != first["id"]
    assert [d["id"] for d in domains_named(cloud.client("datazone"), "reset")] == [again["id"]]


# --- the workflow's creates -----------------------------------------------------------------


@pytest.fixture(scope="module")
def mesh(emulator_server: EmulatorServer) -> Iterator[Mesh]:
    with mesh_on(emulator_server.url) as mesh:
        yield mesh


def test_a_subscription_request_sent_again_is_the_same_request(mesh: Mesh) -> None:
    datazone = mesh.datazone()
    _, listing = published_listing(mesh, "prod_db", "idem_orders")
    params = {
        "domainIdentifier": mesh.domain_id,
        "subscribedPrincipals": [{"project": {"identifier": mesh.consumer.id}}],
        "subscribedListings": [{"identifier": listing}],
        "requestReason": "needed for the quarterly report",
    }
    token = str(uuid.uuid4())
    first = datazone.create_subscription_request(clientToken=token, **params)
    again = datazone.create_subscription_request(clientToken=token, **params)
    assert again["id"] == first["id"]
    assert again["status"] == "PENDING"

    def requests() -> list[str]:
        items = datazone.list_subscription_requests(
            domainIdentifier=mesh.domain_id,
            status="PENDING",
            subscribedListingId=listing,
        )["items"]
        return [item["id"] for item in items]

    assert requests() == [first["id"]]
    with pytest.raises(ClientError) as excinfo:
        datazone.create_subscription_request(clientToken=str(uuid.uuid4()), **params)
    assert error_of(excinfo) == (
        "ConflictException",
        f"A PENDING subscription request ({first['id']}) already exists for project "
        f"{mesh.consumer.id} and listing {listing}",
    )
    # A lost response: botocore's retry carries the token, and answers the first result.
    client = mesh.cloud.session(DOMAIN_ACCOUNT).client("datazone", endpoint_url=mesh.cloud.url)
    lost = lose_first_response(client, "CreateSubscriptionRequest")
    datazone.reject_subscription_request(domainIdentifier=mesh.domain_id, identifier=first["id"])
    retried = client.create_subscription_request(**params)
    assert len(lost) == 1
    assert retried["id"] == lost[0]["id"] != first["id"]
    assert requests() == [retried["id"]]


def test_a_data_source_run_started_again_is_the_same_run(mesh: Mesh) -> None:
    datazone = mesh.datazone()
    source = create_data_source(mesh, "prod_db", "idem_*", name="idem-runs")
    token = str(uuid.uuid4())
    params = {"domainIdentifier": mesh.domain_id, "dataSourceIdentifier": source["id"]}
    first = datazone.start_data_source_run(clientToken=token, **params)
    again = datazone.start_data_source_run(clientToken=token, **params)
    assert again["id"] == first["id"]
    runs = datazone.list_data_source_runs(
        domainIdentifier=mesh.domain_id, dataSourceIdentifier=source["id"]
    )["items"]
    assert [run["id"] for run in runs] == [first["id"]]
