"""Requests that run beside each other (ADR 28) leave every backend consistent.

Several threads of plain boto3 clients do mixed writes and reads of DataZone (two
domains), Glue, Lake Formation, S3 and IAM in two accounts at once, each checking its
own writes in list answers as it goes; at the end every write must be there, every list
answer whole, and no request may have failed inside the emulator. Without the locks
(moto's backends are not thread safe) this fails: a list that iterates a dict another
request inserts into answers 500.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from typing import Any

import pytest
from botocore.config import Config

from smus_mesh_emulator.locking import FairRWLock, Locks, datazone_domain
from tests.emulator.datazone_support import create_domain
from tests.emulator.lakehouse import database_resource, make_admin, principal, role_arn
from tests.support import CONSUMER_ACCOUNT, DOMAIN_ACCOUNT, Cloud

ACCOUNTS = (DOMAIN_ACCOUNT, CONSUMER_ACCOUNT)
ROUNDS = 12
SWITCH_INTERVAL = 1e-5
#: A failed call is a finding, not something to retry: botocore must not hide a 500.
NO_RETRY = Config(retries={"total_max_attempts": 1, "mode": "standard"})


def _iam(client: Any, tag: str, i: int, made: list[str]) -> None:
    name = f"{tag}-{i}"
    client.create_role(RoleName=name, AssumeRolePolicyDocument=_TRUST)
    made.append(name)
    listed = {
        r["RoleName"] for p in client.get_paginator("list_roles").paginate() for r in p["Roles"]
    }
    assert set(made) <= listed, set(made) - listed
    assert client.get_role(RoleName=name)["Role"]["RoleName"] == name


def _s3(client: Any, tag: str, i: int, made: list[str]) -> None:
    bucket = f"{tag}-{i}"
    client.create_bucket(Bucket=bucket)
    client.put_object(Bucket=bucket, Key="k", Body=b"v")
    made.append(bucket)
    listed = {b["Name"] for b in client.list_buckets()["Buckets"]}
    assert set(made) <= listed, set(made) - listed
    assert [o["Key"] for o in client.list_objects_v2(Bucket=bucket)["Contents"]] == ["k"]


def _glue(client: Any, tag: str, i: int, made: list[str]) -> None:
    database = f"{tag}_{i}"
    client.create_database(DatabaseInput={"Name": database})
    client.create_table(DatabaseName=database, TableInput={"Name": "t"})
    made.append(database)
    listed = {
        d["Name"]
        for p in client.get_paginator("get_databases").paginate()
        for d in p["DatabaseList"]
    }
    assert set(made) <= listed, set(made) - listed
    assert [t["Name"] for t in client.get_tables(DatabaseName=database)["TableList"]] == ["t"]


def _lakeformation(clients: tuple[Any, Any], account: str) -> Callable[..., None]:
    glue, lakeformation = clients

    def work(_: Any, tag: str, i: int, made: list[str]) -> None:
        database = f"{tag}_{i}"
        glue.create_database(DatabaseInput={"Name": database})
        lakeformation.grant_permissions(
            Principal=principal(role_arn(account, "Reader")),
            Resource=database_resource(database, account),
            Permissions=["DESCRIBE"],
        )
        made.append(database)
        reader = principal(role_arn(account, "Reader"))
        listed: set[str] = set()
        token: dict[str, str] = {}
        while True:  # list_permissions has no botocore paginator
            page = lakeformation.list_permissions(ResourceType="DATABASE", **token)
            listed |= {
                p["Resource"]["Database"]["Name"]
                for p in page["PrincipalResourcePermissions"]
                if p["Principal"] == reader
            }
            if not page.get("NextToken"):
                break
            token = {"NextToken": page["NextToken"]}
        assert set(made) <= listed, set(made) - listed

    return work


def _datazone(domain: str) -> Callable[..., None]:
    def work(client: Any, tag: str, i: int, made: list[str]) -> None:
        name = f"{tag}-{i}"
        made.append(client.create_project(domainIdentifier=domain, name=name)["id"])
        listed = {
            p["id"]
            for page in client.get_paginator("list_projects").paginate(domainIdentifier=domain)
            for p in page["items"]
        }
        assert set(made) <= listed, set(made) - listed
        assert client.get_domain(identifier=domain)["status"] == "AVAILABLE"

    return work


_TRUST = (
    '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", '
    '"Principal": {"Service": "glue.amazonaws.com"}, "Action": "sts:AssumeRole"}]}'
)


def _interleaved(threads: list[threading.Thread]) -> None:
    """Run `threads` to the end, switching between them every few microseconds rather than
    every 5 ms: a request is then interrupted in the middle of a backend update often
    enough to show a missing lock."""
    interval = sys.getswitchinterval()
    sys.setswitchinterval(SWITCH_INTERVAL)
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=300)
    finally:
        sys.setswitchinterval(interval)


def test_parallel_mixed_requests_lose_nothing_and_never_fail(cloud: Cloud) -> None:
    domains = [create_domain(cloud, name)["id"] for name in ("alpha", "beta")]
    for account in ACCOUNTS:
        make_admin(cloud, account, role_arn(account))
        cloud.client("iam", account).create_role(RoleName="Reader", AssumeRolePolicyDocument=_TRUST)

    def client(service: str, account: str) -> Any:
        # One client per thread: boto3 clients are made here, in one thread.
        return cloud.session(account).client(service, endpoint_url=cloud.url, config=NO_RETRY)

    workers: list[tuple[str, Callable[..., None], Any]] = []
    for n, account in enumerate(ACCOUNTS):
        workers += [
            (f"role-{n}", _iam, client("iam", account)),
            (f"bucket-{n}-stress", _s3, client("s3", account)),
            (f"db{n}", _glue, client("glue", account)),
            (
                f"lf{n}",
                _lakeformation(
                    (client("glue", account), client("lakeformation", account)), account
                ),
                None,
            ),
        ]
    workers += [
        (f"project-{d}", _datazone(domain), client("datazone", DOMAIN_ACCOUNT))
        for d, domain in enumerate(domains)
    ]
    start = threading.Barrier(len(workers))
    made: dict[str, list[str]] = {tag: [] for tag, _, _ in workers}
    failures: list[str] = []

    def run(tag: str, work: Callable[..., None], client: Any) -> None:
        start.wait(timeout=60)
        try:
            for i in range(ROUNDS):
                work(client, tag, i, made[tag])
        except Exception as exc:  # reported below, with the worker's name
            failures.append(f"{tag}: {type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=run, args=worker) for worker in workers]
    _interleaved(threads)
    assert failures == []
    assert all(len(items) == ROUNDS for items in made.values()), made
    server_errors = [c for c in cloud.calls() if c["status"] >= 500]
    assert server_errors == []

    # Every write is there once the dust settles, in the account it was made in.
    for n, account in enumerate(ACCOUNTS):
        roles = {
            r["RoleName"]
            for p in client("iam", account).get_paginator("list_roles").paginate()
            for r in p["Roles"]
        }
        assert set(made[f"role-{n}"]) <= roles
        buckets = {b["Name"] for b in client("s3", account).list_buckets()["Buckets"]}
        assert set(made[f"bucket-{n}-stress"]) <= buckets
    for d, domain in enumerate(domains):
        projects = client("datazone", DOMAIN_ACCOUNT).list_projects(
            domainIdentifier=domain, maxResults=50
        )["items"]
        assert sorted(p["id"] for p in projects) == sorted(made[f"project-{d}"])


RACERS = 3
RACES = 12


def test_racing_creates_of_one_name_make_exactly_one(cloud: Cloud) -> None:
    """Check-then-insert in a backend ("does the name exist? then add it") must be atomic:
    of several requests that create the same name at once, exactly one succeeds and the
    others get the service's documented conflict."""
    domain = create_domain(cloud, "racing")["id"]

    def client(service: str) -> Any:
        account = DOMAIN_ACCOUNT if service == "datazone" else CONSUMER_ACCOUNT
        return cloud.session(account).client(service, endpoint_url=cloud.url, config=NO_RETRY)

    creates: dict[str, tuple[Callable[[Any, str], Any], str]] = {
        "iam": (
            lambda c, n: c.create_role(RoleName=n, AssumeRolePolicyDocument=_TRUST),
            "EntityAlreadyExists",
        ),
        "glue": (
            lambda c, n: c.create_database(DatabaseInput={"Name": n.replace("-", "_")}),
            "AlreadyExistsException",
        ),
        "datazone": (
            lambda c, n: c.create_project(domainIdentifier=domain, name=n),
            "ConflictException",
        ),
    }
    outcomes: dict[str, list[str]] = {f"{s}-{r}": [] for s in creates for r in range(RACES)}
    lock = threading.Lock()
    barriers = {service: threading.Barrier(RACERS) for service in creates}

    def race(service: str, own: Any) -> None:
        create, _ = creates[service]
        for r in range(RACES):
            barriers[service].wait(timeout=60)
            try:
                create(own, f"race-{service}-{r}")
                outcome = "created"
            except own.exceptions.ClientError as exc:
                outcome = exc.response["Error"]["Code"]
            with lock:
                outcomes[f"{service}-{r}"].append(outcome)

    threads = [
        threading.Thread(target=race, args=(service, client(service)))
        for service in creates
        for racer in range(RACERS)
    ]
    _interleaved(threads)
    expected = {
        f"{s}-{r}": sorted(["created"] + [conflict] * (RACERS - 1))
        for s, (_, conflict) in creates.items()
        for r in range(RACES)
    }
    assert {name: sorted(seen) for name, seen in outcomes.items()} == expected


