"""Athena's Hive DDL and INSERT INTO for Glue tables, as AWS documents them, with plain boto3:
databases and external tables land in the caller's Glue catalog in Athena's shape, INSERT
writes new objects that later SELECTs read, and Lake Formation's rules hold throughout."""

from __future__ import annotations

import gzip
import io
import time
from typing import Any

import pyarrow.parquet as pq
import pytest
from botocore.exceptions import ClientError

from smus_mesh_emulator.athena import exceptions as athena_errors
from smus_mesh_emulator.validation import validate_parsed
from tests.emulator.lakehouse import (
    PRODUCER,
    analyst_role,
    make_admin,
    make_role,
    principal,
    role_arn,
    role_client,
    wait_query,
)
from tests.support import Cloud

RESULTS = "s3://query-results/athena/"
DATA = "sample-data"


def _buckets(cloud: Cloud) -> Any:
    s3 = cloud.client("s3", PRODUCER)
    for bucket in ("query-results", DATA):
        s3.create_bucket(Bucket=bucket)
    return s3


def _start(athena: Any, sql: str) -> str:
    return str(
        athena.start_query_execution(
            QueryString=sql, ResultConfiguration={"OutputLocation": RESULTS}
        )["QueryExecutionId"]
    )


def _run(athena: Any, sql: str) -> dict[str, Any]:
    return wait_query(athena, _start(athena, sql))


def _ok(athena: Any, sql: str) -> dict[str, Any]:
    execution = _run(athena, sql)
    status = execution["Status"]
    assert status["State"] == "SUCCEEDED", (sql, status.get("StateChangeReason"))
    return execution


def _failed(athena: Any, sql: str) -> tuple[str, dict[str, Any]]:
    status = _run(athena, sql)["Status"]
    assert status["State"] == "FAILED", sql
    return status["StateChangeReason"], status["AthenaError"]


def _rows(athena: Any, query_id: str) -> list[list[str | None]]:
    result = athena.get_query_results(QueryExecutionId=query_id)
    return [[d.get("VarCharValue") for d in row["Data"]] for row in result["ResultSet"]["Rows"]]


def _select(athena: Any, sql: str) -> list[list[str | None]]:
    return _rows(athena, _ok(athena, sql)["QueryExecutionId"])[1:]


def _objects(s3: Any, bucket: str, prefix: str) -> list[str]:
    listed = s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])
    return sorted(o["Key"] for o in listed)


INVENTORY_DDL = (
    "CREATE EXTERNAL TABLE IF NOT EXISTS retail.inventory (\n"
    "  sku string COMMENT 'stock keeping unit',\n"
    "  warehouse string,\n"
    "  quantity int,\n"
    "  price decimal(10,2))\n"
    "ROW FORMAT DELIMITED FIELDS TERMINATED BY ','\n"
    f"LOCATION 's3://{DATA}/retail/inventory/'\n"
    "TBLPROPERTIES ('skip.header.line.count'='1')"
)


