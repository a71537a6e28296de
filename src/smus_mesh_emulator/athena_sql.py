"""Athena that really runs SQL (DuckDB) over the emulated S3 data, and enforces Lake Formation.

Why: the point of the whole SMUS set-up is that the consumer's project role can query the
producer's table from its own account, and only after the subscription is granted. moto's
Athena runs nothing: every query SUCCEEDS with no rows, whatever its SQL or permissions
(research/emulation.md §2). Here a query:

1. is accepted in a workgroup of the caller's account with an output location (the
   request's or the workgroup's), and passes QUEUED -> RUNNING through the scheduler
   (kind "athena.query"), so a client must poll GetQueryExecution;
2. when it runs, resolves every table it names in the caller's Glue catalog
   (AwsDataCatalog), following resource links (a table's TargetTable, a database's
   TargetDatabase) to the owner account;
3. checks Lake Formation SELECT for the caller's role (see `_authorised`);
4. reads each table's objects from moto's S3 in-process (DuckDB's s3:// needs an
   extension download, research/emulation.md §5): CSV (LazySimpleSerDe, OpenCSVSerde),
   JSON and Parquet, partitions included, cast to the Glue column types;
5. runs the SQL in a DuckDB connection that cannot touch files or load extensions, and
   writes the result CSV to `<output location>/<QueryExecutionId>.csv` in the caller's S3.

Anything that goes wrong in steps 2-5 ends the query FAILED with a StateChangeReason and
an AthenaError (category/type from Athena's error catalog), never as an API error.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import logging
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
from moto.athena.responses import AthenaResponse
from moto.core.exceptions import ServiceException
from moto.s3.models import FakeDeleteMarker, s3_backends

from smus_mesh_emulator import lakeformation_ext
from smus_mesh_emulator.accounts import caller_arn, principal_of
from smus_mesh_emulator.progress import Stage, Transition
from smus_mesh_emulator.runtime import RUNTIME

LOG = logging.getLogger(__name__)

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

#: AthenaError categories and types, from Athena's error catalog.
USER_ERROR = 2
SYSTEM_ERROR = 1
TYPE_USER = 1000
TYPE_SYNTAX = 1006
TYPE_TABLE_NOT_FOUND = 1110
TYPE_DECODER_NOT_SUPPORTED = 1201
TYPE_QUERY_NOT_SUPPORTED = 1202
TYPE_ENTITY_NOT_FOUND = 1301
TYPE_BUCKET_NOT_FOUND = 1306
TYPE_PERMISSION = 1500
TYPE_INTERNAL = 100

NO_OUTPUT_LOCATION = (
    "No output location provided. An output location is required either through the "
    "Workgroup result configuration setting or as an API input."
)


class InvalidRequestException(ServiceException):
    code = "InvalidRequestException"


class QueryFailure(Exception):
    """Ends a query FAILED with this reason and AthenaError type/category."""

    def __init__(self, reason: str, error_type: int, category: int = USER_ERROR) -> None:
        super().__init__(reason)
        self.reason = reason
        self.error_type = error_type
        self.category = category


# --- the query execution ---------------------------------------------------------------


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


def _statement_type(query: str) -> str:
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


# --- resolving table references ----------------------------------------------------------


@dataclass(frozen=True)
class TableReference:
    """A table as the query names it (lowercased), where it is, and the Glue table it
    resolves to after following resource links."""

    schema: str
    name: str
    position: str
    owner: str
    database: str
    table: str
    glue: Any = field(compare=False)

    @property
    def resource(self) -> dict[str, Any]:
        return {
            "Table": {"CatalogId": self.owner, "DatabaseName": self.database, "Name": self.table}
        }


def _position(query: str, offset: int | None) -> str:
    """Athena's `line L:C: ` prefix for a character offset."""
    if offset is None or offset < 0 or offset > len(query):
        return ""
    before = query[:offset]
    line = before.count("\n") + 1
    column = offset - (before.rfind("\n") + 1) + 1
    return f"line {line}:{column}: "


def _scalar(connection: duckdb.DuckDBPyConnection, sql: str, parameters: list[Any]) -> Any:
    # DuckDB refuses new work on a connection until a result is fully fetched.
    rows = connection.execute(sql, parameters).fetchall()
    return rows[0][0] if rows else None


