# Over 800 lines: each class's listing, its attribution to this set-up's ids and its
# deletion, which share the ids, the caches of one audit and the sweep's order.
"""What exists in each configured account that belongs to the set-up, or that DataZone
left behind for it, found with AWS APIs only (so it works on real AWS).

This is `smus-mesh audit`, and the proof at the end of `down`. It is also the
sweep `down` runs after undoing the steps: anything still found (environment
stacks of a deleted domain, CodeCommit repositories, workgroups, resource links,
Lake Formation grants, project roles, ...) is deleted here, in an order that
keeps dependencies valid, then the audit runs again.

What counts as the set-up's (and nothing else: ADR 13):

* objects smus-mesh marks: the set-up tags (name and id) on roles, buckets, RAM
  shares and the domain, the same marks as parameters of Glue databases and tables,
  the admin hash on the set-up's Lake Formation access role;
* objects DataZone creates for one of *this set-up's* domains — the domain found by
  its tags, or remembered in the state file — recognised by that domain's id: the
  `AmazonDataZoneDomain` tag (stacks, workgroups, repositories, project roles), the
  manage-access role named after it and the grants to it, the domain share named after
  it; and grants to project roles named after one of its projects' ids (kept in the
  state so that they are found after the domain is gone);
* the projects' Glue databases, named after the set-up *and* attributed to one of this
  set-up's project ids: a live environment of one of its projects reports the database
  (`provisionedResources` `glueDBName`), or one of its project roles holds ALL on it (the
  grant DataZone gives a project on its own database). The name alone is never enough:
  two set-ups' names can give one database name, and a team may have one of that name.

A name prefix shared by every domain (`AmazonSageMakerManageAccess-<region>-dzd`,
`datazone_usr_role_`) is never enough: another set-up's or another tool's domain in
the same accounts is left alone. Objects that existed before smus-mesh (unmarked) are
never listed or deleted.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from smus_mesh.clients import Clients
from smus_mesh.config import Config
from smus_mesh.errors import aws_code
from smus_mesh.resources.lakeformation import (
    ADMINS_TAG,
    database_of,
    permission_entries,
    principal_hash,
)
from smus_mesh.resources.naming import Names
from smus_mesh.settings import Settings
from smus_mesh.waiting import Backoff, DeadlinePassed, poll

CLASSES = (
    "iam_roles",
    "s3_buckets",
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
)
DZ_DOMAIN_TAG = "AmazonDataZoneDomain"
DZ_PROJECT_TAG = "AmazonDataZoneProject"
PROJECT_ROLE_PREFIX = "datazone_usr_role_"
#: Error codes with which a deletion finds its object already gone (the sweep's goal).
GONE = frozenset(
    {
        "EntityNotFoundException",  # Glue, Lake Formation
        "ResourceNotFoundException",  # DataZone
        "NoSuchEntity",  # IAM
        "NoSuchBucket",  # S3
        "RepositoryDoesNotExistException",  # CodeCommit
        "UnknownResourceException",  # RAM
    }
)


@dataclass(frozen=True)
class Finding:
    """One thing that exists: its class, its identifier, and why it is the set-up's."""

    cls: str
    id: str
    why: str
    data: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def to_dict(self) -> dict[str, Any]:
        return {"class": self.cls, "id": self.id, "why": self.why}


@dataclass
class Inventory:
    """Findings per account alias and class."""

    accounts: dict[str, dict[str, list[Finding]]]
    account_ids: dict[str, str]

    def count(self) -> int:
        return sum(len(items) for classes in self.accounts.values() for items in classes.values())

    def by_class(self) -> dict[str, int]:
        counts = dict.fromkeys(CLASSES, 0)
        for classes in self.accounts.values():
            for cls, items in classes.items():
                counts[cls] += len(items)
        return counts

    def to_dict(self) -> dict[str, Any]:
        return {
            "leftovers": self.count(),
            "by_class": self.by_class(),
            "accounts": {
                alias: {
                    "account_id": self.account_ids[alias],
                    **{cls: [f.to_dict() for f in items] for cls, items in classes.items()},
                }
                for alias, classes in self.accounts.items()
            },
        }


