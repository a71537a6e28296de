"""The whole SageMaker Unified Studio workflow of research/workflow.md, phases A to M, with
plain boto3 across the domain/producer account and the consumer account, then the
teardown in §2.2's order — and the emulator's inventory of both accounts afterwards is
exactly what it was before the set-up.

The run happens once per module (`workflow` fixture); the tests check what it recorded:
that it succeeded step by step (asserted as it goes), that nothing is left behind, and
that every DataZone operation the emulator implements is exercised, here or by a named
test elsewhere (so every one of them has had its responses validated against the
botocore model, which the strict test emulator does on every call).
"""

from __future__ import annotations

import ast
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from smus_mesh_emulator.datazone.responses import implemented_operations
from smus_mesh_emulator.server import EmulatorServer
from tests.emulator.datazone_setup import COLUMNS, ROWS, csv_bytes
from tests.emulator.datazone_support import poll
from tests.support import CONSUMER_ACCOUNT as C
from tests.support import DOMAIN_ACCOUNT as D
from tests.support import REGION, Cloud

DATAZONE = "datazone.amazonaws.com"
DATA_BUCKET = f"sales-data-{D}"
SOURCE_DB, SOURCE_TABLE = "sales_db", "orders"
RAM_PERMISSION = (
    "arn:aws:ram::aws:permission/AWSRAMPermissionsAmazonDatazoneDomainExtendedServiceAccess"
)
IAM_ALLOWED_PRINCIPALS = {"DataLakePrincipalIdentifier": "IAM_ALLOWED_PRINCIPALS"}
CSV_SERDE = "org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe"
POLICY = "arn:aws:iam::aws:policy/"


def trust(actions: list[str], conditions: dict[str, Any]) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": DATAZONE},
                    "Action": actions,
                    "Condition": conditions,
                }
            ],
        }
    )


def gone(read: Any) -> bool:
    """True when `read()` answers ResourceNotFoundException."""
    try:
        read()
    except ClientError as error:
        return bool(error.response["Error"]["Code"] == "ResourceNotFoundException")
    return False


@dataclass
class Project:
    id: str
    environments: dict[str, dict[str, Any]] = field(default_factory=dict)  # by name
    role_arn: str = ""


