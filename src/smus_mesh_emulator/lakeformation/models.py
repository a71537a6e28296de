"""Lake Formation's storage: the Glue catalog it reads, its settings, its grants, its registrations.

Storage stays moto's: one moto `Permission` per (principal, resource) in
`LakeFormationBackend.grants[<account id>]` of the account whose Lake Formation holds the
grant, so moto's remaining operations and the emulator inventory keep reading them.
Resources are normalised (CatalogId always set, names spelled as in the Glue catalog).
Registrations are moto's `Resource` plus what RegisterResource really stores.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from moto.glue.models import glue_backends
from moto.lakeformation.models import (
    Permission,
    PermissionCatalog,
    Resource,
    default_settings,
    lakeformation_backends,
)

from smus_mesh_emulator.lakeformation.resources import (
    ALL,
    covers,
    identity_of,
    is_under,
    location_arn,
    target_of,
)

SERVICE_LINKED_ROLE = (
    "arn:aws:iam::{account}:role/aws-service-role/lakeformation.amazonaws.com/"
    "AWSServiceRoleForLakeFormationDataAccess"
)


def backend_of(account_id: str, region: str) -> Any:
    return lakeformation_backends[account_id][region]


def existing_backend(backends: Any, account_id: str, region: str) -> Any | None:
    """A moto backend if it exists already (looking must not create accounts)."""
    per_account = backends.get(account_id)
    return per_account.get(region) if per_account is not None else None


def by_name(items: dict[str, Any], name: str) -> Any | None:
    """Glue lowercases names; moto keeps their case, so look them up either way."""
    if name in items:
        return items[name]
    wanted = name.lower()
    return next((item for key, item in items.items() if key.lower() == wanted), None)


def glue_database(account_id: str, region: str, name: str) -> Any | None:
    """moto's Glue database `name` in `account_id`'s catalog, or None."""
    glue = existing_backend(glue_backends, account_id, region)
    return by_name(glue.databases, name) if glue is not None else None


def glue_table(account_id: str, region: str, database: str, name: str) -> Any | None:
    """moto's Glue table `database.name` in `account_id`'s catalog, or None."""
    found = glue_database(account_id, region, database)
    return by_name(found.tables, name) if found is not None else None


def settings_of(account_id: str, region: str) -> dict[str, Any]:
    # `.get`: moto's settings are a defaultdict, and reading must not store defaults.
    stored = backend_of(account_id, region).settings.get(account_id)
    if stored is None:
        return default_settings()
    return dict(stored)


def is_data_lake_admin(account_id: str, region: str, principal: str) -> bool:
    """Whether `principal` is one of `account_id`'s data lake administrators.

    Examples:
        >>> is_data_lake_admin("111111111111", "us-east-1", "arn:aws:iam::111111111111:role/A")
        False
    """
    admins = settings_of(account_id, region).get("DataLakeAdmins") or []
    return any(admin.get("DataLakePrincipalIdentifier") == principal for admin in admins)


def store_of(account_id: str, region: str) -> PermissionCatalog:
    grants: dict[str, PermissionCatalog] = backend_of(account_id, region).grants
    return grants.setdefault(account_id, PermissionCatalog())


def principal_id(grant: Permission) -> str:
    return str(grant.principal.get("DataLakePrincipalIdentifier", ""))


class _GrantIndex:
    """A store's grants by principal and resource identity, and by the Glue object they
    are on.

    Why: `find_grant` and `holds` run for every grant DataZone makes, and a store holds one
    grant per (principal, resource): scanning the set made a 20 x 100 set-up quadratic.
    For the same reason dropping a table's grants, a ListPermissions filtered on a resource
    and `holds` look only at the grants on that database or table (`on`). `replace_grant`
    is the only writer of the set and keeps this in step; the index rebuilds itself if the
    set was changed behind its back (its size no longer matches).
    """

    def __init__(self, grants: set[Permission]) -> None:
        self.by_principal: dict[str, dict[str, Permission]] = {}
        #: (catalog, database) -> table or None (the database, its table wildcard) ->
        #: identity -> grant; names lowercased
        self.by_target: dict[tuple[str, str], dict[str | None, dict[str, Permission]]] = {}
        self.size = 0
        for grant in grants:
            self.put(grant)

    def put(self, grant: Permission) -> None:
        held = self.by_principal.setdefault(principal_id(grant), {})
        key = identity_of(grant.resource)
        self.size += key not in held
        held[key] = grant
        target = target_of(grant.resource)
        if target is not None:
            tables = self.by_target.setdefault(target[:2], {})
            tables.setdefault(target[2], {})[principal_id(grant) + key] = grant

    def drop(self, grant: Permission) -> None:
        held = self.by_principal.get(principal_id(grant), {})
        key = identity_of(grant.resource)
        if held.pop(key, None) is not None:
            self.size -= 1
        target = target_of(grant.resource)
        tables = self.by_target.get(target[:2]) if target is not None else None
        if target is not None and tables is not None:
            grants = tables.get(target[2], {})
            grants.pop(principal_id(grant) + key, None)
            if not grants:
                tables.pop(target[2], None)
            if not tables:
                del self.by_target[target[:2]]

    def of(self, principal: str) -> dict[str, Permission]:
        return self.by_principal.get(principal, {})

    def on(self, catalog: str, database: str, table: str | None) -> list[Permission]:
        """The grants that can cover a database (`table` None) or a table of it
        (lowercased names): those on the database and its table wildcard, and those
        on the table."""
        tables = self.by_target.get((catalog, database), {})
        found = list(tables.get(None, {}).values())
        return found if table is None else [*tables.get(table, {}).values(), *found]

    def under(self, catalog: str, database: str, table: str | None) -> list[Permission]:
        """The grants that depend on a database (`table` None: on it or any table of it)
        or on one table of it (lowercased names)."""
        tables = self.by_target.get((catalog, database), {})
        if table is not None:
            return list(tables.get(table, {}).values())
        return [grant for grants in tables.values() for grant in grants.values()]


def index_of(store: PermissionCatalog) -> _GrantIndex:
    index: _GrantIndex | None = getattr(store, "smus_index", None)
    if index is None or index.size != len(store.permissions):
        index = _GrantIndex(store.permissions)
        setattr(store, "smus_index", index)  # noqa: B010 (moto class, not ours)
    return index


def find_grant(
    store: PermissionCatalog, principal: str, resource: dict[str, Any]
) -> Permission | None:
    return index_of(store).of(principal).get(identity_of(resource))


def replace_grant(store: PermissionCatalog, old: Permission | None, new: Permission | None) -> None:
    # Permissions are hashed by content: never mutate one inside the set, swap it.
    index = index_of(store)
    if old is not None:
        store.permissions.discard(old)
        index.drop(old)
    if new is not None and (new.permissions or new.permissions_with_grant_options):
        store.permissions.add(new)
        index.put(new)


def add_grant(
    account_id: str,
    region: str,
    principal: str,
    resource: dict[str, Any],
    permissions: list[str],
    grantable: list[str],
) -> None:
    store = store_of(account_id, region)
    existing = find_grant(store, principal, resource)
    held = set(existing.permissions) if existing else set()
    held_grantable = set(existing.permissions_with_grant_options) if existing else set()
    merged = Permission(
        principal={"DataLakePrincipalIdentifier": principal},
        resource=existing.resource if existing else resource,
        permissions=sorted(held | set(permissions)),
        permissions_with_grant_options=sorted(held_grantable | set(grantable)),
    )
    replace_grant(store, existing, merged)


def remove_grant(
    account_id: str,
    region: str,
    principal: str,
    resource: dict[str, Any],
    permissions: list[str],
    grantable: list[str],
) -> bool:
    """Revoke; False when the principal held none of it. A revoked permission also
    loses its grant option (a grant option alone grants nothing)."""
    store = store_of(account_id, region)
    existing = find_grant(store, principal, resource)
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
    replace_grant(store, existing, kept)
    return True


def holds(
    account_id: str,
    region: str,
    principals: set[str],
    resource: dict[str, Any],
    permission: str,
    grantable: bool,
) -> bool:
    index = index_of(store_of(account_id, region))
    target = target_of(resource)
    candidates = (
        (g for principal in principals for g in index.of(principal).values())
        if target is None
        else (g for g in index.on(*target) if principal_id(g) in principals)
    )
    for grant in candidates:
        if not covers(grant.resource, resource):
            continue
        held = grant.permissions_with_grant_options if grantable else grant.permissions
        if permission in held or ALL in held:
            return True
    return False


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
    arn = location if location.startswith("arn:") else location_arn(location)
    backend = existing_backend(lakeformation_backends, account_id, region)
    if backend is None:
        return None
    covering = [r for arn_key, r in backend.resources.items() if is_under(arn, arn_key)]
    return max(covering, key=lambda r: len(r.arn), default=None)


def is_hybrid(registered: Any) -> bool:
    details = getattr(registered, "registration", None)
    return bool(details and details.hybrid_access_enabled)


def _external(grant_record: Permission) -> dict[str, Any]:
    return {
        "Principal": dict(grant_record.principal),
        "Resource": grant_record.resource,
        "Permissions": sorted(grant_record.permissions),
        "PermissionsWithGrantOption": sorted(grant_record.permissions_with_grant_options),
    }


def permission_items(grants: Any) -> list[dict[str, Any]]:
    items = [_external(g) for g in grants]
    return sorted(items, key=lambda item: json.dumps(item, sort_keys=True))
