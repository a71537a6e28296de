"""The plan's decision tables (up and down) and the executor's scheduling, over fake resources.

The fakes stand in for AWS resources only; `plan_up`, `plan_down`, `observe_all`
and `Executor` are the real engine.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest

from smus_mesh.accounts import SessionFactory
from smus_mesh.clients import Clients
from smus_mesh.config import parse_config
from smus_mesh.console import NoopConsole
from smus_mesh.engine.apply import Executor
from smus_mesh.engine.graph import Graph
from smus_mesh.engine.plan import Action, observe_all, plan_down, plan_removal, plan_up
from smus_mesh.engine.state import State
from smus_mesh.errors import StepError
from smus_mesh.resources.base import Observed, Resource, Status
from smus_mesh.resources.context import Context
from smus_mesh.resources.naming import Names
from smus_mesh.settings import Settings
from tests.unit.fakes import Fake, Recreatable, RemovedWithParent, Updatable
from tests.unit.test_config import example

CONFIG = parse_config(example(), "example")


def context(
    ownership: dict[str, bool | None] | None = None,
    remembered: dict[str, dict[str, Any]] | None = None,
) -> Context:
    return Context(
        CONFIG,
        Clients(SessionFactory(CONFIG)),
        Settings(poll_initial=0.0, poll_max=0.001, timeout=5),
        Names(CONFIG),
        NoopConsole(),
        remembered=remembered,
        ownership=ownership,
    )


def decide_up(
    resource: Resource,
    ownership: dict[str, bool | None] | None = None,
    remembered: dict[str, dict[str, Any]] | None = None,
) -> Any:
    graph = Graph([resource])
    ctx = context(ownership, remembered)
    return plan_up(graph, ctx, observe_all(graph, ctx)).step(resource.key)


def decide_down(resource: Resource, ownership: dict[str, bool | None] | None = None) -> Any:
    graph = Graph([resource])
    ctx = context(ownership)
    return plan_down(graph, ctx, observe_all(graph, ctx)).step(resource.key)


COMPLETE = Observed(Status.COMPLETE, {"id": "x-1"}, detail="ACTIVE", owned=True)
DRIFTED = Observed(
    Status.COMPLETE, {"id": "x-1"}, detail="ACTIVE", owned=True, drift=("a: 1 != 2",)
)


# --- up ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("resource", "ownership", "action", "reason"),
    [
        pytest.param(Fake("a"), None, Action.CREATE, "does not exist", id="absent"),
        pytest.param(
            Fake("a", observed=Observed(Status.IN_PROGRESS, detail="CREATING")),
            None,
            Action.WAIT,
            "in progress",
            id="in progress",
        ),
        pytest.param(Fake("a", observed=COMPLETE), None, Action.KEEP, "exists", id="complete"),
        pytest.param(
            Fake("a", observed=Observed(Status.COMPLETE, owned=False)),
            None,
            Action.KEEP,
            "exists (not ours)",
            id="complete, not ours",
        ),
        pytest.param(
            Updatable("a", observed=DRIFTED),
            None,
            Action.UPDATE,
            "differs from the config: a: 1 != 2",
            id="drift, ours, updatable",
        ),
        pytest.param(
            Fake("a", observed=DRIFTED),
            None,
            Action.KEEP,
            "exists; differs from the config (not changed): a: 1 != 2",
            id="drift, ours, not updatable",
        ),
        pytest.param(
            Updatable("a", observed=DRIFTED),
            {"fake:updatable/a": False},
            Action.KEEP,
            "exists (not ours); differs from the config (not changed): a: 1 != 2",
            id="drift, not ours (state says so)",
        ),
        pytest.param(
            Recreatable(
                "a", observed=Observed(Status.FAILED, detail="CREATE_FAILED: quota", owned=True)
            ),
            None,
            Action.RECREATE,
            "failed: CREATE_FAILED: quota",
            id="failed, recreatable, ours",
        ),
        pytest.param(
            Recreatable("a", observed=Observed(Status.FAILED, detail="CREATE_FAILED: quota")),
            None,
            Action.BLOCKED,
            "failed: CREATE_FAILED: quota; not replaced: not known to be this set-up's",
            id="failed, recreatable, nobody's",
        ),
        pytest.param(
            Recreatable(
                "a", observed=Observed(Status.FAILED, detail="CREATE_FAILED: quota", owned=False)
            ),
            None,
            Action.BLOCKED,
            "failed: CREATE_FAILED: quota; not replaced: not known to be this set-up's",
            id="failed, recreatable, another set-up's (tags)",
        ),
        pytest.param(
            Fake(
                "a",
                observed=Observed(
                    Status.FAILED, {"found_id": "d-2"}, detail="taken", owned=False, foreign=True
                ),
            ),
            {"fake:thing/a": True},
            Action.BLOCKED,
            "not this set-up's: taken",
            id="found by name, another set-up's",
        ),
        pytest.param(
            Fake("a", observed=Observed(Status.FAILED, detail="FAILED_CREATION: no role")),
            None,
            Action.BLOCKED,
            "failed: FAILED_CREATION: no role",
            id="failed, not recreatable",
        ),
    ],
)
def test_up_decision_table(
    resource: Resource,
    ownership: dict[str, bool | None] | None,
    action: Action,
    reason: str,
) -> None:
    step = decide_up(resource, ownership)
    assert (step.action, step.reason) == (action, reason)
    assert step.kind == resource.kind
    assert step.account == "producer"


def test_failed_namesake_of_a_remembered_object_is_not_replaced() -> None:
    """The state remembers x-1 as ours; a FAILED x-2 found under the same key (by name) is
    not x-1: it is not replaced (that would delete it) unless its own tags say ours."""
    failed = Observed(Status.FAILED, {"id": "x-2"}, detail="CREATE_FAILED: quota")
    remembered = {"fake:recreatable/a": {"id": "x-1"}}
    step = decide_up(Recreatable("a", observed=failed), {"fake:recreatable/a": True}, remembered)
    assert step.action == Action.BLOCKED
    assert "not known to be this set-up's" in step.reason
    same = Observed(Status.FAILED, {"id": "x-1"}, detail="CREATE_FAILED: quota")
    step = decide_up(Recreatable("a", observed=same), {"fake:recreatable/a": True}, remembered)
    assert step.action == Action.RECREATE


def test_up_step_carries_before_and_drift() -> None:
    step = decide_up(Updatable("a", observed=DRIFTED))
    assert step.before == "COMPLETE: ACTIVE"
    assert step.drift == ("a: 1 != 2",)
    assert step.to_dict() == {
        "key": "fake:updatable/a",
        "kind": "fake:updatable",
        "account": "producer",
        "action": "update",
        "reason": "differs from the config: a: 1 != 2",
        "before": "COMPLETE: ACTIVE",
        "depends_on": [],
        "drift": ["a: 1 != 2"],
    }


# --- down -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("resource", "ownership", "action", "reason"),
    [
        pytest.param(Fake("a"), None, Action.SKIP, "does not exist", id="absent"),
        pytest.param(
            Fake("a", observed=COMPLETE), None, Action.DELETE, "created by this set-up", id="ours"
        ),
        pytest.param(
            Fake("a", observed=Observed(Status.COMPLETE)),
            None,
            Action.DELETE,
            "created by this set-up",
            id="ownership unknown",
        ),
        pytest.param(
            Fake("a", observed=Observed(Status.COMPLETE, owned=False)),
            None,
            Action.KEEP,
            "existed before smus-mesh; left as it was",
            id="not ours (AWS says so)",
        ),
        pytest.param(
            Fake("a", observed=COMPLETE),
            {"fake:thing/a": False},
            Action.KEEP,
            "existed before smus-mesh; left as it was",
            id="not ours (state remembers, even if tagged)",
        ),
        pytest.param(
            Fake("a", observed=Observed(Status.FAILED, owned=False)),
            None,
            Action.KEEP,
            "existed before smus-mesh; left as it was",
            id="failed, not ours",
        ),
        pytest.param(
            Fake("a", observed=Observed(Status.IN_PROGRESS, owned=True)),
            None,
            Action.DELETE,
            "created by this set-up",
            id="in progress, ours",
        ),
        pytest.param(
            RemovedWithParent("a", observed=COMPLETE),
            None,
            Action.SKIP,
            "removed with its parent",
            id="not deletable",
        ),
        pytest.param(
            RemovedWithParent("a", observed=Observed(Status.COMPLETE, owned=False)),
            None,
            Action.KEEP,
            "existed before smus-mesh; left as it was",
            id="not deletable, not ours",
        ),
    ],
)
def test_down_decision_table(
    resource: Resource,
    ownership: dict[str, bool | None] | None,
    action: Action,
    reason: str,
) -> None:
    step = decide_down(resource, ownership)
    assert (step.action, step.reason) == (action, reason)


def test_down_never_deletes_what_is_not_owned() -> None:
    """Whatever the status, a resource known not to be ours never gets a delete step."""
    for status in Status:
        for cls in (Fake, Recreatable, Updatable, RemovedWithParent):
            resource = cls("a", observed=Observed(status, owned=False))
            assert decide_down(resource).action != Action.DELETE
            resource = cls("a", observed=Observed(status, owned=True))
            assert decide_down(resource, {resource.key: False}).action != Action.DELETE


def test_down_plan_walks_the_graph_backwards() -> None:
    resources = [
        Fake("role", observed=COMPLETE),
        Fake("domain", ("fake:thing/role",), observed=COMPLETE),
        Fake("project", ("fake:thing/domain",), observed=COMPLETE),
    ]
    graph = Graph(resources)
    ctx = context()
    plan = plan_down(graph, ctx, observe_all(graph, ctx))
    assert [s.key for s in plan.steps] == [
        "fake:thing/project",
        "fake:thing/domain",
        "fake:thing/role",
    ]
    # for down, a step waits for its dependents
    assert plan.step("fake:thing/role").depends_on == ("fake:thing/domain",)
    assert plan.counts() == {"delete": 3}


# --- observing --------------------------------------------------------------------------


class NeedsParent(Fake):
    """Reads its dependency's output, as real resources do."""

    kind = "fake:needs-parent"

    def observe(self, ctx: Context) -> Observed:
        parent = ctx.output("fake:thing/parent", "id")
        return Observed(Status.COMPLETE, {"parent": parent}, owned=True)


