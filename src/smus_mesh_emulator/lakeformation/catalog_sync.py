"""Keeping Lake Formation in step with the Glue catalog (`prune`).

A real Data Catalog does two things that moto's Glue cannot tell Lake Formation: a new
database or table receives the default permissions in force when it is created
(`CreateDatabaseDefaultPermissions`, then the database's `CreateTableDefaultPermissions`;
IAM_ALLOWED_PRINCIPALS ALL in a fresh account), and a dropped one loses its grants in
every account. `prune()` does both lazily, before every Lake Formation request and in
every in-process call: catalog objects are tracked by identity, so a table dropped and
created again under the same name loses the old grants and gets fresh defaults; settings
are synced before they change, so defaults are those that applied at creation.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from moto.glue.models import glue_backends
from moto.lakeformation.models import (
    lakeformation_backends,
)

from smus_mesh_emulator.lakeformation.models import (
    add_grant,
    backend_of,
    by_name,
    existing_backend,
    glue_database,
    glue_table,
    replace_grant,
    settings_of,
    store_of,
)
from smus_mesh_emulator.lakeformation.resources import catalog_of, names_of


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
    backend = backend_of(account_id, region)
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
            add_grant(account_id, region, principal, resource, list(entry["Permissions"]), [])


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
    glue = existing_backend(glue_backends, account_id, region)
    databases: dict[str, Any] = dict(glue.databases) if glue is not None else {}
    if not databases and existing_backend(lakeformation_backends, account_id, region) is None:
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
        table = by_name(database.tables, table_key[1]) if database is not None else None
        if table is not seen:
            del memory.tables[table_key]
            gone.append((account_id, *table_key))
    settings = settings_of(account_id, region)
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


def _depends_on(resource: dict[str, Any], gone: tuple[str, str, str | None]) -> bool:
    names = names_of(resource)
    if names is None or catalog_of(resource) != gone[0] or names[0] != gone[1]:
        return False
    return gone[2] is None or names[1] == gone[2]


def _target_exists(resource: dict[str, Any], region: str) -> bool:
    names = names_of(resource)
    catalog = catalog_of(resource)
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
    # are made after a sync, on objects that exist (`require_exists`, defaults).
    for holder in accounts if gone else ():
        if existing_backend(lakeformation_backends, holder, region) is None:
            continue
        store = store_of(holder, region)
        for grant in list(store.permissions):
            if any(_depends_on(grant.resource, g) for g in gone) or not _target_exists(
                grant.resource, region
            ):
                replace_grant(store, grant, None)
    for catalog_account, resource, defaults in pending:
        _apply_defaults(catalog_account, region, resource, defaults)
    for catalog_account in accounts:
        backend = existing_backend(lakeformation_backends, catalog_account, region)
        memory = getattr(backend, "smus_catalog_memory", None)
        if memory is not None:
            memory.synced_at = _Changes.count


def _in_step(accounts: list[str], region: str) -> bool:
    """Whether no tracked catalog changed since every account's last sync (and every
    catalog with databases is tracked): then `prune` has nothing to do."""
    for account in accounts:
        glue = existing_backend(glue_backends, account, region)
        backend = existing_backend(lakeformation_backends, account, region)
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
