"""The catalog half of the producer side (workflow.md phases I and J): the Glue data
source of a project, its run and the assets it imports, and each asset's listing.

A data source run is only started when an asset is missing: a second `up`
finds every asset through `Search` and makes no call that changes anything.
A run that skips a table for lack of Lake Formation access (SKIPPED_NO_ACCESS)
fails the step with DataZone's message instead of leaving a silent gap.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from botocore.exceptions import ClientError

from smus_mesh.config import TableConfig
from smus_mesh.errors import FailedStatus
from smus_mesh.resources.base import Observed, Resource, Status, register
from smus_mesh.resources.context import Context
from smus_mesh.resources.datazone import (
    IN_DOMAIN,
    DataZoneResource,
    Deletion,
    failure_text,
    is_not_found,
    made_here,
    paginate,
    remembered_as_ours,
)

_DZ = "datazone:"

#: Catalog searches one import step makes at once (one per table of its database).
LOOKUPS = 8

DATA_SOURCE_STATUS = {
    "CREATING": Status.IN_PROGRESS,
    "UPDATING": Status.IN_PROGRESS,
    "RUNNING": Status.COMPLETE,
    "READY": Status.COMPLETE,
    "FAILED_CREATION": Status.FAILED,
    "FAILED_UPDATE": Status.COMPLETE,
    "DELETING": Status.FAILED,
    "FAILED_DELETION": Status.FAILED,
}
RUN_DONE = ("SUCCESS", "PARTIALLY_SUCCEEDED", "FAILED")
IMPORTED = ("SUCCEEDED_CREATED", "SUCCEEDED_UPDATED", "SKIPPED_ALREADY_IMPORTED", "UNCHANGED")


@register
class DataSource(DataZoneResource):
    """A Glue data source of a producer project over one database, filtered to the
    tables the project imports, bound to the project's lakehouse connection (V2).

    Example::

        projects:
          - {name: producer, account: producer, imports: [inventory, orders]}
    """

    kind = "datazone:data-source"
    deletion = Deletion(
        "delete_data_source",
        IN_DOMAIN,
        {"retainPermissionsOnRevokeFailure": False},
        get="get_data_source",
        failed="FAILED_DELETION",
    )
    iam_actions = (
        _DZ + "CreateDataSource",
        _DZ + "GetDataSource",
        _DZ + "ListDataSources",
        _DZ + "UpdateDataSource",
        _DZ + "DeleteDataSource",
    )
    #: Its filter follows the project's imports (ADR 19).
    updatable = True
    async_create = ("data_source.create",)
    async_delete = ("data_source.delete",)

    def __init__(
        self,
        project: str,
        database: str,
        tables: list[TableConfig],
        domain_account: str,
        domain_key: str,
        project_key: str,
        depends_on: tuple[str, ...],
    ) -> None:
        super().__init__(f"{project}/{database}", domain_account, depends_on)
        self.project = project
        self.database = database
        self.tables = tables
        self.domain_key = domain_key
        self.project_key = project_key

    def recreate_on_failure(self) -> bool:
        return True

    def _configuration(self) -> dict[str, Any]:
        return {
            "glueRunConfiguration": {
                "relationalFilterConfigurations": [
                    {
                        "databaseName": self.database,
                        "filterExpressions": [
                            {"type": "INCLUDE", "expression": t.table} for t in self.tables
                        ],
                    }
                ]
            }
        }

    def _identity(self, ctx: Context, source_id: str) -> dict[str, Any]:
        return {
            "id": source_id,
            "domain_id": ctx.output(self.domain_key, "id"),
            "project_id": ctx.output(self.project_key, "id"),
        }

    def observe(self, ctx: Context) -> Observed:
        domain_id = ctx.output(self.domain_key, "id")
        project_id = ctx.output(self.project_key, "id")
        name = ctx.names.data_source(self.project, self.database)
        datazone = ctx.client(self.account, "datazone")
        for item in paginate(
            datazone,
            "list_data_sources",
            "items",
            domainIdentifier=domain_id,
            projectIdentifier=project_id,
            name=name,
        ):
            if item["name"] != name:
                continue
            source = datazone.get_data_source(
                domainIdentifier=domain_id, identifier=item["dataSourceId"]
            )
            status = DATA_SOURCE_STATUS.get(source["status"], Status.IN_PROGRESS)
            detail = source["status"]
            if source.get("errorMessage"):
                detail += f": {source['errorMessage'].get('errorDetail', '')}"
            owned = remembered_as_ours(ctx, self.key, source["id"])
            drift: tuple[str, ...] = ()
            current = _filtered_tables(source.get("configuration") or {}, self.database)
            wanted = sorted(t.table for t in self.tables)
            if status == Status.COMPLETE and current != wanted:
                drift = (f"tables: {', '.join(current) or 'none'} -> {', '.join(wanted)}",)
            return Observed(
                status, self._identity(ctx, source["id"]), detail=detail, owned=owned, drift=drift
            )
        return Observed.absent(f"no data source {name}")

    def create(self, ctx: Context) -> dict[str, Any]:
        source = ctx.client(self.account, "datazone").create_data_source(
            domainIdentifier=ctx.output(self.domain_key, "id"),
            projectIdentifier=ctx.output(self.project_key, "id"),
            name=ctx.names.data_source(self.project, self.database),
            description=f"smus-mesh {ctx.names.setup}: {self.database}",
            type="GLUE",
            connectionIdentifier=ctx.output(self.project_key, "lakehouse_connection"),
            configuration=self._configuration(),
            enableSetting="ENABLED",
            publishOnImport=False,
        )
        return self._identity(ctx, source["id"])

    def update(self, ctx: Context, observed: Observed) -> None:
        """Filter the tables the project imports now (a run afterwards imports a new one)."""
        ctx.retry_while(
            self.key,
            lambda: ctx.client(self.account, "datazone").update_data_source(
                domainIdentifier=observed.identity["domain_id"],
                identifier=observed.identity["id"],
                configuration=self._configuration(),
            ),
            # Only a READY data source can be updated: a run may still be settling.
            codes=("ConflictException",),
        )


def _filtered_tables(configuration: dict[str, Any], database: str) -> list[str]:
    """The tables of `database` a data source's configuration includes, sorted."""
    filters = (configuration.get("glueRunConfiguration") or {}).get(
        "relationalFilterConfigurations"
    ) or []
    return sorted(
        str(expression.get("expression"))
        for f in filters
        if f.get("databaseName") == database
        for expression in f.get("filterExpressions") or []
        if expression.get("type") == "INCLUDE"
    )


