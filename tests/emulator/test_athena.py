"""Athena: real SQL over the emulated S3 data, Lake Formation enforced, Athena's API shapes."""

from __future__ import annotations

import gzip
import json
import time
from typing import Any

import pytest
from botocore.exceptions import ClientError

from smus_mesh_emulator.athena import exceptions as athena_errors
from smus_mesh_emulator.athena.tables import duckdb_type
from smus_mesh_emulator.validation import validate_parsed
from tests.emulator.lakehouse import (
    CONSUMER,
    PRODUCER,
    SALES_COLUMNS,
    ProducerTable,
    analyst_role,
    make_admin,
    make_producer_table,
    make_resource_link,
    principal,
    role_arn,
    role_client,
    storage,
    wait_query,
)
from tests.support import Cloud

RESULTS = "s3://query-results/athena/"
SALES = [
    ["id", "region", "amount"],
    ["1", "north", "10.50"],
    ["2", "south", "20.25"],
    ["3", "north", "11.25"],
]


def _results_bucket(cloud: Cloud, account: str, bucket: str = "query-results") -> None:
    cloud.client("s3", account).create_bucket(Bucket=bucket)


def _start(athena: Any, sql: str, **kwargs: Any) -> str:
    kwargs.setdefault("ResultConfiguration", {"OutputLocation": RESULTS})
    return str(athena.start_query_execution(QueryString=sql, **kwargs)["QueryExecutionId"])


def _run(athena: Any, sql: str, **kwargs: Any) -> dict[str, Any]:
    return wait_query(athena, _start(athena, sql, **kwargs))


def _rows(athena: Any, query_id: str, **kwargs: Any) -> list[list[str | None]]:
    result = athena.get_query_results(QueryExecutionId=query_id, **kwargs)
    return [[d.get("VarCharValue") for d in row["Data"]] for row in result["ResultSet"]["Rows"]]


def _failure(execution: dict[str, Any]) -> tuple[str, str, dict[str, Any]]:
    status = execution["Status"]
    return status["State"], status.get("StateChangeReason", ""), status.get("AthenaError", {})


def _valid(operation: str, response: dict[str, Any]) -> list[str]:
    return validate_parsed("athena", operation, response)


# --- running SQL ------------------------------------------------------------------------


def test_query_passes_through_queued_and_running_and_returns_typed_rows(cloud: Cloud) -> None:
    make_producer_table(cloud)
    _results_bucket(cloud, PRODUCER)
    athena = cloud.client("athena", PRODUCER)
    query_id = _start(athena, "SELECT * FROM sales_db.sales ORDER BY id")
    first = athena.get_query_execution(QueryExecutionId=query_id)
    assert first["QueryExecution"]["Status"]["State"] == "QUEUED"
    # The QUEUED stage has been read, so the next request moves it on: the worker takes
    # the query, which shows RUNNING until the worker is done.
    with pytest.raises(ClientError) as excinfo:
        athena.get_query_results(QueryExecutionId=query_id)
    assert excinfo.value.response["Error"] == {
        "Code": "InvalidRequestException",
        "Message": "Query has not yet finished. Current state: RUNNING",
    }
    execution = wait_query(athena, query_id)
    assert set(execution["ObservedStates"][:-1]) <= {"RUNNING"}
    assert execution["ObservedStates"][-1] == "SUCCEEDED"
    assert _rows(athena, query_id) == SALES
    results = athena.get_query_results(QueryExecutionId=query_id)
    assert [
        (c["Name"], c["Type"], c["Precision"], c["Scale"])
        for c in results["ResultSet"]["ResultSetMetadata"]["ColumnInfo"]
    ] == [
        ("id", "integer", 10, 0),
        ("region", "varchar", 2147483647, 0),
        ("amount", "decimal", 10, 2),
    ]
    assert _valid("GetQueryResults", results) == []
    described = athena.get_query_execution(QueryExecutionId=query_id)
    assert _valid("GetQueryExecution", described) == []
    statistics = described["QueryExecution"]["Statistics"]
    assert statistics["DataScannedInBytes"] == len(
        b"id,region,amount\n1,north,10.50\n2,south,20.25\n3,north,11.25\n"
    )
    assert statistics["EngineExecutionTimeInMillis"] >= 1
    assert described["QueryExecution"]["StatementType"] == "DML"
    assert described["QueryExecution"]["WorkGroup"] == "primary"


