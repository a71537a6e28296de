"""The one way the tool waits: poll a read until a condition, with backoff, to a deadline,
reporting progress and giving way to Ctrl-C (ADR 15).

Every wait of the tool goes through `poll` (or `retry` for a call AWS answers "not yet"
with an error): `Context.wait` for the resources' asynchronous jobs, the Athena query of
`query`, the sweep of DataZone leftovers. Nothing else sleeps in a loop.

**Backoff.** The first polls come quickly and the interval grows by `poll_factor` up to
`poll_max`, the interval AWS's own code polls at (research/workflow.md: 5-10 s for
projects, environments and grants). A job that AWS finishes at once (an emulator with
no latency, a cached answer) costs a fraction of a second, a job of minutes costs a
poll every `poll_max` seconds once the interval has grown: the first `poll_initial`
is a tenth of a second, not the two seconds of a fixed first interval.

**Stopping.** A `Stop` is shared by everything one run does. The first Ctrl-C sets
`stopping`: the engine starts no new step and the steps in flight finish (their waits
go on). The second sets `aborted`: every sleep of every wait ends at once with
`Interrupted`, so no thread is left sleeping for seconds. The signal handler is
installed by the CLI (`Stop.on_sigint`); the library never installs one.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from smus_mesh.errors import Interrupted

if TYPE_CHECKING:
    from smus_mesh.settings import Settings

T = TypeVar("T")

_purpose = threading.local()
#: The `Workers` whose place the current thread's step holds (`Workers.step`), if any.
_place = threading.local()


@contextmanager
def polling() -> Iterator[None]:
    """AWS calls made inside this block (a wait's status reads) count as polls."""
    previous = getattr(_purpose, "value", None)
    _purpose.value = "poll"
    try:
        yield
    finally:
        _purpose.value = previous


def call_purpose() -> str | None:
    """ "poll" inside `polling()`, else None (see `clients.CallStats`)."""
    value: str | None = getattr(_purpose, "value", None)
    return value


class Stop:
    """Ctrl-C as one run sees it: first stop starting work, then abort every wait.

    Thread safe. `in_flight()` marks a step as running, so that the first Ctrl-C can
    say how many steps it is letting finish.
    """

    def __init__(self) -> None:
        self._stopping = threading.Event()
        self._aborted = threading.Event()
        self._lock = threading.Lock()
        self._running = 0

    @property
    def stopping(self) -> bool:
        """Ctrl-C was pressed (once or more): start nothing new."""
        return self._stopping.is_set()

    @property
    def aborted(self) -> bool:
        """Ctrl-C was pressed again: every wait ends now."""
        return self._aborted.is_set()

    @property
    def running(self) -> int:
        with self._lock:
            return self._running

    def stop(self) -> int:
        """Start nothing new; returns how many steps are in flight."""
        self._stopping.set()
        return self.running

    def abort(self) -> None:
        self._stopping.set()
        self._aborted.set()

    @contextmanager
    def in_flight(self) -> Iterator[None]:
        with self._lock:
            self._running += 1
        try:
            yield
        finally:
            with self._lock:
                self._running -= 1

    def check(self) -> None:
        """Raise `Interrupted` if the run was aborted."""
        if self._aborted.is_set():
            raise Interrupted("aborted by a second Ctrl-C")

    def check_not_stopping(self) -> None:
        """Raise `Interrupted` if the run is stopping (for work that has not begun)."""
        if self._stopping.is_set():
            raise Interrupted("interrupted by Ctrl-C before it began")

    def sleep(self, seconds: float) -> None:
        """Sleep, unless the run is aborted meanwhile (then `Interrupted` at once). A step
        gives its worker's place to another while it sleeps (`Workers`)."""
        with giving_way(self):
            aborted = self._aborted.wait(max(seconds, 0.0))
        if aborted:
            self.check()

    def sleep_unless_stopping(self, seconds: float) -> None:
        """Sleep before work that has not begun; `Interrupted` as soon as the run stops.
        The step keeps its worker's place: this is a paced call waiting for its turn, and
        a place taken back after the turn would send it late, in a bunch with others,
        into the quota's burst (ADR 47)."""
        if self._stopping.wait(max(seconds, 0.0)):
            self.check_not_stopping()

    def on_sigint(self, signum: int, frame: Any) -> None:
        """SIGINT handler (installed by the CLI in the main thread): the first press
        stops, the second aborts and raises KeyboardInterrupt in the main thread."""
        if self.stopping:
            self.abort()
            raise KeyboardInterrupt
        running = self.stop()
        message = f"\nstopping: {running} steps in flight; Ctrl-C again to abort\n"
        # A plain write to the descriptor: the handler may run while the main thread is
        # inside a write to sys.stderr, whose buffer refuses a reentrant call.
        try:
            os.write(sys.stderr.fileno(), message.encode())
        except (OSError, ValueError, AttributeError):  # no descriptor (a test's capture)
            sys.stderr.write(message)


class Workers:
    """How many steps may work at once (`max_workers`): call AWS, or run the tool's own
    code. A step that sleeps between the polls of a wait (`Stop.sleep`) lends its place
    to another step, and gets one back before it goes on, ahead of any step not yet
    begun (ADR 47).

    The executor takes a place for a new step with `try_start`; the step's thread holds
    it inside `step()`, and `giving_way` lends it while the thread sleeps. `freed` is
    called when a sleeping step leaves a place no sleeper is waiting for, so that the
    executor can start another step. A place a step leaves while sleepers wait is handed
    to the one that has waited longest, never counted free: a new step cannot take it
    in between (gates handed over in a queue, as the emulator's `FairRWLock` does).
    Nothing may sleep this way while holding a lock another step may need:
    the steps holding every place could wait for it while it waits for a place.

    A step run as `step(key)` that ends while no sleeper waits keeps its place taken until
    the executor has taken note of its end (`release(key)`): the steps its end makes ready
    (an acceptance after its request, ADR 45) are queued by then and start first. Freed
    at once, the place went to whichever step the executor started in between.
    """

    def __init__(self, limit: int, freed: Callable[[], object] = lambda: None) -> None:
        self.limit = limit
        self._freed = freed
        self._lock = threading.Lock()
        self._working = 0
        #: sleepers waiting for a place, first come first: each waits on its gate, which
        #: `_give` opens to hand it a place. Only when every place is taken, so a free
        #: place always means nobody waits.
        self._waiting: deque[threading.Lock] = deque()
        #: steps ended whose places stay taken until `release`
        self._ended: set[str] = set()

    @property
    def working(self) -> int:
        with self._lock:
            return self._working

    def try_start(self) -> bool:
        """Take a place for a step about to start, if one is free."""
        with self._lock:
            if self._working >= self.limit:
                return False
            self._working += 1
            return True

    @contextmanager
    def step(self, key: str | None = None) -> Iterator[None]:
        """Run a step in this thread, in the place `try_start` took for it; with `key`,
        a place no sleeper waits for stays taken after the step until `release(key)`."""
        _place.workers, _place.holding = self, True
        try:
            yield
        finally:
            if _place.holding:
                self._give(from_sleep=False, ended=key)
            _place.workers, _place.holding = None, False

    def release(self, key: str) -> None:
        """Free the place step `key` kept at its end (nothing if it was handed over)."""
        with self._lock:
            if key not in self._ended:
                return
            self._ended.discard(key)
            if self._waiting:
                self._waiting.popleft().release()  # the place passes on, still taken
                return
            self._working -= 1

    def _take(self) -> None:
        with self._lock:
            if self._working < self.limit:
                self._working += 1
                return
            gate = threading.Lock()
            gate.acquire()
            self._waiting.append(gate)
        gate.acquire()  # opened by `_give`: the place is this thread's

    def _give(self, from_sleep: bool, ended: str | None = None) -> None:
        with self._lock:
            if self._waiting:
                self._waiting.popleft().release()  # the place passes on, still taken
                return
            if ended is not None:
                self._ended.add(ended)  # still taken: `release` frees it
                return
            self._working -= 1
        if from_sleep:  # a step that ends is reported by the executor's own loop
            self._freed()


@contextmanager
def giving_way(stop: Stop) -> Iterator[None]:
    """Inside this block the current step does not hold its worker's place (see
    `Workers`); outside a step, or once the run is aborted, it changes nothing."""
    workers: Workers | None = getattr(_place, "workers", None)
    if workers is None or not _place.holding:
        yield
        return
    _place.holding = False
    workers._give(from_sleep=True)
    try:
        yield
    finally:
        if not stop.aborted:  # an aborted step only records what it did and ends
            workers._take()
            _place.holding = True


@dataclass(frozen=True)
class Backoff:
    """Poll intervals: `initial`, then times `factor` each poll, never above `maximum`."""

    initial: float
    factor: float
    maximum: float

    @classmethod
    def of(cls, settings: Settings) -> Backoff:
        return cls(settings.poll_initial, settings.poll_factor, settings.poll_max)

    def delays(self) -> Iterator[float]:
        delay = min(self.initial, self.maximum)
        while True:
            yield delay
            delay = min(max(delay * self.factor, 0.001), self.maximum)


class DeadlinePassed(Exception):
    """A wait's deadline passed; `last` is the last value read. Callers turn it into
    their own error (a step's WaitTimeout, a failed check)."""

    def __init__(self, last: Any, seconds: float) -> None:
        super().__init__(f"still waiting after {seconds:.0f}s")
        self.last = last
        self.seconds = seconds


def poll(
    read: Callable[[], T],
    until: Callable[[T], bool],
    *,
    backoff: Backoff,
    timeout: float,
    stop: Stop,
    progress: Callable[[T, float], None] | None = None,
) -> T:
    """Call `read` until `until(value)`; return that value.

    `read` raises to fail the wait (a failure status); its AWS calls count as polls.
    Between reads: `progress(value, seconds so far)`, then a sleep of the next backoff
    interval (cut short by the deadline, ended by an abort). The deadline raises
    `DeadlinePassed` with the last value.
    """
    started = time.monotonic()
    deadline = started + timeout
    for delay in backoff.delays():
        stop.check()
        with polling():
            value = read()
        if until(value):
            return value
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise DeadlinePassed(value, timeout)
        if progress is not None:
            progress(value, time.monotonic() - started)
        stop.sleep(min(delay, remaining))
    raise AssertionError("unreachable: backoff delays never end")  # pragma: no cover


def retry(
    call: Callable[[], T],
    retryable: Callable[[Exception], bool],
    *,
    backoff: Backoff,
    timeout: float,
    stop: Stop,
    progress: Callable[[Exception], None] | None = None,
) -> T:
    """Call `call` until it does not raise a `retryable` exception (AWS's eventual
    consistency: "not yet" answered as an error); the last one is raised at the deadline."""
    deadline = time.monotonic() + timeout
    for delay in backoff.delays():
        stop.check()
        try:
            return call()
        except Exception as exc:
            if not retryable(exc) or time.monotonic() + delay > deadline:
                raise
            if progress is not None:
                progress(exc)
        stop.sleep(delay)
    raise AssertionError("unreachable: backoff delays never end")  # pragma: no cover
