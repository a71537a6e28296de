"""The library entry point: one set-up (config + state file) and the operations on it.

Every CLI command builds a `Workspace` and calls one method; nothing here
prints, prompts or exits (that is the CLI's job).

    workspace = Workspace.open("two-accounts.yaml", console=NoopConsole())
    plan = workspace.plan()           # observe only
    report = workspace.up()           # converge; resumable, idempotent
    workspace.close()                 # or: with Workspace.open(...) as workspace: ...
"""

from __future__ import annotations

import contextlib
import hashlib
import shutil
import tempfile
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from smus_mesh.accounts import SessionFactory
from smus_mesh.clients import Clients
from smus_mesh.config import Config, ProjectConfig, load_config, parse_config
from smus_mesh.console import Console, NoopConsole
from smus_mesh.engine.apply import Executor, RunReport, StepResult, named
from smus_mesh.engine.graph import Graph
from smus_mesh.engine.joined import refuse_blind_down
from smus_mesh.engine.plan import (
    PLAN_FILE_FORMAT,
    PLAN_FILE_VERSION,
    Plan,
    observe_all,
    plan_differences,
    plan_down,
    plan_removal,
    plan_up,
)
from smus_mesh.engine.state import State, locked
from smus_mesh.errors import (
    ConfigError,
    Interrupted,
    PlanOutdated,
    StateError,
    StateUnreadable,
    UserError,
    aws_code,
)
from smus_mesh.inventory import Auditor, Inventory
from smus_mesh.resources.base import Status
from smus_mesh.resources.context import Context
from smus_mesh.resources.naming import SETUP_ID_TAG, SETUP_TAG, Names, new_setup_id
from smus_mesh.resources.setup import SetupBuilder
from smus_mesh.settings import Settings
from smus_mesh.waiting import Stop

DEFAULT_STATE_DIR = ".smus-mesh"


def default_state_path(config: Config, config_path: str | Path | None = None) -> Path:
    """`<config dir>/.smus-mesh/<name>.state.json`: the same file from any working
    directory (without a config path, the working directory stands for it)."""
    base = Path(config_path).resolve().parent if config_path is not None else Path()
    return base / DEFAULT_STATE_DIR / f"{config.name}.state.json"


def legacy_state_path(config: Config) -> Path:
    """Where versions before 0.2 kept the state: relative to the working directory."""
    return Path(DEFAULT_STATE_DIR) / f"{config.name}.state.json"


