"""The consumer's view and the producer's decisions, after `up`: query, approve, reject,
unsubscribe (workflow.md phases L and M).

Nothing about where the consumer reads the data is hard-coded: the database comes
from the consumer environment's subscription target, the table name from the grant
(`assets[].targetName`), the workgroup from the project's ATHENA connection, and the
credentials from `GetEnvironmentCredentials` for the project's Tooling environment.
Those credentials live only in memory for the duration of the queries: they are
never written to the state file, a log or the output.
"""

from __future__ import annotations

import json
import math
import re
import time
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from smus_mesh.config import CheckConfig
from smus_mesh.engine.plan import observe_safely
from smus_mesh.engine.state import locked
from smus_mesh.engine.workspace import Workspace
from smus_mesh.errors import (
    QueryCheckFailed,
    SmusMeshError,
    StepError,
    TransientError,
    UserError,
)
from smus_mesh.resources.base import Observed, Status
from smus_mesh.resources.context import Context
from smus_mesh.resources.datazone import paginate
from smus_mesh.resources.subscriptions import (
    REQUEST_STATUSES,
    grant_state,
    grants_of,
    requests_of,
    subscriptions_of,
)
from smus_mesh.retry_policy import is_transient
from smus_mesh.waiting import Backoff, DeadlinePassed, poll


@dataclass
class ConsumerAccess:
    """Where and as whom a consumer project reads its subscribed tables."""

    project: str
    account_id: str
    environment_id: str
    role_arn: str
    database: str
    workgroup: str
    tables: dict[str, str] = field(default_factory=dict)  # config table -> name in `database`

    def to_dict(self) -> dict[str, Any]:
        return {
            "project": self.project,
            "account_id": self.account_id,
            "environment_id": self.environment_id,
            "role_arn": self.role_arn,
            "database": self.database,
            "workgroup": self.workgroup,
            "tables": self.tables,
        }


@dataclass
class CheckResult:
    name: str
    project: str
    sql: str
    ok: bool
    columns: list[str] = field(default_factory=list)
    #: Athena's text of each cell; None is SQL NULL (a Datum without VarCharValue).
    rows: list[list[str | None]] = field(default_factory=list)
    message: str = ""
    query_execution_id: str | None = None
    seconds: float = 0.0
    #: Each column's Athena type (ResultSetMetadata.ColumnInfo[].Type).
    types: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Rows typed from the columns' Athena types (`typed_cell`), for JSON."""
        types = self.types or ["varchar"] * len(self.columns)
        return {
            "name": self.name,
            "project": self.project,
            "sql": self.sql,
            "ok": self.ok,
            "columns": [{"name": n, "type": t} for n, t in zip(self.columns, types, strict=True)],
            "rows": [
                [typed_cell(cell, kind) for cell, kind in zip(row, types, strict=True)]
                for row in self.rows
            ],
            "message": self.message,
            "query_execution_id": self.query_execution_id,
            "seconds": round(self.seconds, 3),
        }


