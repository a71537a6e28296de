"""DataZone records of the catalog: data sources and their runs, assets and listings, and the
forms DataZone writes for an imported Glue table (the operations are in catalog.py)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from smus_mesh_emulator.datazone.common import (
    DomainScope,
    drop_none,
    new_id,
    now,
)
from smus_mesh_emulator.datazone.ledger import LfGrant, TableRef
from smus_mesh_emulator.datazone.records.projects import ProjectScope


def glue_table_form(table: TableRef, info: dict[str, Any]) -> dict[str, Any]:
    """The GlueTableForm DataZone writes for an imported table (its technical metadata)."""
    descriptor = info.get("StorageDescriptor") or {}

    def columns(items: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
        return [
            drop_none(
                {
                    "columnName": column["Name"],
                    "dataType": column.get("Type") or "string",
                    "description": column.get("Comment"),
                }
            )
            for column in items
        ]

    return _form(
        GLUE_TABLE_FORM,
        {
            "catalogId": table.account_id,
            "region": table.region,
            "databaseName": table.database,
            "tableName": table.name,
            "tableArn": table.arn,
            "tableDescription": info.get("Description") or "",
            "columns": columns(descriptor.get("Columns") or []),
            "partitionKeys": columns(info.get("PartitionKeys") or []),
            "sourceClassification": (info.get("Parameters") or {}).get("classification", ""),
            "sourceLocation": descriptor.get("Location") or "",
        },
    )


GLUE_TABLE_ASSET_TYPE = "amazon.datazone.GlueTableAssetType"

GLUE_TABLE_FORM = ("GlueTableForm", "amazon.datazone.GlueTableFormType")

DATA_SOURCE_REFERENCE_FORM = (
    "DataSourceReferenceForm",
    "amazon.datazone.DataSourceReferenceFormType",
)

FORM_TYPE_REVISION = "1"

#: ListingName is at most 64 characters in the model, asset names up to 256.
LISTING_NAME_MAX = 64

RUN_IN_PROGRESS = frozenset({"REQUESTED", "RUNNING"})


def _form(name_and_type: tuple[str, str], content: dict[str, Any]) -> dict[str, Any]:
    name, type_name = name_and_type
    return {
        "formName": name,
        "typeName": type_name,
        "typeRevision": FORM_TYPE_REVISION,
        "content": json.dumps(content, sort_keys=True),
    }


class DataSource:
    """A GLUE data source of a project, bound to the account whose catalog it reads."""

    def __init__(
        self,
        domain: DomainScope,
        project_id: str,
        params: dict[str, Any],
        table_account: str,
        environment_id: str | None,
        connection_id: str | None,
        created_by: str,
    ) -> None:
        self.id = new_id(14)
        self.domain_id = domain.id
        self.project_id = project_id
        self.created_by = created_by
        self.name: str = params["name"]
        self.description: str | None = params.get("description")
        self.type = "GLUE"
        self.account_id = table_account
        self.region = domain.region
        self.environment_id = environment_id
        self.connection_id = connection_id
        self.run_configuration: dict[str, Any] = {}
        self.enable_setting = "ENABLED"
        self.publish_on_import = False
        self.recommendation: dict[str, Any] | None = None
        self.asset_forms: list[dict[str, Any]] = []
        self.retain_permissions_on_revoke_failure: bool | None = None
        self.status = "CREATING"
        self.transition: Any = None
        self.created_at: datetime = now()
        self.updated_at: datetime = self.created_at
        self.last_run: DataSourceRun | None = None
        #: V2 only: the databases' self-grant status, and what the self-grant added.
        self.self_grant_details: list[dict[str, Any]] | None = None
        self.self_grants: list[LfGrant] = []
        self.update(params)

    def update(self, params: dict[str, Any]) -> None:
        for member, attribute in (
            ("description", "description"),
            ("enableSetting", "enable_setting"),
            ("publishOnImport", "publish_on_import"),
            ("recommendation", "recommendation"),
            ("retainPermissionsOnRevokeFailure", "retain_permissions_on_revoke_failure"),
        ):
            if params.get(member) is not None:
                setattr(self, attribute, params[member])
        if params.get("name"):
            self.name = params["name"]
        if params.get("assetFormsInput") is not None:
            self.asset_forms = [
                drop_none(
                    {
                        "formName": form["formName"],
                        "typeName": form.get("typeIdentifier"),
                        "typeRevision": form.get("typeRevision"),
                        "content": form.get("content"),
                    }
                )
                for form in params["assetFormsInput"]
            ]
        configuration = params.get("configuration")
        if configuration is not None:
            self.run_configuration = dict(configuration["glueRunConfiguration"])
        self.updated_at = now()

    @property
    def filters(self) -> list[dict[str, Any]]:
        return list(self.run_configuration.get("relationalFilterConfigurations") or [])

    @property
    def data_access_role(self) -> str | None:
        role: str | None = self.run_configuration.get("dataAccessRole")
        return role

    def configuration_dict(self) -> dict[str, Any]:
        glue = drop_none(
            {
                "accountId": self.account_id,
                "region": self.region,
                "dataAccessRole": self.data_access_role,
                "relationalFilterConfigurations": self.filters,
                "autoImportDataQualityResult": self.run_configuration.get(
                    "autoImportDataQualityResult"
                ),
                "catalogName": self.run_configuration.get("catalogName"),
            }
        )
        return {"glueRunConfiguration": glue}

    def _last_run_members(self) -> dict[str, Any]:
        run = self.last_run
        if run is None:
            return {}
        return drop_none(
            {
                "lastRunStatus": run.status,
                "lastRunAt": run.started_at or run.created_at,
                "lastRunErrorMessage": run.error_message,
                "lastRunAssetCount": run.asset_count if run.status not in RUN_IN_PROGRESS else None,
            }
        )

    def to_dict(self) -> dict[str, Any]:
        result = drop_none(
            {
                "id": self.id,
                "status": self.status,
                "type": self.type,
                "name": self.name,
                "description": self.description,
                "domainId": self.domain_id,
                "projectId": self.project_id,
                "environmentId": self.environment_id,
                "connectionId": self.connection_id,
                "configuration": self.configuration_dict(),
                "recommendation": self.recommendation,
                "enableSetting": self.enable_setting,
                "publishOnImport": self.publish_on_import,
                "assetFormsOutput": self.asset_forms,
                "createdAt": self.created_at,
                "updatedAt": self.updated_at,
                "retainPermissionsOnRevokeFailure": self.retain_permissions_on_revoke_failure,
                "selfGrantStatus": (
                    {"glueSelfGrantStatus": {"selfGrantStatusDetails": self.self_grant_details}}
                    if self.self_grant_details
                    else None
                ),
            }
        )
        result.update(self._last_run_members())
        return result

    def to_summary_dict(self) -> dict[str, Any]:
        result = drop_none(
            {
                "domainId": self.domain_id,
                "environmentId": self.environment_id,
                "connectionId": self.connection_id,
                "dataSourceId": self.id,
                "name": self.name,
                "type": self.type,
                "status": self.status,
                "enableSetting": self.enable_setting,
                "createdAt": self.created_at,
                "updatedAt": self.updated_at,
                "description": self.description,
            }
        )
        result.update(self._last_run_members())
        return result


class DataSourceRun:
    """One run of a data source; its activities appear when it finishes."""

    def __init__(self, source: DataSource) -> None:
        self.id = new_id(14)
        self.domain_id = source.domain_id
        self.data_source_id = source.id
        self.project_id = source.project_id
        self.type = "PRIORITIZED"
        self.status = "REQUESTED"
        self.transition: Any = None
        self.configuration_snapshot = json.dumps(source.configuration_dict(), sort_keys=True)
        self.created_at: datetime = now()
        self.updated_at: datetime = self.created_at
        self.started_at: datetime | None = None
        self.stopped_at: datetime | None = None
        self.statistics: dict[str, int] | None = None
        self.error_message: dict[str, str] | None = None
        self.activities: list[dict[str, Any]] = []

    @property
    def asset_count(self) -> int:
        stats = self.statistics or {}
        return stats.get("added", 0) + stats.get("updated", 0) + stats.get("unchanged", 0)

    def to_dict(self) -> dict[str, Any]:
        return drop_none(
            {
                "domainId": self.domain_id,
                "dataSourceId": self.data_source_id,
                "id": self.id,
                "projectId": self.project_id,
                "status": self.status,
                "type": self.type,
                "dataSourceConfigurationSnapshot": self.configuration_snapshot,
                "runStatisticsForAssets": self.statistics,
                "errorMessage": self.error_message,
                "createdAt": self.created_at,
                "updatedAt": self.updated_at,
                "startedAt": self.started_at,
                "stoppedAt": self.stopped_at,
            }
        )

    def to_summary_dict(self) -> dict[str, Any]:
        return drop_none(
            {
                "id": self.id,
                "dataSourceId": self.data_source_id,
                "type": self.type,
                "status": self.status,
                "projectId": self.project_id,
                "runStatisticsForAssets": self.statistics,
                "errorMessage": self.error_message,
                "createdAt": self.created_at,
                "updatedAt": self.updated_at,
                "startedAt": self.started_at,
                "stoppedAt": self.stopped_at,
            }
        )


class Asset:
    """A catalog asset: here always a Glue table imported by a data source."""

    def __init__(
        self,
        domain: DomainScope,
        project_id: str,
        table: TableRef,
        description: str | None,
        forms: list[dict[str, Any]],
        source: DataSource,
        run_id: str,
    ) -> None:
        self.id = new_id(14)
        self.domain_id = domain.id
        self.owning_project_id = project_id
        self.table = table
        self.name = table.name
        self.description = description
        self.type_identifier = GLUE_TABLE_ASSET_TYPE
        self.type_revision = FORM_TYPE_REVISION
        self.external_identifier = table.arn
        self.data_source_id = source.id
        self.revision = 1
        self.forms = forms
        self.run_id = run_id
        # DataZone records the data source's creator as the creator of what it imports.
        self.created_by = source.created_by
        self.created_at: datetime = now()
        self.updated_at: datetime = self.created_at
        self.first_revision_created_at = self.created_at
        self.listing_id: str | None = None

    def revise(self, description: str | None, forms: list[dict[str, Any]], run_id: str) -> None:
        self.description = description
        self.forms = forms
        self.run_id = run_id
        self.revision += 1
        self.updated_at = now()

    def read_only_forms(self) -> list[dict[str, Any]]:
        return [
            _form(
                DATA_SOURCE_REFERENCE_FORM,
                {
                    "dataSourceIdentifier": self.data_source_id,
                    "filterableDataSourceId": self.data_source_id,
                    "dataSourceRunId": self.run_id,
                },
            )
        ]

    def forms_json(self) -> str:
        """The asset's forms as a listing carries them: one JSON object by form name."""
        return json.dumps(
            {form["formName"]: json.loads(form.get("content") or "{}") for form in self.forms},
            sort_keys=True,
        )

    def to_dict(self, listing: Listing | None) -> dict[str, Any]:
        return drop_none(
            {
                "id": self.id,
                "name": self.name,
                "typeIdentifier": self.type_identifier,
                "typeRevision": self.type_revision,
                "externalIdentifier": self.external_identifier,
                "revision": str(self.revision),
                "description": self.description,
                "createdAt": self.updated_at,
                "createdBy": self.created_by,
                "firstRevisionCreatedAt": self.first_revision_created_at,
                "firstRevisionCreatedBy": self.created_by,
                "owningProjectId": self.owning_project_id,
                "domainId": self.domain_id,
                "listing": (
                    {"listingId": listing.id, "listingStatus": listing.status} if listing else None
                ),
                "formsOutput": self.forms,
                "readOnlyFormsOutput": self.read_only_forms(),
            }
        )

    def to_search_item(self, with_forms: bool) -> dict[str, Any]:
        item = drop_none(
            {
                "domainId": self.domain_id,
                "identifier": self.id,
                "name": self.name,
                "typeIdentifier": self.type_identifier,
                "typeRevision": self.type_revision,
                "externalIdentifier": self.external_identifier,
                "description": self.description,
                "createdAt": self.updated_at,
                "createdBy": self.created_by,
                "firstRevisionCreatedAt": self.first_revision_created_at,
                "firstRevisionCreatedBy": self.created_by,
                "owningProjectId": self.owning_project_id,
            }
        )
        if with_forms:
            item["additionalAttributes"] = {
                "formsOutput": self.forms,
                "readOnlyFormsOutput": self.read_only_forms(),
            }
        return {"assetItem": item}


