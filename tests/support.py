"""Test helpers shared by every suite: the emulated accounts and a handle on the cloud."""

from __future__ import annotations

import json
import os
import threading
import urllib.request
import weakref
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
    """Test handle on the emulated cloud: sessions and clients per account, the admin API.

    Clients are made once per (service, account) and, like those a test makes from
    `session()`, closed by `close()` (the `cloud` fixture's end) or a `reset`: a botocore
    client is kept alive by reference cycles, so without it its connections (and the
    emulator's side of them) stay open until a full garbage collection."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._sessions: dict[str, boto3.Session] = {}
        self._clients: dict[tuple[str, str], Any] = {}
        #: every client made from one of `_sessions`, by `client` or by a test
        self._made: weakref.WeakSet[Any] = weakref.WeakSet()
        self._lock = threading.Lock()

    def admin(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(f"{self.url}/_emulator/{path}", data=data, method=method)
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())

    def reset(self, accounts: int | None = None) -> None:
        """A fresh organization: `accounts` member accounts, or the server's number."""
        self.admin("POST", "reset", None if accounts is None else {"accounts": accounts})
        self.close()  # the assumed-role keys of the sessions died with the reset

    def close(self) -> None:
        """Close the connections of every client made from this handle's sessions, and
        forget the sessions and clients (the next ones are made anew)."""
        with self._lock:
            clients = list(self._made)
            self._made.clear()
            self._clients.clear()
            self._sessions.clear()
        for client in clients:
            client.close()

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
        with self._lock:
            session = self._sessions.get(account)
        if session is not None:
            return session
        if account == BASE_ACCOUNT:
            session = new_session(region_name=REGION)
        else:
            creds = self.client("sts", BASE_ACCOUNT).assume_role(
                RoleArn=f"arn:aws:iam::{account}:role/OrganizationAccountAccessRole",
                RoleSessionName="tests",
            )["Credentials"]
            session = credentials_session(creds)
        self._track(session)
        with self._lock:
            return self._sessions.setdefault(account, session)

    def client(self, service: str, account: str = DOMAIN_ACCOUNT) -> Any:
        """The client of `service` in `account` (made once; closed with the handle)."""
        key = (service, account)
        with self._lock:
            client = self._clients.get(key)
        if client is None:
            client = self.session(account).client(service, endpoint_url=self.url)
            with self._lock:
                client = self._clients.setdefault(key, client)
        return client

    def _track(self, session: boto3.Session) -> None:
        """Every client `session` makes is closed with this handle."""
        make = session.client

        def client(*args: Any, **kwargs: Any) -> Any:
            made = make(*args, **kwargs)
            with self._lock:
                self._made.add(made)
            return made

        session.client = client  # type: ignore[method-assign]
