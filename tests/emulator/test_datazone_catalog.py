"""DataZone catalog: data sources and runs (Glue import under Lake Formation), assets,
inventory search and listings, through boto3 against the emulated two-account set-up.

One domain with a deployed producer and consumer project is built per module (it takes
a few dozen calls); every test makes its own Glue tables and DataZone objects under
names of its own, so tests do not see each other's objects.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from smus_mesh_emulator.server import EmulatorServer
from tests.emulator.datazone_setup import (
    Mesh,
    activities,
    create_data_source,
    create_table,
    grant_import_access,
    import_table,
    mesh_on,
    outsider_session,
    publish,
    run_data_source,
    wait_listing,
)
from tests.emulator.datazone_support import (
    create_domain,
    grant_blueprint,
    grant_profiles,
    wait_project,
)
from tests.support import DOMAIN_ACCOUNT


@pytest.fixture(scope="module")
def mesh(emulator_server: EmulatorServer) -> Iterator[Mesh]:
    with mesh_on(emulator_server.url) as mesh:
        yield mesh


@pytest.fixture
def dz(mesh: Mesh) -> Any:
    return mesh.datazone()


def error_of(excinfo: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    error = excinfo.value.response["Error"]
    return error["Code"], error["Message"]


def glue_filter(database: str, expression: str = "*") -> dict[str, Any]:
    return {
        "glueRunConfiguration": {
            "relationalFilterConfigurations": [
                {
                    "databaseName": database,
                    "filterExpressions": [{"type": "INCLUDE", "expression": expression}],
                }
            ]
        }
    }


def lf_principals(
    mesh: Mesh, resource: dict[str, Any], account: str = DOMAIN_ACCOUNT
) -> dict[str, set[str]]:
    """principal -> permissions held on `resource` in `account`'s Lake Formation."""
    items = mesh.cloud.client("lakeformation", account).list_permissions(Resource=resource)[
        "PrincipalResourcePermissions"
    ]
    held: dict[str, set[str]] = {}
    for item in items:
        held.setdefault(item["Principal"]["DataLakePrincipalIdentifier"], set()).update(
            item["Permissions"]
        )
    return held


# --- data sources ----------------------------------------------------------------------------


def test_data_source_is_creating_then_ready_and_self_grants_its_database(
    mesh: Mesh, dz: Any
) -> None:
    create_table(mesh.cloud, "ds_ready_db", "orders")
    grant_import_access(
        mesh.cloud,
        "ds_ready_db",
        "orders",
        mesh.producer.role_arn,
        mesh.producer_setup.manage_access_role,
    )
    created = dz.create_data_source(
        domainIdentifier=mesh.domain_id,
        projectIdentifier=mesh.producer.id,
        connectionIdentifier=mesh.producer.lakehouse_connection,
        name="ready",
        type="GLUE",
        configuration=glue_filter("ds_ready_db"),
    )
    assert created["status"] == "CREATING"
    read = dz.get_data_source(domainIdentifier=mesh.domain_id, identifier=created["id"])
    assert read["status"] == "CREATING"
    assert read["selfGrantStatus"]["glueSelfGrantStatus"]["selfGrantStatusDetails"] == [
        {"databaseName": "ds_ready_db", "status": "GRANT_PENDING"}
    ]
    read = dz.get_data_source(domainIdentifier=mesh.domain_id, identifier=created["id"])
    assert read["status"] == "READY"
    assert read["selfGrantStatus"]["glueSelfGrantStatus"]["selfGrantStatusDetails"] == [
        {"databaseName": "ds_ready_db", "status": "GRANTED"}
    ]
    assert read["connectionId"] == mesh.producer.lakehouse_connection
    assert read["environmentId"] == mesh.producer.tooling_id
    glue = read["configuration"]["glueRunConfiguration"]
    assert (glue["accountId"], glue["region"]) == (DOMAIN_ACCOUNT, "us-east-1")
    # The self-grant: the project role may now see the database.
    held = lf_principals(mesh, {"Database": {"Name": "ds_ready_db"}})
    assert "DESCRIBE" in held[mesh.producer.role_arn]


def test_self_grant_fails_without_grantable_describe_and_names_the_role(
    mesh: Mesh, dz: Any
) -> None:
    create_table(mesh.cloud, "ds_nogrant_db", "orders")
    source = create_data_source(mesh, "ds_nogrant_db")
    details = source["selfGrantStatus"]["glueSelfGrantStatus"]["selfGrantStatusDetails"]
    assert details == [
        {
            "databaseName": "ds_nogrant_db",
            "status": "GRANT_FAILED",
            "failureCause": f"Manage access role {mesh.producer_setup.manage_access_role} lacks "
            f"DESCRIBE with grant option on database ds_nogrant_db in account {DOMAIN_ACCOUNT}",
        }
    ]


