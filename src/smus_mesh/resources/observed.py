"""What the engine decides on: a resource's status, and what exists for it right now.

Kept apart from `base` so that `context` (which waits on statuses) and `base` (whose
resources take a `Context`) do not import each other.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any


class Status(enum.Enum):
    """A service status collapsed to what the engine decides on."""

    ABSENT = "ABSENT"
    IN_PROGRESS = "IN_PROGRESS"
    COMPLETE = "COMPLETE"
    FAILED = "FAILED"


@dataclass(frozen=True)
class Observed:
    """What exists for a resource right now.

    Args:
        status: the collapsed status.
        identity: ids/ARNs that locate it (kept in the state file).
        outputs: values its dependents read (ids, names, ARNs; never secrets).
        detail: the service's own status and reason, for people.
        owned: True when this set-up created it (state or tags say so), False when
            it existed before and must never be deleted, None when unknown.
        drift: differences between what exists and what the config wants.
        foreign: found by name but proven another's (tagged with another set-up, or
            with no set-up at all): never adopted, changed or deleted (ADR 19).
        joined: part of an existing domain the config joins that this set-up did not
            make (the domain, its blueprint configurations, grants, profiles, projects):
            used as it is, never changed or deleted (ADR 26).
    """

    status: Status
    identity: dict[str, Any] = field(default_factory=dict)
    outputs: dict[str, Any] = field(default_factory=dict)
    detail: str = ""
    owned: bool | None = None
    drift: tuple[str, ...] = ()
    foreign: bool = False
    joined: bool = False

    @classmethod
    def absent(cls, detail: str = "does not exist") -> Observed:
        return cls(Status.ABSENT, detail=detail)