#: Under the "none" latency profile, a transition nobody reads completes within this (ADR 3).
UNOBSERVED_BOUND = 0.5


def test_a_query_nobody_reads_runs_and_its_first_late_read_shows_it_succeeded(
    cloud: Cloud, default_grace: float
) -> None:
    make_producer_table(cloud)
    _results_bucket(cloud, PRODUCER)
    athena = cloud.client("athena", PRODUCER)
    unread = _start(athena, "SELECT * FROM sales_db.sales ORDER BY id")
    # The neighbour, started after it and read at once, is still QUEUED.
    watched = _start(athena, "SELECT count(*) FROM sales_db.sales")
    assert (
        athena.get_query_execution(QueryExecutionId=watched)["QueryExecution"]["Status"]["State"]
        == "QUEUED"
    )
    time.sleep(UNOBSERVED_BOUND)
    execution = athena.get_query_execution(QueryExecutionId=unread)["QueryExecution"]
    assert execution["Status"]["State"] == "SUCCEEDED"
    assert execution["Status"]["SubmissionDateTime"] <= execution["Status"]["CompletionDateTime"]
    assert _rows(athena, unread) == SALES


def test_parquet_table_with_aggregation(cloud: Cloud) -> None:
    make_producer_table(cloud, table="sales_parquet", fmt="parquet")
    _results_bucket(cloud, PRODUCER)
    athena = cloud.client("athena", PRODUCER)
    execution = _run(
        athena,
        "SELECT region, count(*) AS n, sum(amount) AS total FROM sales_db.sales_parquet "
        "GROUP BY region ORDER BY region",
    )
    assert execution["Status"]["State"] == "SUCCEEDED"
    assert _rows(athena, execution["QueryExecutionId"]) == [
        ["region", "n", "total"],
        ["north", "2", "21.75"],
        ["south", "1", "20.25"],
    ]


def test_table_names_quoted_qualified_or_from_the_context_database(cloud: Cloud) -> None:
    make_producer_table(cloud)
    _results_bucket(cloud, PRODUCER)
    athena = cloud.client("athena", PRODUCER)
    queries = {
        '"sales_db"."sales"': {},
        "AwsDataCatalog.sales_db.SALES": {},
        "sales": {"QueryExecutionContext": {"Database": "sales_db", "Catalog": "AwsDataCatalog"}},
    }
    for name, extra in queries.items():
        execution = _run(
            athena,
            f"WITH s AS (SELECT * FROM {name}) SELECT count(*) FROM s",  # noqa: S608
            **extra,
        )
        assert execution["Status"]["State"] == "SUCCEEDED", (name, execution["Status"])
        assert _rows(athena, execution["QueryExecutionId"])[1] == ["3"]


def test_missing_table_schema_and_catalog_fail_the_query(cloud: Cloud) -> None:
    make_producer_table(cloud)
    _results_bucket(cloud, PRODUCER)
    athena = cloud.client("athena", PRODUCER)
    expectations = {
        "SELECT * FROM sales_db.nope": (
            "TABLE_NOT_FOUND: line 1:15: Table 'awsdatacatalog.sales_db.nope' does not exist",
            athena_errors.TYPE_TABLE_NOT_FOUND,
        ),
        "SELECT *\nFROM  nope_db.sales": (
            "SCHEMA_NOT_FOUND: line 2:7: Schema 'nope_db' does not exist",
            athena_errors.TYPE_ENTITY_NOT_FOUND,
        ),
        "SELECT * FROM other.sales_db.sales": (
            "CATALOG_NOT_FOUND: line 1:15: Catalog 'other' does not exist",
            athena_errors.TYPE_ENTITY_NOT_FOUND,
        ),
    }
    for sql, (reason, error_type) in expectations.items():
        state, got_reason, error = _failure(_run(athena, sql))
        assert (state, got_reason) == ("FAILED", reason)
        assert error == {
            "ErrorCategory": 2,
            "ErrorType": error_type,
            "Retryable": False,
            "ErrorMessage": reason,
        }