def test_database_and_delimited_table_made_read_written_listed_and_dropped(cloud: Cloud) -> None:
    s3 = _buckets(cloud)
    athena = cloud.client("athena", PRODUCER)
    glue = cloud.client("glue", PRODUCER)

    query_id = _start(
        athena,
        f"CREATE DATABASE IF NOT EXISTS retail COMMENT 'Shop data' LOCATION 's3://{DATA}/retail/'",
    )
    # The first read right after the start shows the query in progress.
    first = athena.get_query_execution(QueryExecutionId=query_id)["QueryExecution"]
    assert first["Status"]["State"] in ("QUEUED", "RUNNING")
    execution = wait_query(athena, query_id)
    assert execution["Status"]["State"] == "SUCCEEDED"
    assert (execution["StatementType"], execution["SubstatementType"]) == (
        "DDL",
        "CREATE_DATABASE",
    )
    assert execution["ResultConfiguration"]["OutputLocation"] == f"{RESULTS}{query_id}.txt"
    results = athena.get_query_results(QueryExecutionId=query_id)
    assert results["ResultSet"] == {"Rows": [], "ResultSetMetadata": {"ColumnInfo": []}}
    assert "UpdateCount" not in results
    assert validate_parsed("athena", "GetQueryResults", results) == []
    assert s3.get_object(Bucket="query-results", Key=f"athena/{query_id}.txt")["Body"].read() == b""
    database = glue.get_database(Name="retail")["Database"]
    assert (database["Description"], database["LocationUri"]) == (
        "Shop data",
        f"s3://{DATA}/retail/",
    )
    # Running it again changes nothing (IF NOT EXISTS).
    _ok(athena, "CREATE DATABASE IF NOT EXISTS retail")

    created = _ok(athena, INVENTORY_DDL)
    assert created["SubstatementType"] == "CREATE_TABLE"
    table = glue.get_table(DatabaseName="retail", Name="inventory")["Table"]
    assert table["TableType"] == "EXTERNAL_TABLE"
    assert table["Parameters"]["EXTERNAL"] == "TRUE"
    assert table["Parameters"]["skip.header.line.count"] == "1"
    descriptor = table["StorageDescriptor"]
    assert descriptor["Columns"] == [
        {"Name": "sku", "Type": "string", "Comment": "stock keeping unit"},
        {"Name": "warehouse", "Type": "string"},
        {"Name": "quantity", "Type": "int"},
        {"Name": "price", "Type": "decimal(10,2)"},
    ]
    assert descriptor["Location"] == f"s3://{DATA}/retail/inventory/"
    assert descriptor["InputFormat"] == "org.apache.hadoop.mapred.TextInputFormat"
    assert descriptor["OutputFormat"] == (
        "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat"
    )
    assert descriptor["SerdeInfo"] == {
        "SerializationLibrary": "org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe",
        "Parameters": {"field.delim": ",", "serialization.format": ","},
    }

    s3.put_object(
        Bucket=DATA,
        Key="retail/inventory/seed.csv",
        Body=b"sku,warehouse,quantity,price\nA-1,lisbon,140,9.99\n",
    )
    inserted = _ok(
        athena,
        "INSERT INTO retail.inventory VALUES ('B-2', 'porto', 4295, 1.5), "
        "('C-3', 'faro', 120, NULL)",
    )
    assert (inserted["StatementType"], inserted["SubstatementType"]) == ("DML", "INSERT")
    insert_id = inserted["QueryExecutionId"]
    assert inserted["ResultConfiguration"]["OutputLocation"] == f"{RESULTS}{insert_id}"
    results = athena.get_query_results(QueryExecutionId=insert_id)
    assert results["UpdateCount"] == 2
    assert results["ResultSet"]["Rows"] == []
    written = [k for k in _objects(s3, DATA, "retail/inventory/") if k.endswith(".gz")]
    assert len(written) == 1
    text = gzip.decompress(s3.get_object(Bucket=DATA, Key=written[0])["Body"].read()).decode()
    # The table skips one header line, so its writer writes one.
    assert text == "sku,warehouse,quantity,price\nB-2,porto,4295,1.50\nC-3,faro,120,\\N\n"
    manifest = inserted["Statistics"]["DataManifestLocation"]
    assert manifest == f"{RESULTS}{insert_id}-manifest.csv"
    body = s3.get_object(Bucket="query-results", Key=f"athena/{insert_id}-manifest.csv")["Body"]
    assert body.read().decode() == f"s3://{DATA}/{written[0]}\n"

    assert _select(athena, "SELECT sku, quantity, price FROM retail.inventory ORDER BY sku") == [
        ["A-1", "140", "9.99"],
        ["B-2", "4295", "1.50"],
        ["C-3", "120", None],
    ]
    doubled = _ok(
        athena,
        "INSERT INTO retail.inventory (sku, quantity) "
        "SELECT sku || '-copy', quantity * 2 FROM retail.inventory WHERE quantity < 200",
    )
    assert (
        athena.get_query_results(QueryExecutionId=doubled["QueryExecutionId"])["UpdateCount"] == 2
    )
    assert _select(
        athena,
        "SELECT sku, warehouse, quantity FROM retail.inventory WHERE sku LIKE '%copy' ORDER BY sku",
    ) == [["A-1-copy", None, "280"], ["C-3-copy", None, "240"]]

    listed = _ok(athena, "SHOW TABLES IN retail")
    assert (listed["StatementType"], listed["SubstatementType"]) == ("UTILITY", "SHOW_TABLES")
    shown = athena.get_query_results(QueryExecutionId=listed["QueryExecutionId"])
    assert _rows(athena, listed["QueryExecutionId"]) == [["inventory"]]
    assert shown["ResultSet"]["ResultSetMetadata"]["ColumnInfo"][0]["Name"] == "tab_name"
    assert shown["UpdateCount"] == 0
    assert validate_parsed("athena", "GetQueryResults", shown) == []
    databases = _ok(athena, "SHOW DATABASES LIKE 'ret*'")
    assert _rows(athena, databases["QueryExecutionId"]) == [["retail"]]
    columns = _ok(athena, "SHOW COLUMNS IN retail.inventory")
    assert _rows(athena, columns["QueryExecutionId"]) == [
        ["sku                 "],
        ["warehouse           "],
        ["quantity            "],
        ["price               "],
    ]
    described = _ok(athena, "DESCRIBE retail.inventory")
    assert described["SubstatementType"] == "DESCRIBE_TABLE"
    assert _rows(athena, described["QueryExecutionId"])[0] == [
        "sku                 \tstring              \tstock keeping unit"
    ]
    assert _rows(athena, described["QueryExecutionId"])[2] == [
        "quantity            \tint                 \t                    "
    ]
    txt = s3.get_object(Bucket="query-results", Key=f"athena/{listed['QueryExecutionId']}.txt")
    assert txt["Body"].read() == b"inventory"

    dropped = _ok(athena, "DROP TABLE retail.inventory")
    assert dropped["SubstatementType"] == "DROP_TABLE"
    with pytest.raises(ClientError) as excinfo:
        glue.get_table(DatabaseName="retail", Name="inventory")
    assert excinfo.value.response["Error"]["Code"] == "EntityNotFoundException"
    # An external table's data stays where it is.
    assert "retail/inventory/seed.csv" in _objects(s3, DATA, "retail/inventory/")
    _ok(athena, "DROP DATABASE retail")
    assert "retail" not in [d["Name"] for d in glue.get_databases()["DatabaseList"]]
    for response in (
        athena.get_query_execution(QueryExecutionId=insert_id),
        athena.get_query_execution(QueryExecutionId=query_id),
    ):
        assert validate_parsed("athena", "GetQueryExecution", response) == []


