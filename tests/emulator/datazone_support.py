"""Builders for DataZone tests: roles, a V2 domain, RAM association, blueprints, profiles,
projects — each step done through boto3 the way research/workflow.md describes it, so
that the DataZone suites (governance, projects, catalog, subscriptions) share one setup.

Every builder polls like a real client would (the emulator passes every
asynchronous object through its in-progress status first) and gives up after a
bounded number of reads.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tests.support import CONSUMER_ACCOUNT, DOMAIN_ACCOUNT, REGION, Cloud, credentials_session

DATAZONE = "datazone.amazonaws.com"
MAX_POLLS = 50


def poll(read: Callable[[], Any], done: Callable[[Any], bool], what: str) -> Any:
    """Read until `done(value)`; fail the test after MAX_POLLS reads."""
    value = read()
    for _ in range(MAX_POLLS):
        if done(value):
            return value
        value = read()
    raise AssertionError(f"{what} did not settle: last read {value!r}")


def trust_policy(
    service: str = DATAZONE,
    source_account: str | None = DOMAIN_ACCOUNT,
    source_arn: str | None = None,
) -> str:
    """A service trust policy with the aws:SourceAccount / aws:SourceArn conditions."""
    statement: dict[str, Any] = {
        "Effect": "Allow",
        "Principal": {"Service": service},
        "Action": "sts:AssumeRole",
    }
    conditions: dict[str, Any] = {}
    if source_account:
        conditions["StringEquals"] = {"aws:SourceAccount": source_account}
    if source_arn:
        conditions["ArnEquals"] = {"aws:SourceArn": source_arn}
    if conditions:
        statement["Condition"] = conditions
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


def create_role(cloud: Cloud, account: str, name: str, policy: str | None = None) -> str:
    iam = cloud.client("iam", account)
    role = iam.create_role(RoleName=name, AssumeRolePolicyDocument=policy or trust_policy())
    return str(role["Role"]["Arn"])


def create_domain(
    cloud: Cloud, name: str = "corp", version: str = "V2", sso: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Domain roles and a domain in the domain account, polled until AVAILABLE."""
    execution = create_role(cloud, DOMAIN_ACCOUNT, f"{name}-DomainExecution")
    service = create_role(cloud, DOMAIN_ACCOUNT, f"{name}-DomainService")
    datazone = cloud.client("datazone", DOMAIN_ACCOUNT)
    params: dict[str, Any] = {
        "name": name,
        "domainExecutionRole": execution,
        "domainVersion": version,
        "singleSignOn": sso or {"type": "DISABLED"},
    }
    if version == "V2":
        params["serviceRole"] = service
    domain_id = datazone.create_domain(**params)["id"]
    return dict(
        poll(
            lambda: datazone.get_domain(identifier=domain_id),
            lambda d: d["status"] == "AVAILABLE",
            "domain",
        )
    )


def associate_account(
    cloud: Cloud,
    domain: dict[str, Any],
    account: str = CONSUMER_ACCOUNT,
    allow_external_principals: bool = True,
) -> None:
    """Share the domain with `account` through RAM, accept the invitation there if there is
    one (none inside the organization once RAM sharing with it is enabled), wait for
    ASSOCIATED."""
    ram = cloud.client("ram", DOMAIN_ACCOUNT)
    share_arn = ram.create_resource_share(
        name=f"DataZone-{domain['name']}-{domain['id']}",
        resourceArns=[domain["arn"]],
        principals=[account],
        permissionArns=[
            "arn:aws:ram::aws:permission/AWSRAMPermissionsAmazonDatazoneDomainExtendedServiceAccess"
        ],
        allowExternalPrincipals=allow_external_principals,
    )["resourceShare"]["resourceShareArn"]
    accept_share(cloud, share_arn, account)


def accept_share(cloud: Cloud, share_arn: str, account: str) -> None:
    member = cloud.client("ram", account)
    invitations = member.get_resource_share_invitations(resourceShareArns=[share_arn])[
        "resourceShareInvitations"
    ]
    if invitations:
        member.accept_resource_share_invitation(
            resourceShareInvitationArn=invitations[0]["resourceShareInvitationArn"]
        )
    ram = cloud.client("ram", DOMAIN_ACCOUNT)
    poll(
        lambda: ram.get_resource_share_associations(
            associationType="PRINCIPAL", resourceShareArns=[share_arn], principal=account
        )["resourceShareAssociations"],
        lambda items: bool(items) and items[0]["status"] == "ASSOCIATED",
        "RAM association",
    )


def blueprint_id(cloud: Cloud, domain_id: str, name: str, account: str = DOMAIN_ACCOUNT) -> str:
    items = cloud.client("datazone", account).list_environment_blueprints(
        domainIdentifier=domain_id, managed=True, name=name
    )["items"]
    assert len(items) == 1, items
    return str(items[0]["id"])


