"""Timing and concurrency knobs, in one object, overridable by the config and by environment.

Every wait polls with exponential backoff up to a deadline (`waiting.poll`, ADR 15):
the first polls come quickly and the interval doubles up to AWS's own polling
interval; nothing sleeps a fixed time. Tests set the poll interval near zero through the environment
(`SMUS_MESH_POLL_INITIAL=0.01`) instead of patching code.
"""

from __future__ import annotations

import os
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

ENV_PREFIX = "SMUS_MESH_"


class Settings(BaseModel):
    """How the tool waits and how much it does at once."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    poll_initial: float = Field(
        0.1,
        ge=0,
        description="First poll interval of a wait, seconds (a job AWS finishes at once "
        "costs a fraction of a second, not a fixed first interval).",
    )
    poll_max: float = Field(
        10.0, gt=0, description="Longest poll interval, seconds (AWS samples poll every 5-10 s)."
    )
    poll_factor: float = Field(
        2.0, ge=1, description="Backoff factor between polls (0.1, 0.2, 0.4 ... up to poll_max)."
    )
    timeout: float = Field(3600.0, gt=0, description="Deadline of one wait, seconds.")
    max_workers: int = Field(
        256,
        ge=1,
        le=1024,
        description="Steps working at once: calling AWS, running the tool's code, or "
        "waiting for a turn at a paced call. A step that sleeps between the polls of a "
        "wait lends its worker to another, so up to 4 times as many steps are in flight "
        "(ADR 47).",
    )
    max_attempts: int = Field(
        10, ge=1, le=30, description="Attempts per AWS call, the first included."
    )
    accept_tps: float = Field(
        3.0,
        gt=0,
        description="Calls per second to AcceptSubscriptionRequest and CancelSubscription "
        "(DataZone's quota is 3 TPS); the tool sends at 80 % of it, every attempt "
        "(retries included) taking its turn.",
    )

    @classmethod
    def load(cls, overrides: dict[str, Any] | None = None) -> Settings:
        """Defaults, then the config file's `settings:`, then `SMUS_MESH_<NAME>` variables."""
        values: dict[str, Any] = dict(overrides or {})
        for name in cls.model_fields:
            raw = os.environ.get(ENV_PREFIX + name.upper())
            if raw is not None:
                values[name] = raw
        return cls.model_validate(values)