def test_observe_all_passes_outputs_down_and_absent_parents_make_absent_children() -> None:
    parent = Fake("parent", observed=Observed(Status.COMPLETE, {"id": "p-1"}, owned=True))
    child = NeedsParent("child", ("fake:thing/parent",))
    graph = Graph([child, parent])
    ctx = context()
    observed = observe_all(graph, ctx)
    assert observed["fake:needs-parent/child"].identity == {"parent": "p-1"}
    assert ctx.outputs("fake:needs-parent/child") == {"parent": "p-1"}

    orphan = NeedsParent("child", ("fake:thing/parent",))
    graph = Graph([orphan, Fake("parent")])
    ctx = context()
    observed = observe_all(graph, ctx)
    assert observed["fake:needs-parent/child"].status == Status.ABSENT
    assert observed["fake:needs-parent/child"].detail == "after fake:thing/parent"
    plan = plan_up(graph, ctx, observed)
    assert [(s.key, s.action) for s in plan.changes()] == [
        ("fake:thing/parent", Action.CREATE),
        ("fake:needs-parent/child", Action.CREATE),
    ]


class WaitsForEvent(Fake):
    """Observed only once `event` is set (or fails the observation after 30 s)."""

    kind = "fake:slow"

    def __init__(self, name: str, event: threading.Event) -> None:
        super().__init__(name, observed=COMPLETE)
        self.event = event

    def observe(self, ctx: Context) -> Observed:
        if not self.event.wait(30):
            raise StepError(self.key, "observed before what it waits for")
        return super().observe(ctx)


