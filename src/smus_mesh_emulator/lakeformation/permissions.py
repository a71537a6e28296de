"""The in-process Lake Formation API for the rest of the emulator (DataZone, Athena).

Each call first brings Lake Formation in step with Glue (`prune`), then reads or changes
grants as a service would: no grantor check, and revoking what is not held is a no-op.
"""

from __future__ import annotations

from typing import Any

from smus_mesh_emulator.lakeformation.catalog_sync import prune
from smus_mesh_emulator.lakeformation.exceptions import EntityNotFoundException
from smus_mesh_emulator.lakeformation.models import (
    add_grant,
    by_name,
    glue_database,
    glue_table,
    holds,
    index_of,
    is_hybrid,
    permission_items,
    registration_for,
    remove_grant,
    store_of,
)
from smus_mesh_emulator.lakeformation.resources import (
    IAM_ALLOWED_PRINCIPALS,
    TABLE_KINDS,
    account_of,
    covers,
    is_wildcard,
    kind_of,
    normalise,
)


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
    owner = account_of(principal)
    if owner is not None and owner != account_id:
        principals.add(owner)
    return holds(account_id, region, principals, wanted, permission, grantable)


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
    return holds(account_id, region, {principal}, wanted, permission, grantable=False)


def require_exists(resource: dict[str, Any], region: str) -> dict[str, Any]:
    """The resource with names spelled as in its catalog.

    Raises:
        EntityNotFoundException: the database, table or registered location is missing.
    """
    kind, spec = kind_of(resource)
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
        if is_wildcard(spec):
            return {kind: named}
        table = by_name(database.tables, spec["Name"])
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
    target = require_exists(normalise(resource, account_id), region)
    add_grant(account_id, region, principal, target, list(permissions), list(grantable))


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
    remove_grant(
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
    return permission_items(store_of(account_id, region).permissions)


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
        for grant_record in (
            index_of(store_of(account_id, region)).of(IAM_ALLOWED_PRINCIPALS).values()
        ):
            if covers(grant_record.resource, wanted):
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
    if is_hybrid(registered):
        return False, (
            f"The S3 location {location} of table {name} is registered with Lake Formation "
            "in hybrid access mode"
        )
    return True, None