def test_v2_data_source_needs_the_lakehouse_connection(mesh: Mesh, dz: Any) -> None:
    common = {
        "domainIdentifier": mesh.domain_id,
        "projectIdentifier": mesh.producer.id,
        "name": "binding",
        "type": "GLUE",
        "configuration": glue_filter("any_db"),
    }
    with pytest.raises(ClientError) as excinfo:
        dz.create_data_source(environmentIdentifier=mesh.producer.lakehouse_id, **common)
    code, message = error_of(excinfo)
    assert code == "ValidationException"
    assert message.startswith("connectionIdentifier is required to create a data source in a V2")

    with pytest.raises(ClientError) as excinfo:
        dz.create_data_source(connectionIdentifier="nope", **common)
    assert error_of(excinfo) == ("ResourceNotFoundException", "Connection nope not found")

    connections = dz.list_connections(
        domainIdentifier=mesh.domain_id, projectIdentifier=mesh.producer.id, type="ATHENA"
    )["items"]
    with pytest.raises(ClientError) as excinfo:
        dz.create_data_source(connectionIdentifier=connections[0]["connectionId"], **common)
    assert error_of(excinfo) == (
        "ValidationException",
        f"Connection {connections[0]['connectionId']} is of type ATHENA; a GLUE data source "
        "needs a IAM connection",
    )

    with pytest.raises(ClientError) as excinfo:
        dz.create_data_source(connectionIdentifier=mesh.consumer.lakehouse_connection, **common)
    assert error_of(excinfo) == (
        "ValidationException",
        f"Connection {mesh.consumer.lakehouse_connection} does not belong to project "
        f"{mesh.producer.id}",
    )


def test_data_source_type_name_and_schedule_are_checked(mesh: Mesh, dz: Any) -> None:
    create_data_source(mesh, "ds_checks_db", name="taken")
    common = {
        "domainIdentifier": mesh.domain_id,
        "projectIdentifier": mesh.producer.id,
        "connectionIdentifier": mesh.producer.lakehouse_connection,
        "configuration": glue_filter("ds_checks_db"),
    }
    with pytest.raises(ClientError) as excinfo:
        dz.create_data_source(name="taken", type="GLUE", **common)
    assert error_of(excinfo) == (
        "ConflictException",
        "A data source named taken already exists in the project",
    )
    with pytest.raises(ClientError) as excinfo:
        dz.create_data_source(name="redshift", type="REDSHIFT", **common)
    assert error_of(excinfo) == (
        "ValidationException",
        "Data source type REDSHIFT is not supported by the emulator (GLUE only)",
    )
    with pytest.raises(ClientError) as excinfo:
        dz.create_data_source(
            name="nightly",
            type="GLUE",
            schedule={"schedule": "cron(0 2 * * ? *)", "timezone": "UTC"},
            **common,
        )
    code, message = error_of(excinfo)
    assert code == "ValidationException"
    assert message.startswith("Scheduled data source runs are not supported by the emulator")


def test_data_source_operations_need_project_membership(mesh: Mesh, dz: Any) -> None:
    source = create_data_source(mesh, "ds_member_db", name="members-only")
    outsider = outsider_session(mesh.cloud).client("datazone", endpoint_url=mesh.cloud.url)
    arn = f"arn:aws:iam::{DOMAIN_ACCOUNT}:role/Outsider"
    denied = f"User {arn} is not a member of project {mesh.producer.id}"
    for call in (
        lambda: outsider.get_data_source(domainIdentifier=mesh.domain_id, identifier=source["id"]),
        lambda: outsider.list_data_sources(
            domainIdentifier=mesh.domain_id, projectIdentifier=mesh.producer.id
        ),
        lambda: outsider.start_data_source_run(
            domainIdentifier=mesh.domain_id, dataSourceIdentifier=source["id"]
        ),
        lambda: outsider.create_data_source(
            domainIdentifier=mesh.domain_id,
            projectIdentifier=mesh.producer.id,
            connectionIdentifier=mesh.producer.lakehouse_connection,
            name="intruder",
            type="GLUE",
            configuration=glue_filter("ds_member_db"),
        ),
    ):
        with pytest.raises(ClientError) as excinfo:
            call()
        assert error_of(excinfo) == ("AccessDeniedException", denied)