class SetsEvent(NeedsParent):
    kind = "fake:sets-event"

    def __init__(self, name: str, depends_on: tuple[str, ...], event: threading.Event) -> None:
        super().__init__(name, depends_on)
        self.event = event

    def observe(self, ctx: Context) -> Observed:
        observed = super().observe(ctx)
        self.event.set()
        return observed


def test_observe_all_reads_each_resource_once_its_own_dependencies_are_read() -> None:
    """Not layer by layer: the child of a quick parent is read while an unrelated
    resource of the parent's layer is still being read (it waits for the child)."""
    read = threading.Event()
    slow = WaitsForEvent("slow", read)
    parent = Fake("parent", observed=Observed(Status.COMPLETE, {"id": "p-1"}, owned=True))
    child = SetsEvent("child", ("fake:thing/parent",), read)
    graph = Graph([slow, parent, child])
    assert [r.key for r in graph.batches()[0]] == ["fake:slow/slow", "fake:thing/parent"]
    ctx = context()
    observed = observe_all(graph, ctx)
    assert list(observed) == [r.key for r in graph.ordered()]
    assert observed["fake:sets-event/child"].identity == {"parent": "p-1"}
    assert observed["fake:slow/slow"].status == Status.COMPLETE


def test_a_failed_read_fails_the_observation_and_starts_nothing_after_it() -> None:
    failing = Fake("failing")
    after = Fake("after", ("fake:thing/failing",))

    def refuse(ctx: Context) -> Observed:
        raise StepError(failing.key, "AccessDenied")

    failing.observe = refuse  # type: ignore[method-assign]
    graph = Graph([failing, after])
    with pytest.raises(StepError, match="AccessDenied"):
        observe_all(graph, context())
    assert after.calls == []