class Listing:
    """The published record of an asset: one per asset, revised on every publish."""

    def __init__(self, domain: DomainScope, asset: Asset, created_by: str) -> None:
        self.id = new_id(14)
        self.domain_id = domain.id
        self.asset_id = asset.id
        self.owning_project_id = asset.owning_project_id
        self.revision = 0
        self.status = "CREATING"
        self.transition: Any = None
        self.created_by = created_by
        self.updated_by = created_by
        self.created_at: datetime = now()
        self.updated_at: datetime = self.created_at
        self.snapshot(asset, created_by)

    def snapshot(self, asset: Asset, by: str) -> None:
        """Take the asset's current revision as the listing's next revision."""
        self.revision += 1
        self.asset_revision = asset.revision
        self.name = asset.name[:LISTING_NAME_MAX]
        self.description = asset.description or ""
        self.asset_type = asset.type_identifier
        self.forms = asset.forms_json()
        self.technical_name = asset.table.qualified_name
        self.updated_by = by
        self.updated_at = now()

    def asset_listing(self) -> dict[str, Any]:
        return {
            "assetId": self.asset_id,
            "assetRevision": str(self.asset_revision),
            "assetType": self.asset_type,
            "createdAt": self.created_at,
            "forms": self.forms,
            "owningProjectId": self.owning_project_id,
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "domainId": self.domain_id,
            "id": self.id,
            "listingRevision": str(self.revision),
            "createdAt": self.created_at,
            "updatedAt": self.updated_at,
            "createdBy": self.created_by,
            "updatedBy": self.updated_by,
            "item": {"assetListing": self.asset_listing()},
            "name": self.name,
            "description": self.description,
            "status": self.status,
        }

    def to_search_item(self, with_forms: bool) -> dict[str, Any]:
        item: dict[str, Any] = {
            "listingId": self.id,
            "listingRevision": str(self.revision),
            "name": self.name,
            "entityId": self.asset_id,
            "entityRevision": str(self.asset_revision),
            "entityType": self.asset_type,
            "description": self.description,
            "createdAt": self.created_at,
            "listingCreatedBy": self.created_by,
            "listingUpdatedBy": self.updated_by,
            "owningProjectId": self.owning_project_id,
        }
        if with_forms:
            item["additionalAttributes"] = {"forms": self.forms}
        return {"assetListing": item}

    def subscribed_listing(self, domain: ProjectScope) -> dict[str, Any]:
        """The listing as subscription requests and subscriptions show it (a snapshot)."""
        owner = domain.projects.get(self.owning_project_id)
        return drop_none(
            {
                "id": self.id,
                "revision": str(self.revision),
                "name": self.name,
                "description": self.description,
                "item": {
                    "assetListing": {
                        "entityId": self.asset_id,
                        "entityRevision": str(self.asset_revision),
                        "entityType": self.asset_type,
                        "forms": self.forms,
                    }
                },
                "ownerProjectId": self.owning_project_id,
                "ownerProjectName": owner.name if owner is not None else None,
            }
        )
