"""Lake Formation resources as boto3 shapes them: normalised, compared, matched.

Pure functions on `{"<Kind>": {...}}` dicts: no backend, no state. A grant on one resource
may cover another (a database's table wildcard covers its tables), which `covers` decides.
"""

from __future__ import annotations

import json
import re
from typing import Any

from smus_mesh_emulator.lakeformation.exceptions import InvalidInputException

ALL = "ALL"


IAM_ALLOWED_PRINCIPALS = "IAM_ALLOWED_PRINCIPALS"


#: Resource kinds the emulator models; LF-tag and data-cells-filter grants are not part
#: of the workflow (DataZone's managed access does not support LF-TBAC).
SUPPORTED_KINDS = ("Catalog", "Database", "Table", "TableWithColumns", "DataLocation")


TABLE_KINDS = ("Table", "TableWithColumns")


#: ListPermissions' ResourceType values and the resource kinds each one lists.
RESOURCE_TYPE_KINDS = {
    "CATALOG": ("Catalog",),
    "DATABASE": ("Database",),
    "TABLE": TABLE_KINDS,
    "DATA_LOCATION": ("DataLocation",),
}


_ACCOUNT_ID = re.compile(r"^\d{12}$")


_PRINCIPAL_ACCOUNT = re.compile(r"^arn:aws[a-z-]*:(?:iam|sts)::(\d{12}):")


def kind_of(resource: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    kind, spec = next(iter(resource.items()))
    return kind, spec


def is_wildcard(spec: dict[str, Any]) -> bool:
    return spec.get("TableWildcard") is not None


def normalise(resource: dict[str, Any] | None, default_catalog: str) -> dict[str, Any]:
    """A boto3-shaped resource with exactly one kind and its CatalogId filled in.

    Raises:
        InvalidInputException: not exactly one kind, an unsupported kind, or a table
            with both or neither of Name and TableWildcard.
    """
    present = {k: v for k, v in (resource or {}).items() if v is not None}
    if len(present) != 1:
        raise InvalidInputException(
            "Resource must have exactly one of Catalog, Database, Table, TableWithColumns "
            "or DataLocation populated."
        )
    kind, raw = kind_of(present)
    if kind not in SUPPORTED_KINDS:
        raise InvalidInputException(
            f"{kind} resources are not supported by the emulator's Lake Formation "
            f"(supported: {', '.join(SUPPORTED_KINDS)})."
        )
    spec = dict(raw or {})
    if kind == "Catalog":
        return {"Catalog": spec}
    spec["CatalogId"] = spec.get("CatalogId") or default_catalog
    if kind == "Table":
        named, wildcard = bool(spec.get("Name")), is_wildcard(spec)
        if named == wildcard:
            raise InvalidInputException(
                "Table name and table wildcard cannot both be "
                + ("present." if named else "empty.")
            )
        if wildcard:
            spec.pop("Name", None)
            spec["TableWildcard"] = {}
    return {kind: spec}


def catalog_of(resource: dict[str, Any]) -> str | None:
    return kind_of(resource)[1].get("CatalogId")


def same_name(left: str | None, right: str | None) -> bool:
    return (left or "").lower() == (right or "").lower()


def location_arn(location: str) -> str:
    """`s3://bucket/prefix/` -> `arn:aws:s3:::bucket/prefix` (the form LF registers)."""
    path = location.split("://", 1)[-1].rstrip("/")
    return f"arn:aws:s3:::{path}"


def is_under(arn: str, registered: str) -> bool:
    arn, registered = arn.rstrip("/"), registered.rstrip("/")
    return arn == registered or arn.startswith(registered + "/")


def covers(stored: dict[str, Any], wanted: dict[str, Any]) -> bool:
    """Whether a grant on `stored` is a grant on `wanted` (both normalised).

    A table is covered by a grant on it, on its database's table wildcard, or on all its
    columns (TableWithColumns with a ColumnWildcard that excludes nothing).
    """
    stored_kind, have = kind_of(stored)
    wanted_kind, want = kind_of(wanted)
    if wanted_kind == "Catalog":
        return stored_kind == "Catalog"
    if have.get("CatalogId") != want.get("CatalogId"):
        return False
    if wanted_kind == "Database":
        return stored_kind == "Database" and same_name(have["Name"], want["Name"])
    if wanted_kind == "DataLocation":
        return stored_kind == "DataLocation" and is_under(want["ResourceArn"], have["ResourceArn"])
    if stored_kind not in TABLE_KINDS or not same_name(have["DatabaseName"], want["DatabaseName"]):
        return False
    if is_wildcard(want):
        return stored_kind == "Table" and is_wildcard(have)
    if stored_kind == "Table":
        return is_wildcard(have) or same_name(have["Name"], want["Name"])
    if not same_name(have["Name"], want["Name"]):
        return False
    wildcard = have.get("ColumnWildcard")
    if wildcard is not None:
        return not wildcard.get("ExcludedColumnNames")
    wanted_columns = want.get("ColumnNames")
    return wanted_columns is not None and {c.lower() for c in wanted_columns} <= {
        c.lower() for c in have.get("ColumnNames") or []
    }


def identity_of(resource: dict[str, Any]) -> str:
    """A key under which equal grants merge (names compared case-insensitively)."""
    kind, spec = kind_of(resource)
    lowered = {
        key: value.lower() if key in ("Name", "DatabaseName") else value
        for key, value in spec.items()
    }
    return json.dumps({kind: lowered}, sort_keys=True)


def account_of(principal: str) -> str | None:
    if _ACCOUNT_ID.match(principal):
        return principal
    match = _PRINCIPAL_ACCOUNT.match(principal)
    return match.group(1) if match else None


def names_of(resource: dict[str, Any]) -> tuple[str, str | None] | None:
    """(database, table or None) a grant depends on, lowercased; None for others."""
    kind, spec = kind_of(resource)
    if kind == "Database":
        return spec["Name"].lower(), None
    if kind in TABLE_KINDS:
        table = None if is_wildcard(spec) else spec["Name"].lower()
        return spec["DatabaseName"].lower(), table
    return None


def target_of(resource: dict[str, Any]) -> tuple[str, str, str | None] | None:
    """(catalog, database, table or None) of a Glue resource, lowercased: the key under
    which the grant index files a grant on it (a database and its table wildcard have
    no table). None for catalogs and data locations.

    Examples:
        >>> target_of({"Table": {"CatalogId": "1", "DatabaseName": "Db", "Name": "T"}})
        ('1', 'db', 't')
    """
    names = names_of(resource)
    catalog = catalog_of(resource)
    if names is None or catalog is None:
        return None
    return catalog, names[0], names[1]


def matches_filter(resource: dict[str, Any], wanted: dict[str, Any]) -> bool:
    kind, have = kind_of(resource)
    wanted_kind, want = kind_of(wanted)
    if wanted_kind == "Catalog":
        return kind == "Catalog"
    if have.get("CatalogId") != want.get("CatalogId"):
        return False
    if wanted_kind == "Database":
        return kind == "Database" and same_name(have["Name"], want["Name"])
    if wanted_kind == "DataLocation":
        return kind == "DataLocation" and have["ResourceArn"] == want["ResourceArn"]
    if kind not in TABLE_KINDS or not same_name(have["DatabaseName"], want["DatabaseName"]):
        return False
    if is_wildcard(want) or is_wildcard(have):
        return is_wildcard(want) and is_wildcard(have)
    return same_name(have["Name"], want["Name"])
