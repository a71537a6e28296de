"""The RedshiftServerless managed blueprint: a project whose profile has every capability
(Tooling, Lakehouse Database, Redshift Serverless) deploys, its environment's stack holds a
namespace and a workgroup in the environment's account, plain boto3 reads and deletes them
through the redshift-serverless API, and deleting the project removes them."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from smus_mesh_emulator.validation import validate_parsed
from tests.emulator.datazone_support import (
    AccountSetup,
    create_domain,
    enable_blueprints,
    environment_named,
    grant_profiles,
    poll,
    wait_project,
)
from tests.support import CONSUMER_ACCOUNT, DOMAIN_ACCOUNT, REGION, Cloud


def _error(excinfo: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    error = excinfo.value.response["Error"]
    return error["Code"], error["Message"]


def _all_capabilities_profile(
    cloud: Cloud, domain: dict[str, Any], setup: AccountSetup
) -> dict[str, Any]:
    """The SMUS "all capabilities" style profile: Tooling first, then the Lakehouse
    Database and Redshift Serverless, in one account."""
    place = {"awsAccount": {"awsAccountId": setup.account}, "awsRegion": {"regionName": REGION}}
    profile = cloud.client("datazone", DOMAIN_ACCOUNT).create_project_profile(
        domainIdentifier=domain["id"],
        name="all-capabilities",
        status="ENABLED",
        environmentConfigurations=[
            {
                "name": "Tooling",
                "environmentBlueprintId": setup.blueprints["Tooling"],
                "deploymentMode": "ON_CREATE",
                "deploymentOrder": 0,
                **place,
            },
            {
                "name": "Lakehouse Database",
                "environmentBlueprintId": setup.blueprints["DataLake"],
                "deploymentMode": "ON_CREATE",
                "deploymentOrder": 1,
                **place,
            },
            {
                "name": "Redshift Serverless",
                "environmentBlueprintId": setup.blueprints["RedshiftServerless"],
                "deploymentMode": "ON_CREATE",
                "deploymentOrder": 1,
                **place,
                "configurationParameters": {
                    "parameterOverrides": [
                        {"name": "redshiftDbName", "value": "analytics", "isEditable": False}
                    ]
                },
            },
        ],
    )
    grant_profiles(cloud, domain, [profile["id"]])
    return dict(profile)


def test_all_capabilities_project_deploys_redshift_and_its_deletion_removes_it(
    cloud: Cloud,
) -> None:
    domain = create_domain(cloud)
    setup = enable_blueprints(cloud, domain, names=("Tooling", "DataLake", "RedshiftServerless"))
    profile = _all_capabilities_profile(cloud, domain, setup)
    datazone = cloud.client("datazone", DOMAIN_ACCOUNT)
    project = datazone.create_project(
        domainIdentifier=domain["id"], name="analytics", projectProfileId=profile["id"]
    )
    deployed = wait_project(cloud, domain["id"], project["id"])
    assert deployed["environmentDeploymentDetails"]["overallDeploymentStatus"] == "SUCCESSFUL"

    environment = environment_named(cloud, domain["id"], project["id"], "Redshift Serverless")
    assert environment["status"] == "ACTIVE"
    assert environment["awsAccountId"] == DOMAIN_ACCOUNT
    resources = {r["name"]: r["value"] for r in environment["provisionedResources"]}
    tooling = environment_named(cloud, domain["id"], project["id"], "Tooling")
    role = {r["name"]: r["value"] for r in tooling["provisionedResources"]}["userRoleArn"]
    namespace_name = f"redshift-serverless-namespace-{environment['id']}"
    workgroup_name = f"redshift-serverless-workgroup-{environment['id']}"
    assert resources == {
        "userRoleArn": role,
        "redshiftNamespaceName": namespace_name,
        "redshiftWorkgroupName": workgroup_name,
        "redshiftDbName": "analytics",
    }
    stack = f"DataZone-Env-{environment['id']}"
    cloudformation = cloud.client("cloudformation", DOMAIN_ACCOUNT)
    held = cloudformation.describe_stack_resources(StackName=stack)["StackResources"]
    assert sorted(
        (r["LogicalResourceId"], r["ResourceType"], r["PhysicalResourceId"]) for r in held
    ) == [
        ("Namespace", "AWS::RedshiftServerless::Namespace", namespace_name),
        ("Workgroup", "AWS::RedshiftServerless::Workgroup", workgroup_name),
    ]

    redshift = cloud.client("redshift-serverless", DOMAIN_ACCOUNT)
    namespace = redshift.get_namespace(namespaceName=namespace_name)
    assert validate_parsed("redshift-serverless", "GetNamespace", namespace) == []
    assert namespace["namespace"]["status"] == "AVAILABLE"
    assert namespace["namespace"]["dbName"] == "analytics"
    assert namespace["namespace"]["iamRoles"] == [role]
    workgroup = redshift.get_workgroup(workgroupName=workgroup_name)
    assert validate_parsed("redshift-serverless", "GetWorkgroup", workgroup) == []
    assert (workgroup["workgroup"]["namespaceName"], workgroup["workgroup"]["status"]) == (
        namespace_name,
        "AVAILABLE",
    )
    listed = redshift.list_workgroups()
    assert validate_parsed("redshift-serverless", "ListWorkgroups", listed) == []
    assert [w["workgroupName"] for w in listed["workgroups"]] == [workgroup_name]
    assert [n["namespaceName"] for n in redshift.list_namespaces()["namespaces"]] == [
        namespace_name
    ]
    # Another account has none.
    other = cloud.client("redshift-serverless", CONSUMER_ACCOUNT)
    assert other.list_namespaces()["namespaces"] == []
    connections = datazone.list_connections(
        domainIdentifier=domain["id"], projectIdentifier=project["id"], type="REDSHIFT"
    )["items"]
    assert [(c["name"], c["props"]["redshiftProperties"]["storage"]) for c in connections] == [
        ("project.redshift", {"workgroupName": workgroup_name})
    ]
    inventory = cloud.inventory()[DOMAIN_ACCOUNT]
    assert inventory["redshift_serverless_namespaces"] == [namespace_name]
    assert inventory["redshift_serverless_workgroups"] == [workgroup_name]

    datazone.delete_project(
        domainIdentifier=domain["id"], identifier=project["id"], skipDeletionCheck=True
    )

    def project_gone() -> bool:
        try:
            datazone.get_project(domainIdentifier=domain["id"], identifier=project["id"])
        except ClientError as exc:
            return exc.response["Error"]["Code"] == "ResourceNotFoundException"
        return False

    poll(project_gone, bool, "project deletion")
    stacks = cloudformation.list_stacks()["StackSummaries"]
    assert {s["StackName"]: s["StackStatus"] for s in stacks if s["StackName"] == stack} == {
        stack: "DELETE_COMPLETE"
    }
    assert redshift.list_namespaces()["namespaces"] == []
    assert redshift.list_workgroups()["workgroups"] == []
    inventory = cloud.inventory()[DOMAIN_ACCOUNT]
    assert inventory["redshift_serverless_namespaces"] == []
    assert inventory["redshift_serverless_workgroups"] == []


def test_redshift_serverless_api_deletes_through_deleting_and_refuses_what_aws_refuses(
    cloud: Cloud,
) -> None:
    template = {
        "Resources": {
            "Namespace": {
                "Type": "AWS::RedshiftServerless::Namespace",
                "Properties": {"NamespaceName": "sales", "DbName": "dev"},
            },
            "Workgroup": {
                "Type": "AWS::RedshiftServerless::Workgroup",
                "Properties": {
                    "WorkgroupName": "sales-wg",
                    "NamespaceName": {"Ref": "Namespace"},
                    "BaseCapacity": 8,
                },
            },
        },
        "Outputs": {
            "Address": {"Value": {"Fn::GetAtt": ["Workgroup", "Workgroup.Endpoint.Address"]}}
        },
    }
    cloudformation = cloud.client("cloudformation", CONSUMER_ACCOUNT)
    cloudformation.create_stack(StackName="warehouse", TemplateBody=json.dumps(template))
    outputs = cloudformation.describe_stacks(StackName="warehouse")["Stacks"][0]["Outputs"]
    assert outputs == [
        {
            "OutputKey": "Address",
            "OutputValue": (
                f"sales-wg.{CONSUMER_ACCOUNT}.{REGION}.redshift-serverless.amazonaws.com"
            ),
        }
    ]
    redshift = cloud.client("redshift-serverless", CONSUMER_ACCOUNT)

    with pytest.raises(ClientError) as excinfo:
        redshift.delete_namespace(namespaceName="sales")
    assert _error(excinfo) == (
        "ConflictException",
        "Namespace sales is associated with workgroup sales-wg: delete the workgroup first.",
    )
    deleting = redshift.delete_workgroup(workgroupName="sales-wg")
    assert validate_parsed("redshift-serverless", "DeleteWorkgroup", deleting) == []
    assert deleting["workgroup"]["status"] == "DELETING"
    # The first read after the delete still shows it DELETING; then it is gone.
    assert redshift.get_workgroup(workgroupName="sales-wg")["workgroup"]["status"] == "DELETING"

    def workgroup_gone() -> bool:
        try:
            redshift.get_workgroup(workgroupName="sales-wg")
        except ClientError as exc:
            return _error_code(exc) == "ResourceNotFoundException"
        return False

    poll(workgroup_gone, bool, "workgroup deletion")
    with pytest.raises(ClientError) as excinfo:
        redshift.get_workgroup(workgroupName="sales-wg")
    assert _error(excinfo) == ("ResourceNotFoundException", "Workgroup sales-wg not found.")
    assert redshift.delete_namespace(namespaceName="sales")["namespace"]["status"] == "DELETING"
    with pytest.raises(ClientError) as excinfo:
        redshift.get_namespace(namespaceName="missing")
    assert _error(excinfo) == ("ResourceNotFoundException", "Namespace missing not found.")
    with pytest.raises(ClientError) as excinfo:
        redshift.list_namespaces(maxResults=500)
    assert _error(excinfo) == ("ValidationException", "Invalid maxResults or nextToken.")
    # What the emulator does not serve fails at once, naming the operation.
    with pytest.raises(ClientError) as excinfo:
        redshift.create_namespace(namespaceName="another")
    assert _error(excinfo) == (
        "NotImplemented",
        "not implemented in emulator: Redshift Serverless CreateNamespace",
    )
    # The stack's deletion removes whatever is left of its resources.
    cloudformation.delete_stack(StackName="warehouse")
    assert redshift.list_namespaces()["namespaces"] == []


def _error_code(exc: ClientError) -> str:
    return str(exc.response["Error"]["Code"])
