"""The plan is data: observe every resource, then choose an action per resource from a table.

`observe_all` reads what exists, each resource once its dependencies are read
(independent resources in parallel), so that a resource can use its dependencies' ids. `plan_up` and
`plan_down` turn the observations into an immutable, ordered list of `Step`s;
`plan` prints them, `up`/`down` execute them (apply.py), and `--output json`
writes the same object.

Decision table for `up`:

    ABSENT       -> create
    IN_PROGRESS  -> wait
    COMPLETE     -> keep, or update when ours, drifted and updatable (else drift is reported)
    FAILED       -> recreate when the resource allows it, else block with the reason

and for `down` (only what this set-up owns is ever deleted):

    ABSENT                   -> skip
    exists, owned            -> delete
    exists, not ours         -> keep  ("existed before smus-mesh; left as it was", or
                                       "joined (not ours)" for a joined domain's parts)
    removed with its parent  -> skip
"""

from __future__ import annotations

import enum
import json
import queue
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from smus_mesh.engine.graph import Graph
from smus_mesh.errors import aws_code
from smus_mesh.resources.base import Observed, Resource, Status
from smus_mesh.resources.context import Context, MissingOutput


class Action(enum.StrEnum):
    CREATE = "create"
    WAIT = "wait"
    KEEP = "keep"
    UPDATE = "update"
    RECREATE = "recreate"
    BLOCKED = "blocked"
    DELETE = "delete"
    SKIP = "skip"


MUTATING_ACTIONS = frozenset({Action.CREATE, Action.UPDATE, Action.RECREATE, Action.DELETE})
#: What `up` asks before: something that exists goes away (deleted, or deleted and made again).
DESTRUCTIVE_ACTIONS = frozenset({Action.DELETE, Action.RECREATE})

#: The `format` of a plan file (`plan --out`), and its version.
PLAN_FILE_FORMAT = "smus-mesh-plan"
PLAN_FILE_VERSION = 1


@dataclass(frozen=True)
class Step:
    key: str
    kind: str
    account: str
    action: Action
    reason: str
    before: str
    depends_on: tuple[str, ...] = ()
    drift: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "kind": self.kind,
            "account": self.account,
            "action": self.action.value,
            "reason": self.reason,
            "before": self.before,
            "depends_on": list(self.depends_on),
            "drift": list(self.drift),
        }


@dataclass(frozen=True)
class Plan:
    operation: str
    steps: tuple[Step, ...]
    observed: dict[str, Observed] = field(default_factory=dict, compare=False, repr=False)

    def changes(self) -> list[Step]:
        return [s for s in self.steps if s.action not in (Action.KEEP, Action.SKIP)]

    def destructive(self) -> list[Step]:
        """The steps that delete or replace something that exists."""
        return [s for s in self.steps if s.action in DESTRUCTIVE_ACTIONS]

    def step(self, key: str) -> Step:
        return next(s for s in self.steps if s.key == key)

    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for step in self.steps:
            counts[step.action.value] = counts.get(step.action.value, 0) + 1
        return counts

    def to_dict(self) -> dict[str, Any]:
        return {
            "operation": self.operation,
            "summary": self.counts(),
            "steps": [s.to_dict() for s in self.steps],
        }


def _essence(step: dict[str, Any]) -> tuple[str, str, tuple[str, ...]]:
    """What a saved plan promises of a step: its action, why, and the drift it repairs
    (not `before`'s detail, which may carry a live status message)."""
    return (str(step.get("action")), str(step.get("reason")), tuple(step.get("drift") or ()))


def plan_differences(saved: dict[str, Any], fresh: Plan) -> list[str]:
    """How `fresh` differs from a saved plan's steps, one line per step ([] when equal)."""
    old = {str(s.get("key")): s for s in saved.get("steps", []) if isinstance(s, dict)}
    new = {s.key: s.to_dict() for s in fresh.steps}
    lines = []
    for key in [*old, *(k for k in new if k not in old)]:
        if key not in new:
            lines.append(f"{key}: was {old[key].get('action')}, no longer a step")
        elif key not in old:
            lines.append(f"{key}: now {new[key]['action']} ({new[key]['reason']}), not in the plan")
        elif _essence(old[key]) != _essence(new[key]):
            was, now = old[key], new[key]
            if _essence(was)[:2] == _essence(now)[:2]:
                lines.append(
                    f"{key}: {now['action']}, but what differs from the config was "
                    f"{', '.join(_essence(was)[2]) or 'nothing'}, now "
                    f"{', '.join(now['drift']) or 'nothing'}"
                )
                continue
            lines.append(
                f"{key}: was {was.get('action')} ({was.get('reason')}), "
                f"now {now['action']} ({now['reason']})"
            )
    return lines


#: Why a part of a joined domain that this set-up did not make is kept (ADR 26).
JOINED = "joined (not ours): used as it is"

#: The detail of an observation that needs a dependency that does not exist (yet).
_AFTER = "after "


