"""Query executions: what GetQueryExecution and GetQueryResults report, per account and region."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from smus_mesh_emulator.athena.exceptions import QueryFailure
from smus_mesh_emulator.athena.statements import Statement
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


#: How far a state is along QUEUED -> RUNNING -> (final).
_PROGRESS = {"QUEUED": 0, "RUNNING": 1}


@dataclass
class QueryRun:
    """One query execution and everything GetQueryExecution/GetQueryResults report.

    Two clocks decide what a client sees. `state` is the engine's: the worker moves it
    QUEUED -> RUNNING -> SUCCEEDED/FAILED/CANCELLED as it really runs. `gate` is the
    scheduler's transition through QUEUED and RUNNING, which gives every query its
    minimum visible duration (the latency profile) and keeps ADR 3's rule that the first
    read after the start shows an in-progress state. A client sees the less advanced of
    the two (`visible_state`); a cancellation shows at once.

    Every field is read and written under the emulator's request lock.
    """

    id: str
    query: str
    workgroup: str
    output_location: str
    account: str
    region: str
    principal: str
    context: dict[str, Any] | None
    parameters: list[str] | None
    statement: Statement
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
    #: rows written by an INSERT (GetQueryResults' UpdateCount); None when not reported
    update_count: int | None = None
    #: s3:// URI of the list of files an INSERT wrote
    manifest_location: str | None = None
    gate: Transition | None = None
    gate_status: str = "QUEUED"
    gate_done_at: datetime | None = None
    #: the DuckDB connection while the worker runs SQL (StopQueryExecution interrupts it)
    connection: Any = None

    @property
    def visible_state(self) -> str:
        """What GetQueryExecution shows now."""
        if self.state == "CANCELLED" or self.gate_done_at is not None:
            return self.state
        if self.state in FINAL_STATES:
            return self.gate_status
        return min(self.state, self.gate_status, key=lambda s: _PROGRESS.get(s, 2))

    @property
    def visible_completion(self) -> datetime | None:
        if self.visible_state not in FINAL_STATES or self.completed is None:
            return None
        if self.state == "CANCELLED" or self.gate_done_at is None:
            return self.completed
        return max(self.completed, self.gate_done_at)

    def fail(self, failure: QueryFailure) -> None:
        self.state, self.reason = "FAILED", failure.reason
        self.error = {
            "ErrorCategory": failure.category,
            "ErrorType": failure.error_type,
            "Retryable": False,
            "ErrorMessage": failure.message,
        }

    def to_dict(self) -> dict[str, Any]:
        visible = self.visible_state
        status: dict[str, Any] = {
            "State": visible,
            "SubmissionDateTime": self.submitted.timestamp(),
        }
        if visible in FINAL_STATES:
            if self.reason:
                status["StateChangeReason"] = self.reason
            if self.error:
                status["AthenaError"] = self.error
            completion = self.visible_completion
            if completion is not None:
                status["CompletionDateTime"] = completion.timestamp()
        execution: dict[str, Any] = {
            "QueryExecutionId": self.id,
            "Query": self.query,
            "StatementType": self.statement.statement_type,
            "SubstatementType": self.statement.substatement_type,
            "ResultConfiguration": {"OutputLocation": self.output_location},
            "ResultReuseConfiguration": {"ResultReuseByAgeConfiguration": {"Enabled": False}},
            "Status": status,
            "Statistics": self._statistics(visible),
            "WorkGroup": self.workgroup,
            "EngineVersion": ENGINE_VERSION,
        }
        if self.context:
            execution["QueryExecutionContext"] = self.context
        if self.parameters:
            execution["ExecutionParameters"] = self.parameters
        return execution

    def _statistics(self, visible: str) -> dict[str, Any]:
        def millis(start: datetime | None, end: datetime | None) -> int:
            if start is None or end is None:
                return 0
            return max(0, round((end - start).total_seconds() * 1000))

        final = visible in FINAL_STATES
        completion = self.visible_completion
        statistics: dict[str, Any] = {
            "EngineExecutionTimeInMillis": self.engine_ms if final else 0,
            "DataScannedInBytes": self.scanned_bytes if final else 0,
            "TotalExecutionTimeInMillis": millis(self.submitted, completion),
            "QueryQueueTimeInMillis": millis(self.submitted, self.started or completion),
            "ServicePreProcessingTimeInMillis": 0,
            "QueryPlanningTimeInMillis": 0,
            "ServiceProcessingTimeInMillis": 0,
            "ResultReuseInformation": {"ReusedPreviousResult": False},
        }
        if final and self.manifest_location:
            statistics["DataManifestLocation"] = self.manifest_location
        return statistics


@dataclass
class Queries:
    """Query executions of one account/region (kept on moto's backend, reset with it)."""

    runs: dict[str, QueryRun] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)
