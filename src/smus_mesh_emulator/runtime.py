"""Process-wide emulator state that is not an AWS backend.

moto keeps every backend in module-level `BackendDict`s, so there can be only one
emulated cloud per process; the calls log, fault injection settings, latency
profile, async scheduler and its clock live here beside them, in one `Runtime`.

moto's backends are not thread safe and the tool makes parallel calls: every AWS
request runs under the locks `Runtime.locks` plans for it (`locking`, ADR 28: requests
that touch different backends run beside each other), and everything else that touches
backend state (every tick of the clock, the admin API, Athena's workers) under
`Runtime.lock`, which excludes them all. Injected latency sleeps outside any lock.
"""

from __future__ import annotations

import math
import random
import threading
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from smus_mesh_emulator.accounts import DEFAULT_MEMBER_COUNT
from smus_mesh_emulator.locking import Locks
from smus_mesh_emulator.progress import Clock, LatencyProfile, Scheduler


@dataclass
class CallRecord:
    """One AWS call as the emulator received it (the `/_emulator/calls` item)."""

    seq: int
    service: str
    operation: str
    account: str
    region: str
    mutating: bool
    status: int
    duration_ms: float
    #: time spent serving it under its locks (duration_ms also counts waiting for them)
    busy_ms: float = 0.0
    #: time spent waiting for its locks (and for a due tick of the scheduler)
    wait_ms: float = 0.0
    error_code: str | None = None
    injected: str | None = None
    #: strict IAM's verdict (`authoriser`): "policy", "root", "denied"; None when off
    iam: str | None = None

    def to_dict(self) -> dict[str, Any]:
        # Every field is a scalar: a shallow copy is asdict's answer at a fraction of its
        # cost (tests poll the log while a run goes on).
        return dict(self.__dict__)


@dataclass
class FaultConfig:
    """Seeded throttling / 5xx injection (`POST /_emulator/faults`)."""

    throttle_rate: float = 0.0
    error_rate: float = 0.0
    seed: int = 0
    operations: list[str] = field(default_factory=list)

    def applies_to(self, operation: str) -> bool:
        return not self.operations or operation in self.operations

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


#: Largest time scale: durations of an hour at most become 1,000 hours (beyond that a
#: transition would never come, or overflow the clock).
MAX_TIME_SCALE = 1000.0


def check_time_scale(value: object) -> float:
    """`value` as a time scale: a finite number in (0, MAX_TIME_SCALE]; ValueError otherwise."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"time_scale must be a number, not {type(value).__name__}")
    if not math.isfinite(value) or not 0 < value <= MAX_TIME_SCALE:
        raise ValueError(
            f"time_scale must be a finite number in (0, {MAX_TIME_SCALE:g}], not {value}"
        )
    return float(value)


#: Longest first-read grace (seconds): beyond it an unread object would look stuck.
MAX_FIRST_READ_GRACE = 60.0


def check_grace(value: object) -> float:
    """`value` as a first-read grace: a finite number in [0, MAX_FIRST_READ_GRACE]."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"first_read_grace must be a number, not {type(value).__name__}")
    if not math.isfinite(value) or not 0 <= value <= MAX_FIRST_READ_GRACE:
        raise ValueError(
            f"first_read_grace must be a finite number in [0, {MAX_FIRST_READ_GRACE:g}], "
            f"not {value}"
        )
    return float(value)


class Runtime:
    """Calls log, faults, latency profile, scheduler and clock of the one emulated cloud."""

    def __init__(self) -> None:
        self.locks = Locks()
        #: excludes every request (re-entrant; see `locking`)
        self.lock = self.locks.runtime
        self.profile = LatencyProfile()
        self.scheduler = Scheduler(self.profile)
        #: moves transitions on while the server runs (`EmulatorServer` starts and stops it)
        self.clock = Clock(self.scheduler, self.lock)
        self.calls: list[CallRecord] = []
        self._calls_lock = threading.Lock()
        self.faults = FaultConfig()
        self._rng = random.Random(0)
        #: Fail a DataZone response that breaks the botocore model (tests), rather
        #: than only logging it (demo, `emulator serve`).
        self.strict = False
        #: Build every account's backends at each reset (see services.seed).
        self.prewarm = False
        #: Member accounts a reset makes when it is not told otherwise (`--accounts`).
        self.member_count = DEFAULT_MEMBER_COUNT
        #: "enforce": authenticate and authorise every AWS request (`authoriser`); "off"
        self.iam = "off"
        self._arrival = threading.local()

    # the request being served ------------------------------------------------
    def arrived(self, moment: float | None) -> None:
        """The serving thread's request arrived at `moment` (`time.monotonic()`), before
        it waited for any lock: when a quota counts it (`arrival`). None: served."""
        self._arrival.moment = moment

    def arrival(self) -> float:
        """When the request this thread serves arrived (now, outside a request)."""
        moment: float | None = getattr(self._arrival, "moment", None)
        return time.monotonic() if moment is None else moment

    # calls log -------------------------------------------------------------
    def record(self, **fields: Any) -> None:
        with self._calls_lock:
            self.calls.append(CallRecord(seq=len(self.calls) + 1, **fields))

    def reset_calls(self) -> None:
        with self._calls_lock:
            self.calls.clear()

    # faults -----------------------------------------------------------------
    def set_faults(self, config: FaultConfig) -> None:
        self.faults = config
        self._rng = random.Random(config.seed)

    def draw_fault(self, operation: str) -> str | None:
        """Return "throttle", "error" or None for this call, from the seeded RNG."""
        faults = self.faults
        if not (faults.throttle_rate or faults.error_rate) or not faults.applies_to(operation):
            return None
        with self._calls_lock:
            draw = self._rng.random()
        if draw < faults.throttle_rate:
            return "throttle"
        if draw < faults.throttle_rate + faults.error_rate:
            return "error"
        return None

    # latency ----------------------------------------------------------------
    def set_latency(
        self, name: str, time_scale: float, first_read_grace: float | None = None
    ) -> None:
        if name not in ("none", "realistic"):
            raise ValueError(f"unknown latency profile {name!r}; expected 'none' or 'realistic'")
        check_time_scale(time_scale)
        if first_read_grace is not None:
            check_grace(first_read_grace)
        with self.lock:
            self.profile.name = name  # type: ignore[assignment]
            self.profile.time_scale = time_scale
            if first_read_grace is not None:
                self.profile.first_read_grace = first_read_grace
            self.scheduler.reschedule()

    def reset(self) -> None:
        """Forget calls, faults and pending transitions (backends are reset by moto)."""
        self.reset_calls()
        self.set_faults(FaultConfig())
        self.scheduler.reset()


RUNTIME = Runtime()
