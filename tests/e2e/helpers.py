"""Helpers for the resilience and teardown tests: a real `up` killed at a chosen AWS call,
counts of what exists (to prove there is no duplicate), and inventory differences.

The kill is real: `python -m smus_mesh up` runs as a subprocess against the emulator,
which this test process serves in a thread. The test watches the emulator's own calls log
from inside (no polling): the moment the target operation's answer is made, the test's
thread sends SIGKILL, and no mutating call that reaches the emulator after that answer is
done (`_KillAfter`, ADR 43). Nothing of the tool is patched; the subprocess gets the same
environment as the test (AWS_ENDPOINT_URL, dummy credentials, region, SMUS_MESH_POLL_*).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from smus_mesh_emulator.registration import is_mutating
from smus_mesh_emulator.runtime import RUNTIME
from tests.support import CONSUMER_ACCOUNT, DOMAIN_ACCOUNT, Cloud

#: Where the issue asks for a kill (issue 3.4, issue 5.2), in the order `up` reaches them.
#: (operation, which occurrence of it)
KILL_POINTS: tuple[tuple[str, int], ...] = (
    ("CreateDomain", 1),
    ("CreateResourceShare", 1),
    ("CreateProject", 1),
    ("CreateDataSource", 1),
    ("StartDataSourceRun", 1),
    ("CreateSubscriptionRequest", 1),
    ("AcceptSubscriptionRequest", 1),
)

#: The seconds a watched run may take before the test gives up on it.
RUN_DEADLINE = 180.0


def last_seq(cloud: Cloud) -> int:
    """The sequence number of the last call in the emulator's log (0 if empty)."""
    calls = cloud.calls()
    return int(calls[-1]["seq"]) if calls else 0


def calls_since(cloud: Cloud, seq: int) -> list[dict[str, Any]]:
    calls: list[dict[str, Any]] = cloud.admin("GET", f"calls?since={seq}")["calls"]
    return calls


@dataclass
class Kill:
    """Where a killed run stopped."""

    operation: str
    occurrence: int
    #: seq of the answered target call in the emulator's log
    target_seq: int
    #: milliseconds between seeing the answered target and the process being dead
    kill_ms: float
    #: calls the emulator received from the run after the target (before it died)
    later_calls: list[dict[str, Any]] = field(default_factory=list)
    stderr: str = ""

    def describe(self) -> str:
        later = ", ".join(c["operation"] for c in self.later_calls) or "none"
        return (
            f"killed after {self.operation} #{self.occurrence} (seq {self.target_seq}) in "
            f"{self.kill_ms:.1f} ms; {len(self.later_calls)} later call(s): {later}"
        )


def cli_command(config: Path, state: Path, *args: str) -> list[str]:
    """`smus-mesh -c <config> --state <state> <args>` with the interpreter running the tests
    (the project's .venv python)."""
    return [sys.executable, "-m", "smus_mesh", "-c", str(config), "--state", str(state), *args]


def run_up_killed_at(
    cloud: Cloud, config: Path, state: Path, operation: str, occurrence: int = 1
) -> Kill:
    """Run `smus-mesh up` in a subprocess and SIGKILL it as soon as the emulator has
    answered `operation` (its `occurrence`-th successful call) for it."""
    return run_killed_at(cloud, config, state, ("up",), operation, occurrence)


