"""Athena's Hive DDL and utility statements, run against the caller's Glue Data Catalog.

CREATE/DROP DATABASE, CREATE EXTERNAL TABLE and DROP TABLE change moto's Glue backend of
the caller's account, so Glue's API, Lake Formation and DataZone see what Athena made, in
the shape Athena gives it (`table_input`: TableType EXTERNAL_TABLE, the SerDe and formats
of the ROW FORMAT / STORED AS clauses, `EXTERNAL=TRUE`). SHOW and DESCRIBE read it. Each
statement is held to Lake Formation's rules for the caller (`catalog`), and the creator of
a database or table holds ALL on it, grantable, as Lake Formation's implicit creator
permissions give.

Everything here runs under the emulator's request lock: it only reads and writes metadata.
Failures are worded as Athena's Hive engine words them (`FAILED: SemanticException ...`,
`FAILED: Execution Error, return code 1 from org.apache.hadoop.hive.ql.exec.DDLTask. ...`).
"""

from __future__ import annotations

import re
from typing import Any

from moto.glue.models import glue_backends
from sqlglot import exp

from smus_mesh_emulator.athena.catalog import (
    database_resource,
    holds,
    may_create_database,
    may_use_location,
    sees_database,
    sees_table,
    table_resource,
)
from smus_mesh_emulator.athena.exceptions import (
    TYPE_DDL_FAILED,
    TYPE_PERMISSION,
    TYPE_QUERY_NOT_SUPPORTED,
    TYPE_SYNTAX,
    USER_ERROR,
    QueryFailure,
)
from smus_mesh_emulator.athena.models import DEFAULT_DATABASE, QueryRun
from smus_mesh_emulator.lakeformation import permissions as lf_permissions
from smus_mesh_emulator.lakeformation.models import by_name

DDL_TASK = "FAILED: Execution Error, return code 1 from org.apache.hadoop.hive.ql.exec.DDLTask. "

LAZY_SIMPLE_SERDE = "org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe"
PARQUET_SERDE = "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
TEXT_FORMATS = (
    "org.apache.hadoop.mapred.TextInputFormat",
    "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat",
)
PARQUET_FORMATS = (
    "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
    "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
)

#: STORED AS <name>: (SerDe, input format, output format), as Hive resolves them.
_STORED_AS = {
    "TEXTFILE": (LAZY_SIMPLE_SERDE, *TEXT_FORMATS),
    "PARQUET": (PARQUET_SERDE, *PARQUET_FORMATS),
    "ORC": (
        "org.apache.hadoop.hive.ql.io.orc.OrcSerde",
        "org.apache.hadoop.hive.ql.io.orc.OrcInputFormat",
        "org.apache.hadoop.hive.ql.io.orc.OrcOutputFormat",
    ),
    "AVRO": (
        "org.apache.hadoop.hive.serde2.avro.AvroSerDe",
        "org.apache.hadoop.hive.ql.io.avro.AvroContainerInputFormat",
        "org.apache.hadoop.hive.ql.io.avro.AvroContainerOutputFormat",
    ),
}

#: ROW FORMAT DELIMITED clauses and the LazySimpleSerDe parameter each sets (Hive's own
#: spelling, `colelction.delim` included).
_DELIMITED = {
    "fields": "field.delim",
    "escaped": "escape.delim",
    "collection_items": "colelction.delim",
    "map_keys": "mapkey.delim",
    "lines": "line.delim",
    "null": "serialization.null.format",
}

#: Hive's column width in DESCRIBE and SHOW COLUMNS output (MetaDataFormatUtils).
_ALIGNMENT = 20


def _failure(
    reason: str, message: str | None = None, error_type: int = TYPE_SYNTAX
) -> QueryFailure:
    return QueryFailure(reason, error_type, USER_ERROR, message)


def _no_database(name: str) -> QueryFailure:
    return _failure(f"FAILED: SemanticException [Error 10072]: Database does not exist: {name}")


def _no_table(name: str) -> QueryFailure:
    return _failure(f"FAILED: SemanticException [Error 10001]: Table not found {name}")


def _denied(required: str, on: str) -> QueryFailure:
    message = f"Insufficient Lake Formation permission(s): Required {required} on {on}"
    return _failure(f"{DDL_TASK}MetaException(message:{message})", message, TYPE_PERMISSION)