def _statement(connection: duckdb.DuckDBPyConnection, sql: str) -> None:
    connection.execute(sql).fetchall()


def _syntax_tree(connection: duckdb.DuckDBPyConnection, query: str) -> dict[str, Any]:
    """DuckDB's parse tree of a SELECT (`json_serialize_sql`)."""
    tree: dict[str, Any] = json.loads(_scalar(connection, "SELECT json_serialize_sql(?)", [query]))
    return tree


def _references(tree: dict[str, Any]) -> list[tuple[str, str, str, int | None]]:
    """(catalog, schema, table, offset) of every table the SELECT reads, CTEs excluded."""
    found: list[tuple[str, str, str, int | None]] = []
    ctes: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "BASE_TABLE":
                found.append(
                    (
                        node.get("catalog_name") or "",
                        node.get("schema_name") or "",
                        node.get("table_name") or "",
                        node.get("query_location"),
                    )
                )
            for entry in (node.get("cte_map") or {}).get("map", []):
                ctes.add(str(entry.get("key", "")).lower())
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(tree)
    return [ref for ref in found if ref[1] or ref[0] or ref[2].lower() not in ctes]


def athena_column_names(tree: dict[str, Any], names: list[str]) -> list[str]:
    """Result column names as Athena gives them: an unaliased expression in the select
    list is `_col<position>` (DuckDB would name it after the expression). Left as DuckDB
    names them when the select list has a `*` or is a set operation.

    Examples:
        >>> athena_column_names(tree_of("SELECT id, count(*) FROM t"), ["id", "count_star()"])
        ['id', '_col1']
    """
    statements = tree.get("statements") or [{}]
    node = statements[0].get("node") or {}
    items = node.get("select_list") if node.get("type") == "SELECT_NODE" else None
    if not items or len(items) != len(names) or any(i.get("class") == "STAR" for i in items):
        return names
    return [
        name if item.get("alias") or item.get("class") == "COLUMN_REF" else f"_col{position}"
        for position, (item, name) in enumerate(zip(items, names, strict=True))
    ]


def _input(glue_object: Any) -> dict[str, Any]:
    return dict(glue_object.as_dict())


def _resolve(
    run: QueryRun, catalog: str, schema: str, name: str, offset: int | None
) -> TableReference:
    position = _position(run.query, offset)
    if catalog and catalog.lower() != CATALOG.lower():
        raise QueryFailure(
            f"CATALOG_NOT_FOUND: {position}Catalog '{catalog.lower()}' does not exist",
            TYPE_ENTITY_NOT_FOUND,
        )
    schema = (schema or (run.context or {}).get("Database") or DEFAULT_DATABASE).lower()
    qualified = f"awsdatacatalog.{schema}.{name.lower()}"
    database = lakeformation_ext.glue_database(run.account, run.region, schema)
    if database is None:
        raise QueryFailure(
            f"SCHEMA_NOT_FOUND: {position}Schema '{schema}' does not exist", TYPE_ENTITY_NOT_FOUND
        )
    owner, database_name = run.account, database.name
    target_database = _input(database).get("TargetDatabase")
    if target_database:
        owner = target_database.get("CatalogId") or owner
        database_name = target_database["DatabaseName"]
    missing = QueryFailure(
        f"TABLE_NOT_FOUND: {position}Table '{qualified}' does not exist", TYPE_TABLE_NOT_FOUND
    )
    table = lakeformation_ext.glue_table(owner, run.region, database_name, name)
    for _ in range(4):  # a resource link may point at another link; never loop forever
        if table is None:
            raise missing
        target = _input(table).get("TargetTable")
        if not target:
            break
        owner = target.get("CatalogId") or owner
        database_name = target["DatabaseName"]
        table = lakeformation_ext.glue_table(owner, run.region, database_name, target["Name"])
    if table is None:
        raise missing
    resolved_database = lakeformation_ext.glue_database(owner, run.region, database_name)
    return TableReference(
        schema=schema,
        name=name.lower(),
        position=position,
        owner=owner,
        database=resolved_database.name if resolved_database is not None else database_name,
        table=table.name,
        glue=table,
    )