def test_malformed_dml_is_refused_at_start_and_engine_errors_read_like_athena(
    cloud: Cloud,
) -> None:
    _results_bucket(cloud, PRODUCER)
    athena = cloud.client("athena", PRODUCER)
    # Athena refuses DML that Trino cannot parse in StartQueryExecution itself.
    for sql, message in (
        ("SELEKT 1", "line 1:1: mismatched input 'SELEKT'"),
        ("  \n  SELEKT 1", "line 2:3: mismatched input 'SELEKT'"),
        ("-- only a comment", "line 1:18: mismatched input '<EOF>'"),
    ):
        with pytest.raises(ClientError) as excinfo:
            _start(athena, sql)
        assert excinfo.value.response["Error"] == {
            "Code": "InvalidRequestException",
            "Message": message,
        }
        assert excinfo.value.response["AthenaErrorCode"] == "MALFORMED_QUERY"
    assert athena.list_query_executions()["QueryExecutionIds"] == []

    execution = _run(athena, "SELECT no_such_column FROM range(3)")
    state, reason, error = _failure(execution)
    assert (state, reason) == (
        "FAILED",
        "COLUMN_NOT_FOUND: line 1:8: Column 'no_such_column' cannot be resolved or requester "
        "is not authorized to access requested resources",
    )
    assert (error["ErrorCategory"], error["ErrorType"]) == (2, athena_errors.TYPE_USER)
    with pytest.raises(ClientError) as excinfo:
        athena.get_query_results(QueryExecutionId=execution["QueryExecutionId"])
    assert excinfo.value.response["Error"]["Message"] == (
        f"Query did not finish successfully. Final query state: FAILED\n{reason}"
    )
    assert _failure(_run(athena, "SELECT no_such_function(1)"))[1] == (
        "FUNCTION_NOT_FOUND: line 1:8: Function 'no_such_function' not registered"
    )
    assert _failure(_run(athena, "SELECT CAST('abc' AS integer)"))[1] == (
        "INVALID_CAST_ARGUMENT: Could not convert string 'abc' to INT32"
    )

    # What Athena runs and the emulator does not is refused clearly, as a failed query.
    for sql, statement_type, substatement in (
        ("CREATE VIEW v AS SELECT 1", "DDL", "CREATE_VIEW"),
        ("CREATE TABLE t AS SELECT 1", "DDL", "CREATE_TABLE_AS_SELECT"),
        ("ALTER TABLE t ADD COLUMNS (b int)", "DDL", "ALTER_TABLE"),
    ):
        execution = _run(athena, sql)
        state, reason, error = _failure(execution)
        assert state == "FAILED"
        assert reason.startswith("NOT_SUPPORTED: ") and "not supported by the emulator" in reason
        assert error["ErrorType"] == athena_errors.TYPE_QUERY_NOT_SUPPORTED
        assert (execution["StatementType"], execution["SubstatementType"]) == (
            statement_type,
            substatement,
        )
    assert _failure(_run(athena, "SELECT 1; SELECT 2"))[1] == (
        "Only one sql statement is allowed. Got: SELECT 1; SELECT 2"
    )


def test_local_files_are_out_of_reach(cloud: Cloud) -> None:
    _results_bucket(cloud, PRODUCER)
    athena = cloud.client("athena", PRODUCER)
    state, reason, _ = _failure(_run(athena, "SELECT * FROM read_csv('/etc/hostname')"))
    assert state == "FAILED"
    assert "file system operations are disabled" in reason


def test_unknown_query_and_workgroup_and_missing_output_location(cloud: Cloud) -> None:
    athena = cloud.client("athena", PRODUCER)
    for call in (athena.get_query_execution, athena.get_query_results, athena.stop_query_execution):
        with pytest.raises(ClientError) as excinfo:
            call(QueryExecutionId="d7b8c1e2-0000-0000-0000-000000000000")
        assert excinfo.value.response["Error"] == {
            "Code": "InvalidRequestException",
            "Message": "QueryExecution d7b8c1e2-0000-0000-0000-000000000000 was not found",
        }
    with pytest.raises(ClientError) as excinfo:
        _start(athena, "SELECT 1", WorkGroup="nope")
    assert excinfo.value.response["Error"]["Code"] == "InvalidRequestException"
    assert excinfo.value.response["Error"]["Message"] == "WorkGroup nope is not found."
    with pytest.raises(ClientError) as excinfo:
        athena.get_work_group(WorkGroup="nope")
    assert excinfo.value.response["Error"]["Message"] == "WorkGroup nope is not found."
    with pytest.raises(ClientError) as excinfo:
        athena.start_query_execution(QueryString="SELECT 1")
    assert excinfo.value.response["Error"]["Message"] == athena_errors.NO_OUTPUT_LOCATION
    with pytest.raises(ClientError) as excinfo:
        athena.get_query_runtime_statistics(QueryExecutionId="x")
    assert excinfo.value.response["Error"]["Code"] == "NotImplemented"
    assert excinfo.value.response["ResponseMetadata"]["RetryAttempts"] == 0


