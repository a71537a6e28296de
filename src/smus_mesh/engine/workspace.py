"""The library entry point: one set-up (config + state file) and the operations on it.

Every CLI command builds a `Workspace` and calls one method; nothing here
prints, prompts or exits (that is the CLI's job).

    workspace = Workspace.open("two-accounts.yaml", console=NoopConsole())
    plan = workspace.plan()           # observe only
    report = workspace.up()           # converge; resumable, idempotent
"""

from __future__ import annotations

import shutil
import tempfile
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from smus_mesh.accounts import SessionFactory
from smus_mesh.clients import Clients
from smus_mesh.config import Config, load_config
from smus_mesh.console import Console, NoopConsole
from smus_mesh.engine.apply import Executor, RunReport
from smus_mesh.engine.graph import Graph
from smus_mesh.engine.plan import Plan, observe_all, plan_down, plan_up
from smus_mesh.engine.state import State, locked
from smus_mesh.errors import Interrupted, StateUnreadable
from smus_mesh.inventory import Auditor, Inventory
from smus_mesh.resources.context import Context
from smus_mesh.resources.naming import Names
from smus_mesh.resources.setup import SetupBuilder
from smus_mesh.settings import Settings
from smus_mesh.waiting import Stop

DEFAULT_STATE_DIR = ".smus-mesh"


def default_state_path(config: Config) -> Path:
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
        #: Neither read nor write the state file (`down --ignore-state`): what is the
        #: set-up's is found by its tags alone, and the file is left as it was.
        self.ignore_state = ignore_state
        self.console: Console = console or NoopConsole()
        self.settings = settings or config.resolved_settings()
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
        return cls(
            load_config(config_path), state_path, console, ignore_state=ignore_state, stop=stop
        )

    # -------------------------------------------------------------------------------
    def verify_accounts(self) -> dict[str, str]:
        """Reach every account (in parallel); the caller ARN per alias. Fails fast and
        clearly on wrong credentials, before any change."""
        aliases = self.config.used_accounts()
        with ThreadPoolExecutor(max_workers=len(aliases)) as pool:
            arns = list(pool.map(self.sessions.verify, aliases))
        return dict(zip(aliases, arns, strict=True))

    def context(self, state: State) -> Context:
        return Context(
            self.config,
            self.clients,
            self.settings,
            self.names,
            self.console,
            remembered=state.identities(),
            ownership={k: r.owned for k, r in state.records.items()},
        )

    def load_state(self) -> State:
        if self.ignore_state:
            # An empty state in a directory of its own (made by its first write, removed
            # at the end of the run).
            scratch = Path(tempfile.gettempdir()) / f"smus-mesh-ignored-state-{uuid.uuid4().hex}"
            return State(scratch / self.state_path.name, self.config.name, {})
        return State.load(self.state_path, self.config.name)

    def _done_with(self, state: State) -> None:
        """Compact the state (and, for `--ignore-state`, throw the scratch state away)."""
        state.close()
        if self.ignore_state:
            shutil.rmtree(state.path.parent, ignore_errors=True)

    def observe(self, state: State) -> tuple[Context, dict[str, Any]]:
        ctx = self.context(state)
        return ctx, observe_all(self.graph, ctx)

    # operations ------------------------------------------------------------------------
    def plan(self, operation: str = "up") -> Plan:
        """What `up` (or `down`) would do, from what exists now. Read-only."""
        self.verify_accounts()
        state = self.load_state()
        ctx, observed = self.observe(state)
        return (
            plan_up(self.graph, ctx, observed)
            if operation == "up"
            else plan_down(self.graph, ctx, observed)
        )

    def up(self) -> RunReport:
        """Converge the accounts to the config."""
        self.verify_accounts()
        with locked(self.state_path):
            state = self.load_state()
            try:
                ctx, observed = self.observe(state)
                plan = plan_up(self.graph, ctx, observed)
                report = Executor(self.graph, ctx, state).apply(plan)
            finally:
                state.close()
        if report.interrupted:
            raise Interrupted(report.interruption())
        return report

    def down_plan(self) -> tuple[Plan, State, Context]:
        state = self.load_state()
        ctx, observed = self.observe(state)
        return plan_down(self.graph, ctx, observed), state, ctx

    def down(self) -> tuple[RunReport, Inventory]:
        """Delete everything this set-up owns, in reverse dependency order; then sweep what
        DataZone left behind and audit. Returns the run and what is still there."""
        self.verify_accounts()
        with locked(self.state_path):
            plan, state, ctx = self.down_plan()
            domain_ids = self._domain_ids(state, plan.observed)
            report = Executor(self.graph, ctx, state).destroy(plan)
            if report.interrupted:
                self._done_with(state)
                raise Interrupted(report.interruption())
            auditor = self.auditor(domain_ids)
            leftovers = auditor.run()
            if leftovers.count():
                self.console.info(f"sweeping {leftovers.count()} leftover(s) DataZone left behind")
                for error in auditor.sweep(leftovers, self.console.info):
                    self.console.warn(error)
                leftovers = self.auditor(domain_ids).run()
            self._done_with(state)
            if report.ok and not leftovers.count() and not self.ignore_state:
                self.state_path.unlink(missing_ok=True)
            return report, leftovers

    def _domain_ids(self, state: State, observed: dict[str, Any]) -> set[str]:
        key = self.keys["domain"]
        ids = set()
        if key in state.records and state.records[key].identity.get("id"):
            ids.add(str(state.records[key].identity["id"]))
        seen = observed.get(key)
        if seen is not None and seen.identity.get("id"):
            ids.add(str(seen.identity["id"]))
        return ids

    def auditor(self, domain_ids: set[str] | None = None) -> Auditor:
        return Auditor(self.config, self.clients, domain_ids, self.settings)

    def audit(self) -> Inventory:
        """What of the set-up (or DataZone leftovers of it) exists now, per account."""
        self.verify_accounts()
        key = self.keys["domain"]
        ids = set()
        try:
            records = {} if self.ignore_state else self.load_state().records
        except StateUnreadable as exc:
            # The audit must work when the state does not: it finds the set-up by its tags.
            self.console.warn(f"{exc}; auditing from the tags alone")
            records = {}
        if key in records and records[key].identity.get("id"):
            ids.add(str(records[key].identity["id"]))
        return self.auditor(ids).run()

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