def test_open_csv_and_parquet_tables_take_inserts_in_their_own_format(cloud: Cloud) -> None:
    s3 = _buckets(cloud)
    athena = cloud.client("athena", PRODUCER)
    glue = cloud.client("glue", PRODUCER)
    _ok(athena, "CREATE DATABASE sales")
    _ok(
        athena,
        "CREATE EXTERNAL TABLE sales.quoted (id int, note string)\n"
        "ROW FORMAT SERDE 'org.apache.hadoop.hive.serde2.OpenCSVSerde'\n"
        "WITH SERDEPROPERTIES ('separatorChar' = ',', 'quoteChar' = '\"')\n"
        f"LOCATION 's3://{DATA}/quoted/'",
    )
    serde = glue.get_table(DatabaseName="sales", Name="quoted")["Table"]["StorageDescriptor"]
    assert serde["SerdeInfo"] == {
        "SerializationLibrary": "org.apache.hadoop.hive.serde2.OpenCSVSerde",
        "Parameters": {"separatorChar": ",", "quoteChar": '"'},
    }
    _ok(athena, "INSERT INTO sales.quoted VALUES (1, 'hello, world'), (2, 'say \"hi\"')")
    (key,) = _objects(s3, DATA, "quoted/")
    text = gzip.decompress(s3.get_object(Bucket=DATA, Key=key)["Body"].read()).decode()
    assert text == '"1","hello, world"\n"2","say ""hi"""\n'
    assert _select(athena, "SELECT id, note FROM sales.quoted ORDER BY id") == [
        ["1", "hello, world"],
        ["2", 'say "hi"'],
    ]

    _ok(
        athena,
        "CREATE EXTERNAL TABLE sales.facts (id bigint, amount decimal(10,2), day date)\n"
        f"STORED AS PARQUET LOCATION 's3://{DATA}/facts/'",
    )
    descriptor = glue.get_table(DatabaseName="sales", Name="facts")["Table"]["StorageDescriptor"]
    assert descriptor["SerdeInfo"]["SerializationLibrary"] == (
        "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
    )
    assert descriptor["InputFormat"] == (
        "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat"
    )
    _ok(athena, "INSERT INTO sales.facts VALUES (7, 10.5, DATE '2026-01-31')")
    _ok(athena, "INSERT INTO sales.facts SELECT id + 1, amount * 2, day FROM sales.facts")
    keys = _objects(s3, DATA, "facts/")
    assert len(keys) == 2
    first = pq.read_table(io.BytesIO(s3.get_object(Bucket=DATA, Key=keys[0])["Body"].read()))
    assert first.column_names == ["id", "amount", "day"]
    assert str(first.schema.field("amount").type) == "decimal128(10, 2)"
    assert _select(athena, "SELECT id, amount, day FROM sales.facts ORDER BY id") == [
        ["7", "10.50", "2026-01-31"],
        ["8", "21.00", "2026-01-31"],
    ]
    _ok(
        athena,
        "CREATE EXTERNAL TABLE sales.events (id int, kind string)\n"
        "ROW FORMAT SERDE 'org.openx.data.jsonserde.JsonSerDe'\n"
        f"LOCATION 's3://{DATA}/events/'",
    )
    _ok(athena, "INSERT INTO sales.events VALUES (1, 'click'), (2, NULL)")
    (key,) = _objects(s3, DATA, "events/")
    lines = gzip.decompress(s3.get_object(Bucket=DATA, Key=key)["Body"].read()).decode()
    assert lines == '{"id": 1, "kind": "click"}\n{"id": 2, "kind": null}\n'
    assert _select(athena, "SELECT id, kind FROM sales.events ORDER BY id") == [
        ["1", "click"],
        ["2", None],
    ]
    # CASCADE drops the tables with the database.
    _ok(athena, "DROP DATABASE sales CASCADE")
    assert glue.get_databases()["DatabaseList"] == []


