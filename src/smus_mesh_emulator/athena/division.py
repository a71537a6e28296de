"""Trino's integer division on DuckDB.

Athena (Trino) divides two integers as integers: `7 / 2` is 3, `-7 / 2` is -3 (truncated
toward zero) and `1 / 0` fails the query with DIVISION_BY_ZERO. DuckDB's `/` is always
float division (3.5, and `1 / 0` is inf), so a `/` whose operands are both integer types
becomes DuckDB's `//`, which truncates toward zero, keeps the operands' integer type and
raises "Division by zero" (reworded by `sql.athena_failure`). Decimal and double division
are left to DuckDB's `/`.

The operand types come from sqlglot's type annotation of a qualified copy of the query,
with the Glue columns of the tables it reads as the schema; the copy keeps the divisions
in the same order (no alias or star expansion), so its i-th division is the query's i-th.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlglot import exp
from sqlglot.optimizer.annotate_types import annotate_types
from sqlglot.optimizer.qualify import qualify
from sqlglot.schema import MappingSchema

from smus_mesh_emulator.athena.models import CATALOG

_INTEGERS = tuple(exp.DataType.INTEGER_TYPES)


def _schema(tables: Iterable[tuple[str, str, list[dict[str, Any]]]]) -> MappingSchema:
    mapping: dict[str, dict[str, dict[str, str]]] = {}
    for schema, name, columns in tables:
        mapping.setdefault(schema, {})[name] = {
            c["Name"].lower(): c.get("Type") or "string" for c in columns
        }
    return MappingSchema({CATALOG.lower(): mapping} if mapping else {}, dialect="athena")


def _is_integer(node: exp.Expr) -> bool:
    kind = node.type
    return kind is not None and kind.is_type(*_INTEGERS)


def integer_divisions(
    tree: exp.Expr, database: str, tables: Iterable[tuple[str, str, list[dict[str, Any]]]]
) -> exp.Expr | None:
    """A copy of `tree` (parsed with the Athena dialect) whose integer-by-integer `/` are
    `exp.IntDiv`, or None when it has none (or its types cannot be worked out, in which
    case DuckDB runs the query as written).

    `tables`: (schema, name, Glue columns) of every table the query reads.
    """
    divisions = list(tree.find_all(exp.Div))
    if not divisions:
        return None
    schema = _schema(tables)
    try:
        typed = qualify(
            tree.copy(),
            dialect="athena",
            db=database,
            catalog=CATALOG.lower(),
            schema=schema,
            expand_alias_refs=False,
            expand_stars=False,
            validate_qualify_columns=False,
            quote_identifiers=False,
            identify=False,
        )
        annotate_types(typed, schema=schema, dialect="athena")
    except Exception:
        # sqlglot could not type it (a lambda, a DuckDB-only table function, ...): the
        # query runs as written rather than fail on the emulator's side.
        return None
    typed_divisions = list(typed.find_all(exp.Div))
    if len(typed_divisions) != len(divisions):
        return None
    integer = {
        index
        for index, division in enumerate(typed_divisions)
        if _is_integer(division.this) and _is_integer(division.expression)
    }
    if not integer:
        return None
    rewritten = tree.copy()
    for index, division in enumerate(list(rewritten.find_all(exp.Div))):
        if index in integer:
            division.replace(exp.IntDiv(this=division.this, expression=division.expression))
    return rewritten
