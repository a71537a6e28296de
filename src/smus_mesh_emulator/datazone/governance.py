"""DataZone governance: managed blueprints, blueprint configurations, policy grants and
project profiles.

These are the objects an administrator sets up before any project exists, and
they decide where a project's environments may go (research/workflow.md phases
E and F):

* managed blueprints appear when a domain becomes AVAILABLE; they are the same
  objects (same ids) for the domain account and every associated account;
* a blueprint *configuration* belongs to (domain, account): each account enables
  a blueprint for itself, with its own roles and regional parameters, and only
  once the domain is shared with it through RAM and the share accepted;
* policy grants say who may create projects from which profiles (root domain
  unit) and which projects may create environments from an account's blueprint
  configuration (`"<account>:<blueprintId>"`);
* project profiles (domain account) pin each environment configuration to an
  account and region.

Roles named in a configuration are deliberately not checked here: AWS checks
them when it uses them, so a wrong role surfaces as a failed environment
(provisioning.py), which is where the tool must learn to report it.
"""

from __future__ import annotations

from typing import Any

from smus_mesh_emulator.datazone.common import (
    Caller,
    drop_none,
    new_id,
    not_found,
    require,
)
from smus_mesh_emulator.datazone.domains import DataZoneBase, Domain
from smus_mesh_emulator.datazone.exceptions import (
    AccessDeniedException,
    ConflictException,
    ServiceQuotaExceededException,
    ValidationException,
)
from smus_mesh_emulator.datazone.records.governance import (
    Blueprint,
    BlueprintConfiguration,
    PolicyGrant,
    ProjectProfile,
)

#: A managed blueprint's provider as DataZone reports it.
MANAGED_PROVIDER = "Amazon SageMaker"
V1_MANAGED_PROVIDER = "Amazon DataZone"

#: Quota: "20 grants per policy per domain unit" (research/workflow.md §4.3), applied to
#: every (entity, policy type) pair.
MAX_GRANTS_PER_POLICY = 20

TOOLING = "Tooling"
DATA_LAKE = "DataLake"
REDSHIFT_SERVERLESS = "RedshiftServerless"


def _param(
    key: str,
    field_type: str,
    description: str,
    default: str | None = None,
    editable: bool = True,
    optional: bool = True,
) -> dict[str, Any]:
    return drop_none(
        {
            "keyName": key,
            "fieldType": field_type,
            "description": description,
            "defaultValue": default,
            "isEditable": editable,
            "isOptional": optional,
            "isUpdateSupported": False,
        }
    )


#: The managed blueprints of a V2 (SageMaker Unified Studio) domain: name ->
#: (description, category, user parameters). Names as AWS samples use them
#: (research/workflow.md Phase E).
V2_BLUEPRINTS: dict[str, tuple[str, str | None, list[dict[str, Any]]]] = {
    TOOLING: (
        "Project role, Athena workgroup, code repository and shared S3 path of a project",
        "TOOLING",
        [
            _param("enableSpaces", "Boolean", "Create a SageMaker AI domain for spaces", "true"),
            _param("maxEbsVolumeSize", "Integer", "Largest EBS volume of a space in GiB", "100"),
            _param("idleTimeoutInMinutes", "Integer", "Idle time before a space stops", "60"),
            _param("lifecycleManagement", "String", "Space lifecycle management", "ENABLED"),
            _param(
                "enableAmazonBedrockPermissions",
                "Boolean",
                "Give the project role Amazon Bedrock permissions",
                "true",
            ),
            _param(
                "allowConnectionToUserGovernedEmrClusters",
                "Boolean",
                "Allow connections to user-governed EMR clusters",
                "false",
            ),
        ],
    ),
    DATA_LAKE: (
        "Lakehouse Database: a Glue database for the project, governed by Lake Formation",
        None,
        [
            _param(
                "glueDbName", "String", "Name of the project's Glue database (default glue_db_<id>)"
            )
        ],
    ),
    "LakehouseCatalog": ("Lakehouse catalogs for the project", None, []),
    REDSHIFT_SERVERLESS: (
        "Amazon Redshift Serverless namespace and workgroup for the project",
        None,
        [
            _param("redshiftDbName", "String", "Name of the Redshift database", "dev"),
            _param(
                "redshiftBaseCapacity",
                "Integer",
                "Base capacity of the workgroup in Redshift Processing Units",
                "128",
            ),
        ],
    ),
    "EmrServerless": ("Amazon EMR Serverless application for the project", None, []),
    "EmrOnEc2": ("Amazon EMR on EC2 cluster for the project", None, []),
    "Workflows": ("Amazon MWAA environment for the project's workflows", None, []),
    "MLExperiments": ("MLflow tracking server for the project", None, []),
    "QuickSight": ("Amazon QuickSight for the project", None, []),
    "PartnerApps": ("SageMaker partner AI apps for the project", None, []),
}