def test_insert_source_divides_integers_as_integers(cloud: Cloud) -> None:
    _buckets(cloud)
    athena = cloud.client("athena", PRODUCER)
    _ok(athena, "CREATE DATABASE sales")
    _ok(
        athena,
        "CREATE EXTERNAL TABLE sales.counts (id bigint, ratio double)\n"
        "ROW FORMAT DELIMITED FIELDS TERMINATED BY ','\n"
        f"LOCATION 's3://{DATA}/counts/'",
    )
    _ok(athena, "INSERT INTO sales.counts VALUES (7, 7 / 2), (-7, -7 / 2.0)")
    _ok(athena, "INSERT INTO sales.counts SELECT id / 2, ratio / 2 FROM sales.counts")
    assert _select(athena, "SELECT id, ratio FROM sales.counts ORDER BY ratio") == [
        ["-7", "-3.5"],
        ["-3", "-1.75"],
        ["3", "1.5"],
        ["7", "3.0"],
    ]
    reason, error = _failed(
        athena, "INSERT INTO sales.counts SELECT id / 0, ratio FROM sales.counts"
    )
    assert (reason, error["ErrorType"]) == (
        "DIVISION_BY_ZERO: Division by zero",
        athena_errors.TYPE_USER,
    )


def test_ddl_and_insert_errors_read_like_athena(cloud: Cloud) -> None:
    s3 = _buckets(cloud)
    athena = cloud.client("athena", PRODUCER)
    _ok(athena, "CREATE DATABASE shop")
    table = f"CREATE EXTERNAL TABLE shop.items (id int) LOCATION 's3://{DATA}/items/'"
    _ok(athena, table)

    reason, error = _failed(athena, "CREATE DATABASE shop")
    assert reason == (
        "FAILED: Execution Error, return code 1 from org.apache.hadoop.hive.ql.exec.DDLTask. "
        "AlreadyExistsException(message:Database shop already exists)"
    )
    assert error["ErrorMessage"] == "Database shop already exists."
    reason, error = _failed(athena, table)
    assert reason == (
        "FAILED: Execution Error, return code 1 from org.apache.hadoop.hive.ql.exec.DDLTask. "
        "AlreadyExistsException(message:Table items already exists)"
    )
    assert (error["ErrorCategory"], error["ErrorType"], error["ErrorMessage"]) == (
        2,
        athena_errors.TYPE_SYNTAX,
        "Table items already exists.",
    )
    reason, error = _failed(
        athena, f"CREATE EXTERNAL TABLE nowhere.items (id int) LOCATION 's3://{DATA}/x/'"
    )
    assert reason == "FAILED: SemanticException [Error 10072]: Database does not exist: nowhere"
    assert (error["ErrorCategory"], error["ErrorType"]) == (2, athena_errors.TYPE_SYNTAX)
    reason, _ = _failed(athena, "DROP TABLE shop.missing")
    assert reason == "FAILED: SemanticException [Error 10001]: Table not found shop.missing"
    _ok(athena, "DROP TABLE IF EXISTS shop.missing")
    _ok(athena, "DROP DATABASE IF EXISTS nowhere")
    reason, error = _failed(athena, "DROP DATABASE shop")
    assert reason == (
        "FAILED: Execution Error, return code 1 from org.apache.hadoop.hive.ql.exec.DDLTask. "
        "InvalidOperationException(message:Database shop is not empty. One or more tables "
        "exist.)"
    )
    reason, error = _failed(athena, "CREATE TABLE shop.managed (id int)")
    assert reason.startswith("FAILED: SemanticException Only external table creation")

    # A Hive statement that does not parse is accepted, then fails with Hive's words.
    broken = _start(athena, f"CREATE EXTERNAL TABLE shop.t (id int LOCATION 's3://{DATA}/t/'")
    execution = wait_query(athena, broken)
    status = execution["Status"]
    assert status["State"] == "FAILED"
    assert status["StateChangeReason"].startswith("FAILED: ParseException line 1:")
    assert (status["AthenaError"]["ErrorCategory"], status["AthenaError"]["ErrorType"]) == (
        athena_errors.SYSTEM_ERROR,
        athena_errors.TYPE_DDL_FAILED,
    )
    assert execution["SubstatementType"] == "CREATE_TABLE"
    failure_file = s3.get_object(Bucket="query-results", Key=f"athena/{broken}.txt")
    assert failure_file["Body"].read().decode() == status["StateChangeReason"]

    reason, error = _failed(athena, "INSERT INTO shop.items VALUES (1, 'extra')")
    assert reason == (
        "TYPE_MISMATCH: Insert query has mismatched column types: Table: [int], "
        "Query: [integer, varchar]"
    )
    reason, _ = _failed(athena, "INSERT INTO shop.nothing VALUES (1)")
    assert reason == "TABLE_NOT_FOUND: Table 'awsdatacatalog.shop.nothing' does not exist"
    reason, _ = _failed(athena, "INSERT INTO shop.items (nope) VALUES (1)")
    assert reason == ("COLUMN_NOT_FOUND: Insert column name does not exist in target table: nope")
    _ok(
        athena,
        "CREATE EXTERNAL TABLE shop.headers (id int) ROW FORMAT DELIMITED FIELDS TERMINATED BY ','"
        f" LOCATION 's3://{DATA}/headers/' TBLPROPERTIES ('skip.header.line.count'='2')",
    )
    reason, _ = _failed(athena, "INSERT INTO shop.headers VALUES (1)")
    assert reason == (
        "HIVE_UNSUPPORTED_FORMAT: Inserting into Hive table with value of "
        "skip.header.line.count property greater than 1 is not supported"
    )
    # Nothing the failed inserts tried was written.
    assert _objects(s3, DATA, "") == []


