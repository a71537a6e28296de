"""Apply and destroy: visitors over the same plan, scheduled on the dependency graph.

A step starts as soon as the steps it waits for have succeeded: for `up` its
dependencies, for `down` its dependents, and the IAM roles (`deleted_last`) only once
every other deletion of the run has succeeded: DataZone assumes them until its
asynchronous deletes are over (ADR 40). Independent steps run in parallel on a thread
pool; ordering comes only from the graph. A failed step stops only the steps
that depend on it; everything independent still runs, and the run ends with
every failure listed. Each step is recorded in the state file when it starts
and when it ends, so an interrupted run resumes where it stopped.

Ctrl-C (`waiting.Stop`): the first stops starting steps and lets the steps in flight
finish; the run then ends as interrupted. The second aborts every wait at once; the
scheduler stops waiting for steps still inside an AWS call after `ABORT_GRACE`
seconds, and the caller exits (what those calls did is found by the next run, as
after a crash: ownership is recorded before each create).

Before creating, a step observes again: if the object appeared meanwhile (a
previous run was killed after AWS accepted the create call), it waits for it or
keeps it instead of creating a duplicate. Before deleting, a step uses the plan's
observation, made in the same run under the state file's lock (ADR 30); only after a
removal ran first (`destroy(stale=True)`) does each step observe again.
"""

from __future__ import annotations

import heapq
import queue
import time
import traceback
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from graphlib import TopologicalSorter
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from smus_mesh.engine.graph import Graph
from smus_mesh.engine.plan import Action, Plan, Step, observe_safely, owned
from smus_mesh.engine.state import State
from smus_mesh.errors import Interrupted, SmusMeshError, StepError
from smus_mesh.resources.base import Observed, Resource, Status
from smus_mesh.resources.context import Context
from smus_mesh.retry_policy import is_transient
from smus_mesh.waiting import Workers

#: Seconds an aborted run waits for its steps to leave their AWS calls before returning.
ABORT_GRACE = 0.5
#: Steps in flight per worker: working, or sleeping in a wait (threads: ~20 KiB each).
IN_FLIGHT_PER_WORKER = 4


@dataclass
class StepResult:
    key: str
    action: str
    ok: bool
    seconds: float
    message: str = ""
    error: BaseException | None = field(default=None, repr=False, compare=False)
    bug: bool = False
    #: Not run, or ended, because of Ctrl-C.
    interrupted: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "action": self.action,
            "ok": self.ok,
            "seconds": round(self.seconds, 3),
            "message": self.message,
        }


@dataclass
class RunReport:
    operation: str
    results: list[StepResult]
    wall_s: float
    calls: dict[str, Any]
    #: Subscription requests left PENDING for a person (`smus-mesh approve`/`reject`):
    #: {"project", "table", "request_id"} each.
    awaiting_approval: list[dict[str, str]] = field(default_factory=list)
    #: Ctrl-C stopped the run before every step had run.
    interrupted: bool = False

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.results) and not self.interrupted

    def interruption(self) -> str:
        """What an interrupted run did, and what to do next."""
        done = sum(1 for r in self.results if r.ok)
        not_run = sum(1 for r in self.results if r.interrupted)
        failed = len(self.results) - done - not_run
        return (
            f"interrupted: {done} step(s) done, {failed} failed, {not_run} not run or "
            "stopped; the state file is saved: run the same command again to resume"
        )

    @property
    def failures(self) -> list[StepResult]:
        return [r for r in self.results if not r.ok]

    def causes(self) -> list[str]:
        """The keys of the steps that failed (not those left for another's failure, nor
        those Ctrl-C stopped)."""
        return [
            r.key for r in self.results if not r.ok and r.error is not None and not r.interrupted
        ]

    @classmethod
    def joined(cls, operation: str, reports: Sequence[RunReport]) -> RunReport:
        """One report of runs made one after the other in the same process."""
        return cls(
            operation,
            [result for report in reports for result in report.results],
            sum(report.wall_s for report in reports),
            reports[-1].calls if reports else {},
            [item for report in reports for item in report.awaiting_approval],
            any(report.interrupted for report in reports),
        )

    @property
    def transient(self) -> bool:
        """Every step that failed (rather than being skipped for another's failure) failed
        transiently: the same run again can finish (exit code 3)."""
        causes = [r for r in self.failures if r.error is not None]
        return bool(causes) and all(getattr(r.error, "transient", False) for r in causes)

    def to_dict(self) -> dict[str, Any]:
        counts: dict[str, int] = {}
        for result in self.results:
            if result.ok:
                counts[result.action] = counts.get(result.action, 0) + 1
        return {
            "operation": self.operation,
            "ok": self.ok,
            "interrupted": self.interrupted,
            "wall_s": round(self.wall_s, 3),
            "summary": counts,
            "failures": [r.to_dict() for r in self.failures],
            "steps": [r.to_dict() for r in self.results],
            "calls": self.calls,
            "awaiting_approval": self.awaiting_approval,
        }


