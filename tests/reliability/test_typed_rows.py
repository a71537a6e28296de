"""Row values are parsed against their column types, and what the tool writes (CSV and
Parquet, decimal columns included) is what Athena reads back (issue 16, item 2: decimal
columns could not be written at all, and a bad value crashed the Parquet writer after
50 mutating calls)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from smus_mesh.config import TableConfig
from smus_mesh.resources.storage import render_rows
from tests.emulator.lakehouse import PRODUCER, make_producer_table, wait_query
from tests.support import Cloud

COLUMNS = [
    {"name": "id", "type": "int"},
    {"name": "region", "type": "string"},
    {"name": "amount", "type": "decimal(10, 2)"},
]
#: As a user writes them in YAML: a float, a string and an int for the decimal column.
ROWS = [[1, "north", 10.5], [2, "south", "20.25"], ["3", "north", 11]]


def _table(fmt: str) -> TableConfig:
    return TableConfig.model_validate(
        {
            "name": "sales",
            "account": "producer",
            "database": "sales_db",
            "table": "sales",
            "location": "s3://producer-data/sales_db/sales/",
            "format": fmt,
            "columns": COLUMNS,
            "rows": ROWS,
        }
    )


def test_row_values_are_parsed_as_their_column_types() -> None:
    table = _table("csv")
    assert table.columns[2].type == "decimal(10,2)"
    assert table.rows == [
        [1, "north", Decimal("10.50")],
        [2, "south", Decimal("20.25")],
        [3, "north", Decimal("11.00")],
    ]
    assert render_rows(table) == (
        b"id,region,amount\n1,north,10.50\n2,south,20.25\n3,north,11.00\n"
    )


def test_dates_timestamps_and_booleans_are_parsed() -> None:
    table = TableConfig.model_validate(
        {
            "name": "t",
            "account": "producer",
            "database": "d",
            "table": "t",
            "location": "s3://producer-data/t/",
            "format": "parquet",
            "columns": [
                {"name": "day", "type": "date"},
                {"name": "at", "type": "timestamp"},
                {"name": "ok", "type": "boolean"},
                {"name": "n", "type": "bigint"},
            ],
            "rows": [
                ["2024-02-29", "2024-02-29 10:11:12", "true", "-9000000000"],
                [dt.date(2024, 3, 1), dt.datetime(2024, 3, 1, 8, 0), False, None],
            ],
        }
    )
    assert table.rows == [
        [dt.date(2024, 2, 29), dt.datetime(2024, 2, 29, 10, 11, 12), True, -9_000_000_000],
        [dt.date(2024, 3, 1), dt.datetime(2024, 3, 1, 8, 0), False, None],
    ]
    assert render_rows(table)[:4] == b"PAR1"


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_decimal_rows_written_by_the_tool_are_read_by_athena(cloud: Cloud, fmt: str) -> None:
    created = make_producer_table(cloud, fmt=fmt)
    s3 = cloud.client("s3", PRODUCER)
    extension = "csv" if fmt == "csv" else "parquet"
    s3.put_object(
        Bucket=created.bucket,
        Key=f"{created.prefix}/part-0.{extension}",
        Body=render_rows(_table(fmt)),
    )
    s3.create_bucket(Bucket="query-results")
    athena = cloud.client("athena", PRODUCER)
    query_id = athena.start_query_execution(
        QueryString="SELECT region, sum(amount) AS total FROM sales_db.sales "
        "GROUP BY region ORDER BY region",
        ResultConfiguration={"OutputLocation": "s3://query-results/athena/"},
    )["QueryExecutionId"]
    assert wait_query(athena, query_id)["Status"]["State"] == "SUCCEEDED"
    rows = athena.get_query_results(QueryExecutionId=query_id)["ResultSet"]["Rows"]
    assert [[d.get("VarCharValue") for d in row["Data"]] for row in rows] == [
        ["region", "total"],
        ["north", "21.50"],
        ["south", "20.25"],
    ]
