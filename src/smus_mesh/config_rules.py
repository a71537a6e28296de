"""Rules a config value must follow that a regular expression cannot state well.

Each function returns the canonical value or raises `ValueError` with a message
for the user (pydantic turns it into a problem at the field's path):

* `check_region`: a region of botocore's partition data (`xx-fake-9` is not one).
* `check_bucket` / `check_prefix`: S3's bucket naming rules and a key prefix that
  cannot climb out of its bucket (`..`) or be empty.
* `ColumnType` / `parse_value`: a Glue column type, and a row value parsed against it
  (int/bigint/smallint/tinyint with their ranges, double/float, decimal(p,s) within
  its precision and scale, date, timestamp, boolean, string).
* `check_sql`: a check is one read-only query (`SELECT`, `WITH ... SELECT`, set
  operations), verified with a real SQL parser (sqlglot's Athena dialect), never a
  regular expression.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import logging
import math
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation, localcontext
from functools import cache
from typing import Any

from smus_mesh.config_file import shown

#: `{table}` placeholders of a check's SQL.
PLACEHOLDER = re.compile(r"\{(\w[\w-]*)\}")


# --- regions ------------------------------------------------------------------------------


@cache
def known_regions() -> frozenset[str]:
    """Every region of every partition in the pinned botocore's endpoint data."""
    import botocore.loaders

    endpoints = botocore.loaders.create_loader().load_data("endpoints")
    return frozenset(
        region for partition in endpoints["partitions"] for region in partition["regions"]
    )


def parquet_writer_installed() -> bool:
    """Whether pyarrow, which writes a Parquet table's sample rows, can be imported: it is
    the `parquet` extra (about 170 MB), not a dependency of the tool."""
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        return False
    return True


def check_region(value: str) -> str:
    if value not in known_regions():
        raise ValueError(
            f"unknown AWS region {shown(value)}; expected one of botocore's regions, "
            "like us-east-1 or eu-west-1"
        )
    return value


# --- S3 -----------------------------------------------------------------------------------

_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_RESERVED_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
_RESERVED_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")


def check_bucket(name: str) -> str:
    """S3's general purpose bucket naming rules (docs: 'Bucket naming rules')."""
    if not _BUCKET.fullmatch(name):
        raise ValueError(
            f"bucket name {shown(name)}: 3-63 characters of lower-case letters, digits, "
            "'.' and '-', starting and ending with a letter or digit"
        )
    if ".." in name:
        raise ValueError(f"bucket name {shown(name)} has two adjacent periods")
    try:
        ipaddress.IPv4Address(name)
    except ValueError:
        pass
    else:
        raise ValueError(f"bucket name {shown(name)} is formatted as an IP address")
    if name.startswith(_RESERVED_PREFIXES) or name.endswith(_RESERVED_SUFFIXES):
        raise ValueError(f"bucket name {shown(name)} uses a prefix or suffix S3 reserves")
    return name


def check_prefix(prefix: str) -> str:
    """A key prefix of `/`-separated segments, none empty, `.` or `..`, and printable."""
    if len(prefix.encode("utf-8")) > 900:
        raise ValueError("the prefix is longer than 900 bytes (S3 keys are at most 1,024)")
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in prefix):
        raise ValueError(f"the prefix {shown(prefix)} has control characters")
    # Only the one closing slash goes: `data//` has an empty segment (the fuzzer found that
    # rstrip("/") let it through).
    segments = (prefix[:-1] if prefix.endswith("/") else prefix).split("/")
    for segment in segments:
        if segment in ("", ".", ".."):
            raise ValueError(
                f"the prefix {shown(prefix)} has an empty, '.' or '..' segment; give a "
                "plain path like s3://bucket/data/table/"
            )
    return prefix


# --- column types and row values ------------------------------------------------------------

_INT_RANGES = {
    "tinyint": 8,
    "smallint": 16,
    "int": 32,
    "integer": 32,
    "bigint": 64,
}
_DECIMAL = re.compile(r"decimal\(\s*(\d{1,2})\s*,\s*(\d{1,2})\s*\)")
_SIMPLE = frozenset({*_INT_RANGES, "double", "float", "boolean", "date", "timestamp", "string"})
_ASCII_INT = re.compile(r"[+-]?[0-9]{1,40}")
_ASCII_NUMBER = re.compile(
    r"[+-]?([0-9]{1,40}(\.[0-9]{0,40})?|\.[0-9]{1,40})([eE][+-]?[0-9]{1,3})?"
)