def _authorised(run: QueryRun, reference: TableReference) -> bool:
    """Lake Formation's decision for the caller P of account C reading table T of O.

    Same account: an explicit SELECT for P, or P is a data lake admin of O, or
    IAMAllowedPrincipals still holds SELECT on T (then IAM decides, and IAM policies are
    not modelled, so the read is allowed). Across accounts: O must grant SELECT to P
    directly, or to account C, which must then re-grant it to P in its own Lake
    Formation (the resource named with CatalogId O); IAMAllowedPrincipals never
    crosses accounts.
    """
    region, caller, owner = run.region, run.principal, reference.owner
    resource = reference.resource
    if owner == run.account:
        return (
            lakeformation_ext.has_permission(owner, region, caller, resource, "SELECT")
            or lakeformation_ext.is_data_lake_admin(owner, region, caller)
            or lakeformation_ext.has_permission(
                owner, region, lakeformation_ext.IAM_ALLOWED_PRINCIPALS, resource, "SELECT"
            )
        )
    if lakeformation_ext.holds_directly(owner, region, caller, resource, "SELECT"):
        return True
    return lakeformation_ext.has_permission(
        owner, region, run.account, resource, "SELECT"
    ) and lakeformation_ext.holds_directly(run.account, region, caller, resource, "SELECT")


# --- reading table data -------------------------------------------------------------------


#: Hive/Glue primitive types and the DuckDB type a value is cast to.
_PRIMITIVES = {
    "string": "VARCHAR",
    "varchar": "VARCHAR",
    "char": "VARCHAR",
    "tinyint": "TINYINT",
    "smallint": "SMALLINT",
    "int": "INTEGER",
    "integer": "INTEGER",
    "bigint": "BIGINT",
    "float": "FLOAT",
    "real": "FLOAT",
    "double": "DOUBLE",
    "boolean": "BOOLEAN",
    "date": "DATE",
    "timestamp": "TIMESTAMP",
    "binary": "BLOB",
}
_DECIMAL = re.compile(r"^decimal\s*(?:\(\s*(\d+)\s*(?:,\s*(\d+)\s*)?\))?$")


def duckdb_type(glue_type: str) -> str | None:
    """The DuckDB type of a Glue column type; None for complex types (array, map,
    struct), which are read as they come (Parquet) or as text (CSV, JSON).

    Examples:
        >>> duckdb_type("decimal(10,2)"), duckdb_type("string"), duckdb_type("array<int>")
        ('DECIMAL(10,2)', 'VARCHAR', None)
    """
    lowered = glue_type.strip().lower()
    decimal_match = _DECIMAL.match(lowered)
    if decimal_match:
        precision, scale = decimal_match.group(1) or "10", decimal_match.group(2) or "0"
        return f"DECIMAL({precision},{scale})"
    base = lowered.split("(", 1)[0].strip()
    if base in _PRIMITIVES:
        return _PRIMITIVES[base]
    if base.startswith(("array", "map", "struct", "uniontype")):
        return None
    return "VARCHAR"


@dataclass(frozen=True)
class TableFormat:
    """How a table's files are read: "csv" (LazySimpleSerDe), "opencsv", "json" or "parquet"."""

    kind: str
    delimiter: str = ","
    quote: str = '"'
    escape: str | None = "\\"
    header_lines: int = 0


