# Over 800 lines: one DataZone area's operations and the helpers they share
# (its records are in records/).
"""DataZone projects: memberships, environments, connections, credentials, deletion.

A V2 project is created from a project profile; its ON_CREATE environment
configurations are then deployed one deploymentOrder group at a time, each into
the account and region its configuration pins (research/workflow.md phase G).
The project's `environmentDeploymentDetails` summarise that deployment: it stays
IN_PROGRESS while environments are CREATING, ends SUCCESSFUL, or FAILED_VALIDATION
/ FAILED_DEPLOYMENT with the reasons per configuration — and `projectStatus`
stays ACTIVE throughout, as in AWS.

An environment is CREATING first (its first read always shows it), then
VALIDATION_FAILED, CREATE_FAILED or ACTIVE depending on what provisioning.py
finds in its account. An ACTIVE Tooling environment brings the project's
connections (Athena, lakehouse, shared S3); an ACTIVE Lakehouse Database
environment brings the project's subscription target (the Glue database that
subscribed assets are granted into).

DataZone authorisation is its own: project operations check the caller's
DataZone user profile against the project's memberships, whatever IAM allows.

Deleting a project, environment or domain passes through DELETING; the
environments' stacks are deleted in their accounts when that stage ends, and a
stack that cannot be deleted leaves its environment (and project, and domain)
in a failed deletion state with the stack's reason.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from smus_mesh_emulator.datazone import provisioning
from smus_mesh_emulator.datazone.common import (
    Caller,
    drop_none,
    mark_read,
    not_found,
    now,
    require,
    start_transition,
)
from smus_mesh_emulator.datazone.domains import Domain
from smus_mesh_emulator.datazone.exceptions import (
    AccessDeniedException,
    ConflictException,
    ResourceNotFoundException,
    ValidationException,
)
from smus_mesh_emulator.datazone.governance import (
    DATA_LAKE,
    REDSHIFT_SERVERLESS,
    TOOLING,
    GovernanceBackend,
    blueprint_configuration,
    blueprint_of,
    may_create_project_from,
    project_profile_of,
)
from smus_mesh_emulator.datazone.identity_center import sso_group, sso_user
from smus_mesh_emulator.datazone.records.governance import Blueprint
from smus_mesh_emulator.datazone.records.projects import (
    BUILDERS,
    ENVIRONMENT_PROVIDER,
    OWNER,
    Connection,
    Environment,
    EnvironmentFailure,
    Project,
    SubscriptionTarget,
)
from smus_mesh_emulator.runtime import RUNTIME

# --- objects -------------------------------------------------------------------------


# --- helpers other mixins use ------------------------------------------------------------


def project_of(domain: Domain, project_id: str) -> Project:
    """Look up a project of a domain.

    Raises:
        ResourceNotFoundException: "Project <id> not found".

    Examples:
        >>> project_of(domain, "5b2x9k0c8ytq1e").name
        'sales'
    """
    project: Project | None = domain.projects.get(project_id)
    if project is None:
        raise not_found("Project", project_id)
    return project


def require_member(
    domain: Domain, project: Project, caller: Caller, designations: set[str] | None = None
) -> None:
    """Check DataZone authorisation: the caller's user profile must be a project member.

    Args:
        designations: if given, the member's designation must be one of these.

    Raises:
        AccessDeniedException: "User <arn> is not a member of project <id>", or the
            member's designation is not one of `designations`.

    Examples:
        >>> require_member(domain, project, caller, {"PROJECT_OWNER"})
    """
    profile = domain.user_profile_for(caller.arn, create=False)
    designation = project.memberships.get(profile.id) if profile else None
    if designation is None:
        raise AccessDeniedException(f"User {caller.arn} is not a member of project {project.id}")
    if designations is not None and designation not in designations:
        raise AccessDeniedException(
            f"User {caller.arn} is {designation} of project {project.id}; this needs "
            f"{' or '.join(sorted(designations))}"
        )


def environments_of(domain: Domain, project_id: str) -> list[Environment]:
    """Every environment of a project, whatever its status.

    Examples:
        >>> [e.configuration_name for e in environments_of(domain, project.id)]
        ['Tooling', 'Lakehouse Database']
    """
    return [e for e in domain.environments.values() if e.project_id == project_id]


def tooling_environment(domain: Domain, project_id: str) -> Environment | None:
    """The project's Tooling environment (any status), or None.

    Examples:
        >>> tooling_environment(domain, project.id).provisioned["workgroupName"]
        'workgroup-5b2x9k0c8ytq1e-0q9e1m2k3j4h5g'
    """
    return next(
        (e for e in environments_of(domain, project_id) if e.blueprint_name == TOOLING), None
    )


def project_role_arn(domain: Domain, project_id: str) -> str | None:
    """The project role: the userRoleArn of the project's ACTIVE Tooling environment.

    Returns:
        The role ARN, or None while the project has no ACTIVE Tooling environment.

    Examples:
        >>> project_role_arn(domain, project.id)
        'arn:aws:iam::222222222222:role/datazone_usr_role_5b2x9k0c8ytq1e_0q9e1m2k3j4h5g'
    """
    tooling = tooling_environment(domain, project_id)
    if tooling is None or tooling.status != "ACTIVE":
        return None
    return tooling.provisioned.get("userRoleArn")


def environment_of(domain: Domain, environment_id: str) -> Environment:
    """Look up an environment (ResourceNotFoundException "Environment <id> not found")."""
    environment: Environment | None = domain.environments.get(environment_id)
    if environment is None:
        raise not_found("Environment", environment_id)
    return environment


def ensure_admin_project(domain: Domain, caller: Caller) -> None:
    """The domain-management project `admin-<accountId>` (research/workflow.md Phase E)."""
    name = f"admin-{domain.account_id}"
    if any(p.name == name for p in domain.projects.values()):
        return
    owner = domain.user_profile_for(caller.arn)
    assert owner is not None
    project = Project(domain, name, owner.id, {"description": "Domain management"})
    domain.projects[project.id] = project


def _member_profile_id(domain: Domain, member: dict[str, Any]) -> str:
    """The user (or group) profile id of a Member union. An IAM ARN gets a profile on
    first use; in an IAM Identity Center domain so does an Identity Center user or group
    (by id or name) when users are assigned AUTOMATIC, while MANUAL takes only those
    given a profile before (identity_center.py)."""
    group = member.get("groupIdentifier")
    if group:
        if group in domain.group_profiles:
            return str(group)
        if not domain.identity_center:
            raise ValidationException(
                f"Group members need an IAM Identity Center domain; domain {domain.id} is IAM-based"
            )
        found = sso_group(domain.single_sign_on, domain.region, group)
        automatic = domain.single_sign_on.get("userAssignment", "AUTOMATIC") == "AUTOMATIC"
        group_profile = domain.group_profile(found, create=automatic)
        if group_profile is None:
            raise not_found("Group profile", group)
        return group_profile.id
    identifier = member.get("userIdentifier")
    if not identifier:
        raise ValidationException("member.userIdentifier is required")
    if identifier in domain.user_profiles:
        return str(identifier)
    if identifier.startswith("arn:"):
        profile = domain.user_profile_for(identifier)
        assert profile is not None
        return profile.id
    if domain.identity_center:
        user = sso_user(domain.single_sign_on, domain.region, identifier)
        automatic = domain.single_sign_on.get("userAssignment", "AUTOMATIC") == "AUTOMATIC"
        sso = domain.sso_profile(user, create=automatic)
        if sso is not None:
            return sso.id
    raise not_found("User profile", identifier)


def resolve_parameters(
    blueprint: Blueprint, configuration: dict[str, Any], values: list[dict[str, Any]]
) -> tuple[dict[str, str], list[dict[str, Any]]]:
    """An environment's parameters: blueprint defaults, then the profile's overrides, then
    the user's values (only where the override leaves the parameter editable).

    Returns the values by name and the CustomParameter list GetEnvironment shows.
    """
    resolved = {
        p["keyName"]: p["defaultValue"] for p in blueprint.user_parameters if "defaultValue" in p
    }
    editable = {p["keyName"]: p.get("isEditable", True) for p in blueprint.user_parameters}
    overrides = (configuration.get("configurationParameters") or {}).get("parameterOverrides")
    for override in overrides or []:
        name = override.get("name")
        if name not in editable:
            raise ValidationException(
                f"{name} is not a parameter of blueprint {blueprint.name} "
                f"(environment configuration {configuration['name']})"
            )
        if override.get("value") is not None:
            resolved[name] = override["value"]
        editable[name] = override.get("isEditable", True)
    for value in values:
        name = value.get("name")
        if name not in editable:
            raise ValidationException(
                f"{name} is not a parameter of blueprint {blueprint.name} "
                f"(environment configuration {configuration['name']})"
            )
        if not editable[name]:
            raise ValidationException(
                f"Parameter {name} of environment configuration {configuration['name']} is not "
                "editable"
            )
        resolved[name] = value.get("value") or ""
    shown = [
        drop_none(
            {
                "keyName": p["keyName"],
                "description": p.get("description"),
                "fieldType": p["fieldType"],
                "defaultValue": resolved.get(p["keyName"]),
                "isEditable": editable[p["keyName"]],
                "isOptional": p.get("isOptional"),
            }
        )
        for p in blueprint.user_parameters
    ]
    return resolved, shown


# --- environment lifecycle -------------------------------------------------------------


def _new_environment(
    domain: Domain,
    project: Project,
    configuration: dict[str, Any],
    created_by: str,
    values: list[dict[str, Any]],
    name: str | None = None,
    description: str | None = None,
) -> Environment:
    blueprint = blueprint_of(domain, configuration["environmentBlueprintId"])
    parameters, shown = resolve_parameters(blueprint, configuration, values)
    environment = Environment(
        domain,
        project,
        name or configuration["name"],
        blueprint,
        configuration,
        created_by,
        parameters,
        shown,
        description,
    )
    domain.environments[environment.id] = environment
    return environment


def _configuration_values(project: Project, configuration: dict[str, Any]) -> list[dict[str, Any]]:
    """The CreateProject userParameters given for one environment configuration."""
    return [
        value
        for entry in project.user_parameters
        if entry.get("environmentConfigurationName") == configuration["name"]
        for value in entry.get("environmentParameters") or []
    ]


def _start_environment(domain: Domain, project: Project, environment: Environment) -> None:
    """CREATING, then VALIDATION_FAILED / CREATE_FAILED / ACTIVE as provisioning decides."""
    environment.start_deployment("CREATE")
    failure = provisioning.validation_failure(domain, environment)
    if failure is not None:

        def rejected() -> None:
            environment.status = "VALIDATION_FAILED"
            environment.end_deployment(failure)
            _continue_deployment(domain, project)

        # Validation is quick; the first read still shows CREATING.
        start_transition(environment, [("CREATING", None)], "VALIDATION_FAILED", rejected)
        return

    def created() -> None:
        try:
            environment.provisioned = provisioning.provision(
                domain, environment, project_role_arn(domain, project.id)
            )
        except EnvironmentFailure as exc:
            environment.status = "CREATE_FAILED"
            environment.end_deployment(exc)
        else:
            environment.end_deployment()
            _add_environment_objects(domain, environment)
        _continue_deployment(domain, project)

    start_transition(environment, [("CREATING", "environment.create")], "ACTIVE", created)


def _add_environment_objects(domain: Domain, environment: Environment) -> None:
    """The DataZone objects an ACTIVE environment brings: connections or a target."""
    if environment.blueprint_name == TOOLING:
        path = environment.provisioned["s3BucketPath"]
        for connection in (
            Connection(
                domain,
                environment,
                "project.athena",
                "ATHENA",
                {"athenaProperties": {"workgroupName": environment.provisioned["workgroupName"]}},
                "The project's Athena workgroup",
            ),
            # The model's ConnectionType has no LAKEHOUSE or GLUE value: the lakehouse
            # (Glue Data Catalog through the project role) is an IAM connection.
            Connection(
                domain,
                environment,
                "project.default_lakehouse",
                "IAM",
                {
                    "iamProperties": {
                        "environmentId": environment.id,
                        "glueLineageSyncEnabled": False,
                    }
                },
                "The project's lakehouse: the Glue Data Catalog of its account",
            ),
            Connection(
                domain,
                environment,
                "default.s3_shared",
                "S3",
                {"s3Properties": {"s3Uri": f"{path}/shared/", "status": "READY"}},
                "The project's shared S3 location",
            ),
        ):
            domain.connections[connection.id] = connection
    elif environment.blueprint_name == REDSHIFT_SERVERLESS:
        domain.connections.update(_redshift_connection(domain, environment))
    elif environment.blueprint_name == DATA_LAKE:
        configuration = blueprint_configuration(
            domain, environment.account_id, environment.blueprint_id
        )
        target = SubscriptionTarget(
            domain, environment, configuration.manage_access_role_arn if configuration else None
        )
        domain.subscription_targets[target.id] = target


def _redshift_connection(domain: Domain, environment: Environment) -> dict[str, Connection]:
    """The project's `project.redshift` connection to its workgroup's database."""
    provisioned = environment.provisioned
    workgroup, database = provisioned["redshiftWorkgroupName"], provisioned["redshiftDbName"]
    account, region = environment.account_id, environment.region
    host = f"{workgroup}.{account}.{region}.redshift-serverless.amazonaws.com"
    connection = Connection(
        domain,
        environment,
        "project.redshift",
        "REDSHIFT",
        {
            "redshiftProperties": {
                "storage": {"workgroupName": workgroup},
                "databaseName": database,
                "isProvisionedSecret": False,
                "jdbcUrl": f"jdbc:redshift://{host}:5439/{database}",
                "jdbcIamUrl": f"jdbc:redshift:iam://{host}:5439/{database}",
                "status": "READY",
            }
        },
        "The project's Redshift Serverless workgroup",
    )
    return {connection.id: connection}


def _deploy_next_group(domain: Domain, project: Project) -> None:
    """Start the project's pending ON_CREATE configurations of the lowest deploymentOrder."""
    if not project.pending_configurations:
        return
    order = project.pending_configurations[0].get("deploymentOrder", 0)
    group = [c for c in project.pending_configurations if c.get("deploymentOrder", 0) == order]
    project.pending_configurations = project.pending_configurations[len(group) :]
    for configuration in group:
        environment = _new_environment(
            domain,
            project,
            configuration,
            project.created_by,
            _configuration_values(project, configuration),
        )
        _start_environment(domain, project, environment)


