"""Lake Formation as the SMUS workflow relies on it: checked grants, the consumer's view of
the grants it received, grants that die with their tables, and in-process helpers.

Why: DataZone's managed access *is* Lake Formation (research/workflow.md phases B, H and
M). A table must be LF-managed to be subscribed; the manage-access roles re-grant what
they hold with grant option; the producer account grants the consumer account, which
re-grants its project role; Athena reads only what those grants allow. moto 5.2.5 accepts
every grant, keeps grants on dropped tables, does not show an account the grants it
received and forgets `HybridAccessEnabled` (research/emulation.md §2), so a tool that
got any of this wrong would pass against moto and fail against AWS.

Storage stays moto's: one moto `Permission` per (principal, resource) in
`LakeFormationBackend.grants[<account id>]` of the account whose Lake Formation holds the
grant, so moto's remaining operations and the emulator inventory keep reading them.
Resources are normalised (CatalogId always set, names spelled as in the Glue catalog).

A real Data Catalog also does two things that moto's Glue cannot tell Lake Formation:
a new database or table receives the default permissions in force when it is created
(`CreateDatabaseDefaultPermissions`, then the database's `CreateTableDefaultPermissions`;
IAM_ALLOWED_PRINCIPALS ALL in a fresh account), and a dropped one loses its grants in
every account. `prune()` does both lazily, before every Lake Formation request and in
every helper: catalog objects are tracked by identity, so a table dropped and created
again under the same name loses the old grants and gets fresh defaults; settings are
synced before they change, so defaults are those that applied at creation.
"""

from __future__ import annotations

import json
import re
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from moto.core.exceptions import ServiceException
from moto.glue.models import glue_backends
from moto.lakeformation.models import (
    Permission,
    PermissionCatalog,
    Resource,
    default_settings,
    lakeformation_backends,
)
from moto.lakeformation.responses import LakeFormationResponse

from smus_mesh_emulator.accounts import caller_arn, principal_of

ALL = "ALL"
IAM_ALLOWED_PRINCIPALS = "IAM_ALLOWED_PRINCIPALS"
SERVICE_LINKED_ROLE = (
    "arn:aws:iam::{account}:role/aws-service-role/lakeformation.amazonaws.com/"
    "AWSServiceRoleForLakeFormationDataAccess"
)
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
_S3_ARN = re.compile(r"^arn:aws[a-z-]*:s3:::[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/.*)?$")
#: What Lake Formation answers when a grantor lacks the right to grant or revoke
#: (seen from GrantPermissions and ListPermissions in public reports).
NOT_AUTHORIZED = (
    "Resource does not exist or requester is not authorized to access requested permissions."
)
NOTHING_REVOKED = (
    "No permissions revoked. Grantee has no permissions and no grantable permissions on resource."
)


class LakeFormationError(ServiceException):
    """Base of the modeled Lake Formation errors (moto serialises the `code`)."""

    code = "InternalServiceException"


class EntityNotFoundException(LakeFormationError):
    code = "EntityNotFoundException"


class InvalidInputException(LakeFormationError):
    code = "InvalidInputException"


class AccessDeniedException(LakeFormationError):
    code = "AccessDeniedException"


class AlreadyExistsException(LakeFormationError):
    code = "AlreadyExistsException"


# --- backends and the Glue catalog ------------------------------------------------------


def _lakeformation(account_id: str, region: str) -> Any:
    return lakeformation_backends[account_id][region]


def _existing_backend(backends: Any, account_id: str, region: str) -> Any | None:
    """A moto backend if it exists already (looking must not create accounts)."""
    per_account = backends.get(account_id)
    return per_account.get(region) if per_account is not None else None


def _by_name(items: dict[str, Any], name: str) -> Any | None:
    """Glue lowercases names; moto keeps their case, so look them up either way."""
    if name in items:
        return items[name]
    wanted = name.lower()
    return next((item for key, item in items.items() if key.lower() == wanted), None)


def glue_database(account_id: str, region: str, name: str) -> Any | None:
    """moto's Glue database `name` in `account_id`'s catalog, or None."""
    glue = _existing_backend(glue_backends, account_id, region)
    return _by_name(glue.databases, name) if glue is not None else None


def glue_table(account_id: str, region: str, database: str, name: str) -> Any | None:
    """moto's Glue table `database.name` in `account_id`'s catalog, or None."""
    found = glue_database(account_id, region, database)
    return _by_name(found.tables, name) if found is not None else None


def _settings(account_id: str, region: str) -> dict[str, Any]:
    # `.get`: moto's settings are a defaultdict, and reading must not store defaults.
    stored = _lakeformation(account_id, region).settings.get(account_id)
    if stored is None:
        return default_settings()
    return dict(stored)


def is_data_lake_admin(account_id: str, region: str, principal: str) -> bool:
    """Whether `principal` is one of `account_id`'s data lake administrators.

    Examples:
        >>> is_data_lake_admin("111111111111", "us-east-1", "arn:aws:iam::111111111111:role/A")
        False
    """
    admins = _settings(account_id, region).get("DataLakeAdmins") or []
    return any(admin.get("DataLakePrincipalIdentifier") == principal for admin in admins)


