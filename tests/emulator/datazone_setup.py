"""Builders of a two-account SageMaker Unified Studio set-up for the catalog, subscription
and workflow tests, each step through boto3 as research/workflow.md describes it.

* `build_mesh`: a V2 domain in the domain account, the consumer account associated
  through RAM, both accounts' Tooling and DataLake blueprints enabled, and a deployed
  producer project (domain account) and consumer project (consumer account) — phases
  A and C to G, through `datazone_support`.
* `create_table` / `grant_import_access`: a Glue table over CSV data in S3, made
  LF-managed (phase B), and the Lake Formation grants that let DataZone import it
  (phase H).
* `create_data_source`, `run_data_source`, `publish`, `subscribe`, `accept`,
  `wait_grants`: phases I to L, polling like a client (every asynchronous object passes
  through its in-progress status first).

Other suites may use any of these; nothing here reaches into the emulator's internals.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import boto3
import pytest

from tests.emulator.datazone_support import (
    DATAZONE_USER_POLICY,
    AccountSetup,
    associate_account,
    create_domain,
    create_profile,
    create_role,
    enable_blueprints,
    environment_named,
    poll,
    wait_project,
)
from tests.support import (
    BASE_ACCOUNT,
    CONSUMER_ACCOUNT,
    DOMAIN_ACCOUNT,
    Cloud,
    credentials_session,
)

IAM_ALLOWED_PRINCIPALS = {"DataLakePrincipalIdentifier": "IAM_ALLOWED_PRINCIPALS"}
COLUMNS = [("id", "int"), ("item", "string"), ("quantity", "int")]
ROWS = [("1", "widget", "3"), ("2", "gadget", "5"), ("3", "gizmo", "7")]
RUN_DONE = ("SUCCESS", "PARTIALLY_SUCCEEDED", "FAILED")


@dataclass
class ProjectInfo:
    """A deployed project: its ids, account, role and environments' resources."""

    id: str
    name: str
    account: str
    role_arn: str
    tooling_id: str
    lakehouse_id: str
    glue_db: str
    lakehouse_connection: str
    workgroup: str


@dataclass
class Mesh:
    """The domain, both accounts' blueprint set-ups and the two projects."""

    cloud: Cloud
    domain: dict[str, Any]
    producer_setup: AccountSetup
    consumer_setup: AccountSetup
    producer: ProjectInfo
    consumer: ProjectInfo

    @property
    def domain_id(self) -> str:
        return str(self.domain["id"])

    def datazone(self, account: str = DOMAIN_ACCOUNT) -> Any:
        return self.cloud.client("datazone", account)


def deploy_project(
    cloud: Cloud,
    domain: dict[str, Any],
    profile_id: str,
    name: str,
    glue_db: str | None = None,
) -> ProjectInfo:
    """Create a project from a Tooling + Lakehouse Database profile (its Glue database
    named `glue_db` if given) and wait until both environments are ACTIVE."""
    datazone = cloud.client("datazone", DOMAIN_ACCOUNT)
    user_parameters = [
        {
            "environmentConfigurationName": "Lakehouse Database",
            "environmentParameters": [{"name": "glueDbName", "value": glue_db}],
        }
    ]
    project = datazone.create_project(
        domainIdentifier=domain["id"],
        name=name,
        projectProfileId=profile_id,
        **({"userParameters": user_parameters} if glue_db else {}),
    )
    deployed = wait_project(cloud, domain["id"], project["id"])
    assert deployed["environmentDeploymentDetails"]["overallDeploymentStatus"] == "SUCCESSFUL"
    tooling = environment_named(cloud, domain["id"], project["id"], "Tooling")
    lakehouse = environment_named(cloud, domain["id"], project["id"], "Lakehouse Database")
    resources = {r["name"]: r["value"] for r in tooling["provisionedResources"]}
    lake = {r["name"]: r["value"] for r in lakehouse["provisionedResources"]}
    connections = {
        c["name"]: c
        for c in datazone.list_connections(
            domainIdentifier=domain["id"], projectIdentifier=project["id"]
        )["items"]
    }
    return ProjectInfo(
        id=project["id"],
        name=name,
        account=tooling["awsAccountId"],
        role_arn=resources["userRoleArn"],
        tooling_id=tooling["id"],
        lakehouse_id=lakehouse["id"],
        glue_db=lake["glueDBName"],
        lakehouse_connection=connections["project.default_lakehouse"]["connectionId"],
        workgroup=connections["project.athena"]["props"]["athenaProperties"]["workgroupName"],
    )


