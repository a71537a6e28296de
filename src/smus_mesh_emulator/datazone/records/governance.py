"""DataZone records of governance: managed blueprints, their per-account configurations,
policy grants and project profiles (the operations on them are in governance.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from smus_mesh_emulator.datazone.common import (
    DomainScope,
    drop_none,
    new_id,
    now,
)

#: Where the managed blueprints' CloudFormation templates would be; DataZone reports
#: an S3 URL here, and nothing reads it (the emulator builds stacks in provisioning.py).
TEMPLATE_URL = "https://datazone-blueprints-{region}.s3.{region}.amazonaws.com/{name}/template.json"


class Blueprint:
    """A managed environment blueprint of one domain."""

    def __init__(
        self,
        domain: DomainScope,
        name: str,
        description: str,
        category: str | None,
        user_parameters: list[dict[str, Any]],
        provider: str,
    ) -> None:
        self.id = new_id(14)
        self.domain_id = domain.id
        self.name = name
        self.description = description
        self.category = category
        self.user_parameters = user_parameters
        self.provider = provider
        self.template_url = TEMPLATE_URL.format(region=domain.region, name=name)
        self.created_at: datetime = now()
        self.updated_at: datetime = self.created_at

    def parameter(self, key: str) -> dict[str, Any] | None:
        return next((p for p in self.user_parameters if p["keyName"] == key), None)

    def to_summary_dict(self) -> dict[str, Any]:
        return drop_none(
            {
                "id": self.id,
                "name": self.name,
                "description": self.description,
                "provider": self.provider,
                "provisioningProperties": {"cloudFormation": {"templateUrl": self.template_url}},
                "createdAt": self.created_at,
                "updatedAt": self.updated_at,
                "blueprintCategory": self.category,
            }
        )

    def to_dict(self) -> dict[str, Any]:
        result = self.to_summary_dict()
        result["userParameters"] = self.user_parameters
        result["deploymentProperties"] = {"startTimeoutMinutes": 5, "endTimeoutMinutes": 60}
        return result


class BlueprintConfiguration:
    """One account's configuration of a blueprint in a domain (key (account, blueprint))."""

    def __init__(self, domain_id: str, account_id: str, blueprint_id: str) -> None:
        self.domain_id = domain_id
        self.account_id = account_id
        self.blueprint_id = blueprint_id
        self.enabled_regions: list[str] = []
        self.provisioning_role_arn: str | None = None
        self.manage_access_role_arn: str | None = None
        self.environment_role_permission_boundary: str | None = None
        self.regional_parameters: dict[str, dict[str, str]] = {}
        self.global_parameters: dict[str, str] = {}
        self.provisioning_configurations: list[dict[str, Any]] = []
        self.allow_user_provided_configurations: bool | None = None
        self.created_at: datetime = now()
        self.updated_at: datetime = self.created_at

    def update(self, params: dict[str, Any]) -> None:
        self.enabled_regions = list(params["enabledRegions"])
        self.provisioning_role_arn = params.get("provisioningRoleArn")
        self.manage_access_role_arn = params.get("manageAccessRoleArn")
        self.environment_role_permission_boundary = params.get("environmentRolePermissionBoundary")
        self.regional_parameters = dict(params.get("regionalParameters") or {})
        self.global_parameters = dict(params.get("globalParameters") or {})
        self.provisioning_configurations = list(params.get("provisioningConfigurations") or [])
        self.allow_user_provided_configurations = params.get("allowUserProvidedConfigurations")
        self.updated_at = now()

    def regional_parameter(self, region: str, name: str) -> str | None:
        return (self.regional_parameters.get(region) or {}).get(name)

    def to_dict(self) -> dict[str, Any]:
        return drop_none(
            {
                "domainId": self.domain_id,
                "environmentBlueprintId": self.blueprint_id,
                "provisioningRoleArn": self.provisioning_role_arn,
                "environmentRolePermissionBoundary": self.environment_role_permission_boundary,
                "manageAccessRoleArn": self.manage_access_role_arn,
                "enabledRegions": self.enabled_regions,
                "regionalParameters": self.regional_parameters,
                "allowUserProvidedConfigurations": self.allow_user_provided_configurations,
                "provisioningConfigurations": self.provisioning_configurations or None,
                "createdAt": self.created_at,
                "updatedAt": self.updated_at,
            }
        )


