"""The one place that creates boto3 clients: retries, timeouts, user agent, call accounting.

Resources never call `boto3.client`; they ask `Clients.get(alias, service)`.
Clients are cached per (account, service) and are thread safe once built.

Throttling and transient errors are retried by botocore's standard mode
(exponential backoff with jitter), with the one policy of `retry_policy`. Not
adaptive mode: its client-side rate measurement takes a lock on every response,
which dozens of steps sharing one client spend their time contending for, and
one throttled call slows every other call of the client. The operations whose
quota is known to be low are paced instead (`RateLimiter`). Every call is counted by
kind — "mutating", "poll" (made from inside a wait) or "read" — so that `up`
can report what it did and the benchmark can check that waits back off.

The owner of a `Clients` (a `Workspace`) closes it when its operation ends
(`Clients.close`): every client it made lets go of its connections then, not whenever
the garbage collector gets round to the reference cycles that keep a client alive.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections import Counter
from collections.abc import Mapping
from typing import Any

from smus_mesh.accounts import SessionFactory, new_session
from smus_mesh.retry_policy import client_config, without_retry_quota
from smus_mesh.waiting import Stop, call_purpose

READ_PREFIXES = ("Get", "List", "Describe", "Search", "BatchGet", "Head", "Lookup")
READ_OPERATIONS = frozenset({"AssumeRole", "GetCallerIdentity"})


def is_mutating(operation: str) -> bool:
    """Same classification as the emulator's calls log: anything that is not a read."""
    return not (operation.startswith(READ_PREFIXES) or operation in READ_OPERATIONS)


class CallStats:
    """Thread-safe counts of the AWS calls this process made, by kind and operation."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.by_kind: Counter[str] = Counter()
        self.by_operation: Counter[str] = Counter()

    def record(self, service: str, operation: str) -> None:
        kind = "mutating" if is_mutating(operation) else call_purpose() or "read"
        with self._lock:
            self.by_kind[kind] += 1
            self.by_operation[f"{service}:{operation}:{kind}"] += 1

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "total": sum(self.by_kind.values()),
                "by_kind": {k: self.by_kind.get(k, 0) for k in ("mutating", "poll", "read")},
                "by_operation": dict(sorted(self.by_operation.items())),
            }


class RateLimiter:
    """At most `rate` calls per second across threads (a spaced schedule, no bursts).

    A call waiting for its turn has not been made: once the run is stopping (Ctrl-C),
    it is not made at all (`Interrupted`), so the first Ctrl-C does not wait for a
    queue of paced calls.
    """

    def __init__(self, rate: float, stop: Stop | None = None) -> None:
        self.interval = 1.0 / rate
        self._next = 0.0
        self._lock = threading.Lock()
        self.stop = stop or Stop()

    def acquire(self) -> None:
        with self._lock:
            now = time.monotonic()
            start = max(now, self._next)
            self._next = start + self.interval
        self.stop.check_not_stopping()
        delay = start - now
        if delay > 0:
            self.stop.sleep_unless_stopping(delay)


#: DataZone operations with a per-account quota below the usual 20 TPS (workflow.md §4.8).
RATE_LIMITED = ("AcceptSubscriptionRequest", "CancelSubscription")


class Clients:
    """boto3 clients per account alias, built from the session factory."""

    def __init__(
        self,
        sessions: SessionFactory,
        max_attempts: int = 10,
        pool: int = 32,
        limited_tps: float = 3.0,
        stop: Stop | None = None,
    ) -> None:
        self.sessions = sessions
        self.stats = CallStats()
        #: Ctrl-C of the run these clients serve (see `waiting.Stop`).
        self.stop = stop or Stop()
        # 80% of the quota: calls arrive with jitter; a throttled call costs a backoff.
        self.limiters = {
            operation: RateLimiter(limited_tps * 0.8, self.stop) for operation in RATE_LIMITED
        }
        self._cache: dict[tuple[str, str], Any] = {}
        #: the clients `with_credentials` handed out and their callers still hold
        self._lent: weakref.WeakSet[Any] = weakref.WeakSet()
        self._identities: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()
        #: the session `with_credentials` makes its clients from (it holds no credentials)
        self._plain: Any = None
        self.max_attempts = max_attempts
        self._config = client_config(max_attempts, pool)

    @property
    def region(self) -> str:
        return self.sessions.region

    def get(self, alias: str, service: str) -> Any:
        """A client for `service` in account `alias` (created once, then shared)."""
        key = (alias, service)
        with self._lock:
            client = self._cache.get(key)
            if client is None:
                session = self.sessions.session(alias)
                client = without_retry_quota(
                    session.client(service, region_name=self.region, config=self._config)
                )
                client.meta.events.register("before-call", self._count)
                # Every attempt waits its turn, retries included: the quota counts
                # attempts, and a retry sent at botocore's backoff, out of the pace,
                # arrived beside paced calls and was throttled again (443 of 2,443
                # acceptances at 20 x 100, ADR 42). botocore makes and signs a new request
                # for each attempt on `request-created.<service>.<operation>`; this
                # handler is more specific than the signer's (`request-created.<service>`),
                # so it runs first: the attempt is signed after its turn, not before. A
                # turn can be minutes away (256 waiting workers at 2.4 per second: 107 s)
                # and AWS refuses a signature more than 5 minutes old (ADR 46).
                for operation, limiter in self.limiters.items():
                    client.meta.events.register(
                        f"request-created.{service}.{operation}",
                        lambda limiter=limiter, **_: limiter.acquire(),
                    )
                self._cache[key] = client
            return client

    def caller_identity(self, alias: str) -> dict[str, Any]:
        """GetCallerIdentity in account `alias`, asked once per run: the credentials of an
        alias do not change within a run (`verify`, and the principal Lake Formation
        admin steps look for, both need it)."""
        with self._lock:
            known = self._identities.get(alias)
        if known is None:
            known = dict(self.get(alias, "sts").get_caller_identity())
            with self._lock:
                known = self._identities.setdefault(alias, known)
        return dict(known)

    def with_credentials(self, service: str, credentials: Mapping[str, str]) -> Any:
        """A client for `service` as temporary credentials (a project role's, from
        DataZone's GetEnvironmentCredentials), with the retries, timeouts and call
        accounting of every other client. Never cached: the credentials live only as
        long as the caller keeps the client, and are never written anywhere. The clients
        of a run are made from one session without credentials of its own: making a
        session (its handlers, its config chains) costs more CPU than the client, and
        botocore gives a client the keys it is made with, never its session's."""
        with self._lock:
            if self._plain is None:
                self._plain = new_session(region_name=self.region)
            session = self._plain
        client = without_retry_quota(
            session.client(
                service,
                region_name=self.region,
                config=self._config,
                aws_access_key_id=credentials["accessKeyId"],
                aws_secret_access_key=credentials["secretAccessKey"],
                aws_session_token=credentials["sessionToken"],
            )
        )
        client.meta.events.register("before-call", self._count)
        with self._lock:
            self._lent.add(client)
        return client

    def close(self) -> None:
        """Close the connections of every client these made, cached or lent: at the end
        of the run they serve. A client is a web of reference cycles (its event handlers
        hold its methods), so without this its sockets stay open, and the server's side
        of each keep-alive connection with them, until a full garbage collection finds
        the cycle: tens of descriptors per run. A client used after `close` opens a new
        connection (botocore's behaviour); nothing of a run should."""
        with self._lock:
            clients = [*self._cache.values(), *self._lent]
        for client in clients:
            client.close()

    def _count(self, model: Any, **_: Any) -> None:
        self.stats.record(model.service_model.service_name, model.name)