class _KillAfter:
    """Hooks into the emulator this process serves: `record` (called once a call's answer
    is made, before it is sent) and `draw_fault` (called as each call arrives).

    When the `occurrence`-th successful `operation` is recorded, `answered` is set and the
    test's thread kills the run at once. A mutating call arriving after that answer, before
    the kill or sent just before it, is not done: it gets an injected server error, as if
    the network had lost it, and the kill is sent then if it has not been yet. So the kill
    point is exact however loaded the machine is (a watcher polling the log from outside
    could see the answer only after the run's next calls, e.g. AcceptSubscriptionRequest
    right after CreateSubscriptionRequest). Reads are served: they change nothing, and AWS
    serves what was sent before a client died. Calls already inside the emulator when the
    answer was made (other steps run in parallel) are done, as AWS would do them."""

    def __init__(self, operation: str, occurrence: int) -> None:
        self.operation = operation
        self.occurrence = occurrence
        self.found = 0
        self.answered = threading.Event()
        self.answered_at = 0.0
        self.dead_at = 0.0
        self.process: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()
        self._record = RUNTIME.record
        self._draw_fault = RUNTIME.draw_fault

    def __enter__(self) -> _KillAfter:
        RUNTIME.record = self._recorded  # type: ignore[method-assign]
        RUNTIME.draw_fault = self._arrived  # type: ignore[method-assign]
        return self

    def __exit__(self, *exc: object) -> None:
        RUNTIME.record = self._record  # type: ignore[method-assign]
        RUNTIME.draw_fault = self._draw_fault  # type: ignore[method-assign]

    def _recorded(self, **fields: Any) -> None:
        self._record(**fields)
        if fields["operation"] != self.operation or fields["status"] >= 400:
            return
        with self._lock:
            self.found += 1
            if self.found == self.occurrence:
                self.answered_at = time.monotonic()
                self.answered.set()

    def _arrived(self, operation: str) -> str | None:
        if self.answered.is_set() and is_mutating(operation):
            self.kill()
            return "error"
        return self._draw_fault(operation)

    def watch(self, process: subprocess.Popen[bytes]) -> None:
        with self._lock:
            self.process = process

    def kill(self) -> None:
        with self._lock:
            if self.process is not None and not self.dead_at:
                self.process.send_signal(signal.SIGKILL)
                self.process.wait(timeout=30)
                self.dead_at = time.monotonic()