class Collaboration:
    """Operations on a set-up that `up` has built."""

    def __init__(self, workspace: Workspace) -> None:
        self.workspace = workspace
        self.config = workspace.config
        self._ctx: Context | None = None
        self._observed: dict[str, Observed] = {}
        #: the steps asked for and their ancestors: what may be observed
        self._wanted: set[str] = set()

    # observing just what is needed ------------------------------------------------------
    def _context(self) -> Context:
        if self._ctx is None:
            self._ctx = self.workspace.context(self.workspace.load_state())
        return self._ctx

    def _require(self, *keys: str) -> Context:
        """Observe these steps (read-only), and, on demand, each dependency whose outputs an
        observation reads: the first read of a dependency's outputs observes it first, as
        `plan` would have before (ancestors whose outputs nothing reads, such as roles and
        blueprint configurations of a `query`, are not observed at all)."""
        ctx = self._context()
        graph = self.workspace.graph
        for key in keys:
            self._wanted |= graph.ancestors(key) | {key}
        observing: set[str] = set()

        def observe(key: str) -> None:
            # A key outside the wanted steps is unknown, as it was when only those were
            # observed; one being observed reads its own (not yet set) outputs.
            if key in self._observed or key in observing or key not in self._wanted:
                return
            observing.add(key)
            try:
                observed = observe_safely(graph.get(key), ctx)
            finally:
                observing.discard(key)
            self._observed[key] = observed
            if observed.status != Status.ABSENT:
                ctx.set_outputs(key, {**observed.identity, **observed.outputs})

        ctx.resolve_with(observe)
        wanted = set(keys)
        for resource in graph.ordered():
            if resource.key in wanted:
                observe(resource.key)
        return ctx

    def _key(self, alias: str) -> str:
        return self.workspace.keys[alias]

    def _complete(self, key: str, what: str) -> None:
        observed = self._observed.get(key)
        if observed is None or observed.status != Status.COMPLETE:
            status = observed.detail if observed else "unknown"
            raise UserError(f"{what} is not ready ({status}); run `smus-mesh up` first")

    # consumer access --------------------------------------------------------------------
    def access(self, project: str) -> ConsumerAccess:
        """Find, in DataZone, where `project` reads each table it subscribes to."""
        subscribed = [
            t for s in self.config.subscriptions if s.project == project for t in s.tables
        ]
        project_key = self._key(f"project:{project}")
        grant_keys = [self._key(f"request:{project}:{t}") for t in subscribed]
        ctx = self._require(project_key, *grant_keys)
        self._complete(project_key, f"project {project}")
        outputs = ctx.outputs(project_key)
        domain_id = ctx.output(self._key("domain"), "id")
        account = self.config.domain.account
        datazone = ctx.client(account, "datazone")
        database = self._target_database(ctx, datazone, domain_id, outputs)
        workgroup = self._workgroup(datazone, domain_id, outputs["id"])
        tables: dict[str, str] = {}
        for table in subscribed:
            request = ctx.outputs(self._key(f"request:{project}:{table}"))
            listing_id = request.get("listing_id")
            if not listing_id:
                continue
            approved = subscriptions_of(
                ctx, account, domain_id, listing_id, outputs["id"], "APPROVED"
            )
            if not approved:
                continue
            state = grant_state(grants_of(ctx, account, domain_id, approved[0]["id"]))
            targets = [t for g in state.outputs.get("grants", []) for t in g["targets"] if t]
            if state.status == Status.COMPLETE and targets:
                tables[table] = targets[0]
        return ConsumerAccess(
            project,
            str(outputs.get("account_id", "")),
            str(outputs["tooling_env"]),
            str(outputs.get("role_arn", "")),
            database,
            workgroup,
            tables,
        )

    @staticmethod
    def _target_database(
        ctx: Context, datazone: Any, domain_id: str, outputs: dict[str, Any]
    ) -> str:
        for env_key in ("lakehouse_env", "tooling_env"):
            env_id = outputs.get(env_key)
            if not env_id:
                continue
            for target in paginate(
                datazone,
                "list_subscription_targets",
                "items",
                domainIdentifier=domain_id,
                environmentIdentifier=env_id,
            ):
                for form in target.get("subscriptionTargetConfig", []):
                    try:
                        content = json.loads(form.get("content") or "{}")
                    except json.JSONDecodeError:
                        continue
                    if content.get("databaseName"):
                        return str(content["databaseName"])
        raise StepError(
            "query", "the consumer project has no Glue subscription target (no database to read)"
        )

    @staticmethod
    def _workgroup(datazone: Any, domain_id: str, project_id: str) -> str:
        for connection in paginate(
            datazone,
            "list_connections",
            "items",
            domainIdentifier=domain_id,
            projectIdentifier=project_id,
            type="ATHENA",
        ):
            detail = datazone.get_connection(
                domainIdentifier=domain_id, identifier=connection["connectionId"]
            )
            workgroup = ((detail.get("props") or {}).get("athenaProperties") or {}).get(
                "workgroupName"
            )
            if workgroup:
                return str(workgroup)
        raise StepError("query", "the consumer project has no Athena connection")

    def _project_client(self, access: ConsumerAccess, service: str) -> Any:
        """A client as the project role, from DataZone (memory only, never persisted)."""
        ctx = self._context()
        domain_id = ctx.output(self._key("domain"), "id")
        credentials = ctx.client(
            self.config.domain.account, "datazone"
        ).get_environment_credentials(
            domainIdentifier=domain_id, environmentIdentifier=access.environment_id
        )
        return ctx.clients.with_credentials(service, credentials)

    # checks ---------------------------------------------------------------------------------
    def checks(self, names: list[str] | None = None) -> list[CheckConfig]:
        """The configured checks named `names` (all of them without names)."""
        checks = [c for c in self.config.checks if not names or (c.name or c.sql) in names]
        if names and not checks:
            known = [c.name or c.sql for c in self.config.checks]
            raise UserError(f"no check named {names}; checks are {known}")
        return checks

    def run_checks(self, names: list[str] | None = None) -> list[CheckResult]:
        """Run the checks in turn; after Ctrl-C, the one in flight finishes and no other
        starts (fewer results than checks)."""
        checks = self.checks(names)
        results = []
        accesses: dict[str, ConsumerAccess] = {}
        stop = self.workspace.stop
        for index, check in enumerate(checks):
            if stop.stopping:  # Ctrl-C: the check in flight finished; start no other
                break
            with stop.in_flight():
                if check.project not in accesses:
                    accesses[check.project] = self.access(check.project)
                results.append(self.run_check(check, accesses[check.project], index))
        return results

    def run_check(self, check: CheckConfig, access: ConsumerAccess, index: int = 0) -> CheckResult:
        name = check.name or f"check {index + 1}"
        started = time.monotonic()
        sql = check.sql
        for table in re.findall(r"\{(\w[\w-]*)\}", check.sql):
            target = access.tables.get(table)
            if target is None:
                return CheckResult(
                    name,
                    check.project,
                    sql,
                    False,
                    message=f"project {check.project} has no granted subscription to {table!r} "
                    "(not subscribed, not approved yet, revoked, or the grant failed)",
                    seconds=time.monotonic() - started,
                )
            sql = sql.replace("{" + table + "}", f'"{access.database}"."{target}"')
        try:
            columns, types, rows, execution_id = self.athena(access, sql)
        except QueryCheckFailed as exc:
            return CheckResult(
                name,
                check.project,
                sql,
                False,
                message=str(exc),
                seconds=time.monotonic() - started,
            )
        result = CheckResult(
            name,
            check.project,
            sql,
            True,
            columns,
            rows,
            "",
            execution_id,
            time.monotonic() - started,
            types,
        )
        problem = compare(check, rows)
        if problem:
            result.ok = False
            result.message = problem
        return result

    def athena(
        self, access: ConsumerAccess, sql: str
    ) -> tuple[list[str], list[str], list[list[str | None]], str]:
        """Run `sql` as the consumer project role in its workgroup; (columns, their Athena
        types, rows of text with None for NULL, query execution id)."""
        athena = self._project_client(access, "athena")
        try:
            execution_id = athena.start_query_execution(
                QueryString=sql,
                WorkGroup=access.workgroup,
                QueryExecutionContext={"Database": access.database, "Catalog": "AwsDataCatalog"},
            )["QueryExecutionId"]
        except ClientError as exc:
            if is_transient(exc):
                raise TransientError(
                    f"Athena kept failing after every retry ({exc}); run the query again"
                ) from None
            raise QueryCheckFailed(f"Athena refused the query: {exc}") from None
        settings = self.workspace.settings

        def status() -> dict[str, Any]:
            found: dict[str, Any] = athena.get_query_execution(QueryExecutionId=execution_id)[
                "QueryExecution"
            ]["Status"]
            return found

        def finished(found: dict[str, Any]) -> bool:
            state = found["State"]
            if state in ("FAILED", "CANCELLED"):
                raise QueryCheckFailed(
                    f"query {state}: {found.get('StateChangeReason', 'no reason given')}"
                )
            return bool(state == "SUCCEEDED")

        try:
            poll(
                status,
                finished,
                backoff=Backoff.of(settings),
                timeout=settings.timeout,
                stop=self.workspace.stop,
            )
        except DeadlinePassed as exc:
            raise QueryCheckFailed(
                f"query still {exc.last['State']} after {settings.timeout:.0f}s"
            ) from None
        columns: list[str] = []
        types: list[str] = []
        rows: list[list[str | None]] = []
        for page_number, page in enumerate(
            athena.get_paginator("get_query_results").paginate(QueryExecutionId=execution_id)
        ):
            result_rows = page["ResultSet"]["Rows"]
            if page_number == 0:
                info = page["ResultSet"]["ResultSetMetadata"]["ColumnInfo"]
                columns = [c["Name"] for c in info]
                types = [str(c.get("Type", "varchar")) for c in info]
                result_rows = result_rows[1:]  # Athena repeats the header as the first row
            rows += [[d.get("VarCharValue") for d in row["Data"]] for row in result_rows]
        return columns, types, rows, execution_id

    # producer decisions -------------------------------------------------------------------
    def pending(self) -> list[dict[str, Any]]:
        """Pending requests for the set-up's subscriptions."""
        found = []
        for subscription in self.config.subscriptions:
            for table in subscription.tables:
                request_key = self._key(f"request:{subscription.project}:{table}")
                ctx = self._require(request_key)
                outputs = ctx.outputs(request_key)
                if not outputs.get("listing_id"):
                    continue
                consumer_id = ctx.output(self._key(f"project:{subscription.project}"), "id")
                domain_id = ctx.output(self._key("domain"), "id")
                for request in requests_of(
                    ctx,
                    self.config.domain.account,
                    domain_id,
                    outputs["listing_id"],
                    consumer_id,
                    "PENDING",
                ):
                    found.append(
                        {
                            "request_id": request["id"],
                            "consumer": subscription.project,
                            "table": table,
                            "reason": request.get("requestReason", ""),
                        }
                    )
        return found

    def decide(
        self, accept: bool, comment: str, project: str | None = None, table: str | None = None
    ) -> list[dict[str, Any]]:
        """Accept (and wait for the grants) or reject the matching pending requests."""
        matching = [
            r
            for r in self.pending()
            if (project is None or r["consumer"] == project)
            and (table is None or r["table"] == table)
        ]
        if not matching:
            raise UserError("no pending subscription request matches")
        ctx = self._context()
        domain_id = ctx.output(self._key("domain"), "id")
        datazone = ctx.client(self.config.domain.account, "datazone")
        for request in matching:
            if accept:
                datazone.accept_subscription_request(
                    domainIdentifier=domain_id,
                    identifier=request["request_id"],
                    decisionComment=comment,
                )
            else:
                datazone.reject_subscription_request(
                    domainIdentifier=domain_id,
                    identifier=request["request_id"],
                    decisionComment=comment,
                )
            request["decision"] = "accepted" if accept else "rejected"
        if accept:
            for request in matching:
                self._wait_granted(ctx, domain_id, request)
        return matching

    def _wait_granted(self, ctx: Context, domain_id: str, request: dict[str, Any]) -> None:
        key = self._key(f"request:{request['consumer']}:{request['table']}")
        resource = self.workspace.graph.get(key)
        account = self.config.domain.account

        def granted() -> Observed:
            subscriptions = list(
                paginate(
                    ctx.client(account, "datazone"),
                    "list_subscriptions",
                    "items",
                    domainIdentifier=domain_id,
                    subscriptionRequestIdentifier=request["request_id"],
                    status="APPROVED",
                )
            )
            if not subscriptions:
                return Observed(Status.IN_PROGRESS, detail="waiting for the subscription")
            return grant_state(grants_of(ctx, account, domain_id, subscriptions[0]["id"]))

        ctx.wait(resource, granted, until=Status.COMPLETE)

    def requests(self) -> list[dict[str, Any]]:
        """Every subscription request of the configured subscriptions, per consumer
        project and table, with what the set-up wants (`state`) and DataZone's status; a
        subscription never requested is listed with status NOT_REQUESTED."""
        rows: list[dict[str, Any]] = []
        for subscription in self.config.subscriptions:
            for table in subscription.tables:
                request_key = self._key(f"request:{subscription.project}:{table}")
                ctx = self._require(request_key)
                wanted = ctx.subscription_wanted(subscription.project, table)
                base = {
                    "project": subscription.project,
                    "table": table,
                    "producer": self.config.producer_of(table).name,
                    "state": "subscribed" if wanted else "unsubscribed",
                }
                outputs = ctx.outputs(request_key)
                found = []
                if outputs.get("listing_id"):
                    found = requests_of(
                        ctx,
                        self.config.domain.account,
                        ctx.output(self._key("domain"), "id"),
                        outputs["listing_id"],
                        ctx.output(self._key(f"project:{subscription.project}"), "id"),
                        *REQUEST_STATUSES,
                    )
                if not found:
                    rows.append({**base, "request_id": "", "status": "NOT_REQUESTED"})
                for request in found:
                    rows.append(
                        {
                            **base,
                            "request_id": request["id"],
                            "status": request["status"],
                            "reason": request.get("requestReason", ""),
                            "decision_comment": request.get("decisionComment", ""),
                            "updated_at": str(request.get("updatedAt", "")),
                        }
                    )
        return rows

    def unsubscribe(self, project: str, table: str) -> int:
        """End the consumer's subscription and record that in the state file, so that `up`
        does not subscribe again (until the config says `state: subscribed`). Cancels the
        approved subscription and deletes a pending request; returns how many subscriptions
        were cancelled (0 when it was already unsubscribed: running it twice is a no-op)."""
        subscription = next(
            (s for s in self.config.subscriptions if s.project == project and table in s.tables),
            None,
        )
        if subscription is None:
            raise UserError(f"the config has no subscription of {project!r} to {table!r}")
        if subscription.state == "subscribed":
            raise UserError(
                f"the config says `state: subscribed` for {project!r} -> {table!r}, so the "
                "next `up` would subscribe again: set `state: unsubscribed` (or remove the "
                "subscription) in the config and run `smus-mesh up` instead"
            )
        workspace = self.workspace
        with locked(workspace.state_path):
            state = workspace.load_state(persist_id=True)
            try:
                state.remember_setup(unsubscribed={f"{project}/{table}"})
                self._ctx = workspace.context(state)
                self._observed = {}
                request_key = self._key(f"request:{project}:{table}")
                ctx = self._require(request_key)
                observed = self._observed[request_key]
                if not observed.drift:
                    return 0  # nothing subscribed or pending: already unsubscribed
                approved = observed.identity.get("approved") or []
                workspace.graph.get(request_key).update(ctx, observed)
                return len(approved)
            except ClientError as exc:
                if is_transient(exc):
                    message = f"unsubscribe: AWS kept failing ({exc}); run it again"
                    raise TransientError(message) from None
                raise SmusMeshError(f"unsubscribe failed: {exc}") from None
            finally:
                state.close()