def observe_safely(resource: Resource, ctx: Context) -> Observed:
    """Observe; a resource whose dependency does not exist (yet, or any more) is absent too."""
    try:
        return resource.observe(ctx)
    except MissingOutput as missing:
        return Observed.absent(f"{_AFTER}{missing.key}")
    except ClientError as exc:
        # DataZone answers a read under a domain that is gone with ResourceNotFoundException:
        # the domain may finish deleting between its observation and its children's (a
        # `down` run after one that was interrupted while the domain was DELETING).
        if aws_code(exc) == "ResourceNotFoundException":
            return Observed.absent(f"not found: {exc.response['Error'].get('Message', '')}")
        raise


def _observe_one(resource: Resource, ctx: Context) -> Observed:
    # Observing changes nothing: after Ctrl-C there is no reason to go on.
    ctx.stop.check_not_stopping()
    observed = observe_safely(resource, ctx)
    if observed.status != Status.ABSENT:
        ctx.set_outputs(resource.key, {**observed.identity, **observed.outputs})
    ctx.console.step(resource.key, "observed", f"{observed.status.value} {observed.detail}")
    return observed


def observe_all(graph: Graph, ctx: Context, only: set[str] | None = None) -> dict[str, Observed]:
    """Observe every resource (or those in `only`), each as soon as its dependencies are
    observed (read-only calls only).

    Not layer by layer: a layer waited for its slowest read (a listing paged through, a
    call queued behind a busy service) before anything in the next one started, and the
    graph is a dozen layers deep. Each resource still sees its dependencies' outputs."""
    wanted = {r.key: r for r in graph.ordered() if only is None or r.key in only}
    waiting_on = {
        key: {d for d in resource.depends_on if d in wanted} for key, resource in wanted.items()
    }
    dependents: dict[str, list[str]] = {key: [] for key in wanted}
    for key, prerequisites in waiting_on.items():
        for prerequisite in prerequisites:
            dependents[prerequisite].append(key)
    results: dict[str, Observed] = {}
    finished: queue.SimpleQueue[Future[Observed]] = queue.SimpleQueue()
    running: dict[Future[Observed], str] = {}
    outer = ctx.observing_since  # a removal's observation inside another keeps its start
    ctx.observing_since = time.monotonic() if outer is None else outer
    try:
        with ThreadPoolExecutor(max_workers=ctx.settings.max_workers) as pool:

            def start(key: str) -> None:
                future = pool.submit(_observe_one, wanted[key], ctx)
                running[future] = key
                future.add_done_callback(finished.put)

            for key in [k for k, prerequisites in waiting_on.items() if not prerequisites]:
                start(key)
            try:
                while running:
                    future = finished.get()
                    key = running.pop(future)
                    results[key] = future.result()
                    for dependent in dependents[key]:
                        waiting_on[dependent].discard(key)
                        if not waiting_on[dependent]:
                            start(dependent)
            except BaseException:
                # A failed read, or Ctrl-C: nothing new starts; what runs ends on its own
                # (observing changes nothing).
                for pending in running:
                    pending.cancel()
                raise
    finally:
        ctx.observing_since = outer
    return {key: results[key] for key in wanted}


def owned(resource: Resource, observed: Observed, ctx: Context) -> bool | None:
    """Ownership: the state file's memory wins, then what AWS says (tags, parents).

    The state's memory counts only for the object it remembers: when what was found
    has another id or ARN (the remembered one is gone and a namesake was found by
    name), only what AWS says of the namesake counts (ADR 19)."""
    if observed.foreign:
        return False
    remembered = ctx.ownership.get(resource.key)
    if remembered is not None and _same_object(
        ctx.remembered.get(resource.key, {}), observed.identity
    ):
        return remembered
    return observed.owned


def _same_object(remembered: dict[str, Any], found: dict[str, Any]) -> bool:
    """The remembered identity and the found one agree on every id they both carry."""
    return all(
        remembered[k] == found[k] for k in ("id", "arn") if remembered.get(k) and found.get(k)
    )


def _waits_for(seen: Observed) -> str | None:
    """The dependency an ABSENT observation could not look past (see `observe_safely`)."""
    return seen.detail[len(_AFTER) :] if seen.detail.startswith(_AFTER) else None