def test_list_and_update_data_sources(mesh: Mesh, dz: Any) -> None:
    source = create_data_source(mesh, "ds_update_db", name="to-update")
    listed = dz.list_data_sources(
        domainIdentifier=mesh.domain_id, projectIdentifier=mesh.producer.id, name="to-update"
    )["items"]
    assert [(s["dataSourceId"], s["status"], s["type"]) for s in listed] == [
        (source["id"], "READY", "GLUE")
    ]
    assert (
        dz.list_data_sources(
            domainIdentifier=mesh.domain_id, projectIdentifier=mesh.producer.id, status="DELETING"
        )["items"]
        == []
    )

    updated = dz.update_data_source(
        domainIdentifier=mesh.domain_id,
        identifier=source["id"],
        description="nightly import",
        enableSetting="DISABLED",
        publishOnImport=True,
    )
    assert (updated["description"], updated["enableSetting"], updated["publishOnImport"]) == (
        "nightly import",
        "DISABLED",
        True,
    )
    with pytest.raises(ClientError) as excinfo:
        dz.start_data_source_run(domainIdentifier=mesh.domain_id, dataSourceIdentifier=source["id"])
    assert error_of(excinfo) == ("ValidationException", f"Data source {source['id']} is disabled")


# --- runs --------------------------------------------------------------------------------------


def test_run_skips_tables_without_lake_formation_access_then_imports_after_grants(
    mesh: Mesh, dz: Any
) -> None:
    create_table(mesh.cloud, "run_access_db", "orders")
    source = create_data_source(mesh, "run_access_db")
    run = run_data_source(mesh, source["id"])
    assert run["status"] == "FAILED"
    assert run["runStatisticsForAssets"] == {
        "added": 0,
        "updated": 0,
        "unchanged": 0,
        "skipped": 1,
        "failed": 0,
    }
    assert run["errorMessage"]["errorType"] == "ACCESS_DENIED_EXCEPTION"
    [activity] = activities(mesh, run["id"])
    assert activity["dataAssetStatus"] == "SKIPPED_NO_ACCESS"
    assert (activity["database"], activity["technicalName"]) == ("run_access_db", "orders")
    detail = activity["errorMessage"]["errorDetail"]
    where = f"table run_access_db.orders in account {DOMAIN_ACCOUNT}"
    assert (
        f"Project role {mesh.producer.role_arn} lacks SELECT, DESCRIBE with grant option on {where}"
        in detail
    )
    assert (
        f"Manage access role {mesh.producer_setup.manage_access_role} lacks DESCRIBE, SELECT "
        f"with grant option on {where}"
    ) in detail

    grant_import_access(
        mesh.cloud,
        "run_access_db",
        "orders",
        mesh.producer.role_arn,
        mesh.producer_setup.manage_access_role,
    )
    run = run_data_source(mesh, source["id"])
    assert run["status"] == "SUCCESS"
    assert run["runStatisticsForAssets"]["added"] == 1
    [activity] = activities(mesh, run["id"])
    assert activity["dataAssetStatus"] == "SUCCEEDED_CREATED"
    asset = dz.get_asset(domainIdentifier=mesh.domain_id, identifier=activity["dataAssetId"])
    assert (asset["name"], asset["owningProjectId"]) == ("orders", mesh.producer.id)


def test_run_is_requested_then_running_and_blocks_a_second_run_and_deletion(
    mesh: Mesh, dz: Any
) -> None:
    source = create_data_source(mesh, "run_states_db", name="states")
    started = dz.start_data_source_run(
        domainIdentifier=mesh.domain_id, dataSourceIdentifier=source["id"]
    )
    assert (started["status"], started["type"]) == ("REQUESTED", "PRIORITIZED")
    source_now = dz.get_data_source(domainIdentifier=mesh.domain_id, identifier=source["id"])
    assert (source_now["status"], source_now["lastRunStatus"]) == ("RUNNING", "REQUESTED")
    with pytest.raises(ClientError) as excinfo:
        dz.start_data_source_run(domainIdentifier=mesh.domain_id, dataSourceIdentifier=source["id"])
    assert error_of(excinfo) == (
        "ConflictException",
        f"Data source {source['id']} already has a run in progress ({started['id']})",
    )
    with pytest.raises(ClientError) as excinfo:
        dz.delete_data_source(domainIdentifier=mesh.domain_id, identifier=source["id"])
    assert error_of(excinfo) == (
        "ConflictException",
        f"Data source {source['id']} has a run in progress ({started['id']}); wait for it to "
        "finish before deleting the data source",
    )

    def get() -> Any:
        return dz.get_data_source_run(domainIdentifier=mesh.domain_id, identifier=started["id"])

    assert get()["status"] == "REQUESTED"
    # RUNNING lasts no time under the "none" latency profile: once the first read has seen
    # REQUESTED, the run is over. The database does not exist: the run fails, naming it.
    finished = get()
    assert finished["status"] == "FAILED"
    assert finished["startedAt"] <= finished["stoppedAt"]
    assert finished["errorMessage"] == {
        "errorType": "RESOURCE_NOT_FOUND_EXCEPTION",
        "errorDetail": f"Database(s) run_states_db not found in account {DOMAIN_ACCOUNT}",
    }
    after = dz.get_data_source(domainIdentifier=mesh.domain_id, identifier=source["id"])
    assert (after["status"], after["lastRunStatus"]) == ("READY", "FAILED")
    runs = dz.list_data_source_runs(
        domainIdentifier=mesh.domain_id, dataSourceIdentifier=source["id"]
    )
    assert [r["id"] for r in runs["items"]] == [started["id"]]
    assert (
        dz.list_data_source_runs(
            domainIdentifier=mesh.domain_id, dataSourceIdentifier=source["id"], status="SUCCESS"
        )["items"]
        == []
    )