def find_asset(
    ctx: Context, account: str, domain_id: str, project_id: str, table: TableConfig, catalog_id: str
) -> dict[str, Any] | None:
    """The project's asset for a Glue table, found through the catalog search."""
    arn_suffix = f":table/{table.database}/{table.table}"
    datazone = ctx.client(account, "datazone")
    for item in paginate(
        datazone,
        "search",
        "items",
        domainIdentifier=domain_id,
        searchScope="ASSET",
        owningProjectIdentifier=project_id,
        searchText=table.table,
    ):
        asset = item.get("assetItem")
        if not asset:
            continue
        external = asset.get("externalIdentifier", "")
        if external.endswith(arn_suffix) and f":{catalog_id}:" in external:
            return dict(asset)
        if not external and asset.get("name") == table.table:
            return dict(asset)
    return None


@register
class DataSourceImport(Resource):
    """A run of the data source, done when every table it covers is an asset of the project.

    Example (made with each data source)::

        projects:
          - {name: producer, account: producer, imports: [inventory]}
    """

    kind = "datazone:import"
    #: A table added to the project's imports is imported by a new run (ADR 19).
    updatable = True
    iam_actions = (
        _DZ + "StartDataSourceRun",
        _DZ + "GetDataSourceRun",
        _DZ + "ListDataSourceRuns",
        _DZ + "ListDataSourceRunActivities",
        _DZ + "Search",
        _DZ + "DeleteAsset",
    )
    async_create = ("data_source_run.run",)

    def __init__(
        self,
        source: DataSource,
        table_keys: dict[str, str],
        depends_on: tuple[str, ...],
    ) -> None:
        super().__init__(source.name, source.account, depends_on)
        self.source = source
        self.table_keys = table_keys

    def _assets(self, ctx: Context) -> tuple[dict[str, str], list[str]]:
        """The project's assets of the data source's tables (name -> asset id), and the
        tables without one. One catalog search per table, `LOOKUPS` at a time: a
        database of a hundred tables is a hundred searches, which one after the other
        put seconds on every wait and on `down`'s critical path (ADR 39)."""
        domain_id = ctx.output(self.source.domain_key, "id")
        project_id = ctx.output(self.source.project_key, "id")
        made = [
            t for t in self.source.tables if ctx.has_output(self.table_keys[t.name], "catalog_id")
        ]

        def lookup(table: TableConfig) -> dict[str, Any] | None:
            catalog_id = ctx.output(self.table_keys[table.name], "catalog_id")
            return find_asset(ctx, self.account, domain_id, project_id, table, catalog_id)

        if len(made) > 1:
            with ThreadPoolExecutor(max_workers=min(LOOKUPS, len(made))) as pool:
                assets = dict(zip((t.name for t in made), pool.map(lookup, made), strict=True))
        else:
            assets = {t.name: lookup(t) for t in made}
        found: dict[str, str] = {}
        missing: list[str] = []
        for table in self.source.tables:
            asset = assets.get(table.name)  # a table still to be made: not imported yet
            if asset is None:
                missing.append(table.name)
            else:
                found[table.name] = str(asset["identifier"])
        return found, missing

    def _latest_run(self, ctx: Context) -> dict[str, Any] | None:
        runs = (
            ctx.client(self.account, "datazone")
            .list_data_source_runs(
                domainIdentifier=ctx.output(self.source.domain_key, "id"),
                dataSourceIdentifier=ctx.output(self.source.key, "id"),
                maxResults=1,
            )
            .get("items", [])
        )
        return dict(runs[0]) if runs else None

    def _theirs(self, ctx: Context, found: dict[str, str]) -> list[str]:
        """The project's assets of these tables that this set-up did not import, as the run
        first saw them: in a joined domain, those found before the state remembered this step
        as this set-up's (an `existing` project's owner imported them). Never deleted
        (ADR 48). Empty for a domain smus-mesh creates: every asset of its projects is its."""
        if not ctx.config.domain.joined:
            return []

        def first_seen() -> list[str]:
            if made_here(ctx, self.key):
                return sorted(ctx.remembered_identity(self.key).get("theirs", []))
            return sorted(found.values())

        return list(ctx.memo(f"theirs:{self.key}", first_seen))

    def observe(self, ctx: Context) -> Observed:
        found, missing = self._assets(ctx)
        identity: dict[str, Any] = {"domain_id": ctx.output(self.source.domain_key, "id")}
        theirs = self._theirs(ctx, found)
        if theirs:
            identity["theirs"] = theirs
        outputs = {f"asset:{name}": asset_id for name, asset_id in found.items()}
        if not missing:
            # Every asset someone else's: not known as this set-up's (None, not False: a
            # table added to the imports later is still imported by a new run; `delete`
            # leaves `theirs` whatever the step's ownership).
            mine = None if set(found.values()) <= set(theirs) else True
            return Observed(
                Status.COMPLETE, identity, outputs, detail="all tables imported", owned=mine
            )
        run = self._latest_run(ctx)
        if run is not None and run["status"] in ("REQUESTED", "RUNNING"):
            return Observed(
                Status.IN_PROGRESS,
                {**identity, "run_id": run["id"]},
                outputs,
                detail=f"run {run['status']}",
            )
        if found:
            # Imported before, but not every table the project imports now: a new run
            # (after the data source's filter follows) imports the others.
            return Observed(
                Status.COMPLETE,
                identity,
                outputs,
                detail="imported: " + ", ".join(sorted(found)),
                owned=True,
                drift=(f"not imported: {', '.join(missing)}",),
            )
        return Observed(
            Status.ABSENT, identity, outputs, detail="not imported: " + ", ".join(missing)
        )

    def create(self, ctx: Context) -> dict[str, Any]:
        run = ctx.client(self.account, "datazone").start_data_source_run(
            domainIdentifier=ctx.output(self.source.domain_key, "id"),
            dataSourceIdentifier=ctx.output(self.source.key, "id"),
        )
        return {"run_id": run["id"], "domain_id": ctx.output(self.source.domain_key, "id")}

    def update(self, ctx: Context, observed: Observed) -> None:
        ctx.set_outputs(self.key, {**ctx.outputs(self.key), **self.create(ctx)})

    def wait_created(self, ctx: Context) -> Observed:
        domain_id = ctx.output(self.source.domain_key, "id")
        datazone = ctx.client(self.account, "datazone")
        run_id = ctx.outputs(self.key).get("run_id")
        if run_id:

            def run_status() -> Observed:
                run = datazone.get_data_source_run(domainIdentifier=domain_id, identifier=run_id)
                if run["status"] in RUN_DONE:
                    return Observed(Status.COMPLETE, detail=run["status"])
                return Observed(Status.IN_PROGRESS, detail=f"run {run['status']}")

            ctx.wait(self, run_status, until=Status.COMPLETE)
            problems = [
                f"{a.get('technicalName') or a.get('dataAssetId')}: {a['dataAssetStatus']}"
                + (f" ({failure_text([a['errorMessage']])})" if a.get("errorMessage") else "")
                for a in paginate(
                    datazone,
                    "list_data_source_run_activities",
                    "items",
                    domainIdentifier=domain_id,
                    identifier=run_id,
                )
                if a.get("dataAssetStatus") not in IMPORTED
            ]
            if problems:
                raise FailedStatus(
                    self.key, "the data source run did not import: " + "; ".join(problems)
                )
        # The search index follows the run; poll it until every asset shows.
        return ctx.wait(self, lambda: self._searched(ctx), until=Status.COMPLETE)

    def _searched(self, ctx: Context) -> Observed:
        found, missing = self._assets(ctx)
        outputs = {f"asset:{name}": asset_id for name, asset_id in found.items()}
        if missing:
            return Observed(Status.IN_PROGRESS, detail="waiting for assets: " + ", ".join(missing))
        theirs = self._theirs(ctx, found)
        identity = {"theirs": theirs} if theirs else {}
        return Observed(
            Status.COMPLETE, identity, outputs, detail="all tables imported", owned=True
        )

    def _ours(self, ctx: Context) -> dict[str, str]:
        """The assets found now that this set-up imported (table name -> asset id)."""
        found, _ = self._assets(ctx)
        theirs = set(self._theirs(ctx, found))
        return {name: asset for name, asset in found.items() if asset not in theirs}

    def delete(self, ctx: Context, observed: Observed) -> None:
        """Delete the imported assets (their listings are gone by now). A run still in
        progress (a killed `up` started it) imports its assets after they were looked up,
        so it is let finish first, and the assets are looked up then."""
        datazone = ctx.client(self.account, "datazone")
        domain_id = ctx.output(self.source.domain_key, "id")

        def run_settled() -> Observed:
            run = self._latest_run(ctx)
            if run is not None and run["status"] in ("REQUESTED", "RUNNING"):
                return Observed(Status.IN_PROGRESS, detail=f"run {run['status']}")
            return Observed(Status.COMPLETE, detail="no run in progress")

        ctx.wait(self, run_settled, until=Status.COMPLETE)
        found = self._ours(ctx)
        for asset_id in found.values():
            try:
                datazone.delete_asset(domainIdentifier=domain_id, identifier=asset_id)
            except ClientError as exc:
                if not is_not_found(exc):
                    raise
        # What `wait_deleted` waits for: nothing when no run was in progress and the
        # search found no asset (each listing's step deleted its own), so it need not
        # search every table again to see what it just saw (ADR 39).
        ctx.set_outputs(self.key, {**ctx.outputs(self.key), "deleted_assets": sorted(found)})

    def wait_deleted(self, ctx: Context) -> Observed:
        if ctx.outputs(self.key).get("deleted_assets") == []:
            return Observed.absent("no assets")

        def remaining() -> Observed:
            found = self._ours(ctx)
            if found:
                return Observed(Status.IN_PROGRESS, detail="assets: " + ", ".join(found))
            return Observed.absent("no assets")

        return ctx.wait(self, remaining, until=Status.ABSENT)


