"""The `/_emulator/*` admin endpoints: health, calls log, faults, latency, reset, 404s."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from smus_mesh_emulator.admin import ENDPOINTS
from tests.emulator.datazone_support import create_role
from tests.support import (
    BASE_ACCOUNT,
    CONSUMER_ACCOUNT,
    DOMAIN_ACCOUNT,
    TEST_FIRST_READ_GRACE,
    TEST_IAM,
    Cloud,
)

#: One retry, so that a test sees botocore retry an injected fault without waiting long.
ONE_RETRY = Config(retries={"mode": "standard", "total_max_attempts": 2})
NO_RETRY = Config(retries={"mode": "standard", "total_max_attempts": 1})


def refused(cloud: Cloud, method: str, path: str, body: bytes | None = None) -> tuple[int, Any]:
    """Status and JSON payload of an admin request that the emulator refuses."""
    request = urllib.request.Request(f"{cloud.url}/_emulator/{path}", data=body, method=method)
    with pytest.raises(urllib.error.HTTPError) as excinfo:
        urllib.request.urlopen(request, timeout=30)
    return excinfo.value.code, json.loads(excinfo.value.read())


def client(cloud: Cloud, service: str, account: str, config: Config) -> Any:
    return cloud.session(account).client(service, endpoint_url=cloud.url, config=config)  # type: ignore[call-overload]


@pytest.fixture
def restore_latency(cloud: Cloud) -> Iterator[None]:
    """Latency survives a reset; put the test profile back whatever happens."""
    yield
    cloud.admin("POST", "latency", {"profile": "none", "time_scale": 1.0})


def test_health_names_the_accounts_and_the_latency_profile(cloud: Cloud) -> None:
    health = cloud.admin("GET", "health")
    assert health["status"] == "ok"
    assert health["accounts"] == [BASE_ACCOUNT, DOMAIN_ACCOUNT, CONSUMER_ACCOUNT]
    assert (health["latency"]["profile"], health["latency"]["time_scale"]) == ("none", 1.0)
    assert health["latency"]["durations"]["domain.create"] == 0.0
    assert health["latency"]["first_read_grace"] == TEST_FIRST_READ_GRACE


@pytest.mark.first_read_grace(7.5)
def test_a_test_may_set_its_own_first_read_grace(cloud: Cloud) -> None:
    assert cloud.admin("GET", "health")["latency"]["first_read_grace"] == 7.5


def test_the_grace_a_test_set_is_gone_for_the_next(cloud: Cloud) -> None:
    assert cloud.admin("GET", "health")["latency"]["first_read_grace"] == TEST_FIRST_READ_GRACE


def test_calls_log_records_every_call_in_order(cloud: Cloud) -> None:
    s3 = cloud.client("s3", CONSUMER_ACCOUNT)
    glue = cloud.client("glue", DOMAIN_ACCOUNT)
    sts = cloud.client("sts", BASE_ACCOUNT)
    assert cloud.admin("POST", "calls/reset") == {"calls": []}

    s3.create_bucket(Bucket="calls-bucket")
    with pytest.raises(ClientError):
        glue.get_database(Name="missing")
    sts.get_caller_identity()

    calls = cloud.calls()
    assert [c["seq"] for c in calls] == [1, 2, 3]
    assert [
        (c["service"], c["operation"], c["account"], c["mutating"], c["status"], c["error_code"])
        for c in calls
    ] == [
        ("s3", "CreateBucket", CONSUMER_ACCOUNT, True, 200, None),
        ("glue", "GetDatabase", DOMAIN_ACCOUNT, False, 400, "EntityNotFoundException"),
        ("sts", "GetCallerIdentity", BASE_ACCOUNT, False, 200, None),
    ]
    # How each call was authorised: by its role's policies (the member accounts' sessions)
    # or as the management account's root; None when the server does not enforce IAM.
    verdicts = ["policy", "policy", "root"] if TEST_IAM == "enforce" else [None] * 3
    assert [c["iam"] for c in calls] == verdicts
    for call in calls:
        assert set(call) == {
            "seq",
            "service",
            "operation",
            "account",
            "region",
            "mutating",
            "status",
            "duration_ms",
            "busy_ms",
            "wait_ms",
            "error_code",
            "injected",
            "iam",
        }
        assert (call["region"], call["injected"]) == ("us-east-1", None)
        assert call["duration_ms"] >= call["busy_ms"] >= 0
        assert call["duration_ms"] >= call["wait_ms"] >= 0

    later = cloud.admin("GET", "calls?since=1")["calls"]
    assert [c["operation"] for c in later] == ["GetDatabase", "GetCallerIdentity"]
    assert cloud.admin("GET", "calls?since=3")["calls"] == []
    assert refused(cloud, "GET", "calls?since=last") == (
        400,
        {"error": "since must be a call seq number, not 'last'"},
    )
    cloud.admin("POST", "calls/reset")
    assert cloud.calls() == []


def test_throttling_hits_only_the_chosen_operation_and_botocore_retries_it(
    cloud: Cloud,
) -> None:
    glue = client(cloud, "glue", CONSUMER_ACCOUNT, ONE_RETRY)
    settings = {"throttle_rate": 1.0, "seed": 7, "operations": ["GetDatabases"]}
    assert cloud.admin("POST", "faults", settings) == {**settings, "error_rate": 0.0}
    cloud.admin("POST", "calls/reset")

    with pytest.raises(ClientError) as excinfo:
        glue.get_databases()
    response = excinfo.value.response
    assert response["Error"]["Code"] == "ThrottlingException"
    assert response["Error"]["Message"] == (
        "Rate exceeded (injected by the emulator for GetDatabases)"
    )
    assert response["ResponseMetadata"]["RetryAttempts"] == 1
    glue.create_database(DatabaseInput={"Name": "unaffected"})

    assert [
        (c["operation"], c["status"], c["injected"], c["error_code"]) for c in cloud.calls()
    ] == [
        ("GetDatabases", 400, "throttle", "ThrottlingException"),
        ("GetDatabases", 400, "throttle", "ThrottlingException"),
        ("CreateDatabase", 200, None, None),
    ]


@pytest.mark.parametrize(
    ("service", "operation", "code"),
    [("glue", "get_databases", "InternalServerException"), ("s3", "list_buckets", "InternalError")],
)
def test_server_errors_are_shaped_per_protocol_and_retried(
    cloud: Cloud, service: str, operation: str, code: str
) -> None:
    api = client(cloud, service, CONSUMER_ACCOUNT, ONE_RETRY)
    cloud.admin("POST", "faults", {"error_rate": 1.0})
    with pytest.raises(ClientError) as excinfo:
        getattr(api, operation)()
    response = excinfo.value.response
    assert response["Error"]["Code"] == code
    assert "Internal failure (injected by the emulator for" in response["Error"]["Message"]
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 500
    assert response["ResponseMetadata"]["RetryAttempts"] == 1


def test_faults_are_reproducible_from_their_seed(cloud: Cloud) -> None:
    glue = client(cloud, "glue", CONSUMER_ACCOUNT, NO_RETRY)

    def outcomes() -> list[bool]:
        cloud.admin("POST", "faults", {"throttle_rate": 0.5, "seed": 42})
        results = []
        for _ in range(12):
            try:
                glue.get_databases()
                results.append(True)
            except ClientError:
                results.append(False)
        return results

    first = outcomes()
    assert first == outcomes()
    assert True in first and False in first


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            b'{"throttle_rate": 1.5}',
            "throttle_rate and error_rate must be in [0, 1] and sum to <= 1",
        ),
        (
            b'{"throttle_rate": 0.6, "error_rate": 0.6}',
            "throttle_rate and error_rate must be in [0, 1] and sum to <= 1",
        ),
        (b'{"rate": 1}', "unknown fault settings: ['rate']"),
        (b'{"throttle_rate": "lots"}', 'throttle_rate must be a number, not "lots"'),
        (b'{"throttle_rate": true}', "throttle_rate must be a number, not true"),
        (b'{"error_rate": 1e400}', "error_rate must be a finite number, not inf"),
        (b'{"error_rate": NaN}', "body is not JSON: NaN is not JSON (use a number)"),
        (b'{"seed": 1e400}', "seed must be an integer, not Infinity"),
        (b'{"seed": 2.5}', "seed must be an integer, not 2.5"),
        (b'{"seed": "2"}', 'seed must be an integer, not "2"'),
        (b'{"seed": null}', "seed must be an integer, not null"),
        (
            b'{"operations": ["GetDomain", 5]}',
            "operations must be a list of operation names, e.g. ['GetDomain']",
        ),
        (b"\xff\xfe{", "body is not JSON: "),
        (
            b'{"operations": "GetDomain"}',
            "operations must be a list of operation names, e.g. ['GetDomain']",
        ),
        (b"[1, 2]", "body must be a JSON object"),
        (b"{nope", "body is not JSON: Expecting property name enclosed in double quotes"),
    ],
)
def test_bad_fault_settings_are_refused_and_change_nothing(
    cloud: Cloud, body: bytes, message: str
) -> None:
    status, payload = refused(cloud, "POST", "faults", body)
    assert status == 400
    assert payload["error"].startswith(message)
    assert cloud.admin("GET", "faults") == {
        "throttle_rate": 0.0,
        "error_rate": 0.0,
        "seed": 0,
        "operations": [],
    }


def test_realistic_latency_keeps_objects_in_progress_for_their_scaled_duration(
    cloud: Cloud, restore_latency: None
) -> None:
    profile = cloud.admin("POST", "latency", {"profile": "realistic", "time_scale": 0.01})
    assert (profile["profile"], profile["time_scale"]) == ("realistic", 0.01)
    duration = profile["durations"]["domain.create"]
    assert duration == pytest.approx(0.9)
    assert cloud.admin("GET", "health")["latency"] == profile

    role = create_role(cloud, DOMAIN_ACCOUNT, "exec")
    datazone = cloud.client("datazone", DOMAIN_ACCOUNT)
    datazone.list_domains()  # load the client's model before the clock starts
    started = time.monotonic()
    domain_id = datazone.create_domain(name="slow", domainExecutionRole=role)["id"]
    created = time.monotonic()
    assert datazone.get_domain(identifier=domain_id)["status"] == "CREATING"
    second = datazone.get_domain(identifier=domain_id)["status"]
    if time.monotonic() - started < duration:  # read, but its duration has not passed
        assert second == "CREATING"
    time.sleep(max(0.0, duration + 0.05 - (time.monotonic() - created)))
    assert datazone.get_domain(identifier=domain_id)["status"] == "AVAILABLE"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"profile": "fast"}, "bad latency settings: unknown latency profile 'fast'; expected"),
        (
            {"time_scale": 0},
            "bad latency settings: time_scale must be a finite number in (0, 1000], not 0",
        ),
        ({"time_scale": 1e300}, "bad latency settings: time_scale must be a finite number in"),
        ({"time_scale": None}, "time_scale must be a number, not null"),
        ({"time_scale": "x"}, 'time_scale must be a number, not "x"'),
        ({"time_scale": True}, "time_scale must be a number, not true"),
        ({"profile": 5}, "profile must be 'none' or 'realistic'"),
        ({"speed": 2}, "unknown latency settings: ['speed']"),
        (
            {"first_read_grace": -1},
            "bad latency settings: first_read_grace must be a finite number in [0, 60], not -1.0",
        ),
        ({"first_read_grace": "1"}, 'first_read_grace must be a number, not "1"'),
        (b'{"time_scale": 1e400}', "time_scale must be a finite number, not inf"),
        (b'{"time_scale": NaN}', "body is not JSON: NaN is not JSON (use a number)"),
        (b'{"time_scale": -Infinity}', "body is not JSON: -Infinity is not JSON"),
    ],
)
def test_bad_latency_settings_are_refused_and_change_nothing(
    cloud: Cloud, body: dict[str, Any] | bytes, message: str, restore_latency: None
) -> None:
    before = cloud.admin("GET", "latency")
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    status, payload = refused(cloud, "POST", "latency", raw)
    assert cloud.admin("GET", "latency") == before
    assert cloud.admin("GET", "health")["status"] == "ok"  # and AWS calls still work:
    assert cloud.client("sts").get_caller_identity()["Account"]
    assert status == 400
    assert payload["error"].startswith(message)
    latency = cloud.admin("GET", "latency")
    assert (latency["profile"], latency["time_scale"]) == ("none", 1.0)


def test_reset_clears_everything_and_reseeds_the_member_accounts(cloud: Cloud) -> None:
    cloud.client("s3", CONSUMER_ACCOUNT).create_bucket(Bucket="before-reset")
    create_role(cloud, DOMAIN_ACCOUNT, "before-reset")
    cloud.admin("POST", "faults", {"throttle_rate": 0.1, "operations": ["GetDomain"]})

    assert cloud.admin("POST", "reset") == {
        "status": "reset",
        "accounts": [BASE_ACCOUNT, DOMAIN_ACCOUNT, CONSUMER_ACCOUNT],
    }
    assert cloud.calls() == []
    assert cloud.admin("GET", "faults")["throttle_rate"] == 0.0
    fresh = Cloud(cloud.url)  # the old assumed-role keys died with the reset
    for account in (DOMAIN_ACCOUNT, CONSUMER_ACCOUNT):
        role = fresh.client("iam", account).get_role(RoleName="OrganizationAccountAccessRole")
        assert role["Role"]["Arn"] == f"arn:aws:iam::{account}:role/OrganizationAccountAccessRole"
    for account, classes in fresh.inventory().items():
        assert all(items == [] for items in classes.values()), account


def test_a_reset_lets_go_of_the_old_cloud(cloud: Cloud) -> None:
    # A reset drops moto's backends without building them again first (ADR 35): what
    # a backend must clean up still is (S3's object files), and the next cloud is new.
    from moto.s3.models import FakeKey

    s3 = cloud.client("s3", CONSUMER_ACCOUNT)
    s3.create_bucket(Bucket="held-across-reset")
    s3.put_object(Bucket="held-across-reset", Key="k", Body=b"old")
    ec2 = cloud.client("ec2", DOMAIN_ACCOUNT)
    ec2.create_vpc(CidrBlock="10.9.0.0/16")
    keys = [k for k in FakeKey.instances_tracked if k.bucket_name == "held-across-reset"]  # type: ignore[attr-defined]
    assert keys and not any(k.disposed for k in keys)

    cloud.admin("POST", "reset")

    assert all(k.disposed for k in keys)
    fresh = Cloud(cloud.url)
    # the name is free again, for another account too
    fresh.client("s3", DOMAIN_ACCOUNT).create_bucket(Bucket="held-across-reset")
    assert (
        fresh.client("s3", DOMAIN_ACCOUNT).list_objects_v2(Bucket="held-across-reset")["KeyCount"]
        == 0
    )
    vpcs = fresh.client("ec2", DOMAIN_ACCOUNT).describe_vpcs()["Vpcs"]
    assert [(v["IsDefault"], v["CidrBlock"]) for v in vpcs] == [(True, "172.31.0.0/16")]


@pytest.mark.parametrize(
    ("method", "path"), [("GET", "nope"), ("GET", "reset"), ("DELETE", "calls")]
)
def test_unknown_admin_requests_list_the_endpoints(cloud: Cloud, method: str, path: str) -> None:
    status, payload = refused(cloud, method, path)
    assert status == 404
    assert payload == {
        "error": f"no admin endpoint {method} /_emulator/{path}",
        "endpoints": ENDPOINTS,
    }