def test_rerun_reports_unchanged_then_updated_without_duplicate_assets(mesh: Mesh, dz: Any) -> None:
    asset_id = import_table(mesh, "rerun_db", "orders")
    [source] = dz.list_data_sources(
        domainIdentifier=mesh.domain_id, projectIdentifier=mesh.producer.id, name="rerun_db-orders"
    )["items"]
    run = run_data_source(mesh, source["dataSourceId"])
    assert run["runStatisticsForAssets"]["unchanged"] == 1
    assert [(a["dataAssetStatus"], a["dataAssetId"]) for a in activities(mesh, run["id"])] == [
        ("UNCHANGED", asset_id)
    ]

    glue = mesh.cloud.client("glue")
    table = glue.get_table(DatabaseName="rerun_db", Name="orders")["Table"]
    descriptor = table["StorageDescriptor"]
    descriptor["Columns"].append({"Name": "price", "Type": "double"})
    glue.update_table(
        DatabaseName="rerun_db",
        TableInput={
            "Name": "orders",
            "StorageDescriptor": descriptor,
            "Description": "with prices",
        },
    )
    run = run_data_source(mesh, source["dataSourceId"])
    assert [(a["dataAssetStatus"], a["dataAssetId"]) for a in activities(mesh, run["id"])] == [
        ("SUCCEEDED_UPDATED", asset_id)
    ]
    asset = dz.get_asset(domainIdentifier=mesh.domain_id, identifier=asset_id)
    assert (asset["revision"], asset["description"]) == ("2", "with prices")
    form = json.loads(asset["formsOutput"][0]["content"])
    assert form["columns"][-1] == {"columnName": "price", "dataType": "double"}
    found = dz.search(
        domainIdentifier=mesh.domain_id,
        searchScope="ASSET",
        owningProjectIdentifier=mesh.producer.id,
        searchText="rerun_db.orders",
        searchIn=[{"attribute": "technicalName"}],
    )
    assert found["totalMatchCount"] == 1


def test_filter_expressions_include_and_exclude_with_wildcards(mesh: Mesh, dz: Any) -> None:
    for table in ("orders_2024", "orders_2025", "customers"):
        create_table(mesh.cloud, "filters_db", table)
        grant_import_access(
            mesh.cloud,
            "filters_db",
            table,
            mesh.producer.role_arn,
            mesh.producer_setup.manage_access_role,
        )
    source = dz.create_data_source(
        domainIdentifier=mesh.domain_id,
        projectIdentifier=mesh.producer.id,
        connectionIdentifier=mesh.producer.lakehouse_connection,
        name="filters",
        type="GLUE",
        configuration={
            "glueRunConfiguration": {
                "relationalFilterConfigurations": [
                    {
                        "databaseName": "filters_db",
                        "filterExpressions": [
                            {"type": "INCLUDE", "expression": "ORDERS_*"},
                            {"type": "EXCLUDE", "expression": "*2024"},
                        ],
                    }
                ]
            }
        },
    )
    dz.get_data_source(domainIdentifier=mesh.domain_id, identifier=source["id"])
    run = run_data_source(mesh, source["id"])
    assert [a["technicalName"] for a in activities(mesh, run["id"])] == ["orders_2025"]