class Workspace:
    """A set-up: its config, its state file, its accounts and its dependency graph."""

    def __init__(
        self,
        config: Config,
        state_path: Path | None = None,
        console: Console | None = None,
        sessions: SessionFactory | None = None,
        settings: Settings | None = None,
        ignore_state: bool = False,
        stop: Stop | None = None,
    ) -> None:
        self.config = config
        #: Ctrl-C of this run: the CLI's SIGINT handler sets it (`waiting.Stop`).
        self.stop = stop or Stop()
        self.state_path = state_path or default_state_path(config)
        #: Set by `open` when the state was found at the old, working-directory location.
        self.moved_from: Path | None = None
        #: Neither read nor write the state file (`down --ignore-state`): what is the
        #: set-up's is found by its tags alone, and the file is left as it was.
        self.ignore_state = ignore_state
        self.console: Console = console or NoopConsole()
        self.settings = settings or config.resolved_settings()
        #: a session factory made here is closed with the workspace; a caller's is the caller's
        self._own_sessions = sessions is None
        self.sessions = sessions or SessionFactory(config, self.settings.max_attempts)
        self.clients = Clients(
            self.sessions,
            max_attempts=self.settings.max_attempts,
            pool=self.settings.max_workers,
            limited_tps=self.settings.accept_tps,
            stop=self.stop,
        )
        self.names = Names(config)
        builder = SetupBuilder(config)
        self.graph = Graph(builder.build())
        #: short aliases of the steps ("domain", "project:<name>", "request:<p>:<t>") -> keys
        self.keys = dict(builder.keys)

    @classmethod
    def open(
        cls,
        config_path: str | Path,
        state_path: Path | None = None,
        console: Console | None = None,
        ignore_state: bool = False,
        stop: Stop | None = None,
    ) -> Workspace:
        config = load_config(config_path)
        moved_from = None
        if state_path is None:
            state_path = default_state_path(config, config_path)
            legacy = legacy_state_path(config).resolve()
            if not ignore_state and legacy != state_path and _state_files_at(legacy):
                if _state_files_at(state_path):
                    raise StateUnreadable(
                        f"two state files for set-up {config.name!r}: {state_path} (next to "
                        f"the config) and {legacy} (the working directory, where older "
                        "versions kept it); keep the right one and remove the other, or "
                        "choose with --state"
                    )
                _move_state(legacy, state_path)
                moved_from = legacy
        workspace = cls(config, state_path, console, ignore_state=ignore_state, stop=stop)
        workspace.moved_from = moved_from
        return workspace

    def close(self) -> None:
        """Close the connections of the clients this workspace made (`Clients.close`): at
        the end of its operations (the CLI closes it when its command ends)."""
        self.clients.close()
        if self._own_sessions:
            self.sessions.close()

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -------------------------------------------------------------------------------
    def verify_accounts(self) -> dict[str, str]:
        """Reach every account (in parallel); the caller ARN per alias. Fails fast and
        clearly on wrong credentials, before any change."""
        aliases = self.config.used_accounts()
        with ThreadPoolExecutor(max_workers=len(aliases)) as pool:
            arns = list(
                pool.map(
                    lambda alias: self.sessions.verify(
                        alias, lambda: self.clients.caller_identity(alias)
                    ),
                    aliases,
                )
            )
        return dict(zip(aliases, arns, strict=True))

    def context(
        self, state: State, resubscribed: set[str] | None = None, config: Config | None = None
    ) -> Context:
        return Context(
            config or self.config,
            self.clients,
            self.settings,
            self.names,
            self.console,
            remembered=state.identities(),
            ownership={k: r.owned for k, r in state.records.items()},
            unsubscribed=state.remembered("unsubscribed") - (resubscribed or set()),
        )

    def load_state(self, persist_id: bool = False) -> State:
        """The state, with the set-up id settled (see `_settle_setup_id`); `persist_id`
        records a new id in the file (runs that change something, under the lock)."""
        if self.ignore_state:
            # An empty state in a directory of its own (made by its first write, removed
            # at the end of the run).
            scratch = Path(tempfile.gettempdir()) / f"smus-mesh-ignored-state-{uuid.uuid4().hex}"
            state = State(scratch / self.state_path.name, self.config.name, {})
        else:
            state = State.load(self.state_path, self.config.name)
        self._settle_setup_id(state, persist_id)
        return state

    def _domain_marks(self) -> tuple[str | None, str | None]:
        """(id, set-up id tag) of the live domain of the config's name tagged with this
        set-up's name, if there is one. A joined domain carries no mark of a set-up
        (ADR 26): the id is the state file's."""
        if self.config.domain.joined:
            return None, None
        datazone = self.clients.get(self.config.domain.account, "datazone")
        for page in datazone.get_paginator("list_domains").paginate():
            for summary in page.get("items", []):
                if summary.get("name") != self.config.domain.name:
                    continue
                if summary.get("status") in ("DELETED", "DELETING"):
                    continue
                try:
                    tags = datazone.get_domain(identifier=summary["id"]).get("tags") or {}
                except ClientError as exc:
                    if aws_code(exc) == "ResourceNotFoundException":
                        continue
                    raise
                if tags.get(SETUP_TAG) == self.config.name:
                    return str(summary["id"]), tags.get(SETUP_ID_TAG)
        return None, None

    def _settle_setup_id(self, state: State, persist: bool) -> None:
        """The set-up id: the state file's, else the one on the set-up's domain, else new.
        A state file whose id differs from the domain's belongs to another set-up of the
        same name: refused."""
        if self.names.setup_id and state.setup_id in (None, self.names.setup_id):
            setup_id: str = self.names.setup_id
        else:
            domain_id, tagged = self._domain_marks()
            remembered = state.setup_id
            if remembered and tagged and remembered != tagged:
                raise StateUnreadable(
                    f"{self.state_path} belongs to set-up {self.config.name!r} with id "
                    f"{remembered}, but the domain {self.config.domain.label} ({domain_id}) "
                    f"belongs to the set-up of that name with id {tagged}: this state file is "
                    "another set-up's; use --state to point at the right file"
                )
            setup_id = remembered or tagged or new_setup_id()
        self.names.setup_id = setup_id
        if persist:
            state.remember_setup(setup_id)

    def _done_with(self, state: State) -> None:
        """Compact the state (and, for `--ignore-state`, throw the scratch state away)."""
        state.close()
        if self.ignore_state:
            shutil.rmtree(state.path.parent, ignore_errors=True)

    def observe(
        self, state: State, resubscribed: set[str] | None = None
    ) -> tuple[Context, dict[str, Any]]:
        ctx = self.context(state, resubscribed)
        return ctx, observe_all(self.graph, ctx)

    def config_digest(self) -> str:
        """sha256 of the parsed config: a saved plan is applied only to the config it was
        made from (comments and formatting do not count)."""
        return hashlib.sha256(self.config.model_dump_json().encode()).hexdigest()

    def plan_document(self, plan: Plan) -> dict[str, Any]:
        """The plan as `plan --out` saves it: the steps, and what it was made from (the
        set-up's name and id, the config's digest). Ids and names only: no credentials."""
        return {
            "format": PLAN_FILE_FORMAT,
            "version": PLAN_FILE_VERSION,
            "setup": self.config.name,
            "setup_id": self.names.setup_id,
            "config_sha256": self.config_digest(),
            **plan.to_dict(),
        }

    def _check_saved(self, saved: dict[str, Any], plan: Plan, source: str) -> None:
        """Refuse (nothing changed) a saved plan that is not this set-up's up plan, was
        made from another config, or that a fresh observation no longer yields."""
        if saved.get("format") != PLAN_FILE_FORMAT or saved.get("version") != PLAN_FILE_VERSION:
            raise UserError(
                f"{source} is not a smus-mesh plan file (format {PLAN_FILE_FORMAT} version "
                f"{PLAN_FILE_VERSION}); save one with `smus-mesh plan --out FILE`"
            )
        if saved.get("operation") != "up":
            raise UserError(
                f"{source} is a plan of {str(saved.get('operation'))[:20]!r}; up applies "
                "only a plan of up (`smus-mesh plan up --out FILE`)"
            )
        if saved.get("setup") != self.config.name or saved.get("setup_id") not in (
            None,
            self.names.setup_id,
        ):
            raise UserError(
                f"{source} is a plan of set-up {str(saved.get('setup'))[:40]!r} (id "
                f"{str(saved.get('setup_id'))[:40]}), not of {self.config.name!r} (id "
                f"{self.names.setup_id}); nothing was changed"
            )
        if saved.get("config_sha256") != self.config_digest():
            raise PlanOutdated(
                f"{source} was made from another version of the config: the config changed "
                "since; nothing was changed: run `smus-mesh plan --out FILE` again and review it"
            )
        differences = plan_differences(saved, plan)
        if differences:
            shown = "\n  ".join(differences[:20])
            more = f"\n  ... and {len(differences) - 20} more" if len(differences) > 20 else ""
            raise PlanOutdated(
                f"{source} is out of date: what exists changed since it was saved, "
                f"{len(differences)} step(s) differ:\n  {shown}{more}\nnothing was changed: "
                "run `smus-mesh plan --out FILE` again and review it"
            )

    def applied_document(self) -> dict[str, Any]:
        """The config as the state file keeps it (parsed, as JSON: no comments)."""
        document: dict[str, Any] = self.config.model_dump(mode="json")
        return document

    def removal(self, state: State) -> Removal | None:
        """What left the config since the last `up`: the resources of the config that
        `up` last converged to (the state file keeps it) that the current config no longer
        has, observed as that config saw them (ADR 19). None when nothing left."""
        document = state.applied_config()
        if document is None:
            return None
        try:
            applied = parse_config(document, f"{self.state_path} (the config of the last up)")
        except ConfigError as exc:
            self.console.warn(f"{exc}; what left the config since is not removed")
            return None
        if applied == self.config:
            return None
        before = Graph(SetupBuilder(applied).build())
        replaced = before.replaced_in(self.graph)
        gone = [r for r in before.ordered() if r.key not in self.graph or r.key in replaced]
        if not gone:
            return None
        needed = {r.key for r in gone}
        for resource in gone:
            needed |= before.ancestors(resource.key)
        # What stays and is of a kind that goes: it may be the very object a removed key
        # stands for too (plan_removal leaves that), so it is observed as well.
        gone_kinds = {r.kind for r in gone if r.shared_by_identity}
        staying_keys = {r.key for r in before.ordered() if r.key in self.graph} - replaced
        alike = {key for key in staying_keys if before.get(key).kind in gone_kinds}
        observing = needed | alike
        for key in alike:
            observing |= before.ancestors(key)
        ctx = self.context(state, config=applied)
        observed = observe_all(before, ctx, only=observing)
        kept = [r.key for r in before.ordered() if r.key not in needed or r.key in staying_keys]
        graph = Graph(gone, outside=kept)
        staying = {key: observed[key] for key in alike}
        return Removal(graph, ctx, plan_removal(graph, ctx, observed, staying, replaced))

    # operations ------------------------------------------------------------------------
    def plan(self, operation: str = "up") -> Plan:
        """What `up` (or `down`) would do, from what exists now. Read-only."""
        self.verify_accounts()
        state = self.load_state()
        ctx, observed = self.observe(state)
        if operation == "down":
            self._refuse_blind_down(observed)
        removal = self.removal(state)
        plan = (
            plan_up(self.graph, ctx, observed)
            if operation == "up"
            else plan_down(self.graph, ctx, observed)
        )
        return with_removal(plan, removal)

    def up(
        self,
        approve: Callable[[Plan], None] | None = None,
        saved: dict[str, Any] | None = None,
        saved_source: str = "the saved plan",
    ) -> RunReport:
        """Converge the accounts to the config.

        `approve` sees the plan before anything is changed (the state file included) and
        raises to stop the run; `saved` is a plan from `plan_document`, applied only if
        the fresh plan is the same (else `PlanOutdated`, nothing changed)."""
        self.verify_accounts()
        with locked(self.state_path):
            state = self.load_state()
            # An explicit `state: subscribed` in the config undoes `unsubscribe`.
            explicit = {
                f"{s.project}/{t}"
                for s in self.config.subscriptions
                if s.state == "subscribed"
                for t in s.tables
            }
            resubscribed = explicit & state.remembered("unsubscribed")
            ctx, observed = self.observe(state, resubscribed)
            removal = self.removal(state)
            plan = plan_up(self.graph, ctx, observed)
            shown = with_removal(plan, removal)
            foreign = [key for key, seen in observed.items() if seen.foreign]
            if foreign:
                # Nothing is changed beside another set-up's domain (ADR 19).
                raise UserError(
                    "refused, nothing was changed: "
                    + "; ".join(f"{key}: {observed[key].detail}" for key in foreign)
                )
            if saved is not None:
                self._check_saved(saved, shown, saved_source)
            if approve is not None:
                approve(shown)
            try:
                state.remember_setup(self.names.setup_id, resubscribed=resubscribed)
                removed = self._remove(removal, state)
                if removed is not None and not removed.ok:
                    # What the config still has waits until what left it is gone; the
                    # recorded config stays the old one, so the next run removes it again.
                    report = _not_run(removed, plan, "removing what left the config failed")
                else:
                    state.remember_config(self.applied_document())
                    report = Executor(self.graph, ctx, state).apply(plan)
                    if removed is not None:
                        report.results[:0] = removed.results
                    self._settle_request_messages(report, ctx)
                    report.awaiting_approval = self._awaiting_approval(ctx)
            finally:
                state.close()
        if report.interrupted:
            raise Interrupted(report.interruption())
        return report

    def _remove(
        self,
        removal: Removal | None,
        state: State,
        *,
        first: bool = True,
        last: bool = True,
        failed: Sequence[str] = (),
        before: RunReport | None = None,
    ) -> RunReport | None:
        """Delete what left the config (reverse dependency order, the roles last); then
        the state forgets it. None when nothing left. `first`, `last` and `failed` as in
        `Executor.destroy`; `before`: the report of this removal's first phase, when this
        call runs its last."""
        if removal is None:
            return None
        report = Executor(removal.graph, removal.ctx, state).destroy(
            removal.plan, first=first, last=last, failed=failed
        )
        if report.ok and last and (before is None or before.ok):
            for step in removal.plan.steps:
                if step.key in state.records:
                    state.forget(step.key)
        return report

    def _settle_request_messages(self, report: RunReport, ctx: Context) -> None:
        """A request that the producer's policy decided later in the same run is reported
        with that decision, not as the PENDING it was when it was made."""
        results = {r.key: r for r in report.results}
        for subscription in self.config.subscriptions:
            for table in subscription.tables:
                alias = f"{subscription.project}:{table}"
                request = results.get(self.keys[f"request:{alias}"])
                decided = self._decided(ctx, alias)
                if request is not None and request.ok and decided and "PENDING" in request.message:
                    request.message = request.message.replace(
                        "PENDING", f"{decided} by the producer's policy"
                    )

    def _decided(self, ctx: Context, alias: str) -> str | None:
        """ACCEPTED or REJECTED if the approval step of `alias` ("<project>:<table>") decided
        the current request in this run."""
        if f"approval:{alias}" not in self.keys:
            return None  # approval: manual
        decision = ctx.outputs(self.keys[f"approval:{alias}"])
        request = ctx.outputs(self.keys[f"request:{alias}"])
        decided = decision.get("decided")
        if decided in ("ACCEPTED", "REJECTED") and decision.get("request_id") == request.get(
            "request_id"
        ):
            return str(decided)
        return None

    def _awaiting_approval(self, ctx: Context) -> list[dict[str, str]]:
        """The configured subscriptions whose request `up` left PENDING."""
        waiting = []
        for subscription in self.config.subscriptions:
            for table in subscription.tables:
                alias = f"{subscription.project}:{table}"
                outputs = ctx.outputs(self.keys[f"request:{alias}"])
                if outputs.get("request_status") == "PENDING" and not self._decided(ctx, alias):
                    waiting.append(
                        {
                            "project": subscription.project,
                            "table": table,
                            "request_id": str(outputs.get("request_id", "")),
                        }
                    )
        return waiting

    def down_plan(self) -> tuple[Plan, State, Context]:
        state = self.load_state()
        ctx, observed = self.observe(state)
        self._refuse_blind_down(observed)
        return plan_down(self.graph, ctx, observed), state, ctx

    def _refuse_blind_down(self, observed: dict[str, Any]) -> None:
        """`down --ignore-state` in a joined domain: refused while anything of the set-up's
        names exists, as nothing there can be attributed (engine/joined.py, ADR 26)."""
        if self.ignore_state and self.config.domain.joined:
            refuse_blind_down(
                self.graph,
                observed,
                self.names,
                self.config.domain.label,
                str(self.state_path),
            )

    def _remember_ownership(
        self, state: State, observed: dict[str, Any]
    ) -> tuple[set[str], set[str]]:
        """Before anything is deleted: this set-up's domain ids and the ids of their
        projects (live, and remembered), written to the state so that what DataZone made
        for them is still recognised after the domain is gone."""
        domain_ids = self._domain_ids(state, observed)
        project_ids = set(state.remembered("project_ids"))
        project_ids |= _project_ids(state)
        auditor = self.auditor(domain_ids)
        auditor.our_domains()
        domain_ids |= auditor.known_domain_ids
        project_ids |= auditor.known_project_ids
        state.remember_setup(self.names.setup_id, domain_ids, project_ids)
        return domain_ids, project_ids

    def down(self, approve: Callable[[Plan], None] | None = None) -> tuple[RunReport, Inventory]:
        """Delete everything this set-up owns, in reverse dependency order; then sweep what
        DataZone left behind and audit. Returns the run and what is still there.

        `approve` sees the plan (what `plan down` shows) before anything is changed, the
        state file included, and raises to stop the run: the plan shown is the one
        executed, observed once under the lock (as `up` does)."""
        self.verify_accounts()
        with locked(self.state_path):
            plan, state, ctx = self.down_plan()
            # What left the config since the last `up` goes first, as `up` would remove it.
            removal = self.removal(state)
            if approve is not None:
                try:
                    approve(with_removal(plan, removal))
                except BaseException:
                    self._done_with(state)
                    raise
            domain_ids, project_ids = self._remember_ownership(state, plan.observed)
            # The roles of what left the config go last too, after this plan's deletions
            # (ADR 40): the removal runs in two phases around the plan.
            removed = self._remove(removal, state, last=False)
            failed = removed.causes() if removed is not None else []
            report = Executor(self.graph, ctx, state).destroy(
                plan, stale=removed is not None, failed=failed
            )
            removed_last = self._remove(
                removal, state, first=False, failed=[*failed, *report.causes()], before=removed
            )
            if removed is not None and removed_last is not None:
                report = RunReport.joined(report.operation, [removed, report, removed_last])
            if report.interrupted:
                self._done_with(state)
                raise Interrupted(report.interruption())
            auditor = self.auditor(domain_ids, project_ids)
            leftovers = auditor.run()
            if leftovers.count():
                self.console.info(f"sweeping {leftovers.count()} leftover(s) DataZone left behind")
                # The roles stay while a deletion of the run failed (ADR 40).
                kept_for = named(report.causes()) or ("" if report.ok else "a step of this run")
                for error in auditor.sweep(leftovers, self.console.info, kept_for):
                    self.console.warn(error)
                leftovers = self.auditor(domain_ids, project_ids).run()
            self._done_with(state)
            finished = report.ok and not leftovers.count() and not self.ignore_state
            if finished:
                self.state_path.unlink(missing_ok=True)
        # The lock went with the `with`; the default directory goes too if now empty.
        if finished and self.state_path.parent.name == DEFAULT_STATE_DIR:
            with contextlib.suppress(OSError):
                self.state_path.parent.rmdir()
        return report, leftovers

    def _domain_ids(self, state: State, observed: dict[str, Any]) -> set[str]:
        key = self.keys["domain"]
        ids = set(state.remembered("domain_ids"))
        if self.config.domain.joined:
            # Not ours: what DataZone made in it is attributed through our projects only.
            return ids
        if key in state.records and state.records[key].identity.get("id"):
            ids.add(str(state.records[key].identity["id"]))
        seen = observed.get(key)
        if seen is not None and seen.identity.get("id"):
            ids.add(str(seen.identity["id"]))
        return ids

    def auditor(
        self, domain_ids: set[str] | None = None, project_ids: set[str] | None = None
    ) -> Auditor:
        return Auditor(
            self.config, self.clients, domain_ids, self.settings, self.names, project_ids
        )

    def audit(self) -> Inventory:
        """What of the set-up (or DataZone leftovers of it) exists now, per account."""
        self.verify_accounts()
        key = self.keys["domain"]
        domain_ids: set[str] = set()
        project_ids: set[str] = set()
        try:
            state = self.load_state()
        except StateUnreadable as exc:
            # The audit must work when the state does not: it finds the set-up by its tags.
            lost = True
            self.console.warn(f"{exc}; auditing from the tags alone")
            self.names.setup_id = None
            self._settle_setup_id(State(self.state_path, self.config.name, {}), False)
        else:
            records = state.records
            joined = self.config.domain.joined
            if key in records and records[key].identity.get("id") and not joined:
                domain_ids.add(str(records[key].identity["id"]))
            domain_ids |= state.remembered("domain_ids")
            project_ids |= state.remembered("project_ids")
            project_ids |= _project_ids(state)
            lost = state.setup_id is None
        if lost and self.config.domain.joined:
            # Nothing in a joined domain carries the set-up id: its state file alone does.
            self.console.warn(
                f"without this set-up's state file ({self.state_path}) nothing of it in the "
                f"joined domain {self.config.domain.label} can be attributed (its DataZone "
                "objects, roles and buckets), so an empty audit proves nothing (ADR 26); "
                "`smus-mesh down --ignore-state` lists what exists under the set-up's names"
            )
        return self.auditor(domain_ids, project_ids).run()

    def outputs(self) -> dict[str, Any]:
        """What a user needs to find the set-up: its id, the domain's id, ARN and portal
        URL, each project's id and account, the roles' and buckets' ARNs, and every
        configured subscription's state (observed live, read-only)."""
        self.verify_accounts()
        state = self.load_state()
        ctx, observed = self.observe(state)

        def seen(alias: str) -> dict[str, Any]:
            found = observed[self.keys[alias]]
            return dict(found.identity) if found.status != Status.ABSENT else {}

        domain = seen("domain")
        resources = [r for r in self.graph.ordered() if observed[r.key].status != Status.ABSENT]
        subscriptions = []
        for subscription in self.config.subscriptions:
            for table in subscription.tables:
                request = seen(f"request:{subscription.project}:{table}")
                wanted = ctx.subscription_wanted(subscription.project, table)
                subscriptions.append(
                    {
                        "project": subscription.project,
                        "table": table,
                        "state": "subscribed" if wanted else "unsubscribed",
                        "request_status": request.get("request_status", "NOT_REQUESTED"),
                        "request_id": request.get("request_id", ""),
                        "subscription_id": request.get("subscription_id", ""),
                    }
                )
        return {
            "setup": self.config.name,
            "setup_id": self.names.setup_id,
            "state_file": str(self.state_path),
            "domain": {
                "name": self.config.domain.name or "",
                "id": domain.get("id", ""),
                "joined": self.config.domain.joined,
                "arn": domain.get("arn", ""),
                "portal_url": domain.get("portal_url", ""),
                "account_id": self.config.account_id(self.config.domain.account),
            },
            "projects": {
                p.name: {
                    "id": seen(f"project:{p.name}").get("id", ""),
                    "account": p.account,
                    "account_id": self.config.account_id(p.account),
                    "joined": p.existing,
                    "profile": self._profile_output(p, seen),
                }
                for p in self.config.projects
            },
            "roles": {
                r.key: observed[r.key].identity.get("arn", "")
                for r in resources
                if r.kind == "iam:role"
            },
            "buckets": {
                r.key: observed[r.key].identity.get("arn", "")
                for r in resources
                if r.kind == "s3:bucket"
            },
            "subscriptions": subscriptions,
        }

    def _profile_output(
        self, project: ProjectConfig, seen: Callable[[str], dict[str, Any]]
    ) -> dict[str, Any] | None:
        """The profile a project is made from: the set-up's own, or an existing one the
        config names (joined: not ours, ADR 26); None for an existing project."""
        if project.existing:
            return None
        if project.profile is not None:
            found = seen(f"existing-profile:{project.profile.ref}")
            return {"id": found.get("id", ""), "name": found.get("name", ""), "joined": True}
        found = seen(f"profile:{project.account}")
        return {"id": found.get("id", ""), "name": found.get("name", ""), "joined": False}

    def status(self) -> list[dict[str, Any]]:
        """Every resource as observed now, with what the state file remembers."""
        self.verify_accounts()
        state = self.load_state()
        _, observed = self.observe(state)
        rows = []
        for resource in self.graph.ordered():
            seen = observed[resource.key]
            record = state.records.get(resource.key)
            rows.append(
                {
                    "key": resource.key,
                    "account": resource.account,
                    "status": seen.status.value,
                    "detail": seen.detail,
                    "owned": record.owned if record and record.owned is not None else seen.owned,
                    "identity": seen.identity,
                }
            )
        return rows


