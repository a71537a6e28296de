"""Shared pieces of the DataZone emulation: ids, time, callers, async helpers.

Backend methods take `(caller, params)` where `params` is the request parsed by
moto from the botocore model (camelCase member names, URI labels included) and
return a dict shaped like the operation's output. The response layer serialises
it through the model and, in strict mode, validates it (see `validation.py`).
"""

from __future__ import annotations

import secrets
import string
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from moto.iam.models import iam_backends

from smus_mesh_emulator.datazone.exceptions import ResourceNotFoundException, ValidationException
from smus_mesh_emulator.progress import Stage, Transition
from smus_mesh_emulator.runtime import RUNTIME

_ALPHABET = string.ascii_lowercase + string.digits


def new_id(length: int = 14) -> str:
    """An id like DataZone's (`[a-zA-Z0-9_-]{1,36}`), e.g. `5b2x9k0c8ytq1e`."""
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))


def new_domain_id() -> str:
    return f"dzd_{new_id(14)}"


def now() -> datetime:
    return datetime.now(UTC)


class DomainScope(Protocol):
    """What a record reads of the domain it belongs to. The records (records/) sit below
    domains.py, whose stores hold them, so they name this rather than the Domain."""

    @property
    def id(self) -> str: ...

    @property
    def account_id(self) -> str: ...

    @property
    def region(self) -> str: ...

    @property
    def root_domain_unit_id(self) -> str: ...


@dataclass(frozen=True)
class Caller:
    """Who made a request: the account moto resolved and the IAM principal (role ARN
    for assumed-role sessions, `arn:aws:iam::<acct>:root` otherwise)."""

    account: str
    arn: str


def require(params: dict[str, Any], name: str) -> Any:
    """A required input member (botocore validates client-side; awscli/raw HTTP may not)."""
    value = params.get(name)
    if value in (None, "", [], {}):
        raise ValidationException(
            f"1 validation error detected: Value at '{name}' failed to "
            "satisfy constraint: Member must not be null"
        )
    return value


def not_found(kind: str, identifier: str) -> ResourceNotFoundException:
    return ResourceNotFoundException(f"{kind} {identifier} not found")


def start_transition(
    obj: Any,
    stages: list[tuple[str, str | None]],
    final: str,
    on_complete: Any = None,
    attribute: str = "status",
) -> Transition:
    """Put `obj.<attribute>` through `stages` [(status, duration kind)] to `final`.

    The transition is stored on `obj.transition` (replacing and cancelling any
    previous one) so that reads can `mark_read(obj)`.
    """
    previous = getattr(obj, "transition", None)
    RUNTIME.scheduler.cancel(previous)

    def apply(status: str) -> None:
        setattr(obj, attribute, status)
        if hasattr(obj, "updated_at"):
            obj.updated_at = now()

    transition = RUNTIME.scheduler.start(
        [Stage(status, kind) for status, kind in stages],
        final,
        apply,
        on_complete,
        label=f"{type(obj).__name__}:{getattr(obj, 'id', '')}",
    )
    obj.transition = transition
    return transition


def mark_read(*objects: Any) -> None:
    """Record that a client read these objects in their current stage."""
    for obj in objects:
        RUNTIME.scheduler.mark_read(getattr(obj, "transition", None))


def drop_none(data: dict[str, Any]) -> dict[str, Any]:
    """Remove None members (the serializer would otherwise emit nulls)."""
    return {k: v for k, v in data.items() if v is not None}


def role_in_account(account_id: str, role_arn: str) -> Any:
    """The moto IAM role for an ARN, or None (the ARN's account must be `account_id`)."""
    if f":{account_id}:role/" not in role_arn:
        return None
    name = role_arn.rsplit("/", 1)[-1]
    iam = iam_backends[account_id]["global"]
    return next((r for r in iam.roles.values() if r.name == name), None)
