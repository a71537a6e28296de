"""Queries run on a small pool of worker threads, outside the emulator's request lock.

Why: every AWS request is served under one lock (moto's backends are not thread safe), and
a query that ran under it froze every other caller for as long as the query took (a 6 s
query held an unrelated STS call for 5.7 s). StartQueryExecution now only classifies the
statement. When the query's QUEUED stage ends it goes to a worker, which takes the lock
briefly to read what the query needs (`sql.prepare`: catalog entries, Lake Formation's
decision, S3 bytes), runs DuckDB without it (`sql.evaluate`), and takes it again to write
the results back (`sql.commit`). Hive DDL and SHOW/DESCRIBE only touch metadata and run
under the lock in one step. StopQueryExecution interrupts DuckDB (`stop`).

A worker drops what it was doing if the cloud was reset meanwhile (`is_current`): its
results must not land in the fresh cloud.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from threading import Lock

import duckdb
from moto.s3.models import s3_backends

from smus_mesh_emulator.athena import ddl, sql
from smus_mesh_emulator.athena.exceptions import (
    SYSTEM_ERROR,
    TYPE_INTERNAL,
    QueryFailure,
)
from smus_mesh_emulator.athena.models import FINAL_STATES, QueryRun
from smus_mesh_emulator.runtime import RUNTIME

LOG = logging.getLogger(__name__)

#: Queries that run at once; more wait QUEUED (Athena queues too). Small: the machine's
#: cores are shared with the emulator's request threads.
WORKERS = 4


_pool: ThreadPoolExecutor | None = None


_pool_lock = Lock()


#: Queries handed to the pool and not finished (under `_pool_lock`): beyond WORKERS, a query
#: waits QUEUED for a free worker.
_in_flight = 0


def _executor() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="athena-query")
        return _pool


def submit(run: QueryRun, is_current: Callable[[], bool]) -> None:
    """Run the query on a worker (call under the request lock). It is RUNNING from now on
    if a worker is free, else it stays QUEUED until one is. `is_current()` (called under the
    lock) tells whether the query still belongs to the emulated cloud."""
    global _in_flight
    with _pool_lock:
        free = _in_flight < WORKERS
        _in_flight += 1
    if free:
        run.state, run.started = "RUNNING", datetime.now(UTC)
    _executor().submit(_work, run, is_current)


def _done() -> None:
    global _in_flight
    with _pool_lock:
        _in_flight -= 1


def stop(run: QueryRun) -> None:
    """StopQueryExecution (called under the lock): CANCELLED at once; a running DuckDB
    statement is interrupted and nothing it produced is written back."""
    if run.state in FINAL_STATES and run.visible_state in FINAL_STATES:
        return
    run.state = "CANCELLED"
    run.reason, run.error = "Query cancelled by user", None
    run.completed = datetime.now(UTC)
    if run.gate is not None:
        RUNTIME.scheduler.cancel(run.gate)
    if run.connection is not None:
        run.connection.interrupt()


def _finish(run: QueryRun, failure: QueryFailure | None = None) -> None:
    """End the run (under the lock) unless it was stopped meanwhile."""
    run.connection = None
    if run.state == "CANCELLED":
        return
    if failure is not None:
        run.fail(failure)
    else:
        run.state = "SUCCEEDED"
    run.completed = datetime.now(UTC)
    if run.statement.is_hive:
        _write_text_result(run)


def _write_text_result(run: QueryRun) -> None:
    """`<id>.txt` as Athena's Hive engine leaves it: the rows one per line (no header,
    no final newline), nothing for DDL, or the failure reason."""
    bucket, _, key = run.output_location.split("://", 1)[-1].partition("/")
    body = (
        run.reason or ""
        if run.state == "FAILED"
        else "\n".join("\t".join(v or "" for v in row) for row in run.rows)
    )
    s3 = s3_backends[run.account]["aws"]
    if bucket in s3.buckets:
        s3.put_object(bucket, key, body.encode())


def _work(run: QueryRun, is_current: Callable[[], bool]) -> None:
    opened: duckdb.DuckDBPyConnection | None = None
    try:
        with RUNTIME.lock:
            if run.state == "CANCELLED" or not is_current():
                return
            run.state, run.started = "RUNNING", run.started or datetime.now(UTC)
            if run.statement.failure is not None:
                raise run.statement.failure
            if run.statement.is_hive:
                sql.output_bucket(run)
                ddl.run_hive(run)
                _finish(run)
                return
            opened = sql.connection()
            prepared = sql.prepare(run, opened)
            run.connection = opened
        evaluated = sql.evaluate(run, prepared, opened)
        with RUNTIME.lock:
            run.connection = None
            if run.state == "CANCELLED" or not is_current():
                return
            sql.commit(run, prepared, evaluated)
            _finish(run)
    except QueryFailure as failure:
        with RUNTIME.lock:
            _finish(run, failure)
    except duckdb.InterruptException:
        with RUNTIME.lock:
            run.connection = None  # stopped: `stop` has already ended the run
    except Exception as exc:
        LOG.exception("Athena query %s failed inside the emulator", run.id)
        with RUNTIME.lock:
            _finish(
                run,
                QueryFailure(f"Internal error in the emulator: {exc}", TYPE_INTERNAL, SYSTEM_ERROR),
            )
    finally:
        _done()
        if opened is not None:
            opened.close()
