"""Athena queries run on workers outside the emulator's request lock: a long query delays no
other call, and StopQueryExecution interrupts one that is running."""

from __future__ import annotations

import time
from typing import Any

import pytest
from botocore.exceptions import ClientError

from smus_mesh_emulator.athena.engine import WORKERS
from tests.emulator.lakehouse import PRODUCER, wait_query
from tests.support import CONSUMER_ACCOUNT, Cloud

RESULTS = "s3://query-results/athena/"

#: DuckDB computes every one of the n*n rows: about a second of work at n = 12000 on an idle
#: 2-core machine (8000 took 0.44 s there, too short to tell a delay from noise).
LONG_QUERY = "SELECT sum(a.range * b.range % 7) AS total FROM range({n}) a CROSS JOIN range({n}) b"


def _start(athena: Any, sql: str) -> str:
    return str(
        athena.start_query_execution(
            QueryString=sql, ResultConfiguration={"OutputLocation": RESULTS}
        )["QueryExecutionId"]
    )


def _state(athena: Any, query_id: str) -> str:
    return str(
        athena.get_query_execution(QueryExecutionId=query_id)["QueryExecution"]["Status"]["State"]
    )


def test_a_long_query_delays_no_unrelated_call(cloud: Cloud) -> None:
    cloud.client("s3", PRODUCER).create_bucket(Bucket="query-results")
    athena = cloud.client("athena", PRODUCER)
    # Unrelated callers: STS and Glue, in another account.
    sts = cloud.client("sts", CONSUMER_ACCOUNT)
    glue = cloud.client("glue", CONSUMER_ACCOUNT)
    started = time.perf_counter()
    query_id = _start(athena, LONG_QUERY.format(n=12000))
    start_latency = time.perf_counter() - started
    latencies: list[float] = []
    while _state(athena, query_id) not in ("SUCCEEDED", "FAILED", "CANCELLED"):
        for call in (sts.get_caller_identity, glue.get_databases):
            before = time.perf_counter()
            call()
            latencies.append(time.perf_counter() - before)
        time.sleep(0.05)
    execution = athena.get_query_execution(QueryExecutionId=query_id)["QueryExecution"]
    assert execution["Status"]["State"] == "SUCCEEDED", execution["Status"]
    engine_seconds = execution["Statistics"]["EngineExecutionTimeInMillis"] / 1000
    # The query was long enough to matter, and nothing waited for it: not the start, not
    # any unrelated call (a generous margin for a loaded machine).
    assert engine_seconds > 0.5, "the long query ran too fast to measure anything"
    assert len(latencies) >= 4
    assert start_latency < engine_seconds / 3
    assert max(latencies) < engine_seconds / 3, (max(latencies), engine_seconds)


def test_stop_interrupts_running_queries_and_frees_the_workers(cloud: Cloud) -> None:
    s3 = cloud.client("s3", PRODUCER)
    s3.create_bucket(Bucket="query-results")
    athena = cloud.client("athena", PRODUCER)
    # As many endless queries as there are workers: if a stop did not interrupt DuckDB, no
    # worker would be left for the next query.
    endless = [_start(athena, LONG_QUERY.format(n=10_000_000)) for _ in range(WORKERS)]
    deadline = time.monotonic() + 10
    for query_id in endless:
        while _state(athena, query_id) != "RUNNING":
            assert time.monotonic() < deadline, "the query never started running"
    time.sleep(0.3)
    for query_id in endless:
        before = time.perf_counter()
        athena.stop_query_execution(QueryExecutionId=query_id)
        assert time.perf_counter() - before < 2.0
        status = athena.get_query_execution(QueryExecutionId=query_id)["QueryExecution"]["Status"]
        assert status["State"] == "CANCELLED"
        assert status["StateChangeReason"] == "Query cancelled by user"
        assert "CompletionDateTime" in status
        with pytest.raises(ClientError) as excinfo:
            athena.get_query_results(QueryExecutionId=query_id)
        assert excinfo.value.response["Error"]["Message"] == (
            "Query did not finish successfully. Final query state: CANCELLED\n"
            "Query cancelled by user"
        )
    quick = wait_query(athena, _start(athena, "SELECT 42 AS answer"), deadline=20.0)
    assert quick["Status"]["State"] == "SUCCEEDED"
    # A stopped query stays CANCELLED and wrote no result.
    assert [_state(athena, q) for q in endless] == ["CANCELLED"] * WORKERS
    written = [o["Key"] for o in s3.list_objects_v2(Bucket="query-results").get("Contents", [])]
    assert written == [f"athena/{quick['QueryExecutionId']}.csv"]