def build_mesh(cloud: Cloud, consumer_account: str = CONSUMER_ACCOUNT) -> Mesh:
    """Domain, association, blueprints in both accounts, profiles, and the two projects
    (the consumer's environments in `consumer_account`)."""
    domain = create_domain(cloud)
    producer_setup = enable_blueprints(cloud, domain, DOMAIN_ACCOUNT)
    if consumer_account == DOMAIN_ACCOUNT:
        consumer_setup = producer_setup
    else:
        associate_account(cloud, domain, consumer_account)
        consumer_setup = enable_blueprints(cloud, domain, consumer_account)
    producer_profile = create_profile(cloud, domain, producer_setup, "producer", glue_db="prod_db")
    consumer_profile = create_profile(cloud, domain, consumer_setup, "consumer", glue_db="cons_db")
    return Mesh(
        cloud=cloud,
        domain=domain,
        producer_setup=producer_setup,
        consumer_setup=consumer_setup,
        producer=deploy_project(cloud, domain, producer_profile["id"], "producer"),
        consumer=deploy_project(cloud, domain, consumer_profile["id"], "consumer"),
    )


# --- phase B: an LF-managed Glue table -----------------------------------------------------


def org_role(account: str) -> str:
    return f"arn:aws:iam::{account}:role/OrganizationAccountAccessRole"


def make_lake_formation_admin(cloud: Cloud, account: str, principal: str) -> None:
    """Add `principal` to the account's data lake administrators (read-modify-write)."""
    lakeformation = cloud.client("lakeformation", account)
    settings = lakeformation.get_data_lake_settings()["DataLakeSettings"]
    admins = settings.get("DataLakeAdmins") or []
    if {"DataLakePrincipalIdentifier": principal} not in admins:
        settings["DataLakeAdmins"] = [*admins, {"DataLakePrincipalIdentifier": principal}]
        lakeformation.put_data_lake_settings(DataLakeSettings=settings)


def csv_bytes(rows: list[tuple[str, ...]] = ROWS) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([name for name, _ in COLUMNS])
    writer.writerows(rows)
    return buffer.getvalue().encode()


def create_table(
    cloud: Cloud,
    database: str,
    table: str,
    account: str = DOMAIN_ACCOUNT,
    lf_managed: bool = True,
    description: str | None = None,
) -> str:
    """A Glue table over a CSV object in S3 (bucket and database made if missing); with
    `lf_managed`, IAMAllowedPrincipals revoked and the location registered in Lake
    Formation mode. Returns the table's S3 location."""
    bucket = f"data-{database.replace('_', '-')}-{account}"
    location = f"s3://{bucket}/{table}/"
    s3 = cloud.client("s3", account)
    if bucket not in [b["Name"] for b in s3.list_buckets()["Buckets"]]:
        s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key=f"{table}/data.csv", Body=csv_bytes())
    make_lake_formation_admin(cloud, account, org_role(account))
    glue = cloud.client("glue", account)
    if database not in [d["Name"] for d in glue.get_databases()["DatabaseList"]]:
        glue.create_database(DatabaseInput={"Name": database})
    table_input: dict[str, Any] = {
        "Name": table,
        "TableType": "EXTERNAL_TABLE",
        "Parameters": {"classification": "csv", "skip.header.line.count": "1"},
        "StorageDescriptor": {
            "Columns": [{"Name": name, "Type": kind} for name, kind in COLUMNS],
            "Location": location,
            "InputFormat": "org.apache.hadoop.mapred.TextInputFormat",
            "OutputFormat": "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat",
            "SerdeInfo": {
                "SerializationLibrary": "org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe",
                "Parameters": {"field.delim": ","},
            },
        },
    }
    if description:
        table_input["Description"] = description
    glue.create_table(DatabaseName=database, TableInput=table_input)
    if lf_managed:
        lakeformation = cloud.client("lakeformation", account)
        for resource in (
            {"Table": {"DatabaseName": database, "Name": table}},
            {"Database": {"Name": database}},
        ):
            held = lakeformation.list_permissions(Resource=resource)["PrincipalResourcePermissions"]
            if any(p["Principal"] == IAM_ALLOWED_PRINCIPALS for p in held):
                lakeformation.revoke_permissions(
                    Principal=IAM_ALLOWED_PRINCIPALS, Resource=resource, Permissions=["ALL"]
                )
        arn = f"arn:aws:s3:::{bucket}"
        registered = [r["ResourceArn"] for r in lakeformation.list_resources()["ResourceInfoList"]]
        if arn not in registered:
            lakeformation.register_resource(
                ResourceArn=arn, UseServiceLinkedRole=True, HybridAccessEnabled=False
            )
    return location


# --- phase H: let DataZone import ------------------------------------------------------------