def _lake_formation_only(cloud: Cloud) -> Any:
    """The producer account as Lake Formation's documented set-up leaves it: the admin role
    is a data lake administrator, new databases and tables get no IAMAllowedPrincipals
    permissions, and the data bucket is registered (not in hybrid mode)."""
    make_admin(cloud, PRODUCER, role_arn(PRODUCER))
    lakeformation = cloud.client("lakeformation", PRODUCER)
    settings = lakeformation.get_data_lake_settings()["DataLakeSettings"]
    settings["CreateDatabaseDefaultPermissions"] = []
    settings["CreateTableDefaultPermissions"] = []
    lakeformation.put_data_lake_settings(DataLakeSettings=settings)
    lakeformation.register_resource(
        ResourceArn=f"arn:aws:s3:::{DATA}/lake", UseServiceLinkedRole=True
    )
    return lakeformation


def test_lake_formation_rules_for_athena_ddl_and_insert(cloud: Cloud) -> None:
    _buckets(cloud)
    lakeformation = _lake_formation_only(cloud)
    analyst_arn = analyst_role(cloud, PRODUCER, "analyst")
    analyst = role_client(cloud, "athena", analyst_arn)
    admin = cloud.client("athena", PRODUCER)

    reason, error = _failed(analyst, "CREATE DATABASE scratch")
    assert reason == (
        "FAILED: Execution Error, return code 1 from org.apache.hadoop.hive.ql.exec.DDLTask. "
        "MetaException(message:Insufficient Lake Formation permission(s): Required Create "
        "Database on Catalog)"
    )
    assert (error["ErrorCategory"], error["ErrorType"], error["ErrorMessage"]) == (
        2,
        athena_errors.TYPE_PERMISSION,
        "Insufficient Lake Formation permission(s): Required Create Database on Catalog",
    )
    lakeformation.grant_permissions(
        Principal=principal(analyst_arn), Resource={"Catalog": {}}, Permissions=["CREATE_DATABASE"]
    )
    reason, _ = _failed(analyst, f"CREATE DATABASE scratch LOCATION 's3://{DATA}/lake/scratch/'")
    assert reason.endswith(
        f"MetaException(message:Insufficient Lake Formation permission(s) on "
        f"s3://{DATA}/lake/scratch/)"
    )
    _ok(analyst, "CREATE DATABASE scratch")
    # The creator holds ALL, grantable, on what it created.
    held = lakeformation.list_permissions(
        Principal=principal(analyst_arn),
        Resource={"Database": {"Name": "scratch"}},
    )["PrincipalResourcePermissions"]
    assert [(p["Permissions"], p["PermissionsWithGrantOption"]) for p in held] == [
        (["ALL"], ["ALL"])
    ]

    # A database the admin made: the analyst needs CREATE_TABLE on it, then DATA_LOCATION_ACCESS.
    _ok(admin, "CREATE DATABASE governed")
    table = (
        "CREATE EXTERNAL TABLE governed.events (id int) ROW FORMAT DELIMITED FIELDS "
        f"TERMINATED BY ',' LOCATION 's3://{DATA}/lake/events/'"
    )
    reason, _ = _failed(analyst, table)
    assert reason.endswith(
        "MetaException(message:Insufficient Lake Formation permission(s): Required Create "
        "Table on governed)"
    )
    lakeformation.grant_permissions(
        Principal=principal(analyst_arn),
        Resource={"Database": {"Name": "governed"}},
        Permissions=["CREATE_TABLE"],
    )
    reason, _ = _failed(analyst, table)
    assert reason.endswith(
        f"Insufficient Lake Formation permission(s) on s3://{DATA}/lake/events/)"
    )
    lakeformation.grant_permissions(
        Principal=principal(analyst_arn),
        Resource={"DataLocation": {"ResourceArn": f"arn:aws:s3:::{DATA}/lake"}},
        Permissions=["DATA_LOCATION_ACCESS"],
    )
    _ok(analyst, table)
    _ok(analyst, "INSERT INTO governed.events VALUES (1), (2)")

    # Another role sees, reads, writes and drops the table only as it is granted to.
    reader_arn = analyst_role(cloud, PRODUCER, "reader")
    reader = role_client(cloud, "athena", reader_arn)
    assert _rows(reader, _ok(reader, "SHOW TABLES IN governed")["QueryExecutionId"]) == []
    reason, error = _failed(reader, "SELECT count(*) FROM governed.events")
    assert error["ErrorType"] == athena_errors.TYPE_PERMISSION
    reason, _ = _failed(reader, "INSERT INTO governed.events VALUES (3)")
    assert reason == (
        "Insufficient permissions to execute the query. Insufficient Lake Formation "
        "permission(s) on governed.events"
    )
    resource = {"Table": {"DatabaseName": "governed", "Name": "events"}}
    # A Lake Formation grant on what Athena created works like any other.
    lakeformation.grant_permissions(
        Principal=principal(reader_arn), Resource=resource, Permissions=["SELECT"]
    )
    assert _rows(reader, _ok(reader, "SHOW TABLES IN governed")["QueryExecutionId"]) == [["events"]]
    assert _select(reader, "SELECT count(*) FROM governed.events") == [["2"]]
    reason, _ = _failed(reader, "INSERT INTO governed.events VALUES (3)")
    assert "Insufficient Lake Formation permission(s) on governed.events" in reason
    lakeformation.grant_permissions(
        Principal=principal(reader_arn), Resource=resource, Permissions=["INSERT"]
    )
    _ok(reader, "INSERT INTO governed.events VALUES (3)")
    assert _select(reader, "SELECT count(*) FROM governed.events") == [["3"]]
    reason, _ = _failed(reader, "DROP TABLE governed.events")
    assert reason.endswith(
        "MetaException(message:Insufficient Lake Formation permission(s): Required Drop on events)"
    )
    _ok(analyst, "DROP TABLE governed.events")
    # Dropping the table took its grants with it.
    remaining = lakeformation.list_permissions()["PrincipalResourcePermissions"]
    assert [p for p in remaining if p["Principal"] == principal(reader_arn)] == []
    with pytest.raises(ClientError) as excinfo:
        lakeformation.grant_permissions(
            Principal=principal(reader_arn), Resource=resource, Permissions=["SELECT"]
        )
    assert excinfo.value.response["Error"]["Code"] == "EntityNotFoundException"


