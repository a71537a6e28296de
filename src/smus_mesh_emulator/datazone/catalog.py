# Over 800 lines: one DataZone area's operations and the helpers they share
# (its records are in records/).
"""DataZone emulation: data sources and their runs, assets, inventory search, listings.

This is the producer's half of the catalog (research/workflow.md phases I and J):

* a GLUE data source belongs to a project and reads the Glue catalog of one account:
  on a V2 domain the account of the environment behind the project's lakehouse
  connection (`connectionIdentifier`), on a V1 domain that of `environmentIdentifier`;
* a run imports every table its filters select as a `GlueTableAssetType` asset, but
  only when Lake Formation lets DataZone read it (fulfilment.missing_import_grants);
  otherwise the run's activity says SKIPPED_NO_ACCESS and names the missing grants,
  which is how a user learns that the Phase H grants were forgotten;
* publishing an asset creates (or revises) its one listing, CREATING then ACTIVE;
  only ACTIVE listings are found by SearchListings and can be subscribed to.

DataZone authorisation is separate from IAM: everything that belongs to a project (its
data sources, runs, assets, publishing) needs the caller to be a member of that project;
the published catalog (listings) is readable by every user of the domain.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from datetime import timedelta
from typing import Any

from smus_mesh_emulator.datazone import fulfilment
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
    ServiceQuotaExceededException,
    ValidationException,
)
from smus_mesh_emulator.datazone.ledger import TableRef
from smus_mesh_emulator.datazone.projects import (
    ProjectsBackend,
    project_of,
    project_role_arn,
    require_member,
)
from smus_mesh_emulator.datazone.records.catalog import (
    RUN_IN_PROGRESS,
    Asset,
    DataSource,
    DataSourceRun,
    Listing,
    glue_table_form,
)
from smus_mesh_emulator.datazone.records.projects import Project
from smus_mesh_emulator.progress import Stage
from smus_mesh_emulator.runtime import RUNTIME

#: Connection types a V2 Glue data source can read through. The model's ConnectionType has
#: no LAKEHOUSE or GLUE value: the Tooling environment's "project.default_lakehouse"
#: connection (the Glue Data Catalog through the project role) is an IAM connection.
LAKEHOUSE_CONNECTION_TYPES = frozenset({"IAM"})

#: DataZone quota: 25 data source runs per data source per day (research/workflow.md §4.3).
RUNS_PER_DAY = 25


def profile_id(domain: Domain, caller: Caller) -> str:
    """The caller's DataZone user profile id (created on first use, as DataZone does)."""
    profile = domain.user_profile_for(caller.arn)
    assert profile is not None
    return str(profile.id)


def is_member(domain: Domain, project_id: str, caller: Caller) -> bool:
    """Whether the caller is a member of the project (False if it does not exist)."""
    project = domain.projects.get(project_id)
    if project is None:
        return False
    try:
        require_member(domain, project, caller)
    except AccessDeniedException:
        return False
    return True


def member_project(domain: Domain, project_id: str, caller: Caller) -> Project:
    """The project, after checking that the caller is one of its members."""
    project = project_of(domain, project_id)
    require_member(domain, project, caller)
    return project


# --- objects ---------------------------------------------------------------------------------


# --- lookups ---------------------------------------------------------------------------------


def reader_role(domain: Domain, source: DataSource) -> str | None:
    """The role DataZone reads the catalog with for `source`: its data access role, else
    the account's manage-access role."""
    return source.data_access_role or fulfilment.manage_access_role(domain, source.account_id)


def data_source_of(domain: Domain, identifier: str) -> DataSource:
    source: DataSource | None = domain.data_sources.get(identifier)
    if source is None:
        raise not_found("Data source", identifier)
    return source


def run_of(domain: Domain, identifier: str) -> DataSourceRun:
    run: DataSourceRun | None = domain.data_source_runs.get(identifier)
    if run is None:
        raise not_found("Data source run", identifier)
    return run


def asset_of(domain: Domain, identifier: str) -> Asset:
    asset: Asset | None = domain.assets.get(identifier)
    if asset is None:
        raise not_found("Asset", identifier)
    return asset


def listing_of(domain: Domain, identifier: str) -> Listing:
    listing: Listing | None = domain.listings.get(identifier)
    if listing is None:
        raise not_found("Listing", identifier)
    return listing