def table_format(table_input: dict[str, Any], name: str) -> TableFormat:
    """How to read a Glue table's files, from its SerDe (then input format, classification).

    Raises:
        QueryFailure: a SerDe the emulator does not read (ORC, Avro, ...).

    Examples:
        >>> table_format({"StorageDescriptor": {"SerdeInfo": {
        ...     "SerializationLibrary": "org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe",
        ...     "Parameters": {"field.delim": "|"}}}}, "db.t")
        TableFormat(kind='csv', delimiter='|', quote='"', escape='\\\\', header_lines=0)
    """
    descriptor = table_input.get("StorageDescriptor") or {}
    serde = descriptor.get("SerdeInfo") or {}
    library = (serde.get("SerializationLibrary") or "").lower()
    serde_parameters = serde.get("Parameters") or {}
    parameters = table_input.get("Parameters") or {}
    input_format = (descriptor.get("InputFormat") or "").lower()
    classification = (parameters.get("classification") or "").lower()
    try:
        header_lines = int(parameters.get("skip.header.line.count") or 0)
    except ValueError:
        header_lines = 0
    # The SerDe decides; the input format and classification only when there is none.
    if not library:
        if "parquet" in input_format or classification == "parquet":
            library = "parquet"
        elif classification == "json":
            library = "json"
        elif "textinputformat" in input_format or classification == "csv":
            library = "lazysimple"
    if "parquet" in library:
        return TableFormat("parquet")
    if "opencsv" in library:
        return TableFormat(
            "opencsv",
            delimiter=serde_parameters.get("separatorChar") or ",",
            quote=serde_parameters.get("quoteChar") or '"',
            escape=serde_parameters.get("escapeChar") or "\\",
            header_lines=header_lines,
        )
    if "json" in library:
        return TableFormat("json")
    if "lazysimple" in library:
        serialization = serde_parameters.get("serialization.format") or ""
        delimiter = serde_parameters.get("field.delim") or (
            serialization if serialization and not serialization.isdigit() else "\x01"
        )
        return TableFormat("csv", delimiter=delimiter, header_lines=header_lines)
    raise QueryFailure(
        f"HIVE_UNSUPPORTED_FORMAT: the emulator cannot read table {name}: SerDe "
        f"'{serde.get('SerializationLibrary')}' is not supported (it reads LazySimpleSerDe "
        "and OpenCSVSerde CSV, JSON and Parquet)",
        TYPE_DECODER_NOT_SUPPORTED,
    )


def _split_location(location: str) -> tuple[str, str]:
    path = location.split("://", 1)[-1]
    bucket, _, prefix = path.partition("/")
    prefix = prefix.strip("/")
    return bucket, f"{prefix}/" if prefix else ""


def _hidden(relative_key: str) -> bool:
    """Hive skips folder placeholders and files or folders starting with `_` or `.`."""
    parts = relative_key.split("/")
    return (
        relative_key.endswith("/")
        or relative_key.endswith("_$folder$")
        or any(part.startswith(("_", ".")) for part in parts)
    )


def _objects(account: str, location: str) -> list[tuple[str, bytes]]:
    """(key, bytes) of every data object under `location`, in key order."""
    bucket_name, prefix = _split_location(location)
    try:
        bucket = s3_backends[account]["aws"].get_bucket(bucket_name)
    except Exception as exc:  # moto raises MissingBucket (an HTTP error class)
        raise QueryFailure(
            f"HIVE_FILESYSTEM_ERROR: the S3 bucket {bucket_name} of location {location} "
            "does not exist",
            TYPE_BUCKET_NOT_FOUND,
        ) from exc
    found = []
    for key_name, key in bucket.keys.items():
        if isinstance(key, FakeDeleteMarker) or not key_name.startswith(prefix):
            continue
        if _hidden(key_name[len(prefix) :]):
            continue
        found.append((key_name, bytes(key.value)))
    return sorted(found)


def _text(key: str, data: bytes) -> str:
    if key.endswith(".gz"):
        data = gzip.decompress(data)
    return data.decode("utf-8", errors="replace")


def _lines(text: str) -> list[str]:
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [line[:-1] if line.endswith("\r") else line for line in lines]


def _fit(values: list[str | None], width: int) -> list[str | None]:
    """Hive: missing trailing fields are NULL, extra fields are ignored."""
    return (values + [None] * width)[:width]


def _text_rows(key: str, data: bytes, fmt: TableFormat, names: list[str]) -> list[list[str | None]]:
    text = _text(key, data)
    width = len(names)
    if fmt.kind == "csv":
        lines = _lines(text)[fmt.header_lines :]
        return [
            _fit([None if v == "\\N" else v for v in line.split(fmt.delimiter)], width)
            for line in lines
        ]
    if fmt.kind == "opencsv":
        reader = csv.reader(
            io.StringIO(text),
            delimiter=fmt.delimiter,
            quotechar=fmt.quote,
            escapechar=fmt.escape,
        )
        return [_fit(list[str | None](row), width) for row in list(reader)[fmt.header_lines :]]
    # JSON lines: columns by name, case-insensitively, as the Hive JSON SerDes do.
    rows: list[list[str | None]] = []
    for line in _lines(text):
        if not line.strip():
            continue
        record = {str(k).lower(): v for k, v in json.loads(line).items()}
        rows.append([_json_text(record.get(name.lower())) for name in names])
    return rows