def test_missing_output_bucket_fails_the_query(cloud: Cloud) -> None:
    athena = cloud.client("athena", PRODUCER)
    assert _failure(_run(athena, "SELECT 1"))[:2] == (
        "FAILED",
        "Unable to verify/create output bucket query-results",
    )


def test_workgroup_output_location_and_csv_written_to_s3(cloud: Cloud) -> None:
    make_producer_table(cloud)
    _results_bucket(cloud, PRODUCER, "wg-results")
    athena = cloud.client("athena", PRODUCER)
    athena.create_work_group(
        Name="analysts",
        Configuration={"ResultConfiguration": {"OutputLocation": "s3://wg-results/out"}},
    )
    query_id = athena.start_query_execution(
        QueryString="SELECT id, region, NULL AS nothing, 'say \"hi\"' AS quote "
        "FROM sales_db.sales WHERE id < 3 ORDER BY id",
        WorkGroup="analysts",
    )["QueryExecutionId"]
    execution = wait_query(athena, query_id)
    location = f"s3://wg-results/out/{query_id}.csv"
    assert execution["ResultConfiguration"]["OutputLocation"] == location
    body = (
        cloud.client("s3", PRODUCER)
        .get_object(Bucket="wg-results", Key=f"out/{query_id}.csv")["Body"]
        .read()
    )
    assert body.decode() == (
        '"id","region","nothing","quote"\n"1","north",,"say ""hi"""\n"2","south",,"say ""hi"""\n'
    )
    assert athena.list_query_executions(WorkGroup="analysts")["QueryExecutionIds"] == [query_id]
    batch = athena.batch_get_query_execution(QueryExecutionIds=[query_id, "missing-id"])
    assert [q["QueryExecutionId"] for q in batch["QueryExecutions"]] == [query_id]
    assert [u["QueryExecutionId"] for u in batch["UnprocessedQueryExecutionIds"]] == ["missing-id"]
    assert _valid("BatchGetQueryExecution", batch) == []


def test_results_page_with_the_header_on_the_first_page_only(cloud: Cloud) -> None:
    _results_bucket(cloud, PRODUCER)
    athena = cloud.client("athena", PRODUCER)
    execution = _run(athena, "SELECT range AS n FROM range(2500) ORDER BY n")
    query_id = execution["QueryExecutionId"]
    pages, token = [], None
    while True:
        kwargs = {"NextToken": token} if token else {}
        result = athena.get_query_results(QueryExecutionId=query_id, MaxResults=1000, **kwargs)
        pages.append(
            [[d.get("VarCharValue") for d in r["Data"]] for r in result["ResultSet"]["Rows"]]
        )
        token = result.get("NextToken")
        if not token:
            break
    assert [len(page) for page in pages] == [1000, 1000, 501]
    rows = [row for page in pages for row in page]
    assert rows[0] == ["n"]
    assert [row[0] for row in rows[1:]] == [str(n) for n in range(2500)]
    with pytest.raises(ClientError) as excinfo:
        athena.get_query_results(QueryExecutionId=query_id, NextToken="not-a-token")
    assert excinfo.value.response["Error"]["Code"] == "InvalidRequestException"


def test_stop_cancels_a_queued_query(cloud: Cloud) -> None:
    _results_bucket(cloud, PRODUCER)
    athena = cloud.client("athena", PRODUCER)
    query_id = _start(athena, "SELECT 1")
    athena.stop_query_execution(QueryExecutionId=query_id)
    execution = wait_query(athena, query_id)
    assert execution["Status"]["State"] == "CANCELLED"
    assert not cloud.client("s3", PRODUCER).list_objects_v2(Bucket="query-results").get("Contents")