class ListsShared(Fake):
    """Reads one shared list (`Context.fresh_list`) when observed."""

    kind = "fake:lists"

    def __init__(self, name: str, depends_on: tuple[str, ...], fetch: Any) -> None:
        super().__init__(name, depends_on, observed=COMPLETE)
        self.fetch = fetch

    def observe(self, ctx: Context) -> Observed:
        ctx.fresh_list(("shared",), self.fetch)
        return super().observe(ctx)


def test_an_observation_shares_lists_between_reads_that_start_at_different_moments() -> None:
    """Reads start as their dependencies are read, not together: one that starts after
    another's list call still shares it, as the layers did; after the observation, a list
    is fresh from the moment it is asked for again."""
    calls: list[float] = []

    def fetch() -> list[dict[str, Any]]:
        calls.append(time.monotonic())
        return []

    first = ListsShared("first", (), fetch)
    later = ListsShared("later", ("fake:lists/first",), fetch)
    graph = Graph([first, later])
    ctx = context()
    observe_all(graph, ctx)
    assert len(calls) == 1
    assert ctx.observing_since is None
    ctx.fresh_list(("shared",), fetch)
    assert len(calls) == 2


def test_list_newer_than_shares_one_call_between_reads_that_accept_it() -> None:
    """Context.list_newer_than: an answer is shared with every read that asks for one
    newer than a moment before its call began; a read asking for a newer one calls."""
    ctx = context()
    calls: list[int] = []

    def fetch() -> list[dict[str, Any]]:
        calls.append(len(calls) + 1)
        return [{"call": len(calls)}]

    before = time.monotonic()
    items, began = ctx.list_newer_than(("scope",), fetch, before)
    assert (items, calls) == ([{"call": 1}], [1])
    assert began > before
    assert ctx.list_newer_than(("scope",), fetch, before) == (items, began)  # shared
    assert ctx.list_newer_than(("other",), fetch, before)[0] == [{"call": 2}]
    newer, again = ctx.list_newer_than(("scope",), fetch, began)  # not newer than `began`
    assert newer == [{"call": 3}] and again > began
    assert ctx.fresh_list(("scope",), fetch) == [{"call": 4}]  # fresh: after the call


