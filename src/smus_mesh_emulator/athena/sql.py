"""Running one query: parse it with DuckDB, resolve and authorise its tables, load them, run the
SELECT in a DuckDB connection that cannot touch files or load extensions, and write the
result CSV to `<output location>/<QueryExecutionId>.csv` in the caller's S3.
"""

from __future__ import annotations

import json
import logging
import re
import time
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import duckdb
from moto.s3.models import s3_backends

from smus_mesh_emulator.athena.catalog import TableReference, authorised, resolve
from smus_mesh_emulator.athena.exceptions import (
    SYSTEM_ERROR,
    TYPE_BUCKET_NOT_FOUND,
    TYPE_ENTITY_NOT_FOUND,
    TYPE_INTERNAL,
    TYPE_PERMISSION,
    TYPE_QUERY_NOT_SUPPORTED,
    TYPE_SYNTAX,
    TYPE_USER,
    QueryFailure,
)
from smus_mesh_emulator.athena.models import CATALOG, DEFAULT_DATABASE, QueryRun
from smus_mesh_emulator.athena.tables import LoadedTable, duckdb_type, load_table

LOG = logging.getLogger(__name__)


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
        references = [resolve(run, *ref) for ref in _references(tree)]
        for reference in references:
            if not authorised(run, reference):
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
