"""DataZone records of projects: projects, their environments, connections and subscription
targets (the operations, deployment and deletion are in projects.py and provisioning.py)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Protocol

from smus_mesh_emulator.datazone.common import (
    DomainScope,
    drop_none,
    new_id,
    now,
)
from smus_mesh_emulator.datazone.records.governance import (
    Blueprint,
    ProjectProfile,
)


class EnvironmentFailure(Exception):
    """Why an environment could not be created: `code` and `message` go to the
    environment's lastDeployment.failureReason and the project's failure reasons."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def to_dict(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message}


OWNER = "PROJECT_OWNER"

CONTRIBUTOR = "PROJECT_CONTRIBUTOR"

#: Who may change a project's environments.
BUILDERS = frozenset({OWNER, CONTRIBUTOR})

ENVIRONMENT_PROVIDER = "Amazon SageMaker"

SUBSCRIPTION_TARGET_TYPE = "GlueSubscriptionTargetType"

SUBSCRIPTION_TARGET_FORM = "GlueSubscriptionTargetConfigForm"

GLUE_TABLE_ASSET_TYPE = "GlueTableAssetType"

#: GetEnvironment.provisionedResources[].type of each provisioned key.
RESOURCE_TYPES = {
    "userRoleArn": "IAM_ROLE",
    "userRoleName": "IAM_ROLE_NAME",
    "workgroupName": "ATHENA_WORKGROUP",
    "codeRepositoryName": "CODECOMMIT_REPOSITORY",
    "s3BucketPath": "S3_PATH",
    "glueDBName": "GLUE_DATABASE",
    "redshiftNamespaceName": "REDSHIFT_SERVERLESS_NAMESPACE",
    "redshiftWorkgroupName": "REDSHIFT_SERVERLESS_WORKGROUP",
    "redshiftDbName": "REDSHIFT_DATABASE",
}


class ProjectScope(DomainScope, Protocol):
    """What a project, and what reads a project through its domain, sees of the domain."""

    @property
    def projects(self) -> dict[str, Project]: ...

    @property
    def environments(self) -> dict[str, Environment]: ...


class Project:
    """A DataZone project. `memberships` maps user profile id -> designation."""

    def __init__(
        self,
        domain: ProjectScope,
        name: str,
        created_by: str,
        params: dict[str, Any],
        profile: ProjectProfile | None = None,
    ) -> None:
        self.domain = domain
        self.id = new_id(14)
        self.domain_id = domain.id
        self.name = name
        self.description: str | None = params.get("description")
        self.project_profile_id = profile.id if profile else None
        self.status = "ACTIVE"
        self.created_by = created_by
        self.created_at: datetime = now()
        self.updated_at: datetime = self.created_at
        self.memberships: dict[str, str] = {created_by: OWNER}
        self.transition: Any = None
        self.failure_reasons: list[dict[str, str]] = []
        self.domain_unit_id = domain.root_domain_unit_id
        self.user_parameters: list[dict[str, Any]] = list(params.get("userParameters") or [])
        self.project_category: str | None = params.get("projectCategory")
        self.glossary_terms: list[str] | None = params.get("glossaryTerms")
        self.resource_tags: list[dict[str, str]] = [
            {"key": t["key"], "value": t["value"], "source": "PROJECT_PROFILE"}
            for t in ((profile.project_resource_tags or []) if profile else [])
        ] + [
            {"key": k, "value": v, "source": "PROJECT"}
            for k, v in (params.get("resourceTags") or {}).items()
        ]
        #: ON_CREATE configurations not deployed yet, in deploymentOrder.
        self.pending_configurations: list[dict[str, Any]] = []

    def deployment_details(self) -> dict[str, Any] | None:
        """environmentDeploymentDetails, from the project's ON_CREATE environments."""
        if self.project_profile_id is None:
            return None
        deployed = [
            e
            for e in self.domain.environments.values()
            if e.project_id == self.id and e.deployment_mode == "ON_CREATE"
        ]
        failures = {
            e.configuration_name: [e.failure.to_dict()]
            for e in deployed
            if e.failure is not None and e.status in ("VALIDATION_FAILED", "CREATE_FAILED")
        }
        statuses = {e.status for e in deployed}
        if "VALIDATION_FAILED" in statuses:
            overall = "FAILED_VALIDATION"
        elif "CREATE_FAILED" in statuses:
            overall = "FAILED_DEPLOYMENT"
        elif self.pending_configurations and not deployed:
            overall = "PENDING_DEPLOYMENT"
        elif self.pending_configurations or "CREATING" in statuses:
            overall = "IN_PROGRESS"
        else:
            overall = "SUCCESSFUL"
        details: dict[str, Any] = {"overallDeploymentStatus": overall}
        if failures:
            details["environmentFailureReasons"] = failures
        return details

    def to_summary_dict(self) -> dict[str, Any]:
        return drop_none(
            {
                "domainId": self.domain_id,
                "id": self.id,
                "name": self.name,
                "description": self.description,
                "projectStatus": self.status,
                "failureReasons": self.failure_reasons or None,
                "createdBy": self.created_by,
                "createdAt": self.created_at,
                "updatedAt": self.updated_at,
                "domainUnitId": self.domain_unit_id,
                "projectCategory": self.project_category,
            }
        )

    def to_dict(self) -> dict[str, Any]:
        return drop_none(
            {
                "domainId": self.domain_id,
                "id": self.id,
                "name": self.name,
                "description": self.description,
                "projectStatus": self.status,
                "failureReasons": self.failure_reasons or None,
                "createdBy": self.created_by,
                "createdAt": self.created_at,
                "lastUpdatedAt": self.updated_at,
                "resourceTags": self.resource_tags or None,
                "glossaryTerms": self.glossary_terms,
                "domainUnitId": self.domain_unit_id,
                "projectProfileId": self.project_profile_id,
                "userParameters": self.user_parameters or None,
                "environmentDeploymentDetails": self.deployment_details(),
                "projectCategory": self.project_category,
            }
        )