def grant_import_access(
    cloud: Cloud,
    database: str,
    table: str,
    project_role: str,
    manage_access_role: str,
    account: str = DOMAIN_ACCOUNT,
) -> None:
    """The producer project role: table ALL with grant option (AWS's GDC import script);
    the manage-access role: DESCRIBE (grantable) on the database, DESCRIBE and SELECT
    (grantable) on the table (DataZone docs)."""
    lakeformation = cloud.client("lakeformation", account)
    table_resource = {"Table": {"DatabaseName": database, "Name": table}}
    for principal, resource, permissions in (
        (project_role, table_resource, ["ALL"]),
        (manage_access_role, {"Database": {"Name": database}}, ["DESCRIBE"]),
        (manage_access_role, table_resource, ["DESCRIBE", "SELECT"]),
    ):
        lakeformation.grant_permissions(
            Principal={"DataLakePrincipalIdentifier": principal},
            Resource=resource,
            Permissions=permissions,
            PermissionsWithGrantOption=permissions,
        )


# --- phases I to L ----------------------------------------------------------------------------


def create_data_source(
    mesh: Mesh,
    database: str,
    expression: str = "*",
    name: str | None = None,
    publish_on_import: bool = False,
) -> dict[str, Any]:
    """A GLUE data source of the producer project on its lakehouse connection, READY."""
    datazone = mesh.datazone()
    source = datazone.create_data_source(
        domainIdentifier=mesh.domain_id,
        projectIdentifier=mesh.producer.id,
        connectionIdentifier=mesh.producer.lakehouse_connection,
        name=name or f"{database}-{expression}".replace("*", "all"),
        type="GLUE",
        publishOnImport=publish_on_import,
        configuration={
            "glueRunConfiguration": {
                "relationalFilterConfigurations": [
                    {
                        "databaseName": database,
                        "filterExpressions": [{"type": "INCLUDE", "expression": expression}],
                    }
                ]
            }
        },
    )
    return dict(
        poll(
            lambda: datazone.get_data_source(
                domainIdentifier=mesh.domain_id, identifier=source["id"]
            ),
            lambda s: s["status"] != "CREATING",
            "data source",
        )
    )


def run_data_source(mesh: Mesh, source_id: str) -> dict[str, Any]:
    """Start a run and poll it to its end; the run dict."""
    datazone = mesh.datazone()
    run = datazone.start_data_source_run(
        domainIdentifier=mesh.domain_id, dataSourceIdentifier=source_id
    )
    return dict(
        poll(
            lambda: datazone.get_data_source_run(
                domainIdentifier=mesh.domain_id, identifier=run["id"]
            ),
            lambda r: r["status"] in RUN_DONE,
            "data source run",
        )
    )


def activities(mesh: Mesh, run_id: str) -> list[dict[str, Any]]:
    items = mesh.datazone().list_data_source_run_activities(
        domainIdentifier=mesh.domain_id, identifier=run_id
    )["items"]
    return list(items)


def wait_listing(mesh: Mesh, listing_id: str) -> dict[str, Any]:
    datazone = mesh.datazone()
    return dict(
        poll(
            lambda: datazone.get_listing(domainIdentifier=mesh.domain_id, identifier=listing_id),
            lambda listing: listing["status"] != "CREATING",
            "listing",
        )
    )


def publish(mesh: Mesh, asset_id: str) -> dict[str, Any]:
    """Publish the asset and wait for its listing to be ACTIVE."""
    change = mesh.datazone().create_listing_change_set(
        domainIdentifier=mesh.domain_id,
        entityIdentifier=asset_id,
        entityType="ASSET",
        action="PUBLISH",
    )
    return wait_listing(mesh, change["listingId"])


def import_table(mesh: Mesh, database: str, table: str) -> str:
    """A new LF-managed producer table, the phase H grants, a data source and a run: the
    imported asset's id."""
    create_table(mesh.cloud, database, table)
    grant_import_access(
        mesh.cloud, database, table, mesh.producer.role_arn, mesh.producer_setup.manage_access_role
    )
    source = create_data_source(mesh, database, table, name=f"{database}-{table}")
    run = run_data_source(mesh, source["id"])
    assert run["status"] == "SUCCESS", run
    created = [a for a in activities(mesh, run["id"]) if a["technicalName"] == table]
    return str(created[0]["dataAssetId"])


def subscribe(mesh: Mesh, listing_id: str, project_id: str | None = None) -> dict[str, Any]:
    response = mesh.datazone().create_subscription_request(
        domainIdentifier=mesh.domain_id,
        subscribedPrincipals=[{"project": {"identifier": project_id or mesh.consumer.id}}],
        subscribedListings=[{"identifier": listing_id}],
        requestReason="needed for the quarterly report",
    )
    return dict(response)


