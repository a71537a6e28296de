"""The tables a query names, resolved in the caller's Glue catalog (AwsDataCatalog) through
resource links to the owner account, and Lake Formation's decision on reading them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from smus_mesh_emulator.athena.exceptions import (
    TYPE_ENTITY_NOT_FOUND,
    TYPE_TABLE_NOT_FOUND,
    QueryFailure,
)
from smus_mesh_emulator.athena.models import CATALOG, DEFAULT_DATABASE, QueryRun
from smus_mesh_emulator.lakeformation import permissions as lf_permissions
from smus_mesh_emulator.lakeformation.models import (
    glue_database,
    glue_table,
    is_data_lake_admin,
    is_hybrid,
    registration_for,
    settings_of,
)
from smus_mesh_emulator.lakeformation.resources import (
    IAM_ALLOWED_PRINCIPALS,
    is_under,
    location_arn,
)


@dataclass(frozen=True)
class TableReference:
    """A table as the query names it (lowercased), where it is, and the Glue table it
    resolves to after following resource links."""

    schema: str
    name: str
    position: str
    owner: str
    database: str
    table: str
    glue: Any = field(compare=False)

    @property
    def resource(self) -> dict[str, Any]:
        return {
            "Table": {"CatalogId": self.owner, "DatabaseName": self.database, "Name": self.table}
        }


def position_prefix(query: str, offset: int | None) -> str:
    """Athena's `line L:C: ` prefix for a character offset."""
    if offset is None or offset < 0 or offset > len(query):
        return ""
    before = query[:offset]
    line = before.count("\n") + 1
    column = offset - (before.rfind("\n") + 1) + 1
    return f"line {line}:{column}: "


def glue_input(glue_object: Any) -> dict[str, Any]:
    return dict(glue_object.as_dict())


def resolve(
    run: QueryRun,
    catalog: str,
    schema: str,
    name: str,
    offset: int | None,
    text: str | None = None,
) -> TableReference:
    """The table `[catalog.][schema.]name` names, followed through resource links;
    `offset` is its position in `text` (the query by default), for Athena's `line L:C: `.

    Raises:
        QueryFailure: the catalog, schema or table does not exist.
    """
    position = position_prefix(run.query if text is None else text, offset)
    if catalog and catalog.lower() != CATALOG.lower():
        raise QueryFailure(
            f"CATALOG_NOT_FOUND: {position}Catalog '{catalog.lower()}' does not exist",
            TYPE_ENTITY_NOT_FOUND,
        )
    schema = (schema or (run.context or {}).get("Database") or DEFAULT_DATABASE).lower()
    qualified = f"awsdatacatalog.{schema}.{name.lower()}"
    database = glue_database(run.account, run.region, schema)
    if database is None:
        raise QueryFailure(
            f"SCHEMA_NOT_FOUND: {position}Schema '{schema}' does not exist", TYPE_ENTITY_NOT_FOUND
        )
    owner, database_name = run.account, database.name
    target_database = glue_input(database).get("TargetDatabase")
    if target_database:
        owner = target_database.get("CatalogId") or owner
        database_name = target_database["DatabaseName"]
    missing = QueryFailure(
        f"TABLE_NOT_FOUND: {position}Table '{qualified}' does not exist", TYPE_TABLE_NOT_FOUND
    )
    table = glue_table(owner, run.region, database_name, name)
    for _ in range(4):  # a resource link may point at another link; never loop forever
        if table is None:
            raise missing
        target = glue_input(table).get("TargetTable")
        if not target:
            break
        owner = target.get("CatalogId") or owner
        database_name = target["DatabaseName"]
        table = glue_table(owner, run.region, database_name, target["Name"])
    if table is None:
        raise missing
    resolved_database = glue_database(owner, run.region, database_name)
    return TableReference(
        schema=schema,
        name=name.lower(),
        position=position,
        owner=owner,
        database=resolved_database.name if resolved_database is not None else database_name,
        table=table.name,
        glue=table,
    )