def _continue_deployment(domain: Domain, project: Project) -> None:
    """After an environment settles: deploy the next group once all before it are ACTIVE."""
    if domain.projects.get(project.id) is not project or project.status != "ACTIVE":
        return
    on_create = [e for e in environments_of(domain, project.id) if e.deployment_mode == "ON_CREATE"]
    if all(e.status == "ACTIVE" for e in on_create):
        _deploy_next_group(domain, project)


def _delete_environment(domain: Domain, environment: Environment, driven: bool = False) -> None:
    """DELETING, then the stack is deleted: gone, or DELETE_FAILED with the stack's reason.

    `driven`: DataZone itself deletes the environment (a cascade), so it proceeds
    without waiting for a client to read it.
    """
    if environment.status == "DELETING":
        return
    environment.start_deployment("DELETE")

    def deleted() -> None:
        reason = provisioning.deprovision(environment)
        if reason is not None:
            environment.status = "DELETE_FAILED"
            environment.end_deployment(EnvironmentFailure("STACK_DELETE_FAILED", reason))
            return
        domain.environments.pop(environment.id, None)
        for store in (domain.connections, domain.subscription_targets):
            for key in [k for k, v in store.items() if v.environment_id == environment.id]:
                del store[key]

    start_transition(environment, [("DELETING", "environment.delete")], "DELETED", deleted)
    if driven:
        mark_read(environment)