def test_a_second_data_source_skips_what_another_imported(mesh: Mesh, dz: Any) -> None:
    asset_id = import_table(mesh, "twice_db", "orders")
    other = create_data_source(mesh, "twice_db", name="second-source")
    run = run_data_source(mesh, other["id"])
    assert run["status"] == "SUCCESS"
    assert [(a["dataAssetStatus"], a["dataAssetId"]) for a in activities(mesh, run["id"])] == [
        ("SKIPPED_ALREADY_IMPORTED", asset_id)
    ]
    assert (
        dz.list_data_source_run_activities(
            domainIdentifier=mesh.domain_id, identifier=run["id"], status="SUCCEEDED_CREATED"
        )["items"]
        == []
    )


def test_table_that_iam_still_governs_is_imported_without_lake_formation_grants(
    mesh: Mesh, dz: Any
) -> None:
    create_table(mesh.cloud, "iam_db", "orders", lf_managed=False)
    source = create_data_source(mesh, "iam_db")
    run = run_data_source(mesh, source["id"])
    assert run["status"] == "SUCCESS"
    assert [a["dataAssetStatus"] for a in activities(mesh, run["id"])] == ["SUCCEEDED_CREATED"]


def test_publish_on_import_publishes_the_new_assets(mesh: Mesh, dz: Any) -> None:
    create_table(mesh.cloud, "autopub_db", "orders")
    grant_import_access(
        mesh.cloud,
        "autopub_db",
        "orders",
        mesh.producer.role_arn,
        mesh.producer_setup.manage_access_role,
    )
    source = create_data_source(mesh, "autopub_db", publish_on_import=True)
    run = run_data_source(mesh, source["id"])
    [activity] = activities(mesh, run["id"])
    asset = dz.get_asset(domainIdentifier=mesh.domain_id, identifier=activity["dataAssetId"])
    assert asset["listing"]["listingStatus"] == "CREATING"
    assert wait_listing(mesh, asset["listing"]["listingId"])["status"] == "ACTIVE"


def test_run_quota_is_25_a_day(mesh: Mesh, dz: Any) -> None:
    source = create_data_source(mesh, "quota_db", name="quota")
    for _ in range(25):
        run_data_source(mesh, source["id"])
    with pytest.raises(ClientError) as excinfo:
        dz.start_data_source_run(domainIdentifier=mesh.domain_id, dataSourceIdentifier=source["id"])
    assert error_of(excinfo) == (
        "ServiceQuotaExceededException",
        f"Data source {source['id']} has reached the quota of 25 runs per day",
    )


def test_delete_data_source_removes_runs_and_self_grant_but_keeps_assets(
    mesh: Mesh, dz: Any
) -> None:
    asset_id = import_table(mesh, "dsdel_db", "orders")
    [summary] = dz.list_data_sources(
        domainIdentifier=mesh.domain_id, projectIdentifier=mesh.producer.id, name="dsdel_db-orders"
    )["items"]
    source_id = summary["dataSourceId"]
    run_id = dz.list_data_source_runs(
        domainIdentifier=mesh.domain_id, dataSourceIdentifier=source_id
    )["items"][0]["id"]
    assert (
        "DESCRIBE"
        in lf_principals(mesh, {"Database": {"Name": "dsdel_db"}})[mesh.producer.role_arn]
    )

    deleted = dz.delete_data_source(domainIdentifier=mesh.domain_id, identifier=source_id)
    assert deleted["status"] == "DELETING"
    assert (
        dz.get_data_source(domainIdentifier=mesh.domain_id, identifier=source_id)["status"]
        == "DELETING"
    )
    with pytest.raises(ClientError) as excinfo:
        dz.get_data_source(domainIdentifier=mesh.domain_id, identifier=source_id)
    assert error_of(excinfo) == ("ResourceNotFoundException", f"Data source {source_id} not found")
    with pytest.raises(ClientError) as excinfo:
        dz.get_data_source_run(domainIdentifier=mesh.domain_id, identifier=run_id)
    assert error_of(excinfo) == ("ResourceNotFoundException", f"Data source run {run_id} not found")
    assert mesh.producer.role_arn not in lf_principals(mesh, {"Database": {"Name": "dsdel_db"}})
    assert dz.get_asset(domainIdentifier=mesh.domain_id, identifier=asset_id)["id"] == asset_id


# --- assets --------------------------------------------------------------------------------------