@dataclass
class AccountSetup:
    """What an account enabled for a domain: its roles, bucket and blueprint ids."""

    account: str
    provisioning_role: str
    manage_access_role: str
    bucket: str
    blueprints: dict[str, str] = field(default_factory=dict)


def enable_blueprints(
    cloud: Cloud,
    domain: dict[str, Any],
    account: str = DOMAIN_ACCOUNT,
    names: tuple[str, ...] = ("Tooling", "DataLake"),
    grant: bool = True,
) -> AccountSetup:
    """Roles, the Tooling S3 bucket, blueprint configurations and their policy grants, all
    made with `account`'s own credentials (research/workflow.md phases A and E)."""
    suffix = domain["id"].replace("dzd_", "").replace("dzd-", "")
    provisioning = create_role(cloud, account, f"AmazonSageMakerProvisioning-{DOMAIN_ACCOUNT}")
    manage_access = create_role(
        cloud,
        account,
        f"AmazonSageMakerManageAccess-{REGION}-{domain['id']}",
        trust_policy(source_arn=domain["arn"]),
    )
    bucket = f"amazon-sagemaker-{account}-{REGION}-{suffix}"
    cloud.client("s3", account).create_bucket(Bucket=bucket)
    setup = AccountSetup(account, provisioning, manage_access, bucket)
    datazone = cloud.client("datazone", account)
    for name in names:
        blueprint = blueprint_id(cloud, domain["id"], name, account)
        setup.blueprints[name] = blueprint
        datazone.put_environment_blueprint_configuration(
            domainIdentifier=domain["id"],
            environmentBlueprintIdentifier=blueprint,
            enabledRegions=[REGION],
            provisioningRoleArn=provisioning,
            manageAccessRoleArn=manage_access,
            regionalParameters={REGION: {"S3Location": f"s3://{bucket}/projects"}},
        )
        if grant:
            grant_blueprint(cloud, domain, account, blueprint)
    return setup


def grant_blueprint(cloud: Cloud, domain: dict[str, Any], account: str, blueprint: str) -> str:
    response = cloud.client("datazone", account).add_policy_grant(
        domainIdentifier=domain["id"],
        entityType="ENVIRONMENT_BLUEPRINT_CONFIGURATION",
        entityIdentifier=f"{account}:{blueprint}",
        policyType="CREATE_ENVIRONMENT_FROM_BLUEPRINT",
        detail={"createEnvironmentFromBlueprint": {}},
        principal={
            "project": {
                "projectDesignation": "CONTRIBUTOR",
                "projectGrantFilter": {
                    "domainUnitFilter": {
                        "domainUnit": domain["rootDomainUnitId"],
                        "includeChildDomainUnits": True,
                    }
                },
            }
        },
    )
    return str(response["grantId"])


def create_profile(
    cloud: Cloud,
    domain: dict[str, Any],
    setup: AccountSetup,
    name: str = "producer",
    mode: str = "ON_CREATE",
    grant: bool = True,
    glue_db: str | None = None,
) -> dict[str, Any]:
    """A project profile with Tooling then Lakehouse Database in `setup.account`, and the
    grant that lets every user create projects from it."""
    datazone = cloud.client("datazone", DOMAIN_ACCOUNT)
    lakehouse_overrides = [{"name": "glueDbName", "value": glue_db, "isEditable": True}]
    profile = datazone.create_project_profile(
        domainIdentifier=domain["id"],
        name=name,
        status="ENABLED",
        environmentConfigurations=[
            {
                "name": "Tooling",
                "environmentBlueprintId": setup.blueprints["Tooling"],
                "deploymentMode": "ON_CREATE",
                "deploymentOrder": 0,
                "awsAccount": {"awsAccountId": setup.account},
                "awsRegion": {"regionName": REGION},
                "configurationParameters": {
                    "parameterOverrides": [
                        {"name": "enableSpaces", "value": "false", "isEditable": False}
                    ]
                },
            },
            {
                "name": "Lakehouse Database",
                "environmentBlueprintId": setup.blueprints["DataLake"],
                "deploymentMode": mode,
                "deploymentOrder": 1,
                "awsAccount": {"awsAccountId": setup.account},
                "awsRegion": {"regionName": REGION},
                "configurationParameters": {
                    "parameterOverrides": lakehouse_overrides if glue_db else []
                },
            },
        ],
    )
    if grant:
        grant_profiles(cloud, domain, [profile["id"]])
    return dict(profile)