def _location_denied(location: str) -> QueryFailure:
    message = f"Insufficient Lake Formation permission(s) on {location}"
    return _failure(f"{DDL_TASK}MetaException(message:{message})", message, TYPE_PERMISSION)


def _glue(run: QueryRun) -> Any:
    return glue_backends[run.account][run.region]


def _names(table: exp.Expr, run: QueryRun) -> tuple[str, str, str]:
    """(database, table, name as written) of a table reference, lowercased as Athena's DDL
    lowercases names; the database defaults to the query context's."""
    if isinstance(table, exp.Schema):
        table = table.this
    assert isinstance(table, exp.Table)
    if table.catalog and table.catalog.lower() != "awsdatacatalog":
        raise _failure(
            f"NOT_SUPPORTED: catalog {table.catalog} is not emulated (only AwsDataCatalog)",
            error_type=TYPE_QUERY_NOT_SUPPORTED,
        )
    context_database = (run.context or {}).get("Database") or DEFAULT_DATABASE
    database = (table.db or context_database).lower()
    written = f"{table.db}.{table.name}" if table.db else table.name
    return database, table.name.lower(), written.lower()


def _hive_type(kind: exp.DataType) -> str:
    """A column type as Athena stores it in Glue: Hive's spelling, lowercase, no spaces
    (`decimal(10,2)`, `array<int>`, `struct<x:int,y:string>`)."""
    return kind.sql("hive").lower().replace(", ", ",").replace(": ", ":")


def _columns(definitions: list[exp.Expr]) -> list[dict[str, Any]]:
    columns = []
    for definition in definitions:
        if not isinstance(definition, exp.ColumnDef) or definition.args.get("kind") is None:
            raise _failure(f"FAILED: ParseException cannot recognize column {definition.sql()}")
        column: dict[str, Any] = {
            "Name": definition.name.lower(),
            "Type": _hive_type(definition.args["kind"]),
        }
        for constraint in definition.args.get("constraints") or []:
            if isinstance(constraint.args.get("kind"), exp.CommentColumnConstraint):
                column["Comment"] = constraint.args["kind"].this.name
        columns.append(column)
    return columns


def _literal_properties(properties: list[exp.Expr]) -> dict[str, str]:
    """`'key'='value'` pairs (TBLPROPERTIES, SERDEPROPERTIES): plain `Property` nodes, not
    its subclasses (LOCATION, EXTERNAL, ... are `Property` subclasses in sqlglot)."""
    return {p.this.name: p.args["value"].name for p in properties if type(p) is exp.Property}


def _storage(properties: list[exp.Expr]) -> tuple[str, dict[str, str], str, str]:
    """(SerDe, SerDe parameters, input format, output format) from ROW FORMAT / STORED AS."""
    serde, serde_parameters = LAZY_SIMPLE_SERDE, {"serialization.format": "1"}
    input_format, output_format = TEXT_FORMATS
    stored_as: exp.Expr | None = None
    for prop in properties:
        if isinstance(prop, exp.FileFormatProperty):
            stored_as = prop.this
    if isinstance(stored_as, exp.InputOutputFormat):
        input_format = stored_as.args["input_format"].name
        output_format = stored_as.args["output_format"].name
    elif stored_as is not None:
        name = stored_as.name.upper()
        if name not in _STORED_AS:
            raise _failure(
                f"NOT_SUPPORTED: STORED AS {name} is not supported by the emulator "
                f"(it knows {', '.join(sorted(_STORED_AS))})",
                error_type=TYPE_QUERY_NOT_SUPPORTED,
            )
        serde, input_format, output_format = _STORED_AS[name]
        if name != "TEXTFILE":
            serde_parameters = {"serialization.format": "1"}
    for prop in properties:
        if isinstance(prop, exp.RowFormatDelimitedProperty):
            serde = LAZY_SIMPLE_SERDE
            serde_parameters = {}
            for clause, parameter in _DELIMITED.items():
                value = prop.args.get(clause)
                if value is not None:
                    serde_parameters[parameter] = value.name
            delimiter = serde_parameters.get("field.delim")
            serde_parameters["serialization.format"] = delimiter or "1"
        elif isinstance(prop, exp.RowFormatSerdeProperty):
            serde = prop.this.name
            given = prop.args.get("serde_properties")
            serde_parameters = _literal_properties(given.expressions) if given else {}
        elif isinstance(prop, exp.SerdeProperties):
            serde_parameters.update(_literal_properties(prop.expressions))
    return serde, serde_parameters, input_format, output_format


