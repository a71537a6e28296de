"""`smus-mesh verify-aws`: check ADR 5's assumptions against a user's sandbox accounts.

A guarded sequence of phases (ADR 24) on a set-up of its own (`probe_setup`):

    preflight  read-only: credentials reach the accounts; refuse (exit 2) when an
               account holds a domain smus-mesh did not create, unless allow_existing
    up         mutating, asked: the verification set-up
    observe    read-only: points 1, 2, 3, 4, 6, 10
    query      read-only: both consumers read the rows (point 7)
    subscriptions  mutating, asked: quota burst (9), cancel one of two subscriptions (8)
    athena     mutating, asked: DDL, INSERT and errors through Athena (11-16)
    cascade    mutating, asked: DeleteDomain with cascadeDelete on a populated domain (5)
    down, audit    always, whatever happened before (a failure, a declined phase, Ctrl-C)

Every mutating phase is put to `ask` first; a declined phase is skipped and its
points are reported as could-not-check. Nothing here prints or exits: the CLI asks,
renders and chooses the exit code.
"""

from __future__ import annotations

import os
import platform
import time
import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from botocore.exceptions import BotoCoreError, ClientError

from smus_mesh import __version__
from smus_mesh.collaboration import CheckResult, Collaboration
from smus_mesh.config import Config, load_config
from smus_mesh.console import Console
from smus_mesh.engine.workspace import DEFAULT_STATE_DIR, Workspace
from smus_mesh.errors import Interrupted, SmusMeshError, UserError, aws_code
from smus_mesh.resources.datazone import paginate
from smus_mesh.resources.naming import SETUP_TAG
from smus_mesh.retry_policy import describe_aws_error
from smus_mesh.verify.athena import AthenaProbe, consumer_insert
from smus_mesh.verify.checks import Checks
from smus_mesh.verify.observe import Reader, error_of
from smus_mesh.verify.probe_setup import CONSUMERS, TABLE, verification_config
from smus_mesh.verify.report import ADR5_POINTS, Check, Phase, VerifyReport, render_text
from smus_mesh.waiting import Stop

__all__ = ["StopRelay", "Verifier", "VerifyReport", "render_text"]

#: Which phase observes each ADR 5 point (17 is never deployed: see `_not_deployed`).
POINTS_OF_PHASE = {
    "observe": (1, 2, 3, 4, 6, 10),
    "query": (7,),
    "subscriptions": (8, 9),
    "athena": (11, 12, 13, 14, 15, 16),
    "cascade": (5,),
}

QUESTIONS = {
    "up": "Create the verification set-up {setup} in accounts {accounts} ({region}): a "
    "SageMaker Unified Studio domain, IAM roles, two S3 buckets per account, a Glue "
    "table, three projects with their environments, two subscriptions (billed: the "
    "environments' resources while they exist, S3 and Athena pennies)? down removes it "
    "at the end, whatever happens.",
    "subscriptions": "Send 10 concurrent AcceptSubscriptionRequest calls for a request "
    "already accepted (no change; some are expected to be throttled), then cancel "
    "{first}'s subscription and check that {second} still reads?",
    "athena": "Run Athena in the domain account as your principal: create a database and "
    "a table of its own, INSERT one row, two failing queries, then drop them; and try an "
    "INSERT as {second}'s project role (expected to be refused)?",
    "cascade": "Delete the verification domain with DeleteDomain(cascadeDelete=true) "
    "while its projects and environments exist, and see what it leaves (down removes "
    "the rest)?",
}


class StopRelay(Stop):
    """The Ctrl-C target the CLI installs: it forwards to the phase running now, so that
    the cleanup after an interrupted phase gets a Stop of its own."""

    def __init__(self) -> None:
        super().__init__()
        self.target = Stop()

    def on_sigint(self, signum: int, frame: Any) -> None:
        self.target.on_sigint(signum, frame)