def plan_up(graph: Graph, ctx: Context, observed: dict[str, Observed]) -> Plan:
    steps = []
    for resource in graph.ordered():
        seen = observed[resource.key]
        before = f"{seen.status.value}: {seen.detail}" if seen.detail else seen.status.value
        if seen.foreign:
            action, reason = Action.BLOCKED, f"not this set-up's: {seen.detail}"
        elif seen.status == Status.ABSENT:
            action, reason = Action.CREATE, "does not exist"
            waited = _waits_for(seen)
            if waited is not None and resource.key in ctx.ownership:
                # It could not be looked for, as what it needs does not exist now; but the
                # state remembers it, so it may well exist (a role deleted by hand leaves
                # its blueprint configurations). The step looks again once `waited` exists
                # and keeps, or updates, what it finds (apply.py).
                reason = f"waits for {waited}: looked for again once that exists"
        elif seen.status == Status.IN_PROGRESS:
            action, reason = Action.WAIT, "in progress"
        elif seen.status == Status.COMPLETE:
            mine = owned(resource, seen, ctx) is not False
            action = Action.KEEP
            reason = "exists" if mine else "exists (not ours)"
            if seen.joined and not mine:
                reason = JOINED
            if seen.drift and mine and resource.updatable:
                action, reason = Action.UPDATE, "differs from the config: " + "; ".join(seen.drift)
            elif seen.drift:
                reason += "; differs from the config (not changed): " + "; ".join(seen.drift)
        elif resource.recreate_on_failure() and owned(resource, seen, ctx) is True:
            action, reason = Action.RECREATE, f"failed: {seen.detail}"
        elif resource.recreate_on_failure():
            # Replacing deletes: only what is known to be this set-up's (the state file
            # remembers this very object, or its tags say so), never a namesake (ADR 19).
            action, reason = (
                Action.BLOCKED,
                f"failed: {seen.detail}; not replaced: not known to be this set-up's",
            )
        else:
            action, reason = Action.BLOCKED, f"failed: {seen.detail}"
        steps.append(
            Step(
                resource.key,
                resource.kind,
                resource.account,
                action,
                reason,
                before,
                resource.depends_on,
                seen.drift,
            )
        )
    return Plan("up", tuple(steps), observed)


def _identity_text(seen: Observed) -> str:
    return json.dumps(seen.identity, sort_keys=True, default=str)


def _down_step(
    resource: Resource, seen: Observed, ctx: Context, dependents: tuple[str, ...], why: str
) -> Step:
    before = f"{seen.status.value}: {seen.detail}" if seen.detail else seen.status.value
    mine = owned(resource, seen, ctx)
    if seen.status == Status.ABSENT:
        action, reason = Action.SKIP, "does not exist"
    elif seen.foreign:
        action, reason = Action.KEEP, f"not this set-up's; left as it was: {seen.detail}"
    elif mine is False and seen.joined:
        action, reason = Action.KEEP, f"{JOINED}; left as it was"
    elif mine is False:
        action, reason = Action.KEEP, "existed before smus-mesh; left as it was"
    elif not resource.deletable:
        action, reason = Action.SKIP, "removed with its parent"
    else:
        action, reason = Action.DELETE, why
    return Step(resource.key, resource.kind, resource.account, action, reason, before, dependents)


def plan_down(graph: Graph, ctx: Context, observed: dict[str, Observed]) -> Plan:
    steps = [
        _down_step(
            resource,
            observed[resource.key],
            ctx,
            tuple(graph.dependents(resource.key)),
            "created by this set-up",
        )
        for resource in graph.teardown()
    ]
    return Plan("down", tuple(steps), observed)


#: Why `up` deletes what the state knows and the config no longer has.
LEFT_THE_CONFIG = "left the config; created by this set-up"
#: Why `up` deletes what a key of the config stood for before it names another object
#: (ADR 52): the key's step then makes the new one.
REPLACED = "the config names another object for it now; the old one, created by this set-up"


def plan_removal(
    removed: Graph,
    ctx: Context,
    observed: dict[str, Observed],
    staying: dict[str, Observed] | None = None,
    replaced: frozenset[str] = frozenset(),
) -> Plan:
    """What `up` deletes because it left the config (ADR 19): `down`'s decision table over
    the resources of the last applied config that the current one no longer has, in
    reverse dependency order. Only this set-up's are deleted; the rest is left.

    One AWS object can stand for two keys (the Lake Formation grant to an account's
    manage-access role on a database that two projects import): what a key that stays in
    the config (`staying`, observed the same way) still stands for is left.

    `replaced`: keys the config still has, for another object now (ADR 52): their old
    object is deleted the same way, and their step in `up`'s plan makes the new one."""
    still_used = {
        _identity_text(seen): key
        for key, seen in (staying or {}).items()
        if seen.status != Status.ABSENT and seen.identity
    }
    steps = []
    for resource in removed.teardown():
        seen = observed[resource.key]
        dependents = tuple(removed.dependents(resource.key))
        keeper = (
            still_used.get(_identity_text(seen))
            if resource.shared_by_identity and seen.identity
            else None
        )
        if keeper is not None and seen.status != Status.ABSENT:
            before = f"{seen.status.value}: {seen.detail}" if seen.detail else seen.status.value
            steps.append(
                Step(
                    resource.key,
                    resource.kind,
                    resource.account,
                    Action.SKIP,
                    f"the same object as {keeper}, which the config still has",
                    before,
                    dependents,
                )
            )
            continue
        why = REPLACED if resource.key in replaced else LEFT_THE_CONFIG
        steps.append(_down_step(resource, seen, ctx, dependents, why))
    return Plan("remove", tuple(steps), observed)