def _json_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value)
    return str(value)


def _parquet_columns(data: bytes, names: list[str]) -> list[pa.Array]:
    table = pq.read_table(io.BytesIO(data))
    by_name = {name.lower(): table.column(name) for name in table.column_names}
    columns = []
    for name in names:
        column = by_name.get(name.lower())
        columns.append(column.combine_chunks() if column is not None else pa.nulls(table.num_rows))
    return columns


@dataclass
class LoadedTable:
    """A table's files as positional Arrow tables (c0..cN) ready for DuckDB."""

    sources: list[pa.Table]
    scanned_bytes: int


def load_table(account: str, reference: TableReference) -> tuple[LoadedTable, list[dict[str, Any]]]:
    """Read every file of the table (or of each of its registered partitions, with the
    partition values as extra columns); the Glue columns, partition keys last.

    Examples:
        >>> loaded, columns = load_table("111111111111", reference)
        >>> loaded.scanned_bytes, [c["Name"] for c in columns]
        (63, ['id', 'region', 'amount'])
    """
    table_input = _input(reference.glue)
    descriptor = table_input.get("StorageDescriptor") or {}
    columns = list(descriptor.get("Columns") or [])
    partition_keys = list(table_input.get("PartitionKeys") or [])
    fmt = table_format(table_input, f"{reference.database}.{reference.table}")
    names = [column["Name"] for column in columns]
    if partition_keys:
        parts = [
            (
                (partition.partition_input.get("StorageDescriptor") or {}).get("Location"),
                list(partition.values),
            )
            for partition in reference.glue.partitions.values()
        ]
    else:
        parts = [(descriptor.get("Location"), [])]
    sources, scanned = [], 0
    for location, values in parts:
        if not location:
            continue
        for key, data in _objects(account, location):
            scanned += len(data)
            if fmt.kind == "parquet":
                arrays = _parquet_columns(data, names)
            else:
                rows = _text_rows(key, data, fmt, names)
                arrays = [
                    pa.array([row[i] for row in rows], pa.string()) for i in range(len(names))
                ]
            count = len(arrays[0]) if arrays else 0
            arrays += [pa.array([value] * count, pa.string()) for value in values]
            sources.append(pa.table(arrays, names=[f"c{i}" for i in range(len(arrays))]))
    return LoadedTable(sources, scanned), columns + partition_keys


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _materialise(
    connection: duckdb.DuckDBPyConnection,
    reference: TableReference,
    loaded: LoadedTable,
    columns: list[dict[str, Any]],
    index: int,
) -> None:
    """CREATE TABLE <schema>.<name> with the Glue columns, cast to their types."""
    selects = []
    for file_index, source in enumerate(loaded.sources):
        view = f"source_{index}_{file_index}"
        connection.register(view, source)
        expressions = []
        for position, column in enumerate(columns):
            target = duckdb_type(column.get("Type") or "string")
            value = f"c{position}"
            expressions.append(
                (f"TRY_CAST({value} AS {target})" if target else value)
                + f" AS {_quote(column['Name'])}"
            )
        # Only quoted identifiers and our own type names are interpolated, never data.
        selects.append(f"SELECT {', '.join(expressions)} FROM {view}")  # noqa: S608
    if not selects:
        empty = ", ".join(
            f"CAST(NULL AS {duckdb_type(c.get('Type') or 'string') or 'VARCHAR'})"
            f" AS {_quote(c['Name'])}"
            for c in columns
        )
        selects.append(f"SELECT {empty} LIMIT 0")
    _statement(connection, f"CREATE SCHEMA IF NOT EXISTS {_quote(reference.schema)}")
    _statement(
        connection,
        f"CREATE TABLE {_quote(reference.schema)}.{_quote(reference.name)} AS "
        + " UNION ALL BY NAME ".join(selects),
    )


# --- running the query ------------------------------------------------------------------


def _connection() -> duckdb.DuckDBPyConnection:
    """A DuckDB that reads only what we register: no files, no extension downloads."""
    connection = duckdb.connect(
        config={
            "enable_external_access": False,
            "autoinstall_known_extensions": False,
            "autoload_known_extensions": False,
            "threads": 1,
        }
    )
    _statement(connection, "ATTACH ':memory:' AS awsdatacatalog")
    _statement(connection, "USE awsdatacatalog")
    return connection