def test_asset_has_glue_table_form_and_data_source_reference(mesh: Mesh, dz: Any) -> None:
    create_table(mesh.cloud, "forms_db", "orders", description="All orders")
    grant_import_access(
        mesh.cloud,
        "forms_db",
        "orders",
        mesh.producer.role_arn,
        mesh.producer_setup.manage_access_role,
    )
    source = create_data_source(mesh, "forms_db")
    run = run_data_source(mesh, source["id"])
    [activity] = activities(mesh, run["id"])
    assert activity["technicalDescription"] == "All orders"
    asset = dz.get_asset(domainIdentifier=mesh.domain_id, identifier=activity["dataAssetId"])
    assert asset["typeIdentifier"] == "amazon.datazone.GlueTableAssetType"
    arn = f"arn:aws:glue:us-east-1:{DOMAIN_ACCOUNT}:table/forms_db/orders"
    assert asset["externalIdentifier"] == arn
    [form] = asset["formsOutput"]
    assert (form["formName"], form["typeName"]) == (
        "GlueTableForm",
        "amazon.datazone.GlueTableFormType",
    )
    content = json.loads(form["content"])
    assert content["tableArn"] == arn
    assert (content["databaseName"], content["tableName"], content["catalogId"]) == (
        "forms_db",
        "orders",
        DOMAIN_ACCOUNT,
    )
    assert [c["columnName"] for c in content["columns"]] == ["id", "item", "quantity"]
    assert content["sourceLocation"] == f"s3://data-forms-db-{DOMAIN_ACCOUNT}/orders/"
    [reference] = asset["readOnlyFormsOutput"]
    assert reference["formName"] == "DataSourceReferenceForm"
    assert json.loads(reference["content"])["dataSourceIdentifier"] == source["id"]
    assert "listing" not in asset

    with pytest.raises(ClientError) as excinfo:
        dz.get_asset(domainIdentifier=mesh.domain_id, identifier=asset["id"], revision="7")
    assert error_of(excinfo) == (
        "ResourceNotFoundException",
        f"Asset {asset['id']} revision 7 not found (the emulator keeps only the latest "
        "revision, 1)",
    )


def test_search_finds_the_projects_assets_by_text_and_filters(mesh: Mesh, dz: Any) -> None:
    asset_id = import_table(mesh, "search_db", "shipments")

    def search(**kw: Any) -> Any:
        return dz.search(domainIdentifier=mesh.domain_id, searchScope="ASSET", **kw)

    found = search(owningProjectIdentifier=mesh.producer.id, searchText="shipments")
    assert [i["assetItem"]["identifier"] for i in found["items"]] == [asset_id]
    item = found["items"][0]["assetItem"]
    assert (item["name"], item["owningProjectId"]) == ("shipments", mesh.producer.id)
    assert "additionalAttributes" not in item
    with_forms = search(searchText="shipments", additionalAttributes=["FORMS"])["items"][0]
    assert (
        with_forms["assetItem"]["additionalAttributes"]["formsOutput"][0]["formName"]
        == "GlueTableForm"
    )
    assert search(owningProjectIdentifier=mesh.consumer.id, searchText="shipments")["items"] == []
    filtered = search(
        searchText="shipments",
        filters={
            "and": [
                {"filter": {"attribute": "owningProjectId", "value": mesh.producer.id}},
                {
                    "filter": {
                        "attribute": "typeIdentifier",
                        "value": "amazon.datazone.GlueTableAssetType",
                    }
                },
            ]
        },
    )
    assert filtered["totalMatchCount"] == 1
    assert search(searchText="nothing-like-this")["items"] == []
    assert dz.search(domainIdentifier=mesh.domain_id, searchScope="GLOSSARY")["items"] == []

    with pytest.raises(ClientError) as excinfo:
        search(filters={"filter": {"attribute": "color", "value": "blue"}})
    code, message = error_of(excinfo)
    assert code == "ValidationException"
    assert message.startswith("Filter attribute color is not supported by the emulator; supported:")

    outsider = outsider_session(mesh.cloud).client("datazone", endpoint_url=mesh.cloud.url)
    with pytest.raises(ClientError) as excinfo:
        outsider.search(
            domainIdentifier=mesh.domain_id,
            searchScope="ASSET",
            owningProjectIdentifier=mesh.producer.id,
        )
    assert error_of(excinfo)[0] == "AccessDeniedException"
    assert outsider.search(domainIdentifier=mesh.domain_id, searchScope="ASSET")["items"] == []


