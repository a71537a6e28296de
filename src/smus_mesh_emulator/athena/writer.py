"""INSERT INTO's new objects, as Athena's Hive writer makes them under the table's location.

One object per INSERT, named like Athena's (`<yyyyMMdd_HHmmss>_<n>_<id>_<uuid>`), in the
table's format: delimited text (LazySimpleSerDe: the table's field delimiter and NULL
spelling), OpenCSVSerde (every value quoted), JSON lines, or Parquet. Text and Parquet are
GZIP-compressed, Athena's default write compression for Hive tables (text objects end in
`.gz`, which the reader uses). A table with `skip.header.line.count` = 1 gets a header
line, as Trino's writer does; more header lines are refused as Trino refuses them.

`write_plan` reads the table under the emulator's lock; `encode` builds the bytes without it.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import random
import string
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from smus_mesh_emulator.athena.catalog import TableReference, glue_input
from smus_mesh_emulator.athena.exceptions import (
    TYPE_DECODER_NOT_SUPPORTED,
    TYPE_QUERY_NOT_SUPPORTED,
    QueryFailure,
)
from smus_mesh_emulator.athena.tables import TableFormat, duckdb_type, table_format


@dataclass(frozen=True)
class WritePlan:
    """Where and how an INSERT writes: the target's location, format and columns."""

    bucket: str
    prefix: str
    fmt: TableFormat
    columns: list[dict[str, Any]]
    header: bool

    @property
    def duckdb_types(self) -> list[str]:
        return [duckdb_type(c.get("Type") or "string") or "VARCHAR" for c in self.columns]


def write_plan(reference: TableReference) -> WritePlan:
    """How an INSERT writes into the table (call under the emulator's lock).

    Raises:
        QueryFailure: a partitioned table, a complex column type, a format the emulator
            does not write, or more than one header line.
    """
    table_input = glue_input(reference.glue)
    name = f"{reference.database}.{reference.table}"
    descriptor = table_input.get("StorageDescriptor") or {}
    columns = list(descriptor.get("Columns") or [])
    if table_input.get("PartitionKeys"):
        raise QueryFailure(
            f"NOT_SUPPORTED: the emulator does not INSERT INTO partitioned tables ({name})",
            TYPE_QUERY_NOT_SUPPORTED,
        )
    complex_columns = [c["Name"] for c in columns if duckdb_type(c.get("Type") or "") is None]
    if complex_columns:
        raise QueryFailure(
            f"NOT_SUPPORTED: the emulator does not INSERT INTO columns of complex types "
            f"({name}: {', '.join(complex_columns)})",
            TYPE_QUERY_NOT_SUPPORTED,
        )
    fmt = table_format(table_input, name)
    if fmt.header_lines > 1:
        raise QueryFailure(
            "HIVE_UNSUPPORTED_FORMAT: Inserting into Hive table with value of "
            "skip.header.line.count property greater than 1 is not supported",
            TYPE_DECODER_NOT_SUPPORTED,
        )
    location = str(descriptor.get("Location") or "")
    bucket, _, prefix = location.split("://", 1)[-1].partition("/")
    prefix = prefix.strip("/")
    return WritePlan(bucket, f"{prefix}/" if prefix else "", fmt, columns, fmt.header_lines == 1)


def object_name(now: datetime | None = None) -> str:
    """`<yyyyMMdd_HHmmss>_<5 digits>_<5 letters>_<uuid>`, the shape of Athena's file names.

    Examples:
        >>> object_name()[:16]
        '20261128_101500_'
    """
    moment = now or datetime.now(UTC)
    sequence = f"{random.randrange(100000):05d}"
    tag = "".join(random.choices(string.ascii_lowercase, k=5))
    return f"{moment:%Y%m%d_%H%M%S}_{sequence}_{tag}_{uuid.uuid4()}"


def encode(plan: WritePlan, rows: list[list[str | None]], table: pa.Table) -> tuple[str, bytes]:
    """(key, bytes) of the new object: `rows` (Athena's text forms) for the text formats,
    `table` (typed) for Parquet.

    Examples:
        >>> encode(plan, [["a", None]], table)[0].endswith(".gz")
        True
    """
    key = plan.prefix + object_name()
    names = [c["Name"] for c in plan.columns]
    fmt = plan.fmt
    if fmt.kind == "parquet":
        buffer = io.BytesIO()
        pq.write_table(table.rename_columns(names), buffer, compression="gzip")
        return key, buffer.getvalue()
    text = io.StringIO()
    if fmt.kind == "csv":
        if plan.header:
            text.write(fmt.delimiter.join(names) + "\n")
        for row in rows:
            text.write(fmt.delimiter.join(fmt.null_format if v is None else v for v in row) + "\n")
    elif fmt.kind == "opencsv":
        writer = csv.writer(
            text,
            delimiter=fmt.delimiter,
            quotechar=fmt.quote,
            escapechar=fmt.escape,
            quoting=csv.QUOTE_ALL,
            lineterminator="\n",
        )
        if plan.header:
            writer.writerow(names)
        writer.writerows([["" if v is None else v for v in row] for row in rows])
    else:
        for record in table.rename_columns(names).to_pylist():
            text.write(json.dumps(record, default=str) + "\n")
    return key + ".gz", gzip.compress(text.getvalue().encode())