@dataclass
class Workflow:
    """research/workflow.md, one method per phase; state kept between phases."""

    cloud: Cloud
    domain: dict[str, Any] = field(default_factory=dict)
    roles: dict[str, list[str]] = field(default_factory=lambda: {D: [], C: []})
    buckets: dict[str, list[str]] = field(default_factory=lambda: {D: [], C: []})
    manage_access: dict[str, str] = field(default_factory=dict)
    provisioning: dict[str, str] = field(default_factory=dict)
    blueprints: dict[str, dict[str, str]] = field(default_factory=dict)  # account -> name -> id
    blueprint_grants: dict[str, list[str]] = field(default_factory=lambda: {D: [], C: []})
    profiles: dict[str, str] = field(default_factory=dict)
    profile_grant: str = ""
    share_arn: str = ""
    producer: Project = field(default_factory=lambda: Project(""))
    consumer: Project = field(default_factory=lambda: Project(""))
    data_source: str = ""
    asset: str = ""
    listing: str = ""
    request: str = ""
    subscription: str = ""
    target_name: str = ""
    consumer_db: str = ""

    def client(self, service: str, account: str = D) -> Any:
        return self.cloud.client(service, account)

    @property
    def dz(self) -> Any:
        return self.client("datazone")

    @property
    def domain_id(self) -> str:
        return str(self.domain["id"])

    def create_role(
        self, account: str, name: str, policy: str, managed: list[str], path: str = "/"
    ) -> str:
        iam = self.client("iam", account)
        arn = str(
            iam.create_role(RoleName=name, Path=path, AssumeRolePolicyDocument=policy)["Role"][
                "Arn"
            ]
        )
        for policy_name in managed:
            iam.attach_role_policy(RoleName=name, PolicyArn=POLICY + policy_name)
        self.roles[account].append(name)
        return arn

    # --- A: roles before the domain --------------------------------------------------------------
    def phase_a_roles(self) -> None:
        source = {"StringEquals": {"aws:SourceAccount": D}}
        self.execution_role = self.create_role(
            D,
            "AmazonSageMakerDomainExecution",
            trust(
                ["sts:AssumeRole", "sts:TagSession", "sts:SetContext"],
                {**source, "ForAllValues:StringLike": {"aws:TagKeys": "datazone*"}},
            ),
            ["service-role/SageMakerStudioDomainExecutionRolePolicy"],
            path="/service-role/",
        )
        self.service_role = self.create_role(
            D,
            "AmazonSageMakerDomainService",
            trust(["sts:AssumeRole"], source),
            ["service-role/SageMakerStudioDomainServiceRolePolicy"],
            path="/service-role/",
        )
        for account in (D, C):  # the domain account's id, in C too
            self.provisioning[account] = self.create_role(
                account,
                f"AmazonSageMakerProvisioning-{D}",
                trust(["sts:AssumeRole"], source),
                ["service-role/SageMakerStudioProjectProvisioningRolePolicy"],
            )

    # --- B: the producer's LF-managed table ------------------------------------------------------
    def phase_b_data(self) -> None:
        lakeformation = self.client("lakeformation")
        settings = lakeformation.get_data_lake_settings()["DataLakeSettings"]
        settings["DataLakeAdmins"] = [
            *settings.get("DataLakeAdmins", []),
            {"DataLakePrincipalIdentifier": f"arn:aws:iam::{D}:role/OrganizationAccountAccessRole"},
        ]
        lakeformation.put_data_lake_settings(DataLakeSettings=settings)
        s3 = self.client("s3")
        s3.create_bucket(Bucket=DATA_BUCKET)
        self.buckets[D].append(DATA_BUCKET)
        s3.put_object(Bucket=DATA_BUCKET, Key=f"{SOURCE_TABLE}/part-0.csv", Body=csv_bytes())
        glue = self.client("glue")
        glue.create_database(DatabaseInput={"Name": SOURCE_DB})
        glue.create_table(
            DatabaseName=SOURCE_DB,
            TableInput={
                "Name": SOURCE_TABLE,
                "Description": "Orders of the quarter",
                "TableType": "EXTERNAL_TABLE",
                "Parameters": {"classification": "csv", "skip.header.line.count": "1"},
                "StorageDescriptor": {
                    "Columns": [{"Name": name, "Type": kind} for name, kind in COLUMNS],
                    "Location": f"s3://{DATA_BUCKET}/{SOURCE_TABLE}/",
                    "SerdeInfo": {
                        "SerializationLibrary": CSV_SERDE,
                        "Parameters": {"field.delim": ","},
                    },
                },
            },
        )
        for resource in (
            {"Table": {"DatabaseName": SOURCE_DB, "Name": SOURCE_TABLE}},
            {"Database": {"Name": SOURCE_DB}},
        ):
            lakeformation.revoke_permissions(
                Principal=IAM_ALLOWED_PRINCIPALS, Resource=resource, Permissions=["ALL"]
            )
        lakeformation.register_resource(
            ResourceArn=f"arn:aws:s3:::{DATA_BUCKET}",
            UseServiceLinkedRole=True,
            HybridAccessEnabled=False,
        )

    # --- C: the domain ---------------------------------------------------------------------------
    def phase_c_domain(self) -> None:
        created = self.dz.create_domain(
            name="mesh",
            domainVersion="V2",
            domainExecutionRole=self.execution_role,
            serviceRole=self.service_role,
            singleSignOn={"type": "DISABLED"},
        )
        self.domain = dict(
            poll(
                lambda: self.dz.get_domain(identifier=created["id"]),
                lambda d: d["status"] != "CREATING",
                "domain",
            )
        )
        assert self.domain["status"] == "AVAILABLE"
        arn = self.domain["arn"]
        for account in (D, C):  # needs the domain ARN: source account and ARN are the domain's
            self.manage_access[account] = self.create_role(
                account,
                f"AmazonSageMakerManageAccess-{REGION}-{self.domain_id}",
                trust(
                    ["sts:AssumeRole"],
                    {"StringEquals": {"aws:SourceAccount": D}, "ArnEquals": {"aws:SourceArn": arn}},
                ),
                [
                    "service-role/AmazonDataZoneGlueManageAccessRolePolicy",
                    "service-role/AmazonDataZoneRedshiftManageAccessRolePolicy",
                    "AmazonDataZoneSageMakerManageAccessRolePolicy",
                ],
            )

    # --- D: account association through RAM ------------------------------------------------------
    def phase_d_association(self) -> None:
        ram = self.client("ram")
        self.share_arn = ram.create_resource_share(
            name=f"DataZone-{self.domain['name']}-{self.domain_id}",
            resourceArns=[self.domain["arn"]],
            principals=[C],
            permissionArns=[RAM_PERMISSION],
            allowExternalPrincipals=True,
        )["resourceShare"]["resourceShareArn"]
        member = self.client("ram", C)
        [invitation] = member.get_resource_share_invitations(resourceShareArns=[self.share_arn])[
            "resourceShareInvitations"
        ]
        member.accept_resource_share_invitation(
            resourceShareInvitationArn=invitation["resourceShareInvitationArn"]
        )
        poll(
            lambda: ram.get_resource_share_associations(
                associationType="PRINCIPAL", resourceShareArns=[self.share_arn], principal=C
            )["resourceShareAssociations"],
            lambda items: bool(items) and items[0]["status"] == "ASSOCIATED",
            "RAM association",
        )

    # --- E: blueprints, configurations and grants, each account with its own credentials ---------
    def phase_e_blueprints(self) -> None:
        for account in (D, C):
            bucket = f"amazon-sagemaker-{account}-{REGION}-{self.domain_id.removeprefix('dzd_')}"
            self.client("s3", account).create_bucket(Bucket=bucket)
            self.buckets[account].append(bucket)
            dz = self.client("datazone", account)
            self.blueprints[account] = {}
            for name in ("Tooling", "DataLake"):
                [blueprint] = dz.list_environment_blueprints(
                    domainIdentifier=self.domain_id, managed=True, name=name
                )["items"]
                self.blueprints[account][name] = blueprint["id"]
                dz.put_environment_blueprint_configuration(
                    domainIdentifier=self.domain_id,
                    environmentBlueprintIdentifier=blueprint["id"],
                    enabledRegions=[REGION],
                    provisioningRoleArn=self.provisioning[account],
                    manageAccessRoleArn=self.manage_access[account],
                    regionalParameters={REGION: {"S3Location": f"s3://{bucket}"}},
                )
                grant = dz.add_policy_grant(
                    domainIdentifier=self.domain_id,
                    entityType="ENVIRONMENT_BLUEPRINT_CONFIGURATION",
                    entityIdentifier=f"{account}:{blueprint['id']}",
                    policyType="CREATE_ENVIRONMENT_FROM_BLUEPRINT",
                    detail={"createEnvironmentFromBlueprint": {}},
                    principal=self.contributors(),
                )
                self.blueprint_grants[account].append(grant["grantId"])
            configured = dz.list_environment_blueprint_configurations(
                domainIdentifier=self.domain_id
            )
            assert len(configured["items"]) == 2

    def contributors(self) -> dict[str, Any]:
        return {
            "project": {
                "projectDesignation": "CONTRIBUTOR",
                "projectGrantFilter": {
                    "domainUnitFilter": {
                        "domainUnit": self.domain["rootDomainUnitId"],
                        "includeChildDomainUnits": True,
                    }
                },
            }
        }

    # --- F: project profiles and their grant -----------------------------------------------------
    def phase_f_profiles(self) -> None:
        for name, account, glue_db in (
            ("producer", D, "producer_db"),
            ("consumer", C, "consumer_db"),
        ):
            configurations = []
            for order, (config_name, blueprint, overrides) in enumerate(
                (
                    (
                        "Tooling",
                        "Tooling",
                        [{"name": "enableSpaces", "value": "false", "isEditable": False}],
                    ),
                    (
                        "Lakehouse Database",
                        "DataLake",
                        [{"name": "glueDbName", "value": glue_db, "isEditable": True}],
                    ),
                )
            ):
                configurations.append(
                    {
                        "name": config_name,
                        "environmentBlueprintId": self.blueprints[account][blueprint],
                        "deploymentMode": "ON_CREATE",
                        "deploymentOrder": order,
                        "awsAccount": {"awsAccountId": account},
                        "awsRegion": {"regionName": REGION},
                        "configurationParameters": {"parameterOverrides": overrides},
                    }
                )
            profile = self.dz.create_project_profile(
                domainIdentifier=self.domain_id,
                name=name,
                status="ENABLED",
                domainUnitIdentifier=self.domain["rootDomainUnitId"],
                environmentConfigurations=configurations,
            )
            self.profiles[name] = profile["id"]
        self.profile_grant = self.dz.add_policy_grant(
            domainIdentifier=self.domain_id,
            entityType="DOMAIN_UNIT",
            entityIdentifier=self.domain["rootDomainUnitId"],
            policyType="CREATE_PROJECT_FROM_PROJECT_PROFILE",
            detail={
                "createProjectFromProjectProfile": {
                    "projectProfiles": list(self.profiles.values()),
                    "includeChildDomainUnits": True,
                }
            },
            principal={"user": {"allUsersGrantFilter": {}}},
        )["grantId"]

    # --- G: projects and their environments ------------------------------------------------------
    def phase_g_projects(self) -> None:
        for name in ("producer", "consumer"):
            project = self.dz.create_project(
                domainIdentifier=self.domain_id, name=name, projectProfileId=self.profiles[name]
            )
            setattr(self, name, Project(project["id"]))
        for project, account in ((self.producer, D), (self.consumer, C)):
            deployed = poll(
                lambda p=project: self.dz.get_project(
                    domainIdentifier=self.domain_id, identifier=p.id
                ),
                lambda p: (
                    p["environmentDeploymentDetails"]["overallDeploymentStatus"]
                    not in ("PENDING_DEPLOYMENT", "IN_PROGRESS")
                ),
                "project deployment",
            )
            assert (
                deployed["environmentDeploymentDetails"]["overallDeploymentStatus"] == "SUCCESSFUL"
            )
            assert deployed["projectStatus"] == "ACTIVE"
            for summary in self.dz.list_environments(
                domainIdentifier=self.domain_id, projectIdentifier=project.id
            )["items"]:
                environment = self.dz.get_environment(
                    domainIdentifier=self.domain_id, identifier=summary["id"]
                )
                assert (environment["status"], environment["awsAccountId"]) == ("ACTIVE", account)
                project.environments[environment["name"]] = environment
            tooling = project.environments["Tooling"]
            project.role_arn = next(
                r["value"] for r in tooling["provisionedResources"] if r["name"] == "userRoleArn"
            )
        connections = self.dz.list_connections(
            domainIdentifier=self.domain_id,
            projectIdentifier=self.producer.id,
            environmentIdentifier=self.producer.environments["Tooling"]["id"],
        )["items"]
        self.lakehouse_connection = next(
            c["connectionId"] for c in connections if c["name"] == "project.default_lakehouse"
        )

    # --- H: Lake Formation grants that let DataZone import ---------------------------------------
    def phase_h_grants(self) -> None:
        lakeformation = self.client("lakeformation")
        table = {"Table": {"DatabaseName": SOURCE_DB, "Name": SOURCE_TABLE}}
        for principal, resource, permissions in (
            (self.producer.role_arn, table, ["ALL"]),
            (self.manage_access[D], {"Database": {"Name": SOURCE_DB}}, ["DESCRIBE"]),
            (self.manage_access[D], table, ["DESCRIBE", "SELECT"]),
        ):
            lakeformation.grant_permissions(
                Principal={"DataLakePrincipalIdentifier": principal},
                Resource=resource,
                Permissions=permissions,
                PermissionsWithGrantOption=permissions,
            )

    # --- I: data source and run ------------------------------------------------------------------
    def phase_i_import(self) -> None:
        source = self.dz.create_data_source(
            domainIdentifier=self.domain_id,
            projectIdentifier=self.producer.id,
            name="sales",
            type="GLUE",
            connectionIdentifier=self.lakehouse_connection,
            enableSetting="ENABLED",
            configuration={
                "glueRunConfiguration": {
                    "relationalFilterConfigurations": [
                        {
                            "databaseName": SOURCE_DB,
                            "filterExpressions": [{"type": "INCLUDE", "expression": SOURCE_TABLE}],
                        }
                    ]
                }
            },
        )
        self.data_source = source["id"]
        ready = poll(
            lambda: self.dz.get_data_source(
                domainIdentifier=self.domain_id, identifier=self.data_source
            ),
            lambda s: s["status"] != "CREATING",
            "data source",
        )
        assert ready["status"] == "READY"
        [detail] = ready["selfGrantStatus"]["glueSelfGrantStatus"]["selfGrantStatusDetails"]
        assert detail["status"] == "GRANTED"
        run = self.dz.start_data_source_run(
            domainIdentifier=self.domain_id, dataSourceIdentifier=self.data_source
        )
        finished = poll(
            lambda: self.dz.get_data_source_run(
                domainIdentifier=self.domain_id, identifier=run["id"]
            ),
            lambda r: r["status"] in ("SUCCESS", "PARTIALLY_SUCCEEDED", "FAILED"),
            "data source run",
        )
        assert finished["status"] == "SUCCESS"
        assert finished["runStatisticsForAssets"]["added"] == 1
        [activity] = self.dz.list_data_source_run_activities(
            domainIdentifier=self.domain_id, identifier=run["id"]
        )["items"]
        assert activity["dataAssetStatus"] == "SUCCEEDED_CREATED"
        self.asset = activity["dataAssetId"]

    # --- J: publish and find it from the consumer side -------------------------------------------
    def phase_j_publish(self) -> None:
        found = self.dz.search(
            domainIdentifier=self.domain_id,
            searchScope="ASSET",
            owningProjectIdentifier=self.producer.id,
            searchText=SOURCE_TABLE,
        )["items"]
        assert [item["assetItem"]["identifier"] for item in found] == [self.asset]
        asset = self.dz.get_asset(domainIdentifier=self.domain_id, identifier=self.asset)
        [form] = asset["formsOutput"]
        assert json.loads(form["content"])["tableName"] == SOURCE_TABLE
        change = self.dz.create_listing_change_set(
            domainIdentifier=self.domain_id,
            entityIdentifier=self.asset,
            entityType="ASSET",
            action="PUBLISH",
        )
        self.listing = change["listingId"]
        listing = poll(
            lambda: self.dz.get_listing(domainIdentifier=self.domain_id, identifier=self.listing),
            lambda item: item["status"] != "CREATING",
            "listing",
        )
        assert listing["status"] == "ACTIVE"
        results = poll(
            lambda: self.dz.search_listings(
                domainIdentifier=self.domain_id,
                searchText=SOURCE_TABLE,
                filters={
                    "and": [
                        {"filter": {"attribute": "owningProjectId", "value": self.producer.id}},
                        {
                            "filter": {
                                "attribute": "amazonmetadata.sourceCategory",
                                "value": "asset",
                            }
                        },
                    ]
                },
                additionalAttributes=["FORMS"],
            )["items"],
            bool,
            "search listings",
        )
        [result] = results
        assert (result["assetListing"]["listingId"], result["assetListing"]["entityId"]) == (
            self.listing,
            self.asset,
        )

    # --- K: subscribe, and the query is still denied ---------------------------------------------
    def phase_k_subscribe(self) -> None:
        request = self.dz.create_subscription_request(
            domainIdentifier=self.domain_id,
            subscribedPrincipals=[{"project": {"identifier": self.consumer.id}}],
            subscribedListings=[{"identifier": self.listing}],
            requestReason="Quarterly revenue report",
        )
        assert request["status"] == "PENDING"
        self.request = request["id"]
        targets = self.dz.list_subscription_targets(
            domainIdentifier=self.domain_id,
            environmentIdentifier=self.consumer.environments["Lakehouse Database"]["id"],
        )["items"]
        [target] = targets
        self.consumer_db = json.loads(target["subscriptionTargetConfig"][0]["content"])[
            "databaseName"
        ]
        assert target["authorizedPrincipals"] == [self.consumer.role_arn]
        # A resource link the consumer's administrator made to the producer's table: Lake
        # Formation, not the missing link, is what stops the project role before acceptance.
        self.client("glue", C).create_table(
            DatabaseName=self.consumer_db,
            TableInput={
                "Name": "orders_probe",
                "TargetTable": {"CatalogId": D, "DatabaseName": SOURCE_DB, "Name": SOURCE_TABLE},
            },
        )
        state, reason, _ = self.query("orders_probe")
        assert state == "FAILED"
        assert "Insufficient Lake Formation permission(s)" in str(reason)

    def query(self, table: str) -> tuple[str, str | None, list[list[str]]]:
        """The consumer project role's query in C, with the project's Athena workgroup."""
        [athena_connection] = self.dz.list_connections(
            domainIdentifier=self.domain_id, projectIdentifier=self.consumer.id, type="ATHENA"
        )["items"]
        connection = self.dz.get_connection(
            domainIdentifier=self.domain_id, identifier=athena_connection["connectionId"]
        )
        workgroup = connection["props"]["athenaProperties"]["workgroupName"]
        credentials = self.dz.get_environment_credentials(
            domainIdentifier=self.domain_id,
            environmentIdentifier=self.consumer.environments["Tooling"]["id"],
        )
        athena = self.cloud.session(C).client(
            "athena",
            endpoint_url=self.cloud.url,
            aws_access_key_id=credentials["accessKeyId"],
            aws_secret_access_key=credentials["secretAccessKey"],
            aws_session_token=credentials["sessionToken"],
        )
        sql = f'SELECT * FROM "{self.consumer_db}"."{table}" ORDER BY id LIMIT 10'  # noqa: S608
        query_id = athena.start_query_execution(QueryString=sql, WorkGroup=workgroup)[
            "QueryExecutionId"
        ]
        execution = poll(
            lambda: athena.get_query_execution(QueryExecutionId=query_id)["QueryExecution"],
            lambda e: e["Status"]["State"] in ("SUCCEEDED", "FAILED", "CANCELLED"),
            "query",
        )
        status = execution["Status"]
        if status["State"] != "SUCCEEDED":
            return status["State"], status.get("StateChangeReason"), []
        rows = athena.get_query_results(QueryExecutionId=query_id)["ResultSet"]["Rows"]
        return "SUCCEEDED", None, [[d.get("VarCharValue", "") for d in row["Data"]] for row in rows]

    # --- L: accept, wait for the grant -----------------------------------------------------------
    def phase_l_accept(self) -> None:
        pending = self.dz.list_subscription_requests(
            domainIdentifier=self.domain_id, approverProjectId=self.producer.id, status="PENDING"
        )["items"]
        assert [r["id"] for r in pending] == [self.request]
        self.dz.accept_subscription_request(
            domainIdentifier=self.domain_id,
            identifier=self.request,
            decisionComment="Approved for Q3",
        )
        details = self.dz.get_subscription_request_details(
            domainIdentifier=self.domain_id, identifier=self.request
        )
        assert details["status"] == "ACCEPTED"
        [subscription] = self.dz.list_subscriptions(
            domainIdentifier=self.domain_id,
            subscriptionRequestIdentifier=self.request,
            status="APPROVED",
        )["items"]
        self.subscription = subscription["id"]
        grants = self.wait_grants()
        [grant] = grants
        assert grant["status"] == "COMPLETED"
        [asset] = grant["assets"]
        assert asset["status"] == "GRANTED"
        self.target_name = asset["targetName"]

    def wait_grants(self) -> list[dict[str, Any]]:
        return list(
            poll(
                lambda: self.dz.list_subscription_grants(
                    domainIdentifier=self.domain_id, subscriptionId=self.subscription
                )["items"],
                lambda items: (
                    bool(items)
                    and all(g["status"] not in ("PENDING", "IN_PROGRESS") for g in items)
                ),
                "subscription grants",
            )
        )

    # --- M: the consumer queries; then the producer revokes --------------------------------------
    def phase_m_query_and_revoke(self) -> None:
        header = [name for name, _ in COLUMNS]
        assert self.query(self.target_name) == ("SUCCEEDED", None, [header, *map(list, ROWS)])
        revoked = self.dz.revoke_subscription(
            domainIdentifier=self.domain_id, identifier=self.subscription, retainPermissions=False
        )
        assert revoked["status"] == "REVOKED"
        current = self.dz.get_subscription(
            domainIdentifier=self.domain_id, identifier=self.subscription
        )
        assert current["status"] == "REVOKED"
        [grant] = self.wait_grants()
        assert grant["assets"][0]["status"] == "REVOKED"
        state, reason, _ = self.query("orders_probe")
        assert state == "FAILED" and "Insufficient Lake Formation permission(s)" in str(reason)
        self.client("glue", C).delete_table(DatabaseName=self.consumer_db, Name="orders_probe")

    # --- teardown, research/workflow.md §2.2 -----------------------------------------------------
    def teardown(self) -> None:
        dz, domain = self.dz, self.domain_id
        # 1. subscriptions are revoked; their grants deleted
        for grant in dz.list_subscription_grants(
            domainIdentifier=domain, subscriptionId=self.subscription
        )["items"]:
            dz.delete_subscription_grant(domainIdentifier=domain, identifier=grant["id"])
            poll(
                lambda g=grant: gone(
                    lambda: dz.get_subscription_grant(domainIdentifier=domain, identifier=g["id"])
                ),
                bool,
                "grant deletion",
            )
        # 3. listings and assets
        dz.create_listing_change_set(
            domainIdentifier=domain,
            entityIdentifier=self.asset,
            entityType="ASSET",
            action="UNPUBLISH",
        )
        dz.delete_asset(domainIdentifier=domain, identifier=self.asset)
        # 4. data sources
        dz.delete_data_source(domainIdentifier=domain, identifier=self.data_source)
        poll(
            lambda: gone(
                lambda: dz.get_data_source(domainIdentifier=domain, identifier=self.data_source)
            ),
            bool,
            "data source deletion",
        )
        # 5. environments (latest deployed first), 6. projects
        for project in (self.consumer, self.producer):
            for name in ("Lakehouse Database", "Tooling"):
                environment_id = project.environments[name]["id"]
                dz.delete_environment(domainIdentifier=domain, identifier=environment_id)
                poll(
                    lambda e=environment_id: gone(
                        lambda: dz.get_environment(domainIdentifier=domain, identifier=e)
                    ),
                    bool,
                    "environment deletion",
                )
            dz.delete_project(
                domainIdentifier=domain, identifier=project.id, skipDeletionCheck=True
            )
            poll(
                lambda p=project: gone(
                    lambda: dz.get_project(domainIdentifier=domain, identifier=p.id)
                ),
                bool,
                "project deletion",
            )
        # 7. policy grants (each account's own), 8. profiles, 9. blueprint configurations
        for account in (C, D):
            account_dz = self.client("datazone", account)
            for blueprint in self.blueprints[account].values():
                account_dz.remove_policy_grant(
                    domainIdentifier=domain,
                    entityType="ENVIRONMENT_BLUEPRINT_CONFIGURATION",
                    entityIdentifier=f"{account}:{blueprint}",
                    policyType="CREATE_ENVIRONMENT_FROM_BLUEPRINT",
                    principal=self.contributors(),
                )
        dz.remove_policy_grant(
            domainIdentifier=domain,
            entityType="DOMAIN_UNIT",
            entityIdentifier=self.domain["rootDomainUnitId"],
            policyType="CREATE_PROJECT_FROM_PROJECT_PROFILE",
            grantIdentifier=self.profile_grant,
            principal={"user": {"allUsersGrantFilter": {}}},
        )
        for profile in self.profiles.values():
            dz.delete_project_profile(domainIdentifier=domain, identifier=profile)
        for account in (C, D):
            account_dz = self.client("datazone", account)
            for blueprint in self.blueprints[account].values():
                account_dz.delete_environment_blueprint_configuration(
                    domainIdentifier=domain, environmentBlueprintIdentifier=blueprint
                )
        # 10. the domain
        dz.delete_domain(identifier=domain, cascadeDelete=True)
        poll(lambda: gone(lambda: dz.get_domain(identifier=domain)), bool, "domain deletion")
        # 11. RAM
        self.client("ram").delete_resource_share(resourceShareArn=self.share_arn)
        # 12. no DataZone stack left in either account
        for account in (D, C):
            stacks = self.client("cloudformation", account).list_stacks()["StackSummaries"]
            assert all(s["StackStatus"] == "DELETE_COMPLETE" for s in stacks), stacks
        # 13. Lake Formation and Glue: the source table, its registration, the admin
        self.client("glue").delete_database(Name=SOURCE_DB)
        lakeformation = self.client("lakeformation")
        lakeformation.deregister_resource(ResourceArn=f"arn:aws:s3:::{DATA_BUCKET}")
        settings = lakeformation.get_data_lake_settings()["DataLakeSettings"]
        settings["DataLakeAdmins"] = [
            admin
            for admin in settings["DataLakeAdmins"]
            if admin["DataLakePrincipalIdentifier"]
            != f"arn:aws:iam::{D}:role/OrganizationAccountAccessRole"
        ]
        lakeformation.put_data_lake_settings(DataLakeSettings=settings)
        # 15. buckets, emptied first
        for account, buckets in self.buckets.items():
            s3 = self.client("s3", account)
            for bucket in buckets:
                for item in s3.list_objects_v2(Bucket=bucket).get("Contents", []):
                    s3.delete_object(Bucket=bucket, Key=item["Key"])
                s3.delete_bucket(Bucket=bucket)
        # 16. IAM roles last
        for account, names in self.roles.items():
            iam = self.client("iam", account)
            for name in names:
                for attached in iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"]:
                    iam.detach_role_policy(RoleName=name, PolicyArn=attached["PolicyArn"])
                iam.delete_role(RoleName=name)

    def run(self) -> None:
        """Phases A to M (the teardown is separate, so the set-up can be inspected)."""
        self.phase_a_roles()
        self.phase_b_data()
        self.phase_c_domain()
        self.phase_d_association()
        self.phase_e_blueprints()
        self.phase_f_profiles()
        self.phase_g_projects()
        self.phase_h_grants()
        self.phase_i_import()
        self.phase_j_publish()
        self.phase_k_subscribe()
        self.phase_l_accept()
        self.phase_m_query_and_revoke()