#: The managed blueprints of a V1 (classic DataZone) domain.
V1_BLUEPRINTS: dict[str, tuple[str, str | None, list[dict[str, Any]]]] = {
    "DefaultDataLake": (
        "Data lake environment: Glue databases and an Athena workgroup",
        None,
        [
            _param("producerGlueDbName", "String", "Glue database for published data"),
            _param("consumerGlueDbName", "String", "Glue database for subscribed data"),
            _param("workgroupName", "String", "Athena workgroup"),
        ],
    ),
    "DefaultDataWarehouse": (
        "Data warehouse environment on Amazon Redshift",
        None,
        [
            _param("dataShareName", "String", "Redshift datashare", optional=False),
            _param("connectionName", "String", "Redshift connection", optional=False),
        ],
    ),
}


def _environment_configurations(
    domain: Domain, params: dict[str, Any]
) -> list[dict[str, Any]] | None:
    """A create or update request's environment configurations, resolved (None: not given)."""
    configurations = params.get("environmentConfigurations")
    if configurations is None:
        return None
    return [_environment_configuration(domain, c) for c in configurations]


def _environment_configuration(domain: Domain, config: dict[str, Any]) -> dict[str, Any]:
    """Validate one profile environment configuration and give it an id, account and region."""
    blueprint = blueprint_of(domain, config.get("environmentBlueprintId") or "")
    overrides = (config.get("configurationParameters") or {}).get("parameterOverrides") or []
    for override in overrides:
        if blueprint.parameter(override.get("name") or "") is None:
            raise ValidationException(
                f"Environment configuration {config.get('name')}: {override.get('name')} is not "
                f"a parameter of blueprint {blueprint.name}"
            )
    account = config.get("awsAccount") or {}
    region = config.get("awsRegion") or {}
    if "awsAccountIdPath" in account or "regionNamePath" in region or config.get("accountPools"):
        # SSM parameter paths and account pools resolve accounts at project creation;
        # the workflow pins accounts directly, so the emulator does not model them.
        raise ValidationException(
            f"Environment configuration {config.get('name')}: awsAccountIdPath, regionNamePath "
            "and accountPools are not supported by the emulator; use awsAccount.awsAccountId "
            "and awsRegion.regionName"
        )
    resolved = dict(config)
    resolved["id"] = config.get("id") or new_id(14)
    resolved.setdefault("deploymentMode", "ON_CREATE")
    # Unpinned configurations deploy into the domain's own account and region.
    resolved["awsAccount"] = {"awsAccountId": account.get("awsAccountId") or domain.account_id}
    resolved["awsRegion"] = {"regionName": region.get("regionName") or domain.region}
    return resolved


def blueprint_configuration(
    domain: Domain, account_id: str, blueprint_id: str
) -> BlueprintConfiguration | None:
    """The configuration of a blueprint that one account made in a domain, if any.

    Examples:
        >>> blueprint_configuration(domain, "222222222222", tooling.id).enabled_regions
        ['us-east-1']
    """
    configuration: BlueprintConfiguration | None = domain.blueprint_configurations.get(
        (account_id, blueprint_id)
    )
    return configuration