LISTING_STATUS = {
    "CREATING": Status.IN_PROGRESS,
    "ACTIVE": Status.COMPLETE,
    "INACTIVE": Status.ABSENT,
}


@register
class Listing(Resource):
    """An imported asset published to the catalog, done when the listing is ACTIVE.

    Example (every imported table is published)::

        projects:
          - {name: producer, account: producer, imports: [inventory]}
    """

    kind = "datazone:listing"
    iam_actions = (
        _DZ + "GetAsset",
        _DZ + "CreateListingChangeSet",
        _DZ + "GetListing",
        _DZ + "DeleteAsset",
    )
    async_create = ("listing.publish",)

    def __init__(self, table: str, domain_account: str, domain_key: str, import_key: str) -> None:
        super().__init__(table, domain_account, (import_key,))
        self.table = table
        self.domain_key = domain_key
        self.import_key = import_key

    def stands_for(self) -> tuple[Any, ...]:
        """The listing of the asset that this import made: a table imported through another
        data source (moved to another database) is another asset, with another listing."""
        return (self.import_key,)

    def _asset_id(self, ctx: Context) -> str:
        return str(ctx.output(self.import_key, f"asset:{self.table}"))

    def observe(self, ctx: Context) -> Observed:
        domain_id = ctx.output(self.domain_key, "id")
        asset_id = self._asset_id(ctx)
        datazone = ctx.client(self.account, "datazone")
        try:
            asset = datazone.get_asset(domainIdentifier=domain_id, identifier=asset_id)
        except ClientError as exc:
            if is_not_found(exc):
                return Observed.absent("asset gone")
            raise
        listing = asset.get("listing") or {}
        identity = {"asset_id": asset_id, "domain_id": domain_id}
        if not listing.get("listingId"):
            return Observed(Status.ABSENT, identity, detail="not published")
        identity["listing_id"] = listing["listingId"]
        status = LISTING_STATUS.get(listing.get("listingStatus", ""), Status.IN_PROGRESS)
        # In a joined domain the asset may be the owner's, published by the owner: ours
        # only when the state remembers this set-up published it (ADR 26, 48).
        owned = not ctx.config.domain.joined or made_here(ctx, self.key)
        return Observed(
            status, identity, detail=listing.get("listingStatus", ""), owned=owned, joined=not owned
        )

    def create(self, ctx: Context) -> dict[str, Any]:
        domain_id = ctx.output(self.domain_key, "id")
        asset_id = self._asset_id(ctx)
        change = ctx.client(self.account, "datazone").create_listing_change_set(
            domainIdentifier=domain_id,
            entityIdentifier=asset_id,
            entityType="ASSET",
            action="PUBLISH",
        )
        return {"asset_id": asset_id, "domain_id": domain_id, "listing_id": change["listingId"]}

    def delete(self, ctx: Context, observed: Observed) -> None:
        try:
            ctx.client(self.account, "datazone").create_listing_change_set(
                domainIdentifier=observed.identity["domain_id"],
                entityIdentifier=observed.identity["asset_id"],
                entityType="ASSET",
                action="UNPUBLISH",
            )
        except ClientError as exc:
            if not is_not_found(exc):
                raise

    def wait_deleted(self, ctx: Context) -> Observed:
        """Unpublished; then the asset goes too. A table that leaves a project's imports
        leaves its listing, but the import step (per database) stays for the other tables:
        this is the one step that knows the asset (ADR 19)."""
        unpublished = super().wait_deleted(ctx)
        identity = ctx.outputs(self.key)
        if identity["asset_id"] in ctx.outputs(self.import_key).get("theirs", []):
            return unpublished  # an asset this set-up did not import (ADR 48)
        try:
            ctx.client(self.account, "datazone").delete_asset(
                domainIdentifier=identity["domain_id"], identifier=identity["asset_id"]
            )
        except ClientError as exc:
            if not is_not_found(exc):
                raise
        return unpublished
