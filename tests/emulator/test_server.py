"""The server plumbing: accounts, STS, fail-closed DataZone, admin endpoints."""

from __future__ import annotations

import time

import pytest
from botocore.exceptions import ClientError

from tests.support import BASE_ACCOUNT, CONSUMER_ACCOUNT, DOMAIN_ACCOUNT, Cloud


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