def blueprint_named(domain: Domain, name: str) -> Blueprint | None:
    """The domain's managed blueprint called `name`, if any.

    Examples:
        >>> blueprint_named(domain, "Tooling").category
        'TOOLING'
    """
    return next((b for b in domain.blueprints.values() if b.name == name), None)


def blueprint_of(domain: Domain, blueprint_id: str) -> Blueprint:
    """Look up a blueprint (ResourceNotFoundException "Environment blueprint <id> not found")."""
    blueprint: Blueprint | None = domain.blueprints.get(blueprint_id)
    if blueprint is None:
        raise not_found("Environment blueprint", blueprint_id)
    return blueprint


def project_profile_of(domain: Domain, profile_id: str) -> ProjectProfile:
    """Look up a project profile (ResourceNotFoundException "Project profile <id> not found")."""
    profile: ProjectProfile | None = domain.project_profiles.get(profile_id)
    if profile is None:
        raise not_found("Project profile", profile_id)
    return profile


def install_managed_blueprints(domain: Domain) -> None:
    """Give a domain that just became AVAILABLE its managed blueprints."""
    catalogue = V2_BLUEPRINTS if domain.domain_version == "V2" else V1_BLUEPRINTS
    provider = MANAGED_PROVIDER if domain.domain_version == "V2" else V1_MANAGED_PROVIDER
    for name, (description, category, parameters) in catalogue.items():
        blueprint = Blueprint(domain, name, description, category, parameters, provider)
        domain.blueprints[blueprint.id] = blueprint


def grants_on(
    domain: Domain, entity_type: str, entity_identifier: str, policy_type: str
) -> list[PolicyGrant]:
    """The grants of one managed policy on one entity."""
    return [
        g
        for g in domain.policy_grants.values()
        if g.is_on(entity_type, entity_identifier, policy_type)
    ]


def principal_is_user(domain: Domain, principal: dict[str, Any], caller: Caller) -> bool:
    """Does a grant principal cover `caller` (a user acting for itself)?"""
    user = principal.get("user")
    if user is not None:
        if "allUsersGrantFilter" in user:
            return True
        profile = domain.user_profile_for(caller.arn, create=False)
        identifier = user.get("userIdentifier")
        return identifier == caller.arn or (profile is not None and identifier == profile.id)
    owners = principal.get("domainUnit")
    if owners is not None:
        # The domain's creator owns its root domain unit.
        return bool(owners.get("domainUnitDesignation") == "OWNER" and caller.arn == domain.creator)
    return False


def principal_is_project(domain: Domain, principal: dict[str, Any], project_id: str) -> bool:
    """Does a grant principal cover the project `project_id` (its contributors and owners)?"""
    project = principal.get("project")
    if project is None:
        return "allUsersGrantFilter" in (principal.get("user") or {})
    if project.get("projectIdentifier"):
        return bool(project["projectIdentifier"] == project_id)
    unit_filter = (project.get("projectGrantFilter") or {}).get("domainUnitFilter") or {}
    # Every project lives in the root domain unit (the emulator has no child units).
    return bool(unit_filter.get("domainUnit") == domain.root_domain_unit_id)


def may_create_project_from(domain: Domain, caller: Caller, profile_id: str) -> bool:
    """Is there a CREATE_PROJECT_FROM_PROJECT_PROFILE grant covering `caller` and the profile?"""
    for grant in grants_on(
        domain, "DOMAIN_UNIT", domain.root_domain_unit_id, "CREATE_PROJECT_FROM_PROJECT_PROFILE"
    ):
        detail = grant.detail.get("createProjectFromProjectProfile") or {}
        if profile_id in (detail.get("projectProfiles") or []) and principal_is_user(
            domain, grant.principal, caller
        ):
            return True
    return False


