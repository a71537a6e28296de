"""Query executions: what GetQueryExecution and GetQueryResults report, per account and region."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import duckdb

from smus_mesh_emulator.athena.exceptions import QueryFailure
from smus_mesh_emulator.progress import Transition

CATALOG = "AwsDataCatalog"


DEFAULT_DATABASE = "default"


DEFAULT_WORKGROUP = "primary"


FINAL_STATES = ("SUCCEEDED", "FAILED", "CANCELLED")


#: Athena's page size limits (botocore model: MaxQueryResults 1..1000; list max 50).
MAX_RESULTS_PAGE = 1000


MAX_EXECUTIONS_PAGE = 50


ENGINE_VERSION = {
    "SelectedEngineVersion": "AUTO",
    "EffectiveEngineVersion": "Athena engine version 3",
}


@dataclass
class QueryRun:
    """One query execution and everything GetQueryExecution/GetQueryResults report."""

    id: str
    query: str
    workgroup: str
    output_location: str
    account: str
    region: str
    principal: str
    context: dict[str, Any] | None
    parameters: list[str] | None
    statement_type: str
    state: str = "QUEUED"
    reason: str | None = None
    error: dict[str, Any] | None = None
    submitted: datetime = field(default_factory=lambda: datetime.now(UTC))
    started: datetime | None = None
    completed: datetime | None = None
    scanned_bytes: int = 0
    engine_ms: int = 0
    columns: list[dict[str, Any]] = field(default_factory=list)
    rows: list[list[str | None]] = field(default_factory=list)
    transition: Transition | None = None

    def fail(self, failure: QueryFailure) -> None:
        self.state, self.reason = "FAILED", failure.reason
        self.error = {
            "ErrorCategory": failure.category,
            "ErrorType": failure.error_type,
            "Retryable": False,
            "ErrorMessage": failure.reason,
        }

    def to_dict(self) -> dict[str, Any]:
        status: dict[str, Any] = {
            "State": self.state,
            "SubmissionDateTime": self.submitted.timestamp(),
        }
        if self.reason:
            status["StateChangeReason"] = self.reason
        if self.error:
            status["AthenaError"] = self.error
        if self.completed:
            status["CompletionDateTime"] = self.completed.timestamp()
        execution: dict[str, Any] = {
            "QueryExecutionId": self.id,
            "Query": self.query,
            "StatementType": self.statement_type,
            "ResultConfiguration": {"OutputLocation": self.output_location},
            "ResultReuseConfiguration": {"ResultReuseByAgeConfiguration": {"Enabled": False}},
            "Status": status,
            "Statistics": self._statistics(),
            "WorkGroup": self.workgroup,
            "EngineVersion": ENGINE_VERSION,
        }
        if self.context:
            execution["QueryExecutionContext"] = self.context
        if self.parameters:
            execution["ExecutionParameters"] = self.parameters
        if self.statement_type == "DML":
            execution["SubstatementType"] = "SELECT"
        return execution

    def _statistics(self) -> dict[str, Any]:
        def millis(start: datetime | None, end: datetime | None) -> int:
            if start is None or end is None:
                return 0
            return max(0, round((end - start).total_seconds() * 1000))

        queued = millis(self.submitted, self.started or self.completed)
        return {
            "EngineExecutionTimeInMillis": self.engine_ms,
            "DataScannedInBytes": self.scanned_bytes,
            "TotalExecutionTimeInMillis": millis(self.submitted, self.completed),
            "QueryQueueTimeInMillis": queued,
            "ServicePreProcessingTimeInMillis": 0,
            "QueryPlanningTimeInMillis": 0,
            "ServiceProcessingTimeInMillis": 0,
            "ResultReuseInformation": {"ReusedPreviousResult": False},
        }


def statement_type(query: str) -> str:
    """DDL / DML / UTILITY, as GetQueryExecution reports it."""
    try:
        statements = duckdb.extract_statements(query)
    except duckdb.Error:
        statements = []
    if len(statements) != 1:
        return "DML"
    kind = statements[0].type.name
    if kind in ("CREATE", "DROP", "ALTER"):
        return "DDL"
    if kind in ("SELECT", "INSERT", "UPDATE", "DELETE", "MERGE_INTO", "COPY"):
        return "DML"
    return "UTILITY"


@dataclass
class Queries:
    """Query executions of one account/region (kept on moto's backend, reset with it)."""

    runs: dict[str, QueryRun] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)