class Auditor:
    """Lists (and, for `down`, deletes) what belongs to one set-up in its accounts."""

    def __init__(
        self,
        config: Config,
        clients: Clients,
        known_domain_ids: set[str] | None = None,
        settings: Settings | None = None,
        names: Names | None = None,
        known_project_ids: set[str] | None = None,
    ) -> None:
        self.config = config
        self.clients = clients
        self.settings = settings or Settings()
        self.names = names or Names(config)
        #: This set-up's domains: remembered (state) or found by their tags.
        self.known_domain_ids = set(known_domain_ids or ())
        #: The projects of those domains: remembered (state) or listed in a live domain.
        self.known_project_ids = set(known_project_ids or ())
        self._role_owned: dict[str, bool] = {}
        self._databases_of: dict[str, dict[str, dict[str, Any]]] = {}
        #: Why each project-named database of an account is this set-up's (unattributed
        #: ones are absent), read once per audit.
        self._project_dbs_of: dict[str, dict[str, str]] = {}
        #: (domain id, project id, name) of the projects of this set-up's live domains.
        self._live_projects: set[tuple[str, str, str]] = set()
        self._kept_of: dict[str, set[str]] = {}
        self._lock = threading.Lock()

    # domains ----------------------------------------------------------------------------
    def _datazone(self) -> Any:
        return self.clients.get(self.config.domain.account, "datazone")

    def our_domains(self) -> list[dict[str, Any]]:
        """The set-up's live domains (by name and tag) in the domain account."""
        datazone = self._datazone()
        found = []
        for page in datazone.get_paginator("list_domains").paginate():
            for summary in page.get("items", []):
                if summary.get("status") == "DELETED":
                    continue
                try:
                    domain = datazone.get_domain(identifier=summary["id"])
                except ClientError as exc:
                    if aws_code(exc) == "ResourceNotFoundException":
                        continue
                    raise
                if self.names.is_ours(domain.get("tags")) or (
                    summary["id"] in self.known_domain_ids
                ):
                    found.append(dict(domain))
        projects = {
            (domain["id"], project["id"], project.get("name", ""))
            for domain in found
            if domain.get("status") not in ("DELETING", "DELETED")
            for page in datazone.get_paginator("list_projects").paginate(
                domainIdentifier=domain["id"]
            )
            for project in page.get("items", [])
        }
        with self._lock:
            self.known_domain_ids |= {d["id"] for d in found}
            self.known_project_ids |= {project_id for _, project_id, _ in projects}
            self._live_projects |= projects
        return found

    def domain_is_ours(self, domain_id: str) -> bool:
        """One of this set-up's domains (live or remembered); never another's, even one
        that no longer exists."""
        return domain_id in self.known_domain_ids

    def _project_role_is_ours(self, name: str) -> bool:
        """`datazone_usr_role_<projectId>_<environmentId>` of one of our projects."""
        rest = name.removeprefix(PROJECT_ROLE_PREFIX)
        return rest != name and rest.split("_", 1)[0] in self.known_project_ids

    def _manage_access_roles(self) -> set[str]:
        return {self.names.manage_access_role(d) for d in self.known_domain_ids}

    # listing ------------------------------------------------------------------------------
    def run(self) -> Inventory:
        """Every class of every account, listed in parallel: each class is a few calls to
        its own service, so listing them one after another only added up their latency."""
        self.our_domains()
        aliases = self.config.used_accounts()
        with self._lock:
            for alias in aliases:
                self._databases_of.pop(alias, None)  # each listing reads them afresh
                self._project_dbs_of.pop(alias, None)
                self._kept_of.pop(alias, None)
        listers = self._listers()

        def listed(alias: str, cls: str) -> list[Finding]:
            return sorted(listers[cls](alias), key=lambda f: f.id)

        with ThreadPoolExecutor(max_workers=min(32, len(aliases) * len(CLASSES))) as pool:
            found = {
                (alias, cls): pool.submit(listed, alias, cls)
                for alias in aliases
                for cls in CLASSES
            }
            results = [{cls: found[alias, cls].result() for cls in CLASSES} for alias in aliases]
        return Inventory(
            dict(zip(aliases, results, strict=True)),
            {alias: self.config.account_id(alias) for alias in aliases},
        )

    def _listers(self) -> dict[str, Callable[[str], Iterator[Finding]]]:
        return {
            "iam_roles": self._roles,
            "s3_buckets": self._buckets,
            "glue_databases": self._databases_not_kept,
            "glue_tables": self._tables,
            "athena_workgroups": self._workgroups,
            "cloudformation_stacks": self._stacks,
            "codecommit_repositories": self._repositories,
            "lakeformation_permissions": self._permissions_not_kept,
            "lakeformation_resources": self._registrations,
            "lakeformation_admins": self._admins,
            "ram_shares": self._shares,
            "datazone": self._domains,
        }

    def _client(self, alias: str, service: str) -> Any:
        return self.clients.get(alias, service)

    def _our_role_names(self) -> set[str]:
        names = self.names
        ours = {
            names.domain_execution_role(),
            names.domain_service_role(),
            names.provisioning_role(),
            f"SmusMeshLakeFormationAccess-{names.setup}",
        }
        if self.config.domain.joined:
            ours.add(names.manage_access_role(""))  # not named after the domain (ADR 26)
        return ours

    def _roles(self, alias: str) -> Iterator[Finding]:
        iam = self._client(alias, "iam")
        ours = self._our_role_names() | self._manage_access_roles()
        for page in iam.get_paginator("list_roles").paginate():
            for role in page["Roles"]:
                name = role["RoleName"]
                candidate = name in ours or name.startswith(PROJECT_ROLE_PREFIX)
                if not candidate:
                    continue
                tags = {t["Key"]: t["Value"] for t in iam.list_role_tags(RoleName=name)["Tags"]}
                if self.names.is_ours(tags):
                    yield Finding("iam_roles", name, "tagged with the set-up", {"arn": role["Arn"]})
                elif DZ_DOMAIN_TAG in tags and self.domain_is_ours(tags[DZ_DOMAIN_TAG]):
                    yield Finding(
                        "iam_roles",
                        name,
                        f"DataZone role of domain {tags[DZ_DOMAIN_TAG]}",
                        {"arn": role["Arn"]},
                    )
                elif self._project_role_is_ours(name):
                    yield Finding(
                        "iam_roles", name, "DataZone role of a project", {"arn": role["Arn"]}
                    )

    def _bucket_names(self, alias: str) -> set[str]:
        account_id = self.config.account_id(alias)
        names = {self.names.blueprint_bucket(account_id)}
        names |= {t.bucket for t in self.config.tables if t.account == alias and t.create}
        return names

    def _buckets(self, alias: str) -> Iterator[Finding]:
        s3 = self._client(alias, "s3")
        for bucket in sorted(self._bucket_names(alias)):
            try:
                s3.head_bucket(Bucket=bucket, ExpectedBucketOwner=self.config.account_id(alias))
                tags = s3.get_bucket_tagging(Bucket=bucket)["TagSet"]
            except ClientError as exc:
                if aws_code(exc) in ("404", "NoSuchBucket", "NotFound", "403", "NoSuchTagSet"):
                    continue
                raise
            if self.names.is_ours(tags):
                yield Finding("s3_buckets", bucket, "tagged with the set-up")

    def _database_names(self, alias: str) -> tuple[set[str], set[str]]:
        """(config databases smus-mesh may have created, the projects' DataZone databases)."""
        config_dbs = {t.database for t in self.config.tables if t.account == alias}
        project_dbs = {
            self.names.project_database(p.name)
            for p in self.config.projects
            if p.account == alias and not p.existing
        }
        return config_dbs, project_dbs

    def _existing_databases(self, alias: str) -> dict[str, dict[str, Any]]:
        """The candidate databases that exist in `alias`, read once per audit (both the
        databases and the tables classes need them)."""
        with self._lock:
            known = self._databases_of.get(alias)
        if known is None:
            known = self._read_databases(alias)
            with self._lock:
                known = self._databases_of.setdefault(alias, known)
        return known

    def _read_databases(self, alias: str) -> dict[str, dict[str, Any]]:
        glue = self._client(alias, "glue")
        config_dbs, project_dbs = self._database_names(alias)
        found = {}
        for name in sorted(config_dbs | project_dbs):
            try:
                found[name] = glue.get_database(Name=name)["Database"]
            except ClientError as exc:
                if aws_code(exc) != "EntityNotFoundException":
                    raise
        return found

    def _project_databases(self, alias: str) -> dict[str, str]:
        """The existing databases named like one of the projects' that are attributed to
        one of this set-up's project ids, with why (read once per audit)."""
        with self._lock:
            known = self._project_dbs_of.get(alias)
        if known is not None:
            return known
        _, project_dbs = self._database_names(alias)
        candidates = {
            name
            for name, database in self._existing_databases(alias).items()
            if name in project_dbs and not self.names.owns_parameters(database.get("Parameters"))
        }
        found: dict[str, str] = {}
        for name in sorted(candidates):
            project = self._owning_project(alias, name) or self._environment_project(alias, name)
            if project:
                found[name] = f"the database of project {project}"
        with self._lock:
            return self._project_dbs_of.setdefault(alias, found)

    def _environment_project(self, alias: str, database: str) -> str | None:
        """The id of this set-up's project (in one of its live domains) one of whose
        environments reports `database` as its Glue database in `alias`'s account
        (`GetEnvironment.provisionedResources` `glueDBName`, workflow.md §2.1). Only the
        projects whose name gives that database name are read."""
        datazone = self._datazone()
        account_id = self.config.account_id(alias)
        with self._lock:
            projects = sorted(self._live_projects)
        for domain_id, project_id, project_name in projects:
            if self.names.project_database(project_name) != database:
                continue
            try:
                for page in datazone.get_paginator("list_environments").paginate(
                    domainIdentifier=domain_id, projectIdentifier=project_id
                ):
                    for summary in page.get("items", []):
                        env = datazone.get_environment(
                            domainIdentifier=domain_id, identifier=summary["id"]
                        )
                        if env.get("awsAccountId") != account_id:
                            continue
                        for resource in env.get("provisionedResources", []):
                            name = str(resource.get("name", "")).lower()
                            if name == "gluedbname" and resource.get("value") == database:
                                return project_id
            except ClientError as exc:
                if aws_code(exc) != "ResourceNotFoundException":  # deleted meanwhile
                    raise
        return None

    def _owning_project(self, alias: str, database: str) -> str | None:
        """The id of this set-up's project whose role holds ALL on `database` (DataZone
        gives a project's role its own database), if any. The project ids are remembered in
        the state, so this holds after the domain is gone."""
        lakeformation = self._client(alias, "lakeformation")
        resource = {"Database": {"CatalogId": self.config.account_id(alias), "Name": database}}
        for entry in permission_entries(lakeformation, Resource=resource):
            principal = entry.get("Principal", {}).get("DataLakePrincipalIdentifier", "")
            name = principal.rsplit("/", 1)[-1] if ":role/" in principal else ""
            if "ALL" in entry.get("Permissions", []) and self._project_role_is_ours(name):
                return name.removeprefix(PROJECT_ROLE_PREFIX).split("_", 1)[0]
        return None

    def _databases(self, alias: str) -> Iterator[Finding]:
        project_dbs = self._project_databases(alias)
        for name, database in self._existing_databases(alias).items():
            if self.names.owns_parameters(database.get("Parameters")):
                yield Finding("glue_databases", name, "created by smus-mesh")
            elif name in project_dbs:
                yield Finding("glue_databases", name, project_dbs[name])

    def _tables(self, alias: str) -> Iterator[Finding]:
        glue = self._client(alias, "glue")
        project_dbs = self._project_databases(alias)
        for name in self._existing_databases(alias):
            for page in glue.get_paginator("get_tables").paginate(DatabaseName=name):
                for table in page["TableList"]:
                    ident = f"{name}.{table['Name']}"
                    if self.names.owns_parameters(table.get("Parameters")):
                        yield Finding("glue_tables", ident, "created by smus-mesh")
                    elif name in project_dbs:
                        what = "resource link" if table.get("TargetTable") else "table"
                        yield Finding("glue_tables", ident, f"{what} in a project database")

    def _tagged_by_domain(self, tags: dict[str, str]) -> str | None:
        domain_id = tags.get(DZ_DOMAIN_TAG)
        if domain_id and self.domain_is_ours(domain_id):
            return f"DataZone resource of domain {domain_id}"
        project_id = tags.get(DZ_PROJECT_TAG)
        if project_id and project_id in self.known_project_ids:
            # In a joined domain, only what DataZone made for our projects (ADR 26).
            return f"DataZone resource of project {project_id}"
        if self.names.is_ours(tags):
            return "tagged with the set-up"
        return None

    def _workgroups(self, alias: str) -> Iterator[Finding]:
        athena = self._client(alias, "athena")
        account_id = self.config.account_id(alias)
        token = None
        groups: list[dict[str, Any]] = []
        while True:  # ListWorkGroups has no botocore paginator
            page = athena.list_work_groups(**({"NextToken": token} if token else {}))
            groups += page.get("WorkGroups", [])
            token = page.get("NextToken")
            if not token:
                break
        for group in groups:
            name = group["Name"]
            if name == "primary":
                continue
            arn = f"arn:aws:athena:{self.config.region}:{account_id}:workgroup/{name}"
            tags = {
                t["Key"]: t["Value"]
                for t in athena.list_tags_for_resource(ResourceARN=arn).get("Tags", [])
            }
            why = self._tagged_by_domain(tags)
            if why:
                yield Finding("athena_workgroups", name, why)

    def _stacks(self, alias: str) -> Iterator[Finding]:
        cloudformation = self._client(alias, "cloudformation")
        for page in cloudformation.get_paginator("describe_stacks").paginate():
            for stack in page.get("Stacks", []):
                if stack["StackStatus"] == "DELETE_COMPLETE":
                    continue
                tags = {t["Key"]: t["Value"] for t in stack.get("Tags", [])}
                why = self._tagged_by_domain(tags)
                if why:
                    yield Finding(
                        "cloudformation_stacks",
                        stack["StackName"],
                        f"{why} ({stack['StackStatus']})",
                        {"id": stack["StackId"], "status": stack["StackStatus"]},
                    )

    def _repositories(self, alias: str) -> Iterator[Finding]:
        codecommit = self._client(alias, "codecommit")
        for page in codecommit.get_paginator("list_repositories").paginate():
            for repository in page.get("repositories", []):
                name = repository["repositoryName"]
                try:
                    arn = codecommit.get_repository(repositoryName=name)["repositoryMetadata"][
                        "Arn"
                    ]
                    tags = codecommit.list_tags_for_resource(resourceArn=arn).get("tags", {})
                except ClientError as exc:
                    if aws_code(exc) == "RepositoryDoesNotExistException":
                        continue
                    raise
                why = self._tagged_by_domain(tags)
                if why:
                    yield Finding("codecommit_repositories", name, why)

    def _principal_is_ours(self, principal: str) -> bool:
        """A role of this set-up: one it tagged (or, gone, named after it), the
        manage-access role of one of its domains, a project role of one of its projects."""
        if ":role/" not in principal:
            return False
        name = principal.rsplit("/", 1)[-1]
        if name in self._manage_access_roles() or self._project_role_is_ours(name):
            return True
        if name in self._our_role_names():
            return self._tagged_role_is_ours(principal)
        return name.startswith(PROJECT_ROLE_PREFIX) and self._role_in_scope(principal)

    def _tagged_role_is_ours(self, arn: str) -> bool:
        """A role named after the set-up is ours if tagged so, or if it no longer exists."""
        with self._lock:
            cached = self._role_owned.get(arn)
        if cached is not None:
            return cached
        alias = self._alias_of(arn)
        owned = False
        if alias is not None:
            iam = self._client(alias, "iam")
            try:
                tags = iam.list_role_tags(RoleName=arn.rsplit("/", 1)[-1])["Tags"]
                owned = self.names.is_ours(tags)
            except ClientError as exc:
                if aws_code(exc) != "NoSuchEntity":
                    raise
                owned = True
        with self._lock:
            self._role_owned[arn] = owned
        return owned

    def _alias_of(self, arn: str) -> str | None:
        account_id = arn.split(":")[4]
        return next(
            (a for a in self.config.used_accounts() if self.config.account_id(a) == account_id),
            None,
        )

    def _role_in_scope(self, arn: str) -> bool:
        """A project role (of a project not known by id) is ours if it exists and is
        tagged with one of our domains."""
        account_id = arn.split(":")[4]
        alias = next(
            (a for a in self.config.used_accounts() if self.config.account_id(a) == account_id),
            None,
        )
        if alias is None:
            return False
        iam = self._client(alias, "iam")
        name = arn.rsplit("/", 1)[-1]
        try:
            tags = {t["Key"]: t["Value"] for t in iam.list_role_tags(RoleName=name)["Tags"]}
        except ClientError as exc:
            if aws_code(exc) == "NoSuchEntity":
                return False
            raise
        domain_id = tags.get(DZ_DOMAIN_TAG)
        return bool(domain_id) and self.domain_is_ours(str(domain_id))

    def _permissions(self, alias: str) -> Iterator[Finding]:
        lakeformation = self._client(alias, "lakeformation")
        our_dbs = set(self._project_databases(alias)) | {
            name
            for name, db in self._existing_databases(alias).items()
            if self.names.owns_parameters(db.get("Parameters"))
        }
        other_accounts = {
            self.config.account_id(a) for a in self.config.used_accounts() if a != alias
        }
        for entry in permission_entries(lakeformation):
            principal = entry.get("Principal", {}).get("DataLakePrincipalIdentifier", "")
            resource = entry.get("Resource", {})
            database = database_of(resource)
            in_scope = (
                self._principal_is_ours(principal)
                or (database in our_dbs and principal != "IAM_ALLOWED_PRINCIPALS")
                or (principal in other_accounts and database in our_dbs)
            )
            if in_scope:
                ident = f"{principal} {json.dumps(resource, sort_keys=True)}"
                yield Finding(
                    "lakeformation_permissions",
                    ident,
                    ",".join(entry.get("Permissions", [])),
                    {"entry": entry},
                )

    def _registrations(self, alias: str) -> Iterator[Finding]:
        lakeformation = self._client(alias, "lakeformation")
        our_role = f"SmusMeshLakeFormationAccess-{self.names.setup}"
        token = None
        while True:
            page = lakeformation.list_resources(**({"NextToken": token} if token else {}))
            for info in page.get("ResourceInfoList", []):
                role_arn = info.get("RoleArn", "")
                # The role's name alone is another same-named set-up's too: its set-up id
                # decides (a role already deleted is taken as ours, as for grants).
                if role_arn.endswith("/" + our_role) and self._tagged_role_is_ours(role_arn):
                    yield Finding(
                        "lakeformation_resources", info["ResourceArn"], "registered by smus-mesh"
                    )
            token = page.get("NextToken")
            if not token:
                return

    def _admin_marks(self, alias: str) -> set[str]:
        iam = self._client(alias, "iam")
        try:
            tags = iam.list_role_tags(RoleName=f"SmusMeshLakeFormationAccess-{self.names.setup}")
        except ClientError as exc:
            if aws_code(exc) == "NoSuchEntity":
                return set()
            raise
        if not self.names.is_ours(tags["Tags"]):
            return set()  # another same-named set-up's role: its marks are its admins
        value = next((t["Value"] for t in tags["Tags"] if t["Key"] == ADMINS_TAG), "")
        return set(value.split())

    def _admins(self, alias: str) -> Iterator[Finding]:
        settings = self._client(alias, "lakeformation").get_data_lake_settings()["DataLakeSettings"]
        marks = self._admin_marks(alias)
        for admin in settings.get("DataLakeAdmins", []):
            principal = admin["DataLakePrincipalIdentifier"]
            if principal_hash(principal) in marks:
                yield Finding("lakeformation_admins", principal, "added by smus-mesh")
            elif principal.rsplit("/", 1)[-1].startswith(
                PROJECT_ROLE_PREFIX
            ) and self._principal_is_ours(principal):
                yield Finding("lakeformation_admins", principal, "DataZone project role")

    def _shares(self, alias: str) -> Iterator[Finding]:
        ram = self._client(alias, "ram")
        prefixes = tuple(
            f"DataZone-{self.config.domain.label}-{domain_id}-"
            for domain_id in self.known_domain_ids
        )
        for page in ram.get_paginator("get_resource_shares").paginate(
            resourceOwner="SELF", resourceShareStatus="ACTIVE"
        ):
            for share in page.get("resourceShares", []):
                tags = {t.get("key"): t.get("value") for t in share.get("tags", [])}
                named = bool(prefixes) and share["name"].startswith(prefixes)
                if self.names.is_ours({str(k): str(v) for k, v in tags.items()}) or named:
                    yield Finding(
                        "ram_shares",
                        share["name"],
                        "the domain's share",
                        {"arn": share["resourceShareArn"]},
                    )

    def _domains(self, alias: str) -> Iterator[Finding]:
        if alias != self.config.domain.account:
            return
        for domain in self.our_domains():
            yield Finding("datazone", domain["id"], f"domain {domain['name']} ({domain['status']})")

    # kept for others (ADR 50) -----------------------------------------------------------------
    def _kept_databases(self, alias: str) -> set[str]:
        """The set-up's databases (by their parameters) that hold tables that are not its
        own: `down` keeps them, as DeleteDatabase would delete those tables (ADR 50). A
        project's database (DataZone's) is not looked in: every table in it counts as the
        set-up's (`_tables`). Read once per listing."""
        from smus_mesh.resources.storage import database_tables

        with self._lock:
            known = self._kept_of.get(alias)
        if known is not None:
            return known
        _, project_dbs = self._database_names(alias)
        glue = self._client(alias, "glue")
        kept = set()
        for name, database in self._existing_databases(alias).items():
            if name in project_dbs or not self.names.owns_parameters(database.get("Parameters")):
                continue
            try:
                _, others = database_tables(glue, name, self.names)
            except ClientError as exc:
                if aws_code(exc) in GONE:
                    continue
                raise
            if others:
                kept.add(name)
        with self._lock:
            return self._kept_of.setdefault(alias, kept)

    def _databases_not_kept(self, alias: str) -> Iterator[Finding]:
        """The set-up's databases, but those it keeps for others' tables."""
        kept = self._kept_databases(alias)
        yield from (f for f in self._databases(alias) if f.id not in kept)

    def _permissions_not_kept(self, alias: str) -> Iterator[Finding]:
        """The set-up's Lake Formation grants, but those on a database it keeps for others'
        tables (or on its tables) to principals that are not the set-up's: theirs."""
        kept = self._kept_databases(alias)
        for finding in self._permissions(alias):
            entry = finding.data.get("entry", {})
            database = database_of(entry.get("Resource", {}))
            principal = entry.get("Principal", {}).get("DataLakePrincipalIdentifier", "")
            if database in kept and not self._principal_is_ours(principal):
                continue
            yield finding

    # deleting -------------------------------------------------------------------------------
    def sweep(
        self, inventory: Inventory, report: Callable[[str], None], kept_for: str = ""
    ) -> list[str]:
        """Delete every finding, dependents first; return the errors (never raises).

        The roles go last, and only when every deletion before them succeeded and the
        run gives no reason to keep them (`kept_for`: what failed before the sweep):
        DataZone may still need them for what is left (ADR 40). The next run deletes
        them."""
        errors: list[str] = []
        order = (
            "datazone",
            "ram_shares",
            "cloudformation_stacks",
            "codecommit_repositories",
            "athena_workgroups",
            "lakeformation_permissions",
            "glue_tables",
            "glue_databases",
            "lakeformation_resources",
            "lakeformation_admins",
            "s3_buckets",
            "iam_roles",
        )
        for cls in order:
            if cls == "iam_roles" and (errors or kept_for):
                roles = sum(len(classes.get(cls, [])) for classes in inventory.accounts.values())
                if roles:
                    errors.append(
                        f"kept {roles} leftover role(s): roles are deleted last, once every "
                        f"other deletion has succeeded, and {kept_for or 'a deletion above'} "
                        "failed; run `smus-mesh down` again to finish"
                    )
                continue
            for alias, classes in inventory.accounts.items():
                for finding in classes.get(cls, []):
                    try:
                        kept = self._delete(alias, finding)
                        if kept:
                            report(f"leftover {cls} {finding.id} in {alias} {kept}")
                            continue
                        report(f"deleted leftover {cls} {finding.id} in {alias}")
                    except ClientError as exc:
                        if aws_code(exc) in GONE:
                            # Deleted meanwhile (a Glue database with its stack, a table
                            # with its database): what the sweep was for.
                            report(f"leftover {cls} {finding.id} in {alias} already gone")
                            continue
                        errors.append(f"{alias} {cls} {finding.id}: {exc}")
        return errors

    def _delete_domain(self, alias: str, domain_id: str) -> None:
        """Delete with cascade and wait until it is gone (its stacks go with it)."""
        datazone = self._client(alias, "datazone")
        try:
            datazone.delete_domain(identifier=domain_id, cascadeDelete=True)
        except ClientError as exc:
            if aws_code(exc) == "ResourceNotFoundException":
                return
            raise

        def status() -> str | None:
            try:
                return str(datazone.get_domain(identifier=domain_id)["status"])
            except ClientError as exc:
                if aws_code(exc) == "ResourceNotFoundException":
                    return None
                raise

        with contextlib.suppress(DeadlinePassed):  # audited afterwards, like any leftover
            poll(
                status,
                lambda found: found in (None, "DELETED", "DELETION_FAILED"),
                backoff=Backoff.of(self.settings),
                timeout=self.settings.timeout,
                stop=self.clients.stop,
            )

    def _delete_stack(self, alias: str, stack_id: str) -> None:
        """Delete a stack and wait until it is gone (what botocore's
        `stack_delete_complete` waiter accepts, on the one backoff of `waiting`)."""
        cloudformation = self._client(alias, "cloudformation")
        cloudformation.delete_stack(StackName=stack_id)

        def status() -> str | None:
            try:
                stacks = cloudformation.describe_stacks(StackName=stack_id)["Stacks"]
            except ClientError as exc:
                if aws_code(exc) == "ValidationError":  # "Stack ... does not exist"
                    return None
                raise
            return str(stacks[0]["StackStatus"]) if stacks else None

        with contextlib.suppress(DeadlinePassed):  # audited afterwards, like any leftover
            poll(
                status,
                lambda found: found in (None, "DELETE_COMPLETE", "DELETE_FAILED"),
                backoff=Backoff.of(self.settings),
                timeout=self.settings.timeout,
                stop=self.clients.stop,
            )

    def _delete(self, alias: str, finding: Finding) -> str:
        """Delete one finding; "" when done, else why it was kept instead."""
        from smus_mesh.resources.iam import delete_role
        from smus_mesh.resources.storage import delete_database, empty_and_delete_bucket

        client = self._client
        match finding.cls:
            case "datazone":
                self._delete_domain(alias, finding.id)
            case "ram_shares":
                client(alias, "ram").delete_resource_share(resourceShareArn=finding.data["arn"])
            case "cloudformation_stacks":
                self._delete_stack(alias, finding.data["id"])
            case "codecommit_repositories":
                client(alias, "codecommit").delete_repository(repositoryName=finding.id)
            case "athena_workgroups":
                client(alias, "athena").delete_work_group(
                    WorkGroup=finding.id, RecursiveDeleteOption=True
                )
            case "lakeformation_permissions":
                entry = finding.data["entry"]
                lakeformation = client(alias, "lakeformation")
                try:
                    lakeformation.revoke_permissions(
                        Principal=entry["Principal"],
                        Resource=entry["Resource"],
                        Permissions=entry.get("Permissions", []),
                        PermissionsWithGrantOption=entry.get("PermissionsWithGrantOption", []),
                    )
                except ClientError as exc:
                    if aws_code(exc) not in ("EntityNotFoundException", "InvalidInputException"):
                        raise
            case "glue_tables":
                database, table = finding.id.split(".", 1)
                client(alias, "glue").delete_table(DatabaseName=database, Name=table)
            case "glue_databases" if finding.id in self._database_names(alias)[1]:
                # A project's database (DataZone's): each table in it is the set-up's.
                client(alias, "glue").delete_database(Name=finding.id)
            case "glue_databases":
                # Ours by its parameters: kept if it holds tables that are not (ADR 50).
                return delete_database(client(alias, "glue"), finding.id, self.names)
            case "lakeformation_resources":
                client(alias, "lakeformation").deregister_resource(ResourceArn=finding.id)
            case "lakeformation_admins":
                lakeformation = client(alias, "lakeformation")
                settings = lakeformation.get_data_lake_settings()["DataLakeSettings"]
                settings["DataLakeAdmins"] = [
                    a
                    for a in settings.get("DataLakeAdmins", [])
                    if a["DataLakePrincipalIdentifier"] != finding.id
                ]
                lakeformation.put_data_lake_settings(DataLakeSettings=settings)
            case "s3_buckets":
                empty_and_delete_bucket(client(alias, "s3"), finding.id)
            case "iam_roles":
                delete_role(client(alias, "iam"), finding.id)
        return ""