def may_create_environment_from(
    domain: Domain, account_id: str, blueprint_id: str, project_id: str
) -> bool:
    """Is there a CREATE_ENVIRONMENT_FROM_BLUEPRINT grant on the account's blueprint
    configuration that covers the project?"""
    return any(
        principal_is_project(domain, grant.principal, project_id)
        for grant in grants_on(
            domain,
            "ENVIRONMENT_BLUEPRINT_CONFIGURATION",
            f"{account_id}:{blueprint_id}",
            "CREATE_ENVIRONMENT_FROM_BLUEPRINT",
        )
    )


#: The PolicyGrantDetail union member each managed policy type takes.
DETAIL_FOR_POLICY = {
    "CREATE_DOMAIN_UNIT": "createDomainUnit",
    "OVERRIDE_DOMAIN_UNIT_OWNERS": "overrideDomainUnitOwners",
    "ADD_TO_PROJECT_MEMBER_POOL": "addToProjectMemberPool",
    "OVERRIDE_PROJECT_OWNERS": "overrideProjectOwners",
    "CREATE_GLOSSARY": "createGlossary",
    "CREATE_FORM_TYPE": "createFormType",
    "CREATE_ASSET_TYPE": "createAssetType",
    "CREATE_PROJECT": "createProject",
    "CREATE_ENVIRONMENT_PROFILE": "createEnvironmentProfile",
    "DELEGATE_CREATE_ENVIRONMENT_PROFILE": "delegateCreateEnvironmentProfile",
    "CREATE_ENVIRONMENT": "createEnvironment",
    "CREATE_ENVIRONMENT_FROM_BLUEPRINT": "createEnvironmentFromBlueprint",
    "CREATE_PROJECT_FROM_PROJECT_PROFILE": "createProjectFromProjectProfile",
    "USE_ASSET_TYPE": "useAssetType",
}