def test_published_asset_cannot_be_deleted_until_unpublished(mesh: Mesh, dz: Any) -> None:
    asset_id = import_table(mesh, "assetdel_db", "orders")
    listing = publish(mesh, asset_id)
    with pytest.raises(ClientError) as excinfo:
        dz.delete_asset(domainIdentifier=mesh.domain_id, identifier=asset_id)
    assert error_of(excinfo) == (
        "ConflictException",
        f"Asset {asset_id} is published (listing {listing['id']} is ACTIVE); unpublish it "
        "before deleting the asset",
    )
    dz.create_listing_change_set(
        domainIdentifier=mesh.domain_id,
        entityIdentifier=asset_id,
        entityType="ASSET",
        action="UNPUBLISH",
    )
    dz.delete_asset(domainIdentifier=mesh.domain_id, identifier=asset_id)
    for call, kind, identifier in (
        (dz.get_asset, "Asset", asset_id),
        (dz.get_listing, "Listing", listing["id"]),
    ):
        with pytest.raises(ClientError) as excinfo:
            call(domainIdentifier=mesh.domain_id, identifier=identifier)
        assert error_of(excinfo) == ("ResourceNotFoundException", f"{kind} {identifier} not found")


# --- listings ------------------------------------------------------------------------------------


def test_publish_is_creating_then_active_and_only_then_searchable(mesh: Mesh, dz: Any) -> None:
    asset_id = import_table(mesh, "pub_db", "invoices")
    change = dz.create_listing_change_set(
        domainIdentifier=mesh.domain_id,
        entityIdentifier=asset_id,
        entityType="ASSET",
        action="PUBLISH",
    )
    assert (change["status"], change["listingRevision"]) == ("CREATING", "1")

    def search(**kw: Any) -> Any:
        return dz.search_listings(domainIdentifier=mesh.domain_id, searchText="invoices", **kw)

    assert search()["items"] == []  # being indexed
    listing = dz.get_listing(domainIdentifier=mesh.domain_id, identifier=change["listingId"])
    assert listing["status"] in ("CREATING", "ACTIVE")
    listing = wait_listing(mesh, change["listingId"])
    assert listing["status"] == "ACTIVE"
    assert listing["name"] == "invoices"
    item = listing["item"]["assetListing"]
    assert (item["assetId"], item["assetRevision"], item["owningProjectId"]) == (
        asset_id,
        "1",
        mesh.producer.id,
    )
    assert "GlueTableForm" in json.loads(item["forms"])

    # As research/workflow.md J4 searches from the consumer side.
    found = search(
        filters={
            "and": [
                {"filter": {"attribute": "owningProjectId", "value": mesh.producer.id}},
                {"filter": {"attribute": "amazonmetadata.sourceCategory", "value": "asset"}},
            ]
        },
        additionalAttributes=["FORMS"],
    )
    [result] = found["items"]
    assert (result["assetListing"]["listingId"], result["assetListing"]["entityId"]) == (
        change["listingId"],
        asset_id,
    )
    assert "GlueTableForm" in json.loads(result["assetListing"]["additionalAttributes"]["forms"])
    assert found["totalMatchCount"] == 1
    assert dz.get_asset(domainIdentifier=mesh.domain_id, identifier=asset_id)["listing"] == {
        "listingId": change["listingId"],
        "listingStatus": "ACTIVE",
    }
    # Publishing the same revision again changes nothing.
    again = dz.create_listing_change_set(
        domainIdentifier=mesh.domain_id,
        entityIdentifier=asset_id,
        entityType="ASSET",
        action="PUBLISH",
    )
    assert (again["listingId"], again["listingRevision"], again["status"]) == (
        change["listingId"],
        "1",
        "ACTIVE",
    )


def test_unpublish_makes_the_listing_inactive_and_republish_revises_it(mesh: Mesh, dz: Any) -> None:
    asset_id = import_table(mesh, "unpub_db", "receipts")
    listing = publish(mesh, asset_id)
    change = dz.create_listing_change_set(
        domainIdentifier=mesh.domain_id,
        entityIdentifier=asset_id,
        entityType="ASSET",
        action="UNPUBLISH",
    )
    assert (change["listingId"], change["status"]) == (listing["id"], "INACTIVE")
    assert (
        dz.get_listing(domainIdentifier=mesh.domain_id, identifier=listing["id"])["status"]
        == "INACTIVE"
    )
    assert dz.search_listings(domainIdentifier=mesh.domain_id, searchText="receipts")["items"] == []
    republished = publish(mesh, asset_id)
    assert (republished["id"], republished["listingRevision"]) == (listing["id"], "2")
    with pytest.raises(ClientError) as excinfo:
        dz.get_listing(
            domainIdentifier=mesh.domain_id, identifier=listing["id"], listingRevision="1"
        )
    assert error_of(excinfo)[0] == "ResourceNotFoundException"