def test_execution_parameters_are_sql_literals(cloud: Cloud) -> None:
    make_producer_table(cloud)
    _results_bucket(cloud, PRODUCER)
    athena = cloud.client("athena", PRODUCER)
    execution = _run(
        athena,
        "SELECT id FROM sales_db.sales WHERE region = ? AND amount > ? ORDER BY id",
        ExecutionParameters=["'north'", "11"],
    )
    assert _rows(athena, execution["QueryExecutionId"]) == [["id"], ["3"]]
    assert execution["ExecutionParameters"] == ["'north'", "11"]


def _column_types(athena: Any, query_id: str) -> list[str]:
    metadata = athena.get_query_results(QueryExecutionId=query_id)["ResultSet"]
    return [c["Type"] for c in metadata["ResultSetMetadata"]["ColumnInfo"]]


def test_integer_division_truncates_toward_zero_and_keeps_the_integer_type(cloud: Cloud) -> None:
    _results_bucket(cloud, PRODUCER)
    athena = cloud.client("athena", PRODUCER)
    # Trino divides two integers as integers; a decimal or double operand divides as such.
    execution = _run(
        athena,
        "SELECT 7 / 2, -7 / 2, 7 / -2, CAST(7 AS bigint) / CAST(2 AS tinyint), (7 / 2) / 2, "
        "7.0 / 2, CAST(7 AS DOUBLE) / 2, 1e0 / 0, -1e0 / 0",
    )
    assert execution["Status"]["State"] == "SUCCEEDED", execution["Status"]
    query_id = execution["QueryExecutionId"]
    assert _rows(athena, query_id)[1] == [
        *["3", "-3", "-3", "3", "1"],
        *["3.5", "3.5", "Infinity", "-Infinity"],
    ]
    integer = ["integer", "integer", "integer", "bigint", "integer"]
    assert _column_types(athena, query_id)[:5] == integer


def test_integer_columns_divide_as_integers_and_decimal_columns_do_not(cloud: Cloud) -> None:
    make_producer_table(cloud)
    _results_bucket(cloud, PRODUCER)
    athena = cloud.client("athena", PRODUCER)
    execution = _run(
        athena,
        "WITH s AS (SELECT id, amount FROM sales_db.sales) "
        "SELECT id / 2 AS half, -id / 2 AS negative, amount / id AS per_id, "
        "(SELECT sum(id) FROM sales_db.sales) / id AS share FROM s WHERE id / 2 >= 1 ORDER BY id",
    )
    assert execution["Status"]["State"] == "SUCCEEDED", execution["Status"]
    rows = _rows(athena, execution["QueryExecutionId"])
    assert [row[:2] + row[3:] for row in rows] == [
        ["half", "negative", "share"],
        ["1", "-1", "3"],
        ["1", "-1", "2"],
    ]
    # 20.25 / 2 and 11.25 / 3: the decimal amount is not truncated.
    assert [float(row[2] or "nan") for row in rows[1:]] == [10.125, 3.75]


def test_integer_division_by_zero_fails_the_query(cloud: Cloud) -> None:
    make_producer_table(cloud)
    _results_bucket(cloud, PRODUCER)
    athena = cloud.client("athena", PRODUCER)
    for sql in ("SELECT 1 / 0", "SELECT id / (id - 2) FROM sales_db.sales"):
        state, reason, error = _failure(_run(athena, sql))
        assert (state, reason) == ("FAILED", "DIVISION_BY_ZERO: Division by zero"), sql
        assert (error["ErrorCategory"], error["ErrorType"]) == (2, athena_errors.TYPE_USER)


# --- formats -----------------------------------------------------------------------------


def _table(cloud: Cloud, name: str, descriptor: dict[str, Any], **table_input: Any) -> None:
    glue = cloud.client("glue", PRODUCER)
    if "fmt_db" not in [d["Name"] for d in glue.get_databases()["DatabaseList"]]:
        glue.create_database(DatabaseInput={"Name": "fmt_db"})
    glue.create_table(
        DatabaseName="fmt_db",
        TableInput={"Name": name, "StorageDescriptor": descriptor, **table_input},
    )