# --- the locks themselves -----------------------------------------------------------


def _wait_until_queued(lock: FairRWLock, waiting: int) -> None:
    for _ in range(2000):
        with lock._mutex:
            if len(lock._queue) == waiting:
                return
        threading.Event().wait(0.005)
    raise AssertionError(f"{waiting} waiters never queued")


def test_a_waiting_writer_is_not_overtaken_by_later_readers() -> None:
    lock = FairRWLock()
    order: list[str] = []
    lock.acquire(exclusive=False)

    def take(name: str, exclusive: bool) -> None:
        with lock.hold(exclusive):
            order.append(name)

    writer = threading.Thread(target=take, args=("writer", True))
    writer.start()
    _wait_until_queued(lock, 1)
    reader = threading.Thread(target=take, args=("reader", False))
    reader.start()
    _wait_until_queued(lock, 2)
    assert order == []  # the reader queues behind the writer though the lock is shared
    lock.release()
    writer.join(timeout=10)
    reader.join(timeout=10)
    assert order == ["writer", "reader"]


def test_a_shared_holder_cannot_take_the_lock_exclusive() -> None:
    lock = FairRWLock()
    refused = pytest.raises(RuntimeError, match="a shared holder cannot take the lock exclusive")
    with lock.hold(exclusive=False), lock.hold(exclusive=False), refused:  # re-entrant
        lock.acquire(exclusive=True)
    with lock.hold(exclusive=True), lock.hold(exclusive=False):  # the writer may read
        assert lock.held() == "exclusive"
    assert lock.held() is None


def test_what_each_request_locks() -> None:
    locks = Locks()
    assert datazone_domain("/v2/domains/dzd_1/projects") == "dzd_1"
    assert datazone_domain("/v2/domains") == ""
    # a DataZone read: its domain alone, and what it may read shared
    assert locks.plan("datazone", False, "/v2/domains/dzd_1", enforce=False) == {
        ("datazone", "dzd_1"): True,
        **{("service", s): False for s in ("glue", "iam", "lakeformation", "s3", "sts")},
    }
    # a DataZone write, RAM, an unknown service: alone
    assert locks.plan("datazone", True, "/v2/domains/dzd_1/projects", enforce=False) is None
    assert locks.plan("ram", False, "/", enforce=False) is None
    assert locks.plan("lakeformation", True, "/", enforce=False) == {
        ("service", "glue"): True,
        ("service", "lakeformation"): True,
    }
    # strict IAM reads the caller's policies, its session and bucket policies
    assert locks.plan("glue", True, "/", enforce=True) == {
        ("service", "glue"): True,
        ("service", "iam"): False,
        ("service", "s3"): False,
        ("service", "sts"): False,
    }
