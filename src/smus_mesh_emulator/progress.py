"""Asynchronous status progression for emulated objects, driven by a latency profile.

Why this exists: real DataZone objects (domains, environments, data source runs,
subscription grants, ...) pass through in-progress states, and a tool that reads
a final status right after the create call is wrong against AWS. The emulator
must not let that bug pass, so every asynchronous object holds a `Transition`:

* each stage of a transition lasts at least its duration (from the latency
  profile, scaled by `time_scale`), **and** at least until it has been read once
  (so the first read after a create always shows CREATING / IN_PROGRESS / ...);
* `Scheduler.tick()` runs at the start of every request (under the emulator's
  request lock) and advances every transition that is due, running its
  completion side effects (stacks, grants, ...) at that moment.

No threads, no sleeps: time is only looked at when a request arrives.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

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
}

#: Per-request service latency (seconds) under "realistic", scaled by time_scale.
REALISTIC_CALL_LATENCY = 0.08


@dataclass
class LatencyProfile:
    """Which durations asynchronous work takes; changed at run time by the admin API."""

    name: LatencyProfileName = "none"
    time_scale: float = 1.0

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
    entered_at: float = field(default_factory=time.monotonic)
    was_read: bool = False
    done: bool = False

    @property
    def status(self) -> str:
        return self.final if self.done else self.stages[self.index].status


class Scheduler:
    """Holds every pending transition; advanced by `tick()` on each request.

    Only a transition that has been read can advance, so `tick` looks only at the
    observed ones: its cost follows what clients are waiting on, not how many
    objects are in progress (thousands of grants in a large set-up).
    """

    def __init__(self, profile: LatencyProfile) -> None:
        self.profile = profile
        # Insertion-ordered sets (dicts) of pending, and of pending-and-observed, transitions.
        self._pending: dict[Transition, None] = {}
        self._pending_read: dict[Transition, None] = {}

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
        return transition

    def _drop(self, transition: Transition) -> None:
        self._pending.pop(transition, None)
        self._pending_read.pop(transition, None)

    def finish_now(self, transition: Transition) -> None:
        """Complete a transition immediately (e.g. its object was deleted)."""
        self._drop(transition)
        if not transition.done:
            transition.done = True
            transition.apply(transition.final)
            if transition.on_complete:
                transition.on_complete()

    def cancel(self, transition: Transition | None) -> None:
        """Drop a transition without running its completion (object superseded)."""
        if transition is not None:
            self._drop(transition)

    def mark_read(self, transition: Transition | None) -> None:
        """Mark that a client has read the object in its current stage."""
        if transition is not None:
            transition.was_read = True
            if transition in self._pending:
                self._pending_read[transition] = None

    def _due(self, transition: Transition, now: float) -> bool:
        stage = transition.stages[transition.index]
        duration = self.profile.duration(stage.kind) if stage.kind else 0.0
        return transition.was_read and now >= transition.entered_at + duration

    def tick(self) -> None:
        """Advance every observed transition whose current stage is due; run completions."""
        now = time.monotonic()
        # Completions may start (and mark read) new transitions; loop until nothing moves.
        progressed = True
        while progressed:
            progressed = False
            for transition in list(self._pending_read):
                if transition.done or not self._due(transition, now):
                    continue
                progressed = True
                transition.was_read = False
                self._pending_read.pop(transition, None)
                transition.entered_at = now
                if transition.index + 1 < len(transition.stages):
                    transition.index += 1
                    transition.apply(transition.status)
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
        self._pending_read.clear()
