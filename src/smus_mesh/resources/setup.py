"""From the config to the list of resources of a set-up, with their dependencies.

This is the whole workflow in one place (research/workflow.md phases A to L):
which step exists for which account, table, project and subscription, and what
it waits for. A step references another step's outputs only through keys it
also lists in `depends_on`, so the graph is the single source of ordering.

Per account, blueprint configurations are serialised (Tooling, then DataLake):
AWS's samples enable blueprints one at a time "to avoid service limits".
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from smus_mesh.config import Config, ProfileRef, TableConfig
from smus_mesh.resources import catalog, datazone, iam, lakeformation, storage, subscriptions
from smus_mesh.resources.base import Resource
from smus_mesh.resources.context import Context
from smus_mesh.resources.naming import Names


class SetupBuilder:
    """Builds the resources of one config; `build()` returns them in a valid order."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.names = Names(config)
        self.resources: list[Resource] = []
        self.keys: dict[str, str] = {}

    def add(self, alias: str, resource: Resource) -> Resource:
        self.resources.append(resource)
        self.keys[alias] = resource.key
        return resource

    def key(self, alias: str) -> str:
        return self.keys[alias]

    # ------------------------------------------------------------------------------
    def build(self) -> list[Resource]:
        self._domain()
        project_accounts = list(dict.fromkeys(p.account for p in self.config.projects))
        for account in project_accounts:
            self._account(account)
        self._existing_profiles()
        for table in self.config.tables:
            self._table(table)
        for project in self.config.projects:
            self._project(project.name)
        for project in self.config.projects:
            for member in project.members:
                self.add(
                    f"member:{project.name}:{'user' if member.user else 'group'}:"
                    f"{member.identifier}",
                    datazone.ProjectMembership(
                        project.name,
                        member,
                        self.config.domain.account,
                        self.key("domain"),
                        self.key(f"project:{project.name}"),
                    ),
                )
        for project in self.config.projects:
            self._imports(project.name)
        for subscription in self.config.subscriptions:
            for table_name in subscription.tables:
                self._subscription(subscription.project, table_name, subscription.reason)
        return self.resources

    def _domain(self) -> None:
        config = self.config
        d = config.domain.account
        if config.domain.joined:
            # An existing domain keeps its own roles: nothing to make before it (ADR 26).
            self.add("domain", datazone.Domain(d, None, None))
            return
        execution = self.add(
            "role:execution",
            iam.IamRole(
                "domain-execution",
                d,
                lambda ctx: iam.domain_execution_role(ctx, d),
                existing_arn=config.domain.roles.execution,
            ),
        )
        service = self.add(
            "role:service",
            iam.IamRole(
                "domain-service",
                d,
                lambda ctx: iam.domain_service_role(ctx, d),
                existing_arn=config.domain.roles.service,
            ),
        )
        self.add("domain", datazone.Domain(d, execution.key, service.key))

    def _account(self, alias: str) -> None:
        d = self.config.domain.account
        domain = self.key("domain")
        account_id = self.config.account_id(alias)
        provisioning = self.add(
            f"role:provisioning:{alias}",
            iam.IamRole(f"provisioning/{alias}", alias, lambda ctx: iam.provisioning_role(ctx, d)),
        )
        manage_access = self.add(
            f"role:manage-access:{alias}",
            iam.IamRole(
                f"manage-access/{alias}",
                alias,
                lambda ctx: iam.manage_access_role(ctx, d, domain),
                depends_on=(domain,),
            ),
        )
        bucket = self.add(
            f"bucket:blueprint:{alias}",
            storage.S3Bucket(self.names.blueprint_bucket(account_id), alias),
        )
        network = self.add(f"network:{alias}", datazone.Network(alias))
        prerequisites = [domain, provisioning.key, manage_access.key, bucket.key, network.key]
        if alias != d:
            share = self.add(f"share:{alias}", datazone.DomainShare(d, alias, domain))
            accepted = self.add(f"accept:{alias}", datazone.ShareAcceptance(alias, d, share.key))
            prerequisites.append(accepted.key)
        excluded = [t.location for t in self.config.tables if t.account == alias]
        previous: str | None = None
        grants = []
        for blueprint in (datazone.TOOLING, datazone.DATALAKE):
            depends = tuple(prerequisites + ([previous] if previous else []))
            configuration = self.add(
                f"blueprint:{alias}:{blueprint}",
                datazone.BlueprintConfiguration(
                    alias,
                    blueprint,
                    domain,
                    provisioning.key,
                    manage_access.key,
                    bucket.key,
                    network.key,
                    excluded if blueprint == datazone.DATALAKE else [],
                    depends,
                ),
            )
            previous = configuration.key
            grants.append(
                self.add(
                    f"grant:blueprint:{alias}:{blueprint}",
                    datazone.PolicyGrant(
                        f"{alias}/{blueprint}",
                        alias,
                        domain,
                        "ENVIRONMENT_BLUEPRINT_CONFIGURATION",
                        "CREATE_ENVIRONMENT_FROM_BLUEPRINT",
                        entity=_blueprint_entity(account_id, configuration.key),
                        principal=_contributors(domain),
                        detail=lambda ctx: {"createEnvironmentFromBlueprint": {}},
                        depends_on=(configuration.key,),
                    ),
                ).key
            )
        if all(p.existing or p.profile for p in self.config.projects if p.account == alias):
            return  # existing projects or profiles only: no profile of its own to make
        profile = self.add(
            f"profile:{alias}",
            datazone.ProjectProfile(
                alias,
                d,
                domain,
                self.key(f"blueprint:{alias}:{datazone.TOOLING}"),
                self.key(f"blueprint:{alias}:{datazone.DATALAKE}"),
                depends_on=(domain, *grants),
            ),
        )
        self._profile_grant(f"grant:profile:{alias}", f"profile/{alias}", profile.key)

    def _profile_grant(self, alias: str, name: str, profile_key: str) -> None:
        """smus-mesh's own principal may create projects from the profile (least privilege,
        rather than the samples' all-users grant)."""
        d = self.config.domain.account
        domain = self.key("domain")
        self.add(
            alias,
            datazone.PolicyGrant(
                name,
                d,
                domain,
                "DOMAIN_UNIT",
                "CREATE_PROJECT_FROM_PROJECT_PROFILE",
                entity=lambda ctx: str(ctx.output(domain, "root_domain_unit_id")),
                principal=_operator(d),
                detail=_profile_detail(profile_key),
                depends_on=(profile_key,),
            ),
        )

    def _existing_profiles(self) -> None:
        """The existing profiles the config names (ADR 26), each with this set-up's grant
        to create projects from it (removed by `down`; the profile is never touched)."""
        d = self.config.domain.account
        domain = self.key("domain")
        users: dict[str, list[tuple[str, str, str]]] = {}
        refs: dict[str, ProfileRef] = {}
        for i, project in enumerate(self.config.projects):
            if project.profile is not None:
                refs.setdefault(project.profile.ref, project.profile)
                users.setdefault(project.profile.ref, []).append(
                    (f"projects[{i}]", project.name, project.account)
                )
        for ref, profile_ref in refs.items():
            profile = self.add(
                f"existing-profile:{ref}",
                datazone.ExistingProjectProfile(profile_ref, d, domain, users[ref]),
            )
            self._profile_grant(
                f"grant:existing-profile:{ref}", f"profile/existing/{ref}", profile.key
            )

    def _table(self, table: TableConfig) -> None:
        alias = table.account
        role_alias = f"role:lakeformation:{alias}"
        if role_alias not in self.keys:
            locations = [t.location for t in self.config.tables if t.account == alias]
            role = self.add(
                role_alias,
                iam.IamRole(
                    f"lakeformation-access/{alias}",
                    alias,
                    lambda ctx: iam.lakeformation_access_role(ctx, alias, locations),
                ),
            )
            self.add(f"lf-admin:{alias}", lakeformation.LakeFormationAdmin(alias, role.key))
        admin = self.key(f"lf-admin:{alias}")
        data_depends: tuple[str, ...] = ()
        if table.create:
            bucket_alias = f"bucket:{table.bucket}"
            if bucket_alias not in self.keys:
                self.add(bucket_alias, storage.S3Bucket(table.bucket, alias))
            data = self.add(
                f"data:{table.name}",
                storage.SampleData(table, depends_on=(self.key(bucket_alias),)),
            )
            data_depends = (data.key,)
        database_alias = f"database:{alias}:{table.database}"
        if database_alias not in self.keys:
            self.add(
                database_alias,
                storage.GlueDatabase(
                    alias, table.database, existing=not table.create, depends_on=(admin,)
                ),
            )
        glue_table = self.add(
            f"table:{table.name}",
            storage.GlueTable(table, depends_on=(self.key(database_alias), *data_depends)),
        )
        self.add(
            f"lf-only:{table.name}",
            lakeformation.LakeFormationOnly(
                table.name, alias, glue_table.key, depends_on=(glue_table.key, admin)
            ),
        )
        registration_depends = [self.key(role_alias), admin]
        if table.create:
            registration_depends.append(self.key(f"bucket:{table.bucket}"))
        self.add(
            f"registration:{table.name}",
            lakeformation.LocationRegistration(
                table.name, alias, table.location, self.key(role_alias), tuple(registration_depends)
            ),
        )

    def _project(self, name: str) -> None:
        project = self.config.project(name)
        if project.existing:
            # Used as it is: found by name in the joined domain (ADR 26).
            self.add(
                f"project:{name}",
                datazone.Project(
                    name,
                    self.config.domain.account,
                    self.key("domain"),
                    "",
                    depends_on=(self.key("domain"),),
                ),
            )
            return
        if project.profile is not None:
            # An existing profile: its grant, and the account's blueprints enabled.
            ref = project.profile.ref
            profile_key = self.key(f"existing-profile:{ref}")
            depends = (
                self.key(f"grant:existing-profile:{ref}"),
                *(
                    self.key(f"grant:blueprint:{project.account}:{blueprint}")
                    for blueprint in (datazone.TOOLING, datazone.DATALAKE)
                ),
            )
        else:
            profile_key = self.key(f"profile:{project.account}")
            depends = (self.key(f"grant:profile:{project.account}"),)
        self.add(
            f"project:{name}",
            datazone.Project(
                name, self.config.domain.account, self.key("domain"), profile_key, depends
            ),
        )

    def _imports(self, name: str) -> None:
        project = self.config.project(name)
        if not project.imports:
            return
        alias = project.account
        project_key = self.key(f"project:{name}")
        manage_access = self.key(f"role:manage-access:{alias}")
        manage_access_principal = ("manage-access", manage_access, "arn")
        if self.config.domain.joined:
            # The role DataZone uses is the one the account's DataLake blueprint
            # configuration names: the domain owner's when it configured it (ADR 26).
            manage_access_principal = (
                "manage-access",
                self.key(f"blueprint:{alias}:{datazone.DATALAKE}"),
                "manage_access_role_arn",
            )
        by_database: dict[str, list[TableConfig]] = {}
        for table_name in project.imports:
            table = self.config.table(table_name)
            by_database.setdefault(table.database, []).append(table)
        for database, tables in by_database.items():
            grant_keys: list[str] = []
            for table in tables:
                table_key = self.key(f"table:{table.name}")
                common = (
                    table_key,
                    self.key(f"lf-only:{table.name}"),
                    self.key(f"registration:{table.name}"),
                )
                for who, principal_key, principal_output in (
                    ("project", project_key, "role_arn"),
                    manage_access_principal,
                ):
                    # workflow.md Phase H: SELECT+DESCRIBE grantable on the table,
                    # DESCRIBE grantable on the database, for both roles.
                    grant_keys.append(
                        self.add(
                            f"lf-grant:{name}:{table.name}:{who}:table",
                            lakeformation.LakeFormationGrant(
                                f"{name}/{table.name}/{who}/table",
                                alias,
                                _output(principal_key, principal_output),
                                _table_resource(table_key),
                                ("SELECT", "DESCRIBE"),
                                ("SELECT", "DESCRIBE"),
                                depends_on=(principal_key, *common),
                                on=(table_key,),
                            ),
                        ).key
                    )
                    database_grant = f"lf-grant:{name}:{table.database}:{who}:database"
                    if database_grant not in self.keys:
                        grant_keys.append(
                            self.add(
                                database_grant,
                                lakeformation.LakeFormationGrant(
                                    f"{name}/{table.database}/{who}/database",
                                    alias,
                                    _output(principal_key, principal_output),
                                    _database_resource(table_key),
                                    ("DESCRIBE",),
                                    ("DESCRIBE",),
                                    depends_on=(principal_key, table_key),
                                ),
                            ).key
                        )
            source = catalog.DataSource(
                name,
                database,
                tables,
                self.config.domain.account,
                self.key("domain"),
                project_key,
                depends_on=(project_key, *grant_keys),
            )
            self.add(f"data-source:{name}:{database}", source)
            importer = self.add(
                f"import:{name}:{database}",
                catalog.DataSourceImport(
                    source,
                    {t.name: self.key(f"table:{t.name}") for t in tables},
                    depends_on=(source.key, *(self.key(f"table:{t.name}") for t in tables)),
                ),
            )
            for table in tables:
                self.add(
                    f"listing:{table.name}",
                    catalog.Listing(
                        table.name, self.config.domain.account, self.key("domain"), importer.key
                    ),
                )

    def _subscription(self, consumer: str, table: str, reason: str) -> None:
        d = self.config.domain.account
        producer = self.config.producer_of(table)
        common: dict[str, Any] = {
            "consumer": consumer,
            "table": table,
            "domain_account": d,
            "domain_key": self.key("domain"),
            "consumer_key": self.key(f"project:{consumer}"),
            "producer_key": self.key(f"project:{producer.name}"),
            "listing_key": self.key(f"listing:{table}"),
        }
        base = (common["consumer_key"], common["producer_key"], common["listing_key"])
        request = self.add(
            f"request:{consumer}:{table}",
            subscriptions.SubscriptionRequest(depends_on=base, reason=reason, **common),
        )
        if producer.approval.mode == "manual":
            return
        approval = self.add(
            f"approval:{consumer}:{table}",
            subscriptions.SubscriptionApproval(
                depends_on=(*base, request.key),
                request_key=request.key,
                policy=producer.approval,
                **common,
            ),
        )
        self.add(
            f"grant:{consumer}:{table}",
            subscriptions.SubscriptionGrant(
                depends_on=(*base, request.key, approval.key),
                approval_key=approval.key,
                **common,
            ),
        )