class Environment:
    """An environment of a project, deployed into `account_id`/`region` as a stack."""

    def __init__(
        self,
        domain: DomainScope,
        project: Project,
        name: str,
        blueprint: Blueprint,
        configuration: dict[str, Any],
        created_by: str,
        parameters: dict[str, str],
        parameter_list: list[dict[str, Any]],
        description: str | None = None,
    ) -> None:
        self.id = new_id(14)
        self.domain_id = domain.id
        self.project_id = project.id
        self.name = name
        self.description = description
        self.account_id: str = configuration["awsAccount"]["awsAccountId"]
        self.region: str = configuration["awsRegion"]["regionName"]
        self.blueprint_id = blueprint.id
        self.blueprint_name = blueprint.name
        self.template_url = blueprint.template_url
        self.configuration_id: str = configuration["id"]
        self.configuration_name: str = configuration["name"]
        self.deployment_mode: str = configuration.get("deploymentMode") or "ON_CREATE"
        self.created_by = created_by
        self.created_at: datetime = now()
        self.updated_at: datetime = self.created_at
        self.parameters = parameters
        self.parameter_list = parameter_list
        self.status = "CREATING"
        self.provisioned: dict[str, str] = {}
        self.stack_name: str | None = None
        self.transition: Any = None
        self.failure: EnvironmentFailure | None = None
        self.deployment: dict[str, Any] = {}

    def start_deployment(self, deployment_type: str) -> None:
        self.failure = None
        self.deployment = {
            "deploymentId": new_id(14),
            "deploymentType": deployment_type,
            "deploymentStatus": "IN_PROGRESS",
            "isDeploymentComplete": False,
        }

    def end_deployment(self, failure: EnvironmentFailure | None = None) -> None:
        self.failure = failure
        self.deployment["deploymentStatus"] = "FAILED" if failure else "SUCCESSFUL"
        self.deployment["isDeploymentComplete"] = True
        if failure:
            self.deployment["failureReason"] = failure.to_dict()

    def to_summary_dict(self) -> dict[str, Any]:
        return drop_none(
            {
                "projectId": self.project_id,
                "id": self.id,
                "domainId": self.domain_id,
                "createdBy": self.created_by,
                "createdAt": self.created_at,
                "updatedAt": self.updated_at,
                "name": self.name,
                "description": self.description,
                "awsAccountId": self.account_id,
                "awsAccountRegion": self.region,
                "provider": ENVIRONMENT_PROVIDER,
                "status": self.status,
                "environmentConfigurationId": self.configuration_id,
                "environmentConfigurationName": self.configuration_name,
            }
        )

    def to_dict(self) -> dict[str, Any]:
        result = self.to_summary_dict()
        result.update(
            drop_none(
                {
                    "provisionedResources": [
                        {
                            "provider": ENVIRONMENT_PROVIDER,
                            "name": name,
                            "value": value,
                            "type": RESOURCE_TYPES.get(name, "STRING"),
                        }
                        for name, value in self.provisioned.items()
                    ]
                    or None,
                    "userParameters": self.parameter_list or None,
                    "lastDeployment": self.deployment or None,
                    "provisioningProperties": {
                        "cloudFormation": {"templateUrl": self.template_url}
                    },
                    "environmentBlueprintId": self.blueprint_id,
                }
            )
        )
        return result