class PolicyGrant:
    """A managed policy grant on an entity (domain unit or blueprint configuration)."""

    def __init__(
        self,
        entity_type: str,
        entity_identifier: str,
        policy_type: str,
        principal: dict[str, Any],
        detail: dict[str, Any],
        created_by: str,
    ) -> None:
        # GrantIdentifier is exactly ten characters of [A-Za-z0-9+/].
        self.id = new_id(10)
        self.entity_type = entity_type
        self.entity_identifier = entity_identifier
        self.policy_type = policy_type
        self.principal = principal
        self.detail = detail
        self.created_by = created_by
        self.created_at: datetime = now()

    def is_on(self, entity_type: str, entity_identifier: str, policy_type: str) -> bool:
        return (self.entity_type, self.entity_identifier, self.policy_type) == (
            entity_type,
            entity_identifier,
            policy_type,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "principal": self.principal,
            "detail": self.detail,
            "createdAt": self.created_at,
            "createdBy": self.created_by,
            "grantId": self.id,
        }


class ProjectProfile:
    """A domain-level template of the environments a project gets, account by account."""

    def __init__(
        self,
        domain: DomainScope,
        params: dict[str, Any],
        created_by: str,
        environment_configurations: list[dict[str, Any]],
    ) -> None:
        self.id = new_id(14)
        self.domain_id = domain.id
        self.created_by = created_by
        self.created_at: datetime = now()
        self.updated_at: datetime = self.created_at
        self.domain_unit_id = params.get("domainUnitIdentifier") or domain.root_domain_unit_id
        self.name: str = params["name"]
        self.description: str | None = None
        self.status = "ENABLED"
        self.project_resource_tags: list[dict[str, Any]] | None = None
        self.allow_custom_project_resource_tags: bool | None = None
        self.project_resource_tags_description: str | None = None
        self.environment_configurations: list[dict[str, Any]] = []
        self.update(params, environment_configurations)

    def update(
        self, params: dict[str, Any], environment_configurations: list[dict[str, Any]] | None
    ) -> None:
        """Apply an update; `environment_configurations` are the request's, already resolved
        against the domain's blueprints (None: unchanged)."""
        for member, attribute in (
            ("name", "name"),
            ("description", "description"),
            ("status", "status"),
            ("projectResourceTags", "project_resource_tags"),
            ("allowCustomProjectResourceTags", "allow_custom_project_resource_tags"),
            ("projectResourceTagsDescription", "project_resource_tags_description"),
        ):
            if params.get(member) is not None:
                setattr(self, attribute, params[member])
        if environment_configurations is not None:
            self.environment_configurations = environment_configurations
        self.updated_at = now()

    def configuration(self, identifier: str) -> dict[str, Any] | None:
        """An environment configuration by id or name."""
        return next(
            (c for c in self.environment_configurations if identifier in (c["id"], c["name"])),
            None,
        )

    def to_summary_dict(self) -> dict[str, Any]:
        return drop_none(
            {
                "domainId": self.domain_id,
                "id": self.id,
                "name": self.name,
                "description": self.description,
                "status": self.status,
                "createdBy": self.created_by,
                "createdAt": self.created_at,
                "lastUpdatedAt": self.updated_at,
                "domainUnitId": self.domain_unit_id,
            }
        )

    def to_dict(self) -> dict[str, Any]:
        result = self.to_summary_dict()
        result.update(
            drop_none(
                {
                    "projectResourceTags": self.project_resource_tags,
                    "allowCustomProjectResourceTags": self.allow_custom_project_resource_tags,
                    "projectResourceTagsDescription": self.project_resource_tags_description,
                    "environmentConfigurations": self.environment_configurations,
                }
            )
        )
        return result
