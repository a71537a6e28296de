"""Test helpers shared by every suite: the emulated accounts and a handle on the cloud."""

from __future__ import annotations

import json
import os
import urllib.request
from collections.abc import Mapping
from typing import Any

import boto3

# The tool's sessions: one botocore data loader, models and client classes for the
# process (each is parsed once, not once per session; sessions are rebuilt after every reset).
from smus_mesh.accounts import new_session

DOMAIN_ACCOUNT = "111111111111"
CONSUMER_ACCOUNT = "222222222222"
#: The third member account, which exists after `cloud.reset(accounts=3)`.
THIRD_ACCOUNT = "333333333333"
BASE_ACCOUNT = "123456789012"
REGION = "us-east-1"

#: The test server's first-read grace (seconds): long enough that a test's first read right
#: after a create is never late on a loaded machine; short enough that nothing unread waits long.
TEST_FIRST_READ_GRACE = 1.0

#: The suite's emulator checks signatures and IAM policies (`--iam enforce`, ADR 21), as AWS
#: does; SMUS_MESH_TEST_IAM=off runs it without (tests that need either mode set it).
TEST_IAM = os.environ.get("SMUS_MESH_TEST_IAM", "enforce")


def management_trust(condition: dict[str, Any] | None = None) -> dict[str, Any]:
    """A trust policy by which the management account (its root test keys, or any of its
    principals its own policies allow) may assume the role, with an optional Condition."""
    statement: dict[str, Any] = {
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{BASE_ACCOUNT}:root"},
        "Action": "sts:AssumeRole",
    }
    if condition is not None:
        statement["Condition"] = condition
    return {"Version": "2012-10-17", "Statement": [statement]}


def signed(
    url: str, service: str, body: bytes, headers: dict[str, str], method: str = "POST"
) -> dict[str, str]:
    """`headers` and the SigV4 ones (X-Amz-Date, Authorization) of a request to `url` as
    botocore signs it, with the suite's root test keys: for tests that write the request
    by hand."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    request = AWSRequest(method=method, url=url, data=body, headers=headers)
    credentials = Credentials(os.environ["AWS_ACCESS_KEY_ID"], os.environ["AWS_SECRET_ACCESS_KEY"])
    SigV4Auth(credentials, service, REGION).add_auth(request)
    return dict(request.headers.items())


def credentials_session(credentials: Mapping[str, Any]) -> boto3.Session:
    """A session acting as temporary credentials, as STS returns them (`AccessKeyId`, ...)
    or DataZone's GetEnvironmentCredentials (`accessKeyId`, ...). It reads botocore's data
    through the process's one loader (`new_session`): a fresh loader parses each model again."""

    def value(name: str) -> str:
        return str(credentials[name if name in credentials else name[0].lower() + name[1:]])

    return new_session(
        aws_access_key_id=value("AccessKeyId"),
        aws_secret_access_key=value("SecretAccessKey"),
        aws_session_token=value("SessionToken"),
        region_name=REGION,
    )


class Cloud:
    """Test handle on the emulated cloud: sessions per account and the admin API."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._sessions: dict[str, boto3.Session] = {}

    def admin(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(f"{self.url}/_emulator/{path}", data=data, method=method)
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())

    def reset(self, accounts: int | None = None) -> None:
        """A fresh organization: `accounts` member accounts, or the server's number."""
        self.admin("POST", "reset", None if accounts is None else {"accounts": accounts})
        self._sessions.clear()

    def forget_sessions(self) -> None:
        """Drop the sessions made so far (after the cloud is restored from a snapshot, the
        temporary credentials they hold may not exist)."""
        self._sessions.clear()

    def accounts(self) -> list[str]:
        """The management account, then every member account (created ones included)."""
        accounts: list[str] = self.admin("GET", "health")["accounts"]
        return accounts

    def member_accounts(self) -> list[str]:
        return self.accounts()[1:]

    def calls(self) -> list[dict[str, Any]]:
        calls: list[dict[str, Any]] = self.admin("GET", "calls")["calls"]
        return calls

    def inventory(self) -> dict[str, Any]:
        return dict(self.admin("GET", "inventory")["accounts"])

    def session(self, account: str = DOMAIN_ACCOUNT) -> boto3.Session:
        """A session in `account`: base credentials, or OrganizationAccountAccessRole."""
        if account not in self._sessions:
            base = new_session(region_name=REGION)
            if account == BASE_ACCOUNT:
                self._sessions[account] = base
            else:
                creds = base.client("sts", endpoint_url=self.url).assume_role(
                    RoleArn=f"arn:aws:iam::{account}:role/OrganizationAccountAccessRole",
                    RoleSessionName="tests",
                )["Credentials"]
                self._sessions[account] = credentials_session(creds)
        return self._sessions[account]

    def client(self, service: str, account: str = DOMAIN_ACCOUNT) -> Any:
        return self.session(account).client(service, endpoint_url=self.url)