def table_input(create: exp.Create, name: str, location: str) -> dict[str, Any]:
    """The Glue TableInput Athena makes for a CREATE EXTERNAL TABLE.

    Examples:
        >>> table_input(parse("CREATE EXTERNAL TABLE t (a int) STORED AS PARQUET "
        ...                   "LOCATION 's3://b/t/'"), "t", "s3://b/t/")["TableType"]
        'EXTERNAL_TABLE'
    """
    schema = create.this
    properties = list((create.args.get("properties") or exp.Properties(expressions=[])).expressions)
    columns = _columns(schema.expressions if isinstance(schema, exp.Schema) else [])
    partition_keys: list[dict[str, Any]] = []
    buckets: tuple[list[str], int] = ([], -1)
    description = None
    for prop in properties:
        if isinstance(prop, exp.PartitionedByProperty):
            partition_keys = _columns(prop.this.expressions)
        elif isinstance(prop, exp.ClusteredByProperty):
            buckets = (
                [c.name.lower() for c in prop.expressions],
                int(prop.args["buckets"].name),
            )
        elif isinstance(prop, exp.SchemaCommentProperty):
            description = prop.this.name
    serde, serde_parameters, input_format, output_format = _storage(properties)
    parameters = {"EXTERNAL": "TRUE", **_literal_properties(properties)}
    result: dict[str, Any] = {
        "Name": name,
        "Owner": "hadoop",
        "Retention": 0,
        "StorageDescriptor": {
            "Columns": columns,
            "Location": location,
            "InputFormat": input_format,
            "OutputFormat": output_format,
            "Compressed": False,
            "NumberOfBuckets": buckets[1],
            "SerdeInfo": {"SerializationLibrary": serde, "Parameters": serde_parameters},
            "BucketColumns": buckets[0],
            "SortColumns": [],
            "Parameters": {},
            "StoredAsSubDirectories": False,
        },
        "PartitionKeys": partition_keys,
        "TableType": "EXTERNAL_TABLE",
        "Parameters": parameters,
    }
    if description is not None:
        result["Description"] = description
    return result


def _is_s3(location: str) -> bool:
    return location.startswith("s3://") and len(location) > len("s3://")


# --- statements ----------------------------------------------------------------------------


def create_database(run: QueryRun) -> None:
    spec = run.statement.database
    assert spec is not None
    name = spec.name.lower()
    if by_name(_glue(run).databases, name) is not None:
        if spec.if_not_exists:
            return
        message = f"Database {name} already exists"
        raise _failure(f"{DDL_TASK}AlreadyExistsException(message:{message})", f"{message}.")
    if not may_create_database(run):
        raise _denied("Create Database", "Catalog")
    if spec.location is not None:
        if not _is_s3(spec.location):
            raise _failure(
                f"{DDL_TASK}MetaException(message:The location must be an Amazon S3 "
                f"location: {spec.location})",
                error_type=TYPE_DDL_FAILED,
            )
        if not may_use_location(run, spec.location):
            raise _location_denied(spec.location)
    database_input: dict[str, Any] = {"Name": name}
    if spec.comment is not None:
        database_input["Description"] = spec.comment
    if spec.location is not None:
        database_input["LocationUri"] = spec.location
    if spec.properties:
        database_input["Parameters"] = dict(spec.properties)
    _glue(run).create_database(name, database_input)
    resource = database_resource(run.account, name)
    lf_permissions.grant(run.account, run.region, run.principal, resource, ["ALL"], ["ALL"])


