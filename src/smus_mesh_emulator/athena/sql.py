"""Running one SELECT or INSERT in three steps, so that only the first and the last hold the
emulator's lock:

1. `prepare` (locked): DuckDB's parse tree of the SQL names the tables; each is resolved in
   the caller's Glue catalog, authorised by Lake Formation and snapshotted (metadata and
   S3 bytes); for an INSERT, the target is resolved and checked too;
2. `evaluate` (unlocked, interruptible): the snapshots are parsed into DuckDB tables and
   the SQL runs in a DuckDB connection that cannot touch files or load extensions;
3. `commit` (locked): the result CSV goes to `<output location>/<QueryExecutionId>.csv`,
   or an INSERT's new object under the table's location and its manifest.

DuckDB's errors are reworded as Athena's (`athena_failure`).
"""

from __future__ import annotations

import json
import math
import re
import time
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import duckdb
import pyarrow as pa
from moto.s3.models import s3_backends
from sqlglot import exp

from smus_mesh_emulator.athena.catalog import (
    TableReference,
    authorised,
    holds,
    resolve,
    table_resource,
)
from smus_mesh_emulator.athena.division import integer_divisions
from smus_mesh_emulator.athena.exceptions import (
    TYPE_BUCKET_NOT_FOUND,
    TYPE_ENTITY_NOT_FOUND,
    TYPE_PERMISSION,
    TYPE_QUERY_NOT_SUPPORTED,
    TYPE_SYNTAX,
    TYPE_USER,
    QueryFailure,
)
from smus_mesh_emulator.athena.models import CATALOG, DEFAULT_DATABASE, QueryRun
from smus_mesh_emulator.athena.tables import (
    LoadedTable,
    TableSnapshot,
    duckdb_type,
    load_snapshot,
    snapshot_table,
)
from smus_mesh_emulator.athena.writer import WritePlan, encode, write_plan


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


def connection() -> duckdb.DuckDBPyConnection:
    """A DuckDB that reads only what we register: no files, no extension downloads."""
    opened = duckdb.connect(
        config={
            "enable_external_access": False,
            "autoinstall_known_extensions": False,
            "autoload_known_extensions": False,
            "threads": 1,
        }
    )
    _statement(opened, "ATTACH ':memory:' AS awsdatacatalog")
    _statement(opened, "USE awsdatacatalog")
    return opened


def output_bucket(run: QueryRun) -> tuple[str, str]:
    """(bucket, key) of the query's output; the bucket must exist in the caller's account."""
    bucket, _, key = run.output_location.split("://", 1)[-1].partition("/")
    try:
        s3_backends[run.account]["aws"].get_bucket(bucket)
    except Exception as exc:  # MissingBucket
        raise QueryFailure(
            f"Unable to verify/create output bucket {bucket}", TYPE_BUCKET_NOT_FOUND
        ) from exc
    return bucket, key


@dataclass
class Prepared:
    """What a query needs from the cloud, taken under the emulator's lock: the SQL DuckDB
    runs (the query itself, or an INSERT's source), its tables' snapshots, where the result
    goes and, for an INSERT, how the target is written."""

    sql: str
    tree: dict[str, Any]
    tables: list[tuple[TableReference, TableSnapshot]]
    output: tuple[str, str]
    database: str
    target: WritePlan | None = None
    target_columns: list[int | None] = field(default_factory=list)


@dataclass
class Evaluated:
    """What DuckDB produced, before anything is written back."""

    columns: list[dict[str, Any]] = field(default_factory=list)
    rows: list[list[str | None]] = field(default_factory=list)
    table: pa.Table | None = None
    scanned_bytes: int = 0


def _check_context(run: QueryRun) -> str:
    context_catalog = (run.context or {}).get("Catalog")
    if context_catalog and context_catalog.lower() != CATALOG.lower():
        raise QueryFailure(
            f"CATALOG_NOT_FOUND: Catalog '{context_catalog.lower()}' does not exist",
            TYPE_ENTITY_NOT_FOUND,
        )
    return ((run.context or {}).get("Database") or DEFAULT_DATABASE).lower()