@dataclass(frozen=True)
class Removal:
    """What left the config: its resources (a graph of their own), the context they are
    observed in (the config they came from), and `down`'s plan for them."""

    graph: Graph
    ctx: Context
    plan: Plan


def with_removal(plan: Plan, removal: Removal | None) -> Plan:
    """The plan as shown and saved: what is removed first, then the plan itself; for
    `down`, in the order it runs: the removal's roles after every other step (ADR 40)."""
    if removal is None:
        return plan
    steps = removal.plan.steps + plan.steps
    if plan.operation == "down":
        removed = removal.plan.steps
        early = tuple(s for s in removed if not removal.graph.get(s.key).deleted_last)
        late = tuple(s for s in removed if removal.graph.get(s.key).deleted_last)
        steps = early + plan.steps + late
    return Plan(plan.operation, steps, {**removal.plan.observed, **plan.observed})


def _not_run(removed: RunReport, plan: Plan, why: str) -> RunReport:
    """The report of an `up` stopped after its removals: the plan's steps did not run."""
    results = list(removed.results) + [
        StepResult(step.key, step.action.value, False, 0.0, f"not run: {why}")
        for step in plan.steps
    ]
    return RunReport("up", results, removed.wall_s, removed.calls, interrupted=removed.interrupted)


def _state_files_at(path: Path) -> bool:
    return path.exists() or path.with_name(path.name + ".journal").exists()


def _move_state(old: Path, new: Path) -> None:
    """Move a state file (and its journal) from the old location to the new one."""
    new.parent.mkdir(parents=True, exist_ok=True)
    try:
        for suffix in ("", ".journal"):
            source = old.with_name(old.name + suffix)
            if source.exists():
                shutil.move(source, new.with_name(new.name + suffix))
        old.with_name(old.name + ".lock").unlink(missing_ok=True)
    except OSError as exc:
        raise StateError(
            f"cannot move the state file {old} to {new}: {exc.strerror or exc}; move it "
            "yourself, or choose it with --state"
        ) from None


def _project_ids(state: State) -> set[str]:
    """The ids of the projects the state remembers."""
    return {
        str(record.identity["id"])
        for record in state.records.values()
        if record.kind == "datazone:project"
        and record.identity.get("id")
        # an existing project of a joined domain is someone else's (ADR 26)
        and record.owned is not False
    }