def named(keys: Sequence[str]) -> str:
    """The first of some steps' keys, and how many more ("" for none)."""
    if not keys:
        return ""
    return keys[0] + (f" (and {len(keys) - 1} more)" if len(keys) > 1 else "")


def describe_client_error(key: str, exc: ClientError) -> StepError:
    error = exc.response.get("Error", {})
    meta = exc.response.get("ResponseMetadata", {})
    return StepError(
        key,
        str(error.get("Message") or exc),
        operation=getattr(exc, "operation_name", None),
        code=error.get("Code"),
        request_id=meta.get("RequestId"),
        transient=is_transient(exc),
    )


class Executor:
    """Runs a plan's steps on the graph, records them, and reports."""

    def __init__(self, graph: Graph, ctx: Context, state: State) -> None:
        self.graph = graph
        self.ctx = ctx
        self.state = state
        self.console = ctx.console
        self._plan_observed: dict[str, Observed] = {}
        #: Steps that made, replaced or changed their object in this run: what depends on
        #: them is looked at again before it is kept (their ids or ARNs may be new).
        self._changed: set[str] = set()
        #: Whether the plan's observations may predate changes made since (see `destroy`).
        self._stale = False

    # scheduling --------------------------------------------------------------------
    def _run(self, plan: Plan, prerequisites: Callable[[str], list[str]]) -> RunReport:
        """Start each step when its prerequisites succeeded; skip it when one failed.

        `graphlib.TopologicalSorter` says which steps are ready; what it has no notion of
        is failure, so the dependents of a failed step (all of them, transitively) are
        recorded as skipped at once and only marked done when the sorter reaches them.
        """
        started = time.monotonic()
        steps = {s.key: s for s in plan.steps}
        position = {s.key: i for i, s in enumerate(plan.steps)}
        sorter: TopologicalSorter[str] = TopologicalSorter()
        dependents: dict[str, list[str]] = {key: [] for key in steps}
        for key in steps:
            required = [d for d in prerequisites(key) if d in steps]
            sorter.add(key, *required)
            for dependency in required:
                dependents[dependency].append(key)
        sorter.prepare()
        results: dict[str, StepResult] = {}
        running: dict[Future[StepResult], str] = {}
        # Each step's future reports itself here when it ends. `concurrent.futures.wait`
        # over every running future instead costs O(running) per completion, locks
        # included: with 256 workers on a 20 x 100 set-up that was 6-9 % of `up`'s samples.
        finished: queue.SimpleQueue[Future[StepResult] | None] = queue.SimpleQueue()

        def skip(key: str, cause: str) -> None:
            stack = [key]
            while stack:
                current = stack.pop()
                if current in results:
                    continue
                results[current] = StepResult(
                    current, steps[current].action.value, False, 0.0, f"not run: {cause} failed"
                )
                self.console.step(current, "skipped", f"{cause} failed")
                stack.extend(dependents[current])

        stop = self.ctx.stop
        # `max_workers` steps work at once; a step that sleeps in a wait gives its place to
        # another, so up to IN_FLIGHT_PER_WORKER times as many are in flight (ADR 47).
        in_flight = IN_FLIGHT_PER_WORKER * self.ctx.settings.max_workers
        pool = ThreadPoolExecutor(max_workers=in_flight, thread_name_prefix="smus-step")
        # Ready steps wait here, not in the pool's first-come queue, and a step starts when
        # a worker is free: paced steps first, then plan order (reproducible). At 20 x 100
        # the 2,000 subscription requests were all queued before the first acceptance was
        # ready, so the acceptance quota, the run's slowest stage, idled for 8 s (ADR 45).
        queued: list[tuple[bool, int, str]] = []

        def wake() -> None:  # a sleeping step left its place: start one if one can start
            if queued and len(running) < in_flight:
                finished.put(None)

        workers = Workers(self.ctx.settings.max_workers, wake)

        def start_ready() -> None:
            ready = sorter.get_ready()
            while ready:
                for key in ready:
                    if key in results:  # skipped: a prerequisite failed
                        sorter.done(key)
                    else:
                        paced = self.graph.get(key).paced
                        heapq.heappush(queued, (not paced, position[key], key))
                ready = sorter.get_ready()
            while queued and len(running) < in_flight and not stop.stopping and workers.try_start():
                key = heapq.heappop(queued)[2]
                future = pool.submit(self._visit_in, workers, steps[key])
                running[future] = key
                future.add_done_callback(finished.put)

        try:
            start_ready()
            while running:
                future = finished.get()  # a signal's handler runs (and may raise) here too
                if future is None:  # a sleeping step left its place
                    start_ready()
                    continue
                key = running.pop(future)
                result = future.result()
                results[key] = result
                if not result.ok and not result.interrupted:
                    for dependent in dependents[key]:
                        skip(dependent, key)
                sorter.done(key)
                # Its place is freed only now, with what its end made ready queued (ADR 45)
                workers.release(key)
                start_ready()
        except BaseException:
            # A second Ctrl-C (KeyboardInterrupt in this thread): every wait ends now;
            # steps inside an AWS call get a moment to record what they did.
            stop.abort()
            pool.shutdown(wait=False, cancel_futures=True)
            wait(list(running), timeout=ABORT_GRACE)
            raise
        pool.shutdown(wait=True)
        for step in plan.steps:
            if step.key not in results:  # never started: Ctrl-C stopped the scheduling
                results[step.key] = StepResult(
                    step.key,
                    step.action.value,
                    False,
                    0.0,
                    "not run: interrupted",
                    interrupted=True,
                )
        ordered = [results[s.key] for s in plan.steps if s.key in results]
        return RunReport(
            plan.operation,
            ordered,
            time.monotonic() - started,
            self.ctx.clients.stats.snapshot(),
            interrupted=stop.stopping,
        )

    def apply(self, plan: Plan) -> RunReport:
        """Run an `up` plan: each step after its dependencies."""
        self._plan_observed = plan.observed
        return self._run(plan, lambda key: list(self.graph.get(key).depends_on))

    def destroy(
        self,
        plan: Plan,
        stale: bool = False,
        *,
        first: bool = True,
        last: bool = True,
        failed: Sequence[str] = (),
    ) -> RunReport:
        """Run a `down` plan: each step after the steps that depend on it, and the steps of
        resources deleted last (`Resource.deleted_last`: the IAM roles) after every other
        step, only when each of those succeeded (ADR 40). `stale`: other deletions ran
        since the plan was observed, so every step observes again.

        A teardown made of two plans (`down` after a removal) runs them in phases: `first`
        runs the steps that are not deleted last, `last` the ones that are, which are kept
        when a step of this plan's first phase failed or one of `failed` (keys of failed
        steps of the same run) did."""
        self._plan_observed = plan.observed
        self._stale = stale
        early = [s for s in plan.steps if not self.graph.get(s.key).deleted_last]
        late = [s for s in plan.steps if self.graph.get(s.key).deleted_last]
        reports = []
        if first:
            reports.append(self._run(Plan(plan.operation, tuple(early)), self.graph.dependents))
        if last:
            causes = [*failed, *(key for report in reports for key in report.causes())]
            reports.append(self._run_last(plan.operation, late, causes))
        return RunReport.joined(plan.operation, reports)

    def _run_last(self, operation: str, steps: list[Step], failed: list[str]) -> RunReport:
        """The steps deleted last; when a deletion before them failed, those that delete
        are kept (reported as not run) and the next run deletes them."""
        if not failed or self.ctx.stop.stopping:
            return self._run(Plan(operation, tuple(steps)), self.graph.dependents)
        why = (
            f"kept: roles are deleted last, once every other deletion has succeeded, and "
            f"{named(failed)} failed; run the same command again to finish"
        )
        kept = [s for s in steps if s.action == Action.DELETE]
        for step in kept:
            self.console.step(step.key, "skipped", why)
        report = self._run(
            Plan(operation, tuple(s for s in steps if s.action != Action.DELETE)),
            self.graph.dependents,
        )
        results = {r.key: r for r in report.results}
        results.update({s.key: StepResult(s.key, s.action.value, False, 0.0, why) for s in kept})
        report.results = [results[s.key] for s in steps]
        return report

    # visiting ------------------------------------------------------------------------
    def _visit_in(self, workers: Workers, step: Step) -> StepResult:
        with workers.step(step.key):
            return self._visit(step)

    def _visit(self, step: Step) -> StepResult:
        stop = self.ctx.stop
        if stop.stopping:  # queued before Ctrl-C, not begun: leave it for the next run
            return StepResult(
                step.key, step.action.value, False, 0.0, "not run: interrupted", interrupted=True
            )
        with stop.in_flight():
            return self._visit_now(step)

    def _visit_now(self, step: Step) -> StepResult:
        resource = self.graph.get(step.key)
        started = time.monotonic()
        visitor = getattr(self, f"visit_{step.action.value}")
        try:
            message = visitor(resource, step) or ""
        except ClientError as exc:
            error = describe_client_error(step.key, exc)
            return self._failed(step, started, error)
        except BotoCoreError as exc:
            if not is_transient(exc):  # a parameter botocore refused: a bug of ours
                result = self._failed(step, started, exc)
                result.bug = True
                result.message = f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}"
                return result
            # A timeout or dropped connection that outlived the retries.
            return self._failed(step, started, StepError(step.key, str(exc), transient=True))
        except SmusMeshError as exc:
            return self._failed(step, started, exc)
        except Exception as exc:  # a bug: keep the traceback for --debug
            result = self._failed(step, started, exc)
            result.bug = True
            result.message = f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}"
            return result
        seconds = time.monotonic() - started
        if step.action not in (Action.KEEP, Action.SKIP):
            self.console.step(step.key, "done", f"{step.action.value} in {seconds:.1f}s {message}")
        return StepResult(step.key, step.action.value, True, seconds, message)

    def _failed(self, step: Step, started: float, exc: BaseException) -> StepResult:
        message = str(exc)
        self.console.step(step.key, "failed", message)
        if step.key in self.state.records:
            self.state.finished(step.key, success=False, message=message)
        return StepResult(
            step.key,
            step.action.value,
            False,
            time.monotonic() - started,
            message,
            exc,
            interrupted=isinstance(exc, Interrupted),
        )

    def _record(self, resource: Resource, observed: Observed, owned: bool | None) -> None:
        record = self.state.record(
            resource.key, resource.kind, resource.account, self.ctx.account_id(resource.account)
        )
        if owned is None:
            owned = record.owned if record.owned is not None else observed.owned
        self.state.update(
            resource.key,
            identity={**record.identity, **observed.identity},
            outputs=observed.outputs,
            status=observed.status.value,
            owned=owned,
        )
        self.ctx.set_outputs(resource.key, {**observed.identity, **observed.outputs})

    def _begin(self, resource: Resource, action: str) -> None:
        self.state.record(
            resource.key, resource.kind, resource.account, self.ctx.account_id(resource.account)
        )
        self.state.started(resource.key)
        self.console.step(resource.key, "started", action)

    # up -------------------------------------------------------------------------------
    def visit_keep(self, resource: Resource, step: Step) -> str:
        observed = self._observed(step)
        if any(d in self._changed for d in resource.depends_on):
            # Observed before a dependency was made again or changed: what it refers to
            # (a role's ARN, a project's id) may be new; look again and follow it.
            observed = observe_safely(resource, self.ctx)
            if self._follow(resource, observed):
                return "updated: " + "; ".join(observed.drift)
        if observed.status != Status.ABSENT:
            self._record(resource, observed, None)
        return self._outcome(resource, observed, "")

    def _follow(self, resource: Resource, observed: Observed) -> bool:
        """Update a COMPLETE object of this set-up that differs from the config (found at
        apply time, not at plan time); True when it did."""
        if not (
            observed.status == Status.COMPLETE
            and observed.drift
            and resource.updatable
            and owned(resource, observed, self.ctx) is not False
        ):
            return False
        self._begin(resource, "update")
        resource.update(self.ctx, observed)
        self._changed.add(resource.key)
        final = resource.wait_created(self.ctx)
        self._record(resource, final, None)
        self.state.finished(resource.key, success=True)
        self.console.step(resource.key, "done", "update " + "; ".join(observed.drift))
        return True

    @staticmethod
    def _outcome(resource: Resource, observed: Observed, default: str) -> str:
        """The step's message: what it ended as, for kinds whose outcome matters."""
        return observed.detail if resource.reports_outcome and observed.detail else default

    def visit_create(self, resource: Resource, step: Step) -> str:
        # Observe again: the object may have been created by a run that died after
        # AWS accepted the call but before the state file said so.
        observed = observe_safely(resource, self.ctx)
        if observed.foreign:
            raise StepError(resource.key, f"not this set-up's: {observed.detail}")
        if observed.status == Status.COMPLETE:
            # Found now: it could not be looked for at plan time (a dependency was missing),
            # or a killed run made it. Converge it like any other (drift -> update).
            if self._follow(resource, observed):
                return "(already existed) updated: " + "; ".join(observed.drift)
            self._record(resource, observed, None)
            return self._outcome(resource, observed, "(already existed)")
        if observed.status == Status.IN_PROGRESS:
            return self.visit_wait(resource, step)
        if observed.status == Status.FAILED:
            raise StepError(resource.key, f"failed: {observed.detail}")
        self._begin(resource, "create")
        # Remember that it is ours before the call: it was absent a moment ago, so whatever
        # exists under this key after a crash from here on was made by this run, even if
        # the run died before marking it (an S3 bucket is tagged after CreateBucket).
        if resource.identity_before_create:
            found = {**self.state.records[resource.key].identity, **observed.identity}
            self.state.update(resource.key, owned=True, identity=found)
        else:
            self.state.update(resource.key, owned=True)
        self.ctx.mark_ours(resource.key)
        try:
            identity = resource.create(self.ctx)
        except Exception:
            # Alive to tell: nothing is known to be ours; the next observation decides.
            self.state.update(resource.key, owned=None)
            self.ctx.mark_ours(resource.key, None)
            raise
        self.state.update(
            resource.key,
            identity={**self.state.records[resource.key].identity, **identity},
            owned=True,
            status=Status.IN_PROGRESS.value,
        )
        if identity:
            self.ctx.set_outputs(resource.key, identity)
        observed = resource.wait_created(self.ctx)
        self._record(resource, observed, True)
        self.state.finished(resource.key, success=True)
        self._changed.add(resource.key)
        return self._outcome(resource, observed, "")

    def visit_wait(self, resource: Resource, step: Step) -> str:
        self._begin(resource, "wait")
        observed = resource.wait_created(self.ctx)
        self._record(resource, observed, None)
        self.state.finished(resource.key, success=True)
        return self._outcome(resource, observed, "")

    def visit_update(self, resource: Resource, step: Step) -> str:
        self._begin(resource, "update")
        resource.update(self.ctx, self._observed(step))
        self._changed.add(resource.key)
        observed = resource.wait_created(self.ctx)
        self._record(resource, observed, None)
        self.state.finished(resource.key, success=True)
        return "; ".join(step.drift)

    def visit_recreate(self, resource: Resource, step: Step) -> str:
        self._begin(resource, "recreate")
        resource.delete(self.ctx, self._observed(step))
        resource.wait_deleted(self.ctx)
        self.ctx.mark_ours(resource.key)
        identity = resource.create(self.ctx)
        self._changed.add(resource.key)
        self.state.update(resource.key, identity=identity, owned=True)
        self.ctx.set_outputs(resource.key, identity)
        observed = resource.wait_created(self.ctx)
        self._record(resource, observed, True)
        self.state.finished(resource.key, success=True)
        return ""

    def visit_blocked(self, resource: Resource, step: Step) -> str:
        raise StepError(
            resource.key,
            f"{step.reason}. smus-mesh does not replace this automatically; fix the cause, "
            "or run `smus-mesh down` and `up` again",
        )

    # down ----------------------------------------------------------------------------
    def visit_skip(self, resource: Resource, step: Step) -> str:
        if resource.key in self.state.records and step.before.startswith(Status.ABSENT.value):
            self.state.forget(resource.key)
        return ""

    def visit_delete(self, resource: Resource, step: Step) -> str:
        self._begin(resource, "delete")
        # The plan's observation was made in this run, under the state file's lock; what
        # ran since deleted only what depends on this object, which leaves its identity
        # as it was (every delete takes an object already gone as deleted). Observed
        # again only when other deletions ran after the plan was observed (`stale`).
        observed = self._plan_observed.get(step.key)
        if observed is None or self._stale:
            observed = observe_safely(resource, self.ctx)
        kept = ""
        if observed.status != Status.ABSENT:
            kept = resource.delete(self.ctx, observed) or ""
            if not kept:
                resource.wait_deleted(self.ctx)
        self.state.forget(resource.key)
        return kept

    def _observed(self, step: Step) -> Observed:
        return self._plan_observed.get(step.key, Observed.absent())