# --- the mixin -----------------------------------------------------------------------------


class ProjectsBackend(GovernanceBackend):
    """Projects, memberships, environments, connections and environment credentials."""

    def put_environment_blueprint_configuration(
        self, caller: Caller, params: dict[str, Any]
    ) -> dict[str, Any]:
        """GovernanceBackend's, and: enabling Tooling in the domain account of an IAM
        Identity Center domain sets up domain management, the admin project
        (research/workflow.md Phase E)."""
        result = super().put_environment_blueprint_configuration(caller, params)
        domain = self.domain_for(caller, require(params, "domainIdentifier"), associated=True)
        blueprint = blueprint_of(domain, require(params, "environmentBlueprintIdentifier"))
        if (
            blueprint.name == TOOLING
            and caller.account == domain.account_id
            and domain.single_sign_on.get("type") == "IAM_IDC"
        ):
            ensure_admin_project(domain, caller)
        return result

    # projects -------------------------------------------------------------------------
    def create_project(self, caller: Caller, params: dict[str, Any]) -> dict[str, Any]:
        domain = self.domain_for(caller, require(params, "domainIdentifier"))
        name = require(params, "name")
        if any(p.name == name for p in domain.projects.values()):
            raise ConflictException(f"Project name {name} already exists in domain {domain.id}")
        profile = None
        if params.get("projectProfileId"):
            profile = project_profile_of(domain, params["projectProfileId"])
            if profile.status != "ENABLED":
                raise ValidationException(f"Project profile {profile.id} is {profile.status}")
            if not may_create_project_from(domain, caller, profile.id):
                raise AccessDeniedException(
                    f"User {caller.arn} is not allowed to create projects from project profile "
                    f"{profile.id}: no CREATE_PROJECT_FROM_PROJECT_PROFILE policy grant covers it"
                )
        creator = domain.user_profile_for(caller.arn)
        assert creator is not None
        project = Project(domain, name, creator.id, params, profile)
        if profile is not None:
            names = {c["name"] for c in profile.environment_configurations}
            for entry in project.user_parameters:
                if entry.get("environmentConfigurationName") not in names:
                    raise ValidationException(
                        f"Project profile {profile.id} has no environment configuration "
                        f"{entry.get('environmentConfigurationName')}"
                    )
            for configuration in profile.environment_configurations:
                resolve_parameters(
                    blueprint_of(domain, configuration["environmentBlueprintId"]),
                    configuration,
                    _configuration_values(project, configuration),
                )
            project.pending_configurations = sorted(
                (
                    c
                    for c in profile.environment_configurations
                    if c["deploymentMode"] == "ON_CREATE"
                ),
                key=lambda c: c.get("deploymentOrder", 0),
            )
        for assignment in params.get("membershipAssignments") or []:
            project.memberships[_member_profile_id(domain, assignment["member"])] = assignment[
                "designation"
            ]
        domain.projects[project.id] = project
        result = project.to_dict()  # before deployment starts: PENDING_DEPLOYMENT
        _deploy_next_group(domain, project)
        return result

    def get_project(self, caller: Caller, params: dict[str, Any]) -> dict[str, Any]:
        domain = self.domain_for(caller, require(params, "domainIdentifier"))
        project = project_of(domain, require(params, "identifier"))
        mark_read(project, *environments_of(domain, project.id))
        return project.to_dict()

    def list_projects(self, caller: Caller, params: dict[str, Any]) -> dict[str, Any]:
        domain = self.domain_for(caller, require(params, "domainIdentifier"))
        projects = list(domain.projects.values())
        if params.get("name"):
            projects = [p for p in projects if p.name == params["name"]]
        user = params.get("userIdentifier")
        if user:
            # A filter reads: it never creates the user profile an ARN would get.
            profile = domain.user_profiles.get(user) or domain.user_profile_for(user, create=False)
            projects = [p for p in projects if profile is not None and profile.id in p.memberships]
        if params.get("projectCategory"):
            projects = [p for p in projects if p.project_category == params["projectCategory"]]
        mark_read(*projects)
        return {"items": [p.to_summary_dict() for p in projects]}

    def update_project(self, caller: Caller, params: dict[str, Any]) -> dict[str, Any]:
        domain = self.domain_for(caller, require(params, "domainIdentifier"))
        project = project_of(domain, require(params, "identifier"))
        require_member(domain, project, caller, {OWNER})
        name = params.get("name")
        if name and any(p.name == name and p is not project for p in domain.projects.values()):
            raise ConflictException(f"Project name {name} already exists in domain {domain.id}")
        if name:
            project.name = name
        if params.get("description") is not None:
            project.description = params["description"]
        if params.get("resourceTags") is not None:
            project.resource_tags = [
                t for t in project.resource_tags if t["source"] == "PROJECT_PROFILE"
            ] + [
                {"key": k, "value": v, "source": "PROJECT"}
                for k, v in params["resourceTags"].items()
            ]
        project.updated_at = now()
        return project.to_dict()

    def delete_project(self, caller: Caller, params: dict[str, Any]) -> dict[str, Any]:
        domain = self.domain_for(caller, require(params, "domainIdentifier"))
        project = project_of(domain, require(params, "identifier"))
        require_member(domain, project, caller, {OWNER})
        environments = environments_of(domain, project.id)
        if environments and not params.get("skipDeletionCheck"):
            raise ConflictException(
                f"Project {project.id} still has {len(environments)} environment(s): delete them "
                "first, or use skipDeletionCheck to delete the project's child entities with it"
            )
        if project.status != "DELETING":
            self._delete_project(domain, project)
        return {}

    def _release_project(self, domain: Domain, project: Project, driven: bool) -> None:
        """A project is being deleted: its environments go through their own deletion.
        The areas above extend this with the catalog objects and subscriptions that go
        with the project, before its environments."""
        project.failure_reasons = []
        project.pending_configurations = []
        for environment in environments_of(domain, project.id):
            _delete_environment(domain, environment, driven)

    def _delete_project(
        self,
        domain: Domain,
        project: Project,
        driven: bool = False,
        on_deleted: Callable[[], None] | None = None,
    ) -> None:
        """DELETING: child entities go (catalog objects at once, environments through their
        own deletion); when the stage ends the project is gone, or DELETE_FAILED if an
        environment's stack could not be deleted."""
        self._release_project(domain, project, driven)

        def deleted() -> None:
            for environment in environments_of(domain, project.id):
                if environment.transition is not None:
                    RUNTIME.scheduler.finish_now(environment.transition)
            failed = environments_of(domain, project.id)
            if failed:
                project.status = "DELETE_FAILED"
                project.failure_reasons = [
                    {
                        "code": "ENVIRONMENT_DELETE_FAILED",
                        "message": f"Environment {e.id} ({e.name}): "
                        + (e.failure.message if e.failure else e.status),
                    }
                    for e in failed
                ]
                return
            domain.projects.pop(project.id, None)
            if on_deleted is not None:
                on_deleted()

        # The completion removes the project or marks it DELETE_FAILED.
        start_transition(project, [("DELETING", "project.delete")], "DELETING", deleted)
        if driven:
            mark_read(project)

    # domain deletion (DataZoneBackend.delete_domain) -----------------------------------
    def start_domain_deletion(self, domain: Domain, cascade: bool) -> None:
        """cascadeDelete: DataZone deletes every project (and so every environment stack)
        while the domain is DELETING, counting them in deleteProgress."""
        if not cascade:
            return

        def counted() -> None:
            progress = domain.delete_progress or {}
            progress["successfullyDeletedProjectCount"] = (
                progress.get("successfullyDeletedProjectCount", 0) + 1
            )
            domain.delete_progress = progress

        for project in list(domain.projects.values()):
            self._delete_project(domain, project, driven=True, on_deleted=counted)

    def finish_domain_deletion(self, domain: Domain, cascade: bool) -> None:
        """End of DELETING. cascadeDelete: finish the project deletions; a project left
        behind (a stack that could not be deleted) makes the domain DELETION_FAILED.
        skipDeletionCheck: the DataZone objects go with the domain, but nothing is
        deprovisioned — environment stacks, project roles and databases stay in their
        accounts as orphans, which is what AWS documents for this flag."""
        if not cascade:
            pending: list[Project | Environment] = [
                *domain.projects.values(),
                *domain.environments.values(),
            ]
            for obj in pending:
                RUNTIME.scheduler.cancel(obj.transition)
            return
        for project in list(domain.projects.values()):
            if project.transition is not None:
                RUNTIME.scheduler.finish_now(project.transition)
        if domain.projects:
            domain.status = "DELETION_FAILED"
            domain.failure_reasons = [
                {
                    "id": p.id,
                    "message": "; ".join(r["message"] for r in p.failure_reasons)
                    or f"Project {p.name} could not be deleted",
                }
                for p in domain.projects.values()
            ]

    # memberships ---------------------------------------------------------------------
    def create_project_membership(self, caller: Caller, params: dict[str, Any]) -> dict[str, Any]:
        domain = self.domain_for(caller, require(params, "domainIdentifier"))
        project = project_of(domain, require(params, "projectIdentifier"))
        require_member(domain, project, caller, {OWNER})
        member = _member_profile_id(domain, require(params, "member"))
        project.memberships[member] = require(params, "designation")
        return {}

    def list_project_memberships(self, caller: Caller, params: dict[str, Any]) -> dict[str, Any]:
        domain = self.domain_for(caller, require(params, "domainIdentifier"))
        project = project_of(domain, require(params, "projectIdentifier"))
        members = sorted(
            project.memberships.items(), reverse=params.get("sortOrder") == "DESCENDING"
        )
        return {
            "members": [
                {
                    "memberDetails": (
                        {"group": {"groupId": member}}
                        if member in domain.group_profiles
                        else {"user": {"userId": member}}
                    ),
                    "designation": designation,
                }
                for member, designation in members
            ]
        }

    def delete_project_membership(self, caller: Caller, params: dict[str, Any]) -> dict[str, Any]:
        domain = self.domain_for(caller, require(params, "domainIdentifier"))
        project = project_of(domain, require(params, "projectIdentifier"))
        require_member(domain, project, caller, {OWNER})
        member = _member_profile_id(domain, require(params, "member"))
        if member not in project.memberships:
            raise ResourceNotFoundException(
                f"User {member} is not a member of project {project.id}"
            )
        owners = [u for u, d in project.memberships.items() if d == OWNER]
        if owners == [member]:
            raise ValidationException(f"User {member} is the last owner of project {project.id}")
        del project.memberships[member]
        return {}

    # environments ------------------------------------------------------------------------
    def create_environment(self, caller: Caller, params: dict[str, Any]) -> dict[str, Any]:
        domain = self.domain_for(caller, require(params, "domainIdentifier"))
        project = project_of(domain, require(params, "projectIdentifier"))
        name = require(params, "name")
        if domain.domain_version == "V2" and params.get("environmentBlueprintIdentifier"):
            raise ValidationException(
                "environmentBlueprintIdentifier is only valid for V1 domains; domain "
                f"{domain.id} is V2: use environmentConfigurationId"
            )
        configuration_key = params.get("environmentConfigurationId") or params.get(
            "environmentConfigurationName"
        )
        if not configuration_key:
            raise ValidationException(
                "environmentConfigurationId is required (environment profiles of V1 domains are "
                "not supported by the emulator)"
            )
        require_member(domain, project, caller, set(BUILDERS))
        if project.project_profile_id is None:
            raise ValidationException(f"Project {project.id} has no project profile")
        profile = project_profile_of(domain, project.project_profile_id)
        configuration = profile.configuration(configuration_key)
        if configuration is None:
            raise not_found(
                f"Project profile {profile.id} environment configuration", configuration_key
            )
        if any(e.name == name for e in environments_of(domain, project.id)):
            raise ConflictException(f"Environment {name} already exists in project {project.id}")
        creator = domain.user_profile_for(caller.arn)
        assert creator is not None
        environment = _new_environment(
            domain,
            project,
            configuration,
            creator.id,
            list(params.get("userParameters") or []),
            name,
            params.get("description"),
        )
        _start_environment(domain, project, environment)
        return environment.to_dict()

    def get_environment(self, caller: Caller, params: dict[str, Any]) -> dict[str, Any]:
        domain = self.domain_for(caller, require(params, "domainIdentifier"))
        environment = environment_of(domain, require(params, "identifier"))
        mark_read(environment)
        return environment.to_dict()

    def list_environments(self, caller: Caller, params: dict[str, Any]) -> dict[str, Any]:
        domain = self.domain_for(caller, require(params, "domainIdentifier"))
        project = project_of(domain, require(params, "projectIdentifier"))
        filters: dict[str, Callable[[Environment], str]] = {
            "awsAccountId": lambda e: e.account_id,
            "awsAccountRegion": lambda e: e.region,
            "status": lambda e: e.status,
            "environmentBlueprintIdentifier": lambda e: e.blueprint_id,
            "provider": lambda e: ENVIRONMENT_PROVIDER,
            "name": lambda e: e.name,
        }
        environments = [
            e
            for e in environments_of(domain, project.id)
            if all(params.get(k) in (None, read(e)) for k, read in filters.items())
        ]
        mark_read(*environments)
        return {"items": [e.to_summary_dict() for e in environments]}

    def delete_environment(self, caller: Caller, params: dict[str, Any]) -> dict[str, Any]:
        domain = self.domain_for(caller, require(params, "domainIdentifier"))
        environment = environment_of(domain, require(params, "identifier"))
        require_member(domain, project_of(domain, environment.project_id), caller, set(BUILDERS))
        _delete_environment(domain, environment)
        return {}

    def get_environment_credentials(self, caller: Caller, params: dict[str, Any]) -> dict[str, Any]:
        domain = self.domain_for(caller, require(params, "domainIdentifier"))
        environment = environment_of(domain, require(params, "environmentIdentifier"))
        require_member(domain, project_of(domain, environment.project_id), caller)
        return self._credentials(environment)

    @staticmethod
    def _credentials(environment: Environment) -> dict[str, Any]:
        role = environment.provisioned.get("userRoleArn")
        if environment.status != "ACTIVE" or role is None:
            raise ValidationException(
                f"Environment {environment.id} is {environment.status}: credentials exist only "
                "for an ACTIVE environment"
            )
        try:
            return provisioning.project_credentials(environment, role)
        except EnvironmentFailure as exc:
            raise AccessDeniedException(exc.message) from exc

    # connections -----------------------------------------------------------------------
    def list_connections(self, caller: Caller, params: dict[str, Any]) -> dict[str, Any]:
        domain = self.domain_for(caller, require(params, "domainIdentifier"))
        project = project_of(domain, require(params, "projectIdentifier"))
        connections = [
            c
            for c in domain.connections.values()
            if c.project_id == project.id
            and params.get("environmentIdentifier") in (None, c.environment_id)
            and params.get("type") in (None, c.type)
            and params.get("name") in (None, c.name)
            and params.get("scope") in (None, "PROJECT")
        ]
        if params.get("sortBy") == "NAME":
            connections.sort(key=lambda c: c.name, reverse=params.get("sortOrder") == "DESCENDING")
        return {"items": [c.to_summary_dict() for c in connections]}

    def get_connection(self, caller: Caller, params: dict[str, Any]) -> dict[str, Any]:
        domain = self.domain_for(caller, require(params, "domainIdentifier"))
        identifier = require(params, "identifier")
        connection: Connection | None = domain.connections.get(identifier)
        if connection is None:
            raise not_found("Connection", identifier)
        result = connection.to_dict()
        if params.get("withSecret"):
            require_member(domain, project_of(domain, connection.project_id), caller)
            environment = environment_of(domain, connection.environment_id)
            result["connectionCredentials"] = self._credentials(environment)
        return result
