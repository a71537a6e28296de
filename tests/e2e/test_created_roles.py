"""The roles smus-mesh creates are as narrow as AWS allows, and the consumer project role
reads the producer's data only through Lake Formation (issue 13, item 4), under strict IAM:
neither before the grant (S3 and Athena denied), nor directly from S3 while granted, nor
after the revoke.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from smus_mesh.accounts import new_session
from smus_mesh.collaboration import Collaboration
from smus_mesh.engine.workspace import Workspace
from tests.e2e.conftest import example_document
from tests.support import CONSUMER_ACCOUNT, DOMAIN_ACCOUNT, REGION, Cloud, credentials_session

AWS_POLICY = "arn:aws:iam::aws:policy/"
#: The managed policies research/workflow.md A1-A4 attaches, and nothing else.
DOCUMENTED_MANAGED = {
    AWS_POLICY + "service-role/SageMakerStudioDomainExecutionRolePolicy",
    AWS_POLICY + "service-role/SageMakerStudioDomainServiceRolePolicy",
    AWS_POLICY + "service-role/SageMakerStudioProjectProvisioningRolePolicy",
    AWS_POLICY + "service-role/AmazonDataZoneGlueManageAccessRolePolicy",
    AWS_POLICY + "service-role/AmazonDataZoneRedshiftManageAccessRolePolicy",
    AWS_POLICY + "AmazonDataZoneSageMakerManageAccessRolePolicy",
}
SERVICES = {"datazone.amazonaws.com", "lakeformation.amazonaws.com"}
PRODUCER_BUCKET = f"smus-mesh-demo-retail-{DOMAIN_ACCOUNT}"


def _ours(cloud: Cloud, account: str) -> list[dict[str, Any]]:
    iam = cloud.client("iam", account)
    roles = [r for page in iam.get_paginator("list_roles").paginate() for r in page["Roles"]]
    return [
        r for r in roles if r["RoleName"].startswith(("AmazonSageMaker", "SmusMeshLakeFormation"))
    ]


def _check_role(cloud: Cloud, account: str, role: dict[str, Any]) -> None:
    name = role["RoleName"]
    assert role["Path"] == "/service-role/", name
    trust = role["AssumeRolePolicyDocument"]
    trust = json.loads(trust) if isinstance(trust, str) else trust
    for statement in trust["Statement"]:
        assert statement["Effect"] == "Allow"
        # Only a service may assume it, and only for this set-up's accounts (confused deputy).
        assert set(statement["Principal"]) == {"Service"}, name
        services = statement["Principal"]["Service"]
        assert set([services] if isinstance(services, str) else services) <= SERVICES, name
        source = statement["Condition"]["StringEquals"]["aws:SourceAccount"]
        assert source in (DOMAIN_ACCOUNT, account), name
    iam = cloud.client("iam", account)
    attached = {
        p["PolicyArn"] for p in iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"]
    }
    assert attached <= DOCUMENTED_MANAGED, (name, attached - DOCUMENTED_MANAGED)
    for policy_name in iam.list_role_policies(RoleName=name)["PolicyNames"]:
        document = iam.get_role_policy(RoleName=name, PolicyName=policy_name)["PolicyDocument"]
        document = json.loads(document) if isinstance(document, str) else document
        for statement in document["Statement"]:
            actions = statement["Action"]
            actions = [actions] if isinstance(actions, str) else actions
            assert all("*" not in a for a in actions), (name, statement)
            # A `*` resource only where a condition narrows it.
            assert statement["Resource"] != "*" or statement.get("Condition"), (name, statement)


def _athena(session: boto3.Session, workgroup: str, sql: str) -> tuple[str, str]:
    athena = session.client("athena", endpoint_url=None)
    started = athena.start_query_execution(QueryString=sql, WorkGroup=workgroup)
    for _ in range(200):
        status = athena.get_query_execution(QueryExecutionId=started["QueryExecutionId"])[
            "QueryExecution"
        ]["Status"]
        if status["State"] in ("SUCCEEDED", "FAILED", "CANCELLED"):
            return status["State"], status.get("StateChangeReason", "")
        time.sleep(0.05)
    raise AssertionError("the query never finished")


def _denied(call: Callable[[], Any]) -> str:
    with pytest.raises(ClientError) as raised:
        call()
    error = raised.value.response["Error"]
    assert error["Code"] == "AccessDenied", error
    return str(error["Message"])


def _project_session(cloud: Cloud, environment_id: str) -> boto3.Session:
    """The consumer project role's credentials (GetEnvironmentCredentials), for plain
    clients; boto3 picks the endpoint from AWS_ENDPOINT_URL."""
    domain_id = cloud.client("datazone").list_domains()["items"][0]["id"]
    credentials = cloud.client("datazone").get_environment_credentials(
        domainIdentifier=domain_id, environmentIdentifier=environment_id
    )
    return credentials_session(credentials)


def _cannot_read_before_the_grant(cloud: Cloud, workspace: Workspace) -> None:
    """Before any subscription, the consumer project role reads nothing of the producer's
    table: not its objects in S3, and not through Athena even where a resource link to it
    exists in the project's database (Lake Formation holds no grant for it)."""
    access = Collaboration(workspace).access("consumer")
    assert access.tables == {}
    link = "inventory_before_the_grant"
    cloud.client("glue", CONSUMER_ACCOUNT).create_table(
        DatabaseName=access.database,
        TableInput={
            "Name": link,
            "TargetTable": {
                "CatalogId": DOMAIN_ACCOUNT,
                "DatabaseName": "retail",
                "Name": "inventory",
            },
        },
    )
    session = _project_session(cloud, access.environment_id)
    s3 = session.client("s3", endpoint_url=cloud.url)
    listed = cloud.client("s3").list_objects_v2(Bucket=PRODUCER_BUCKET, Prefix="inventory/")
    key = listed["Contents"][0]["Key"]
    for call, action in (
        (lambda: s3.list_objects_v2(Bucket=PRODUCER_BUCKET), "s3:ListBucket"),
        (lambda: s3.get_object(Bucket=PRODUCER_BUCKET, Key=key), "s3:GetObject"),
    ):
        message = _denied(call)
        assert action in message and access.role_arn.split("/")[-1] in message
    sql = f'SELECT count(*) FROM "{access.database}"."{link}"'  # noqa: S608 (test names)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AWS_ENDPOINT_URL", cloud.url)
        state, reason = _athena(session, access.workgroup, sql)
    assert state == "FAILED"
    assert reason == (
        "Insufficient permissions to execute the query. Insufficient Lake Formation "
        f"permission(s) on {access.database}.{link}"
    )


