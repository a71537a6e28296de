"""The Athena API: moto's (workgroups, named queries, catalogs, ...) with real query execution.

StartQueryExecution classifies the statement (`statements.classify`: DML that does not parse
is refused there, as Athena refuses it), starts a scheduler transition through QUEUED and
RUNNING (kind "athena.query") and returns at once. When RUNNING starts, the query goes to a
worker (`engine`), which runs it outside the request lock. What GetQueryExecution shows is
the less advanced of the worker's progress and the transition, so every query shows an
in-progress state on its first read and lasts at least the latency profile's durations.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from moto.athena.models import athena_backends
from moto.athena.responses import AthenaResponse

from smus_mesh_emulator.accounts import caller_arn, principal_of
from smus_mesh_emulator.athena import engine
from smus_mesh_emulator.athena.exceptions import NO_OUTPUT_LOCATION, InvalidRequestException
from smus_mesh_emulator.athena.models import (
    DEFAULT_WORKGROUP,
    MAX_EXECUTIONS_PAGE,
    MAX_RESULTS_PAGE,
    Queries,
    QueryRun,
)
from smus_mesh_emulator.athena.statements import classify
from smus_mesh_emulator.lakeformation.models import existing_backend
from smus_mesh_emulator.paging import page
from smus_mesh_emulator.progress import Stage
from smus_mesh_emulator.runtime import RUNTIME


class AthenaSqlResponse(AthenaResponse):
    """moto's Athena (workgroups, named queries, catalogs, ...) with real query execution."""

    @property
    def _queries(self) -> Queries:
        # Kept on moto's backend so that a reset of the cloud forgets the queries too.
        backend = self.athena_backend
        queries: Queries | None = getattr(backend, "smus_queries", None)
        if queries is None:
            queries = Queries()
            setattr(backend, "smus_queries", queries)  # noqa: B010
        return queries

    def _query_run(self, query_id: str | None) -> QueryRun:
        run = self._queries.runs.get(query_id or "")
        if run is None:
            raise InvalidRequestException(f"QueryExecution {query_id} was not found")
        return run

    def get_work_group(self) -> str:
        name = self._get_param("WorkGroup")
        if self.athena_backend.get_work_group(name) is None:
            raise InvalidRequestException(f"WorkGroup {name} is not found.")
        result: str = super().get_work_group()
        return result

    def _output_location(self, workgroup: str) -> str:
        settings = self.athena_backend.get_work_group(workgroup)
        configuration = (settings or {}).get("Configuration") or {}
        from_workgroup = (configuration.get("ResultConfiguration") or {}).get("OutputLocation")
        from_request = (self._get_param("ResultConfiguration") or {}).get("OutputLocation")
        if configuration.get("EnforceWorkGroupConfiguration") and from_workgroup:
            return str(from_workgroup)
        location = from_request or from_workgroup
        if not location:
            raise InvalidRequestException(NO_OUTPUT_LOCATION)
        return str(location)

    def start_query_execution(self) -> str:
        queries = self._queries
        token = self._get_param("ClientRequestToken")
        if token and token in queries.tokens:
            return json.dumps({"QueryExecutionId": queries.tokens[token]})
        workgroup = self._get_param("WorkGroup") or DEFAULT_WORKGROUP
        if self.athena_backend.get_work_group(workgroup) is None:
            raise InvalidRequestException(f"WorkGroup {workgroup} is not found.")
        query = self._get_param("QueryString") or ""
        statement = classify(query)
        output_location = self._output_location(workgroup)
        query_id = str(uuid.uuid4())
        run = QueryRun(
            id=query_id,
            query=query,
            workgroup=workgroup,
            output_location=f"{output_location.rstrip('/')}/{query_id}{statement.result_suffix}",
            account=self.current_account,
            region=self.region,
            principal=principal_of(caller_arn(self.current_account, self.get_access_key())),
            context=self._get_param("QueryExecutionContext") or None,
            parameters=self._get_param("ExecutionParameters") or None,
            statement=statement,
        )
        queries.runs[query_id] = run
        if token:
            queries.tokens[token] = query_id
        run.gate = RUNTIME.scheduler.start(
            [Stage("QUEUED", "athena.query"), Stage("RUNNING", "athena.query")],
            "DONE",
            _gate(run, _still_registered(run, queries)),
            label=f"athena:{query_id}",
        )
        return json.dumps({"QueryExecutionId": query_id})

    def get_query_execution(self) -> str:
        run = self._query_run(self._get_param("QueryExecutionId"))
        RUNTIME.scheduler.mark_read(run.gate)
        return json.dumps({"QueryExecution": run.to_dict()})

    def batch_get_query_execution(self) -> str:
        found, missing = [], []
        for query_id in self._get_param("QueryExecutionIds") or []:
            run = self._queries.runs.get(query_id)
            if run is None:
                missing.append(
                    {
                        "QueryExecutionId": query_id,
                        "ErrorCode": "INVALID_INPUT",
                        "ErrorMessage": f"QueryExecution {query_id} was not found",
                    }
                )
                continue
            RUNTIME.scheduler.mark_read(run.gate)
            found.append(run.to_dict())
        return json.dumps({"QueryExecutions": found, "UnprocessedQueryExecutionIds": missing})

    def list_query_executions(self) -> str:
        workgroup = self._get_param("WorkGroup") or DEFAULT_WORKGROUP
        runs = [r for r in self._queries.runs.values() if r.workgroup == workgroup]
        runs.sort(key=lambda r: r.submitted, reverse=True)
        size = self._get_param("MaxResults")
        if size is not None and not 0 < int(size) <= MAX_EXECUTIONS_PAGE:
            raise InvalidRequestException("Invalid NextToken or MaxResults")
        ids, token = page(
            [r.id for r in runs],
            token=self._get_param("NextToken"),
            size=int(size) if size is not None else None,
            default_size=MAX_EXECUTIONS_PAGE,
            unique="id",  # the items are ids: each its own unique value
            invalid_token=lambda: InvalidRequestException("Invalid NextToken or MaxResults"),
            request={"WorkGroup": workgroup},
        )
        result: dict[str, Any] = {"QueryExecutionIds": ids}
        if token:
            result["NextToken"] = token
        return json.dumps(result)

    def stop_query_execution(self) -> str:
        engine.stop(self._query_run(self._get_param("QueryExecutionId")))
        return "{}"

    def get_query_results(self) -> str:
        run = self._query_run(self._get_param("QueryExecutionId"))
        state = run.visible_state
        if state in ("QUEUED", "RUNNING"):
            raise InvalidRequestException(f"Query has not yet finished. Current state: {state}")
        if state != "SUCCEEDED":
            reason = f"\n{run.reason}" if run.reason else ""
            raise InvalidRequestException(
                f"Query did not finish successfully. Final query state: {state}{reason}"
            )
        # A SELECT's result repeats its column names as the first row; SHOW and DESCRIBE
        # results do not (they are the lines of the `.txt` result).
        header = [[column["Name"] for column in run.columns]]
        rows = [*header, *run.rows] if run.statement.substatement_type == "SELECT" else run.rows
        page, token = _page(
            rows,
            self._get_param("MaxResults"),
            self._get_param("NextToken"),
            MAX_RESULTS_PAGE,
        )
        result: dict[str, Any] = {
            "ResultSet": {
                "Rows": [{"Data": [_datum(v) for v in values]} for values in page],
                "ResultSetMetadata": {"ColumnInfo": run.columns},
            },
        }
        update_count = _update_count(run)
        if update_count is not None:
            result["UpdateCount"] = update_count
        if token:
            result["NextToken"] = token
        return json.dumps(result)

    def get_query_runtime_statistics(self) -> tuple[str, dict[str, Any]]:
        # Fail closed and fast: 501 is an error botocore does not retry.
        message = "not implemented in emulator: Athena GetQueryRuntimeStatistics"
        return json.dumps({"__type": "NotImplemented", "message": message}), {"status": 501}