def _read_tables(
    run: QueryRun, tree: dict[str, Any], text: str
) -> list[tuple[TableReference, TableSnapshot]]:
    """Resolve, authorise (Lake Formation SELECT) and snapshot every table `text` reads."""
    references = [resolve(run, *ref, text=text) for ref in _references(tree)]
    for reference in references:
        if not authorised(run, reference):
            raise QueryFailure(
                f"Insufficient permissions to execute the query. Insufficient Lake "
                f"Formation permission(s) on {reference.schema}.{reference.name}",
                TYPE_PERMISSION,
            )
    tables, seen = [], set()
    for reference in references:
        if (reference.schema, reference.name) in seen:
            continue
        seen.add((reference.schema, reference.name))
        tables.append((reference, snapshot_table(reference.owner, reference)))
    return tables


def prepare(run: QueryRun, opened: duckdb.DuckDBPyConnection) -> Prepared:
    """Everything the query reads, checked and copied (call under the emulator's lock).

    Raises:
        QueryFailure: a missing catalog, database, table or output bucket, or a table the
            caller may not read (or, for an INSERT, write).
    """
    database = _check_context(run)
    output = output_bucket(run)
    tree_node = run.statement.tree
    if isinstance(tree_node, exp.Insert):
        return _prepare_insert(run, opened, tree_node, database, output)
    tree = _syntax_tree(opened, run.query)
    tables = _read_tables(run, tree, run.query)
    sql = run.query
    if tree_node is not None:
        rewritten = integer_divisions(tree_node, database, _columns(tables))
        if rewritten is not None:
            # Only a query with an integer division runs as sqlglot's DuckDB text.
            sql = rewritten.sql(dialect="duckdb")
            tree = _syntax_tree(opened, sql)
    return Prepared(sql, tree, tables, output, database)


def _columns(
    tables: list[tuple[TableReference, TableSnapshot]],
) -> list[tuple[str, str, list[dict[str, Any]]]]:
    return [(reference.schema, reference.name, s.columns) for reference, s in tables]


def _prepare_insert(
    run: QueryRun,
    opened: duckdb.DuckDBPyConnection,
    insert: exp.Insert,
    database: str,
    output: tuple[str, str],
) -> Prepared:
    """INSERT INTO target [(columns)] <query|VALUES>: the target (resolved in the caller's
    catalog, written only in the caller's account, Lake Formation INSERT), and the source
    query transpiled from Athena's SQL to DuckDB's by sqlglot."""
    target_node = insert.this
    listed = (
        [c.name.lower() for c in target_node.expressions]
        if isinstance(target_node, exp.Schema)
        else None
    )
    table = target_node.this if isinstance(target_node, exp.Schema) else target_node
    assert isinstance(table, exp.Table)
    reference = resolve(run, table.catalog, table.db, table.name, None)
    if reference.owner != run.account:
        raise QueryFailure(
            f"NOT_SUPPORTED: the emulator writes only tables of the caller's own account; "
            f"{reference.schema}.{reference.name} is in account {reference.owner}",
            TYPE_QUERY_NOT_SUPPORTED,
        )
    resource = table_resource(reference.owner, reference.database, reference.table)
    if not holds(run, resource, "INSERT"):
        raise QueryFailure(
            f"Insufficient permissions to execute the query. Insufficient Lake Formation "
            f"permission(s) on {reference.schema}.{reference.name}",
            TYPE_PERMISSION,
        )
    plan = write_plan(reference)
    names = [c["Name"].lower() for c in plan.columns]
    if listed is None:
        positions: list[int | None] = list(range(len(names)))
    else:
        unknown = [c for c in listed if c not in names]
        if unknown:
            raise QueryFailure(
                f"COLUMN_NOT_FOUND: Insert column name does not exist in target table: "
                f"{unknown[0]}",
                TYPE_USER,
            )
        positions = [listed.index(n) if n in listed else None for n in names]
    source = insert.expression
    assert source is not None
    sql = source.sql(dialect="duckdb")
    tree = _syntax_tree(opened, sql)
    tables = _read_tables(run, tree, sql)
    rewritten = integer_divisions(source, database, _columns(tables))
    if rewritten is not None:
        sql = rewritten.sql(dialect="duckdb")
        tree = _syntax_tree(opened, sql)
    return Prepared(sql, tree, tables, output, database, plan, positions)