# --- small closures over keys (a reference to an output is also a dependency) ------------


def _output(key: str, name: str) -> Callable[[Context], str]:
    return lambda ctx: str(ctx.output(key, name))


def _table_resource(table_key: str) -> Callable[[Context], dict[str, Any]]:
    return lambda ctx: lakeformation.table_resource(
        ctx.output(table_key, "catalog_id"),
        ctx.output(table_key, "database"),
        ctx.output(table_key, "table"),
    )


def _database_resource(table_key: str) -> Callable[[Context], dict[str, Any]]:
    return lambda ctx: lakeformation.database_resource(
        ctx.output(table_key, "catalog_id"), ctx.output(table_key, "database")
    )


def _blueprint_entity(account_id: str, configuration_key: str) -> Callable[[Context], str]:
    return lambda ctx: f"{account_id}:{ctx.output(configuration_key, 'blueprint_id')}"


def _contributors(domain_key: str) -> Callable[[Context], dict[str, Any]]:
    """Project contributors anywhere under the root domain unit may use the blueprint."""
    return lambda ctx: {
        "project": {
            "projectDesignation": "CONTRIBUTOR",
            "projectGrantFilter": {
                "domainUnitFilter": {
                    "domainUnit": ctx.output(domain_key, "root_domain_unit_id"),
                    "includeChildDomainUnits": True,
                }
            },
        }
    }


def _operator(account: str) -> Callable[[Context], dict[str, Any]]:
    """Only smus-mesh's own principal may create projects from the profile (least privilege,
    rather than the samples' all-users grant)."""
    return lambda ctx: {"user": {"userIdentifier": lakeformation.caller_principal(ctx, account)}}


def _profile_detail(profile_key: str) -> Callable[[Context], dict[str, Any]]:
    return lambda ctx: {
        "createProjectFromProjectProfile": {
            "projectProfiles": [ctx.output(profile_key, "id")],
            "includeChildDomainUnits": True,
        }
    }


def build_resources(config: Config) -> list[Resource]:
    return SetupBuilder(config).build()