def test_roles_are_narrow_and_the_consumer_reads_only_through_lake_formation(
    enforced_iam: Cloud, make_workspace: Callable[..., Workspace]
) -> None:
    cloud = enforced_iam
    # First the projects without the subscription: the consumer project role exists, no
    # grant does yet.
    unsubscribed = example_document()
    unsubscribed["subscriptions"], unsubscribed["checks"] = [], []
    before = make_workspace(unsubscribed)
    assert before.up().ok
    _cannot_read_before_the_grant(cloud, before)

    workspace = make_workspace()
    report = workspace.up()
    assert report.ok, [f.message for f in report.failures]

    producer_roles, consumer_roles = _ours(cloud, DOMAIN_ACCOUNT), _ours(cloud, CONSUMER_ACCOUNT)
    assert len(producer_roles) == 5 and len(consumer_roles) == 2, (producer_roles, consumer_roles)
    for account, roles in ((DOMAIN_ACCOUNT, producer_roles), (CONSUMER_ACCOUNT, consumer_roles)):
        for role in roles:
            _check_role(cloud, account, role)

    collaboration = Collaboration(workspace)
    access = collaboration.access("consumer")
    session = _project_session(cloud, access.environment_id)
    s3 = session.client("s3", endpoint_url=cloud.url)
    key = (
        "inventory/"
        + cloud.client("s3")
        .list_objects_v2(Bucket=PRODUCER_BUCKET, Prefix="inventory/")["Contents"][0]["Key"]
        .split("inventory/", 1)[1]
    )
    for call, action in (
        (lambda: s3.get_object(Bucket=PRODUCER_BUCKET, Key=key), "s3:GetObject"),
        (lambda: s3.list_objects_v2(Bucket=PRODUCER_BUCKET), "s3:ListBucket"),
        (
            lambda: s3.put_object(Bucket=PRODUCER_BUCKET, Key="inventory/evil.csv", Body=b"x"),
            "s3:PutObject",
        ),
    ):
        message = _denied(call)
        assert action in message and access.role_arn.split("/")[-1] in message

    sql = f'SELECT count(*) FROM "{access.database}"."{access.tables["inventory"]}"'  # noqa: S608 (test names)
    athena_session = new_session(
        aws_access_key_id=session.get_credentials().access_key,
        aws_secret_access_key=session.get_credentials().secret_key,
        aws_session_token=session.get_credentials().token,
        region_name=REGION,
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AWS_ENDPOINT_URL", cloud.url)
        state, reason = _athena(athena_session, access.workgroup, sql)
        assert (state, reason) == ("SUCCEEDED", "")

        # The consumer unsubscribes: DataZone revokes the grant; S3 never let it in.
        document = example_document()
        document["subscriptions"][0]["state"] = "unsubscribed"
        again = make_workspace(document).up()
        assert again.ok, [f.message for f in again.failures]
        state, reason = _athena(
            _project_session(cloud, access.environment_id), access.workgroup, sql
        )
        assert state == "FAILED"
        assert reason, "a failed query says why"
    assert "s3:GetObject" in _denied(lambda: s3.get_object(Bucket=PRODUCER_BUCKET, Key=key))
