"""Asynchronous status progression for emulated objects, driven by a latency profile.

Why this exists: real DataZone objects (domains, environments, data source runs,
subscription grants, ...) pass through in-progress states, and a tool that reads
a final status right after the create call is wrong against AWS. Real AWS also does
its work whether or not anyone watches. So every asynchronous object holds a
`Transition`:

* each stage of a transition lasts its duration (from the latency profile, scaled by
  `time_scale`; 0 under "none");
* the first stage also lasts until the object's first read, or `FIRST_READ_GRACE`
  seconds, whichever comes first: a read right after the create shows CREATING /
  IN_PROGRESS / ... (a tool that reads a final status at once fails here as on AWS),
  and an object nobody reads completes on its own shortly after;
* the `Clock` thread (started with the server) and the start of every request that
  finds something due run `Scheduler.tick()` under `RUNTIME.lock`, which excludes every
  request (ADR 28): it advances every transition
  that is due and runs its completion side effects (stacks, grants, revocations, ...)
  at that moment, whether or not the object was read.

The scheduler keeps due times in a heap, so a tick costs what is due, not how many
objects are in progress (thousands of grants in a large set-up). See ADR 3
(docs/adr/0003-emulated-time-moves-on-its-own.md).
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, Literal

LOG = logging.getLogger(__name__)

#: How long (seconds) an unread transition stays in its first stage at least: the first
#: read within it shows the in-progress status. Real time, not scaled: it is about how
#: soon a client reads after a create, not about how long AWS works.
FIRST_READ_GRACE = 0.2

#: The clock thread looks at the heap at least this often (seconds), even if nothing
#: woke it (a safety net; new due times wake it at once).
CLOCK_MAX_SLEEP = 1.0

LatencyProfileName = Literal["none", "realistic"]

#: Plausible durations in seconds of DataZone/AWS asynchronous work, from
#: research/workflow.md §3 and §4 (AWS samples poll projects/environments every
#: 5-10 s, allow ~60 s for grants to appear, and project deployment takes minutes).
#: Keys are "<object>.<action>". Scaled by time_scale; unused under "none".
REALISTIC_DURATIONS: dict[str, float] = {
    "domain.create": 90.0,
    "domain.delete": 120.0,
    "ram.associate": 20.0,
    "project.delete": 45.0,
    "environment.create": 240.0,
    "environment.delete": 150.0,
    "data_source.create": 5.0,
    "data_source.delete": 10.0,
    "data_source_run.run": 60.0,
    "listing.publish": 10.0,
    "subscription_grant.grant": 45.0,
    "subscription_grant.revoke": 30.0,
    "subscription.revoke": 5.0,
    "athena.query": 2.0,
    "cloudformation.stack": 30.0,
    # Organizations' CreateAccount guide: creation "can take several minutes"; the
    # emulator takes one (unverified against AWS, like every duration here).
    "organizations.create_account": 60.0,
}

#: Per-request service latency (seconds) under "realistic", scaled by time_scale.
REALISTIC_CALL_LATENCY = 0.08


@dataclass
class LatencyProfile:
    """Which durations asynchronous work takes; changed at run time by the admin API."""

    name: LatencyProfileName = "none"
    time_scale: float = 1.0
    #: how long an unread first stage waits for its first read at most (seconds)
    first_read_grace: float = FIRST_READ_GRACE

    def duration(self, kind: str) -> float:
        if self.name == "none":
            return 0.0
        return REALISTIC_DURATIONS.get(kind, 0.0) * self.time_scale

    def scaled(self, seconds: float) -> float:
        """A real-time period (e.g. a rate quota's second) in the emulated time."""
        return seconds * self.time_scale if self.name == "realistic" else seconds

    def call_latency(self) -> float:
        if self.name == "none":
            return 0.0
        return REALISTIC_CALL_LATENCY * self.time_scale

    def to_dict(self) -> dict[str, object]:
        return {
            "profile": self.name,
            "time_scale": self.time_scale,
            "durations": {k: self.duration(k) for k in sorted(REALISTIC_DURATIONS)},
            "call_latency": self.call_latency(),
            "first_read_grace": self.first_read_grace,
        }


@dataclass
class Stage:
    """One in-progress status and how long it lasts at least (the duration kind)."""

    status: str
    kind: str | None = None


@dataclass(eq=False)
class Transition:
    """An object's walk through in-progress stages to a final status.

    `apply(status)` is called whenever the status changes (including the first
    stage at creation); `on_complete()` runs once, when the final status is set.
    """

    stages: list[Stage]
    final: str
    apply: Callable[[str], None]
    on_complete: Callable[[], None] | None = None
    label: str = ""
    index: int = 0
    started_at: float = field(default_factory=time.monotonic)
    entered_at: float = 0.0
    #: the first stage has been read (it may end before the grace is over)
    was_read: bool = False
    done: bool = False
    #: when the current stage ends (monotonic seconds); the heap entry that matches it
    #: is the live one, any other is stale
    due: float = 0.0

    def __post_init__(self) -> None:
        self.entered_at = self.entered_at or self.started_at

    @property
    def status(self) -> str:
        return self.final if self.done else self.stages[self.index].status


class Scheduler:
    """Holds every pending transition and advances those that are due (`tick`).

    `tick` runs under `RUNTIME.lock`, which excludes every request (from the clock
    thread, and at the start of a request when something is due); so do `start`,
    `cancel` and `finish_now` (DataZone writes, RAM, CloudFormation hold it).
    `mark_read` may also run under a DataZone read's shared locks: it only flags the
    transition and pushes onto the heap. The heap and the clock's wake-ups are guarded
    by a lock of their own, taken after the others, never before them.
    """

    def __init__(self, profile: LatencyProfile) -> None:
        self.profile = profile
        # Insertion-ordered set (dict) of pending transitions.
        self._pending: dict[Transition, None] = {}
        self._heap: list[tuple[float, int, Transition]] = []
        self._order = itertools.count()
        #: guards `_heap`; the clock waits on it for the next due time
        self.wakeup = threading.Condition(threading.Lock())

    def start(
        self,
        stages: list[Stage],
        final: str,
        apply: Callable[[str], None],
        on_complete: Callable[[], None] | None = None,
        label: str = "",
    ) -> Transition:
        """Begin a transition: the object shows the first stage at once."""
        transition = Transition(stages, final, apply, on_complete, label)
        apply(transition.status)
        self._pending[transition] = None
        self._schedule(transition)
        return transition

    def _stage_end(self, transition: Transition) -> float:
        stage = transition.stages[transition.index]
        duration = self.profile.duration(stage.kind) if stage.kind else 0.0
        end = transition.entered_at + duration
        if transition.index == 0 and not transition.was_read:
            end = max(end, transition.started_at + self.profile.first_read_grace)
        return end

    def _schedule(self, transition: Transition) -> None:
        transition.due = self._stage_end(transition)
        with self.wakeup:
            earliest = self._heap[0][0] if self._heap else None
            heapq.heappush(self._heap, (transition.due, next(self._order), transition))
            if earliest is None or transition.due < earliest:
                self.wakeup.notify_all()

    def reschedule(self) -> None:
        """Recompute every due time (the latency profile changed)."""
        with self.wakeup:
            self._heap = []
        for transition in self._pending:
            self._schedule(transition)

    def finish_now(self, transition: Transition) -> None:
        """Complete a transition immediately (e.g. its object was deleted)."""
        self._pending.pop(transition, None)
        if not transition.done:
            transition.done = True
            transition.apply(transition.final)
            if transition.on_complete:
                transition.on_complete()

    def cancel(self, transition: Transition | None) -> None:
        """Drop a transition without running its completion (object superseded)."""
        if transition is not None:
            self._pending.pop(transition, None)

    def mark_read(self, transition: Transition | None) -> None:
        """Record that a client read the object: its first stage need not wait for the
        grace any more (it still lasts its duration)."""
        if transition is None or transition.was_read:
            return
        transition.was_read = True
        if transition in self._pending and transition.index == 0:
            self._schedule(transition)

    def peek_due(self) -> float | None:
        """The earliest due time in the heap (stale entries included), or None. Call it
        with `wakeup` held."""
        return self._heap[0][0] if self._heap else None

    def due(self) -> bool:
        """Whether a transition may be due now (a request ticks only then: a tick needs
        the lock that excludes every other request)."""
        with self.wakeup:
            return bool(self._heap) and self._heap[0][0] <= time.monotonic()

    def _pop_due(self, now: float) -> Transition | None:
        with self.wakeup:
            while self._heap and self._heap[0][0] <= now:
                due, _, transition = heapq.heappop(self._heap)
                if transition in self._pending and not transition.done and due == transition.due:
                    return transition
        return None

    def tick(self) -> None:
        """Advance every transition whose current stage is due; run completions."""
        now = time.monotonic()
        # Completions may start new transitions; they are pushed on the heap and are
        # taken in this same loop if already due.
        while (transition := self._pop_due(now)) is not None:
            transition.entered_at = now
            if transition.index + 1 < len(transition.stages):
                transition.index += 1
                transition.apply(transition.status)
                self._schedule(transition)
                continue
            self._pending.pop(transition, None)
            transition.done = True
            transition.apply(transition.final)
            if transition.on_complete:
                transition.on_complete()

    def pending_count(self) -> int:
        return len(self._pending)

    def reset(self) -> None:
        self._pending.clear()
        with self.wakeup:
            self._heap = []


class Clock:
    """The thread that moves emulated time on: it sleeps until the next transition is
    due, then ticks the scheduler under `lock` (`RUNTIME.lock`), exactly as a request
    would. Started and stopped with the server."""

    def __init__(self, scheduler: Scheduler, lock: AbstractContextManager[Any]) -> None:
        self.scheduler = scheduler
        self.lock = lock
        self._stopped = True
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stopped = False
        self._thread = threading.Thread(target=self._run, name="emulator-clock", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        thread = self._thread
        if thread is None:
            return
        with self.scheduler.wakeup:
            self._stopped = True
            self.scheduler.wakeup.notify_all()
        thread.join(timeout=10)
        self._thread = None

    def _run(self) -> None:
        wakeup = self.scheduler.wakeup
        while True:
            with wakeup:
                if self._stopped:
                    return
                due = self.scheduler.peek_due()
                delay = CLOCK_MAX_SLEEP if due is None else due - time.monotonic()
                if delay > 0:
                    wakeup.wait(timeout=min(delay, CLOCK_MAX_SLEEP))
                    continue
            try:
                with self.lock:
                    self.scheduler.tick()
            except Exception:  # a failed side effect must not stop time
                LOG.exception("an emulated transition failed to complete")