def evaluate(run: QueryRun, prepared: Prepared, opened: duckdb.DuckDBPyConnection) -> Evaluated:
    """Load the snapshots and run the SQL (no lock: this is the long part; StopQueryExecution
    interrupts `opened`).

    Raises:
        QueryFailure: the SQL fails (worded as Athena words it).
        duckdb.InterruptException: the query was stopped.
    """
    evaluated = Evaluated()
    for index, (reference, snapshot) in enumerate(prepared.tables):
        loaded = load_snapshot(snapshot)
        evaluated.scanned_bytes += loaded.scanned_bytes
        _materialise(opened, reference, loaded, snapshot.columns, index)
    _statement(opened, f"CREATE SCHEMA IF NOT EXISTS {_quote(prepared.database)}")
    _statement(opened, f"USE awsdatacatalog.{_quote(prepared.database)}")
    started = time.perf_counter()
    try:
        if prepared.target is not None:
            _evaluate_insert(opened, prepared, evaluated)
        else:
            _evaluate_select(run, opened, prepared, evaluated)
    except duckdb.InterruptException:
        raise
    except duckdb.Error as exc:
        raise athena_failure(exc) from exc
    run.engine_ms = max(1, round((time.perf_counter() - started) * 1000))
    return evaluated


def _evaluate_select(
    run: QueryRun, opened: duckdb.DuckDBPyConnection, prepared: Prepared, evaluated: Evaluated
) -> None:
    # Athena's execution parameters are SQL literals: DuckDB evaluates each one.
    parameters = [_scalar(opened, f"SELECT {p}", []) for p in run.parameters or []]
    result = (
        opened.execute(prepared.sql, parameters) if parameters else opened.execute(prepared.sql)
    )
    description = result.description or []
    records = result.fetchall()
    names = athena_column_names(prepared.tree, [str(column[0]) for column in description])
    evaluated.columns = [
        column_info(name, column[1]) for name, column in zip(names, description, strict=True)
    ]
    evaluated.rows = [[format_value(value) for value in record] for record in records]


def _evaluate_insert(
    opened: duckdb.DuckDBPyConnection, prepared: Prepared, evaluated: Evaluated
) -> None:
    """The source rows cast to the target's column types, as Trino coerces an INSERT."""
    plan = prepared.target
    assert plan is not None
    source = opened.sql(prepared.sql)
    width = len([p for p in prepared.target_columns if p is not None])
    if len(source.columns) != width:
        table_types = ", ".join(
            c.get("Type") or "string"
            for c, p in zip(plan.columns, prepared.target_columns, strict=True)
            if p is not None
        )
        query_types = ", ".join(str(t).lower() for t in source.types)
        raise QueryFailure(
            f"TYPE_MISMATCH: Insert query has mismatched column types: Table: "
            f"[{table_types}], Query: [{query_types}]",
            TYPE_USER,
        )
    aliases = ", ".join(f"s{i}" for i in range(width))
    projections = []
    for column, position, kind in zip(
        plan.columns, prepared.target_columns, plan.duckdb_types, strict=True
    ):
        value = "NULL" if position is None else f"s{position}"
        projections.append(f"CAST({value} AS {kind}) AS {_quote(column['Name'])}")
    # Only our own aliases, quoted names and type names are interpolated, never data.
    cast = (
        f"SELECT {', '.join(projections)} "  # noqa: S608
        f"FROM ({prepared.sql}) AS source({aliases})"
    )
    table = opened.sql(cast).to_arrow_table()
    evaluated.table = table
    evaluated.rows = [[format_value(value) for value in row.values()] for row in table.to_pylist()]