def test_plan_to_dict_is_the_plan_object() -> None:
    graph = Graph([Fake("a"), Fake("b", observed=COMPLETE)])
    ctx = context()
    plan = plan_up(graph, ctx, observe_all(graph, ctx))
    document = plan.to_dict()
    assert document["operation"] == "up"
    assert document["summary"] == {"create": 1, "keep": 1}
    assert [(s["key"], s["action"], s["reason"]) for s in document["steps"]] == [
        ("fake:thing/a", "create", "does not exist"),
        ("fake:thing/b", "keep", "exists"),
    ]
    assert [s.key for s in plan.changes()] == ["fake:thing/a"]


# --- executing --------------------------------------------------------------------------


class Broken(Fake):
    kind = "fake:broken"

    def create(self, ctx: Context) -> dict[str, Any]:
        self.calls.append("create")
        raise StepError(
            self.key, "AWS said no", operation="CreateThing", code="ValidationException"
        )


def test_a_failed_step_stops_only_its_dependents(tmp_path: Path) -> None:
    broken = Broken("broken")
    after_broken = Fake("after", ("fake:broken/broken",))
    independent = Fake("independent")
    graph = Graph([broken, after_broken, independent])
    ctx = context()
    state = State.load(tmp_path / "state.json", "demo")
    report = Executor(graph, ctx, state).apply(plan_up(graph, ctx, observe_all(graph, ctx)))
    assert not report.ok
    results = {r.key: r for r in report.results}
    assert results["fake:broken/broken"].message == (
        "fake:broken/broken: AWS said no [CreateThing: ValidationException]"
    )
    assert results["fake:thing/after"].message == "not run: fake:broken/broken failed"
    assert after_broken.calls == ["observe"]  # observed for the plan, never created
    assert results["fake:thing/independent"].ok
    assert independent.calls[-1] == "observe"  # created, then awaited
    assert "create" in independent.calls
    assert state.records["fake:thing/independent"].owned is True
    assert state.records["fake:broken/broken"].progress.failure is True
    assert report.to_dict()["summary"] == {"create": 1}


def test_apply_then_plan_again_keeps_everything(tmp_path: Path) -> None:
    resources = [Fake("a"), Fake("b", ("fake:thing/a",))]
    graph = Graph(resources)
    state = State.load(tmp_path / "state.json", "demo")
    ctx = context()
    report = Executor(graph, ctx, state).apply(plan_up(graph, ctx, observe_all(graph, ctx)))
    assert report.ok
    assert [r.calls.count("create") for r in resources] == [1, 1]
    ctx = context({k: r.owned for k, r in state.records.items()})
    again = plan_up(graph, ctx, observe_all(graph, ctx))
    assert again.changes() == []
    # and down deletes both, dependents first
    down = plan_down(graph, ctx, observe_all(graph, ctx))
    report = Executor(graph, ctx, state).destroy(down)
    assert report.ok
    assert [s.key for s in down.changes()] == ["fake:thing/b", "fake:thing/a"]
    assert state.records == {}


class Outcome(Fake):
    """A kind whose end state is news (like a subscription request's decision)."""

    kind = "fake:outcome"
    reports_outcome = True

    def create(self, ctx: Context) -> dict[str, Any]:
        self.calls.append("create")
        self.observed = Observed(Status.COMPLETE, detail="REJECTED (ask the owner)", owned=True)
        return {}


