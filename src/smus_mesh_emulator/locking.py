"""Which requests may run beside each other (ADR 28).

moto's backends are not thread safe, so every piece of backend state two requests can
reach is guarded; but a Glue read need not wait for an IAM write, nor a read of one
DataZone domain for a read of another. Three levels, always taken in this order, so no
two threads can wait for each other (no deadlock):

1. the **world** lock, shared or exclusive. A request of a service whose reach is known
   (`REACH`: the backends its code, moto's and ours, touches) and a DataZone read take it
   shared; every other request (DataZone writes, which fulfil into Lake Formation, Glue,
   RAM and IAM of several accounts; CloudFormation; RAM; Athena; ...), the scheduler's
   transitions, the admin API and Athena's workers take it exclusive.
2. **key** locks, shared for a read, exclusive for a write: one per service in the
   request's reach (across accounts: S3's bucket names and Lake Formation's grants cross
   them) and, for a DataZone read, one per domain (exclusive: a read marks transitions
   read). A request takes all of its keys at once, in sorted order.
3. the **nested** lock: `RUNTIME.lock` entered by a thread that holds the world lock
   shared (a DataZone read asking RAM or CloudFormation, whose writers are exclusive).
   Nothing is taken while it is held, so it is a leaf.

Every lock is fair (first come, first served): with an unfair lock, a request can lose
the race to newcomers again and again, and the tail grows with the number of clients.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


class FairRWLock:
    """A first-come-first-served reader-writer lock.

    Re-entrant: the exclusive holder may take it again (either way), a shared holder may
    take it shared again. A shared holder asking for it exclusive is refused
    (RuntimeError): two such threads would wait for each other forever. A release hands
    the lock to the first in line (and the readers right behind it) and wakes only them:
    waking every waiter to let them race for it cost each hand-over a round of the GIL.
    """

    def __init__(self) -> None:
        self._mutex = threading.Lock()
        #: waiting: (exclusive, thread, a lock held until the wait is over)
        self._queue: deque[tuple[bool, int, threading.Lock]] = deque()
        self._readers: dict[int, int] = {}
        self._writer: int | None = None
        self._writer_depth = 0

    def _free(self, exclusive: bool) -> bool:
        return self._writer is None and not (exclusive and self._readers)

    def _grant(self, me: int, exclusive: bool) -> None:
        if exclusive:
            self._writer, self._writer_depth = me, 1
        else:
            self._readers[me] = 1

    def acquire(self, exclusive: bool) -> None:
        me = threading.get_ident()
        with self._mutex:
            if self._writer == me:
                self._writer_depth += 1
                return
            if me in self._readers:
                if exclusive:
                    raise RuntimeError("a shared holder cannot take the lock exclusive")
                self._readers[me] += 1
                return
            if not self._queue and self._free(exclusive):
                self._grant(me, exclusive)
                return
            gate = threading.Lock()
            gate.acquire()
            self._queue.append((exclusive, me, gate))
        gate.acquire()  # released by `_hand_over` once the lock is this thread's

    def _hand_over(self) -> None:
        """Give the lock to the first in line, and to the readers right behind a reader."""
        while self._queue:
            exclusive, thread, gate = self._queue[0]
            if not self._free(exclusive):
                return
            self._queue.popleft()
            self._grant(thread, exclusive)
            gate.release()
            if exclusive:
                return

    def release(self) -> None:
        me = threading.get_ident()
        with self._mutex:
            if self._writer == me:
                self._writer_depth -= 1
                if self._writer_depth == 0:
                    self._writer = None
                    self._hand_over()
                return
            self._readers[me] -= 1
            if self._readers[me] == 0:
                del self._readers[me]
                self._hand_over()

    def held(self) -> str | None:
        """How the calling thread holds it: "exclusive", "shared" or None."""
        me = threading.get_ident()
        if self._writer == me:
            return "exclusive"
        return "shared" if me in self._readers else None

    @contextmanager
    def hold(self, exclusive: bool) -> Iterator[None]:
        self.acquire(exclusive)
        try:
            yield
        finally:
            self.release()


#: Services whose requests touch only the backends named (moto's code and ours; checked
#: by reading both, see ADR 28). Every other service runs alone (world exclusive).
REACH: dict[str, tuple[str, ...]] = {
    "iam": ("iam",),
    "s3": ("s3",),
    "glue": ("glue",),
    "lakeformation": ("glue", "lakeformation"),
    "sts": ("iam", "sts"),
}
#: What a DataZone read may read besides its domain: the services above (a read's
#: excursions into RAM, CloudFormation, IAM Identity Center are into services whose
#: writers hold the world lock exclusive).
DATAZONE_READ_REACH = ("glue", "iam", "lakeformation", "s3", "sts")
#: What strict IAM reads to authorise a request (the caller's policies, its session,
#: a bucket's policy).
AUTHORISER_REACH = ("iam", "s3", "sts")


def datazone_domain(path: str) -> str:
    """The domain a DataZone request's path names ("" if none: ListDomains, ...)."""
    parts = path.split("/", 4)  # "", "v2", "domains", id, rest
    return parts[3] if len(parts) > 3 and parts[1:3] == ["v2", "domains"] else ""