def run_killed_at(
    cloud: Cloud,
    config: Path,
    state: Path,
    command: tuple[str, ...],
    operation: str,
    occurrence: int = 1,
) -> Kill:
    """Run `smus-mesh <command>` in a subprocess; SIGKILL it once `operation` is answered."""
    start = last_seq(cloud)
    log = state.parent / f"killed-{command[0]}-{operation}.log"
    with open(log, "w", encoding="utf-8") as stderr, _KillAfter(operation, occurrence) as killer:
        process = subprocess.Popen(
            cli_command(config, state, *command),
            env=dict(os.environ),
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
        killer.watch(process)
        try:
            deadline = time.monotonic() + RUN_DEADLINE
            while not killer.answered.wait(0.05):
                if process.poll() is not None:
                    raise AssertionError(
                        f"`{' '.join(command)}` exited ({process.returncode}) before "
                        f"{operation} #{occurrence} (saw {killer.found}):\n"
                        f"{log.read_text(encoding='utf-8')[-4000:]}"
                    )
                if time.monotonic() > deadline:
                    raise AssertionError(f"{command} did not reach {operation} in {RUN_DEADLINE}s")
            killer.kill()
            # Requests already on the wire may still be answered; give them a moment so
            # the log shows everything the run did.
            time.sleep(0.2)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait(timeout=30)
    calls = calls_since(cloud, start)
    target = [c for c in calls if c["operation"] == operation and c["status"] < 400][occurrence - 1]
    seq = int(target["seq"])
    return Kill(
        operation,
        occurrence,
        seq,
        (killer.dead_at - killer.answered_at) * 1000,
        [c for c in calls if int(c["seq"]) > seq],
        log.read_text(encoding="utf-8"),
    )


# --- counting what exists (boto3, in the emulator) ------------------------------------------


def _all(client: Any, operation: str, key: str, **kwargs: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    for page in client.get_paginator(operation).paginate(**kwargs):
        items += page.get(key, [])
    return items


#: Every status of a subscription request, and of a subscription.
REQUEST_STATUSES = ("PENDING", "ACCEPTED", "REJECTED")
SUBSCRIPTION_STATUSES = ("APPROVED", "REVOKED", "CANCELLED")


def every_status(
    datazone: Any, operation: str, statuses: tuple[str, ...], **kwargs: Any
) -> list[dict[str, Any]]:
    """The items of a DataZone subscription list in every status named: one call per
    status, as without one the lists answer only PENDING requests and APPROVED
    subscriptions (API reference)."""
    return [
        item
        for status in statuses
        for item in _all(datazone, operation, "items", status=status, **kwargs)
    ]


def count_setup(cloud: Cloud, domain_name: str) -> dict[str, Any]:
    """What the example set-up made, counted with plain boto3 calls (not the tool's code).

    Returns counts keyed by what they are, e.g. ``{"domains": 1, "projects": {"producer": 1,
    "consumer": 1}, ...}``; every count that is not 1 means a duplicate or a gap.
    """
    # One client each: creating a botocore client costs more than the calls made here.
    datazone = cloud.client("datazone", DOMAIN_ACCOUNT)
    ram = cloud.client("ram", DOMAIN_ACCOUNT)
    domains = [
        d
        for d in _all(datazone, "list_domains", "items")
        if d["name"] == domain_name and d["status"] != "DELETED"
    ]
    counts: dict[str, Any] = {"domains": len(domains)}
    shares = _all(ram, "get_resource_shares", "resourceShares", resourceOwner="SELF")
    live = [s for s in shares if s["status"] not in ("DELETED", "DELETING")]
    counts["shares"] = Counter(
        principal for share in live for principal in _share_principals(ram, share)
    )
    if len(domains) != 1:
        return counts
    domain_id = domains[0]["id"]
    projects = _all(datazone, "list_projects", "items", domainIdentifier=domain_id)
    counts["projects"] = Counter(p["name"] for p in projects)
    by_name = {p["name"]: p["id"] for p in projects}
    producer = by_name.get("producer")
    consumer = by_name.get("consumer")
    if producer:
        sources = _all(
            datazone,
            "list_data_sources",
            "items",
            domainIdentifier=domain_id,
            projectIdentifier=producer,
        )
        counts["data_sources"] = len(sources)
        counts["data_source_runs"] = sum(
            len(
                _all(
                    datazone,
                    "list_data_source_runs",
                    "items",
                    domainIdentifier=domain_id,
                    dataSourceIdentifier=s["dataSourceId"],
                )
            )
            for s in sources
        )
        assets = _all(
            datazone,
            "search",
            "items",
            domainIdentifier=domain_id,
            searchScope="ASSET",
            owningProjectIdentifier=producer,
        )
        counts["assets"] = len([a for a in assets if "assetItem" in a])
    if consumer:
        subscriptions = every_status(
            datazone,
            "list_subscriptions",
            SUBSCRIPTION_STATUSES,
            domainIdentifier=domain_id,
            owningProjectId=consumer,
        )
        counts["subscriptions"] = Counter(s["status"] for s in subscriptions)
        requests = every_status(
            datazone,
            "list_subscription_requests",
            REQUEST_STATUSES,
            domainIdentifier=domain_id,
            owningProjectId=consumer,
        )
        counts["subscription_requests"] = Counter(r["status"] for r in requests)
    counts["environment_stacks"] = {
        account: len(
            [
                s
                for s in _all(cloud.client("cloudformation", account), "describe_stacks", "Stacks")
                if s["StackName"].startswith("DataZone-Env-")
                and s["StackStatus"] != "DELETE_COMPLETE"
            ]
        )
        for account in cloud.member_accounts()
    }
    return counts


def _share_principals(ram: Any, share: dict[str, Any]) -> list[str]:
    associations = ram.get_resource_share_associations(
        associationType="PRINCIPAL", resourceShareArns=[share["resourceShareArn"]]
    )["resourceShareAssociations"]
    return [a["associatedEntity"] for a in associations if a["status"] != "DISASSOCIATED"]


#: What `count_setup` reads after the example has converged: one of everything.
CONVERGED = {
    "domains": 1,
    "shares": Counter({CONSUMER_ACCOUNT: 1}),
    "projects": Counter({"producer": 1, "consumer": 1}),
    "data_sources": 1,
    "data_source_runs": 1,
    "assets": 1,
    "subscriptions": Counter({"APPROVED": 1}),
    "subscription_requests": Counter({"ACCEPTED": 1}),
    # a Tooling and a Lakehouse Database environment per project, in its account
    "environment_stacks": {DOMAIN_ACCOUNT: 2, CONSUMER_ACCOUNT: 2},
}


# --- the emulator's inventory -------------------------------------------------------------------


def _entries(items: list[Any]) -> Counter[str]:
    return Counter(json.dumps(item, sort_keys=True, default=str) for item in items)


def inventory_diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Per account and class, what `after` has that `before` had not (`+`) and the reverse
    (`-`); empty when the two inventories are identical."""
    diff: dict[str, dict[str, Any]] = {}
    for account in sorted(set(before) | set(after)):
        classes_before = before.get(account, {})
        classes_after = after.get(account, {})
        for cls in sorted(set(classes_before) | set(classes_after)):
            old = _entries(classes_before.get(cls, []))
            new = _entries(classes_after.get(cls, []))
            added = sorted((new - old).elements())
            removed = sorted((old - new).elements())
            if added or removed:
                diff.setdefault(account, {})[cls] = {"+": added, "-": removed}
    return diff


def leftovers_by_class(before: dict[str, Any], after: dict[str, Any]) -> dict[str, int]:
    """How many more items `after` has than `before`, per class over every account
    (every class of the inventory is listed, 0 when nothing is left)."""
    counts: dict[str, int] = {}
    for account in set(before) | set(after):
        for cls in set(before.get(account, {})) | set(after.get(account, {})):
            old = _entries(before.get(account, {}).get(cls, []))
            new = _entries(after.get(account, {}).get(cls, []))
            counts[cls] = counts.get(cls, 0) + sum((new - old).values())
    return dict(sorted(counts.items()))


def assert_inventory_unchanged(
    before: dict[str, Any], after: dict[str, Any], scenario: str
) -> dict[str, int]:
    """The emulator's inventory is what it was, in every account and class; returns the
    (all-zero) leftovers by class, printed for the report."""
    diff = inventory_diff(before, after)
    assert diff == {}, f"{scenario}: the inventory differs:\n{json.dumps(diff, indent=1)}"
    counts = leftovers_by_class(before, after)
    print(f"\n[{scenario}] leftovers by class: {counts}")
    return counts


def mutating_calls(cloud: Cloud, since: int) -> list[str]:
    return [
        f"{c['service']}:{c['operation']} ({c['account']})"
        for c in calls_since(cloud, since)
        if c["mutating"]
    ]


#: The IAM calls that delete a role (`resources.iam.delete_role`), from the first.
ROLE_DELETION = frozenset(
    {"DetachRolePolicy", "DeleteRolePolicy", "RemoveRoleFromInstanceProfile", "DeleteRole"}
)
#: Asynchronous DataZone deletions, and the read that answers 404 once one is over.
SEEN_GONE = {
    "DeleteDomain": "GetDomain",
    "DeleteProject": "GetProject",
    "DeleteDataSource": "GetDataSource",
}


def assert_roles_deleted_last(calls: list[dict[str, Any]]) -> int:
    """A teardown's calls (the emulator's log): IAM roles are deleted last (ADR 40). The
    first call that deletes a role comes after every other change the run made (every
    mutating call of another service) and after each asynchronous deletion was seen over
    (its read answered 404: the domain, the projects and the data sources gone). Returns
    the number of roles deleted."""
    roles = [c for c in calls if c["service"] == "iam" and c["operation"] in ROLE_DELETION]
    deleted = sum(1 for c in roles if c["operation"] == "DeleteRole" and c["status"] < 400)
    assert deleted > 0, "no role was deleted"
    first = min(c["seq"] for c in roles)
    late = [
        f"{c['seq']} {c['service']}:{c['operation']} ({c['account']})"
        for c in calls
        if c["mutating"] and c["service"] != "iam" and c["seq"] > first
    ]
    assert late == [], f"changed after the first role deletion (seq {first}): {late}"
    for deletion, read in SEEN_GONE.items():
        started = [c["seq"] for c in calls if c["operation"] == deletion and c["status"] < 400]
        gone = [
            c["seq"]
            for c in calls
            if c["operation"] == read and c["error_code"] == "ResourceNotFoundException"
        ]
        for seq in started:
            seen = [g for g in gone if g > seq]
            assert seen and seen[0] < first, (
                f"{deletion} (seq {seq}) not seen over ({read} 404) before the first role "
                f"deletion (seq {first}): {read} 404 at {gone}"
            )
    return deleted