def test_delete_listing(mesh: Mesh, dz: Any) -> None:
    asset_id = import_table(mesh, "listdel_db", "orders")
    listing = publish(mesh, asset_id)
    dz.delete_listing(domainIdentifier=mesh.domain_id, identifier=listing["id"])
    with pytest.raises(ClientError) as excinfo:
        dz.get_listing(domainIdentifier=mesh.domain_id, identifier=listing["id"])
    assert error_of(excinfo) == ("ResourceNotFoundException", f"Listing {listing['id']} not found")
    assert "listing" not in dz.get_asset(domainIdentifier=mesh.domain_id, identifier=asset_id)


def test_listing_change_set_errors(mesh: Mesh, dz: Any) -> None:
    asset_id = import_table(mesh, "lcs_db", "orders")

    def change(**kw: Any) -> Any:
        return dz.create_listing_change_set(domainIdentifier=mesh.domain_id, **kw)

    with pytest.raises(ClientError) as excinfo:
        change(entityIdentifier=asset_id, entityType="ASSET", action="UNPUBLISH")
    assert error_of(excinfo) == (
        "ResourceNotFoundException",
        f"Asset {asset_id} has no listing to unpublish",
    )
    with pytest.raises(ClientError) as excinfo:
        change(entityIdentifier="dp1", entityType="DATA_PRODUCT", action="PUBLISH")
    assert error_of(excinfo) == ("ResourceNotFoundException", "Data product dp1 not found")
    with pytest.raises(ClientError) as excinfo:
        change(entityIdentifier=asset_id, entityType="ASSET", action="PUBLISH", entityRevision="3")
    assert error_of(excinfo) == (
        "ResourceNotFoundException",
        f"Asset {asset_id} revision 3 not found (latest is 1)",
    )
    outsider = outsider_session(mesh.cloud).client("datazone", endpoint_url=mesh.cloud.url)
    with pytest.raises(ClientError) as excinfo:
        outsider.create_listing_change_set(
            domainIdentifier=mesh.domain_id,
            entityIdentifier=asset_id,
            entityType="ASSET",
            action="PUBLISH",
        )
    assert error_of(excinfo)[0] == "AccessDeniedException"


def test_v1_data_source_binds_to_an_environment(mesh: Mesh) -> None:
    classic = create_domain(mesh.cloud, name="classic", version="V1")
    dz = mesh.datazone()
    [blueprint] = dz.list_environment_blueprints(
        domainIdentifier=classic["id"], managed=True, name="DefaultDataLake"
    )["items"]
    dz.put_environment_blueprint_configuration(
        domainIdentifier=classic["id"],
        environmentBlueprintIdentifier=blueprint["id"],
        enabledRegions=["us-east-1"],
        provisioningRoleArn=mesh.producer_setup.provisioning_role,
        manageAccessRoleArn=mesh.producer_setup.manage_access_role,
    )
    grant_blueprint(mesh.cloud, classic, DOMAIN_ACCOUNT, blueprint["id"])
    profile = dz.create_project_profile(
        domainIdentifier=classic["id"],
        name="classic",
        status="ENABLED",
        environmentConfigurations=[
            {
                "name": "lake",
                "environmentBlueprintId": blueprint["id"],
                "deploymentMode": "ON_CREATE",
                "deploymentOrder": 0,
                "awsAccount": {"awsAccountId": DOMAIN_ACCOUNT},
                "awsRegion": {"regionName": "us-east-1"},
            }
        ],
    )
    grant_profiles(mesh.cloud, classic, [profile["id"]])
    project = dz.create_project(
        domainIdentifier=classic["id"], name="classic", projectProfileId=profile["id"]
    )
    wait_project(mesh.cloud, classic["id"], project["id"])
    [environment] = dz.list_environments(
        domainIdentifier=classic["id"], projectIdentifier=project["id"]
    )["items"]
    common = {
        "domainIdentifier": classic["id"],
        "projectIdentifier": project["id"],
        "name": "classic",
        "type": "GLUE",
        "configuration": glue_filter("classic_db"),
    }
    with pytest.raises(ClientError) as excinfo:
        dz.create_data_source(**common)
    assert error_of(excinfo) == (
        "ValidationException",
        "environmentIdentifier or connectionIdentifier is required",
    )
    # The emulator does not provision V1 (DefaultDataLake) environments, so the V1 binding
    # reaches the environment's state check, not the V2 connection requirement.
    with pytest.raises(ClientError) as excinfo:
        dz.create_data_source(environmentIdentifier=environment["id"], **common)
    assert error_of(excinfo) == (
        "ConflictException",
        f"Environment {environment['id']} is CREATE_FAILED, not ACTIVE",
    )