def _normalise(value: Any) -> str:
    if value is None:
        # Athena returns a NULL cell as a Datum without VarCharValue, read here as "".
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


#: Athena (Trino) types whose text is a JSON number, and those that are JSON booleans.
_INTEGER_TYPES = frozenset({"tinyint", "smallint", "integer", "int", "bigint"})
_FLOAT_TYPES = frozenset({"double", "real", "float"})


def typed_cell(text: str | None, athena_type: str) -> Any:
    """A cell of Athena's text as the JSON value of its column's type: integers and
    floating point as numbers, booleans as booleans, NULL as None; decimals stay
    strings (exact: a float would round them), dates ISO, timestamps ISO with a `T`;
    any other type (varchar, arrays, maps, rows, json) its text.

    Examples:
        >>> typed_cell("120", "bigint"), typed_cell("true", "boolean"), typed_cell(None, "date")
        (120, True, None)
        >>> typed_cell("10.50", "decimal"), typed_cell("2024-01-02 03:04:05.000", "timestamp")
        ('10.50', '2024-01-02T03:04:05.000')
        >>> typed_cell("NaN", "double"), typed_cell("2.5", "double")
        ('NaN', 2.5)
    """
    if text is None:
        return None
    kind = athena_type.split("(", 1)[0].strip().lower()
    try:
        if kind in _INTEGER_TYPES:
            return int(text)
        if kind in _FLOAT_TYPES:
            number = float(text)
            return number if math.isfinite(number) else text  # JSON has no NaN/Infinity
    except ValueError:
        return text
    if kind == "boolean" and text in ("true", "false"):
        return text == "true"
    if kind == "timestamp" and len(text) > 10 and text[10] == " ":
        return f"{text[:10]}T{text[11:]}"
    return text


def _same_value(actual: str | None, expected: Any) -> bool:
    actual = "" if actual is None else actual  # NULL matches what a YAML null normalises to
    if isinstance(expected, (int, float)) and not isinstance(expected, bool):
        try:
            return float(actual) == float(expected)
        except ValueError:
            return False
    return actual == _normalise(expected)


def compare(check: CheckConfig, rows: list[list[str | None]]) -> str:
    """'' when the rows are what the check expects, else what differs."""
    if check.expect_row_count is not None and len(rows) != check.expect_row_count:
        return f"expected {check.expect_row_count} row(s), got {len(rows)}"
    if check.expect_rows is not None:
        expected = check.expect_rows
        if len(rows) != len(expected):
            return f"expected {len(expected)} row(s), got {len(rows)}: {rows}"
        for number, (got, want) in enumerate(zip(rows, expected, strict=True), start=1):
            if len(got) != len(want) or not all(
                _same_value(a, e) for a, e in zip(got, want, strict=True)
            ):
                return f"row {number}: expected {want}, got {got}"
    return ""