def test_steps_that_report_their_outcome(tmp_path: Path) -> None:
    created, kept = (
        Outcome("new"),
        Outcome("old", observed=Observed(Status.COMPLETE, detail="GRANTED")),
    )
    plain = Fake("plain")
    graph = Graph([created, kept, plain])
    ctx = context()
    state = State.load(tmp_path / "state.json", "demo")
    report = Executor(graph, ctx, state).apply(plan_up(graph, ctx, observe_all(graph, ctx)))
    assert {r.key: r.message for r in report.results} == {
        "fake:outcome/new": "REJECTED (ask the owner)",
        "fake:outcome/old": "GRANTED",
        "fake:thing/plain": "",
    }
    assert report.ok


def test_destructive_steps_and_how_a_saved_plan_differs_from_a_fresh_one() -> None:
    from smus_mesh.engine.plan import Plan, Step, plan_differences

    def step(key: str, action: Action, reason: str, drift: tuple[str, ...] = ()) -> Step:
        return Step(key, "fake", "producer", action, reason, "detail " + key, (), drift)

    saved = Plan(
        "up",
        (
            step("a", Action.KEEP, "exists"),
            step("b", Action.RECREATE, "failed: x"),
            step("c", Action.UPDATE, "differs", ("trust policy",)),
            step("d", Action.DELETE, "left the config"),
        ),
    )
    assert [s.key for s in saved.destructive()] == ["b", "d"]
    document = saved.to_dict()
    assert plan_differences(document, saved) == []
    # `before` carries live detail: not part of what a saved plan promises
    relabelled = Plan("up", tuple(step(s.key, s.action, s.reason, s.drift) for s in saved.steps))
    assert plan_differences(document, relabelled) == []
    fresh = Plan(
        "up",
        (
            step("a", Action.CREATE, "does not exist"),
            step("c", Action.UPDATE, "differs", ("trust policy", "missing policies")),
            step("d", Action.DELETE, "left the config"),
            step("e", Action.CREATE, "does not exist"),
        ),
    )
    assert plan_differences(document, fresh) == [
        "a: was keep (exists), now create (does not exist)",
        "b: was recreate, no longer a step",
        "c: update, but what differs from the config was trust policy, now trust policy, "
        "missing policies",
        "e: now create (does not exist), not in the plan",
    ]


def test_what_left_the_config_is_deleted_only_when_ours() -> None:
    """`plan_removal` is down's table, with its own reason, over the removed steps only."""
    ours = Fake("ours", observed=COMPLETE)
    foreign = Fake("foreign", observed=Observed(Status.COMPLETE, {"id": "x-9"}, owned=False))
    gone = Fake("gone")
    child = RemovedWithParent("child", observed=COMPLETE)
    graph = Graph([ours, foreign, gone, child], outside=["fake:thing/stays"])
    ctx = context()
    plan = plan_removal(graph, ctx, observe_all(graph, ctx))
    assert plan.operation == "remove"
    assert {s.key: (s.action, s.reason) for s in plan.steps} == {
        "fake:thing/ours": (Action.DELETE, "left the config; created by this set-up"),
        "fake:thing/foreign": (Action.KEEP, "existed before smus-mesh; left as it was"),
        "fake:thing/gone": (Action.SKIP, "does not exist"),
        "fake:child/child": (Action.SKIP, "removed with its parent"),
    }


# --- roles last (ADR 40) ------------------------------------------------------------------


class Logged(Fake):
    """Appends "<key> deleted" to a shared log when its deletion has finished; `slow`
    seconds after it began, like an asynchronous delete that is waited for."""

    def __init__(
        self, name: str, log: list[str], depends_on: tuple[str, ...] = (), slow: float = 0.0
    ) -> None:
        super().__init__(name, depends_on, COMPLETE)
        self.log = log
        self.slow = slow

    def delete(self, ctx: Context, observed: Observed) -> None:
        time.sleep(self.slow)
        super().delete(ctx, observed)
        self.log.append(f"{self.key} deleted")


class LoggedLast(Logged):
    kind = "fake:last"
    deleted_last = True


