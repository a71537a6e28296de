"""DataZone's input constraints, checked as the service checks them before it does anything.

botocore checks only required members, types and minimum lengths on the client side;
AWS checks every constraint of the model (patterns, lengths, ranges, enums) on the
server and answers a 400 ValidationException that lists what failed, in the form
"2 validation errors detected: Value 'x' at 'domainIdentifier' failed to satisfy
constraint: Member must satisfy regular expression pattern: ^dzd[-_][a-zA-Z0-9_-]{1,36}$;
...". A malformed identifier therefore never reaches a lookup (which would say "not
found"). Smithy patterns are unanchored, hence `search`. Values of sensitive members
are not echoed. Required members are left to the operations (`common.require`), which
know the members a request may leave out.
"""

from __future__ import annotations

from typing import Any

from botocore.model import ListShape, MapShape, Shape, StructureShape

from smus_mesh_emulator.validation import _pattern


def constraint_errors(shape: Shape | None, params: dict[str, Any]) -> list[str]:
    """Every constraint of the input `shape` that `params` breaks, in model order."""
    errors: list[str] = []
    if shape is not None:
        _check(params, shape, "", errors)
    return errors


def message(errors: list[str]) -> str:
    count = len(errors)
    return f"{count} validation error{'s' if count > 1 else ''} detected: " + "; ".join(errors)


def _fail(value: Any, shape: Shape, path: str, constraint: str, errors: list[str]) -> None:
    shown = "" if shape.metadata.get("sensitive") else f" '{value}'"
    errors.append(f"Value{shown} at '{path}' failed to satisfy constraint: {constraint}")


def _check(value: Any, shape: Shape, path: str, errors: list[str]) -> None:
    if value is None:
        return
    if isinstance(shape, StructureShape):
        if isinstance(value, dict):
            for name, member in shape.members.items():
                if name in value:
                    _check(value[name], member, f"{path}.{name}" if path else name, errors)
        return
    if isinstance(shape, ListShape | MapShape) and isinstance(value, list | dict):
        _length(value, len(value), shape, path, errors)
        if isinstance(shape, ListShape) and isinstance(value, list):
            for index, item in enumerate(value, start=1):
                _check(item, shape.member, f"{path}.{index}.member", errors)
        elif isinstance(shape, MapShape) and isinstance(value, dict):
            for key, item in value.items():
                _check(key, shape.key, f"{path}.{key}.key", errors)
                _check(item, shape.value, f"{path}.{key}.value", errors)
        return
    if shape.type_name == "string" and isinstance(value, str):
        _length(value, len(value), shape, path, errors)
        if shape.enum and value not in shape.enum:
            _fail(
                value,
                shape,
                path,
                f"Member must satisfy enum value set: [{', '.join(shape.enum)}]",
                errors,
            )
        pattern = shape.metadata.get("pattern")
        if pattern and not _pattern(pattern).search(value):
            _fail(
                value,
                shape,
                path,
                f"Member must satisfy regular expression pattern: {pattern}",
                errors,
            )
    elif shape.type_name in ("integer", "long") and isinstance(value, int):
        low, high = shape.metadata.get("min"), shape.metadata.get("max")
        if low is not None and value < low:
            _fail(
                value, shape, path, f"Member must have value greater than or equal to {low}", errors
            )
        if high is not None and value > high:
            _fail(
                value, shape, path, f"Member must have value less than or equal to {high}", errors
            )


def _length(value: Any, size: int, shape: Shape, path: str, errors: list[str]) -> None:
    low, high = shape.metadata.get("min"), shape.metadata.get("max")
    shown = value if isinstance(value, str) else "[...]"
    if low is not None and size < low:
        _fail(shown, shape, path, f"Member must have length greater than or equal to {low}", errors)
    if high is not None and size > high:
        _fail(shown, shape, path, f"Member must have length less than or equal to {high}", errors)