@dataclass
class Record:
    before: dict[str, Any]
    during: dict[str, Any]
    after: dict[str, Any]
    datazone_operations: set[str]


@pytest.fixture(scope="module")
def workflow(emulator_server: EmulatorServer) -> Iterator[Record]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AWS_ENDPOINT_URL", emulator_server.url)
        cloud = Cloud(emulator_server.url)
        cloud.reset()
        before = cloud.inventory()
        cloud.admin("POST", "calls/reset")
        workflow = Workflow(cloud)
        workflow.run()
        during = cloud.inventory()
        workflow.teardown()
        operations = {c["operation"] for c in cloud.calls() if c["service"] == "datazone"}
        yield Record(before, during, cloud.inventory(), operations)


def test_workflow_runs_and_its_teardown_leaves_both_accounts_as_they_were(workflow: Record) -> None:
    # The set-up really spanned both accounts...
    for account in (D, C):
        during = workflow.during[account]
        for kind in ("iam_roles", "s3_buckets", "cloudformation_stacks", "glue_databases"):
            assert during[kind], (account, kind)
    assert workflow.during[D]["datazone"] and workflow.during[D]["ram_shares"]
    assert workflow.during[D]["lakeformation_permissions"]
    # ...and the teardown undid all of it.
    assert workflow.after == workflow.before


