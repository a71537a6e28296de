"""Everything that exists in each emulated account beyond a fresh account's defaults.

Why: teardown is part of the product, and "nothing is left" must be checked by
something that cannot be fooled. The Tagging API misses IAM roles and CodeCommit
repositories, and Lake Formation grants outlive their tables in moto
(research/emulation.md §2), so the inventory walks moto's backends directly,
per account, and reports each class of resource the workflow can leave behind
(DESIGN.md's `/_emulator/inventory` contract).

The snapshot is a pure read: it never creates a backend (only existing
`BackendDict` entries are walked), never marks an asynchronous object as
observed, and holds no timestamps, so two snapshots taken with nothing changed
in between compare equal. (It does let Lake Formation apply the catalog changes
it would apply at its next request anyway: see `_settle_lake_formation`.)
Every class key is present for every account, empty when there is nothing, so a
test can compare a snapshot before a set-up with one after its teardown.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from moto.athena.models import athena_backends
from moto.cloudformation.models import cloudformation_backends
from moto.codecommit.models import codecommit_backends
from moto.core.base_backend import BackendDict
from moto.glue.models import glue_backends
from moto.iam.models import iam_backends
from moto.lakeformation.models import lakeformation_backends
from moto.ram.models import ram_backends
from moto.s3.models import s3_backends

from smus_mesh_emulator import accounts
from smus_mesh_emulator.datazone.models import datazone_backends
from smus_mesh_emulator.lakeformation.catalog_sync import prune
from smus_mesh_emulator.organizations.models import known_accounts
from smus_mesh_emulator.redshiftserverless.models import redshiftserverless_backends

#: The resource classes of the inventory, in DESIGN.md's order plus the extras (IAM
#: policies, S3 objects, and Redshift Serverless, which a project's RedshiftServerless
#: environment makes).
CLASSES = (
    "iam_roles",
    "iam_policies",
    "s3_buckets",
    "s3_objects",
    "glue_databases",
    "glue_tables",
    "athena_workgroups",
    "cloudformation_stacks",
    "codecommit_repositories",
    "lakeformation_permissions",
    "lakeformation_resources",
    "lakeformation_admins",
    "ram_shares",
    "datazone",
    "redshift_serverless_namespaces",
    "redshift_serverless_workgroups",
)

#: Athena creates this workgroup in every account.
DEFAULT_WORKGROUP = "primary"
#: Attributes of a DataZone `Domain` that are dicts but not stores of child entities.
DOMAIN_ATTRIBUTES_NOT_STORES = frozenset({"tags", "single_sign_on", "delete_progress"})

_AWS_MANAGED_POLICY_PREFIX = "arn:aws:iam::aws:policy/"

Inventory = dict[str, dict[str, list[Any]]]


def _walk(backends: BackendDict[Any]) -> Iterator[tuple[str, Any]]:
    """(account, backend) of every backend that exists; creates none."""
    for account_id, _, backend in list(backends.iter_backends()):
        yield account_id, backend


def _known_accounts() -> set[str]:
    found = set(known_accounts())
    for backends in (
        iam_backends,
        s3_backends,
        glue_backends,
        athena_backends,
        cloudformation_backends,
        codecommit_backends,
        lakeformation_backends,
        ram_backends,
        datazone_backends,
        redshiftserverless_backends,
    ):
        found.update(list(backends))
    return found


def _sort_key(item: Any) -> str:
    return json.dumps(item, sort_keys=True, default=str)


def _settle_lake_formation() -> None:
    """Let Lake Formation catch up with the Glue catalogs before it is read.

    The Lake Formation emulation applies catalog changes lazily, on its next request:
    grants on dropped databases and tables go, new ones get their default
    permissions. Applying them now changes nothing a client could mark_read, and makes
    the snapshot independent of whether a Lake Formation request came in between.
    """
    regions = {region for _, region, _ in glue_backends.iter_backends()}
    regions |= {region for _, region, _ in lakeformation_backends.iter_backends()}
    for region in sorted(regions):
        prune(accounts.BASE_ACCOUNT, region)


def _with_catalog(resource: dict[str, Any], catalog_id: str) -> dict[str, Any]:
    """The grant's resource with its CatalogId spelled out (it defaults to the catalog
    the grant lives in), so equal grants always read the same."""
    return {
        kind: {"CatalogId": catalog_id, **spec}
        if kind != "Catalog" and isinstance(spec, dict)
        else spec
        for kind, spec in resource.items()
    }


def _collect(inventory: Inventory) -> None:
    for account_id, iam in _walk(iam_backends):
        inventory[account_id]["iam_roles"] += [
            role.name for role in iam.roles.values() if role.name not in accounts.DEFAULT_ROLE_NAMES
        ]
        inventory[account_id]["iam_policies"] += [
            policy.name
            for arn, policy in iam.managed_policies.items()
            if not arn.startswith(_AWS_MANAGED_POLICY_PREFIX)
        ]
    for account_id, s3 in _walk(s3_backends):
        for name, bucket in s3.buckets.items():
            inventory[account_id]["s3_buckets"].append(name)
            if len(bucket.keys):
                inventory[account_id]["s3_objects"].append(
                    {"bucket": name, "objects": len(bucket.keys)}
                )
    for account_id, glue in _walk(glue_backends):
        for name, database in glue.databases.items():
            inventory[account_id]["glue_databases"].append(name)
            inventory[account_id]["glue_tables"] += [f"{name}.{t}" for t in database.tables]
    for account_id, athena in _walk(athena_backends):
        inventory[account_id]["athena_workgroups"] += [
            name for name in athena.work_groups if name != DEFAULT_WORKGROUP
        ]
    for account_id, cloudformation in _walk(cloudformation_backends):
        inventory[account_id]["cloudformation_stacks"] += [
            {"name": stack.name, "status": stack.status}
            for stack in cloudformation.stacks.values()
            if stack.status != "DELETE_COMPLETE"
        ]
    for account_id, codecommit in _walk(codecommit_backends):
        inventory[account_id]["codecommit_repositories"] += list(codecommit.repositories)
    _collect_lakeformation(inventory)
    for account_id, ram in _walk(ram_backends):
        inventory[account_id]["ram_shares"] += [
            {"arn": share.arn, "name": share.name, "status": share.status}
            for share in ram.resource_shares
            if share.status != "DELETED"
        ]
    for account_id, redshift in _walk(redshiftserverless_backends):
        inventory[account_id]["redshift_serverless_namespaces"] += list(redshift.namespaces)
        inventory[account_id]["redshift_serverless_workgroups"] += list(redshift.workgroups)
    for account_id, datazone in _walk(datazone_backends):
        inventory[account_id]["datazone"] += [
            _domain_entry(domain) for domain in datazone.domains.values()
        ]


def _collect_lakeformation(inventory: Inventory) -> None:
    _settle_lake_formation()
    for account_id, lakeformation in _walk(lakeformation_backends):
        for catalog_id, catalog in lakeformation.grants.items():
            inventory[account_id]["lakeformation_permissions"] += [
                {
                    "catalog": catalog_id,
                    "principal": grant.principal.get("DataLakePrincipalIdentifier"),
                    "resource": _with_catalog(grant.resource, catalog_id),
                    "permissions": sorted(grant.permissions),
                    "grantable": sorted(grant.permissions_with_grant_options),
                }
                for grant in catalog.permissions
            ]
        inventory[account_id]["lakeformation_resources"] += list(lakeformation.resources)
        for settings in lakeformation.settings.values():
            inventory[account_id]["lakeformation_admins"] += [
                admin.get("DataLakePrincipalIdentifier")
                for admin in settings.get("DataLakeAdmins") or []
            ]


def _domain_entry(domain: Any) -> dict[str, Any]:
    """A domain and the ids in each non-empty store of child entities."""
    children: dict[str, list[str]] = {}
    for store, value in vars(domain).items():
        if store in DOMAIN_ATTRIBUTES_NOT_STORES or not isinstance(value, dict) or not value:
            continue
        if store.startswith("_"):
            continue  # the emulator's own bookkeeping (list indexes), not an AWS object
        children[store] = sorted(
            ":".join(key) if isinstance(key, tuple) else str(key) for key in value
        )
    return {"id": domain.id, "name": domain.name, "status": domain.status, "children": children}


def snapshot() -> dict[str, dict[str, list[Any]]]:
    """Per account, per class (DESIGN.md's list), the resources that exist.

    Call it with the emulator's request lock held (moto's backends are not thread
    safe); the admin endpoint does.

    Examples:
        >>> snapshot()["222222222222"]["glue_databases"]
        ['env_db']
    """
    inventory: Inventory = {
        account_id: {name: [] for name in CLASSES} for account_id in sorted(_known_accounts())
    }
    _collect(inventory)
    for classes in inventory.values():
        for name, items in classes.items():
            classes[name] = sorted(items, key=_sort_key)
    return inventory