def commit(run: QueryRun, prepared: Prepared, evaluated: Evaluated) -> None:
    """Write the results back (call under the emulator's lock): the result CSV of a
    SELECT, or an INSERT's new object and its manifest."""
    run.scanned_bytes = evaluated.scanned_bytes
    bucket, key = prepared.output
    plan = prepared.target
    if plan is None:
        run.columns, run.rows = evaluated.columns, evaluated.rows
        _write_results(run, bucket, key)
        return
    assert evaluated.table is not None
    s3 = s3_backends[run.account]["aws"]
    written: list[str] = []
    if evaluated.rows:
        object_key, body = encode(plan, evaluated.rows, evaluated.table)
        try:
            s3.get_bucket(plan.bucket)
        except Exception as exc:  # MissingBucket
            raise QueryFailure(
                f"HIVE_PATH_ALREADY_EXISTS: Unable to write to s3://{plan.bucket}/"
                f"{plan.prefix}: the bucket does not exist",
                TYPE_BUCKET_NOT_FOUND,
            ) from exc
        s3.put_object(plan.bucket, object_key, body)
        written.append(f"s3://{plan.bucket}/{object_key}")
        manifest = f"{key}-manifest.csv"
        s3.put_object(bucket, manifest, "".join(f"{w}\n" for w in written).encode())
        run.manifest_location = f"s3://{bucket}/{manifest}"
    run.update_count = len(evaluated.rows)


def _write_results(run: QueryRun, bucket: str, key: str) -> None:
    """The result CSV as Athena writes it: every value quoted, NULL as an empty field."""

    def line(values: list[str | None]) -> str:
        return ",".join("" if v is None else '"' + v.replace('"', '""') + '"' for v in values)

    header = [column["Name"] for column in run.columns]
    body = "".join(line(values) + "\n" for values in [header, *run.rows])
    s3_backends[run.account]["aws"].put_object(bucket, key, body.encode())


def _caret_position(message: str) -> str:
    """Athena's `line L:C: ` from DuckDB's `LINE L: <sql>` and caret lines."""
    lines = message.split("\n")
    for index, text in enumerate(lines[:-1]):
        if text.startswith("LINE ") and ": " in text:
            label, _ = text.split(": ", 1)
            caret = lines[index + 1].find("^")
            if caret >= 0 and label[5:].isdigit():
                return f"line {label[5:]}:{caret - len(label) - 2 + 1}: "
    return ""


def athena_failure(exc: duckdb.Error) -> QueryFailure:
    """A DuckDB error in Athena's words (Trino's error names), not DuckDB's."""
    message = str(exc)
    first = message.split("\n", 1)[0]
    detail = first.split(": ", 1)[-1].rstrip("!")
    position = _caret_position(message)
    quoted = first.split('"')
    if isinstance(exc, duckdb.BinderException) and "Referenced column" in first:
        return QueryFailure(
            f"COLUMN_NOT_FOUND: {position}Column '{quoted[1]}' cannot be resolved or "
            "requester is not authorized to access requested resources",
            TYPE_USER,
        )
    if isinstance(exc, duckdb.CatalogException) and "Function with name" in first:
        name = first.split("with name ", 1)[1].split(" ", 1)[0]
        return QueryFailure(
            f"FUNCTION_NOT_FOUND: {position}Function '{name}' not registered", TYPE_USER
        )
    if isinstance(exc, duckdb.ConversionException):
        return QueryFailure(f"INVALID_CAST_ARGUMENT: {detail}", TYPE_USER)
    if "Division by zero" in first:
        return QueryFailure("DIVISION_BY_ZERO: Division by zero", TYPE_USER)
    if isinstance(exc, duckdb.ParserException):
        return QueryFailure(f"SYNTAX_ERROR: {position}{detail}", TYPE_SYNTAX)
    return QueryFailure(f"GENERIC_USER_ERROR: {position}{detail}", TYPE_USER)


#: DuckDB type ids -> Athena (Trino) type names and their reported precision.
_ATHENA_TYPES = {
    "varchar": ("varchar", 2147483647),
    "integer": ("integer", 10),
    "bigint": ("bigint", 19),
    "smallint": ("smallint", 5),
    "tinyint": ("tinyint", 3),
    # DuckDB widens sum() of integers to HUGEINT; Trino's sum of integer types is bigint.
    "hugeint": ("bigint", 19),
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
    if isinstance(value, float) and not math.isfinite(value):
        # Java's names, as Trino prints a double: 1e0 / 0 is Infinity.
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
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
