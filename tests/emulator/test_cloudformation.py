"""CloudFormation: DataZone's resource types really exist, and deletion fails like AWS."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from smus_mesh_emulator.cloudformation import stacks
from smus_mesh_emulator.cloudformation.exceptions import StackDeploymentError
from tests.support import CONSUMER_ACCOUNT, DOMAIN_ACCOUNT, REGION, Cloud

BUCKET = "env-bucket-222222222222"


def environment_template(bucket: str = BUCKET, database: str = "env_db") -> dict[str, Any]:
    """What a DataZone environment stack holds, with outputs on every reference kind."""
    return {
        "Resources": {
            "Database": {
                "Type": "AWS::Glue::Database",
                "Properties": {
                    "CatalogId": {"Ref": "AWS::AccountId"},
                    "DatabaseInput": {"Name": database, "Description": "project data"},
                },
            },
            "WorkGroup": {
                "Type": "AWS::Athena::WorkGroup",
                "Properties": {
                    "Name": "wg-env",
                    "WorkGroupConfiguration": {
                        "ResultConfiguration": {"OutputLocation": f"s3://{bucket}/athena/"}
                    },
                },
            },
            "Repository": {
                "Type": "AWS::CodeCommit::Repository",
                "Properties": {"RepositoryName": "env-repo", "RepositoryDescription": "code"},
            },
            "Bucket": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": bucket}},
        },
        "Outputs": {
            "GlueDBName": {"Value": {"Ref": "Database"}},
            "WorkgroupName": {"Value": {"Ref": "WorkGroup"}},
            "RepositoryId": {"Value": {"Ref": "Repository"}},
            "RepositoryArn": {"Value": {"Fn::GetAtt": ["Repository", "Arn"]}},
            "RepositoryName": {"Value": {"Fn::GetAtt": ["Repository", "Name"]}},
            "CloneUrl": {"Value": {"Fn::GetAtt": ["Repository", "CloneUrlHttp"]}},
        },
    }


def create_stack(cloud: Cloud, name: str = "env", **overrides: Any) -> str:
    params: dict[str, Any] = {
        "StackName": name,
        "TemplateBody": json.dumps(environment_template()),
        **overrides,
    }
    return str(cloud.client("cloudformation", CONSUMER_ACCOUNT).create_stack(**params)["StackId"])


def describe(cloud: Cloud, name_or_id: str) -> dict[str, Any]:
    stacks = cloud.client("cloudformation", CONSUMER_ACCOUNT).describe_stacks(StackName=name_or_id)
    return dict(stacks["Stacks"][0])


def environment_exists(cloud: Cloud, account: str = CONSUMER_ACCOUNT) -> dict[str, bool]:
    """Which of the environment's resources exist in `account`."""
    glue = cloud.client("glue", account)
    athena = cloud.client("athena", account)
    codecommit = cloud.client("codecommit", account)
    s3 = cloud.client("s3", account)
    return {
        "Database": any(d["Name"] == "env_db" for d in glue.get_databases()["DatabaseList"]),
        "WorkGroup": any(w["Name"] == "wg-env" for w in athena.list_work_groups()["WorkGroups"]),
        "Repository": any(
            r["repositoryName"] == "env-repo"
            for r in codecommit.list_repositories()["repositories"]
        ),
        "Bucket": any(b["Name"] == BUCKET for b in s3.list_buckets()["Buckets"]),
    }


ALL = {"Database": True, "WorkGroup": True, "Repository": True, "Bucket": True}
NONE = {"Database": False, "WorkGroup": False, "Repository": False, "Bucket": False}


def test_environment_resource_types_exist_in_the_stack_account(cloud: Cloud) -> None:
    create_stack(cloud)
    stack = describe(cloud, "env")
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    assert environment_exists(cloud) == ALL
    assert environment_exists(cloud, DOMAIN_ACCOUNT) == NONE

    repository = cloud.client("codecommit", CONSUMER_ACCOUNT).get_repository(
        repositoryName="env-repo"
    )["repositoryMetadata"]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}
    assert outputs == {
        "GlueDBName": "env_db",
        "WorkgroupName": "wg-env",
        "RepositoryId": repository["repositoryId"],
        "RepositoryArn": f"arn:aws:codecommit:{REGION}:{CONSUMER_ACCOUNT}:env-repo",
        "RepositoryName": "env-repo",
        "CloneUrl": repository["cloneUrlHttp"],
    }
    resources = cloud.client("cloudformation", CONSUMER_ACCOUNT).describe_stack_resources(
        StackName="env"
    )["StackResources"]
    assert sorted(
        (r["LogicalResourceId"], r["ResourceType"], r["PhysicalResourceId"]) for r in resources
    ) == [
        ("Bucket", "AWS::S3::Bucket", BUCKET),
        ("Database", "AWS::Glue::Database", "env_db"),
        ("Repository", "AWS::CodeCommit::Repository", repository["repositoryId"]),
        ("WorkGroup", "AWS::Athena::WorkGroup", "wg-env"),
    ]
    workgroup = cloud.client("athena", CONSUMER_ACCOUNT).get_work_group(WorkGroup="wg-env")
    assert workgroup["WorkGroup"]["Configuration"]["ResultConfiguration"] == {
        "OutputLocation": f"s3://{BUCKET}/athena/"
    }