def foreign_domains(workspace: Workspace) -> list[dict[str, str]]:
    """The live domains of the config's accounts that no smus-mesh set-up created
    (no `smus-mesh:setup` tag; a domain whose tags cannot be read counts as foreign)."""
    found = []
    for alias in workspace.config.used_accounts():
        datazone = workspace.clients.get(alias, "datazone")
        for summary in paginate(datazone, "list_domains", "items"):
            if summary.get("status") in ("DELETING", "DELETED"):
                continue
            try:
                tags = datazone.get_domain(identifier=summary["id"]).get("tags") or {}
            except ClientError as exc:
                if aws_code(exc) == "ResourceNotFoundException":
                    continue
                tags = {}
            if SETUP_TAG not in tags:
                found.append(
                    {
                        "account": alias,
                        "account_id": workspace.config.account_id(alias),
                        "id": str(summary["id"]),
                        "name": str(summary.get("name", "")),
                    }
                )
    return found


class Verifier:
    """One run of verify-aws on the accounts of the config at `config_path`."""

    def __init__(
        self,
        config_path: Path,
        console: Console,
        ask: Callable[[str], bool],
        allow_existing: bool = False,
        relay: StopRelay | None = None,
    ) -> None:
        self.user_config = load_config(config_path)
        self.config: Config = verification_config(self.user_config)
        base = Path(config_path).resolve().parent / DEFAULT_STATE_DIR
        #: The verification set-up as a config file, so that `down` can be run by hand.
        self.config_file = base / f"{self.config.name}.yaml"
        self.state_path = base / f"{self.config.name}.state.json"
        self.console = console
        self.ask = ask
        self.allow_existing = allow_existing
        self.relay = relay or StopRelay()
        self.halted = ""
        self.caller_arn = ""
        self.queries: list[CheckResult] = []

    def _workspace(self) -> Workspace:
        stop = Stop()
        self.relay.target = stop
        return Workspace(self.config, self.state_path, self.console, stop=stop)

    # --------------------------------------------------------------------------------------
    def run(self) -> VerifyReport:
        import boto3
        import botocore

        started = time.monotonic()
        with self._workspace() as workspace:
            report = VerifyReport(
                setup=self.config.name,
                region=self.config.region,
                accounts={a: self.config.account_id(a) for a in self.config.used_accounts()},
                versions={
                    "smus_mesh": __version__,
                    "boto3": boto3.__version__,
                    "botocore": botocore.__version__,
                    "python": platform.python_version(),
                },
                endpoint=os.environ.get("AWS_ENDPOINT_URL") or None,
                started_at=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            )
            # Preflight: read-only; a refusal here has changed nothing (exit 2).
            arns = workspace.verify_accounts()
            self.caller_arn = arns[self.config.domain.account]
            existing = foreign_domains(workspace)
            if existing and not self.allow_existing:
                shown = ", ".join(
                    f"{d['name']} ({d['id']}) in {d['account']} ({d['account_id']})"
                    for d in existing
                )
                raise UserError(
                    f"refused, nothing was changed: the accounts hold {len(existing)} SageMaker "
                    f"Unified Studio domain(s) smus-mesh did not create: {shown}. verify-aws is "
                    "meant for sandbox accounts; it creates and deletes only its own set-up "
                    f"({self.config.name}) and never touches them, but a live check beside "
                    "another team's domain is your call: give --allow-existing to run anyway"
                )
            report.existing_domains = existing
            self._write_config_file()
            try:
                self._phases(workspace, report)
            except KeyboardInterrupt:
                report.interrupted = True
                self.halted = "interrupted (Ctrl-C)"
            finally:
                self._cleanup(report)
                self._fill_unchecked(report)
                report.seconds = time.monotonic() - started
        return report

    def _write_config_file(self) -> None:
        self.config_file.parent.mkdir(parents=True, exist_ok=True)
        header = (
            "# The set-up smus-mesh verify-aws builds and removes (written by it; no "
            "credentials).\n# If a run could not finish its cleanup: smus-mesh -c "
            f"{self.config_file} --state {self.state_path} down --yes\n"
        )
        document = self.config.model_dump(mode="json", exclude_none=True)
        self.config_file.write_text(header + yaml.safe_dump(document, sort_keys=False))
        self.config_file.chmod(0o600)  # like the state file: it names profiles and roles

    # phases ------------------------------------------------------------------------------------
    def _phase(
        self,
        report: VerifyReport,
        name: str,
        work: Callable[[], list[Check] | None],
        mutating: bool = False,
        **question: str,
    ) -> None:
        if self.halted:
            report.phases.append(Phase(name, mutating, "skipped", message=self.halted))
            return
        if mutating and not self.ask(QUESTIONS[name].format(**question)):
            report.phases.append(Phase(name, mutating, "declined", message="declined"))
            if name == "up":
                self.halted = "up was declined: nothing was created"
            return
        self.console.info(f"verify-aws: {name}")
        started = time.monotonic()
        phase = Phase(name, mutating, "ran")
        try:
            self.relay.target.check_not_stopping()  # Ctrl-C while the question was asked
            for check in work() or []:
                check.phase = name
                report.checks.append(check)
        except (Interrupted, KeyboardInterrupt) as exc:
            phase.status, phase.message = "interrupted", str(exc) or "Ctrl-C"
            report.interrupted = True
            self.halted = f"interrupted during {name}"
        except (SmusMeshError, ClientError, BotoCoreError, LookupError) as exc:
            detail = (
                describe_aws_error(exc)
                if isinstance(exc, ClientError | BotoCoreError)
                else str(exc)
            )
            phase.status, phase.message = "failed", detail
            if name == "up":
                self.halted = "up failed"
        except Exception as exc:  # a bug: reported, and the cleanup still runs
            phase.status = "failed"
            phase.message = f"smus-mesh hit a bug: {type(exc).__name__}: {exc}"
            self.console.warn(traceback.format_exc())
            if name == "up":
                self.halted = "up failed"
        phase.seconds = time.monotonic() - started
        report.phases.append(phase)

    def _phases(self, workspace: Workspace, report: VerifyReport) -> None:
        accounts = ", ".join(f"{a} ({i})" for a, i in report.accounts.items())
        first, second = CONSUMERS
        self._phase(
            report,
            "up",
            lambda: self._up(workspace, report),
            mutating=True,
            setup=self.config.name,
            accounts=accounts,
            region=self.config.region,
        )
        reader = Reader(workspace)
        state: dict[str, Any] = {}

        def observe() -> list[Check]:
            state["checks"] = checks = Checks(reader, reader.facts())
            return _each(
                (1, checks.landing),
                (2, checks.fulfilment),
                (3, checks.data_source_binding),
                (4, checks.stack_names),
                (6, checks.admin_project),
                (10, checks.create_database),
            )

        self._phase(report, "observe", observe)
        if "checks" not in state and not self.halted:
            self.halted = "the set-up could not be observed"
        checks: Checks = state.get("checks")  # type: ignore[assignment]
        collaboration = Collaboration(workspace)

        def query() -> list[Check]:
            self.queries = collaboration.run_checks()
            return _each((7, lambda: checks.lake_formation_admins(self.queries)))

        self._phase(report, "query", query)

        def subscriptions() -> list[Check]:
            project = checks.consumer(second)
            request = next(
                (
                    s["request"]
                    for s in reader.subscriptions(checks.facts.domain_id, project.id)
                    if s["status"] == "APPROVED" and s["request"]
                ),
                None,
            )
            found = []
            if request is None:
                found.append(Check(9, "could-not-check", f"{second} has no approved request"))
            else:
                found += _each((9, lambda: checks.quota(request)))
            accesses = {c: collaboration.access(c) for c in CONSUMERS}
            by_project = {c.project: c for c in collaboration.checks()}
            found += _each((8, lambda: checks.shared_grants(collaboration, accesses, by_project)))
            return found

        self._phase(report, "subscriptions", subscriptions, True, first=first, second=second)

        def athena() -> list[Check]:
            access = collaboration.access(second)
            target = access.tables.get(TABLE)
            inserted = (
                consumer_insert(reader, collaboration, access, (access.database, target))
                if target
                else None
            )
            return AthenaProbe(checks).athena_probe(self.caller_arn, inserted)

        self._phase(report, "athena", athena, True, second=second)
        self._phase(report, "cascade", lambda: _each((5, checks.cascade)), True)

    def _up(self, workspace: Workspace, report: VerifyReport) -> list[Check]:
        result = workspace.up()
        report.up_steps = {r.key: round(r.seconds, 2) for r in result.results if r.seconds}
        if not result.ok:
            failures = "; ".join(f"{f.key}: {f.message}" for f in result.failures[:5])
            raise SmusMeshError(f"up did not finish: {failures}")
        return []

    # cleanup -------------------------------------------------------------------------------------
    def _cleanup(self, report: VerifyReport) -> None:
        """down, then audit, each with a Stop of its own: they run after a failure, a
        declined phase or Ctrl-C in any phase."""
        with self._workspace() as workspace:
            down = Phase("down", True, "ran")
            started = time.monotonic()
            try:
                result, leftovers = workspace.down()
                if not result.ok or leftovers.count():
                    down.status = "failed"
                    down.message = "; ".join(
                        [f"{f.key}: {f.message}" for f in result.failures[:5]]
                        + (
                            [f"{leftovers.count()} left after the sweep"]
                            if leftovers.count()
                            else []
                        )
                    )
            except (Interrupted, KeyboardInterrupt) as exc:
                down.status, down.message = "interrupted", str(exc) or "Ctrl-C"
                report.interrupted = True
            except Exception as exc:
                down.status, down.message = "failed", _message(exc)
        down.seconds = time.monotonic() - started
        report.phases.append(down)

        audit = Phase("audit", False, "ran")
        started = time.monotonic()
        try:
            with self._workspace() as workspace:
                inventory = workspace.audit()
            report.leftovers = inventory.count()
            if inventory.count():
                audit.status = "failed"
                audit.message = ", ".join(
                    f"{alias} {cls} {f.id}"
                    for alias, classes in inventory.accounts.items()
                    for cls, findings in classes.items()
                    for f in findings
                )[:2000]
        except (Interrupted, KeyboardInterrupt) as exc:
            audit.status, audit.message = "interrupted", str(exc) or "Ctrl-C"
            report.interrupted = True
        except Exception as exc:
            audit.status, audit.message = "failed", _message(exc)
        audit.seconds = time.monotonic() - started
        report.phases.append(audit)
        if down.status == "ran" and report.leftovers == 0:
            self.config_file.unlink(missing_ok=True)
        else:
            report.cleanup_hint = (
                f"smus-mesh -c {self.config_file} --state {self.state_path} down --yes"
            )

    def _fill_unchecked(self, report: VerifyReport) -> None:
        """A could-not-check for every point no phase decided, saying why."""
        decided = {c.point for c in report.checks}
        phases = {p.name: p for p in report.phases}
        for name, points in POINTS_OF_PHASE.items():
            phase = phases.get(name)
            why = (
                f"the {name} phase {phase.status}" + (f": {phase.message}" if phase.message else "")
                if phase
                else f"the {name} phase did not run"
            )
            for point in points:
                if point not in decided:
                    report.checks.append(Check(point, "could-not-check", why, phase=name))
        if 17 not in decided:
            report.checks.append(_not_deployed())


def _not_deployed() -> Check:
    return Check(
        17,
        "could-not-check",
        "verify-aws's projects deploy the Tooling and Lakehouse Database blueprints only: "
        "a RedshiftServerless environment (namespace and workgroup, billed per RPU-hour) "
        "is not deployed, so its names and messages are not observed",
    )


def _each(*checks: tuple[int, Callable[[], Check]]) -> list[Check]:
    """Run each (point, check); one that AWS refused is could-not-check with the error
    as its evidence, and the others still run."""
    results = []
    for point, check in checks:
        try:
            results.append(check())
        except (ClientError, BotoCoreError) as exc:
            results.append(
                Check(
                    point,
                    "could-not-check",
                    f"AWS refused a call: {describe_aws_error(exc)}",
                    {"error": error_of(exc)},
                )
            )
    return results


def _message(exc: BaseException) -> str:
    if isinstance(exc, ClientError | BotoCoreError):
        return describe_aws_error(exc)
    if isinstance(exc, SmusMeshError):
        return str(exc)
    return f"smus-mesh hit a bug: {type(exc).__name__}: {exc}"


# The points, listed in the order of the ADR, for the docs and tests.
POINTS = tuple(ADR5_POINTS)
