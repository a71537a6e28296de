"""The server plumbing: accounts, STS, fail-closed DataZone, admin endpoints."""

from __future__ import annotations

import email.utils
import http.client
import json
import time

import pytest
from botocore.exceptions import ClientError

from tests.support import BASE_ACCOUNT, CONSUMER_ACCOUNT, DOMAIN_ACCOUNT, Cloud, signed


def test_member_accounts_are_reached_by_assuming_their_role(cloud: Cloud) -> None:
    for account in (DOMAIN_ACCOUNT, CONSUMER_ACCOUNT):
        identity = cloud.client("sts", account).get_caller_identity()
        assert identity["Account"] == account
        assert identity["Arn"].startswith(
            f"arn:aws:sts::{account}:assumed-role/OrganizationAccountAccessRole/"
        )
    assert cloud.client("sts", BASE_ACCOUNT).get_caller_identity()["Account"] == BASE_ACCOUNT


def test_assume_role_into_missing_role_is_access_denied(cloud: Cloud) -> None:
    sts = cloud.client("sts", BASE_ACCOUNT)
    with pytest.raises(ClientError) as excinfo:
        sts.assume_role(RoleArn=f"arn:aws:iam::{DOMAIN_ACCOUNT}:role/Nope", RoleSessionName="t1")
    assert excinfo.value.response["Error"]["Code"] == "AccessDenied"
    assert "not authorized to perform: sts:AssumeRole" in excinfo.value.response["Error"]["Message"]


def test_unimplemented_datazone_operation_fails_fast_and_names_itself(cloud: Cloud) -> None:
    datazone = cloud.client("datazone")
    started = time.monotonic()
    with pytest.raises(ClientError) as excinfo:
        datazone.get_glossary(domainIdentifier="dzd_x", identifier="g")
    assert time.monotonic() - started < 2
    error = excinfo.value.response["Error"]
    assert error["Code"] == "NotImplemented"
    assert "not implemented in emulator: DataZone GetGlossary" in error["Message"]
    assert excinfo.value.response["ResponseMetadata"]["RetryAttempts"] == 0


def test_calls_log_records_service_operation_account_and_status(cloud: Cloud) -> None:
    cloud.admin("POST", "calls/reset")
    cloud.client("s3", CONSUMER_ACCOUNT).create_bucket(Bucket="calls-log-bucket")
    calls = cloud.calls()
    create = [c for c in calls if c["operation"] == "CreateBucket"]
    assert create == [
        {
            **create[0],
            "service": "s3",
            "account": CONSUMER_ACCOUNT,
            "mutating": True,
            "status": 200,
        }
    ]
    assume = [c for c in calls if c["operation"] == "AssumeRole"]
    assert assume and not assume[0]["mutating"]


def test_trust_policy_updates_accept_session_actions_like_aws(cloud: Cloud) -> None:
    iam = cloud.client("iam", DOMAIN_ACCOUNT)
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "datazone.amazonaws.com"},
                "Action": ["sts:AssumeRole", "sts:TagSession", "sts:SetContext"],
            }
        ],
    }
    iam.create_role(RoleName="session-actions", AssumeRolePolicyDocument=json.dumps(trust))
    trust["Statement"][0]["Condition"] = {"StringEquals": {"aws:SourceAccount": DOMAIN_ACCOUNT}}
    iam.update_assume_role_policy(RoleName="session-actions", PolicyDocument=json.dumps(trust))
    stored = iam.get_role(RoleName="session-actions")["Role"]["AssumeRolePolicyDocument"]
    assert stored["Statement"][0]["Condition"] == trust["Statement"][0]["Condition"]

    trust["Statement"][0]["Action"] = ["sts:AssumeRole", "s3:GetObject"]
    with pytest.raises(ClientError) as refused:
        iam.update_assume_role_policy(RoleName="session-actions", PolicyDocument=json.dumps(trust))
    assert refused.value.response["Error"]["Code"] == "MalformedPolicyDocument"
    assert "Trust Policy statement actions" in refused.value.response["Error"]["Message"]


def _signed_sts_request(cloud: Cloud) -> tuple[str, dict[str, str], bytes]:
    """GetCallerIdentity as botocore sends it: path, signed headers, form body."""
    body = b"Action=GetCallerIdentity&Version=2011-06-15"
    content = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
    return "/", signed(cloud.url + "/", "sts", body, content), body


def test_one_connection_carries_many_requests(cloud: Cloud) -> None:
    """HTTP/1.1 keep-alive: three calls on one TCP connection, each answered in full."""
    host, port = cloud.url.removeprefix("http://").split(":")
    path, headers, body = _signed_sts_request(cloud)
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    try:
        for _ in range(3):
            connection.request("POST", path, body=body, headers=headers)
            response = connection.getresponse()
            payload = response.read()
            assert response.status == 200, payload
            assert f"<Account>{BASE_ACCOUNT}</Account>".encode() in payload
            assert response.getheader("Connection", "").lower() != "close"
        sock = connection.sock
        assert sock is not None  # still the first connection: never closed by the server
    finally:
        connection.close()


def test_every_response_carries_one_http_date(cloud: Cloud) -> None:
    """AWS answers with a Date header (RFC 7231's IMF-fixdate); the server adds it, once."""
    host, port = cloud.url.removeprefix("http://").split(":")
    path, headers, body = _signed_sts_request(cloud)
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    try:
        for method, target, payload in (("POST", path, body), ("GET", "/_emulator/health", b"")):
            before = time.time()
            connection.request(method, target, body=payload, headers=headers if payload else {})
            response = connection.getresponse()
            response.read()
            after = time.time()
            dates = [v for k, v in response.getheaders() if k.lower() == "date"]
            assert len(dates) == 1, response.getheaders()
            assert dates[0].endswith(" GMT") and dates[0][3:5] == ", "
            when = email.utils.parsedate_to_datetime(dates[0]).timestamp()
            assert int(before) <= when <= after
    finally:
        connection.close()


def test_a_chunked_request_body_is_read_whole(cloud: Cloud) -> None:
    """A body sent with Transfer-Encoding: chunked (no Content-Length) reaches the service."""
    host, port = cloud.url.removeprefix("http://").split(":")
    path, headers, body = _signed_sts_request(cloud)
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    try:
        connection.request(
            "POST", path, body=iter([body[:10], body[10:]]), headers=headers, encode_chunked=True
        )
        response = connection.getresponse()
        payload = response.read()
    finally:
        connection.close()
    assert response.status == 200, payload
    assert f"<Account>{BASE_ACCOUNT}</Account>".encode() in payload
    [call] = [c for c in cloud.calls() if c["operation"] == "GetCallerIdentity"]
    assert (call["service"], call["status"]) == ("sts", 200)


def test_s3_metadata_keeps_its_underscores_and_no_other_underscored_header_counts(
    cloud: Cloud,
) -> None:
    """As moto's own server: x-amz-meta-* keeps its spelling; an underscored header never
    stands in for a dashed one."""
    s3 = cloud.client("s3", DOMAIN_ACCOUNT)
    s3.create_bucket(Bucket="meta-bucket")
    s3.put_object(Bucket="meta-bucket", Key="k", Body=b"x", Metadata={"my_key": "v1"})
    assert s3.head_object(Bucket="meta-bucket", Key="k")["Metadata"] == {"my_key": "v1"}
