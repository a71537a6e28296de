"""DataZone output dicts as rest-json responses, without moto's generic serialiser.

Why: moto's serialiser walks the output shape through several layers of generic
machinery per value (attribute pickers, key paths, wrappers); it was three quarters
of the time the emulator spent on a DataZone call, and list answers of a hundred
subscriptions took 10-15 ms each. This walks the same shape directly, for the
outputs DataZone has: body members only, structures as dicts, default or explicit
timestamp formats (converted by moto's own TimestampSerializer), the model's status
code.

It is not a second opinion on the wire format: anything outside that subset raises
`Unsupported` and the caller uses moto's serialiser, and in strict mode (every test)
each kind of response (`signature`) is serialised both ways and a difference fails the
request (responses.py), so the two cannot drift apart unnoticed.
"""

from __future__ import annotations

import json
from enum import Enum
from functools import cache
from typing import Any

from botocore.model import OperationModel, Shape, StructureShape
from moto.core.serialize import RestJSONSerializer, TimestampSerializer

_TIMESTAMPS = TimestampSerializer(RestJSONSerializer.DEFAULT_TIMESTAMP_FORMAT)
_DEFAULT_FORMAT = RestJSONSerializer.DEFAULT_TIMESTAMP_FORMAT


class Unsupported(Exception):
    """A value or shape this serialiser leaves to moto's."""


@cache
def _body_only(shape: StructureShape | None) -> bool:
    if shape is None:
        return True
    if shape.serialization.get("payload"):
        return False
    return all("location" not in member.serialization for member in shape.members.values())


def response(
    operation_model: OperationModel, result: dict[str, Any]
) -> tuple[int, dict[str, str], str]:
    """(status, headers, body) of a successful call, as moto's RestJSONSerializer makes them.

    Raises:
        Unsupported: the output needs what only moto's serialiser does.
    """
    shape = operation_model.output_shape
    assert shape is None or isinstance(shape, StructureShape)
    if not _body_only(shape) or operation_model.has_event_stream_output:
        raise Unsupported(operation_model.name)
    status = int(operation_model.http.get("responseCode", RestJSONSerializer.DEFAULT_RESPONSE_CODE))
    body = _value(shape, result) if shape is not None else {}
    return status, {"Content-Type": RestJSONSerializer.CONTENT_TYPE}, json.dumps(body)


def _value(shape: Shape, value: Any) -> Any:
    kind = shape.type_name
    if kind == "structure":
        assert isinstance(shape, StructureShape)
        if shape.is_document_type:
            return value
        if not isinstance(value, dict):
            raise Unsupported(f"{shape.name}: {type(value).__name__}")
        out: dict[str, Any] = {}
        for name, member in shape.members.items():
            item = value.get(name)
            if item is not None:
                out[member.serialization.get("name", name)] = _value(member, item)
        return out
    if kind == "list":
        member = shape.member
        return [None if item is None else _value(member, item) for item in value]
    if kind == "map":
        values = shape.value
        if any(item is None for item in value.values()):
            raise Unsupported(f"{shape.name}: a None map value")
        return {key: _value(values, item) for key, item in value.items()}
    if kind == "string":
        if isinstance(value, Enum):
            value = value.value
        return value if value in ({}, []) else str(value)
    if kind == "timestamp":
        timestamp_format = shape.serialization.get("timestampFormat", _DEFAULT_FORMAT)
        return _TIMESTAMPS._convert_timestamp_to_str(value, timestamp_format)
    if kind in ("integer", "long"):
        return int(value)
    if kind in ("float", "double"):
        return float(value)
    if kind == "blob":
        raise Unsupported(f"{shape.name}: blob")
    return value


def signature(shape: Shape | None, value: Any) -> Any:
    """What `response` does with `value` depends on, as a hashable: which keys are there
    (and which are None), the types of the values, which strings, numbers and containers
    are empty, and each list's and map's distinct item signatures. Two results with the
    same signature go through the same branches of `_value` (and of moto's serialiser: its
    converters act on the type of a value, not on what it says), so once moto's serialiser
    agreed on one of them, it agrees on the others (strict mode, ADR 35). A document
    value is its own signature: both serialisers pass it through whole."""
    if shape is None:
        return None
    kind = shape.type_name
    if kind == "structure" and isinstance(value, dict):
        assert isinstance(shape, StructureShape)
        if shape.is_document_type:
            return ("document", json.dumps(value, sort_keys=True, default=repr))
        members = shape.members
        return frozenset(
            (key, signature(members[key], item))
            if item is not None and key in members
            else (key, item is None)
            for key, item in value.items()
        )
    if kind == "list" and isinstance(value, list):
        member = shape.member
        return ("list", frozenset(None if i is None else signature(member, i) for i in value))
    if kind == "map" and isinstance(value, dict):
        values = shape.value
        return (
            "map",
            frozenset(
                (type(key), not key, None if item is None else signature(values, item))
                for key, item in value.items()
            ),
        )
    return (type(value), not value)
