"""Keeping Lake Formation in step with the Glue catalog (`prune`).

A real Data Catalog does two things that moto's Glue cannot tell Lake Formation: a new
database or table receives the default permissions in force when it is created
(`CreateDatabaseDefaultPermissions`, then the database's `CreateTableDefaultPermissions`;
IAM_ALLOWED_PRINCIPALS ALL in a fresh account), and a dropped one loses its grants in
every account. `prune()` does both lazily, before every Lake Formation request and in
every in-process call: catalog objects are tracked by identity, so a table dropped and
created again under the same name loses the old grants and gets fresh defaults; settings
are synced before they change, so defaults are those that applied at creation. Its cost
is what changed since the last call, not the size of the catalogs or of the grants.
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
    existing_backend,
    glue_database,
    glue_table,
    index_of,
    replace_grant,
    settings_of,
    store_of,
)
from smus_mesh_emulator.lakeformation.resources import catalog_of, names_of
from smus_mesh_emulator.runtime import RUNTIME

#: Where a tracked Glue catalog changed since the last `prune`: (account, region, None)
#: when databases were added or removed, (account, region, database key) when that
#: database's tables were. Module state, like moto's backends it watches.
_DIRTY: set[tuple[str, str, str | None]] = set()


class _TrackedDict(OrderedDict):  # type: ignore[type-arg]
    """moto's Glue keeps databases and tables in OrderedDicts; once Lake Formation has
    seen a catalog, they are swapped for this one, which records where it changed, so
    that `prune` looks at what changed and nothing else (a 20 x 100 set-up drops
    thousands of resource links, one request at a time)."""

    where: tuple[str, str, str | None] = ("", "", None)

    def _changed(self) -> None:
        _DIRTY.add(self.where)

    def __setitem__(self, key: Any, value: Any) -> None:
        self._changed()
        super().__setitem__(key, value)

    def __delitem__(self, key: Any) -> None:
        self._changed()
        super().__delitem__(key)

    def pop(self, *args: Any) -> Any:
        self._changed()
        return super().pop(*args)

    def popitem(self, last: bool = True) -> Any:
        self._changed()
        return super().popitem(last)

    def clear(self) -> None:
        self._changed()
        super().clear()

    def setdefault(self, key: Any, default: Any = None) -> Any:
        self._changed()
        return super().setdefault(key, default)

    def update(self, *args: Any, **kwargs: Any) -> None:
        self._changed()
        super().update(*args, **kwargs)


def _tracked(container: Any, attribute: str, where: tuple[str, str, str | None]) -> None:
    current = getattr(container, attribute)
    if type(current) is not _TrackedDict or current.where != where:
        tracked = _TrackedDict(current)
        tracked.where = where
        setattr(container, attribute, tracked)


@dataclass
class _CatalogMemory:
    """The Glue objects Lake Formation has seen in one account, by identity (database
    key -> database; database key -> table key -> table; keys lowercased), and the
    table defaults each database had when it was created."""

    databases: dict[str, Any] = field(default_factory=dict)
    tables: dict[str, dict[str, Any]] = field(default_factory=dict)
    table_defaults: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


def _memory(account_id: str, region: str) -> _CatalogMemory:
    # Kept on moto's backend so that a reset of the cloud forgets it too.
    backend = backend_of(account_id, region)
    memory: _CatalogMemory | None = getattr(backend, "smus_catalog_memory", None)
    if memory is None:
        memory = _CatalogMemory()
        backend.smus_catalog_memory = memory
    return memory


def _remembers(account_id: str, region: str) -> bool:
    backend = existing_backend(lakeformation_backends, account_id, region)
    return getattr(backend, "smus_catalog_memory", None) is not None


def _apply_defaults(
    account_id: str, region: str, resource: dict[str, Any], defaults: list[dict[str, Any]]
) -> None:
    for entry in defaults:
        principal = (entry.get("Principal") or {}).get("DataLakePrincipalIdentifier")
        if principal and entry.get("Permissions"):
            add_grant(account_id, region, principal, resource, list(entry["Permissions"]), [])


Gone = tuple[str, str, str | None]
Pending = list[tuple[dict[str, Any], list[dict[str, Any]]]]


def _needs_full_sync(account_id: str, region: str) -> bool:
    """Whether an account's catalog is not (or no longer) watched: never seen, or its
    databases dict replaced behind Lake Formation's back."""
    glue = existing_backend(glue_backends, account_id, region)
    if glue is None or not glue.databases:
        return False  # nothing to remember; `_sync_account` would skip it too
    if not _remembers(account_id, region):
        return True
    return type(glue.databases) is not _TrackedDict