class GovernanceBackend(DataZoneBase):
    """Blueprints, blueprint configurations, policy grants and project profiles."""

    # blueprints ---------------------------------------------------------------------
    def list_environment_blueprints(self, caller: Caller, params: dict[str, Any]) -> dict[str, Any]:
        domain = self.domain_for(caller, require(params, "domainIdentifier"), associated=True)
        if params.get("managed") is False:
            return {"items": []}  # custom blueprints are not emulated: there are none
        name = params.get("name")
        items = [
            b.to_summary_dict()
            for b in domain.blueprints.values()
            if name is None or b.name == name
        ]
        return {"items": items}

    def get_environment_blueprint(self, caller: Caller, params: dict[str, Any]) -> dict[str, Any]:
        domain = self.domain_for(caller, require(params, "domainIdentifier"), associated=True)
        return blueprint_of(domain, require(params, "identifier")).to_dict()

    # blueprint configurations -------------------------------------------------------
    def put_environment_blueprint_configuration(
        self, caller: Caller, params: dict[str, Any]
    ) -> dict[str, Any]:
        domain = self.domain_for(caller, require(params, "domainIdentifier"), associated=True)
        blueprint = blueprint_of(domain, require(params, "environmentBlueprintIdentifier"))
        if not params.get("enabledRegions"):
            raise ValidationException(
                "Environment blueprint configuration needs to enable at least one region: "
                "enabledRegions must not be empty"
            )
        key = (caller.account, blueprint.id)
        configuration = domain.blueprint_configurations.get(key)
        if configuration is None:
            configuration = BlueprintConfiguration(domain.id, caller.account, blueprint.id)
            domain.blueprint_configurations[key] = configuration
        configuration.update(params)
        result: dict[str, Any] = configuration.to_dict()
        return result

    def get_environment_blueprint_configuration(
        self, caller: Caller, params: dict[str, Any]
    ) -> dict[str, Any]:
        domain = self.domain_for(caller, require(params, "domainIdentifier"), associated=True)
        blueprint_id = require(params, "environmentBlueprintIdentifier")
        configuration = blueprint_configuration(domain, caller.account, blueprint_id)
        if configuration is None:
            raise not_found(
                f"Environment blueprint configuration of account {caller.account} for blueprint",
                blueprint_id,
            )
        return configuration.to_dict()

    def list_environment_blueprint_configurations(
        self, caller: Caller, params: dict[str, Any]
    ) -> dict[str, Any]:
        domain = self.domain_for(caller, require(params, "domainIdentifier"), associated=True)
        items = [
            c.to_dict()
            for (account, _), c in domain.blueprint_configurations.items()
            if account == caller.account
        ]
        return {"items": items}

    def delete_environment_blueprint_configuration(
        self, caller: Caller, params: dict[str, Any]
    ) -> dict[str, Any]:
        domain = self.domain_for(caller, require(params, "domainIdentifier"), associated=True)
        blueprint_id = require(params, "environmentBlueprintIdentifier")
        # The model lists no ResourceNotFoundException here: deleting is idempotent.
        domain.blueprint_configurations.pop((caller.account, blueprint_id), None)
        return {}

    # policy grants --------------------------------------------------------------------
    def _grant_entity(self, caller: Caller, params: dict[str, Any]) -> tuple[Domain, str, str]:
        """Resolve and authorise the entity a grant operation targets."""
        entity_type = require(params, "entityType")
        entity_identifier = require(params, "entityIdentifier")
        if entity_type == "ENVIRONMENT_BLUEPRINT_CONFIGURATION":
            domain = self.domain_for(caller, require(params, "domainIdentifier"), associated=True)
            account, _, blueprint_id = entity_identifier.partition(":")
            if not blueprint_id:
                raise ValidationException(
                    f"entityIdentifier {entity_identifier} must be <accountId>:<blueprintId>"
                )
            if account != caller.account:
                raise AccessDeniedException(
                    f"User: {caller.arn} cannot manage grants on the blueprint configuration of "
                    f"account {account}: call from that account"
                )
            blueprint_of(domain, blueprint_id)
            return domain, entity_type, entity_identifier
        if entity_type == "DOMAIN_UNIT":
            domain = self.domain_for(caller, require(params, "domainIdentifier"))
            if entity_identifier != domain.root_domain_unit_id:
                raise not_found("Domain unit", entity_identifier)
            return domain, entity_type, entity_identifier
        raise ValidationException(
            f"Policy grants on {entity_type} are not supported by the emulator "
            "(supported: DOMAIN_UNIT, ENVIRONMENT_BLUEPRINT_CONFIGURATION)"
        )

    def add_policy_grant(self, caller: Caller, params: dict[str, Any]) -> dict[str, Any]:
        domain, entity_type, entity_identifier = self._grant_entity(caller, params)
        policy_type = require(params, "policyType")
        principal = require(params, "principal")
        detail = require(params, "detail")
        expected = DETAIL_FOR_POLICY.get(policy_type)
        if expected is None or expected not in detail:
            raise ValidationException(
                f"Policy type {policy_type} takes detail.{expected}; got {sorted(detail)}"
            )
        for profile_id in (detail.get("createProjectFromProjectProfile") or {}).get(
            "projectProfiles"
        ) or []:
            if profile_id not in domain.project_profiles:
                raise ValidationException(f"Project profile {profile_id} not found")
        existing = grants_on(domain, entity_type, entity_identifier, policy_type)
        for grant in existing:
            # Adding the same grant again returns it (AWS samples re-run their grants).
            if grant.principal == principal and grant.detail == detail:
                return {"grantId": grant.id}
        if len(existing) >= MAX_GRANTS_PER_POLICY:
            raise ServiceQuotaExceededException(
                f"Policy {policy_type} on {entity_type} {entity_identifier} already has "
                f"{MAX_GRANTS_PER_POLICY} grants, the maximum"
            )
        profile = domain.user_profile_for(caller.arn)
        assert profile is not None
        grant = PolicyGrant(
            entity_type, entity_identifier, policy_type, principal, detail, profile.id
        )
        domain.policy_grants[grant.id] = grant
        return {"grantId": grant.id}

    def list_policy_grants(self, caller: Caller, params: dict[str, Any]) -> dict[str, Any]:
        domain, entity_type, entity_identifier = self._grant_entity(caller, params)
        policy_type = require(params, "policyType")
        grants = grants_on(domain, entity_type, entity_identifier, policy_type)
        return {"grantList": [g.to_dict() for g in grants]}

    def remove_policy_grant(self, caller: Caller, params: dict[str, Any]) -> dict[str, Any]:
        domain, entity_type, entity_identifier = self._grant_entity(caller, params)
        policy_type = require(params, "policyType")
        principal = require(params, "principal")
        grant_id = params.get("grantIdentifier")
        for grant in grants_on(domain, entity_type, entity_identifier, policy_type):
            if grant.id == grant_id or (grant_id is None and grant.principal == principal):
                del domain.policy_grants[grant.id]
        # The model lists no ResourceNotFoundException: removing a missing grant succeeds.
        return {}

    # project profiles ---------------------------------------------------------------
    def create_project_profile(self, caller: Caller, params: dict[str, Any]) -> dict[str, Any]:
        domain = self.domain_for(caller, require(params, "domainIdentifier"))
        name = require(params, "name")
        if any(p.name == name for p in domain.project_profiles.values()):
            raise ConflictException(f"Project profile {name} already exists in domain {domain.id}")
        _check_domain_unit(domain, params.get("domainUnitIdentifier"))
        profile_owner = domain.user_profile_for(caller.arn)
        assert profile_owner is not None
        profile = ProjectProfile(
            domain, params, profile_owner.id, _environment_configurations(domain, params) or []
        )
        domain.project_profiles[profile.id] = profile
        return profile.to_dict()

    def get_project_profile(self, caller: Caller, params: dict[str, Any]) -> dict[str, Any]:
        domain = self.domain_for(caller, require(params, "domainIdentifier"))
        return project_profile_of(domain, require(params, "identifier")).to_dict()

    def list_project_profiles(self, caller: Caller, params: dict[str, Any]) -> dict[str, Any]:
        domain = self.domain_for(caller, require(params, "domainIdentifier"))
        name = params.get("name")
        profiles = [p for p in domain.project_profiles.values() if name in (None, p.name)]
        if params.get("sortBy") == "NAME":
            profiles.sort(key=lambda p: p.name, reverse=params.get("sortOrder") == "DESCENDING")
        return {"items": [p.to_summary_dict() for p in profiles]}

    def update_project_profile(self, caller: Caller, params: dict[str, Any]) -> dict[str, Any]:
        domain = self.domain_for(caller, require(params, "domainIdentifier"))
        profile = project_profile_of(domain, require(params, "identifier"))
        name = params.get("name")
        if name and any(
            p.name == name and p is not profile for p in domain.project_profiles.values()
        ):
            raise ConflictException(f"Project profile {name} already exists in domain {domain.id}")
        _check_domain_unit(domain, params.get("domainUnitIdentifier"))
        profile.update(params, _environment_configurations(domain, params))
        return profile.to_dict()

    def delete_project_profile(self, caller: Caller, params: dict[str, Any]) -> dict[str, Any]:
        domain = self.domain_for(caller, require(params, "domainIdentifier"))
        profile = project_profile_of(domain, require(params, "identifier"))
        users = sorted(
            p.name for p in domain.projects.values() if p.project_profile_id == profile.id
        )
        if users:  # a profile in use would leave its projects without a template
            raise ValidationException(
                f"Project profile {profile.id} is used by projects {', '.join(users)}; "
                "delete them first"
            )
        del domain.project_profiles[profile.id]
        return {}


def _check_domain_unit(domain: Domain, unit: str | None) -> None:
    if unit is not None and unit != domain.root_domain_unit_id:
        raise not_found("Domain unit", unit)