def test_csv_variants_headers_delimiters_nulls_and_hidden_files(cloud: Cloud) -> None:
    make_admin(cloud, PRODUCER, role_arn(PRODUCER))
    _results_bucket(cloud, PRODUCER)
    s3 = cloud.client("s3", PRODUCER)
    s3.create_bucket(Bucket="formats")
    s3.put_object(Bucket="formats", Key="pipe/", Body=b"")
    s3.put_object(Bucket="formats", Key="pipe/a.txt", Body=b"1|north|10.5|extra\n2|\\N\n")
    s3.put_object(Bucket="formats", Key="pipe/b.txt.gz", Body=gzip.compress(b"x|west|1\n"))
    s3.put_object(Bucket="formats", Key="pipe/_SUCCESS", Body=b"garbage|garbage")
    s3.put_object(Bucket="formats", Key="pipe/.hidden/c.txt", Body=b"9|hidden|9")
    _table(
        cloud,
        "pipe",
        storage("s3://formats/pipe", athena_sql_serde("lazy"), {"field.delim": "|"}),
    )
    s3.put_object(
        Bucket="formats",
        Key="quoted/data.csv",
        Body=b'"id","region","amount"\n"1","north, east","3.5"\n"2","say ""hi""","4"\n',
    )
    _table(
        cloud,
        "quoted",
        storage("s3://formats/quoted/", athena_sql_serde("opencsv"), {"separatorChar": ","}),
        Parameters={"skip.header.line.count": "1"},
    )
    s3.put_object(
        Bucket="formats",
        Key="json/data.json",
        Body=b'{"ID": 1, "region": "north", "amount": 2.5}\n{"id": 2}\n',
    )
    _table(cloud, "events", storage("s3://formats/json/", athena_sql_serde("json")))
    athena = cloud.client("athena", PRODUCER)
    expected = {
        "pipe": [["1", "north", "10.50"], ["2", None, None], [None, "west", "1.00"]],
        "quoted": [["1", "north, east", "3.50"], ["2", 'say "hi"', "4.00"]],
        "events": [["1", "north", "2.50"], ["2", None, None]],
    }
    for table, rows in expected.items():
        execution = _run(athena, f"SELECT * FROM fmt_db.{table} ORDER BY id NULLS LAST")  # noqa: S608
        assert execution["Status"]["State"] == "SUCCEEDED", execution["Status"]
        assert _rows(athena, execution["QueryExecutionId"])[1:] == rows, table


def athena_sql_serde(kind: str) -> str:
    return {
        "lazy": "org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe",
        "opencsv": "org.apache.hadoop.hive.serde2.OpenCSVSerde",
        "json": "org.openx.data.jsonserde.JsonSerDe",
    }[kind]


def test_partitioned_table_reads_each_partition_with_its_values(cloud: Cloud) -> None:
    make_admin(cloud, PRODUCER, role_arn(PRODUCER))
    _results_bucket(cloud, PRODUCER)
    s3 = cloud.client("s3", PRODUCER)
    s3.create_bucket(Bucket="parts")
    s3.put_object(Bucket="parts", Key="t/dt=2024-01-01/a.csv", Body=b"1,north,1\n")
    s3.put_object(Bucket="parts", Key="t/dt=2024-01-02/a.csv", Body=b"2,south,2\n3,south,3\n")
    s3.put_object(Bucket="parts", Key="t/dt=2024-01-03/a.csv", Body=b"9,unregistered,9\n")
    _table(
        cloud,
        "daily",
        storage("s3://parts/t/", athena_sql_serde("lazy"), {"field.delim": ","}),
        PartitionKeys=[{"Name": "dt", "Type": "date"}],
    )
    glue = cloud.client("glue", PRODUCER)
    for day in ("2024-01-01", "2024-01-02"):
        glue.create_partition(
            DatabaseName="fmt_db",
            TableName="daily",
            PartitionInput={
                "Values": [day],
                "StorageDescriptor": storage(
                    f"s3://parts/t/dt={day}/", athena_sql_serde("lazy"), {"field.delim": ","}
                ),
            },
        )
    athena = cloud.client("athena", PRODUCER)
    execution = _run(athena, "SELECT dt, count(*) FROM fmt_db.daily GROUP BY dt ORDER BY dt")
    assert _rows(athena, execution["QueryExecutionId"]) == [
        ["dt", "_col1"],
        ["2024-01-01", "1"],
        ["2024-01-02", "2"],
    ]


