"""The Athena API: moto's (workgroups, named queries, catalogs, ...) with real query execution.

A query passes QUEUED -> RUNNING through the scheduler (kind "athena.query"), so a client
must poll GetQueryExecution; it runs (sql.execute) when RUNNING ends.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from moto.athena.responses import AthenaResponse

from smus_mesh_emulator.accounts import caller_arn, principal_of
from smus_mesh_emulator.athena.exceptions import NO_OUTPUT_LOCATION, InvalidRequestException
from smus_mesh_emulator.athena.models import (
    DEFAULT_WORKGROUP,
    FINAL_STATES,
    MAX_EXECUTIONS_PAGE,
    MAX_RESULTS_PAGE,
    Queries,
    QueryRun,
    statement_type,
)
from smus_mesh_emulator.athena.sql import execute
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
        query_id = str(uuid.uuid4())
        query = self._get_param("QueryString") or ""
        run = QueryRun(
            id=query_id,
            query=query,
            workgroup=workgroup,
            output_location=f"{self._output_location(workgroup).rstrip('/')}/{query_id}.csv",
            account=self.current_account,
            region=self.region,
            principal=principal_of(caller_arn(self.current_account, self.get_access_key())),
            context=self._get_param("QueryExecutionContext") or None,
            parameters=self._get_param("ExecutionParameters") or None,
            statement_type=statement_type(query),
        )
        queries.runs[query_id] = run
        if token:
            queries.tokens[token] = query_id
        run.transition = RUNTIME.scheduler.start(
            [Stage("QUEUED", "athena.query"), Stage("RUNNING", "athena.query")],
            "SUCCEEDED",
            _progress(run),
            label=f"athena:{query_id}",
        )
        return json.dumps({"QueryExecutionId": query_id})

    def get_query_execution(self) -> str:
        run = self._query_run(self._get_param("QueryExecutionId"))
        RUNTIME.scheduler.mark_read(run.transition)
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
            RUNTIME.scheduler.mark_read(run.transition)
            found.append(run.to_dict())
        return json.dumps({"QueryExecutions": found, "UnprocessedQueryExecutionIds": missing})

    def list_query_executions(self) -> str:
        workgroup = self._get_param("WorkGroup") or DEFAULT_WORKGROUP
        runs = [r for r in self._queries.runs.values() if r.workgroup == workgroup]
        runs.sort(key=lambda r: r.submitted, reverse=True)
        page, token = _page(
            [r.id for r in runs],
            self._get_param("MaxResults"),
            self._get_param("NextToken"),
            MAX_EXECUTIONS_PAGE,
        )
        result: dict[str, Any] = {"QueryExecutionIds": page}
        if token:
            result["NextToken"] = token
        return json.dumps(result)

    def stop_query_execution(self) -> str:
        run = self._query_run(self._get_param("QueryExecutionId"))
        if run.state not in FINAL_STATES:
            RUNTIME.scheduler.cancel(run.transition)
            run.state = "CANCELLED"
            run.reason = "Query cancelled by user"
            run.completed = datetime.now(UTC)
        return "{}"

    def get_query_results(self) -> str:
        run = self._query_run(self._get_param("QueryExecutionId"))
        if run.state in ("QUEUED", "RUNNING"):
            raise InvalidRequestException(f"Query has not yet finished. Current state: {run.state}")
        if run.state != "SUCCEEDED":
            reason = f"\n{run.reason}" if run.reason else ""
            raise InvalidRequestException(
                f"Query did not finish successfully. Final query state: {run.state}{reason}"
            )
        header = [column["Name"] for column in run.columns]
        rows = [header, *run.rows]
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
            "UpdateCount": 0,
        }
        if token:
            result["NextToken"] = token
        return json.dumps(result)

    def get_query_runtime_statistics(self) -> tuple[str, dict[str, Any]]:
        # Fail closed and fast: 501 is an error botocore does not retry.
        message = "not implemented in emulator: Athena GetQueryRuntimeStatistics"
        return json.dumps({"__type": "NotImplemented", "message": message}), {"status": 501}


def _progress(run: QueryRun) -> Callable[[str], None]:
    """The scheduler's status callback: QUEUED, RUNNING, then the query really runs."""

    def apply(status: str) -> None:
        if run.state in FINAL_STATES:
            return
        if status == "RUNNING":
            run.started = datetime.now(UTC)
        if status in ("QUEUED", "RUNNING"):
            run.state = status
            return
        execute(run)

    return apply


def _datum(value: str | None) -> dict[str, str]:
    return {} if value is None else {"VarCharValue": value}


def _page(
    items: list[Any], max_results: Any, next_token: Any, limit: int
) -> tuple[list[Any], str | None]:
    try:
        start = int(next_token or 0)
        size = int(max_results or limit)
    except ValueError as exc:
        raise InvalidRequestException("Invalid NextToken or MaxResults") from exc
    if start < 0 or start > len(items) or not 0 < size <= limit:
        raise InvalidRequestException("Invalid NextToken or MaxResults")
    end = start + size
    return items[start:end], (str(end) if end < len(items) else None)