class RefusesDelete(Fake):
    kind = "fake:refuses"

    def delete(self, ctx: Context, observed: Observed) -> None:
        self.calls.append("delete")
        raise StepError(self.key, "still in use", operation="DeleteThing", code="ConflictException")


def _roles_and_a_domain(log: list[str]) -> list[Resource]:
    """A role the domain names, a role that names the domain (as the manage-access role
    does), a project of the domain, and an unrelated slow deletion."""
    return [
        LoggedLast("execution", log),
        Logged("domain", log, ("fake:last/execution",), slow=0.05),
        LoggedLast("manage-access", log, ("fake:thing/domain",)),
        Logged("configuration", log, ("fake:thing/domain", "fake:last/manage-access")),
        Logged("project", log, ("fake:thing/configuration",)),
        Logged("bucket", log, slow=0.1),
    ]


def test_a_teardown_deletes_what_is_deleted_last_after_every_other_deletion(
    tmp_path: Path,
) -> None:
    log: list[str] = []
    graph = Graph(_roles_and_a_domain(log))
    ctx = context()
    plan = plan_down(graph, ctx, observe_all(graph, ctx))
    # The plan shows the order it runs in: the roles at the end, though the reversed
    # graph has the manage-access role before the domain.
    assert [s.key for s in plan.steps][-2:] == ["fake:last/manage-access", "fake:last/execution"]
    assert [r.key for r in graph.reversed()].index("fake:last/manage-access") < [
        r.key for r in graph.reversed()
    ].index("fake:thing/domain")
    report = Executor(graph, ctx, State.load(tmp_path / "state.json", "demo")).destroy(plan)
    assert report.ok, [f.message for f in report.failures]
    assert sorted(log[-2:]) == ["fake:last/execution deleted", "fake:last/manage-access deleted"]
    assert len(log) == 6
    assert [r.key for r in report.results][-2:] == [
        "fake:last/manage-access",
        "fake:last/execution",
    ]


def test_a_failed_deletion_keeps_the_roles_and_the_next_run_deletes_them(
    tmp_path: Path,
) -> None:
    log: list[str] = []
    resources = [*_roles_and_a_domain(log), RefusesDelete("stack", observed=COMPLETE)]
    graph = Graph(resources)
    ctx = context()
    state = State.load(tmp_path / "state.json", "demo")
    for resource in resources:
        state.record(resource.key, resource.kind, resource.account, "111111111111")
    report = Executor(graph, ctx, state).destroy(plan_down(graph, ctx, observe_all(graph, ctx)))
    assert not report.ok
    results = {r.key: r for r in report.results}
    assert results["fake:refuses/stack"].message == (
        "fake:refuses/stack: still in use [DeleteThing: ConflictException]"
    )
    kept = (
        "kept: roles are deleted last, once every other deletion has succeeded, and "
        "fake:refuses/stack failed; run the same command again to finish"
    )
    for role in ("fake:last/execution", "fake:last/manage-access"):
        assert not results[role].ok
        assert results[role].message == kept
        assert role in state.records  # remembered for the next run
    assert all("fake:last" not in line for line in log)
    # Everything else went.
    assert len(log) == 4
    assert report.causes() == ["fake:refuses/stack"]
    assert not report.transient

    # The next run: the stack is gone now; the roles go.
    resources[-1].observed = Observed.absent()
    report = Executor(graph, ctx, state).destroy(plan_down(graph, ctx, observe_all(graph, ctx)))
    assert report.ok, [f.message for f in report.failures]
    assert sorted(log[-2:]) == ["fake:last/execution deleted", "fake:last/manage-access deleted"]


