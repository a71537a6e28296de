"""Check an emulator response against the pinned botocore model, the way boto3 will read it.

1. The wire bytes are parsed by botocore's own parser for the protocol, so the
   check sees exactly what the tool gets (timestamps as datetimes, header members).
2. `botocore.validate.ParamValidator` checks required members, types and
   lengths/ranges (it works on any structure shape, not only inputs).
3. A walk of the shape adds what ParamValidator skips: enums, tagged unions
   (exactly one member set) and string patterns (Smithy patterns are unanchored,
   hence `search`; the `regex` module understands `\\p{L}`).
"""

from __future__ import annotations

import datetime
import re
from functools import cache
from typing import Any

import botocore.session
import regex
from botocore.model import (
    ListShape,
    MapShape,
    OperationModel,
    ServiceModel,
    Shape,
    StructureShape,
)
from botocore.parsers import PROTOCOL_PARSERS, ResponseParser
from botocore.utils import parse_timestamp, tzutc
from botocore.validate import ParamValidator

#: The emulator's one botocore session: each session reads every model through a loader
#: of its own, so a second one would parse DataZone's model a second time.
SESSION = botocore.session.get_session()


@cache
def service_model(service: str) -> ServiceModel:
    return SESSION.get_service_model(service)


@cache
def operation_model(service: str, operation: str) -> OperationModel:
    return service_model(service).operation_model(operation)


_ISO_UTC = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?Z\Z")
_UTC = tzutc()


def _timestamp(value: Any) -> Any:
    """botocore's `parse_timestamp`, with the one form the emulator writes (ISO 8601 in UTC,
    `2026-12-03T10:00:00.123Z`) read by `datetime.fromisoformat`: the same datetime, without
    dateutil's generic parser (a third of the strict check's parsing). Anything else, or a
    date that does not exist, goes to botocore's parser, which accepts or refuses it."""
    if isinstance(value, str) and _ISO_UTC.match(value):
        try:
            return datetime.datetime.fromisoformat(value[:-1]).replace(tzinfo=_UTC)
        except ValueError:
            pass
    return parse_timestamp(value)


@cache
def _parser(protocol: str) -> ResponseParser:
    parser: ResponseParser = PROTOCOL_PARSERS[protocol](timestamp_parser=_timestamp)
    return parser


@cache
def _pattern(expr: str) -> Any:
    return regex.compile(expr)


def _walk(value: Any, shape: Shape, path: str, errors: list[str]) -> None:
    if value is None:
        return
    if isinstance(shape, StructureShape):
        if not isinstance(value, dict):
            return  # ParamValidator reports the type error
        if shape.is_tagged_union:
            present = [k for k, v in value.items() if v is not None and k in shape.members]
            if len(present) != 1:
                errors.append(f"{path}: union must have exactly one member, has {present}")
        for name, member in shape.members.items():
            if name in value:
                _walk(value[name], member, f"{path}.{name}", errors)
    elif isinstance(shape, ListShape):
        if isinstance(value, list):
            for i, item in enumerate(value):
                _walk(item, shape.member, f"{path}[{i}]", errors)
    elif isinstance(shape, MapShape):
        if isinstance(value, dict):
            for key, item in value.items():
                _walk(key, shape.key, f"{path}.<key {key}>", errors)
                _walk(item, shape.value, f"{path}.{key}", errors)
    elif shape.type_name == "string" and isinstance(value, str):
        enum = shape.enum
        if enum and value not in enum:
            errors.append(f"{path}: {value!r} not in enum {enum}")
        expr = shape.metadata.get("pattern")
        if expr and not _pattern(expr).search(value):
            errors.append(f"{path}: {value!r} does not match pattern {expr}")


def parse_response(
    service: str, operation: str, status: int, headers: dict[str, str], body: bytes
) -> dict[str, Any]:
    model = operation_model(service, operation)
    protocol = model.service_model.metadata["protocol"]
    parsed: dict[str, Any] = _parser(protocol).parse(
        {"status_code": status, "headers": headers, "body": body}, model.output_shape
    )
    return parsed


def validate_parsed(service: str, operation: str, parsed: dict[str, Any]) -> list[str]:
    """Errors of an already-parsed output against the operation's output shape."""
    model = operation_model(service, operation)
    shape = model.output_shape
    if shape is None:
        return []
    data = {k: v for k, v in parsed.items() if k != "ResponseMetadata"}
    errors: list[str] = []
    report = ParamValidator().validate(data, shape)
    if report.has_errors():
        errors.extend(
            f"{operation}: {line.strip().replace(' in input', ' in output')}"
            for line in report.generate_report().splitlines()
            if line.strip() and not line.startswith("Parameter validation failed")
        )
    _walk(data, shape, operation, errors)
    return errors


def validate_response(
    service: str, operation: str, status: int, headers: dict[str, str], body: bytes
) -> list[str]:
    """Errors of a successful response against the model; [] when it conforms."""
    if status >= 300:
        return []
    try:
        parsed = parse_response(service, operation, status, headers, body)
    except Exception as exc:  # botocore could not even parse it
        return [f"{operation}: unparseable response: {exc}"]
    return validate_parsed(service, operation, parsed)