def test_unsupported_serde_fails_with_a_clear_reason(cloud: Cloud) -> None:
    make_admin(cloud, PRODUCER, role_arn(PRODUCER))
    _results_bucket(cloud, PRODUCER)
    cloud.client("s3", PRODUCER).create_bucket(Bucket="orc")
    _table(cloud, "orc_t", storage("s3://orc/t/", "org.apache.hadoop.hive.ql.io.orc.OrcSerde"))
    state, reason, error = _failure(
        _run(cloud.client("athena", PRODUCER), "SELECT * FROM fmt_db.orc_t")
    )
    assert (state, error["ErrorType"]) == ("FAILED", athena_errors.TYPE_DECODER_NOT_SUPPORTED)
    assert reason == (
        "HIVE_UNSUPPORTED_FORMAT: the emulator cannot read table fmt_db.orc_t: SerDe "
        "'org.apache.hadoop.hive.ql.io.orc.OrcSerde' is not supported (it reads "
        "LazySimpleSerDe and OpenCSVSerde CSV, JSON and Parquet)"
    )


# --- Lake Formation -----------------------------------------------------------------------


def _denied(reference: str) -> str:
    return (
        "Insufficient permissions to execute the query. Insufficient Lake Formation "
        f"permission(s) on {reference}"
    )


def _consumer_setup(cloud: Cloud, fmt: str = "csv") -> tuple[ProducerTable, str, str, Any]:
    source = make_producer_table(cloud, fmt=fmt)
    link = make_resource_link(cloud, source)
    make_admin(cloud, CONSUMER, role_arn(CONSUMER))
    project_role = analyst_role(cloud, CONSUMER, "datazone_usr_role_consumer")
    _results_bucket(cloud, CONSUMER, "consumer-results")
    athena = role_client(cloud, "athena", project_role)
    return source, link, project_role, athena


def _consumer_query(athena: Any, link: str) -> dict[str, Any]:
    return _run(
        athena,
        f'SELECT * FROM "consumer_db"."{link}" ORDER BY id',  # noqa: S608
        ResultConfiguration={"OutputLocation": "s3://consumer-results/q/"},
    )


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_consumer_role_reads_the_producer_table_only_while_granted(cloud: Cloud, fmt: str) -> None:
    source, link, project_role, athena = _consumer_setup(cloud, fmt)
    producer = cloud.client("lakeformation", PRODUCER)
    consumer = cloud.client("lakeformation", CONSUMER)

    state, reason, error = _failure(_consumer_query(athena, link))
    assert (state, reason) == ("FAILED", _denied(f"consumer_db.{link}"))
    assert (error["ErrorCategory"], error["ErrorType"]) == (2, athena_errors.TYPE_PERMISSION)

    producer.grant_permissions(
        Principal=principal(CONSUMER),
        Resource=source.resource(),
        Permissions=["SELECT", "DESCRIBE"],
        PermissionsWithGrantOption=["SELECT", "DESCRIBE"],
    )
    # The account holds it, but its project role has not been given it yet.
    assert _failure(_consumer_query(athena, link))[1] == _denied(f"consumer_db.{link}")

    consumer.grant_permissions(
        Principal=principal(project_role),
        Resource=source.resource(),
        Permissions=["SELECT", "DESCRIBE"],
    )
    execution = _consumer_query(athena, link)
    assert execution["Status"]["State"] == "SUCCEEDED", execution["Status"]
    assert _rows(athena, execution["QueryExecutionId"]) == SALES
    output = execution["ResultConfiguration"]["OutputLocation"]
    assert output == f"s3://consumer-results/q/{execution['QueryExecutionId']}.csv"
    stored = cloud.client("s3", CONSUMER).get_object(
        Bucket="consumer-results", Key=f"q/{execution['QueryExecutionId']}.csv"
    )
    assert stored["Body"].read().decode().splitlines()[1] == '"1","north","10.50"'

    producer.revoke_permissions(
        Principal=principal(CONSUMER),
        Resource=source.resource(),
        Permissions=["SELECT", "DESCRIBE"],
        PermissionsWithGrantOption=["SELECT", "DESCRIBE"],
    )
    assert _failure(_consumer_query(athena, link))[:2] == ("FAILED", _denied(f"consumer_db.{link}"))


def test_direct_grant_to_the_consumer_role_needs_no_regrant(cloud: Cloud) -> None:
    source, link, project_role, athena = _consumer_setup(cloud)
    cloud.client("lakeformation", PRODUCER).grant_permissions(
        Principal=principal(project_role), Resource=source.resource(), Permissions=["SELECT"]
    )
    assert _consumer_query(athena, link)["Status"]["State"] == "SUCCEEDED"