def _sync_tables(
    account_id: str,
    region: str,
    memory: _CatalogMemory,
    key: str,
    database: Any,
    gone: list[Gone],
    pending: Pending,
) -> None:
    """Compare one database's tables with what Lake Formation saw of them."""
    _tracked(database, "tables", (account_id, region, key))
    seen = memory.tables.setdefault(key, {})
    current = {name.lower(): table for name, table in database.tables.items()}
    for table_key, table in list(seen.items()):
        if current.get(table_key) is not table:
            del seen[table_key]
            gone.append((account_id, key, table_key))
    for table_key, table in current.items():
        if table_key in seen:
            continue
        seen[table_key] = table
        resource = {
            "Table": {"CatalogId": account_id, "DatabaseName": database.name, "Name": table.name}
        }
        pending.append((resource, memory.table_defaults[key]))


def _sync_account(
    account_id: str, region: str, changed: set[str | None] | None, gone: list[Gone]
) -> Pending:
    """Record dropped/replaced objects of one catalog in `gone`; the defaults to apply
    to its new objects, as (resource, default permissions) pairs. `changed`: the
    database keys whose tables changed (None among them: the databases changed), or
    None to compare everything."""
    glue = existing_backend(glue_backends, account_id, region)
    databases: dict[str, Any] = dict(glue.databases) if glue is not None else {}
    if not databases and existing_backend(lakeformation_backends, account_id, region) is None:
        return []
    if glue is not None:
        _tracked(glue, "databases", (account_id, region, None))
    memory = _memory(account_id, region)
    current = {name.lower(): database for name, database in databases.items()}
    pending: Pending = []
    if changed is None or None in changed:
        for database_key, seen in list(memory.databases.items()):
            if current.get(database_key) is not seen:
                memory.databases.pop(database_key)
                memory.table_defaults.pop(database_key, None)
                memory.tables.pop(database_key, None)
                gone.append((account_id, database_key, None))
        settings = settings_of(account_id, region)
        for key, database in current.items():
            if key in memory.databases:
                continue
            memory.databases[key] = database
            given = database.input or {}
            memory.table_defaults[key] = list(
                given["CreateTableDefaultPermissions"]
                if "CreateTableDefaultPermissions" in given
                else settings.get("CreateTableDefaultPermissions") or []
            )
            resource = {"Database": {"CatalogId": account_id, "Name": database.name}}
            pending.append((resource, settings.get("CreateDatabaseDefaultPermissions") or []))
            _sync_tables(account_id, region, memory, key, database, gone, pending)
    for key in current if changed is None else (k for k in changed if k is not None):
        database = current.get(key)
        if database is not None and memory.databases.get(key) is database:
            _sync_tables(account_id, region, memory, key, database, gone, pending)
    return pending


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
    `account_id` is accepted for callers that think per account. It looks only at what
    changed since the last call (`_DIRTY`), and at all of a catalog it does not watch yet.

    Examples:
        >>> prune("111111111111", "us-east-1")  # after glue.delete_table(...)
    """
    del account_id  # the catalogs of all accounts are linked through their grants
    if not _out_of_step(region):
        return
    # Lake Formation and DataZone reads run side by side (ADR 28) and each may prune:
    # the sync itself runs one at a time (a read holding the world shared takes the
    # nested lock), and looks again once it has the lock.
    with RUNTIME.lock:
        _sync(region)


def _out_of_step(region: str) -> bool:
    accounts = set(glue_backends) | set(lakeformation_backends)
    # A copy (taken at once under the GIL): another reader's sync may empty the set.
    return any(where[1] == region for where in tuple(_DIRTY)) or any(
        _needs_full_sync(account, region) for account in accounts
    )


def _sync(region: str) -> None:
    accounts = sorted(set(glue_backends) | set(lakeformation_backends))
    full = {account for account in accounts if _needs_full_sync(account, region)}
    dirty = {where for where in tuple(_DIRTY) if where[1] == region}
    if not full and not dirty:
        return
    _DIRTY.difference_update(dirty)
    changed: dict[str, set[str | None]] = {}
    for account, _, key in dirty:
        changed.setdefault(account, set()).add(key)
    gone: list[Gone] = []
    pending: list[tuple[str, dict[str, Any], list[dict[str, Any]]]] = []
    for catalog_account in accounts:
        if catalog_account not in full and catalog_account not in changed:
            continue
        within = None if catalog_account in full else changed[catalog_account]
        pending += [
            (catalog_account, resource, defaults)
            for resource, defaults in _sync_account(catalog_account, region, within, gone)
        ]
    # A grant can only outlive its target through a change recorded in `gone`: grants
    # are made after a sync, on objects that exist (`require_exists`, defaults); a
    # catalog seen for the first time is checked grant by grant.
    for holder in accounts if gone or full else ():
        if existing_backend(lakeformation_backends, holder, region) is None:
            continue
        store = store_of(holder, region)
        index = index_of(store)
        doomed = {id(grant): grant for g in gone for grant in index.under(*g)}
        if full:
            doomed.update(
                (id(grant), grant)
                for grant in store.permissions
                if catalog_of(grant.resource) in full and not _target_exists(grant.resource, region)
            )
        for grant in doomed.values():
            replace_grant(store, grant, None)
    for catalog_account, resource, defaults in pending:
        _apply_defaults(catalog_account, region, resource, defaults)