def _check_statement(connection: duckdb.DuckDBPyConnection, query: str) -> None:
    try:
        statements = connection.extract_statements(query)
    except duckdb.Error as exc:
        raise QueryFailure(str(exc), TYPE_SYNTAX) from exc
    if len(statements) != 1:
        raise QueryFailure(f"Only one sql statement is allowed. Got: {query}", TYPE_SYNTAX)
    kind = statements[0].type.name
    if kind != "SELECT":
        raise QueryFailure(
            f"{kind} statements are not supported by the emulator: its Athena runs SELECT "
            "and WITH queries only",
            TYPE_QUERY_NOT_SUPPORTED,
        )


def _output_bucket(run: QueryRun) -> tuple[str, str]:
    bucket, _, key = run.output_location.split("://", 1)[-1].partition("/")
    try:
        s3_backends[run.account]["aws"].get_bucket(bucket)
    except Exception as exc:  # MissingBucket
        raise QueryFailure(
            f"Unable to verify/create output bucket {bucket}", TYPE_BUCKET_NOT_FOUND
        ) from exc
    return bucket, key


def execute(run: QueryRun) -> None:
    """Run the query to SUCCEEDED or FAILED. Never raises: it runs inside the scheduler,
    during whatever request happens to advance it.

    Examples:
        >>> execute(run); run.state, run.rows
        ('SUCCEEDED', [['3']])
    """
    run.started = run.started or datetime.now(UTC)
    try:
        _run_query(run)
        run.state = "SUCCEEDED"
    except QueryFailure as failure:
        run.fail(failure)
    except duckdb.Error as exc:
        run.fail(
            QueryFailure(
                str(exc), TYPE_SYNTAX if isinstance(exc, duckdb.ParserException) else TYPE_USER
            )
        )
    except Exception as exc:
        LOG.exception("Athena query %s failed inside the emulator", run.id)
        run.fail(
            QueryFailure(f"Internal error in the emulator: {exc}", TYPE_INTERNAL, SYSTEM_ERROR)
        )
    run.completed = datetime.now(UTC)


def _run_query(run: QueryRun) -> None:
    connection = _connection()
    try:
        _check_statement(connection, run.query)
        context_catalog = (run.context or {}).get("Catalog")
        if context_catalog and context_catalog.lower() != CATALOG.lower():
            raise QueryFailure(
                f"CATALOG_NOT_FOUND: Catalog '{context_catalog.lower()}' does not exist",
                TYPE_ENTITY_NOT_FOUND,
            )
        bucket, key = _output_bucket(run)
        tree = _syntax_tree(connection, run.query)
        references = [_resolve(run, *ref) for ref in _references(tree)]
        for reference in references:
            if not _authorised(run, reference):
                raise QueryFailure(
                    f"Insufficient permissions to execute the query. Insufficient Lake "
                    f"Formation permission(s) on {reference.schema}.{reference.name}",
                    TYPE_PERMISSION,
                )
        loaded_names: set[tuple[str, str]] = set()
        for index, reference in enumerate(references):
            if (reference.schema, reference.name) in loaded_names:
                continue
            loaded_names.add((reference.schema, reference.name))
            loaded, columns = load_table(reference.owner, reference)
            run.scanned_bytes += loaded.scanned_bytes
            _materialise(connection, reference, loaded, columns, index)
        database = ((run.context or {}).get("Database") or DEFAULT_DATABASE).lower()
        _statement(connection, f"CREATE SCHEMA IF NOT EXISTS {_quote(database)}")
        _statement(connection, f"USE awsdatacatalog.{_quote(database)}")
        # Athena's execution parameters are SQL literals: DuckDB evaluates each one.
        parameters = [_scalar(connection, f"SELECT {p}", []) for p in run.parameters or []]
        started = time.perf_counter()
        result = (
            connection.execute(run.query, parameters)
            if parameters
            else connection.execute(run.query)
        )
        description = result.description or []
        records = result.fetchall()
        run.engine_ms = max(1, round((time.perf_counter() - started) * 1000))
    finally:
        connection.close()
    names = athena_column_names(tree, [str(column[0]) for column in description])
    run.columns = [
        column_info(name, column[1]) for name, column in zip(names, description, strict=True)
    ]
    run.rows = [[format_value(value) for value in record] for record in records]
    _write_results(run, bucket, key)


