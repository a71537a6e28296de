"""DataZone projects: deployment of their environments into the right account, what
those environments really create there, memberships, credentials and connections."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from tests.emulator.datazone_support import (
    DATAZONE_USER_POLICY,
    AccountSetup,
    associate_account,
    create_domain,
    create_profile,
    create_project,
    create_role,
    enable_blueprints,
    environment_named,
    poll,
    ready_project,
    trust_policy,
    wait_project,
)
from tests.support import CONSUMER_ACCOUNT, DOMAIN_ACCOUNT, REGION, Cloud, credentials_session


def error_of(excinfo: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    error = excinfo.value.response["Error"]
    return error["Code"], error["Message"]


@pytest.fixture
def domain(cloud: Cloud) -> dict[str, Any]:
    return create_domain(cloud)


@pytest.fixture
def producer(cloud: Cloud, domain: dict[str, Any]) -> AccountSetup:
    return enable_blueprints(cloud, domain)


def resources(environment: dict[str, Any]) -> dict[str, str]:
    return {r["name"]: r["value"] for r in environment.get("provisionedResources", [])}


def stack_statuses(cloud: Cloud, account: str) -> dict[str, str]:
    summaries = cloud.client("cloudformation", account).list_stacks()["StackSummaries"]
    return {s["StackName"]: s["StackStatus"] for s in summaries}


# --- deployment ----------------------------------------------------------------------


def test_project_deploys_tooling_then_lakehouse_into_the_account(
    cloud: Cloud, domain: dict[str, Any], producer: AccountSetup
) -> None:
    datazone = cloud.client("datazone")
    profile = create_profile(cloud, domain, producer, glue_db="sales_db")
    project = create_project(cloud, domain, profile)
    assert project["projectStatus"] == "ACTIVE"
    assert project["environmentDeploymentDetails"] == {
        "overallDeploymentStatus": "PENDING_DEPLOYMENT"
    }

    # deploymentOrder: only Tooling exists at first, and its first read shows CREATING.
    first = datazone.list_environments(
        domainIdentifier=domain["id"], projectIdentifier=project["id"]
    )
    assert [(e["name"], e["status"]) for e in first["items"]] == [("Tooling", "CREATING")]
    in_progress = datazone.get_project(domainIdentifier=domain["id"], identifier=project["id"])
    assert in_progress["environmentDeploymentDetails"]["overallDeploymentStatus"] == "IN_PROGRESS"
    assert in_progress["projectStatus"] == "ACTIVE"

    done = wait_project(cloud, domain["id"], project["id"])
    assert done["environmentDeploymentDetails"] == {"overallDeploymentStatus": "SUCCESSFUL"}
    tooling = environment_named(cloud, domain["id"], project["id"], "Tooling")
    lakehouse = environment_named(cloud, domain["id"], project["id"], "Lakehouse Database")
    for environment in (tooling, lakehouse):
        assert environment["status"] == "ACTIVE"
        assert environment["awsAccountId"] == DOMAIN_ACCOUNT
        assert environment["lastDeployment"]["deploymentStatus"] == "SUCCESSFUL"
        assert environment["lastDeployment"]["isDeploymentComplete"] is True

    role_name = f"datazone_usr_role_{project['id']}_{tooling['id']}"
    assert resources(tooling) == {
        "userRoleArn": f"arn:aws:iam::{DOMAIN_ACCOUNT}:role/{role_name}",
        "userRoleName": role_name,
        "workgroupName": f"workgroup-{project['id']}-{tooling['id']}",
        "codeRepositoryName": f"datazone-{project['id']}-{tooling['id']}",
        "s3BucketPath": f"s3://{producer.bucket}/projects/{domain['id']}/{project['id']}",
    }
    assert resources(lakehouse) == {
        "glueDBName": "sales_db",
        "userRoleArn": f"arn:aws:iam::{DOMAIN_ACCOUNT}:role/{role_name}",
    }
    parameters = {p["keyName"]: p for p in tooling["userParameters"]}
    assert parameters["enableSpaces"]["defaultValue"] == "false"
    assert parameters["enableSpaces"]["isEditable"] is False


def test_environment_resources_really_exist_in_the_account(
    cloud: Cloud, domain: dict[str, Any], producer: AccountSetup
) -> None:
    project = ready_project(
        cloud, domain, create_profile(cloud, domain, producer, glue_db="sales_db")
    )
    tooling = environment_named(cloud, domain["id"], project["id"], "Tooling")
    lakehouse = environment_named(cloud, domain["id"], project["id"], "Lakehouse Database")
    provisioned = resources(tooling)

    cloudformation = cloud.client("cloudformation")
    stack = cloudformation.describe_stacks(StackName=f"DataZone-Env-{tooling['id']}")["Stacks"][0]
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    assert {t["Key"]: t["Value"] for t in stack["Tags"]} == {
        "AmazonDataZoneDomain": domain["id"],
        "AmazonDataZoneProject": project["id"],
        "AmazonDataZoneBlueprint": "Tooling",
        "AmazonDataZoneEnvironment": tooling["id"],
    }
    assert stack_statuses(cloud, DOMAIN_ACCOUNT)[f"DataZone-Env-{lakehouse['id']}"] == (
        "CREATE_COMPLETE"
    )

    role = cloud.client("iam").get_role(RoleName=provisioned["userRoleName"])["Role"]
    trusted = role["AssumeRolePolicyDocument"]["Statement"][0]
    assert trusted["Principal"] == {"Service": "datazone.amazonaws.com"}
    assert trusted["Condition"] == {"StringEquals": {"aws:SourceAccount": DOMAIN_ACCOUNT}}
    assert {t["Key"]: t["Value"] for t in role["Tags"]}["AmazonDataZoneProject"] == project["id"]

    workgroup = cloud.client("athena").get_work_group(WorkGroup=provisioned["workgroupName"])
    output = workgroup["WorkGroup"]["Configuration"]["ResultConfiguration"]["OutputLocation"]
    assert output.startswith(f"{provisioned['s3BucketPath']}/")
    repository = cloud.client("codecommit").get_repository(
        repositoryName=provisioned["codeRepositoryName"]
    )
    assert repository["repositoryMetadata"]["repositoryName"] == provisioned["codeRepositoryName"]
    objects = cloud.client("s3").list_objects_v2(Bucket=producer.bucket)["Contents"]
    assert [o["Key"] for o in objects] == [f"projects/{domain['id']}/{project['id']}/shared/"]

    assert cloud.client("glue").get_database(Name="sales_db")["Database"]["Name"] == "sales_db"
    permissions = cloud.client("lakeformation").list_permissions(
        Resource={"Database": {"Name": "sales_db"}}
    )["PrincipalResourcePermissions"]
    granted = [
        p
        for p in permissions
        if p["Principal"]["DataLakePrincipalIdentifier"] == provisioned["userRoleArn"]
    ]
    assert granted and granted[0]["Permissions"] == ["ALL"]
    assert granted[0]["PermissionsWithGrantOption"] == ["ALL"]


def test_consumer_project_lands_in_the_associated_account(
    cloud: Cloud, domain: dict[str, Any]
) -> None:
    associate_account(cloud, domain)
    consumer = enable_blueprints(cloud, domain, CONSUMER_ACCOUNT)
    project = ready_project(cloud, domain, create_profile(cloud, domain, consumer, name="consumer"))
    tooling = environment_named(cloud, domain["id"], project["id"], "Tooling")
    lakehouse = environment_named(cloud, domain["id"], project["id"], "Lakehouse Database")
    assert tooling["awsAccountId"] == lakehouse["awsAccountId"] == CONSUMER_ACCOUNT

    consumer_stacks = stack_statuses(cloud, CONSUMER_ACCOUNT)
    assert consumer_stacks[f"DataZone-Env-{tooling['id']}"] == "CREATE_COMPLETE"
    assert stack_statuses(cloud, DOMAIN_ACCOUNT) == {}
    role = resources(tooling)["userRoleName"]
    assert cloud.client("iam", CONSUMER_ACCOUNT).get_role(RoleName=role)["Role"]["RoleName"] == role
    database = resources(lakehouse)["glueDBName"]
    assert database == f"glue_db_{lakehouse['id'][:8]}"  # the blueprint's default name
    assert cloud.client("glue", CONSUMER_ACCOUNT).get_database(Name=database)["Database"]
    with pytest.raises(ClientError) as excinfo:
        cloud.client("glue", DOMAIN_ACCOUNT).get_database(Name=database)
    assert excinfo.value.response["Error"]["Code"] == "EntityNotFoundException"


def test_lakehouse_environment_brings_the_project_subscription_target(
    cloud: Cloud, domain: dict[str, Any], producer: AccountSetup
) -> None:
    project = ready_project(
        cloud, domain, create_profile(cloud, domain, producer, glue_db="sales_db")
    )
    lakehouse = environment_named(cloud, domain["id"], project["id"], "Lakehouse Database")
    targets = cloud.client("datazone").list_subscription_targets(
        domainIdentifier=domain["id"], environmentIdentifier=lakehouse["id"]
    )["items"]
    assert len(targets) == 1
    target = targets[0]
    assert target["type"] == "GlueSubscriptionTargetType"
    assert target["applicableAssetTypes"] == ["GlueTableAssetType"]
    assert target["authorizedPrincipals"] == [resources(lakehouse)["userRoleArn"]]
    assert target["manageAccessRole"] == producer.manage_access_role
    assert target["provider"] == "Amazon DataZone"
    assert target["subscriptionTargetConfig"] == [
        {
            "formName": "GlueSubscriptionTargetConfigForm",
            "content": json.dumps({"databaseName": "sales_db"}),
        }
    ]


# --- validation and deployment failures ------------------------------------------------


def _remove_tooling_configuration(
    cloud: Cloud, domain: dict[str, Any], setup: AccountSetup
) -> None:
    cloud.client("datazone").delete_environment_blueprint_configuration(
        domainIdentifier=domain["id"], environmentBlueprintIdentifier=setup.blueprints["Tooling"]
    )


def _move_tooling_region(cloud: Cloud, domain: dict[str, Any], setup: AccountSetup) -> None:
    cloud.client("datazone").put_environment_blueprint_configuration(
        domainIdentifier=domain["id"],
        environmentBlueprintIdentifier=setup.blueprints["Tooling"],
        enabledRegions=["eu-west-1"],
        provisioningRoleArn=setup.provisioning_role,
    )


def _remove_tooling_grant(cloud: Cloud, domain: dict[str, Any], setup: AccountSetup) -> None:
    datazone = cloud.client("datazone")
    target = {
        "domainIdentifier": domain["id"],
        "entityType": "ENVIRONMENT_BLUEPRINT_CONFIGURATION",
        "entityIdentifier": f"{setup.account}:{setup.blueprints['Tooling']}",
        "policyType": "CREATE_ENVIRONMENT_FROM_BLUEPRINT",
    }
    for grant in datazone.list_policy_grants(**target)["grantList"]:
        datazone.remove_policy_grant(**target, principal=grant["principal"])


@pytest.mark.parametrize(
    ("breakage", "code", "message"),
    [
        (
            _remove_tooling_configuration,
            "BLUEPRINT_NOT_ENABLED",
            "Blueprint Tooling ({tooling}) is not enabled in account {account}: it has no "
            "environment blueprint configuration",
        ),
        (
            _move_tooling_region,
            "REGION_NOT_ENABLED",
            "The Tooling blueprint configuration of account {account} does not enable region "
            "us-east-1 (enabledRegions: ['eu-west-1'])",
        ),
        (
            _remove_tooling_grant,
            "MISSING_POLICY_GRANT",
            "No CREATE_ENVIRONMENT_FROM_BLUEPRINT policy grant on blueprint configuration "
            "{account}:{tooling} covers project {project}",
        ),
    ],
)
def test_environment_that_fails_validation(
    cloud: Cloud,
    domain: dict[str, Any],
    producer: AccountSetup,
    breakage: Any,
    code: str,
    message: str,
) -> None:
    breakage(cloud, domain, producer)
    project = create_project(cloud, domain, create_profile(cloud, domain, producer))
    expected = {
        "code": code,
        "message": message.format(
            tooling=producer.blueprints["Tooling"], account=DOMAIN_ACCOUNT, project=project["id"]
        ),
    }
    failed = wait_project(cloud, domain["id"], project["id"])
    assert failed["projectStatus"] == "ACTIVE"
    assert failed["environmentDeploymentDetails"] == {
        "overallDeploymentStatus": "FAILED_VALIDATION",
        "environmentFailureReasons": {"Tooling": [expected]},
    }
    environments = cloud.client("datazone").list_environments(
        domainIdentifier=domain["id"], projectIdentifier=project["id"]
    )["items"]
    assert [(e["name"], e["status"]) for e in environments] == [("Tooling", "VALIDATION_FAILED")]
    tooling = environment_named(cloud, domain["id"], project["id"], "Tooling")
    assert tooling["lastDeployment"]["deploymentStatus"] == "FAILED"
    assert tooling["lastDeployment"]["failureReason"] == expected
    assert stack_statuses(cloud, DOMAIN_ACCOUNT) == {}


def test_environment_in_an_unassociated_account_fails_validation(
    cloud: Cloud, domain: dict[str, Any], producer: AccountSetup
) -> None:
    unassociated = AccountSetup(CONSUMER_ACCOUNT, "", "", "", dict(producer.blueprints))
    project = create_project(cloud, domain, create_profile(cloud, domain, unassociated))
    failed = wait_project(cloud, domain["id"], project["id"])
    assert failed["environmentDeploymentDetails"]["environmentFailureReasons"]["Tooling"] == [
        {
            "code": "ACCOUNT_NOT_ASSOCIATED",
            "message": f"Account {CONSUMER_ACCOUNT} is not associated with domain {domain['id']}: "
            "share the domain with it through AWS RAM and accept the invitation in that account",
        }
    ]


def _delete_provisioning_role(cloud: Cloud, domain: dict[str, Any], setup: AccountSetup) -> None:
    cloud.client("iam").delete_role(RoleName=setup.provisioning_role.rsplit("/", 1)[-1])


def _distrust(policy: str) -> Any:
    def breakage(cloud: Cloud, domain: dict[str, Any], setup: AccountSetup) -> None:
        cloud.client("iam").update_assume_role_policy(
            RoleName=setup.provisioning_role.rsplit("/", 1)[-1],
            PolicyDocument=policy.replace("DOMAIN_ARN", domain["arn"] + "x"),
        )

    return breakage


def _delete_bucket(cloud: Cloud, domain: dict[str, Any], setup: AccountSetup) -> None:
    cloud.client("s3").delete_bucket(Bucket=setup.bucket)


DISTRUSTED = (
    "PROVISIONING_ROLE_INVALID",
    "DataZone cannot assume provisioning role {role}: its trust policy does not let "
    "datazone.amazonaws.com sts:AssumeRole for domain {domain} (aws:SourceAccount must be "
    "{account}, aws:SourceArn {arn})",
)


@pytest.mark.parametrize(
    ("breakage", "code", "message"),
    [
        (
            _delete_provisioning_role,
            "PROVISIONING_ROLE_INVALID",
            "DataZone cannot assume provisioning role {role}: it does not exist in account "
            "{account}",
        ),
        (_distrust(trust_policy(service="glue.amazonaws.com")), *DISTRUSTED),
        (_distrust(trust_policy(source_account=CONSUMER_ACCOUNT)), *DISTRUSTED),
        (_distrust(trust_policy(source_arn="DOMAIN_ARN")), *DISTRUSTED),
        (
            _delete_bucket,
            "S3_LOCATION_INVALID",
            "S3Location s3://{bucket}/projects: bucket {bucket} does not exist in account "
            "{account}",
        ),
    ],
)
def test_environment_that_fails_deployment(
    cloud: Cloud,
    domain: dict[str, Any],
    producer: AccountSetup,
    breakage: Any,
    code: str,
    message: str,
) -> None:
    breakage(cloud, domain, producer)
    project = create_project(cloud, domain, create_profile(cloud, domain, producer))
    failed = wait_project(cloud, domain["id"], project["id"])
    expected = {
        "code": code,
        "message": message.format(
            role=producer.provisioning_role,
            account=DOMAIN_ACCOUNT,
            domain=domain["id"],
            arn=domain["arn"],
            bucket=producer.bucket,
        ),
    }
    assert failed["environmentDeploymentDetails"] == {
        "overallDeploymentStatus": "FAILED_DEPLOYMENT",
        "environmentFailureReasons": {"Tooling": [expected]},
    }
    tooling = environment_named(cloud, domain["id"], project["id"], "Tooling")
    assert tooling["status"] == "CREATE_FAILED"
    assert tooling["lastDeployment"]["failureReason"] == expected


def test_provisioning_role_trusting_the_domain_arn_is_accepted(
    cloud: Cloud, domain: dict[str, Any], producer: AccountSetup
) -> None:
    cloud.client("iam").update_assume_role_policy(
        RoleName=producer.provisioning_role.rsplit("/", 1)[-1],
        PolicyDocument=trust_policy(source_arn=domain["arn"]),
    )
    ready_project(cloud, domain, create_profile(cloud, domain, producer))


def test_stack_failure_makes_the_environment_create_failed(
    cloud: Cloud, domain: dict[str, Any], producer: AccountSetup
) -> None:
    cloud.client("glue").create_database(DatabaseInput={"Name": "taken_db"})
    project = create_project(
        cloud, domain, create_profile(cloud, domain, producer, glue_db="taken_db")
    )
    failed = wait_project(cloud, domain["id"], project["id"])
    assert failed["environmentDeploymentDetails"]["overallDeploymentStatus"] == "FAILED_DEPLOYMENT"
    reason = failed["environmentDeploymentDetails"]["environmentFailureReasons"][
        "Lakehouse Database"
    ][0]
    assert reason["code"] == "STACK_FAILED"
    lakehouse = environment_named(cloud, domain["id"], project["id"], "Lakehouse Database")
    stack = f"DataZone-Env-{lakehouse['id']}"
    assert reason["message"].startswith(f"CloudFormation stack {stack} in {DOMAIN_ACCOUNT} is ")
    assert "GlueDatabase" in reason["message"]
    assert stack_statuses(cloud, DOMAIN_ACCOUNT)[stack] == "ROLLBACK_COMPLETE"


# --- creating projects -----------------------------------------------------------------


def test_project_creation_needs_a_profile_grant(
    cloud: Cloud, domain: dict[str, Any], producer: AccountSetup
) -> None:
    profile = create_profile(cloud, domain, producer, grant=False)
    with pytest.raises(ClientError) as excinfo:
        create_project(cloud, domain, profile)
    code, message = error_of(excinfo)
    assert code == "AccessDeniedException"
    assert message == (
        f"User arn:aws:iam::{DOMAIN_ACCOUNT}:role/OrganizationAccountAccessRole is not allowed to "
        f"create projects from project profile {profile['id']}: no "
        "CREATE_PROJECT_FROM_PROJECT_PROFILE policy grant covers it"
    )


def test_project_creation_errors(
    cloud: Cloud, domain: dict[str, Any], producer: AccountSetup
) -> None:
    datazone = cloud.client("datazone")
    profile = create_profile(cloud, domain, producer)
    create_project(cloud, domain, profile)

    cases: list[tuple[dict[str, Any], tuple[str, str]]] = [
        (
            {"name": "sales", "projectProfileId": profile["id"]},
            ("ConflictException", f"Project name sales already exists in domain {domain['id']}"),
        ),
        (
            {"name": "other", "projectProfileId": "nope"},
            ("ResourceNotFoundException", "Project profile nope not found"),
        ),
        (
            {
                "name": "other",
                "projectProfileId": profile["id"],
                "userParameters": [
                    {
                        "environmentConfigurationName": "Tooling",
                        "environmentParameters": [{"name": "enableSpaces", "value": "true"}],
                    }
                ],
            },
            (
                "ValidationException",
                "Parameter enableSpaces of environment configuration Tooling is not editable",
            ),
        ),
        (
            {
                "name": "other",
                "projectProfileId": profile["id"],
                "userParameters": [{"environmentConfigurationName": "Nope"}],
            },
            (
                "ValidationException",
                f"Project profile {profile['id']} has no environment configuration Nope",
            ),
        ),
    ]
    for params, expected in cases:
        with pytest.raises(ClientError) as excinfo:
            datazone.create_project(domainIdentifier=domain["id"], **params)
        assert error_of(excinfo) == expected

    datazone.update_project_profile(
        domainIdentifier=domain["id"], identifier=profile["id"], status="DISABLED"
    )
    with pytest.raises(ClientError) as excinfo:
        create_project(cloud, domain, profile, name="late")
    assert error_of(excinfo) == (
        "ValidationException",
        f"Project profile {profile['id']} is DISABLED",
    )


def test_editable_user_parameter_names_the_glue_database(
    cloud: Cloud, domain: dict[str, Any], producer: AccountSetup
) -> None:
    profile = create_profile(cloud, domain, producer, glue_db="default_db")
    user_parameters = [
        {
            "environmentConfigurationName": "Lakehouse Database",
            "environmentParameters": [{"name": "glueDbName", "value": "chosen_db"}],
        }
    ]
    project = ready_project(cloud, domain, profile, userParameters=user_parameters)
    assert project["userParameters"] == user_parameters
    lakehouse = environment_named(cloud, domain["id"], project["id"], "Lakehouse Database")
    assert resources(lakehouse)["glueDBName"] == "chosen_db"
    assert cloud.client("glue").get_database(Name="chosen_db")["Database"]["Name"] == "chosen_db"


def test_list_and_update_projects(
    cloud: Cloud, domain: dict[str, Any], producer: AccountSetup
) -> None:
    datazone = cloud.client("datazone")
    profile = create_profile(cloud, domain, producer, mode="ON_DEMAND")
    project = create_project(cloud, domain, profile, description="first")
    listed = datazone.list_projects(domainIdentifier=domain["id"], name="sales")["items"]
    assert [(p["id"], p["description"]) for p in listed] == [(project["id"], "first")]
    updated = datazone.update_project(
        domainIdentifier=domain["id"], identifier=project["id"], description="second"
    )
    assert updated["description"] == "second"
    member = datazone.list_projects(
        domainIdentifier=domain["id"],
        userIdentifier=f"arn:aws:iam::{DOMAIN_ACCOUNT}:role/OrganizationAccountAccessRole",
    )["items"]
    assert [p["id"] for p in member] == [project["id"]]
    stranger = f"arn:aws:iam::{DOMAIN_ACCOUNT}:role/Stranger"
    assert (
        datazone.list_projects(domainIdentifier=domain["id"], userIdentifier=stranger)["items"]
        == []
    )
    with pytest.raises(ClientError) as excinfo:
        datazone.get_user_profile(domainIdentifier=domain["id"], userIdentifier=stranger)
    assert error_of(excinfo)[0] == "ResourceNotFoundException"  # the filter made no profile


# --- memberships and credentials -----------------------------------------------------------


def test_memberships_decide_who_gets_credentials(
    cloud: Cloud, domain: dict[str, Any], producer: AccountSetup
) -> None:
    datazone = cloud.client("datazone")
    project = ready_project(cloud, domain, create_profile(cloud, domain, producer))
    tooling = environment_named(cloud, domain["id"], project["id"], "Tooling")
    members = datazone.list_project_memberships(
        domainIdentifier=domain["id"], projectIdentifier=project["id"]
    )["members"]
    assert [m["designation"] for m in members] == ["PROJECT_OWNER"]
    assert members[0]["memberDetails"]["user"]["userId"] == project["createdBy"]

    analyst_arn = create_role(cloud, DOMAIN_ACCOUNT, "Analyst", _trust_base_account())
    cloud.client("iam").attach_role_policy(RoleName="Analyst", PolicyArn=DATAZONE_USER_POLICY)
    analyst = _session_of(cloud, analyst_arn).client("datazone", endpoint_url=cloud.url)
    with pytest.raises(ClientError) as excinfo:
        analyst.get_environment_credentials(
            domainIdentifier=domain["id"], environmentIdentifier=tooling["id"]
        )
    assert error_of(excinfo) == (
        "AccessDeniedException",
        f"User {analyst_arn} is not a member of project {project['id']}",
    )

    datazone.create_project_membership(
        domainIdentifier=domain["id"],
        projectIdentifier=project["id"],
        member={"userIdentifier": analyst_arn},
        designation="PROJECT_CONTRIBUTOR",
    )
    designations = {
        m["designation"]
        for m in datazone.list_project_memberships(
            domainIdentifier=domain["id"], projectIdentifier=project["id"]
        )["members"]
    }
    assert designations == {"PROJECT_OWNER", "PROJECT_CONTRIBUTOR"}
    credentials = analyst.get_environment_credentials(
        domainIdentifier=domain["id"], environmentIdentifier=tooling["id"]
    )
    role_session = credentials_session(credentials)
    identity = role_session.client("sts", endpoint_url=cloud.url).get_caller_identity()
    assert identity["Account"] == DOMAIN_ACCOUNT
    assert identity["Arn"] == (
        f"arn:aws:sts::{DOMAIN_ACCOUNT}:assumed-role/{resources(tooling)['userRoleName']}/"
        f"DataZone-{tooling['id']}"
    )

    # A contributor may not manage memberships.
    with pytest.raises(ClientError) as excinfo:
        analyst.delete_project_membership(
            domainIdentifier=domain["id"],
            projectIdentifier=project["id"],
            member={"userIdentifier": project["createdBy"]},
        )
    assert error_of(excinfo) == (
        "AccessDeniedException",
        f"User {analyst_arn} is PROJECT_CONTRIBUTOR of project {project['id']}; this needs "
        "PROJECT_OWNER",
    )
    datazone.delete_project_membership(
        domainIdentifier=domain["id"],
        projectIdentifier=project["id"],
        member={"userIdentifier": analyst_arn},
    )
    with pytest.raises(ClientError) as excinfo:
        analyst.get_environment_credentials(
            domainIdentifier=domain["id"], environmentIdentifier=tooling["id"]
        )
    assert error_of(excinfo)[0] == "AccessDeniedException"


def test_membership_errors(cloud: Cloud, domain: dict[str, Any], producer: AccountSetup) -> None:
    datazone = cloud.client("datazone")
    project = create_project(
        cloud, domain, create_profile(cloud, domain, producer, mode="ON_DEMAND")
    )
    target = {"domainIdentifier": domain["id"], "projectIdentifier": project["id"]}
    with pytest.raises(ClientError) as excinfo:
        datazone.create_project_membership(
            **target, member={"userIdentifier": "nosuchprofile"}, designation="PROJECT_OWNER"
        )
    assert error_of(excinfo) == (
        "ResourceNotFoundException",
        "User profile nosuchprofile not found",
    )
    with pytest.raises(ClientError) as excinfo:
        datazone.delete_project_membership(
            **target, member={"userIdentifier": project["createdBy"]}
        )
    assert error_of(excinfo) == (
        "ValidationException",
        f"User {project['createdBy']} is the last owner of project {project['id']}",
    )
    outsider = f"arn:aws:iam::{DOMAIN_ACCOUNT}:role/Outsider"
    datazone.create_user_profile(domainIdentifier=domain["id"], userIdentifier=outsider)
    with pytest.raises(ClientError) as excinfo:
        datazone.delete_project_membership(**target, member={"userIdentifier": outsider})
    code, message = error_of(excinfo)
    assert code == "ResourceNotFoundException"
    assert message.endswith(f"is not a member of project {project['id']}")


def test_credentials_need_an_active_environment(
    cloud: Cloud, domain: dict[str, Any], producer: AccountSetup
) -> None:
    datazone = cloud.client("datazone")
    profile = create_profile(cloud, domain, producer, mode="ON_DEMAND")
    project = ready_project(cloud, domain, profile)
    creating = datazone.create_environment(
        domainIdentifier=domain["id"],
        projectIdentifier=project["id"],
        name="Lakehouse Database",
        environmentConfigurationId=profile["environmentConfigurations"][1]["id"],
    )
    with pytest.raises(ClientError) as excinfo:
        datazone.get_environment_credentials(
            domainIdentifier=domain["id"], environmentIdentifier=creating["id"]
        )
    assert error_of(excinfo) == (
        "ValidationException",
        f"Environment {creating['id']} is CREATING: credentials exist only for an ACTIVE "
        "environment",
    )


# --- connections -------------------------------------------------------------------------


def test_tooling_environment_brings_the_project_connections(
    cloud: Cloud, domain: dict[str, Any], producer: AccountSetup
) -> None:
    datazone = cloud.client("datazone")
    project = ready_project(cloud, domain, create_profile(cloud, domain, producer))
    tooling = environment_named(cloud, domain["id"], project["id"], "Tooling")
    provisioned = resources(tooling)
    connections = datazone.list_connections(
        domainIdentifier=domain["id"], projectIdentifier=project["id"], sortBy="NAME"
    )["items"]
    assert [(c["name"], c["type"]) for c in connections] == [
        ("default.s3_shared", "S3"),
        ("project.athena", "ATHENA"),
        ("project.default_lakehouse", "IAM"),
    ]
    by_name = {c["name"]: c for c in connections}
    assert by_name["project.athena"]["props"] == {
        "athenaProperties": {"workgroupName": provisioned["workgroupName"]}
    }
    assert by_name["default.s3_shared"]["props"]["s3Properties"]["s3Uri"] == (
        f"{provisioned['s3BucketPath']}/shared/"
    )
    location = by_name["project.default_lakehouse"]["physicalEndpoints"][0]["awsLocation"]
    assert location == {
        "accessRole": provisioned["userRoleArn"],
        "awsAccountId": DOMAIN_ACCOUNT,
        "awsRegion": REGION,
    }
    athena = datazone.list_connections(
        domainIdentifier=domain["id"], projectIdentifier=project["id"], type="ATHENA"
    )["items"]
    assert [c["name"] for c in athena] == ["project.athena"]

    plain = datazone.get_connection(
        domainIdentifier=domain["id"], identifier=by_name["project.athena"]["connectionId"]
    )
    assert "connectionCredentials" not in plain
    assert plain["environmentUserRole"] == provisioned["userRoleArn"]
    secret = datazone.get_connection(
        domainIdentifier=domain["id"],
        identifier=by_name["project.athena"]["connectionId"],
        withSecret=True,
    )
    assert secret["connectionCredentials"]["accessKeyId"]
    with pytest.raises(ClientError) as excinfo:
        datazone.get_connection(domainIdentifier=domain["id"], identifier="nope")
    assert error_of(excinfo) == ("ResourceNotFoundException", "Connection nope not found")


def test_list_connections_needs_a_project(cloud: Cloud, domain: dict[str, Any]) -> None:
    with pytest.raises(ClientError) as excinfo:
        cloud.client("datazone").list_connections(domainIdentifier=domain["id"])
    assert error_of(excinfo) == (
        "ValidationException",
        "1 validation error detected: Value at 'projectIdentifier' failed to satisfy "
        "constraint: Member must not be null",
    )


# --- on-demand environments ---------------------------------------------------------------


def test_on_demand_environment_is_created_from_its_configuration(
    cloud: Cloud, domain: dict[str, Any], producer: AccountSetup
) -> None:
    datazone = cloud.client("datazone")
    profile = create_profile(cloud, domain, producer, mode="ON_DEMAND")
    project = ready_project(cloud, domain, profile)
    names = [
        e["name"]
        for e in datazone.list_environments(
            domainIdentifier=domain["id"], projectIdentifier=project["id"]
        )["items"]
    ]
    assert names == ["Tooling"]

    configuration = profile["environmentConfigurations"][1]
    created = datazone.create_environment(
        domainIdentifier=domain["id"],
        projectIdentifier=project["id"],
        name="Lakehouse Database",
        environmentConfigurationId=configuration["id"],
    )
    assert created["status"] == "CREATING"
    assert created["environmentConfigurationId"] == configuration["id"]
    active = poll(
        lambda: datazone.get_environment(domainIdentifier=domain["id"], identifier=created["id"]),
        lambda e: e["status"] != "CREATING",
        "environment",
    )
    assert active["status"] == "ACTIVE"
    assert resources(active)["glueDBName"] == f"glue_db_{created['id'][:8]}"

    with pytest.raises(ClientError) as excinfo:
        datazone.create_environment(
            domainIdentifier=domain["id"],
            projectIdentifier=project["id"],
            name="Lakehouse Database",
            environmentConfigurationId=configuration["id"],
        )
    assert error_of(excinfo) == (
        "ConflictException",
        f"Environment Lakehouse Database already exists in project {project['id']}",
    )


def test_create_environment_input_errors(
    cloud: Cloud, domain: dict[str, Any], producer: AccountSetup
) -> None:
    datazone = cloud.client("datazone")
    project = create_project(
        cloud, domain, create_profile(cloud, domain, producer, mode="ON_DEMAND")
    )
    base = {"domainIdentifier": domain["id"], "projectIdentifier": project["id"], "name": "x"}
    with pytest.raises(ClientError) as excinfo:
        datazone.create_environment(
            **base, environmentBlueprintIdentifier=producer.blueprints["DataLake"]
        )
    assert error_of(excinfo) == (
        "ValidationException",
        f"environmentBlueprintIdentifier is only valid for V1 domains; domain {domain['id']} is "
        "V2: use environmentConfigurationId",
    )
    with pytest.raises(ClientError) as excinfo:
        datazone.create_environment(**base, environmentConfigurationId="nope")
    code, message = error_of(excinfo)
    assert code == "ResourceNotFoundException"
    assert message.endswith("environment configuration nope not found")


# --- admin project ------------------------------------------------------------------------


def test_tooling_in_an_idc_domain_creates_the_admin_project(cloud: Cloud) -> None:
    # The domain account's IAM Identity Center instance (CreateDomain checks it exists).
    instance = cloud.client("sso-admin").list_instances()["Instances"][0]["InstanceArn"]
    domain = create_domain(
        cloud,
        sso={"type": "IAM_IDC", "userAssignment": "AUTOMATIC", "idcInstanceArn": instance},
    )
    enable_blueprints(cloud, domain, names=("Tooling",))
    projects = cloud.client("datazone").list_projects(domainIdentifier=domain["id"])
    assert [p["name"] for p in projects["items"]] == [f"admin-{DOMAIN_ACCOUNT}"]


def test_iam_domain_has_no_admin_project(cloud: Cloud, domain: dict[str, Any]) -> None:
    enable_blueprints(cloud, domain, names=("Tooling",))
    assert cloud.client("datazone").list_projects(domainIdentifier=domain["id"])["items"] == []


def _trust_base_account() -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:aws:iam::{DOMAIN_ACCOUNT}:root"},
                    "Action": "sts:AssumeRole",
                }
            ],
        }
    )


def _session_of(cloud: Cloud, role_arn: str) -> boto3.Session:
    credentials = cloud.client("sts").assume_role(RoleArn=role_arn, RoleSessionName="analyst")[
        "Credentials"
    ]
    return credentials_session(credentials)