class Locks:
    """The emulator's locks: `request(...)` for an AWS request, `runtime` (which is
    `RUNTIME.lock`) for everything else that touches backend state."""

    def __init__(self) -> None:
        self.world = FairRWLock()
        self._keys: dict[tuple[str, str], FairRWLock] = {}
        self._keys_lock = threading.Lock()
        self._nested = threading.RLock()
        self.runtime = _RuntimeLock(self)

    def _key(self, key: tuple[str, str]) -> FairRWLock:
        with self._keys_lock:
            lock = self._keys.get(key)
            if lock is None:
                lock = self._keys[key] = FairRWLock()
            return lock

    def plan(
        self, service: str, mutating: bool, path: str, enforce: bool
    ) -> dict[tuple[str, str], bool] | None:
        """The key locks a request takes (key -> exclusive), or None: it runs alone."""
        keys: dict[tuple[str, str], bool] = {}
        if service == "datazone" and not mutating:
            keys[("datazone", datazone_domain(path))] = True
            keys.update((("service", name), False) for name in DATAZONE_READ_REACH)
        elif service in REACH:
            keys.update((("service", name), mutating) for name in REACH[service])
        else:
            return None
        if enforce:
            for name in AUTHORISER_REACH:
                keys.setdefault(("service", name), False)
        return keys

    @contextmanager
    def request(self, service: str, mutating: bool, path: str, enforce: bool) -> Iterator[None]:
        keys = self.plan(service, mutating, path, enforce)
        # Plain acquire/release, released in reverse order (what an ExitStack of `hold`s
        # did, without a generator and a context manager per lock on every request).
        held: list[FairRWLock] = []
        try:
            self.world.acquire(exclusive=keys is None)
            held.append(self.world)
            for key in sorted(keys or ()):
                lock = self._key(key)
                lock.acquire(keys[key])  # type: ignore[index]
                held.append(lock)
            yield
        finally:
            for lock in reversed(held):
                lock.release()


class _RuntimeLock:
    """`with RUNTIME.lock:` — everything else that touches backend state: the clock's
    ticks, the admin API, Athena's workers take the world exclusive; a request that holds
    it shared (a DataZone read calling into RAM or CloudFormation) takes the nested lock."""

    def __init__(self, locks: Locks) -> None:
        self._locks = locks
        self._how = threading.local()

    def __enter__(self) -> None:
        held = self._locks.world.held()
        if held == "shared":
            self._locks._nested.acquire()
        else:
            self._locks.world.acquire(exclusive=True)
        stack: list[str | None] = getattr(self._how, "stack", [])
        stack.append(held)
        self._how.stack = stack

    def __exit__(self, *exc: Any) -> None:
        if self._how.stack.pop() == "shared":
            self._locks._nested.release()
        else:
            self._locks.world.release()