def test_deleting_the_stack_deletes_its_resources(cloud: Cloud) -> None:
    stack_id = create_stack(cloud)
    cloud.client("cloudformation", CONSUMER_ACCOUNT).delete_stack(StackName="env")
    assert describe(cloud, stack_id)["StackStatus"] == "DELETE_COMPLETE"
    assert environment_exists(cloud) == NONE
    with pytest.raises(ClientError) as excinfo:
        describe(cloud, "env")
    assert excinfo.value.response["Error"]["Code"] == "ValidationError"
    assert excinfo.value.response["Error"]["Message"] == "Stack with id env does not exist"
    # Listing a deleted stack's resources must not bring them back.
    assert (
        cloud.client("cloudformation", CONSUMER_ACCOUNT).describe_stack_resources(
            StackName=stack_id
        )["StackResources"]
        == []
    )
    assert environment_exists(cloud) == NONE


def test_a_bucket_that_is_not_empty_fails_the_deletion_and_stays(cloud: Cloud) -> None:
    stack_id = create_stack(cloud)
    s3 = cloud.client("s3", CONSUMER_ACCOUNT)
    s3.put_object(Bucket=BUCKET, Key="project/data.csv", Body=b"id\n1\n")
    cloudformation = cloud.client("cloudformation", CONSUMER_ACCOUNT)
    cloudformation.delete_stack(StackName="env")

    stack = describe(cloud, "env")
    assert stack["StackStatus"] == "DELETE_FAILED"
    assert stack["StackStatusReason"] == "The following resource(s) failed to delete: [Bucket]. "
    assert environment_exists(cloud) == {**NONE, "Bucket": True}
    remaining = cloudformation.describe_stack_resources(StackName="env")["StackResources"]
    assert [r["LogicalResourceId"] for r in remaining] == ["Bucket"]
    failures = [
        e
        for e in cloudformation.describe_stack_events(StackName="env")["StackEvents"]
        if e["LogicalResourceId"] == "Bucket" and e["ResourceStatus"] == "DELETE_FAILED"
    ]
    assert "The bucket you tried to delete is not empty" in failures[0]["ResourceStatusReason"]
    listed = cloudformation.list_stacks(StackStatusFilter=["DELETE_FAILED"])["StackSummaries"]
    assert [s["StackId"] for s in listed] == [stack_id]

    s3.delete_object(Bucket=BUCKET, Key="project/data.csv")
    cloudformation.delete_stack(StackName="env")
    assert describe(cloud, stack_id)["StackStatus"] == "DELETE_COMPLETE"
    assert environment_exists(cloud) == NONE


def test_a_failed_deletion_can_retain_the_resource_that_blocks_it(cloud: Cloud) -> None:
    stack_id = create_stack(cloud)
    cloud.client("s3", CONSUMER_ACCOUNT).put_object(Bucket=BUCKET, Key="k", Body=b"x")
    cloudformation = cloud.client("cloudformation", CONSUMER_ACCOUNT)
    cloudformation.delete_stack(StackName="env")
    cloudformation.delete_stack(StackName="env", RetainResources=["Bucket"])
    assert describe(cloud, stack_id)["StackStatus"] == "DELETE_COMPLETE"
    assert environment_exists(cloud) == {**NONE, "Bucket": True}


def test_a_failed_resource_rolls_the_stack_back(cloud: Cloud) -> None:
    cloud.client("glue", CONSUMER_ACCOUNT).create_database(DatabaseInput={"Name": "env_db"})
    create_stack(cloud)
    stack = describe(cloud, "env")
    assert stack["StackStatus"] == "ROLLBACK_COMPLETE"
    assert stack["StackStatusReason"] == "The following resource(s) failed to create: [Database]. "
    events = cloud.client("cloudformation", CONSUMER_ACCOUNT).describe_stack_events(
        StackName="env"
    )["StackEvents"]
    failed = [e for e in events if e["ResourceStatus"] == "CREATE_FAILED"]
    assert [(e["LogicalResourceId"], e["ResourceStatusReason"]) for e in failed] == [
        ("Database", 'Resource handler returned message: "Database already exists."')
    ]
    # The pre-existing database is not the stack's: it stays; whatever the stack made goes.
    assert environment_exists(cloud) == {**NONE, "Database": True}
    with pytest.raises(ClientError) as excinfo:
        create_stack(cloud)
    assert excinfo.value.response["Error"]["Code"] == "AlreadyExistsException"
    assert excinfo.value.response["Error"]["Message"] == "Stack [env] already exists"