MANUAL_GRANT = (
    "test_datazone_subscriptions.py::test_manual_grant_to_a_custom_target_with_a_chosen_name"
)
#: DataZone operations the workflow does not call, and the test that exercises each.
EXERCISED_ELSEWHERE: dict[str, str] = {
    "CancelSubscription": (
        "test_datazone_subscriptions.py::test_cancel_by_the_subscriber_revokes_access"
    ),
    "CreateEnvironment": (
        "test_datazone_projects.py::test_on_demand_environment_is_created_from_its_configuration"
    ),
    "CreateProjectMembership": (
        "test_datazone_projects.py::test_memberships_decide_who_gets_credentials"
    ),
    "CreateSubscriptionGrant": MANUAL_GRANT,
    "CreateSubscriptionTarget": MANUAL_GRANT,
    "CreateGroupProfile": (
        "test_identity_center.py::test_a_group_given_a_profile_becomes_a_member_of_a_manual_domain"
    ),
    "CreateUserProfile": "test_datazone_projects.py::test_membership_errors",
    "DeleteListing": "test_datazone_catalog.py::test_delete_listing",
    "DeleteProjectMembership": (
        "test_datazone_projects.py::test_memberships_decide_who_gets_credentials"
    ),
    "DeleteSubscriptionRequest": "test_datazone_subscriptions.py::test_reject_and_delete_a_request",
    "DeleteSubscriptionTarget": MANUAL_GRANT,
    "GetEnvironmentBlueprint": (
        "test_datazone_governance.py::test_blueprint_filters_and_user_parameters"
    ),
    "GetEnvironmentBlueprintConfiguration": (
        "test_datazone_governance.py::test_blueprint_configuration_round_trip"
    ),
    "GetGroupProfile": (
        "test_identity_center.py::test_users_and_groups_of_identity_center_become_project_members"
    ),
    "GetProjectProfile": "test_datazone_governance.py::test_project_profile_lifecycle",
    "GetSubscriptionTarget": MANUAL_GRANT,
    "GetUserProfile": "test_datazone_projects.py::test_list_and_update_projects",
    "ListDataSourceRuns": (
        "test_datazone_catalog.py::"
        "test_run_is_requested_then_running_and_blocks_a_second_run_and_deletion"
    ),
    "ListDataSources": "test_datazone_catalog.py::test_list_and_update_data_sources",
    "ListDomains": (
        "test_datazone_domains.py::test_list_domains_shows_the_accounts_domains_by_status"
    ),
    "ListPolicyGrants": "test_datazone_governance.py::test_blueprint_policy_grant_add_list_remove",
    "ListProjectMemberships": (
        "test_datazone_projects.py::test_memberships_decide_who_gets_credentials"
    ),
    "ListProjectProfiles": "test_datazone_governance.py::test_project_profile_lifecycle",
    "ListProjects": "test_datazone_projects.py::test_list_and_update_projects",
    "ListTagsForResource": "test_datazone_domains.py::test_domain_tags_round_trip",
    "RejectSubscriptionRequest": "test_datazone_subscriptions.py::test_reject_and_delete_a_request",
    "SearchUserProfiles": (
        "test_datazone_domains.py::test_search_user_profiles_finds_the_domain_creator"
    ),
    "TagResource": "test_datazone_domains.py::test_domain_tags_round_trip",
    "UntagResource": "test_datazone_domains.py::test_domain_tags_round_trip",
    "UpdateDataSource": "test_datazone_catalog.py::test_list_and_update_data_sources",
    "UpdateProject": "test_datazone_projects.py::test_list_and_update_projects",
    "UpdateProjectProfile": "test_datazone_governance.py::test_project_profile_lifecycle",
}


def _test_source(reference: str) -> str:
    path, name = reference.split("::")
    tree = ast.parse((Path(__file__).parent / path).read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and node.name == name:
            return ast.unparse(node)
    raise AssertionError(f"{reference} does not exist")


def test_every_implemented_datazone_operation_is_exercised(workflow: Record) -> None:
    from moto.core.utils import camelcase_to_underscores

    missing = sorted(
        implemented_operations() - workflow.datazone_operations - set(EXERCISED_ELSEWHERE)
    )
    assert missing == [], f"implemented DataZone operations no test exercises: {missing}"
    for operation, reference in EXERCISED_ELSEWHERE.items():
        assert f".{camelcase_to_underscores(operation)}(" in _test_source(reference), (
            operation,
            reference,
        )