def listing_for_asset(domain: Domain, asset: Asset) -> Listing | None:
    listing: Listing | None = domain.listings.get(asset.listing_id or "")
    return listing


def refuse_if_subscribed(domain: Domain, listing: Listing) -> None:
    """ConflictException while APPROVED subscriptions to the listing exist: deleting it
    would leave granted access that no listing accounts for."""
    approved = [
        s.id
        for s in domain.subscriptions.values()
        if s.listing_id == listing.id and s.status == "APPROVED"
    ]
    if approved:
        raise ConflictException(
            f"Listing {listing.id} has approved subscriptions ({', '.join(approved)}); revoke "
            "them first"
        )


# --- filters ---------------------------------------------------------------------------------


def _wildcard(expression: str) -> re.Pattern[str]:
    """A relational filter expression: `*` matches any run of characters; names are
    compared case-insensitively (Glue lowercases names)."""
    return re.compile(
        "^" + ".*".join(re.escape(part) for part in expression.split("*")) + "$", re.IGNORECASE
    )


def table_selected(name: str, expressions: list[dict[str, Any]]) -> bool:
    """A table is imported when it matches an INCLUDE expression (or there is none) and no
    EXCLUDE expression."""
    includes = [e["expression"] for e in expressions if e.get("type") == "INCLUDE"]
    excludes = [e["expression"] for e in expressions if e.get("type") == "EXCLUDE"]
    if includes and not any(_wildcard(e).match(name) for e in includes):
        return False
    return not any(_wildcard(e).match(name) for e in excludes)


def text_matches(search_text: str | None, fields: Iterable[str | None]) -> bool:
    """Every word of the search text occurs, case-insensitively, in one of the fields."""
    if not search_text:
        return True
    haystack = " ".join(f for f in fields if f).lower()
    return all(word in haystack for word in search_text.lower().split())


def clause_matches(clause: dict[str, Any], attributes: dict[str, str | None]) -> bool:
    """Evaluate a search FilterClause (`filter` / `and` / `or`) against a document.

    Only the attributes the emulator indexes may be filtered on; any other is rejected,
    not silently unmatched, so a tool never mistakes an emulator gap for "no results".
    """
    if "and" in clause:
        return all(clause_matches(c, attributes) for c in clause["and"])
    if "or" in clause:
        return any(clause_matches(c, attributes) for c in clause["or"])
    condition = clause.get("filter")
    if not condition:
        raise ValidationException("A filter clause must have one of filter, and, or")
    attribute = condition["attribute"]
    if attribute not in attributes:
        raise ValidationException(
            f"Filter attribute {attribute} is not supported by the emulator; supported: "
            + ", ".join(sorted(attributes))
        )
    operator = condition.get("operator") or "EQ"
    value = condition.get("value")
    if not isinstance(value, str):
        raise ValidationException(f"Filter on {attribute} needs a string value")
    actual = attributes[attribute] or ""
    if operator == "EQ":
        return actual == value
    if operator == "TEXT_SEARCH":
        return value.lower() in actual.lower()
    raise ValidationException(
        f"Filter operator {operator} is not supported by the emulator on {attribute}"
    )


SEARCH_IN_ATTRIBUTES = frozenset({"name", "description", "technicalName"})


def searched_fields(
    params: dict[str, Any], name: str, description: str | None, technical_name: str
) -> list[str | None]:
    fields = {"name": name, "description": description, "technicalName": technical_name}
    wanted = [item["attribute"] for item in params.get("searchIn") or []]
    for attribute in wanted:
        if attribute not in SEARCH_IN_ATTRIBUTES:
            raise ValidationException(
                f"searchIn attribute {attribute} is not supported by the emulator; supported: "
                + ", ".join(sorted(SEARCH_IN_ATTRIBUTES))
            )
    return [fields[a] for a in (wanted or list(fields))]


def sort_key(params: dict[str, Any]) -> tuple[Callable[[Any], Any], bool] | None:
    """(key, reverse) for a SearchSort on name / createdAt / updatedAt, or None."""
    sort = params.get("sort")
    if not sort:
        return None
    keys: dict[str, Callable[[Any], Any]] = {
        "name": lambda o: o.name.lower(),
        "createdAt": lambda o: o.created_at,
        "updatedAt": lambda o: o.updated_at,
    }
    attribute = sort["attribute"]
    if attribute not in keys:
        raise ValidationException(
            f"Sort attribute {attribute} is not supported by the emulator; supported: "
            + ", ".join(sorted(keys))
        )
    return keys[attribute], sort.get("order") == "DESCENDING"