def test_database_resource_link_is_followed(cloud: Cloud) -> None:
    source, _, project_role, athena = _consumer_setup(cloud)
    cloud.client("glue", CONSUMER).create_database(
        DatabaseInput={
            "Name": "shared_sales",
            "TargetDatabase": {"CatalogId": PRODUCER, "DatabaseName": "sales_db"},
        }
    )
    cloud.client("lakeformation", PRODUCER).grant_permissions(
        Principal=principal(project_role), Resource=source.resource(), Permissions=["SELECT"]
    )
    execution = _run(
        athena,
        "SELECT count(*) AS n FROM shared_sales.sales",
        ResultConfiguration={"OutputLocation": "s3://consumer-results/q/"},
    )
    assert _rows(athena, execution["QueryExecutionId"]) == [["n"], ["3"]]


def test_same_account_reader_needs_a_grant_on_a_managed_table_only(cloud: Cloud) -> None:
    make_producer_table(cloud)
    make_producer_table(cloud, table="open_sales", lf_managed=False)
    _results_bucket(cloud, PRODUCER)
    analyst = analyst_role(cloud, PRODUCER, "Analyst")
    athena = role_client(cloud, "athena", analyst)
    assert _failure(_run(athena, "SELECT * FROM sales_db.sales"))[1] == _denied("sales_db.sales")
    # IAMAllowedPrincipals still holds the other table: IAM decides, and allows.
    assert _run(athena, "SELECT * FROM sales_db.open_sales")["Status"]["State"] == "SUCCEEDED"
    # Without it, Lake Formation decides, registered location or not.
    cloud.client("lakeformation", PRODUCER).revoke_permissions(
        Principal=principal("IAM_ALLOWED_PRINCIPALS"),
        Resource={"Table": {"DatabaseName": "sales_db", "Name": "open_sales"}},
        Permissions=["ALL"],
    )
    assert _failure(_run(athena, "SELECT * FROM sales_db.open_sales"))[1] == _denied(
        "sales_db.open_sales"
    )
    cloud.client("lakeformation", PRODUCER).grant_permissions(
        Principal=principal(analyst),
        Resource={"Table": {"DatabaseName": "sales_db", "TableWildcard": {}}},
        Permissions=["SELECT"],
    )
    assert _run(athena, "SELECT * FROM sales_db.sales")["Status"]["State"] == "SUCCEEDED"


def test_query_joining_two_tables_needs_both_grants(cloud: Cloud) -> None:
    make_producer_table(cloud)
    make_producer_table(cloud, table="targets")
    _results_bucket(cloud, PRODUCER)
    analyst = analyst_role(cloud, PRODUCER, "Analyst")
    cloud.client("lakeformation", PRODUCER).grant_permissions(
        Principal=principal(analyst),
        Resource={"Table": {"DatabaseName": "sales_db", "Name": "sales"}},
        Permissions=["SELECT"],
    )
    athena = role_client(cloud, "athena", analyst)
    sql = "SELECT s.id FROM sales_db.sales s JOIN sales_db.targets t ON s.id = t.id"
    assert _failure(_run(athena, sql))[1] == _denied("sales_db.targets")


def test_athena_responses_match_the_model(cloud: Cloud) -> None:
    _results_bucket(cloud, PRODUCER)
    athena = cloud.client("athena", PRODUCER)
    query_id = _start(athena, "SELECT 1 AS one", QueryExecutionContext={"Database": "default"})
    wait_query(athena, query_id)
    listed = athena.list_query_executions()
    assert listed["QueryExecutionIds"] == [query_id]
    for operation, response in (
        ("ListQueryExecutions", listed),
        ("GetQueryExecution", athena.get_query_execution(QueryExecutionId=query_id)),
        ("GetQueryResults", athena.get_query_results(QueryExecutionId=query_id)),
    ):
        assert _valid(operation, response) == [], json.dumps(response, default=str)[:500]


def test_columns_of_the_glue_schema_are_cast(cloud: Cloud) -> None:
    assert [duckdb_type(c["Type"]) for c in SALES_COLUMNS] == [
        "INTEGER",
        "VARCHAR",
        "DECIMAL(10,2)",
    ]
    assert duckdb_type("array<int>") is None
    assert duckdb_type("varchar(20)") == "VARCHAR"