def create_table(run: QueryRun) -> None:
    create = run.statement.tree
    assert isinstance(create, exp.Create)
    database_name, name, written = _names(create.this, run)
    properties = (create.args.get("properties") or exp.Properties(expressions=[])).expressions
    table_parameters = _literal_properties(properties)
    if (table_parameters.get("table_type") or "").upper() == "ICEBERG":
        raise _failure(
            "NOT_SUPPORTED: Iceberg tables are not emulated (CREATE EXTERNAL TABLE makes Hive "
            "tables)",
            error_type=TYPE_QUERY_NOT_SUPPORTED,
        )
    if not any(isinstance(p, exp.ExternalProperty) for p in properties):
        # Athena: CREATE TABLE without EXTERNAL is for Iceberg tables only (wording: ADR 5).
        raise _failure(
            "FAILED: SemanticException Only external table creation is supported: use "
            "CREATE EXTERNAL TABLE (or an Iceberg table, which the emulator does not emulate)",
            error_type=TYPE_QUERY_NOT_SUPPORTED,
        )
    database = by_name(_glue(run).databases, database_name)
    if database is None:
        raise _no_database(database_name)
    database_input = database.input or {}
    if database_input.get("TargetDatabase"):
        raise _failure(
            f"NOT_SUPPORTED: {database_name} is a resource link; the emulator creates tables "
            "only in databases of the caller's own catalog",
            error_type=TYPE_QUERY_NOT_SUPPORTED,
        )
    if by_name(database.tables, name) is not None:
        if create.args.get("exists"):
            return
        raise _failure(
            f"{DDL_TASK}AlreadyExistsException(message:Table {name} already exists)",
            f"Table {name} already exists.",
        )
    if not holds(run, database_resource(run.account, database.name), "CREATE_TABLE"):
        raise _denied("Create Table", database.name)
    location = next((p.this.name for p in properties if isinstance(p, exp.LocationProperty)), None)
    database_location = database_input.get("LocationUri")
    if location is None:
        if not database_location:
            # Hive would use the warehouse; Athena has none to offer (ADR 5).
            raise _failure(
                f"FAILED: SemanticException LOCATION is required: database {database.name} "
                f"has no location to put table {written} under",
                error_type=TYPE_DDL_FAILED,
            )
        location = f"{database_location.rstrip('/')}/{name}"
    if not _is_s3(location):
        raise _failure(
            f"{DDL_TASK}MetaException(message:The location must be an Amazon S3 location: "
            f"{location})",
            error_type=TYPE_DDL_FAILED,
        )
    if not may_use_location(run, location, database_location):
        raise _location_denied(location)
    given = table_input(create, name, location)
    _glue(run).create_table(database.name, name, given)
    lf_permissions.grant(
        run.account,
        run.region,
        run.principal,
        table_resource(run.account, database.name, name),
        ["ALL"],
        ["ALL"],
    )


def drop_table(run: QueryRun) -> None:
    drop = run.statement.tree
    assert isinstance(drop, exp.Drop)
    exists_ok = bool(drop.args.get("exists"))
    for table in drop.args.get("tables") or []:
        database_name, name, written = _names(table, run)
        database = by_name(_glue(run).databases, database_name)
        if database is None:
            if exists_ok:
                continue
            raise _no_database(database_name)
        found = by_name(database.tables, name)
        if found is None:
            if exists_ok:
                continue
            raise _no_table(written)
        if not holds(run, table_resource(run.account, database.name, found.name), "DROP"):
            raise _denied("Drop", found.name)
        _glue(run).delete_table(database.name, found.name)


def drop_database(run: QueryRun) -> None:
    drop = run.statement.tree
    assert isinstance(drop, exp.Drop)
    table = (drop.args.get("tables") or [None])[0]
    assert isinstance(table, exp.Table)
    name = (table.name or table.db).lower()
    database = by_name(_glue(run).databases, name)
    if database is None:
        if drop.args.get("exists"):
            return
        raise _no_database(name)
    if name == DEFAULT_DATABASE:
        raise _failure(
            f"{DDL_TASK}MetaException(message:Can not drop default database)",
            error_type=TYPE_DDL_FAILED,
        )
    if not holds(run, database_resource(run.account, database.name), "DROP"):
        raise _denied("Drop", database.name)
    if database.tables and not drop.args.get("cascade"):
        message = f"Database {database.name} is not empty. One or more tables exist."
        raise _failure(f"{DDL_TASK}InvalidOperationException(message:{message})", message)
    for table_name in list(database.tables):
        # CASCADE drops each table: each needs its own DROP (the conservative reading).
        if not holds(run, table_resource(run.account, database.name, table_name), "DROP"):
            raise _denied("Drop", table_name)
    for table_name in list(database.tables):
        _glue(run).delete_table(database.name, table_name)
    _glue(run).delete_database(database.name)


# --- SHOW and DESCRIBE -----------------------------------------------------------------


def _matches(pattern: str | None, name: str) -> bool:
    """Hive's SHOW pattern: `*` any characters, `|` alternatives, case-insensitive."""
    if not pattern:
        return True
    alternatives = [
        "".join(".*" if ch == "*" else re.escape(ch) for ch in part.strip())
        for part in pattern.split("|")
    ]
    return any(re.fullmatch(alt, name, re.IGNORECASE) for alt in alternatives)


