"""Reading a Glue table's data from moto's S3, in-process: CSV (LazySimpleSerDe, OpenCSVSerde),
JSON and Parquet, partitions included, as positional Arrow tables (DuckDB's s3:// would
need an extension download, research/emulation.md §5).
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import re
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from moto.s3.models import FakeDeleteMarker, s3_backends

from smus_mesh_emulator.athena.catalog import TableReference, glue_input
from smus_mesh_emulator.athena.exceptions import (
    TYPE_BUCKET_NOT_FOUND,
    TYPE_DECODER_NOT_SUPPORTED,
    QueryFailure,
)

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
    #: how LazySimpleSerDe spells NULL (`serialization.null.format`)
    null_format: str = "\\N"


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
        return TableFormat(
            "csv",
            delimiter=delimiter,
            header_lines=header_lines,
            null_format=serde_parameters.get("serialization.null.format", "\\N"),
        )
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
            _fit([None if v == fmt.null_format else v for v in line.split(fmt.delimiter)], width)
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


@dataclass
class TableSnapshot:
    """What a query reads of one table, copied out of the catalog and S3 under the
    emulator's lock, so that parsing and SQL run without it: the Glue columns (partition
    keys last), how the files are read, and each partition's values and objects."""

    columns: list[dict[str, Any]]
    fmt: TableFormat
    parts: list[tuple[list[str], list[tuple[str, bytes]]]]


def snapshot_table(account: str, reference: TableReference) -> TableSnapshot:
    """Copy every file of the table (or of each of its registered partitions, with the
    partition values). Call it under the emulator's lock.

    Raises:
        QueryFailure: a SerDe the emulator does not read, or a missing bucket.

    Examples:
        >>> [c["Name"] for c in snapshot_table("111111111111", reference).columns]
        ['id', 'region', 'amount']
    """
    table_input = glue_input(reference.glue)
    descriptor = table_input.get("StorageDescriptor") or {}
    columns = list(descriptor.get("Columns") or [])
    partition_keys = list(table_input.get("PartitionKeys") or [])
    fmt = table_format(table_input, f"{reference.database}.{reference.table}")
    if partition_keys:
        locations = [
            (
                (partition.partition_input.get("StorageDescriptor") or {}).get("Location"),
                list(partition.values),
            )
            for partition in reference.glue.partitions.values()
        ]
    else:
        locations = [(descriptor.get("Location"), [])]
    parts = [(values, _objects(account, location)) for location, values in locations if location]
    return TableSnapshot(columns + partition_keys, fmt, parts)


def load_snapshot(snapshot: TableSnapshot) -> LoadedTable:
    """Parse a snapshot's files into Arrow tables (no lock needed).

    Examples:
        >>> load_snapshot(snapshot_table("111111111111", reference)).scanned_bytes
        63
    """
    width = len(snapshot.columns)
    names = [column["Name"] for column in snapshot.columns]
    sources, scanned = [], 0
    for values, objects in snapshot.parts:
        data_names = names[: width - len(values)]
        for key, data in objects:
            scanned += len(data)
            if snapshot.fmt.kind == "parquet":
                arrays = _parquet_columns(data, data_names)
            else:
                rows = _text_rows(key, data, snapshot.fmt, data_names)
                arrays = [
                    pa.array([row[i] for row in rows], pa.string()) for i in range(len(data_names))
                ]
            count = len(arrays[0]) if arrays else 0
            arrays += [pa.array([value] * count, pa.string()) for value in values]
            sources.append(pa.table(arrays, names=[f"c{i}" for i in range(len(arrays))]))
    return LoadedTable(sources, scanned)