def subscription_of_request(mesh: Mesh, request_id: str) -> dict[str, Any]:
    items = mesh.datazone().list_subscriptions(
        domainIdentifier=mesh.domain_id, subscriptionRequestIdentifier=request_id
    )["items"]
    assert len(items) == 1, items
    return dict(items[0])


def wait_grants(mesh: Mesh, subscription_id: str) -> list[dict[str, Any]]:
    """Poll ListSubscriptionGrants until every grant of the subscription has settled."""
    datazone = mesh.datazone()
    return list(
        poll(
            lambda: datazone.list_subscription_grants(
                domainIdentifier=mesh.domain_id, subscriptionId=subscription_id
            )["items"],
            lambda grants: (
                bool(grants) and all(g["status"] not in ("PENDING", "IN_PROGRESS") for g in grants)
            ),
            "subscription grants",
        )
    )


def published_listing(mesh: Mesh, database: str, table: str) -> tuple[str, str]:
    """Import and publish a new table: (asset id, listing id)."""
    asset_id = import_table(mesh, database, table)
    return asset_id, str(publish(mesh, asset_id)["id"])


def accepted_subscription(
    mesh: Mesh, listing_id: str
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Subscribe the consumer project, accept, and wait for the grants: (subscription, grants)."""
    request = subscribe(mesh, listing_id)
    mesh.datazone().accept_subscription_request(
        domainIdentifier=mesh.domain_id, identifier=request["id"], decisionComment="ok"
    )
    subscription = subscription_of_request(mesh, request["id"])
    return subscription, wait_grants(mesh, subscription["id"])


# --- principals ----------------------------------------------------------------------------------


def outsider_session(
    cloud: Cloud, account: str = DOMAIN_ACCOUNT, name: str = "Outsider"
) -> boto3.Session:
    """A session of a role in `account` that is a member of no DataZone project (and
    may call DataZone: AmazonDataZoneFullUserAccess)."""
    iam = cloud.client("iam", account)
    if name not in [r["RoleName"] for r in iam.list_roles()["Roles"]]:
        create_role(
            cloud,
            account,
            name,
            '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": '
            f'{{"AWS": "arn:aws:iam::{BASE_ACCOUNT}:root"}}, "Action": "sts:AssumeRole"}}]}}',
        )
        iam.attach_role_policy(RoleName=name, PolicyArn=DATAZONE_USER_POLICY)
    credentials = cloud.client("sts", BASE_ACCOUNT).assume_role(
        RoleArn=f"arn:aws:iam::{account}:role/{name}", RoleSessionName="outsider"
    )["Credentials"]
    return credentials_session(credentials)


def project_role_session(mesh: Mesh, environment_id: str) -> boto3.Session:
    """The project role's credentials from GetEnvironmentCredentials (phase M4)."""
    credentials = mesh.datazone().get_environment_credentials(
        domainIdentifier=mesh.domain_id, environmentIdentifier=environment_id
    )
    return credentials_session(credentials)


def athena_query(
    mesh: Mesh, project: ProjectInfo, sql: str
) -> tuple[str, str | None, list[list[str]]]:
    """Run `sql` with the project role's credentials in the project's account and
    workgroup: (final state, state change reason, rows including the header row)."""
    session = project_role_session(mesh, project.tooling_id)
    athena = session.client("athena", endpoint_url=mesh.cloud.url)
    query_id = athena.start_query_execution(QueryString=sql, WorkGroup=project.workgroup)[
        "QueryExecutionId"
    ]
    execution = poll(
        lambda: athena.get_query_execution(QueryExecutionId=query_id)["QueryExecution"],
        lambda e: e["Status"]["State"] in ("SUCCEEDED", "FAILED", "CANCELLED"),
        "Athena query",
    )
    status = execution["Status"]
    if status["State"] != "SUCCEEDED":
        return status["State"], status.get("StateChangeReason"), []
    rows = athena.get_query_results(QueryExecutionId=query_id)["ResultSet"]["Rows"]
    return "SUCCEEDED", None, [[d.get("VarCharValue", "") for d in row["Data"]] for row in rows]


@contextmanager
def mesh_on(url: str) -> Iterator[Mesh]:
    """A fresh cloud on the emulator at `url` with the mesh built in it, for a module's
    tests (plain boto3 clients, which read `AWS_ENDPOINT_URL`)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AWS_ENDPOINT_URL", url)
        cloud = Cloud(url)
        cloud.reset()
        try:
            yield build_mesh(cloud)
        finally:
            cloud.close()