class Connection:
    """A project connection made by an environment (props: ConnectionPropertiesOutput)."""

    def __init__(
        self,
        domain: DomainScope,
        environment: Environment,
        name: str,
        connection_type: str,
        props: dict[str, Any],
        description: str,
    ) -> None:
        self.id = new_id(14)
        self.domain_id = domain.id
        self.domain_unit_id = domain.root_domain_unit_id
        self.project_id = environment.project_id
        self.environment_id = environment.id
        self.account_id = environment.account_id
        self.region = environment.region
        self.role_arn = environment.provisioned["userRoleArn"]
        self.name = name
        self.type = connection_type
        self.props = props
        self.description = description

    def to_summary_dict(self) -> dict[str, Any]:
        return {
            "connectionId": self.id,
            "domainId": self.domain_id,
            "domainUnitId": self.domain_unit_id,
            "environmentId": self.environment_id,
            "name": self.name,
            "physicalEndpoints": [
                {
                    "awsLocation": {
                        "accessRole": self.role_arn,
                        "awsAccountId": self.account_id,
                        "awsRegion": self.region,
                    }
                }
            ],
            "projectId": self.project_id,
            "props": self.props,
            "type": self.type,
            "scope": "PROJECT",
        }

    def to_dict(self) -> dict[str, Any]:
        result = self.to_summary_dict()
        result["description"] = self.description
        result["environmentUserRole"] = self.role_arn
        return result


class SubscriptionTarget:
    """Where subscribed Glue tables are granted for a project: its Lakehouse Database
    environment's Glue database (created with that environment)."""

    def __init__(
        self,
        domain: DomainScope,
        environment: Environment,
        manage_access_role: str | None,
    ) -> None:
        self.id = new_id(14)
        self.domain_id = domain.id
        self.project_id = environment.project_id
        self.environment_id = environment.id
        self.name = f"{environment.name} subscription target"
        self.type = SUBSCRIPTION_TARGET_TYPE
        self.applicable_asset_types = [GLUE_TABLE_ASSET_TYPE]
        self.authorized_principals = [environment.provisioned["userRoleArn"]]
        self.manage_access_role = manage_access_role
        self.provider = "Amazon DataZone"
        self.config = [
            {
                "formName": SUBSCRIPTION_TARGET_FORM,
                "content": json.dumps({"databaseName": environment.provisioned["glueDBName"]}),
            }
        ]
        self.created_by = environment.created_by
        self.created_at: datetime = now()

    def to_dict(self) -> dict[str, Any]:
        return drop_none(
            {
                "id": self.id,
                "authorizedPrincipals": self.authorized_principals,
                "domainId": self.domain_id,
                "projectId": self.project_id,
                "environmentId": self.environment_id,
                "name": self.name,
                "type": self.type,
                "createdBy": self.created_by,
                "createdAt": self.created_at,
                "manageAccessRole": self.manage_access_role,
                "applicableAssetTypes": self.applicable_asset_types,
                "subscriptionTargetConfig": self.config,
                "provider": self.provider,
                "subscriptionGrantCreationMode": "AUTOMATIC",
            }
        )