def _string_column(name: str) -> dict[str, Any]:
    return {
        "CatalogName": "hive",
        "SchemaName": "",
        "TableName": "",
        "Name": name,
        "Label": name,
        "Type": "string",
        "Precision": 0,
        "Scale": 0,
        "Nullable": "UNKNOWN",
        "CaseSensitive": False,
    }


def show(run: QueryRun) -> None:
    spec = run.statement.show
    assert spec is not None
    glue = _glue(run)
    if spec.what == "DATABASES":
        run.columns = [_string_column("database_name")]
        names = sorted(
            database.name
            for database in glue.databases.values()
            if sees_database(run, database) and _matches(spec.pattern, database.name)
        )
        run.rows = [[name] for name in names]
        return
    context_database = (run.context or {}).get("Database") or DEFAULT_DATABASE
    database_name = (spec.database or context_database).lower()
    database = by_name(glue.databases, database_name)
    if database is None:
        raise _no_database(database_name)
    if spec.what == "TABLES":
        run.columns = [_string_column("tab_name")]
        names = sorted(
            table
            for table in database.tables
            if sees_table(run, database.name, table) and _matches(spec.pattern, table)
        )
        run.rows = [[name] for name in names]
        return
    found = _visible_table(run, database, (spec.table or "").lower(), spec.table or "")
    run.columns = [_string_column("field")]
    table_input = dict(found.as_dict())
    descriptor = table_input.get("StorageDescriptor") or {}
    every = list(descriptor.get("Columns") or []) + list(table_input.get("PartitionKeys") or [])
    run.rows = [[column["Name"].ljust(_ALIGNMENT)] for column in every]


def _visible_table(run: QueryRun, database: Any, name: str, written: str) -> Any:
    found = by_name(database.tables, name)
    if found is None:
        raise _no_table(written)
    if not sees_table(run, database.name, found.name):
        raise _denied("Describe", found.name)
    return found


def _describe_line(column: dict[str, Any]) -> str:
    comment = column.get("Comment")
    return "\t".join(
        (
            column["Name"].ljust(_ALIGNMENT),
            column["Type"].ljust(_ALIGNMENT),
            comment if comment else "".ljust(_ALIGNMENT),
        )
    )


def describe(run: QueryRun) -> None:
    """DESCRIBE [db.]table: one row per column, Hive's padded `name\\ttype\\tcomment`
    (one value per row, as Athena returns it), then the partition columns."""
    tree = run.statement.tree
    assert isinstance(tree, exp.Describe)
    database_name, name, written = _names(tree.this, run)
    database = by_name(_glue(run).databases, database_name)
    if database is None:
        raise _no_database(database_name)
    found = _visible_table(run, database, name, written)
    table_input = dict(found.as_dict())
    descriptor = table_input.get("StorageDescriptor") or {}
    partition_keys = list(table_input.get("PartitionKeys") or [])
    lines = [_describe_line(c) for c in [*(descriptor.get("Columns") or []), *partition_keys]]
    if partition_keys:
        lines += [
            "\t".join(["".ljust(_ALIGNMENT)] * 3),
            "# Partition Information",
            "\t".join(h.ljust(_ALIGNMENT) for h in ("# col_name", "data_type", "comment")),
            "\t".join(["".ljust(_ALIGNMENT)] * 3),
            *(_describe_line(c) for c in partition_keys),
        ]
    run.columns = [_string_column(c) for c in ("col_name", "data_type", "comment")]
    run.rows = [[line] for line in lines]


#: SubstatementType -> how the statement runs.
RUNNERS = {
    "CREATE_DATABASE": create_database,
    "CREATE_TABLE": create_table,
    "DROP_TABLE": drop_table,
    "DROP_DATABASE": drop_database,
    "SHOW_DATABASES": show,
    "SHOW_TABLES": show,
    "SHOW_COLUMNS": show,
    "DESCRIBE_TABLE": describe,
}


def run_hive(run: QueryRun) -> None:
    """Run a Hive DDL or utility statement (under the emulator's lock).

    Raises:
        QueryFailure: what makes Athena's Hive engine fail the statement.
    """
    runner = RUNNERS.get(run.statement.substatement_type)
    if runner is None:
        raise _failure(
            f"NOT_SUPPORTED: {run.statement.substatement_type} is not supported by the emulator",
            error_type=TYPE_QUERY_NOT_SUPPORTED,
        )
    runner(run)