def _gate(run: QueryRun, is_current: Callable[[], bool]) -> Callable[[str], None]:
    """The scheduler's status callback. The query waits QUEUED for the stage's duration,
    then goes to a worker when RUNNING starts (so a query stopped while QUEUED never
    runs, as in Athena); DONE: its minimum RUNNING time has passed."""

    def apply(status: str) -> None:
        if status == "DONE":
            run.gate_done_at = datetime.now(UTC)
            return
        run.gate_status = status
        if status == "RUNNING" and run.state == "QUEUED":
            engine.submit(run, is_current)

    return apply


def _still_registered(run: QueryRun, queries: Queries) -> Callable[[], bool]:
    """Whether the run still belongs to the emulated cloud (a reset replaces the backend
    that holds the queries; looking must not create a backend)."""

    def check() -> bool:
        backend = existing_backend(athena_backends, run.account, run.region)
        return getattr(backend, "smus_queries", None) is queries and run.id in queries.runs

    return check


#: Statements whose GetQueryResults carries an UpdateCount of 0.
_COUNTED = ("SELECT", "SHOW_TABLES", "SHOW_DATABASES", "SHOW_COLUMNS")


def _update_count(run: QueryRun) -> int | None:
    """GetQueryResults' UpdateCount: the rows an INSERT wrote, 0 for a SELECT and SHOW
    (as Athena returns them), absent for DDL and DESCRIBE."""
    if run.update_count is not None:
        return run.update_count
    if run.statement.substatement_type in _COUNTED:
        return 0
    return None


def _datum(value: str | None) -> dict[str, str]:
    return {} if value is None else {"VarCharValue": value}


def _page(
    items: list[Any], max_results: Any, next_token: Any, limit: int
) -> tuple[list[Any], str | None]:
    # By position: result rows have nothing unique to point a token at (two rows may be
    # equal), so moto's paginator (smus_mesh_emulator.paging) does not fit here.
    try:
        start = int(next_token or 0)
        size = int(max_results or limit)
    except ValueError as exc:
        raise InvalidRequestException("Invalid NextToken or MaxResults") from exc
    if start < 0 or start > len(items) or not 0 < size <= limit:
        raise InvalidRequestException("Invalid NextToken or MaxResults")
    end = start + size
    return items[start:end], (str(end) if end < len(items) else None)