@pytest.mark.parametrize(
    ("options", "status", "left"),
    [
        ({"OnFailure": "DO_NOTHING"}, "CREATE_FAILED", True),
        ({"DisableRollback": True}, "CREATE_FAILED", True),
        ({"OnFailure": "DELETE"}, "DELETE_COMPLETE", False),
    ],
)
def test_on_failure_chooses_what_happens_to_a_failed_stack(
    cloud: Cloud, options: dict[str, Any], status: str, left: bool
) -> None:
    cloud.client("athena", CONSUMER_ACCOUNT).create_work_group(Name="wg-env")
    template = environment_template()
    template["Resources"]["WorkGroup"]["DependsOn"] = ["Repository"]
    stack_id = create_stack(cloud, TemplateBody=json.dumps(template), **options)
    assert describe(cloud, stack_id)["StackStatus"] == status
    assert environment_exists(cloud)["Repository"] is left


def test_unknown_resource_types_fail_validation(cloud: Cloud) -> None:
    template = {"Resources": {"Thing": {"Type": "AWS::Nope::Thing"}}}
    with pytest.raises(ClientError) as excinfo:
        create_stack(cloud, TemplateBody=json.dumps(template))
    assert excinfo.value.response["Error"]["Code"] == "ValidationError"
    assert excinfo.value.response["Error"]["Message"] == (
        "Template format error: Unrecognized resource types: [AWS::Nope::Thing] "
        "(unknown to AWS or not emulated)"
    )
    stacks = cloud.client("cloudformation", CONSUMER_ACCOUNT).list_stacks()["StackSummaries"]
    assert stacks == []


def test_in_process_stacks_are_ordinary_stacks_of_their_account(cloud: Cloud) -> None:
    tags = {"AmazonDataZoneEnvironment": "env1"}
    stack_id = stacks.deploy_stack(
        CONSUMER_ACCOUNT, REGION, "DataZone-Env-env1", environment_template(), tags
    )
    stack = describe(cloud, "DataZone-Env-env1")
    assert (stack["StackId"], stack["StackStatus"]) == (stack_id, "CREATE_COMPLETE")
    assert stack["Tags"] == [{"Key": "AmazonDataZoneEnvironment", "Value": "env1"}]
    assert environment_exists(cloud) == ALL
    assert stacks.stack_status(CONSUMER_ACCOUNT, REGION, "DataZone-Env-env1") == "CREATE_COMPLETE"
    assert stacks.stack_status(DOMAIN_ACCOUNT, REGION, "DataZone-Env-env1") is None

    assert stacks.delete_stack(CONSUMER_ACCOUNT, REGION, stack_id) == ("DELETE_COMPLETE", None)
    assert environment_exists(cloud) == NONE
    assert stacks.stack_status(CONSUMER_ACCOUNT, REGION, "DataZone-Env-env1") is None
    assert stacks.stack_status(CONSUMER_ACCOUNT, REGION, stack_id) == "DELETE_COMPLETE"
    assert stacks.delete_stack(CONSUMER_ACCOUNT, REGION, "never-existed") == (
        "DELETE_COMPLETE",
        None,
    )


def test_in_process_deletion_reports_delete_failed_and_the_user_can_finish_it(
    cloud: Cloud,
) -> None:
    stacks.deploy_stack(CONSUMER_ACCOUNT, REGION, "DataZone-Env-env2", environment_template(), {})
    cloud.client("s3", CONSUMER_ACCOUNT).put_object(Bucket=BUCKET, Key="k", Body=b"x")
    assert stacks.delete_stack(CONSUMER_ACCOUNT, REGION, "DataZone-Env-env2") == (
        "DELETE_FAILED",
        "The following resource(s) failed to delete: [Bucket]. ",
    )
    assert describe(cloud, "DataZone-Env-env2")["StackStatus"] == "DELETE_FAILED"

    cloud.client("s3", CONSUMER_ACCOUNT).delete_object(Bucket=BUCKET, Key="k")
    cloud.client("cloudformation", CONSUMER_ACCOUNT).delete_stack(StackName="DataZone-Env-env2")
    assert stacks.stack_status(CONSUMER_ACCOUNT, REGION, "DataZone-Env-env2") is None
    assert environment_exists(cloud) == NONE


def test_in_process_deployment_failures_raise(cloud: Cloud) -> None:
    cloud.client("codecommit", CONSUMER_ACCOUNT).create_repository(repositoryName="env-repo")
    with pytest.raises(StackDeploymentError) as excinfo:
        stacks.deploy_stack(CONSUMER_ACCOUNT, REGION, "DataZone-Env-x", environment_template(), {})
    failure = excinfo.value
    assert failure.status == "ROLLBACK_COMPLETE"
    assert failure.stack_id is not None
    assert str(failure).startswith(
        f"stack DataZone-Env-x in {CONSUMER_ACCOUNT} is ROLLBACK_COMPLETE: Repository: "
    )
    assert "Repository named env-repo already exists" in str(failure)
    assert describe(cloud, failure.stack_id)["StackStatus"] == "ROLLBACK_COMPLETE"
    assert environment_exists(cloud) == {**NONE, "Repository": True}

    with pytest.raises(StackDeploymentError) as excinfo:
        stacks.deploy_stack(CONSUMER_ACCOUNT, REGION, "DataZone-Env-y", {"Outputs": {}}, {})
    assert excinfo.value.stack_id is None
    assert str(excinfo.value) == (
        f"stack DataZone-Env-y in {CONSUMER_ACCOUNT}: Template format error: At least one "
        "Resources member must be defined."
    )