def test_ddl_without_an_output_bucket_fails_before_changing_the_catalog(cloud: Cloud) -> None:
    athena = cloud.client("athena", PRODUCER)
    query_id = athena.start_query_execution(
        QueryString="CREATE DATABASE orphan",
        ResultConfiguration={"OutputLocation": "s3://no-such-bucket/results/"},
    )["QueryExecutionId"]
    status = wait_query(athena, query_id)["Status"]
    assert (status["State"], status["StateChangeReason"]) == (
        "FAILED",
        "Unable to verify/create output bucket no-such-bucket",
    )
    assert cloud.client("glue", PRODUCER).get_databases()["DatabaseList"] == []


# --- time moves on its own ---------------------------------------------------------------

#: Under the "none" latency profile, a transition nobody reads completes within this (ADR 3).
UNOBSERVED_BOUND = 0.5


def test_a_script_that_waits_then_grants_on_the_database_it_created_works(
    cloud: Cloud, default_grace: float
) -> None:
    """A shell script starts CREATE DATABASE, sleeps as scripts do instead of polling, and
    grants Lake Formation rights on the database: the query ran with nobody reading it."""
    _buckets(cloud)
    athena = cloud.client("athena", PRODUCER)
    lakeformation = cloud.client("lakeformation", PRODUCER)
    analyst = make_role(cloud, PRODUCER, "ScriptAnalyst")
    make_admin(cloud, PRODUCER, role_arn(PRODUCER))
    query_id = _start(athena, "CREATE DATABASE scripted")
    # The neighbour: a database whose CREATE nobody started cannot be granted on.
    with pytest.raises(ClientError) as excinfo:
        lakeformation.grant_permissions(
            Principal=principal(analyst),
            Resource={"Database": {"Name": "never_created"}},
            Permissions=["DESCRIBE"],
        )
    assert excinfo.value.response["Error"]["Code"] == "EntityNotFoundException"
    assert excinfo.value.response["Error"]["Message"] == (
        f"Database never_created not found in catalog {PRODUCER}."
    )
    time.sleep(UNOBSERVED_BOUND)
    lakeformation.grant_permissions(
        Principal=principal(analyst),
        Resource={"Database": {"Name": "scripted"}},
        Permissions=["DESCRIBE"],
    )
    held = lakeformation.list_permissions(
        Principal=principal(analyst), Resource={"Database": {"Name": "scripted"}}
    )["PrincipalResourcePermissions"]
    assert [p["Permissions"] for p in held] == [["DESCRIBE"]]
    # The query's first read, after the bound, shows it over.
    execution = athena.get_query_execution(QueryExecutionId=query_id)["QueryExecution"]
    assert execution["Status"]["State"] == "SUCCEEDED"