def test_the_last_phase_alone_keeps_the_roles_when_another_plan_failed(tmp_path: Path) -> None:
    """`down` after a removal runs the removal's roles after its own plan (workspace.py):
    a failure given from before keeps them; nothing of the first phase runs again."""
    log: list[str] = []
    graph = Graph(_roles_and_a_domain(log))
    ctx = context()
    state = State.load(tmp_path / "state.json", "demo")
    plan = plan_down(graph, ctx, observe_all(graph, ctx))
    held = Executor(graph, ctx, state).destroy(plan, first=False, failed=["a", "b"])
    assert [r.key for r in held.results] == ["fake:last/manage-access", "fake:last/execution"]
    assert {r.message for r in held.results} == {
        "kept: roles are deleted last, once every other deletion has succeeded, and a (and 1 "
        "more) failed; run the same command again to finish"
    }
    assert log == []
    first = Executor(graph, ctx, state).destroy(plan, last=False)
    assert first.ok and len(first.results) == 4 and len(log) == 4
    last = Executor(graph, ctx, state).destroy(plan, first=False)
    assert last.ok and len(log) == 6


class Paced(Fake):
    """A kind whose creation takes a turn in a low quota (like an acceptance)."""

    kind = "fake:paced"
    paced = True


@pytest.mark.parametrize("workers", [1, 2])
def test_a_paced_step_starts_before_other_ready_steps(tmp_path: Path, workers: int) -> None:
    """Each request makes its acceptance ready; the acceptance starts on the next free
    worker, before the requests that were ready first (ADR 45). In the pool's
    first-come order every request went first and the quota idled meanwhile."""
    created: list[str] = []
    lock = threading.Lock()

    class Recorded(Fake):
        def create(self, ctx: Context) -> dict[str, Any]:
            with lock:
                created.append(self.name)
            time.sleep(0.01)  # two workers: both busy when a step ends
            return super().create(ctx)

    class RecordedPaced(Recorded, Paced):
        pass

    requests = [Recorded(f"r{i}") for i in range(1, 7)]
    approvals = [RecordedPaced(f"a{i}", (f"fake:thing/r{i}",)) for i in range(1, 7)]
    graph = Graph([*requests, *approvals])
    ctx = context()
    ctx.settings = Settings(poll_initial=0.0, poll_max=0.001, timeout=5, max_workers=workers)
    state = State.load(tmp_path / "state.json", "demo")
    report = Executor(graph, ctx, state).apply(plan_up(graph, ctx, observe_all(graph, ctx)))
    assert report.ok
    # Every acceptance starts before the requests still queued when its request ended.
    for i in range(1, 7):
        later = [f"r{j}" for j in range(i + workers, 7)]
        assert all(created.index(f"a{i}") < created.index(r) for r in later), created


def test_steps_waiting_on_aws_do_not_hold_the_workers(tmp_path: Path) -> None:
    """With one worker, three steps wait at once: each one's job is done only when all
    three have begun, so a step that held its worker through its wait would time out.
    Between its waits each works alone: one worker (ADR 47)."""
    names = {"w1", "w2", "w3"}
    begun: set[str] = set()
    working: list[int] = [0, 0]  # now, most at once
    lock = threading.Lock()

    class Waiting(Fake):
        kind = "fake:waiting"

        def work(self) -> None:
            with lock:
                working[0] += 1
                working[1] = max(working)
            time.sleep(0.02)  # an AWS call: the step holds its worker through it
            with lock:
                working[0] -= 1

        def create(self, ctx: Context) -> dict[str, Any]:
            self.work()
            begun.add(self.name)

            def job() -> Observed:
                self.work()
                done = begun >= names
                return Observed(Status.COMPLETE if done else Status.IN_PROGRESS, detail="job")

            ctx.wait(self, job, until=Status.COMPLETE)
            return super().create(ctx)

    graph = Graph([Waiting(name) for name in sorted(names)])
    ctx = context()
    ctx.settings = Settings(poll_initial=0.01, poll_max=0.05, timeout=5, max_workers=1)
    state = State.load(tmp_path / "state.json", "demo")
    report = Executor(graph, ctx, state).apply(plan_up(graph, ctx, observe_all(graph, ctx)))
    assert report.ok, [r.message for r in report.results if not r.ok]
    assert begun == names
    assert working[1] == 1