@dataclass(frozen=True)
class ColumnType:
    """A Glue column type this tool writes sample rows for."""

    name: str
    precision: int = 0
    scale: int = 0

    @classmethod
    def parse(cls, text: str) -> ColumnType:
        lowered = text.strip().lower()
        if lowered in _SIMPLE:
            return cls(lowered)
        match = _DECIMAL.fullmatch(lowered)
        if match:
            precision, scale = int(match.group(1)), int(match.group(2))
            if not 1 <= precision <= 38 or scale > precision:
                raise ValueError(
                    f"decimal({precision},{scale}): precision is 1-38 and scale at most "
                    "the precision"
                )
            return cls("decimal", precision, scale)
        raise ValueError(
            f"{shown(text)} is not a supported Glue type (string, int, bigint, smallint, "
            "tinyint, double, float, boolean, date, timestamp, decimal(p,s))"
        )

    def __str__(self) -> str:
        if self.name == "decimal":
            return f"decimal({self.precision},{self.scale})"
        return self.name

    def parse_value(self, value: Any) -> Any:
        """`value` as this type's Python value (None stays None: a NULL); ValueError if it
        is not one."""
        if value is None:
            return None
        if isinstance(value, list | dict | set | tuple | bytes):
            raise ValueError(f"expected a {self} value, got a {type(value).__name__}")
        parser = getattr(self, f"_{self.name}", None) or self._integer
        result: Any = parser(value)
        return result

    def _integer(self, value: Any) -> int:
        bits = _INT_RANGES[self.name]
        number: int | None = None
        if isinstance(value, bool):
            number = None
        elif isinstance(value, int):
            number = value
        elif isinstance(value, float) and value.is_integer():
            number = int(value)
        elif isinstance(value, str) and _ASCII_INT.fullmatch(value.strip()):
            number = int(value.strip())
        if number is None:
            raise ValueError(f"{shown(value)} is not an integer ({self})")
        low, high = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
        if not low <= number <= high:
            raise ValueError(f"{shown(value)} is outside the range of {self} ({low} to {high})")
        return number

    def _double(self, value: Any) -> float:
        number: float | None = None
        if isinstance(value, int | float) and not isinstance(value, bool):
            number = float(value)
        elif isinstance(value, str) and _ASCII_NUMBER.fullmatch(value.strip()):
            number = float(value.strip())
        if number is None or not math.isfinite(number):
            raise ValueError(f"{shown(value)} is not a finite number ({self})")
        return number

    _float = _double

    def _decimal(self, value: Any) -> Decimal:
        number: Decimal | None = None
        if isinstance(value, int) and not isinstance(value, bool):
            number = Decimal(value)
        elif isinstance(value, float) and math.isfinite(value):
            number = Decimal(repr(value))  # 12.3 is 12.3, not its binary expansion
        elif isinstance(value, str) and _ASCII_NUMBER.fullmatch(value.strip()):
            try:
                number = Decimal(value.strip())
            except InvalidOperation:
                number = None
        if number is None or not number.is_finite():
            raise ValueError(f"{shown(value)} is not a decimal number ({self})")
        if number != 0 and number.adjusted() + 1 > self.precision - self.scale:
            raise ValueError(
                f"{shown(value)} has more than {self.precision - self.scale} digits before "
                f"the decimal point ({self})"
            )
        with localcontext() as context:
            context.prec = 100  # enough for any decimal(38, s) after the check above
            exact = number.quantize(Decimal(1).scaleb(-self.scale))
            if exact != number:
                raise ValueError(
                    f"{shown(value)} has more than {self.scale} decimal places ({self})"
                )
        return exact

    def _boolean(self, value: Any) -> bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in ("true", "false"):
            return value.strip().lower() == "true"
        raise ValueError(f"{shown(value)} is not a boolean (true or false)")

    def _date(self, value: Any) -> dt.date:
        if isinstance(value, dt.datetime):
            raise ValueError(f"{shown(value)} is a timestamp, not a date (YYYY-MM-DD)")
        if isinstance(value, dt.date):
            return value
        if isinstance(value, str):
            try:
                return dt.date.fromisoformat(value.strip())
            except ValueError:
                pass
        raise ValueError(f"{shown(value)} is not a date (YYYY-MM-DD)")

    def _timestamp(self, value: Any) -> dt.datetime:
        if isinstance(value, dt.datetime):
            return value
        if isinstance(value, dt.date):
            return dt.datetime(value.year, value.month, value.day)
        if isinstance(value, str):
            try:
                return dt.datetime.fromisoformat(value.strip())
            except ValueError:
                pass
        raise ValueError(f"{shown(value)} is not a timestamp (YYYY-MM-DD HH:MM:SS)")

    def _string(self, value: Any) -> str:
        if isinstance(value, bool):
            return str(value).lower()
        if isinstance(value, str | int | float | Decimal | dt.date):
            return str(value)
        raise ValueError(f"{shown(value)} is not a string")


# --- checks' SQL ----------------------------------------------------------------------------


def check_sql(sql: str) -> str:
    """`sql` if it is exactly one read-only query; ValueError saying why not otherwise.

    `{table}` placeholders are replaced by a quoted identifier before parsing. The
    dialect is Athena's (Trino). A statement the parser cannot read is refused too:
    Athena would refuse it later, after the whole set-up was built.
    """
    import sqlglot
    from sqlglot import expressions as exp
    from sqlglot.errors import ParseError, TokenError

    text = PLACEHOLDER.sub(lambda m: f'"{m.group(1)}"', sql)
    # sqlglot logs a warning for a statement it can only keep as a raw command (VACUUM,
    # MSCK...): such a statement is refused below with a message of our own.
    logger = logging.getLogger("sqlglot")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        statements = [s for s in sqlglot.parse(text, dialect="athena") if s is not None]
    except ParseError as exc:
        first = exc.errors[0] if exc.errors else {}
        where = f" at line {first.get('line')}, column {first.get('col')}" if first else ""
        description = first.get("description") or "cannot be parsed"
        raise ValueError(f"not valid SQL{where}: {description}") from None
    except (TokenError, RecursionError) as exc:
        raise ValueError(f"not valid SQL: {str(exc)[:200]}") from None
    finally:
        logger.setLevel(level)
    if len(statements) != 1:
        raise ValueError(
            f"a check is one SQL statement; this has {len(statements)} (remove the ';')"
            if statements
            else "a check needs a SELECT statement"
        )
    (statement,) = statements
    if not isinstance(statement, exp.Query):
        raise ValueError(
            f"a check is a read-only query (SELECT or WITH ... SELECT), not {statement.key.upper()}"
        )
    forbidden = (exp.DML, exp.DDL, exp.Into, exp.Command, exp.Drop, exp.Alter)
    for node in statement.walk():
        if isinstance(node, forbidden):
            raise ValueError(
                f"a check only reads: {node.key.upper()} inside the query is not allowed"
            )
    return sql