def grant_profiles(cloud: Cloud, domain: dict[str, Any], profile_ids: list[str]) -> str:
    response = cloud.client("datazone", DOMAIN_ACCOUNT).add_policy_grant(
        domainIdentifier=domain["id"],
        entityType="DOMAIN_UNIT",
        entityIdentifier=domain["rootDomainUnitId"],
        policyType="CREATE_PROJECT_FROM_PROJECT_PROFILE",
        detail={
            "createProjectFromProjectProfile": {
                "projectProfiles": profile_ids,
                "includeChildDomainUnits": True,
            }
        },
        principal={"user": {"allUsersGrantFilter": {}}},
    )
    return str(response["grantId"])


def wait_project(cloud: Cloud, domain_id: str, project_id: str) -> dict[str, Any]:
    """Poll GetProject until its environment deployment has settled."""
    datazone = cloud.client("datazone", DOMAIN_ACCOUNT)
    return dict(
        poll(
            lambda: datazone.get_project(domainIdentifier=domain_id, identifier=project_id),
            lambda p: (
                p["environmentDeploymentDetails"]["overallDeploymentStatus"]
                not in ("PENDING_DEPLOYMENT", "IN_PROGRESS")
            ),
            "project deployment",
        )
    )


def environment_named(cloud: Cloud, domain_id: str, project_id: str, name: str) -> dict[str, Any]:
    datazone = cloud.client("datazone", DOMAIN_ACCOUNT)
    items = datazone.list_environments(
        domainIdentifier=domain_id, projectIdentifier=project_id, name=name
    )["items"]
    assert len(items) == 1, items
    return dict(datazone.get_environment(domainIdentifier=domain_id, identifier=items[0]["id"]))


def create_project(
    cloud: Cloud, domain: dict[str, Any], profile: dict[str, Any], name: str = "sales", **extra: Any
) -> dict[str, Any]:
    """A project from `profile`, created by the domain account's admin principal."""
    return dict(
        cloud.client("datazone", DOMAIN_ACCOUNT).create_project(
            domainIdentifier=domain["id"], name=name, projectProfileId=profile["id"], **extra
        )
    )


def ready_project(
    cloud: Cloud, domain: dict[str, Any], profile: dict[str, Any], name: str = "sales", **extra: Any
) -> dict[str, Any]:
    """A project whose environments have all deployed (SUCCESSFUL), as GetProject shows it."""
    project = create_project(cloud, domain, profile, name, **extra)
    settled = wait_project(cloud, domain["id"], project["id"])
    status = settled["environmentDeploymentDetails"]["overallDeploymentStatus"]
    assert status == "SUCCESSFUL", settled["environmentDeploymentDetails"]
    return settled


#: What a DataZone user needs in IAM to call DataZone at all (the Amazon DataZone User
#: Guide's identity-based policies): DataZone's own memberships decide the rest.
DATAZONE_USER_POLICY = "arn:aws:iam::aws:policy/AmazonDataZoneFullUserAccess"


def user_session(cloud: Cloud, name: str, account: str = DOMAIN_ACCOUNT) -> tuple[str, Any]:
    """A new IAM role `name` in `account` and a boto3 session acting as it: a second
    DataZone user, distinct from the admin principal that creates projects."""

    trust = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
                    "Action": "sts:AssumeRole",
                }
            ],
        }
    )
    arn = create_role(cloud, account, name, trust)
    cloud.client("iam", account).attach_role_policy(RoleName=name, PolicyArn=DATAZONE_USER_POLICY)
    credentials = cloud.client("sts", account).assume_role(RoleArn=arn, RoleSessionName=name)[
        "Credentials"
    ]
    session = credentials_session(credentials)
    return arn, session


def member_client(
    cloud: Cloud, domain: dict[str, Any], project: dict[str, Any], name: str, designation: str
) -> tuple[str, Any]:
    """A DataZone client of a new user who is `designation` of `project`."""
    arn, session = user_session(cloud, name)
    cloud.client("datazone", DOMAIN_ACCOUNT).create_project_membership(
        domainIdentifier=domain["id"],
        projectIdentifier=project["id"],
        member={"userIdentifier": arn},
        designation=designation,
    )
    return arn, session.client("datazone", endpoint_url=cloud.url)


def identity_center(cloud: Cloud) -> tuple[str, str, str]:
    """The domain account's instance: (instance ARN, user ana's id, group analysts' id)."""
    instance = cloud.client("sso-admin", DOMAIN_ACCOUNT).list_instances()["Instances"][0]
    store = cloud.client("identitystore", DOMAIN_ACCOUNT)
    user = store.create_user(
        IdentityStoreId=instance["IdentityStoreId"],
        UserName="ana",
        DisplayName="Ana Silva",
        Name={"GivenName": "Ana", "FamilyName": "Silva"},
    )["UserId"]
    group = store.create_group(IdentityStoreId=instance["IdentityStoreId"], DisplayName="analysts")[
        "GroupId"
    ]
    return instance["InstanceArn"], user, group