# --- resources -----------------------------------------------------------------------


def _kind(resource: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    kind, spec = next(iter(resource.items()))
    return kind, spec


def _is_wildcard(spec: dict[str, Any]) -> bool:
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
    kind, raw = _kind(present)
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
        named, wildcard = bool(spec.get("Name")), _is_wildcard(spec)
        if named == wildcard:
            raise InvalidInputException(
                "Table name and table wildcard cannot both be "
                + ("present." if named else "empty.")
            )
        if wildcard:
            spec.pop("Name", None)
            spec["TableWildcard"] = {}
    return {kind: spec}


def _catalog_of(resource: dict[str, Any]) -> str | None:
    return _kind(resource)[1].get("CatalogId")


def _same(left: str | None, right: str | None) -> bool:
    return (left or "").lower() == (right or "").lower()


def _location_arn(location: str) -> str:
    """`s3://bucket/prefix/` -> `arn:aws:s3:::bucket/prefix` (the form LF registers)."""
    path = location.split("://", 1)[-1].rstrip("/")
    return f"arn:aws:s3:::{path}"


def _under(arn: str, registered: str) -> bool:
    arn, registered = arn.rstrip("/"), registered.rstrip("/")
    return arn == registered or arn.startswith(registered + "/")


def _covers(stored: dict[str, Any], wanted: dict[str, Any]) -> bool:
    """Whether a grant on `stored` is a grant on `wanted` (both normalised).

    A table is covered by a grant on it, on its database's table wildcard, or on all its
    columns (TableWithColumns with a ColumnWildcard that excludes nothing).
    """
    stored_kind, have = _kind(stored)
    wanted_kind, want = _kind(wanted)
    if wanted_kind == "Catalog":
        return stored_kind == "Catalog"
    if have.get("CatalogId") != want.get("CatalogId"):
        return False
    if wanted_kind == "Database":
        return stored_kind == "Database" and _same(have["Name"], want["Name"])
    if wanted_kind == "DataLocation":
        return stored_kind == "DataLocation" and _under(want["ResourceArn"], have["ResourceArn"])
    if stored_kind not in TABLE_KINDS or not _same(have["DatabaseName"], want["DatabaseName"]):
        return False
    if _is_wildcard(want):
        return stored_kind == "Table" and _is_wildcard(have)
    if stored_kind == "Table":
        return _is_wildcard(have) or _same(have["Name"], want["Name"])
    if not _same(have["Name"], want["Name"]):
        return False
    wildcard = have.get("ColumnWildcard")
    if wildcard is not None:
        return not wildcard.get("ExcludedColumnNames")
    wanted_columns = want.get("ColumnNames")
    return wanted_columns is not None and {c.lower() for c in wanted_columns} <= {
        c.lower() for c in have.get("ColumnNames") or []
    }


def _identity(resource: dict[str, Any]) -> str:
    """A key under which equal grants merge (names compared case-insensitively)."""
    kind, spec = _kind(resource)
    lowered = {
        key: value.lower() if key in ("Name", "DatabaseName") else value
        for key, value in spec.items()
    }
    return json.dumps({kind: lowered}, sort_keys=True)


# --- the grant store -------------------------------------------------------------------


def _store(account_id: str, region: str) -> PermissionCatalog:
    grants: dict[str, PermissionCatalog] = _lakeformation(account_id, region).grants
    return grants.setdefault(account_id, PermissionCatalog())


def _principal_id(grant: Permission) -> str:
    return str(grant.principal.get("DataLakePrincipalIdentifier", ""))


class _GrantIndex:
    """A store's grants by principal and resource identity.

    Why: `_find` and `_holds` run for every grant DataZone makes, and a store holds one
    grant per (principal, resource): scanning the set made a 20 x 100 set-up quadratic.
    `_replace` is the only writer of the set and keeps this in step; the index rebuilds
    itself if the set was changed behind its back (its size no longer matches).
    """

    def __init__(self, grants: set[Permission]) -> None:
        self.by_principal: dict[str, dict[str, Permission]] = {}
        self.size = 0
        for grant in grants:
            self.put(grant)

    def put(self, grant: Permission) -> None:
        held = self.by_principal.setdefault(_principal_id(grant), {})
        key = _identity(grant.resource)
        self.size += key not in held
        held[key] = grant

    def drop(self, grant: Permission) -> None:
        held = self.by_principal.get(_principal_id(grant), {})
        if held.pop(_identity(grant.resource), None) is not None:
            self.size -= 1

    def of(self, principal: str) -> dict[str, Permission]:
        return self.by_principal.get(principal, {})


def _index(store: PermissionCatalog) -> _GrantIndex:
    index: _GrantIndex | None = getattr(store, "smus_index", None)
    if index is None or index.size != len(store.permissions):
        index = _GrantIndex(store.permissions)
        setattr(store, "smus_index", index)  # noqa: B010 (moto class, not ours)
    return index


def _find(store: PermissionCatalog, principal: str, resource: dict[str, Any]) -> Permission | None:
    return _index(store).of(principal).get(_identity(resource))


def _replace(store: PermissionCatalog, old: Permission | None, new: Permission | None) -> None:
    # Permissions are hashed by content: never mutate one inside the set, swap it.
    index = _index(store)
    if old is not None:
        store.permissions.discard(old)
        index.drop(old)
    if new is not None and (new.permissions or new.permissions_with_grant_options):
        store.permissions.add(new)
        index.put(new)


def _add(
    account_id: str,
    region: str,
    principal: str,
    resource: dict[str, Any],
    permissions: list[str],
    grantable: list[str],
) -> None:
    store = _store(account_id, region)
    existing = _find(store, principal, resource)
    held = set(existing.permissions) if existing else set()
    held_grantable = set(existing.permissions_with_grant_options) if existing else set()
    merged = Permission(
        principal={"DataLakePrincipalIdentifier": principal},
        resource=existing.resource if existing else resource,
        permissions=sorted(held | set(permissions)),
        permissions_with_grant_options=sorted(held_grantable | set(grantable)),
    )
    _replace(store, existing, merged)


def _remove(
    account_id: str,
    region: str,
    principal: str,
    resource: dict[str, Any],
    permissions: list[str],
    grantable: list[str],
) -> bool:
    """Revoke; False when the principal held none of it. A revoked permission also
    loses its grant option (a grant option alone grants nothing)."""
    store = _store(account_id, region)
    existing = _find(store, principal, resource)
    if existing is None:
        return False
    remaining = [p for p in existing.permissions if p not in permissions]
    remaining_grantable = [
        p
        for p in existing.permissions_with_grant_options
        if p not in grantable and p not in permissions
    ]
    if (remaining, remaining_grantable) == (
        list(existing.permissions),
        list(existing.permissions_with_grant_options),
    ):
        return False
    kept = Permission(
        principal=existing.principal,
        resource=existing.resource,
        permissions=remaining,
        permissions_with_grant_options=remaining_grantable,
    )
    _replace(store, existing, kept)
    return True


def _account_of(principal: str) -> str | None:
    if _ACCOUNT_ID.match(principal):
        return principal
    match = _PRINCIPAL_ACCOUNT.match(principal)
    return match.group(1) if match else None


def _holds(
    account_id: str,
    region: str,
    principals: set[str],
    resource: dict[str, Any],
    permission: str,
    grantable: bool,
) -> bool:
    index = _index(_store(account_id, region))
    for grant in (g for principal in principals for g in index.of(principal).values()):
        if not _covers(grant.resource, resource):
            continue
        held = grant.permissions_with_grant_options if grantable else grant.permissions
        if permission in held or ALL in held:
            return True
    return False


# --- keeping Lake Formation in step with the Glue catalog --------------------------------


class _Changes:
    """How many times any tracked Glue catalog changed (databases or tables added or
    removed), so that `prune` can tell in O(accounts) that there is nothing to do."""

    count = 0


class _TrackedDict(OrderedDict):  # type: ignore[type-arg]
    """moto's Glue keeps databases and tables in OrderedDicts; once Lake Formation has
    seen a catalog, they are swapped for this one, which counts every change."""

    def __setitem__(self, key: Any, value: Any) -> None:
        _Changes.count += 1
        super().__setitem__(key, value)

    def __delitem__(self, key: Any) -> None:
        _Changes.count += 1
        super().__delitem__(key)

    def pop(self, *args: Any) -> Any:
        _Changes.count += 1
        return super().pop(*args)

    def popitem(self, last: bool = True) -> Any:
        _Changes.count += 1
        return super().popitem(last)

    def clear(self) -> None:
        _Changes.count += 1
        super().clear()

    def setdefault(self, key: Any, default: Any = None) -> Any:
        _Changes.count += 1
        return super().setdefault(key, default)

    def update(self, *args: Any, **kwargs: Any) -> None:
        _Changes.count += 1
        super().update(*args, **kwargs)


def _tracked(container: Any, attribute: str) -> None:
    current = getattr(container, attribute)
    if type(current) is not _TrackedDict:
        setattr(container, attribute, _TrackedDict(current))


@dataclass
class _CatalogMemory:
    """The Glue objects Lake Formation has seen in one account, by identity, the table
    defaults each database had when it was created, and the change count it was last in
    step with."""

    databases: dict[str, Any] = field(default_factory=dict)
    tables: dict[tuple[str, str], Any] = field(default_factory=dict)
    table_defaults: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    synced_at: int = -1


def _memory(account_id: str, region: str) -> _CatalogMemory:
    # Kept on moto's backend so that a reset of the cloud forgets it too.
    backend = _lakeformation(account_id, region)
    memory: _CatalogMemory | None = getattr(backend, "smus_catalog_memory", None)
    if memory is None:
        memory = _CatalogMemory()
        backend.smus_catalog_memory = memory
    return memory


def _apply_defaults(
    account_id: str, region: str, resource: dict[str, Any], defaults: list[dict[str, Any]]
) -> None:
    for entry in defaults:
        principal = (entry.get("Principal") or {}).get("DataLakePrincipalIdentifier")
        if principal and entry.get("Permissions"):
            _add(account_id, region, principal, resource, list(entry["Permissions"]), [])


def _forget(memory: _CatalogMemory, database_key: str) -> list[tuple[str, str | None]]:
    """Drop a database and its tables from memory; the (database, table) keys dropped."""
    memory.databases.pop(database_key, None)
    memory.table_defaults.pop(database_key, None)
    tables = [key for key in memory.tables if key[0] == database_key]
    for key in tables:
        del memory.tables[key]
    return [(database_key, None), *tables]


def _sync_account(
    account_id: str, region: str, gone: list[tuple[str, str, str | None]]
) -> list[tuple[dict[str, Any], list[dict[str, Any]]]]:
    """Record dropped/replaced objects of one catalog in `gone`; the defaults to apply
    to its new objects, as (resource, default permissions) pairs."""
    glue = _existing_backend(glue_backends, account_id, region)
    databases: dict[str, Any] = dict(glue.databases) if glue is not None else {}
    if not databases and _existing_backend(lakeformation_backends, account_id, region) is None:
        return []
    if glue is not None:
        _tracked(glue, "databases")
        for database in databases.values():
            _tracked(database, "tables")
    memory = _memory(account_id, region)
    current = {name.lower(): database for name, database in databases.items()}
    for database_key, seen in list(memory.databases.items()):
        if current.get(database_key) is not seen:
            gone += [(account_id, db, table) for db, table in _forget(memory, database_key)]
    for table_key, seen in list(memory.tables.items()):
        database = current.get(table_key[0])
        table = _by_name(database.tables, table_key[1]) if database is not None else None
        if table is not seen:
            del memory.tables[table_key]
            gone.append((account_id, *table_key))
    settings = _settings(account_id, region)
    pending: list[tuple[dict[str, Any], list[dict[str, Any]]]] = []
    for key, database in current.items():
        if key not in memory.databases:
            memory.databases[key] = database
            given = database.input or {}
            memory.table_defaults[key] = list(
                given["CreateTableDefaultPermissions"]
                if "CreateTableDefaultPermissions" in given
                else settings.get("CreateTableDefaultPermissions") or []
            )
            resource = {"Database": {"CatalogId": account_id, "Name": database.name}}
            pending.append((resource, settings.get("CreateDatabaseDefaultPermissions") or []))
        for name, table in database.tables.items():
            if (key, name.lower()) in memory.tables:
                continue
            memory.tables[(key, name.lower())] = table
            resource = {
                "Table": {"CatalogId": account_id, "DatabaseName": database.name, "Name": name}
            }
            pending.append((resource, memory.table_defaults[key]))
    return pending


def _names(resource: dict[str, Any]) -> tuple[str, str | None] | None:
    """(database, table or None) a grant depends on, lowercased; None for others."""
    kind, spec = _kind(resource)
    if kind == "Database":
        return spec["Name"].lower(), None
    if kind in TABLE_KINDS:
        table = None if _is_wildcard(spec) else spec["Name"].lower()
        return spec["DatabaseName"].lower(), table
    return None


def _depends_on(resource: dict[str, Any], gone: tuple[str, str, str | None]) -> bool:
    names = _names(resource)
    if names is None or _catalog_of(resource) != gone[0] or names[0] != gone[1]:
        return False
    return gone[2] is None or names[1] == gone[2]


def _target_exists(resource: dict[str, Any], region: str) -> bool:
    names = _names(resource)
    catalog = _catalog_of(resource)
    if names is None or catalog is None:
        return True  # catalogs and data locations are not Glue objects
    database, table = names
    if table is None:
        return glue_database(catalog, region, database) is not None
    return glue_table(catalog, region, database, table) is not None


def prune(account_id: str, region: str) -> None:
    """Bring Lake Formation in step with the Glue catalogs of `region`.

    Drops every grant (in any account) on a database or table that no longer exists or
    was replaced, and gives new databases and tables their default permissions. Grants
    in one account name another account's catalog, so this runs over every account;
    `account_id` is accepted for callers that think per account.

    Examples:
        >>> prune("111111111111", "us-east-1")  # after glue.delete_table(...)
    """
    del account_id  # the catalogs of all accounts are linked through their grants
    accounts = sorted(set(glue_backends) | set(lakeformation_backends))
    if _in_step(accounts, region):
        return
    gone: list[tuple[str, str, str | None]] = []
    pending: list[tuple[str, dict[str, Any], list[dict[str, Any]]]] = []
    for catalog_account in accounts:
        pending += [
            (catalog_account, resource, defaults)
            for resource, defaults in _sync_account(catalog_account, region, gone)
        ]
    # A grant can only outlive its target through a change recorded in `gone`: grants
    # are made after a sync, on objects that exist (`_require_exists`, defaults).
    for holder in accounts if gone else ():
        if _existing_backend(lakeformation_backends, holder, region) is None:
            continue
        store = _store(holder, region)
        for grant in list(store.permissions):
            if any(_depends_on(grant.resource, g) for g in gone) or not _target_exists(
                grant.resource, region
            ):
                _replace(store, grant, None)
    for catalog_account, resource, defaults in pending:
        _apply_defaults(catalog_account, region, resource, defaults)
    for catalog_account in accounts:
        backend = _existing_backend(lakeformation_backends, catalog_account, region)
        memory = getattr(backend, "smus_catalog_memory", None)
        if memory is not None:
            memory.synced_at = _Changes.count


def _in_step(accounts: list[str], region: str) -> bool:
    """Whether no tracked catalog changed since every account's last sync (and every
    catalog with databases is tracked): then `prune` has nothing to do."""
    for account in accounts:
        glue = _existing_backend(glue_backends, account, region)
        backend = _existing_backend(lakeformation_backends, account, region)
        memory = getattr(backend, "smus_catalog_memory", None)
        if memory is None:
            if glue is None or not glue.databases:
                continue  # nothing to remember; `_sync_account` would skip it too
            return False
        if memory.synced_at != _Changes.count:
            return False
        if glue is not None and type(glue.databases) is not _TrackedDict:
            return False
    return True


# --- in-process API for the rest of the emulator ----------------------------------------


def has_permission(
    account_id: str,
    region: str,
    principal: str,
    resource: dict[str, Any],
    permission: str,
    grantable: bool = False,
) -> bool:
    """Whether `account_id`'s Lake Formation grants `principal` `permission` (or ALL) on
    `resource` — with grant option when `grantable`.

    `principal` is a role ARN, an account id or IAM_ALLOWED_PRINCIPALS. A table permission
    also comes from a grant on its database's table wildcard. A grant to an account id
    covers that account's principals when it was made by another account (the owner's
    cross-account grant). Only explicit grants count: a data lake administrator's implicit
    rights are `is_data_lake_admin()`.

    Examples:
        >>> table = {"Table": {"CatalogId": "111111111111", "DatabaseName": "sales_db",
        ...                    "Name": "sales"}}
        >>> has_permission("111111111111", "us-east-1", "222222222222", table, "SELECT")
        True
    """
    prune(account_id, region)
    wanted = normalise(resource, account_id)
    principals = {principal}
    owner = _account_of(principal)
    if owner is not None and owner != account_id:
        principals.add(owner)
    return _holds(account_id, region, principals, wanted, permission, grantable)


def holds_directly(
    account_id: str, region: str, principal: str, resource: dict[str, Any], permission: str
) -> bool:
    """Like `has_permission`, counting only grants made to `principal` itself (not to its
    account). Athena uses it to tell a direct cross-account grant to a role from one to
    the role's account, which the account must then re-grant.

    Examples:
        >>> holds_directly("111111111111", "us-east-1", "arn:aws:iam::222222222222:role/R",
        ...                {"Table": {"DatabaseName": "sales_db", "Name": "sales"}}, "SELECT")
        False
    """
    prune(account_id, region)
    wanted = normalise(resource, account_id)
    return _holds(account_id, region, {principal}, wanted, permission, grantable=False)


def _require_exists(resource: dict[str, Any], region: str) -> dict[str, Any]:
    """The resource with names spelled as in its catalog.

    Raises:
        EntityNotFoundException: the database, table or registered location is missing.
    """
    kind, spec = _kind(resource)
    catalog = spec.get("CatalogId", "")
    if kind == "Database":
        database = glue_database(catalog, region, spec["Name"])
        if database is None:
            raise EntityNotFoundException(
                f"Database {spec['Name']} not found in catalog {catalog}."
            )
        return {kind: {**spec, "Name": database.name}}
    if kind in TABLE_KINDS:
        database = glue_database(catalog, region, spec["DatabaseName"])
        if database is None:
            raise EntityNotFoundException(
                f"Database {spec['DatabaseName']} not found in catalog {catalog}."
            )
        named = {**spec, "DatabaseName": database.name}
        if _is_wildcard(spec):
            return {kind: named}
        table = _by_name(database.tables, spec["Name"])
        if table is None:
            raise EntityNotFoundException(
                f"Table {database.name}.{spec['Name']} not found in catalog {catalog}."
            )
        return {kind: {**named, "Name": table.name}}
    if kind == "DataLocation" and registration_for(catalog, region, spec["ResourceArn"]) is None:
        # AWS's exact answer for an unregistered location is not documented; the model
        # lists EntityNotFoundException for GrantPermissions, so that is what we say.
        raise EntityNotFoundException(
            f"Location {spec['ResourceArn']} is not registered with Lake Formation "
            f"in account {catalog}."
        )
    return resource


def grant(
    account_id: str,
    region: str,
    principal: str,
    resource: dict[str, Any],
    permissions: list[str],
    grantable: list[str],
) -> None:
    """Grant in `account_id`'s Lake Formation as a service would (no grantor check).

    Raises:
        EntityNotFoundException: the resource does not exist.

    Examples:
        >>> grant("111111111111", "us-east-1", "222222222222",
        ...       {"Table": {"DatabaseName": "sales_db", "Name": "sales"}},
        ...       ["SELECT", "DESCRIBE"], ["SELECT", "DESCRIBE"])
    """
    prune(account_id, region)
    target = _require_exists(normalise(resource, account_id), region)
    _add(account_id, region, principal, target, list(permissions), list(grantable))


def revoke(
    account_id: str,
    region: str,
    principal: str,
    resource: dict[str, Any],
    permissions: list[str],
    grantable: list[str],
) -> None:
    """Revoke in `account_id`'s Lake Formation; revoking what is not held is a no-op here
    (DataZone's revocations are idempotent), unlike the RevokePermissions API.

    Examples:
        >>> revoke("111111111111", "us-east-1", "222222222222",
        ...        {"Table": {"DatabaseName": "sales_db", "Name": "sales"}}, ["SELECT"], [])
    """
    prune(account_id, region)
    _remove(
        account_id,
        region,
        principal,
        normalise(resource, account_id),
        list(permissions),
        list(grantable),
    )


def permissions(account_id: str, region: str) -> list[dict[str, Any]]:
    """The grants held in `account_id`'s own Lake Formation (ListPermissions items),
    after pruning; received cross-account grants are not included.

    Examples:
        >>> [p["Principal"] for p in permissions("111111111111", "us-east-1")]
        [{'DataLakePrincipalIdentifier': 'IAM_ALLOWED_PRINCIPALS'}]
    """
    prune(account_id, region)
    return _sorted(_store(account_id, region).permissions)


@dataclass
class Registration:
    """Registration details moto's `Resource` does not keep."""

    hybrid_access_enabled: bool = False
    with_federation: bool = False
    with_privileged_access: bool = False
    expected_resource_owner_account: str | None = None
    last_modified: datetime = field(default_factory=lambda: datetime.now(UTC))


class RegisteredLocation(Resource):
    """moto's registered resource plus what RegisterResource really stores."""

    def __init__(self, arn: str, role_arn: str, registration: Registration) -> None:
        super().__init__(arn, role_arn)
        self.registration = registration

    def to_dict(self) -> dict[str, Any]:
        info: dict[str, Any] = {
            "ResourceArn": self.arn,
            "RoleArn": self.role_arn,
            "WithFederation": self.registration.with_federation,
            "HybridAccessEnabled": self.registration.hybrid_access_enabled,
            "WithPrivilegedAccess": self.registration.with_privileged_access,
        }
        if self.registration.expected_resource_owner_account:
            info["ExpectedResourceOwnerAccount"] = self.registration.expected_resource_owner_account
        return info


def registration_for(account_id: str, region: str, location: str) -> Any | None:
    """The registered resource of `account_id` that covers `location` (an S3 URI or ARN),
    the most specific one first; None when the location is not registered."""
    arn = location if location.startswith("arn:") else _location_arn(location)
    backend = _existing_backend(lakeformation_backends, account_id, region)
    if backend is None:
        return None
    covering = [r for arn_key, r in backend.resources.items() if _under(arn, arn_key)]
    return max(covering, key=lambda r: len(r.arn), default=None)


def _is_hybrid(registered: Any) -> bool:
    details = getattr(registered, "registration", None)
    return bool(details and details.hybrid_access_enabled)


def is_lf_managed(
    account_id: str, region: str, database: str, table: str
) -> tuple[bool, str | None]:
    """Whether Lake Formation alone controls access to `database.table` of `account_id`.

    True when neither the table nor its database grants anything to IAM_ALLOWED_PRINCIPALS
    and the table's S3 location is registered with Lake Formation, not in hybrid access
    mode. Otherwise False and the reason, worded for a DataZone grant failure cause.

    Examples:
        >>> is_lf_managed("111111111111", "us-east-1", "sales_db", "sales")
        (False, 'IAMAllowedPrincipals holds permissions on table sales_db.sales: ...')
    """
    prune(account_id, region)
    found = glue_table(account_id, region, database, table)
    if found is None:
        return False, f"Table {database}.{table} does not exist in account {account_id}"
    db_name = glue_database(account_id, region, database).name  # type: ignore[union-attr]
    name = f"{db_name}.{found.name}"
    checks = (
        (f"table {name}", {"Table": {"DatabaseName": db_name, "Name": found.name}}),
        (f"database {db_name}", {"Database": {"Name": db_name}}),
    )
    for label, resource in checks:
        wanted = normalise(resource, account_id)
        for grant_record in _index(_store(account_id, region)).of(IAM_ALLOWED_PRINCIPALS).values():
            if _covers(grant_record.resource, wanted):
                return False, (
                    f"IAMAllowedPrincipals holds permissions on {label}: access to it is "
                    "controlled by IAM, not by Lake Formation"
                )
    location = (found.as_dict().get("StorageDescriptor") or {}).get("Location")
    if not location:
        return False, f"Table {name} has no S3 location"
    registered = registration_for(account_id, region, location)
    if registered is None:
        return (
            False,
            f"The S3 location {location} of table {name} is not registered with Lake Formation",
        )
    if _is_hybrid(registered):
        return False, (
            f"The S3 location {location} of table {name} is registered with Lake Formation "
            "in hybrid access mode"
        )
    return True, None


# --- the Lake Formation API --------------------------------------------------------------


def _external(grant_record: Permission) -> dict[str, Any]:
    return {
        "Principal": dict(grant_record.principal),
        "Resource": grant_record.resource,
        "Permissions": sorted(grant_record.permissions),
        "PermissionsWithGrantOption": sorted(grant_record.permissions_with_grant_options),
    }


def _sorted(grants: Any) -> list[dict[str, Any]]:
    items = [_external(g) for g in grants]
    return sorted(items, key=lambda item: json.dumps(item, sort_keys=True))


def _visible(account_id: str, region: str) -> list[Permission]:
    """What ListPermissions shows in `account_id`: its own grants, and the grants other
    accounts made on their own resources to it or to its principals."""
    visible = list(_store(account_id, region).permissions)
    for owner in sorted(lakeformation_backends):
        if owner == account_id or _existing_backend(lakeformation_backends, owner, region) is None:
            continue
        visible += [
            g
            for g in _store(owner, region).permissions
            if _account_of(_principal_id(g)) == account_id and _catalog_of(g.resource) == owner
        ]
    return visible


def _matches_filter(resource: dict[str, Any], wanted: dict[str, Any]) -> bool:
    kind, have = _kind(resource)
    wanted_kind, want = _kind(wanted)
    if wanted_kind == "Catalog":
        return kind == "Catalog"
    if have.get("CatalogId") != want.get("CatalogId"):
        return False
    if wanted_kind == "Database":
        return kind == "Database" and _same(have["Name"], want["Name"])
    if wanted_kind == "DataLocation":
        return kind == "DataLocation" and have["ResourceArn"] == want["ResourceArn"]
    if kind not in TABLE_KINDS or not _same(have["DatabaseName"], want["DatabaseName"]):
        return False
    if _is_wildcard(want) or _is_wildcard(have):
        return _is_wildcard(want) and _is_wildcard(have)
    return _same(have["Name"], want["Name"])


def _page(items: list[Any], max_results: Any, next_token: Any) -> tuple[list[Any], str | None]:
    try:
        start = int(next_token or 0)
    except ValueError as exc:
        raise InvalidInputException("Invalid NextToken.") from exc
    size = int(max_results) if max_results else len(items) or 1
    end = start + size
    return items[start:end], (str(end) if end < len(items) else None)


class LakeFormationExtResponse(LakeFormationResponse):
    """moto's Lake Formation with checked grants, the received-grants view, pruning and
    full registrations; every request first brings Lake Formation in step with Glue."""

    def call_action(self) -> Any:
        prune(self.current_account, self.region)
        return super().call_action()

    @property
    def _caller(self) -> str:
        return principal_of(caller_arn(self.current_account, self.get_access_key()))

    # registrations ------------------------------------------------------------------
    def register_resource(self) -> str:
        arn = self._get_param("ResourceArn") or ""
        if not _S3_ARN.match(arn):
            raise InvalidInputException(f"Invalid ResourceArn {arn}: expected an Amazon S3 ARN.")
        role_arn = self._get_param("RoleArn")
        if self._get_param("UseServiceLinkedRole"):
            role_arn = SERVICE_LINKED_ROLE.format(account=self.current_account)
        if not role_arn:
            raise InvalidInputException(
                "RoleArn is required when UseServiceLinkedRole is not true."
            )
        backend = self.lakeformation_backend
        if arn in backend.resources:
            raise AlreadyExistsException("Resource is already registered")
        backend.resources[arn] = RegisteredLocation(
            arn,
            role_arn,
            Registration(
                hybrid_access_enabled=bool(self._get_param("HybridAccessEnabled")),
                with_federation=bool(self._get_param("WithFederation")),
                with_privileged_access=bool(self._get_param("WithPrivilegedAccess")),
                expected_resource_owner_account=self._get_param("ExpectedResourceOwnerAccount"),
            ),
        )
        return "{}"

    @staticmethod
    def _resource_info(registered: Any) -> dict[str, Any]:
        info: dict[str, Any] = dict(registered.to_dict())
        details = getattr(registered, "registration", None)
        if details is not None:
            info["LastModified"] = details.last_modified.timestamp()
        return info

    def describe_resource(self) -> str:
        arn = self._get_param("ResourceArn")
        registered = self.lakeformation_backend.resources.get(arn)
        if registered is None:
            raise EntityNotFoundException("Entity not found")
        return json.dumps({"ResourceInfo": self._resource_info(registered)})

    def list_resources(self) -> str:
        found = list(self.lakeformation_backend.resources.values())
        for condition in self._get_param("FilterConditionList") or []:
            found = [r for r in found if _resource_filter(condition)(self._resource_info(r))]
        page, token = _page(
            sorted(found, key=lambda r: r.arn),
            self._get_param("MaxResults"),
            self._get_param("NextToken"),
        )
        result: dict[str, Any] = {"ResourceInfoList": [self._resource_info(r) for r in page]}
        if token:
            result["NextToken"] = token
        return json.dumps(result)

    # grants -------------------------------------------------------------------------
    def _authorise(self, resource: dict[str, Any], wanted: set[str]) -> None:
        """The caller may grant/revoke `wanted` on `resource` only as a data lake admin
        of the resource's own catalog, or by holding each permission with grant option
        (for another account's resource: received with grant option, by the caller, or
        by its account when the caller is a data lake admin there).

        Raises:
            AccessDeniedException: otherwise.
        """
        account, region, caller = self.current_account, self.region, self._caller
        catalog = _catalog_of(resource) or account
        if catalog == account and is_data_lake_admin(account, region, caller):
            return
        received_by = {caller}
        if is_data_lake_admin(account, region, caller):
            received_by.add(account)
        for permission in wanted:
            own = _holds(account, region, {caller}, resource, permission, grantable=True)
            received = catalog != account and _holds(
                catalog, region, received_by, resource, permission, grantable=True
            )
            if not (own or received):
                raise AccessDeniedException(NOT_AUTHORIZED)

    def _checked_entry(
        self, entry: dict[str, Any]
    ) -> tuple[str, dict[str, Any], list[str], list[str]]:
        principal = (entry.get("Principal") or {}).get("DataLakePrincipalIdentifier")
        if not principal:
            raise InvalidInputException("Principal is required.")
        resource = _require_exists(
            normalise(entry.get("Resource"), self.current_account), self.region
        )
        catalog = _catalog_of(resource)
        if (
            catalog not in (None, self.current_account)
            and _account_of(principal) != self.current_account
        ):
            # A resource shared with this account can only be re-granted inside it.
            raise AccessDeniedException(NOT_AUTHORIZED)
        permissions = list(entry.get("Permissions") or [])
        grantable = list(entry.get("PermissionsWithGrantOption") or [])
        self._authorise(resource, set(permissions) | set(grantable))
        return principal, resource, permissions, grantable

    def _grant(self, entry: dict[str, Any]) -> None:
        principal, resource, permissions, grantable = self._checked_entry(entry)
        _add(self.current_account, self.region, principal, resource, permissions, grantable)

    def _revoke(self, entry: dict[str, Any]) -> None:
        principal, resource, permissions, grantable = self._checked_entry(entry)
        if not _remove(
            self.current_account, self.region, principal, resource, permissions, grantable
        ):
            raise InvalidInputException(NOTHING_REVOKED)

    def _single_entry(self) -> dict[str, Any]:
        catalog = self._get_param("CatalogId")
        if catalog and catalog != self.current_account:
            raise AccessDeniedException(NOT_AUTHORIZED)
        return {
            "Principal": self._get_param("Principal"),
            "Resource": self._get_param("Resource"),
            "Permissions": self._get_param("Permissions"),
            "PermissionsWithGrantOption": self._get_param("PermissionsWithGrantOption"),
        }

    def grant_permissions(self) -> str:
        self._grant(self._single_entry())
        return "{}"

    def revoke_permissions(self) -> str:
        self._revoke(self._single_entry())
        return "{}"

    def _batch(self, apply: Any) -> str:
        failures = []
        for entry in self._get_param("Entries") or []:
            try:
                apply(entry)
            except LakeFormationError as exc:
                failures.append(
                    {
                        "RequestEntry": entry,
                        "Error": {"ErrorCode": exc.code, "ErrorMessage": exc.message},
                    }
                )
        return json.dumps({"Failures": failures})

    def batch_grant_permissions(self) -> str:
        return self._batch(self._grant)

    def batch_revoke_permissions(self) -> str:
        return self._batch(self._revoke)

    def list_permissions(self) -> str:
        principal = self._get_param("Principal")
        wanted = self._get_param("Resource")
        if principal is not None and wanted is None:
            raise InvalidInputException("Resource is mandatory if Principal is set in the input.")
        catalog = self._get_param("CatalogId") or self.current_account
        # IncludeRelated only adds data cells filters, which the emulator has none of.
        grants = _visible(self.current_account, self.region)
        if principal is not None:
            identifier = principal.get("DataLakePrincipalIdentifier")
            grants = [g for g in grants if _principal_id(g) == identifier]
        resource_type = self._get_param("ResourceType")
        if resource_type is not None:
            kinds = RESOURCE_TYPE_KINDS.get(resource_type, ())
            grants = [g for g in grants if _kind(g.resource)[0] in kinds]
        if wanted is not None:
            target = normalise(wanted, catalog)
            grants = [g for g in grants if _matches_filter(g.resource, target)]
        page, token = _page(
            _sorted(grants), self._get_param("MaxResults"), self._get_param("NextToken")
        )
        result: dict[str, Any] = {"PrincipalResourcePermissions": page}
        if token:
            result["NextToken"] = token
        return json.dumps(result)


def _resource_filter(condition: dict[str, Any]) -> Any:
    """A predicate on ResourceInfo for one ListResources FilterCondition.

    Raises:
        InvalidInputException: a field or operator the emulator does not evaluate.
    """
    fields = {"RESOURCE_ARN": "ResourceArn", "ROLE_ARN": "RoleArn"}
    operators = {
        "EQ": lambda value, wanted: value in wanted,
        "NE": lambda value, wanted: value not in wanted,
        "CONTAINS": lambda value, wanted: any(w in value for w in wanted),
        "NOT_CONTAINS": lambda value, wanted: not any(w in value for w in wanted),
        "BEGINS_WITH": lambda value, wanted: any(value.startswith(w) for w in wanted),
    }
    field_name = fields.get(condition.get("Field", ""))
    operator = operators.get(condition.get("ComparisonOperator", ""))
    if field_name is None or operator is None:
        raise InvalidInputException(
            "The emulator filters resources on RESOURCE_ARN or ROLE_ARN with "
            "EQ, NE, CONTAINS, NOT_CONTAINS or BEGINS_WITH."
        )
    values = list(condition.get("StringValueList") or [])
    return lambda info: operator(str(info.get(field_name) or ""), values)