def _write_results(run: QueryRun, bucket: str, key: str) -> None:
    """The result CSV as Athena writes it: every value quoted, NULL as an empty field."""

    def line(values: list[str | None]) -> str:
        return ",".join("" if v is None else '"' + v.replace('"', '""') + '"' for v in values)

    header = [column["Name"] for column in run.columns]
    body = "".join(line(values) + "\n" for values in [header, *run.rows])
    s3_backends[run.account]["aws"].put_object(bucket, key, body.encode())


#: DuckDB type ids -> Athena (Trino) type names and their reported precision.
_ATHENA_TYPES = {
    "varchar": ("varchar", 2147483647),
    "integer": ("integer", 10),
    "bigint": ("bigint", 19),
    "smallint": ("smallint", 5),
    "tinyint": ("tinyint", 3),
    "hugeint": ("decimal", 38),
    "ubigint": ("decimal", 20),
    "uinteger": ("bigint", 19),
    "usmallint": ("integer", 10),
    "utinyint": ("smallint", 5),
    "double": ("double", 17),
    "float": ("real", 17),
    "boolean": ("boolean", 0),
    "date": ("date", 0),
    "timestamp": ("timestamp", 3),
    "timestamp with time zone": ("timestamp with time zone", 3),
    "time": ("time", 3),
    "interval": ("interval day to second", 0),
    "blob": ("varbinary", 1073741824),
    "uuid": ("varchar", 2147483647),
    "list": ("array", 0),
    "array": ("array", 0),
    "map": ("map", 0),
    "struct": ("row", 0),
}


def column_info(name: str, kind: Any) -> dict[str, Any]:
    """ResultSetMetadata.ColumnInfo for a DuckDB result column.

    Examples:
        >>> column_info("n", "integer")["Type"], column_info("n", "integer")["Precision"]
        ('integer', 10)
    """
    type_id = str(getattr(kind, "id", kind)).lower()
    athena_type, precision = _ATHENA_TYPES.get(type_id, (type_id, 0))
    scale = 0
    if type_id == "decimal":
        match = re.search(r"\((\d+),\s*(\d+)\)", str(kind))
        athena_type = "decimal"
        precision, scale = (int(match.group(1)), int(match.group(2))) if match else (18, 3)
    return {
        "CatalogName": "hive",
        "SchemaName": "",
        "TableName": "",
        "Name": name,
        "Label": name,
        "Type": athena_type,
        "Precision": precision,
        "Scale": scale,
        "Nullable": "UNKNOWN",
        "CaseSensitive": athena_type == "varchar",
    }


def format_value(value: Any) -> str | None:
    """A result value as Athena's VarCharValue shows it (Trino's text forms).

    Examples:
        >>> format_value(True), format_value(Decimal("10.50")), format_value([1, None])
        ('true', '10.50', '[1, null]')
    """
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S.") + f"{value.microsecond // 1000:03d}"
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes):
        return " ".join(f"{b:02x}" for b in value)
    if isinstance(value, list):
        return "[" + ", ".join(_nested(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}={_nested(v)}" for k, v in value.items()) + "}"
    return str(value)


def _nested(value: Any) -> str:
    formatted = format_value(value)
    return "null" if formatted is None else formatted


# --- the Athena API -------------------------------------------------------------------


@dataclass
class _Queries:
    """Query executions of one account/region (kept on moto's backend, reset with it)."""

    runs: dict[str, QueryRun] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)


class AthenaSqlResponse(AthenaResponse):
    """moto's Athena (workgroups, named queries, catalogs, ...) with real query execution."""

    @property
    def _queries(self) -> _Queries:
        # Kept on moto's backend so that a reset of the cloud forgets the queries too.
        backend = self.athena_backend
        queries: _Queries | None = getattr(backend, "smus_queries", None)
        if queries is None:
            queries = _Queries()
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
            statement_type=_statement_type(query),
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
        RUNTIME.scheduler.observe(run.transition)
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
            RUNTIME.scheduler.observe(run.transition)
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