def authorised(run: QueryRun, reference: TableReference) -> bool:
    """Lake Formation's decision for the caller P of account C reading table T of O.

    Same account: an explicit SELECT for P, or P is a data lake admin of O, or
    IAMAllowedPrincipals still holds SELECT on T (then IAM decides, and IAM policies are
    not modelled, so the read is allowed). Across accounts: O must grant SELECT to P
    directly, or to account C, which must then re-grant it to P in its own Lake
    Formation (the resource named with CatalogId O); IAMAllowedPrincipals never
    crosses accounts.
    """
    region, caller, owner = run.region, run.principal, reference.owner
    resource = reference.resource
    if owner == run.account:
        return (
            lf_permissions.has_permission(owner, region, caller, resource, "SELECT")
            or is_data_lake_admin(owner, region, caller)
            or lf_permissions.has_permission(
                owner, region, IAM_ALLOWED_PRINCIPALS, resource, "SELECT"
            )
        )
    if lf_permissions.holds_directly(owner, region, caller, resource, "SELECT"):
        return True
    return lf_permissions.has_permission(
        owner, region, run.account, resource, "SELECT"
    ) and lf_permissions.holds_directly(run.account, region, caller, resource, "SELECT")


# --- Lake Formation's rules for DDL, DML and metadata ------------------------------------

#: Table permissions, any one of which lets a principal see the table (LF filters metadata
#: to what the principal holds something on).
_TABLE_PERMISSIONS = ("DESCRIBE", "SELECT", "INSERT", "DELETE", "ALTER", "DROP")


_DATABASE_PERMISSIONS = ("DESCRIBE", "CREATE_TABLE", "ALTER", "DROP")


def database_resource(account: str, database: str) -> dict[str, Any]:
    return {"Database": {"CatalogId": account, "Name": database}}


def table_resource(account: str, database: str, table: str) -> dict[str, Any]:
    return {"Table": {"CatalogId": account, "DatabaseName": database, "Name": table}}


def holds(run: QueryRun, resource: dict[str, Any], permission: str) -> bool:
    """Whether the caller holds `permission` (or ALL) on a resource of its own account:
    granted to it, or to IAMAllowedPrincipals (then IAM decides, and IAM policies are not
    modelled). Creators hold ALL on what they created: Athena's DDL grants it (see ddl).
    """
    region = run.region
    return lf_permissions.has_permission(
        run.account, region, run.principal, resource, permission
    ) or lf_permissions.has_permission(
        run.account, region, IAM_ALLOWED_PRINCIPALS, resource, permission
    )


def is_admin(run: QueryRun) -> bool:
    return is_data_lake_admin(run.account, run.region, run.principal)


def may_create_database(run: QueryRun) -> bool:
    """CREATE_DATABASE on the catalog: a data lake administrator, a database creator
    (granted CREATE_DATABASE or ALL on the catalog), or anyone while IAMAllowedPrincipals
    keeps it. A new AWS account gives IAMAllowedPrincipals CREATE_DATABASE; the emulator
    stores no such grant, and reads it as kept for as long as the account's settings still
    give IAMAllowedPrincipals new databases (CreateDatabaseDefaultPermissions): Lake
    Formation's documented procedure to leave IAM-only access clears that setting and
    revokes the catalog grant together (ADR 5).
    """
    if is_admin(run) or holds(run, {"Catalog": {}}, "CREATE_DATABASE"):
        return True
    defaults = settings_of(run.account, run.region).get("CreateDatabaseDefaultPermissions") or []
    return any(
        (entry.get("Principal") or {}).get("DataLakePrincipalIdentifier") == IAM_ALLOWED_PRINCIPALS
        for entry in defaults
    )


def may_use_location(run: QueryRun, location: str, database_location: str | None = None) -> bool:
    """DATA_LOCATION_ACCESS, needed to create a database or table that points into a
    location registered with Lake Formation (not in hybrid access mode). Not needed by a
    data lake administrator, nor for a table inside its database's own location."""
    registered = registration_for(run.account, run.region, location)
    if registered is None or is_hybrid(registered) or is_admin(run):
        return True
    if database_location and is_under(location_arn(location), location_arn(database_location)):
        return True
    resource = {"DataLocation": {"ResourceArn": location_arn(location)}}
    return lf_permissions.has_permission(
        run.account, run.region, run.principal, resource, "DATA_LOCATION_ACCESS"
    )


def sees_table(run: QueryRun, database: str, table: str) -> bool:
    """Whether Lake Formation shows the table to the caller (SHOW TABLES, DESCRIBE)."""
    if is_admin(run):
        return True
    resource = table_resource(run.account, database, table)
    return any(holds(run, resource, p) for p in _TABLE_PERMISSIONS)


def sees_database(run: QueryRun, database: Any) -> bool:
    """Whether Lake Formation shows the database: a permission on it or on a table in it."""
    if is_admin(run):
        return True
    resource = database_resource(run.account, database.name)
    if any(holds(run, resource, p) for p in _DATABASE_PERMISSIONS):
        return True
    return any(sees_table(run, database.name, name) for name in database.tables)
