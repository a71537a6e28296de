"""The Lake Formation and Glue side of DataZone's catalog: what DataZone may import, and
what fulfilling or revoking a subscription grant does in the producer and consumer accounts.

Why this is one module: DataZone's managed access to a Glue table is a fixed recipe
carried out by the manage-access roles (research/workflow.md phases H and M, and the
`AmazonDataZoneGlueManageAccessRolePolicy` actions it relies on):

1. import needs Lake Formation to let DataZone read the table: the producer project's
   role and the account's manage-access role must hold the table's SELECT and DESCRIBE
   with grant option (what DataZone later re-grants), and the manage-access role DESCRIBE
   on the database;
2. a grant needs the table to be LF-managed and the producer's manage-access role to be
   able to re-grant it; it then grants the table to the consumer account in the producer
   account, creates a resource link in the subscription target's database in the consumer
   account, and grants the target's principals the link and the table there;
3. a revocation undoes exactly the grants and the link that step 2 added, and nothing
   that existed before or that another live grant still relies on (the domain's
   `GrantLedger`), so that a teardown leaves Lake Formation as it found it.

The same recipe runs whoever triggers it (accept, revoke, cancel, delete grant, project
deletion), so the mixins only decide *when*; this module decides *what*.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from moto.glue.models import glue_backends
from moto.iam.models import iam_backends

from smus_mesh_emulator.datazone.domains import Domain
from smus_mesh_emulator.datazone.governance import blueprint_configuration, blueprint_named
from smus_mesh_emulator.datazone.ledger import Fulfilment, LfGrant, TableRef
from smus_mesh_emulator.lakeformation import permissions as lf_permissions
from smus_mesh_emulator.lakeformation.models import is_data_lake_admin

#: The Lake Formation principal that stands for "IAM decides" (hybrid / IAM mode).
IAM_ALLOWED_PRINCIPALS = "IAM_ALLOWED_PRINCIPALS"

#: What DataZone grants on a subscribed table: read data and read metadata.
READ_PERMISSIONS = ("SELECT", "DESCRIBE")

#: The blueprint whose configuration names an account's manage-access role for Glue.
DATA_LAKE_BLUEPRINTS = {"V2": "DataLake", "V1": "DefaultDataLake"}


class FulfilmentFailure(Exception):
    """A grant or import cannot be carried out; the message is what DataZone reports
    (a subscribed asset's `failureCause.message`)."""


# --- lookups -------------------------------------------------------------------------------


def glue_backend(account_id: str, region: str) -> Any:
    return glue_backends[account_id][region]


def glue_table(table: TableRef) -> Any:
    """moto's Glue table, or None when the database or table does not exist."""
    database = glue_backend(table.account_id, table.region).databases.get(table.database)
    return None if database is None else database.tables.get(table.name)


def manage_access_role(domain: Domain, account_id: str) -> str | None:
    """The manage-access role `account_id` configured for Glue (its DataLake blueprint
    configuration in `domain`), if any."""
    blueprint = blueprint_named(domain, DATA_LAKE_BLUEPRINTS.get(domain.domain_version, "DataLake"))
    if blueprint is None:
        return None
    configuration = blueprint_configuration(domain, account_id, blueprint.id)
    return None if configuration is None else configuration.manage_access_role_arn


def role_exists(role_arn: str) -> bool:
    parts = role_arn.split(":")
    if len(parts) < 6 or not parts[5].startswith("role/"):
        return False
    name = role_arn.rsplit("/", 1)[-1]
    return any(role.name == name for role in iam_backends[parts[4]]["global"].roles.values())


def _holds(
    account_id: str,
    region: str,
    principal: str,
    resource: dict[str, Any],
    permission: str,
    grantable: bool = False,
) -> bool:
    return bool(
        lf_permissions.has_permission(
            account_id, region, principal, resource, permission, grantable
        )
    )


def iam_governs_metadata(table: TableRef) -> bool:
    """True when IAM, not Lake Formation, decides who reads the table's metadata
    (IAMAllowedPrincipals still holds a permission on the table or its database)."""
    return any(
        _holds(table.account_id, table.region, IAM_ALLOWED_PRINCIPALS, resource, permission)
        for resource in (table.resource(), table.database_resource())
        for permission in ("DESCRIBE", "ALL")
    )


def _missing(
    table: TableRef,
    principal: str,
    label: str,
    resource: dict[str, Any],
    what: str,
    permissions: Iterable[str],
    grantable: bool,
    admin_suffices: bool = False,
) -> str | None:
    """The sentence saying which of `permissions` `principal` lacks on `resource`, or None.

    `admin_suffices`: a data lake administrator of the table's account passes (it may
    grant anything there; MDAA makes the manage-access role one).
    """
    if admin_suffices and is_data_lake_admin(table.account_id, table.region, principal):
        return None
    lacking = [
        permission
        for permission in permissions
        if not _holds(table.account_id, table.region, principal, resource, permission, grantable)
    ]
    if not lacking:
        return None
    option = " with grant option" if grantable else ""
    return f"{label} {principal} lacks {', '.join(lacking)}{option} on {what}"


def missing_import_grants(
    table: TableRef, project_role: str | None, reader_role: str | None
) -> list[str]:
    """Why DataZone may not import `table` for a project, one sentence per missing grant;
    [] when it may.

    A table whose metadata IAM still governs (IAMAllowedPrincipals not revoked) needs no
    Lake Formation grant to be imported: the DataZone roles' managed policies allow the
    Glue reads. It can be imported but not subscribed (see `fulfil`).
    """
    if iam_governs_metadata(table):
        return []
    where = f"table {table.qualified_name} in account {table.account_id}"
    reasons: list[str] = []
    if project_role is None:
        reasons.append("the project has no project role (its Tooling environment is not ACTIVE)")
    else:
        reason = _missing(
            table,
            project_role,
            "Project role",
            table.resource(),
            where,
            READ_PERMISSIONS,
            grantable=True,
        )
        if reason:
            reasons.append(reason)
    if reader_role is None:
        reasons.append(
            f"account {table.account_id} has no manage access role for Glue (no DataLake "
            "blueprint configuration with manageAccessRoleArn)"
        )
        return reasons
    for reason in (
        _missing(
            table,
            reader_role,
            "Manage access role",
            table.resource(),
            where,
            ("DESCRIBE", "SELECT"),
            grantable=True,
            admin_suffices=True,
        ),
        _missing(
            table,
            reader_role,
            "Manage access role",
            table.database_resource(),
            f"database {table.database} in account {table.account_id}",
            ("DESCRIBE",),
            grantable=False,
            admin_suffices=True,
        ),
    ):
        if reason:
            reasons.append(reason)
    return reasons


# --- granting ------------------------------------------------------------------------------


def _grant(
    record: list[LfGrant],
    account_id: str,
    region: str,
    principal: str,
    resource: dict[str, Any],
    permissions: Iterable[str],
    grantable: bool,
    relies: list[LfGrant] | None = None,
) -> None:
    """Grant what `principal` does not hold yet and `record` what was added; `relies`
    gets every permission asked for, held before or not."""
    key = LfGrant.key_of(resource)
    wanted = [
        LfGrant(account_id, region, principal, key, permission, grantable)
        for permission in permissions
    ]
    if relies is not None:
        relies.extend(wanted)
    added = [
        grant
        for grant in wanted
        if not _holds(account_id, region, principal, resource, grant.permission, grantable)
    ]
    if not added:
        return
    names = [grant.permission for grant in added]
    lf_permissions.grant(account_id, region, principal, resource, names, names if grantable else [])
    record.extend(added)


def _free_link_name(consumer_account: str, region: str, database: str, wanted: str) -> str:
    tables = glue_backend(consumer_account, region).databases[database].tables
    name, suffix = wanted, 1
    while name in tables:
        name = f"{wanted}_{suffix}"
        suffix += 1
    return name


def fulfil(
    domain: Domain,
    source: TableRef,
    consumer_account: str,
    database: str,
    principals: list[str],
    consumer_manage_access_role: str | None,
    link_name: str | None = None,
) -> Fulfilment:
    """Give `principals` of `consumer_account` read access to `source` through a resource
    link in `database` (the subscription target's Glue database), named `link_name` or
    after the table (with a numeric suffix when the name is taken).

    Raises:
        FulfilmentFailure: the grant cannot be made; nothing has been changed.
    """
    if glue_table(source) is None:
        raise FulfilmentFailure(
            f"Table {source.qualified_name} no longer exists in account {source.account_id}"
        )
    managed, reason = lf_permissions.is_lf_managed(
        source.account_id, source.region, source.database, source.name
    )
    if not managed:
        raise FulfilmentFailure(
            f"Table {source.qualified_name} is not managed by Lake Formation: {reason}"
        )
    producer_role = manage_access_role(domain, source.account_id)
    if producer_role is None:
        raise FulfilmentFailure(
            f"Account {source.account_id} has no manage access role for Glue (no DataLake "
            "blueprint configuration with manageAccessRoleArn)"
        )
    lacking = _missing(
        source,
        producer_role,
        "Manage access role",
        source.resource(),
        f"table {source.qualified_name} in account {source.account_id}",
        READ_PERMISSIONS,
        grantable=True,
        admin_suffices=True,
    )
    if lacking:
        raise FulfilmentFailure(lacking)
    if not consumer_manage_access_role or not role_exists(consumer_manage_access_role):
        raise FulfilmentFailure(
            f"Subscription target's manage access role {consumer_manage_access_role} does not "
            f"exist in account {consumer_account}"
        )
    if database not in glue_backend(consumer_account, source.region).databases:
        raise FulfilmentFailure(
            f"Subscription target database {database} does not exist in account {consumer_account}"
        )

    done = Fulfilment(source, consumer_account)
    region = source.region
    if consumer_account == source.account_id:
        for principal in principals:
            _grant(
                done.grants,
                region=region,
                account_id=source.account_id,
                principal=principal,
                resource=source.resource(),
                permissions=READ_PERMISSIONS,
                grantable=False,
                relies=done.relies,
            )
    else:
        # Cross-account: the producer grants the consumer account (with grant option, so
        # that the consumer's manage-access role can re-grant to the project role).
        _grant(
            done.grants,
            region=region,
            account_id=source.account_id,
            principal=consumer_account,
            resource=source.resource(),
            permissions=READ_PERMISSIONS,
            grantable=True,
            relies=done.relies,
        )
    link_name = _free_link_name(consumer_account, region, database, link_name or source.name)
    glue_backend(consumer_account, region).create_table(
        database,
        link_name,
        {
            "Name": link_name,
            "TargetTable": {
                "CatalogId": source.account_id,
                "DatabaseName": source.database,
                "Name": source.name,
                "Region": region,
            },
        },
    )
    done.link = TableRef(consumer_account, region, database, link_name)
    for principal in principals:
        _grant(
            done.grants,
            region=region,
            account_id=consumer_account,
            principal=principal,
            resource=done.link.resource(),
            permissions=("DESCRIBE",),
            grantable=False,
            relies=done.relies,
        )
        if consumer_account != source.account_id:
            _grant(
                done.grants,
                region=region,
                account_id=consumer_account,
                principal=principal,
                resource=source.resource(),
                permissions=READ_PERMISSIONS,
                grantable=False,
                relies=done.relies,
            )
    domain.lf_ledger.hold(done)
    return done


def revoke_grants(grants: list[LfGrant]) -> None:
    """Remove the Lake Formation permissions in `grants` (newest first), except those
    already gone."""
    for grant in reversed(grants):
        resource = grant.resource()
        if _holds(
            grant.account_id,
            grant.region,
            grant.principal,
            resource,
            grant.permission,
            grant.grantable,
        ):
            lf_permissions.revoke(
                grant.account_id,
                grant.region,
                grant.principal,
                resource,
                [grant.permission],
                [grant.permission] if grant.grantable else [],
            )
    grants.clear()


def revoke(domain: Domain, done: Fulfilment) -> None:
    """Undo `done`: remove its resource link and the Lake Formation permissions DataZone
    added that no other live fulfilment of the domain relies on."""
    revoke_grants(domain.lf_ledger.release(done))
    done.grants.clear()
    done.relies.clear()
    link = done.link
    if link is not None:
        table = glue_table(link)
        target = (table.as_dict().get("TargetTable") or {}) if table is not None else {}
        if target.get("CatalogId") == done.source.account_id and target.get("Name") == (
            done.source.name
        ):
            glue_backend(link.account_id, link.region).delete_table(link.database, link.name)
        done.link = None


def grant_database_access(
    account_id: str,
    region: str,
    database: str,
    project_role: str | None,
    reader_role: str | None,
    record: list[LfGrant],
) -> tuple[str, str | None]:
    """A V2 data source's self-grant on one database: the reader (manage-access) role gives
    the project role DESCRIBE on it. Returns (SelfGrantStatus, failure cause)."""
    resource = {"Database": {"CatalogId": account_id, "Name": database}}
    if project_role is None:
        return "GRANT_FAILED", (
            "The project has no project role (its Tooling environment is not ACTIVE)"
        )
    if database not in glue_backend(account_id, region).databases:
        return "GRANT_FAILED", f"Database {database} not found in account {account_id}"
    if _holds(account_id, region, project_role, resource, "DESCRIBE"):
        return "GRANTED", None
    if reader_role is None or not (
        _holds(account_id, region, reader_role, resource, "DESCRIBE", grantable=True)
        or is_data_lake_admin(account_id, region, reader_role)
    ):
        return "GRANT_FAILED", (
            f"Manage access role {reader_role} lacks DESCRIBE with grant option on database "
            f"{database} in account {account_id}"
        )
    _grant(record, account_id, region, project_role, resource, ("DESCRIBE",), grantable=False)
    return "GRANTED", None
