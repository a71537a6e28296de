"""Lake Formation: administrators, Lake-Formation-only tables, location registration, grants.

* Administrators are changed read-modify-write: the principals smus-mesh adds
  are appended to whatever is there, and `down` removes only those (the list of
  what was added is kept in the state file *and* in a tag on the set-up's
  Lake Formation access role, so it survives a lost state file).
* Tables must not grant anything to IAM_ALLOWED_PRINCIPALS (DataZone cannot
  subscribe to tables under IAM access control); locations are registered in
  Lake Formation mode, never hybrid (workflow.md B4, B5, §4.4).
* Grants of workflow.md Phase H give the producer project's role and the
  manage-access role what a data source import and a subscription need.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from typing import Any

from botocore.exceptions import ClientError

from smus_mesh.errors import aws_code
from smus_mesh.resources.base import Observed, Resource, Status, register
from smus_mesh.resources.context import Context
from smus_mesh.resources.datazone import joined_unless_made

IAM_ALLOWED_PRINCIPALS = "IAM_ALLOWED_PRINCIPALS"
ADMINS_TAG = "smus-mesh:lf-admins"


def principal_hash(arn: str) -> str:
    return hashlib.sha256(arn.encode()).hexdigest()[:10]


def caller_principal(ctx: Context, account: str) -> str:
    """The IAM principal smus-mesh runs as in `account` (role ARN for assumed roles)."""

    def lookup() -> str:
        arn = str(ctx.clients.caller_identity(account)["Arn"])
        if ":assumed-role/" not in arn:
            return arn
        account_id, rest = arn.split(":")[4], arn.split(":assumed-role/")[1]
        name = rest.split("/")[0]
        try:  # the session ARN drops the role's path; IAM has the real ARN
            return str(ctx.client(account, "iam").get_role(RoleName=name)["Role"]["Arn"])
        except ClientError:
            return f"arn:aws:iam::{account_id}:role/{name}"

    return str(ctx.memo(f"caller:{account}", lookup))


@register
class LakeFormationAdmin(Resource):
    """Makes smus-mesh's own principal a data lake administrator of a table account
    (workflow.md B1), keeping every existing administrator.

    Whether smus-mesh added it (and so may remove it) is written as a hash on the
    set-up's Lake Formation access role, so `down` knows even without a state file.

    Example (added for each account that holds a table)::

        tables:
          - {name: inventory, account: producer, ...}
    """

    kind = "lakeformation:admin"
    iam_actions = (
        "lakeformation:GetDataLakeSettings",
        "lakeformation:PutDataLakeSettings",
        "sts:GetCallerIdentity",
        "iam:TagRole",
        "iam:ListRoleTags",
    )

    def __init__(self, account: str, role_key: str) -> None:
        super().__init__(account, account, (role_key,))
        self.role_key = role_key

    def _marked(self, ctx: Context) -> set[str]:
        name = ctx.output(self.role_key, "name")
        tags = ctx.client(self.account, "iam").list_role_tags(RoleName=name).get("Tags", [])
        if not ctx.names.is_ours(tags):
            # Another set-up's role of the same name (another set-up id): its marks are
            # its own admins, never this set-up's.
            return set()
        value = next((t["Value"] for t in tags if t["Key"] == ADMINS_TAG), "")
        return set(value.split()) if value else set()

    def observe(self, ctx: Context) -> Observed:
        principal = caller_principal(ctx, self.account)
        settings = ctx.client(self.account, "lakeformation").get_data_lake_settings()
        admins = [
            a["DataLakePrincipalIdentifier"]
            for a in settings["DataLakeSettings"].get("DataLakeAdmins", [])
        ]
        identity = {"principal": principal}
        if principal not in admins:
            return Observed(Status.ABSENT, identity, detail=f"{principal} is not an admin")
        owned = principal_hash(principal) in self._marked(ctx)
        return Observed(Status.COMPLETE, identity, detail="admin", owned=owned)

    def create(self, ctx: Context) -> dict[str, Any]:
        principal = caller_principal(ctx, self.account)
        marked = self._marked(ctx)
        # Marked already by a run killed before PutDataLakeSettings: not tagged again (each
        # rerun would otherwise start with the same TagRole, found by the crash chain).
        if principal_hash(principal) not in marked:
            ctx.client(self.account, "iam").tag_role(
                RoleName=ctx.output(self.role_key, "name"),
                Tags=[
                    {
                        "Key": ADMINS_TAG,
                        "Value": " ".join(sorted(marked | {principal_hash(principal)})),
                    }
                ],
            )
        set_admins(ctx, self.account, add=[principal])
        return {"principal": principal}

    def delete(self, ctx: Context, observed: Observed) -> None:
        set_admins(ctx, self.account, remove=[str(observed.identity["principal"])])


def set_admins(
    ctx: Context, account: str, add: list[str] | None = None, remove: list[str] | None = None
) -> None:
    """Read-modify-write of DataLakeAdmins: never drops an admin it was not asked to."""
    lakeformation = ctx.client(account, "lakeformation")
    settings = lakeformation.get_data_lake_settings()["DataLakeSettings"]
    admins = [a["DataLakePrincipalIdentifier"] for a in settings.get("DataLakeAdmins", [])]
    updated = [a for a in admins if a not in (remove or [])]
    updated += [a for a in (add or []) if a not in updated]
    if updated == admins:
        return
    settings["DataLakeAdmins"] = [{"DataLakePrincipalIdentifier": a} for a in updated]
    lakeformation.put_data_lake_settings(DataLakeSettings=settings)


def table_resource(catalog_id: str, database: str, table: str) -> dict[str, Any]:
    return {"Table": {"CatalogId": catalog_id, "DatabaseName": database, "Name": table}}


def database_resource(catalog_id: str, database: str) -> dict[str, Any]:
    return {"Database": {"CatalogId": catalog_id, "Name": database}}


def permission_entries(lakeformation: Any, **kwargs: Any) -> Iterator[dict[str, Any]]:
    """Every `PrincipalResourcePermissions` entry of ListPermissions with `kwargs`, page by
    page (botocore has no paginator for it)."""
    token = None
    while True:
        page = lakeformation.list_permissions(**kwargs, **({"NextToken": token} if token else {}))
        yield from page.get("PrincipalResourcePermissions", [])
        token = page.get("NextToken")
        if not token:
            return


def database_of(resource: dict[str, Any]) -> str | None:
    """The database a Lake Formation resource (database, table, columns) is in."""
    name = (
        resource.get("Database", {}).get("Name")
        or resource.get("Table", {}).get("DatabaseName")
        or resource.get("TableWithColumns", {}).get("DatabaseName")
    )
    return str(name) if name else None


def _permissions(
    lakeformation: Any, principal: str, resource: dict[str, Any]
) -> tuple[set[str], set[str]]:
    """(permissions, grantable permissions) of `principal` on exactly `resource`."""
    held: set[str] = set()
    grantable: set[str] = set()
    for entry in permission_entries(
        lakeformation, Principal={"DataLakePrincipalIdentifier": principal}, Resource=resource
    ):
        if entry.get("Principal", {}).get("DataLakePrincipalIdentifier") != principal:
            continue
        held.update(entry.get("Permissions", []))
        grantable.update(entry.get("PermissionsWithGrantOption", []))
    return held, grantable


@register
class LakeFormationOnly(Resource):
    """Revokes IAM_ALLOWED_PRINCIPALS from a table and its database (workflow.md B4).

    For a table smus-mesh created there is nothing to revoke (its database has no
    IAM defaults). For an existing table, what was revoked is remembered and put
    back by `down`, leaving the table as it was.

    Example::

        tables:
          - {name: legacy, account: producer, database: erp, table: orders,
             location: "s3://erp-data/orders/", create: false}
    """

    kind = "lakeformation:lf-only"
    iam_actions = (
        "lakeformation:ListPermissions",
        "lakeformation:RevokePermissions",
        "lakeformation:GrantPermissions",
    )

    def __init__(self, name: str, account: str, table_key: str, depends_on: tuple[str, ...]):
        super().__init__(name, account, depends_on)
        self.table_key = table_key

    def belongs_to(self) -> tuple[str, ...]:
        return (self.table_key,)

    def _resources(self, ctx: Context) -> list[dict[str, Any]]:
        catalog = ctx.output(self.table_key, "catalog_id")
        database = ctx.output(self.table_key, "database")
        table = ctx.output(self.table_key, "table")
        return [database_resource(catalog, database), table_resource(catalog, database, table)]

    def observe(self, ctx: Context) -> Observed:
        lakeformation = ctx.client(self.account, "lakeformation")
        remaining = []
        for resource in self._resources(ctx):
            held, _ = _permissions(lakeformation, IAM_ALLOWED_PRINCIPALS, resource)
            if held:
                remaining.append((resource, sorted(held)))
        if remaining:
            return Observed(Status.ABSENT, detail="IAM_ALLOWED_PRINCIPALS still has access")
        return Observed(Status.COMPLETE, detail="Lake Formation only")

    def create(self, ctx: Context) -> dict[str, Any]:
        lakeformation = ctx.client(self.account, "lakeformation")
        revoked = []
        for resource in self._resources(ctx):
            held, _ = _permissions(lakeformation, IAM_ALLOWED_PRINCIPALS, resource)
            if not held:
                continue
            try:
                lakeformation.revoke_permissions(
                    Principal={"DataLakePrincipalIdentifier": IAM_ALLOWED_PRINCIPALS},
                    Resource=resource,
                    Permissions=sorted(held),
                )
            except ClientError as exc:
                # Tables of one database share its database-level grant: another step
                # may have revoked it between our read and our revoke.
                if aws_code(exc) != "InvalidInputException":
                    raise
            revoked.append({"resource": resource, "permissions": sorted(held)})
        return {"revoked": revoked}

    def delete(self, ctx: Context, observed: Observed) -> None:
        """Put back what was revoked (only for tables that outlive the set-up)."""
        remembered = ctx.remembered_identity(self.key).get("revoked", [])
        lakeformation = ctx.client(self.account, "lakeformation")
        for entry in remembered:
            try:
                lakeformation.grant_permissions(
                    Principal={"DataLakePrincipalIdentifier": IAM_ALLOWED_PRINCIPALS},
                    Resource=entry["resource"],
                    Permissions=entry["permissions"],
                )
            except ClientError as exc:
                if aws_code(exc) != "EntityNotFoundException":
                    raise

    def wait_deleted(self, ctx: Context) -> Observed:
        return Observed.absent("restored")


@register
class LocationRegistration(Resource):
    """Registers a table's S3 location with Lake Formation, in Lake Formation mode
    (HybridAccessEnabled false), with the set-up's own data access role.

    Example::

        tables:
          - {name: inventory, account: producer, location: "s3://bucket/inventory/", ...}
    """

    kind = "lakeformation:registration"
    iam_actions = (
        "lakeformation:DescribeResource",
        "lakeformation:RegisterResource",
        "lakeformation:DeregisterResource",
        "iam:PassRole",
    )

    def __init__(
        self, name: str, account: str, location: str, role_key: str, depends_on: tuple[str, ...]
    ):
        super().__init__(name, account, depends_on)
        self.location = location
        self.role_key = role_key

    @property
    def resource_arn(self) -> str:
        return "arn:aws:s3:::" + self.location[len("s3://") :].rstrip("/")

    def observe(self, ctx: Context) -> Observed:
        lakeformation = ctx.client(self.account, "lakeformation")
        try:
            info = lakeformation.describe_resource(ResourceArn=self.resource_arn)["ResourceInfo"]
        except ClientError as exc:
            if aws_code(exc) == "EntityNotFoundException":
                return Observed.absent("not registered")
            raise
        identity = {"resource_arn": self.resource_arn, "role_arn": info.get("RoleArn", "")}
        if info.get("HybridAccessEnabled"):
            return Observed(
                Status.FAILED,
                identity,
                detail=f"{self.location} is registered in hybrid access mode; smus-mesh needs "
                "Lake Formation mode (deregister it, or switch it off hybrid mode)",
                owned=False,
            )
        ours = ctx.has_output(self.role_key, "arn") and info.get("RoleArn") == ctx.output(
            self.role_key, "arn"
        )
        return Observed(Status.COMPLETE, identity, detail="Lake Formation mode", owned=ours)

    def create(self, ctx: Context) -> dict[str, Any]:
        role_arn = ctx.output(self.role_key, "arn")
        ctx.retry_while(
            self.key,
            lambda: ctx.client(self.account, "lakeformation").register_resource(
                ResourceArn=self.resource_arn, RoleArn=role_arn, HybridAccessEnabled=False
            ),
            codes=("InvalidInputException", "AccessDeniedException"),
        )
        return {"resource_arn": self.resource_arn, "role_arn": role_arn}

    def delete(self, ctx: Context, observed: Observed) -> None:
        try:
            ctx.client(self.account, "lakeformation").deregister_resource(
                ResourceArn=self.resource_arn
            )
        except ClientError as exc:
            if aws_code(exc) != "EntityNotFoundException":
                raise


@register
class LakeFormationGrant(Resource):
    """Lake Formation permissions for one principal on one database or table
    (workflow.md Phase H: the producer project role and the manage-access role).

    Example (made for each table a project imports)::

        projects:
          - {name: producer, account: producer, imports: [inventory]}
    """

    kind = "lakeformation:grant"
    shared_by_identity = True  # two projects importing from one database share a grant
    identity_before_create = True  # what the principal held before: see `_added`
    iam_actions = (
        "lakeformation:ListPermissions",
        "lakeformation:GrantPermissions",
        "lakeformation:RevokePermissions",
    )

    def __init__(
        self,
        name: str,
        account: str,
        principal: Callable[[Context], str],
        resource: Callable[[Context], dict[str, Any]],
        permissions: tuple[str, ...],
        grantable: tuple[str, ...],
        depends_on: tuple[str, ...],
        on: tuple[str, ...] = (),
    ) -> None:
        super().__init__(name, account, depends_on)
        self.principal = principal
        self.resource = resource
        self.permissions = permissions
        self.grantable = grantable
        #: The keys of what the grant is on (its table): see `belongs_to`.
        self.on = on

    def belongs_to(self) -> tuple[str, ...]:
        return self.on

    def observe(self, ctx: Context) -> Observed:
        principal = self.principal(ctx)
        resource = self.resource(ctx)
        held, grantable = _permissions(
            ctx.client(self.account, "lakeformation"), principal, resource
        )
        identity = {"principal": principal, "resource": resource}
        covered = "ALL" in held or set(self.permissions) <= held
        covered_grant = "ALL" in grantable or set(self.grantable) <= grantable
        if covered and covered_grant:
            # In a joined domain the principal may be the owner's (its manage-access role,
            # the role of an `existing` project), and the permissions found may be the
            # owner's grant: ours only when the state remembers this set-up made it (the
            # mark written before the grant call; ADR 26, 48).
            granted = Observed(Status.COMPLETE, identity, detail="granted", owned=True)
            return joined_unless_made(ctx, self.key, granted)
        if ctx.config.domain.joined:
            # What the principal holds already (the owner's part, in a joined domain): kept
            # in the state before the grant call (`identity_before_create`), and left by
            # `delete` (ADR 48).
            identity["before"] = {"permissions": sorted(held), "grantable": sorted(grantable)}
        return Observed(Status.ABSENT, identity, detail="not granted")

    def create(self, ctx: Context) -> dict[str, Any]:
        principal = self.principal(ctx)
        resource = self.resource(ctx)
        ctx.retry_while(
            self.key,
            lambda: ctx.client(self.account, "lakeformation").grant_permissions(
                Principal={"DataLakePrincipalIdentifier": principal},
                Resource=resource,
                Permissions=list(self.permissions),
                PermissionsWithGrantOption=list(self.grantable),
            ),
            # A role created moments ago may not be visible to Lake Formation yet.
            codes=("InvalidInputException",),
        )
        return {"principal": principal, "resource": resource}

    def _added(self, ctx: Context) -> tuple[list[str], list[str]]:
        """The permissions and grant options this set-up's grant added: all of them, unless
        the state remembers what the principal held before (a joined domain, ADR 48)."""
        before = ctx.remembered_identity(self.key).get("before")
        if not isinstance(before, dict):
            return list(self.permissions), list(self.grantable)
        held, grantable = set(before.get("permissions", [])), set(before.get("grantable", []))
        return (
            [] if "ALL" in held else [p for p in self.permissions if p not in held],
            [] if "ALL" in grantable else [p for p in self.grantable if p not in grantable],
        )

    def delete(self, ctx: Context, observed: Observed) -> None:
        permissions, grantable = self._added(ctx)
        if not permissions and not grantable:
            return
        try:
            ctx.client(self.account, "lakeformation").revoke_permissions(
                Principal={"DataLakePrincipalIdentifier": observed.identity["principal"]},
                Resource=observed.identity["resource"],
                Permissions=permissions,
                PermissionsWithGrantOption=grantable,
            )
        except ClientError as exc:
            if aws_code(exc) not in ("EntityNotFoundException", "InvalidInputException"):
                raise

    def wait_deleted(self, ctx: Context) -> Observed:
        permissions, grantable = self._added(ctx)
        if not permissions and not grantable:
            return Observed.absent("nothing of this set-up's to revoke")
        return super().wait_deleted(ctx)