def _error(error_type: str, detail: str) -> dict[str, str]:
    return {"errorType": error_type, "errorDetail": detail}


# --- the mixin -------------------------------------------------------------------------------


class CatalogBackend(ProjectsBackend):
    """Data sources and runs, assets, search, listings."""

    # data sources -----------------------------------------------------------------------
    def _binding(
        self, domain: Domain, project: Project, params: dict[str, Any]
    ) -> tuple[str, str | None, str | None]:
        """(account whose catalog is read, environment id, connection id)."""
        connection_id = params.get("connectionIdentifier")
        environment_id = params.get("environmentIdentifier")
        if domain.domain_version == "V2" and not connection_id:
            # research/workflow.md §7.3 leaves open whether V2 rejects environmentIdentifier;
            # the model documents connectionIdentifier for V2 and MDAA notes "Need to pass
            # glue connection id for SMUS projects", so a V2 domain requires it.
            raise ValidationException(
                "connectionIdentifier is required to create a data source in a V2 domain "
                "(the project's lakehouse connection); environmentIdentifier alone is only "
                "valid in V1 domains"
            )
        if connection_id:
            connection = domain.connections.get(connection_id)
            if connection is None:
                raise not_found("Connection", connection_id)
            if connection.project_id != project.id:
                raise ValidationException(
                    f"Connection {connection_id} does not belong to project {project.id}"
                )
            if connection.type not in LAKEHOUSE_CONNECTION_TYPES:
                raise ValidationException(
                    f"Connection {connection_id} is of type {connection.type}; a GLUE data "
                    f"source needs a {' or '.join(sorted(LAKEHOUSE_CONNECTION_TYPES))} connection"
                )
            if environment_id and environment_id != connection.environment_id:
                raise ValidationException(
                    f"Environment {environment_id} is not the environment of connection "
                    f"{connection_id}"
                )
            environment_id = connection.environment_id
        environment = domain.environments.get(environment_id or "")
        if environment is None:
            if not environment_id:
                raise ValidationException(
                    "environmentIdentifier or connectionIdentifier is required"
                )
            raise not_found("Environment", environment_id)
        if environment.project_id != project.id:
            raise ValidationException(
                f"Environment {environment.id} does not belong to project {project.id}"
            )
        if environment.status != "ACTIVE":
            raise ConflictException(
                f"Environment {environment.id} is {environment.status}, not ACTIVE"
            )
        return str(environment.account_id), str(environment.id), connection_id

    def create_data_source(self, caller: Caller, params: dict[str, Any]) -> dict[str, Any]:
        domain = self.domain_for(caller, require(params, "domainIdentifier"))
        project = member_project(domain, require(params, "projectIdentifier"), caller)
        name = require(params, "name")
        source_type = str(require(params, "type"))
        if source_type.upper() != "GLUE":
            raise ValidationException(
                f"Data source type {source_type} is not supported by the emulator (GLUE only)"
            )
        if params.get("schedule"):
            raise ValidationException(
                "Scheduled data source runs are not supported by the emulator; omit schedule "
                "and call StartDataSourceRun"
            )
        glue_configuration = (params.get("configuration") or {}).get("glueRunConfiguration")
        if not glue_configuration:
            raise ValidationException(
                "configuration.glueRunConfiguration is required for a GLUE data source"
            )
        account, environment_id, connection_id = self._binding(domain, project, params)
        if any(s.project_id == project.id and s.name == name for s in domain.data_sources.values()):
            raise ConflictException(f"A data source named {name} already exists in the project")
        source = DataSource(
            domain,
            project.id,
            params,
            account,
            environment_id,
            connection_id,
            profile_id(domain, caller),
        )
        if domain.domain_version == "V2":
            source.self_grant_details = [
                {"databaseName": f["databaseName"], "status": "GRANT_PENDING"}
                for f in source.filters
            ]
        domain.data_sources[source.id] = source

        def ready() -> None:
            self._self_grant(domain, source)

        start_transition(source, [("CREATING", "data_source.create")], "READY", ready)
        return source.to_dict()

    def _self_grant(self, domain: Domain, source: DataSource) -> None:
        """V2: give the project role DESCRIBE on each database the data source reads, through
        the reader (manage-access) role, as SageMaker Unified Studio's self-grant does, so
        the project can see what it imports. Retried at each run until GRANTED."""
        if source.self_grant_details is None:
            return
        role = project_role_arn(domain, source.project_id)
        reader = reader_role(domain, source)
        details = []
        for previous in source.self_grant_details:
            database = previous["databaseName"]
            if previous["status"] == "GRANTED":
                details.append(previous)
                continue
            status, cause = fulfilment.grant_database_access(
                source.account_id, source.region, database, role, reader, source.self_grants
            )
            details.append(
                drop_none({"databaseName": database, "status": status, "failureCause": cause})
            )
        source.self_grant_details = details

    def get_data_source(self, caller: Caller, params: dict[str, Any]) -> dict[str, Any]:
        domain = self.domain_for(caller, require(params, "domainIdentifier"))
        source = data_source_of(domain, require(params, "identifier"))
        member_project(domain, source.project_id, caller)
        mark_read(source)
        return source.to_dict()

    def list_data_sources(self, caller: Caller, params: dict[str, Any]) -> dict[str, Any]:
        domain = self.domain_for(caller, require(params, "domainIdentifier"))
        project = member_project(domain, require(params, "projectIdentifier"), caller)
        wanted = {
            "environment_id": params.get("environmentIdentifier"),
            "connection_id": params.get("connectionIdentifier"),
            "status": params.get("status"),
            "name": params.get("name"),
        }
        sources = [
            s
            for s in domain.data_sources.values()
            if s.project_id == project.id
            and all(v is None or getattr(s, k) == v for k, v in wanted.items())
            and (params.get("type") is None or params["type"].upper() == s.type)
        ]
        mark_read(*sources)
        return {"items": [s.to_summary_dict() for s in sources]}

    def update_data_source(self, caller: Caller, params: dict[str, Any]) -> dict[str, Any]:
        domain = self.domain_for(caller, require(params, "domainIdentifier"))
        source = data_source_of(domain, require(params, "identifier"))
        member_project(domain, source.project_id, caller)
        if source.status != "READY":
            raise ConflictException(
                f"Data source {source.id} is {source.status}; it can be updated only when READY"
            )
        if params.get("schedule"):
            raise ValidationException(
                "Scheduled data source runs are not supported by the emulator; omit schedule"
            )
        configuration = params.get("configuration")
        if configuration is not None and not configuration.get("glueRunConfiguration"):
            raise ValidationException("configuration.glueRunConfiguration is required")
        name = params.get("name")
        if name and any(
            s.project_id == source.project_id and s.name == name and s is not source
            for s in domain.data_sources.values()
        ):
            raise ConflictException(f"A data source named {name} already exists in the project")
        source.update(params)
        if configuration is not None and source.self_grant_details is not None:
            granted = {
                d["databaseName"] for d in source.self_grant_details if d["status"] == "GRANTED"
            }
            source.self_grant_details = [
                {
                    "databaseName": f["databaseName"],
                    "status": "GRANTED" if f["databaseName"] in granted else "GRANT_PENDING",
                }
                for f in source.filters
            ]
            self._self_grant(domain, source)
        return source.to_dict()

    def delete_data_source(self, caller: Caller, params: dict[str, Any]) -> dict[str, Any]:
        domain = self.domain_for(caller, require(params, "domainIdentifier"))
        source = data_source_of(domain, require(params, "identifier"))
        member_project(domain, source.project_id, caller)
        if source.last_run is not None and source.last_run.status in RUN_IN_PROGRESS:
            raise ConflictException(
                f"Data source {source.id} has a run in progress ({source.last_run.id}); "
                "wait for it to finish before deleting the data source"
            )
        if source.status == "DELETING":
            return source.to_dict()
        if params.get("retainPermissionsOnRevokeFailure") is not None:
            source.retain_permissions_on_revoke_failure = params["retainPermissionsOnRevokeFailure"]

        def deleted() -> None:
            self._drop_data_source(domain, source)

        # The data source disappears when DELETING ends (GetDataSource then 404s); the final
        # status is never read.
        start_transition(source, [("DELETING", "data_source.delete")], "DELETING", deleted)
        return source.to_dict()

    def _drop_data_source(self, domain: Domain, source: DataSource) -> None:
        """Remove a data source, its runs and what its self-grant added (assets stay)."""
        RUNTIME.scheduler.cancel(source.transition)
        fulfilment.revoke_grants(source.self_grants)
        for run in [r for r in domain.data_source_runs.values() if r.data_source_id == source.id]:
            RUNTIME.scheduler.cancel(run.transition)
            domain.data_source_runs.pop(run.id, None)
        domain.data_sources.pop(source.id, None)

    # runs -------------------------------------------------------------------------------------
    def start_data_source_run(self, caller: Caller, params: dict[str, Any]) -> dict[str, Any]:
        domain = self.domain_for(caller, require(params, "domainIdentifier"))
        source = data_source_of(domain, require(params, "dataSourceIdentifier"))
        member_project(domain, source.project_id, caller)
        if source.last_run is not None and source.last_run.status in RUN_IN_PROGRESS:
            raise ConflictException(
                f"Data source {source.id} already has a run in progress ({source.last_run.id})"
            )
        if source.status != "READY":
            raise ConflictException(
                f"Data source {source.id} is {source.status}; a run can start only when it is READY"
            )
        if source.enable_setting == "DISABLED":
            raise ValidationException(f"Data source {source.id} is disabled")
        day_ago = now() - timedelta(days=1)
        recent = [
            r
            for r in domain.data_source_runs.values()
            if r.data_source_id == source.id and r.created_at > day_ago
        ]
        if len(recent) >= RUNS_PER_DAY:
            raise ServiceQuotaExceededException(
                f"Data source {source.id} has reached the quota of {RUNS_PER_DAY} runs per day"
            )
        run = DataSourceRun(source)
        domain.data_source_runs[run.id] = run
        source.last_run = run
        source.status = "RUNNING"

        def stage(status: str) -> None:
            run.status = status
            run.updated_at = now()
            if status == "RUNNING" and run.started_at is None:
                run.started_at = run.updated_at

        def finished() -> None:
            self._import(domain, source, run)

        # The final status is decided by the import (SUCCESS, PARTIALLY_SUCCEEDED or FAILED):
        # `finished` overwrites it in the same tick, before any client can read it.
        run.transition = RUNTIME.scheduler.start(
            [Stage("REQUESTED"), Stage("RUNNING", "data_source_run.run")],
            "SUCCESS",
            stage,
            finished,
            label=f"DataSourceRun:{run.id}",
        )
        return run.to_dict()

    def _import(self, domain: Domain, source: DataSource, run: DataSourceRun) -> None:
        """The end of a run: import the selected tables, record activities and statistics."""
        self._self_grant(domain, source)
        project_role = project_role_arn(domain, source.project_id)
        reader = reader_role(domain, source)
        glue = fulfilment.glue_backend(source.account_id, source.region)
        missing_databases: list[str] = []
        for configuration in source.filters:
            database_name = configuration["databaseName"]
            database = glue.databases.get(database_name)
            if database is None:
                missing_databases.append(database_name)
                continue
            for table in list(database.tables.values()):
                if not table_selected(table.name, configuration.get("filterExpressions") or []):
                    continue
                info = table.as_dict()
                if info.get("TargetTable"):
                    # Resource links cannot be assets (research/workflow.md §4.6): not imported.
                    continue
                reference = TableRef(source.account_id, source.region, database_name, table.name)
                run.activities.append(
                    self._import_table(domain, source, run, reference, info, project_role, reader)
                )
        self._finish_run(source, run, missing_databases)

    def _import_table(
        self,
        domain: Domain,
        source: DataSource,
        run: DataSourceRun,
        table: TableRef,
        info: dict[str, Any],
        project_role: str | None,
        reader: str | None,
    ) -> dict[str, Any]:
        description = info.get("Description") or None
        activity: dict[str, Any] = drop_none(
            {
                "database": table.database,
                "dataSourceRunId": run.id,
                "technicalName": table.name,
                "projectId": source.project_id,
                "technicalDescription": description,
                "createdAt": now(),
                "updatedAt": now(),
            }
        )
        missing = fulfilment.missing_import_grants(table, project_role, reader)
        if missing:
            activity["dataAssetStatus"] = "SKIPPED_NO_ACCESS"
            activity["errorMessage"] = _error(
                "ACCESS_DENIED_EXCEPTION",
                "Lake Formation does not allow DataZone to read the table: " + "; ".join(missing),
            )
            return activity
        forms = [glue_table_form(table, info), *source.asset_forms]
        existing = next(
            (
                a
                for a in domain.assets.values()
                if a.owning_project_id == source.project_id and a.external_identifier == table.arn
            ),
            None,
        )
        if existing is not None and existing.data_source_id != source.id:
            activity["dataAssetStatus"] = "SKIPPED_ALREADY_IMPORTED"
            activity["dataAssetId"] = existing.id
            return activity
        if existing is None:
            asset = Asset(domain, source.project_id, table, description, forms, source, run.id)
            domain.assets[asset.id] = asset
            activity["dataAssetStatus"] = "SUCCEEDED_CREATED"
        elif existing.forms != forms or existing.description != description:
            asset = existing
            asset.revise(description, forms, run.id)
            activity["dataAssetStatus"] = "SUCCEEDED_UPDATED"
        else:
            activity["dataAssetStatus"] = "UNCHANGED"
            activity["dataAssetId"] = existing.id
            return activity
        activity["dataAssetId"] = asset.id
        if source.publish_on_import:
            self._publish(domain, asset, asset.created_by)
        return activity

    @staticmethod
    def _finish_run(source: DataSource, run: DataSourceRun, missing_databases: list[str]) -> None:
        """Statistics and the run's outcome.

        Outcome (DataZone documents the statuses, not the rule): FAILED when nothing could
        be imported because databases are missing or every selected table was skipped for
        lack of access; PARTIALLY_SUCCEEDED when some tables were imported and others not
        (or a database is missing); SUCCESS otherwise, including when no table matched.
        """
        counts = {"added": 0, "updated": 0, "unchanged": 0, "skipped": 0, "failed": 0}
        bucket = {
            "SUCCEEDED_CREATED": "added",
            "SUCCEEDED_UPDATED": "updated",
            "UNCHANGED": "unchanged",
            "SKIPPED_ALREADY_IMPORTED": "skipped",
            "SKIPPED_ARCHIVED": "skipped",
            "SKIPPED_NO_ACCESS": "skipped",
            "FAILED": "failed",
            "PUBLISHING_FAILED": "failed",
        }
        for activity in run.activities:
            counts[bucket[activity["dataAssetStatus"]]] += 1
        denied = [a for a in run.activities if a["dataAssetStatus"] == "SKIPPED_NO_ACCESS"]
        imported = len(run.activities) - len(denied) - counts["failed"]
        problems: list[dict[str, str]] = []
        if missing_databases:
            problems.append(
                _error(
                    "RESOURCE_NOT_FOUND_EXCEPTION",
                    f"Database(s) {', '.join(missing_databases)} not found in account "
                    f"{source.account_id}",
                )
            )
        if denied:
            problems.append(
                _error(
                    "ACCESS_DENIED_EXCEPTION",
                    f"{len(denied)} table(s) skipped: Lake Formation does not allow DataZone to "
                    "read them (see the run activities)",
                )
            )
        if problems and imported == 0:
            run.status = "FAILED"
        elif problems or counts["failed"]:
            run.status = "PARTIALLY_SUCCEEDED"
        else:
            run.status = "SUCCESS"
        run.error_message = (
            {
                "errorType": problems[0]["errorType"],
                "errorDetail": "; ".join(p["errorDetail"] for p in problems),
            }
            if problems
            else None
        )
        run.statistics = counts
        run.stopped_at = now()
        run.updated_at = run.stopped_at
        if source.status == "RUNNING":
            source.status = "READY"
            source.updated_at = run.stopped_at

    def get_data_source_run(self, caller: Caller, params: dict[str, Any]) -> dict[str, Any]:
        domain = self.domain_for(caller, require(params, "domainIdentifier"))
        run = run_of(domain, require(params, "identifier"))
        member_project(domain, run.project_id, caller)
        mark_read(run)
        return run.to_dict()

    def list_data_source_runs(self, caller: Caller, params: dict[str, Any]) -> dict[str, Any]:
        domain = self.domain_for(caller, require(params, "domainIdentifier"))
        source = data_source_of(domain, require(params, "dataSourceIdentifier"))
        member_project(domain, source.project_id, caller)
        status = params.get("status")
        runs = [
            r
            for r in domain.data_source_runs.values()
            if r.data_source_id == source.id and status in (None, r.status)
        ]
        runs.sort(key=lambda r: r.created_at, reverse=True)
        mark_read(*runs)
        return {"items": [r.to_summary_dict() for r in runs]}

    def list_data_source_run_activities(
        self, caller: Caller, params: dict[str, Any]
    ) -> dict[str, Any]:
        domain = self.domain_for(caller, require(params, "domainIdentifier"))
        run = run_of(domain, require(params, "identifier"))
        member_project(domain, run.project_id, caller)
        status = params.get("status")
        return {"items": [a for a in run.activities if status in (None, a["dataAssetStatus"])]}

    # assets -----------------------------------------------------------------------------------
    def get_asset(self, caller: Caller, params: dict[str, Any]) -> dict[str, Any]:
        domain = self.domain_for(caller, require(params, "domainIdentifier"))
        asset = asset_of(domain, require(params, "identifier"))
        member_project(domain, asset.owning_project_id, caller)
        revision = params.get("revision")
        if revision is not None and revision != str(asset.revision):
            raise ResourceNotFoundException(
                f"Asset {asset.id} revision {revision} not found (the emulator keeps only the "
                f"latest revision, {asset.revision})"
            )
        listing = listing_for_asset(domain, asset)
        mark_read(listing)
        return asset.to_dict(listing)

    def delete_asset(self, caller: Caller, params: dict[str, Any]) -> dict[str, Any]:
        domain = self.domain_for(caller, require(params, "domainIdentifier"))
        asset = asset_of(domain, require(params, "identifier"))
        member_project(domain, asset.owning_project_id, caller)
        listing = listing_for_asset(domain, asset)
        # Choice: a published asset must be unpublished first (the catalog would otherwise
        # offer a listing whose asset is gone); AWS documents only filter/data-product refs.
        if listing is not None and listing.status in ("CREATING", "ACTIVE"):
            raise ConflictException(
                f"Asset {asset.id} is published (listing {listing.id} is {listing.status}); "
                "unpublish it before deleting the asset"
            )
        if listing is not None:
            refuse_if_subscribed(domain, listing)
            domain.listings.pop(listing.id, None)
        domain.assets.pop(asset.id, None)
        return {}

    def search(self, caller: Caller, params: dict[str, Any]) -> dict[str, Any]:
        domain = self.domain_for(caller, require(params, "domainIdentifier"))
        scope = require(params, "searchScope")
        if scope != "ASSET":
            # The emulator implements no glossary or data product operation, so none exist.
            return {"items": [], "totalMatchCount": 0}
        owning = params.get("owningProjectIdentifier")
        if owning:
            member_project(domain, owning, caller)
            projects = {owning}
        else:
            projects = {p for p in domain.projects if is_member(domain, p, caller)}
        with_forms = "FORMS" in (params.get("additionalAttributes") or [])
        matches = []
        for asset in domain.assets.values():
            if asset.owning_project_id not in projects:
                continue
            fields = searched_fields(
                params, asset.name, asset.description, asset.table.qualified_name
            )
            if not text_matches(params.get("searchText"), fields):
                continue
            filters = params.get("filters")
            if filters and not clause_matches(filters, self._asset_attributes(asset)):
                continue
            matches.append(asset)
        ordering = sort_key(params)
        if ordering:
            matches.sort(key=ordering[0], reverse=ordering[1])
        return {
            "items": [a.to_search_item(with_forms) for a in matches],
            "totalMatchCount": len(matches),
        }

    @staticmethod
    def _asset_attributes(asset: Asset) -> dict[str, str | None]:
        return {
            "owningProjectId": asset.owning_project_id,
            "name": asset.name,
            "description": asset.description,
            "typeIdentifier": asset.type_identifier,
            "amazonmetadata.sourceCategory": "asset",
        }

    # listings ---------------------------------------------------------------------------------
    def _publish(self, domain: Domain, asset: Asset, by: str) -> Listing:
        """Publish the asset's current revision: a new listing or a new listing revision,
        CREATING then ACTIVE. Publishing an unchanged, ACTIVE revision changes nothing."""
        listing = listing_for_asset(domain, asset)
        if listing is None:
            listing = Listing(domain, asset, by)
            domain.listings[listing.id] = listing
            asset.listing_id = listing.id
        elif listing.status == "ACTIVE" and listing.asset_revision == asset.revision:
            return listing
        else:
            listing.snapshot(asset, by)
        start_transition(listing, [("CREATING", "listing.publish")], "ACTIVE")
        return listing

    def create_listing_change_set(self, caller: Caller, params: dict[str, Any]) -> dict[str, Any]:
        domain = self.domain_for(caller, require(params, "domainIdentifier"))
        entity_type = require(params, "entityType")
        entity_id = require(params, "entityIdentifier")
        action = require(params, "action")
        if entity_type != "ASSET":
            # No data product operation is implemented, so no data product can exist.
            raise not_found("Data product", entity_id)
        asset = asset_of(domain, entity_id)
        member_project(domain, asset.owning_project_id, caller)
        revision = params.get("entityRevision")
        if revision is not None and revision != str(asset.revision):
            raise ResourceNotFoundException(
                f"Asset {asset.id} revision {revision} not found (latest is {asset.revision})"
            )
        by = profile_id(domain, caller)
        if action == "PUBLISH":
            listing = self._publish(domain, asset, by)
        else:
            found = listing_for_asset(domain, asset)
            if found is None:
                raise ResourceNotFoundException(f"Asset {asset.id} has no listing to unpublish")
            listing = found
            if listing.status != "INACTIVE":
                RUNTIME.scheduler.cancel(listing.transition)
                listing.transition = None
                listing.status = "INACTIVE"
                listing.updated_by = by
                listing.updated_at = now()
        return {
            "listingId": listing.id,
            "listingRevision": str(listing.revision),
            "status": listing.status,
        }

    def get_listing(self, caller: Caller, params: dict[str, Any]) -> dict[str, Any]:
        domain = self.domain_for(caller, require(params, "domainIdentifier"))
        listing = listing_of(domain, require(params, "identifier"))
        revision = params.get("listingRevision")
        if revision is not None and revision != str(listing.revision):
            raise ResourceNotFoundException(
                f"Listing {listing.id} revision {revision} not found (the emulator keeps only "
                f"the latest revision, {listing.revision})"
            )
        mark_read(listing)
        return listing.to_dict()

    def delete_listing(self, caller: Caller, params: dict[str, Any]) -> dict[str, Any]:
        domain = self.domain_for(caller, require(params, "domainIdentifier"))
        listing = listing_of(domain, require(params, "identifier"))
        member_project(domain, listing.owning_project_id, caller)
        refuse_if_subscribed(domain, listing)
        RUNTIME.scheduler.cancel(listing.transition)
        domain.listings.pop(listing.id, None)
        asset = domain.assets.get(listing.asset_id)
        if asset is not None and asset.listing_id == listing.id:
            asset.listing_id = None
        return {}

    def search_listings(self, caller: Caller, params: dict[str, Any]) -> dict[str, Any]:
        domain = self.domain_for(caller, require(params, "domainIdentifier"))
        # The search index is eventually consistent (research/workflow.md J4): a client that
        # polls search for a listing it just published sees it once publishing has ended.
        mark_read(
            *[listing for listing in domain.listings.values() if listing.status == "CREATING"]
        )
        with_forms = "FORMS" in (params.get("additionalAttributes") or [])
        matches = []
        for listing in domain.listings.values():
            if listing.status != "ACTIVE":
                continue
            fields = searched_fields(
                params, listing.name, listing.description, listing.technical_name
            )
            if not text_matches(params.get("searchText"), fields):
                continue
            filters = params.get("filters")
            if filters and not clause_matches(filters, self._listing_attributes(listing)):
                continue
            matches.append(listing)
        ordering = sort_key(params)
        if ordering:
            matches.sort(key=ordering[0], reverse=ordering[1])
        return {
            "items": [listing.to_search_item(with_forms) for listing in matches],
            "totalMatchCount": len(matches),
        }

    @staticmethod
    def _listing_attributes(listing: Listing) -> dict[str, str | None]:
        return {
            "owningProjectId": listing.owning_project_id,
            "name": listing.name,
            "description": listing.description,
            "entityType": listing.asset_type,
            "amazonmetadata.sourceCategory": "asset",
        }

    # project deletion -------------------------------------------------------------------------
    def _release_project(self, domain: Domain, project: Project, driven: bool) -> None:
        """A project is being deleted: its listings, assets, data sources and runs go at
        once (after its subscriptions, see SubscriptionsBackend), then its environments."""
        for listing in [x for x in domain.listings.values() if x.owning_project_id == project.id]:
            RUNTIME.scheduler.cancel(listing.transition)
            domain.listings.pop(listing.id, None)
        for asset in [a for a in domain.assets.values() if a.owning_project_id == project.id]:
            domain.assets.pop(asset.id, None)
        for source in [s for s in domain.data_sources.values() if s.project_id == project.id]:
            self._drop_data_source(domain, source)
        super()._release_project(domain, project, driven)
