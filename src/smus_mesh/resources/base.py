"""What every resource is: a small registered class with a stable key, dependencies,
observe/create/delete, and the IAM actions it needs.

A resource never decides *whether* to act: it reports what it observes
(`Observed`, collapsed to ABSENT / IN_PROGRESS / COMPLETE / FAILED) and the
engine's decision table picks the action. Observing makes only read calls.

Keys are deterministic (kind + names from the config), never AWS-generated
ids: ids go into `Observed.identity`, which the state file remembers so that a
later run (or `down` after a crash) finds the same object again.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar

from smus_mesh.resources.observed import Observed, Status

if TYPE_CHECKING:
    from smus_mesh.resources.context import Context

__all__ = ["REGISTRY", "Factory", "Observed", "Resource", "Status", "register"]


class Resource(ABC):
    """One thing smus-mesh makes (or adopts) in one account.

    Subclasses set the class attributes and implement `observe`, `create` and
    `delete`. Their docstring carries a YAML example of the config that makes
    them (tests check it is there).
    """

    #: Registry name, e.g. "datazone:domain".
    kind: ClassVar[str]
    #: IAM actions the operator's credentials need for this resource (up and down).
    iam_actions: ClassVar[tuple[str, ...]]
    #: IAM actions it calls in the domain's account instead (`permissions` puts them there).
    domain_iam_actions: ClassVar[tuple[str, ...]] = ()
    #: The asynchronous waits its creation (deletion) goes through, in order, named by
    #: the duration kinds of the emulator's latency profile. Only the benchmark reads
    #: them, to compute the critical-path lower bound of a run.
    async_create: ClassVar[tuple[str, ...]] = ()
    async_delete: ClassVar[tuple[str, ...]] = ()
    #: Whether `down` deletes it when this set-up owns it. Some resources are
    #: removed by their parent's deletion (e.g. environments with their project).
    deletable: ClassVar[bool] = True
    #: Whether a teardown deletes it last: only once every deletion of the run of a
    #: resource without this mark has succeeded, and not at all when one failed (the next
    #: run finishes). IAM roles: DataZone uses them until its asynchronous deletes are over
    #: (workflow.md 2.2, step 16; ADR 40).
    deleted_last: ClassVar[bool] = False
    #: Whether `update` can converge drift in place (else drift is only reported).
    updatable: ClassVar[bool] = False
    #: Whether two keys can stand for one AWS object: the identity *is* the object (a Lake
    #: Formation grant is its principal and resource), so when one key leaves the config
    #: `up` must leave what a key that stays still stands for (plan_removal).
    shared_by_identity: ClassVar[bool] = False
    #: Whether a successful `up` reports what it observed at the end (`Observed.detail`),
    #: for outcomes that are not failures but that the user must see: a subscription
    #: request rejected by the approval rules, or left pending for `smus-mesh approve`.
    reports_outcome: ClassVar[bool] = False
    #: Whether `up` writes the observation made just before `create` (its identity) to the
    #: state file with the mark that this set-up makes it, before the create call: what
    #: it found there, which `delete` must leave, is then known even after a crash right
    #: after the call (a Lake Formation grant completing one held in part; ADR 48).
    identity_before_create: ClassVar[bool] = False
    #: Whether the executor starts it before the other ready steps: its call takes a turn
    #: in a quota far below the rest (`clients.RATE_LIMITED`: AcceptSubscriptionRequest,
    #: 3 per second), so the quota, the slowest stage of a run, never idles while workers
    #: are busy with steps that could as well run later (ADR 45).
    paced: ClassVar[bool] = False

    def __init__(self, name: str, account: str, depends_on: tuple[str, ...] = ()) -> None:
        self.name = name
        self.account = account
        self.depends_on = depends_on

    @property
    def key(self) -> str:
        return f"{self.kind}/{self.name}"

    def __repr__(self) -> str:
        return f"<{self.key} in {self.account}>"

    @abstractmethod
    def observe(self, ctx: Context) -> Observed:
        """Read what exists (read-only calls). Dependencies' outputs are in `ctx`."""

    @abstractmethod
    def create(self, ctx: Context) -> dict[str, Any]:
        """Start creating it; return identity known so far (e.g. the new id)."""

    def wait_created(self, ctx: Context) -> Observed:
        """Wait until COMPLETE (polls `observe` with backoff); FAILED raises."""
        return ctx.wait(self, lambda: self.observe(ctx), until=Status.COMPLETE)

    def update(self, ctx: Context, observed: Observed) -> None:
        """Converge `observed.drift` in place (only called when `updatable`)."""
        raise NotImplementedError(f"{self.kind} cannot be updated in place")

    @abstractmethod
    def delete(self, ctx: Context, observed: Observed) -> str | None:
        """Start deleting it (it exists and this set-up owns it). A resource that finds it
        must not be deleted after all (a Glue database holding tables that are not this
        set-up's, ADR 50) keeps it and returns why: it is then neither waited for nor
        remembered as this set-up's."""

    def wait_deleted(self, ctx: Context) -> Observed:
        """Wait until ABSENT."""
        return ctx.wait(self, lambda: self.observe(ctx), until=Status.ABSENT)

    def recreate_on_failure(self) -> bool:
        """Decision table: FAILED -> delete and create again (True) or stop (False)."""
        return False

    def stands_for(self) -> tuple[Any, ...]:
        """What names its AWS object besides its key (a table's database and name): when an
        edited config gives the same key another value, the key stands for another object,
        and `up` removes the old one before making the new (ADR 52). () for kinds whose
        key says it all."""
        return ()

    def belongs_to(self) -> tuple[str, ...]:
        """Keys of the resources whose object this one's is part of (a listing's asset, a
        grant's table): when one of them stands for another object, so does this one
        (ADR 52)."""
        return ()


#: kind -> resource class, filled by `register`.
REGISTRY: dict[str, type[Resource]] = {}


def register(cls: type[Resource]) -> type[Resource]:
    """Class decorator: add a resource kind to the registry (names are unique)."""
    if cls.kind in REGISTRY and REGISTRY[cls.kind] is not cls:
        raise TypeError(f"resource kind {cls.kind} registered twice")
    REGISTRY[cls.kind] = cls
    return cls


Factory = Callable[..., Resource]
