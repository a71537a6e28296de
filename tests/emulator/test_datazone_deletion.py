"""DataZone deletion paths: environments, projects and domains take their stacks (and the
roles, workgroups, repositories and databases in them) with them — or report why not."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.emulator.datazone_support import (
    AccountSetup,
    associate_account,
    create_domain,
    create_profile,
    enable_blueprints,
    environment_named,
    member_client,
    poll,
    ready_project,
)
from tests.support import CONSUMER_ACCOUNT, DOMAIN_ACCOUNT, Cloud

POLICY = "arn:aws:iam::aws:policy/ReadOnlyAccess"


def error_of(excinfo: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    error = excinfo.value.response["Error"]
    return error["Code"], error["Message"]


@pytest.fixture
def domain(cloud: Cloud) -> dict[str, Any]:
    return create_domain(cloud)


@pytest.fixture
def producer(cloud: Cloud, domain: dict[str, Any]) -> AccountSetup:
    return enable_blueprints(cloud, domain)


@pytest.fixture
def project(cloud: Cloud, domain: dict[str, Any], producer: AccountSetup) -> dict[str, Any]:
    return ready_project(cloud, domain, create_profile(cloud, domain, producer, glue_db="sales_db"))


def resources(environment: dict[str, Any]) -> dict[str, str]:
    return {r["name"]: r["value"] for r in environment.get("provisionedResources", [])}


def live_stacks(cloud: Cloud, account: str) -> dict[str, str]:
    summaries = cloud.client("cloudformation", account).list_stacks()["StackSummaries"]
    return {
        s["StackName"]: s["StackStatus"] for s in summaries if s["StackStatus"] != "DELETE_COMPLETE"
    }


def datazone_children(cloud: Cloud) -> dict[str, list[str]]:
    """The domain's non-empty stores of child entities, from the emulator inventory."""
    (domain,) = cloud.inventory()[DOMAIN_ACCOUNT]["datazone"]
    children: dict[str, list[str]] = domain["children"]
    return children


def gone(read: Any) -> bool:
    """True once `read()` raises ResourceNotFoundException."""
    try:
        read()
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "ResourceNotFoundException":
            return True
        raise
    return False


def wait_gone(read: Any, what: str) -> None:
    poll(lambda: gone(read), bool, what)


def pin_project_role(cloud: Cloud, tooling: dict[str, Any], account: str = DOMAIN_ACCOUNT) -> str:
    """Attach a policy to the project role outside its stack: the stack can no longer
    delete the role (IAM DeleteConflict), as happens when someone adds to a role."""
    role = resources(tooling)["userRoleName"]
    cloud.client("iam", account).attach_role_policy(RoleName=role, PolicyArn=POLICY)
    return role


# --- environments ----------------------------------------------------------------------


def test_deleting_an_environment_deletes_its_stack_and_resources(
    cloud: Cloud, domain: dict[str, Any], producer: AccountSetup, project: dict[str, Any]
) -> None:
    datazone = cloud.client("datazone")
    tooling = environment_named(cloud, domain["id"], project["id"], "Tooling")
    lakehouse = environment_named(cloud, domain["id"], project["id"], "Lakehouse Database")
    provisioned = resources(tooling)

    datazone.delete_environment(domainIdentifier=domain["id"], identifier=lakehouse["id"])
    deleting = datazone.get_environment(domainIdentifier=domain["id"], identifier=lakehouse["id"])
    assert deleting["status"] == "DELETING"
    assert deleting["lastDeployment"]["deploymentType"] == "DELETE"
    wait_gone(
        lambda: datazone.get_environment(domainIdentifier=domain["id"], identifier=lakehouse["id"]),
        "lakehouse environment",
    )
    with pytest.raises(ClientError) as excinfo:
        cloud.client("glue").get_database(Name="sales_db")
    assert excinfo.value.response["Error"]["Code"] == "EntityNotFoundException"
    assert "subscription_targets" not in datazone_children(cloud)
    assert len(datazone_children(cloud)["connections"]) == 3

    datazone.delete_environment(domainIdentifier=domain["id"], identifier=tooling["id"])
    wait_gone(
        lambda: datazone.get_environment(domainIdentifier=domain["id"], identifier=tooling["id"]),
        "tooling environment",
    )
    assert live_stacks(cloud, DOMAIN_ACCOUNT) == {}
    with pytest.raises(ClientError):
        cloud.client("iam").get_role(RoleName=provisioned["userRoleName"])
    workgroups = [w["Name"] for w in cloud.client("athena").list_work_groups()["WorkGroups"]]
    assert provisioned["workgroupName"] not in workgroups
    repositories = cloud.client("codecommit").list_repositories()["repositories"]
    assert repositories == []
    assert "connections" not in datazone_children(cloud)
    assert "environments" not in datazone_children(cloud)
    # AWS does not remove project data from the customer's bucket.
    objects = cloud.client("s3").list_objects_v2(Bucket=producer.bucket)["Contents"]
    assert [o["Key"] for o in objects] == [f"projects/{domain['id']}/{project['id']}/shared/"]


def test_environment_whose_stack_cannot_be_deleted_is_delete_failed(
    cloud: Cloud, domain: dict[str, Any], project: dict[str, Any]
) -> None:
    datazone = cloud.client("datazone")
    tooling = environment_named(cloud, domain["id"], project["id"], "Tooling")
    role = pin_project_role(cloud, tooling)
    datazone.delete_environment(domainIdentifier=domain["id"], identifier=tooling["id"])
    failed = poll(
        lambda: datazone.get_environment(domainIdentifier=domain["id"], identifier=tooling["id"]),
        lambda e: e["status"] != "DELETING",
        "environment deletion",
    )
    stack = f"DataZone-Env-{tooling['id']}"
    assert failed["status"] == "DELETE_FAILED"
    assert failed["lastDeployment"]["deploymentStatus"] == "FAILED"
    assert failed["lastDeployment"]["failureReason"] == {
        "code": "STACK_DELETE_FAILED",
        "message": f"CloudFormation stack {stack} could not be deleted: "
        "The following resource(s) failed to delete: [UserRole].",
    }
    assert live_stacks(cloud, DOMAIN_ACCOUNT)[stack] == "DELETE_FAILED"

    # Once the foreign policy is gone, deleting again succeeds.
    cloud.client("iam").detach_role_policy(RoleName=role, PolicyArn=POLICY)
    datazone.delete_environment(domainIdentifier=domain["id"], identifier=tooling["id"])
    wait_gone(
        lambda: datazone.get_environment(domainIdentifier=domain["id"], identifier=tooling["id"]),
        "tooling environment",
    )
    assert stack not in live_stacks(cloud, DOMAIN_ACCOUNT)


def test_only_builders_delete_environments(
    cloud: Cloud, domain: dict[str, Any], project: dict[str, Any]
) -> None:
    tooling = environment_named(cloud, domain["id"], project["id"], "Tooling")
    viewer_arn, viewer = member_client(cloud, domain, project, "Viewer", "PROJECT_CATALOG_VIEWER")
    with pytest.raises(ClientError) as excinfo:
        viewer.delete_environment(domainIdentifier=domain["id"], identifier=tooling["id"])
    assert error_of(excinfo) == (
        "AccessDeniedException",
        f"User {viewer_arn} is PROJECT_CATALOG_VIEWER of project {project['id']}; this needs "
        "PROJECT_CONTRIBUTOR or PROJECT_OWNER",
    )
    with pytest.raises(ClientError) as excinfo:
        cloud.client("datazone").delete_environment(
            domainIdentifier=domain["id"], identifier="nope"
        )
    assert error_of(excinfo) == ("ResourceNotFoundException", "Environment nope not found")


# --- projects -----------------------------------------------------------------------------


def test_project_with_environments_needs_skip_deletion_check(
    cloud: Cloud, domain: dict[str, Any], project: dict[str, Any]
) -> None:
    with pytest.raises(ClientError) as excinfo:
        cloud.client("datazone").delete_project(
            domainIdentifier=domain["id"], identifier=project["id"]
        )
    assert error_of(excinfo) == (
        "ConflictException",
        f"Project {project['id']} still has 2 environment(s): delete them first, or use "
        "skipDeletionCheck to delete the project's child entities with it",
    )


def test_project_deletion_with_skip_deletion_check_removes_everything(
    cloud: Cloud, domain: dict[str, Any], producer: AccountSetup, project: dict[str, Any]
) -> None:
    datazone = cloud.client("datazone")
    profile_id = project["projectProfileId"]
    with pytest.raises(ClientError) as excinfo:
        datazone.delete_project_profile(domainIdentifier=domain["id"], identifier=profile_id)
    assert error_of(excinfo) == (
        "ValidationException",
        f"Project profile {profile_id} is used by projects sales; delete them first",
    )

    datazone.delete_project(
        domainIdentifier=domain["id"], identifier=project["id"], skipDeletionCheck=True
    )
    deleting = datazone.get_project(domainIdentifier=domain["id"], identifier=project["id"])
    assert deleting["projectStatus"] == "DELETING"
    wait_gone(
        lambda: datazone.get_project(domainIdentifier=domain["id"], identifier=project["id"]),
        "project",
    )
    with pytest.raises(ClientError) as excinfo:
        datazone.get_project(domainIdentifier=domain["id"], identifier=project["id"])
    assert error_of(excinfo) == ("ResourceNotFoundException", f"Project {project['id']} not found")
    assert live_stacks(cloud, DOMAIN_ACCOUNT) == {}
    assert cloud.client("glue").get_databases()["DatabaseList"] == []
    roles = [r["RoleName"] for r in cloud.client("iam").list_roles()["Roles"]]
    assert not [r for r in roles if r.startswith("datazone_usr_role_")]

    datazone.delete_project_profile(domainIdentifier=domain["id"], identifier=profile_id)


def test_project_deletion_is_for_owners(
    cloud: Cloud, domain: dict[str, Any], project: dict[str, Any]
) -> None:
    arn, contributor = member_client(cloud, domain, project, "Builder", "PROJECT_CONTRIBUTOR")
    with pytest.raises(ClientError) as excinfo:
        contributor.delete_project(
            domainIdentifier=domain["id"], identifier=project["id"], skipDeletionCheck=True
        )
    assert error_of(excinfo) == (
        "AccessDeniedException",
        f"User {arn} is PROJECT_CONTRIBUTOR of project {project['id']}; this needs PROJECT_OWNER",
    )
    status = cloud.client("datazone").get_project(
        domainIdentifier=domain["id"], identifier=project["id"]
    )["projectStatus"]
    assert status == "ACTIVE"


def test_project_whose_stack_cannot_be_deleted_is_delete_failed(
    cloud: Cloud, domain: dict[str, Any], project: dict[str, Any]
) -> None:
    datazone = cloud.client("datazone")
    tooling = environment_named(cloud, domain["id"], project["id"], "Tooling")
    role = pin_project_role(cloud, tooling)
    datazone.delete_project(
        domainIdentifier=domain["id"], identifier=project["id"], skipDeletionCheck=True
    )
    failed = poll(
        lambda: datazone.get_project(domainIdentifier=domain["id"], identifier=project["id"]),
        lambda p: p["projectStatus"] != "DELETING",
        "project deletion",
    )
    assert failed["projectStatus"] == "DELETE_FAILED"
    assert failed["failureReasons"] == [
        {
            "code": "ENVIRONMENT_DELETE_FAILED",
            "message": f"Environment {tooling['id']} (Tooling): CloudFormation stack "
            f"DataZone-Env-{tooling['id']} could not be deleted: The following resource(s) "
            "failed to delete: [UserRole].",
        }
    ]
    # The other environment went; retrying after the fix finishes the job.
    environments = datazone.list_environments(
        domainIdentifier=domain["id"], projectIdentifier=project["id"]
    )["items"]
    assert [(e["name"], e["status"]) for e in environments] == [("Tooling", "DELETE_FAILED")]
    cloud.client("iam").detach_role_policy(RoleName=role, PolicyArn=POLICY)
    datazone.delete_project(
        domainIdentifier=domain["id"], identifier=project["id"], skipDeletionCheck=True
    )
    wait_gone(
        lambda: datazone.get_project(domainIdentifier=domain["id"], identifier=project["id"]),
        "project",
    )
    assert live_stacks(cloud, DOMAIN_ACCOUNT) == {}


# --- domains --------------------------------------------------------------------------------


@pytest.fixture
def two_accounts(cloud: Cloud, domain: dict[str, Any], producer: AccountSetup) -> list[str]:
    """A producer project in the domain account and a consumer project in the other one."""
    associate_account(cloud, domain)
    consumer = enable_blueprints(cloud, domain, CONSUMER_ACCOUNT)
    producer_project = ready_project(cloud, domain, create_profile(cloud, domain, producer))
    consumer_profile = create_profile(cloud, domain, consumer, name="consumer")
    consumer_project = ready_project(cloud, domain, consumer_profile, name="analytics")
    assert live_stacks(cloud, DOMAIN_ACCOUNT) and live_stacks(cloud, CONSUMER_ACCOUNT)
    return [producer_project["id"], consumer_project["id"]]


def test_domain_with_projects_needs_cascade(
    cloud: Cloud, domain: dict[str, Any], project: dict[str, Any]
) -> None:
    with pytest.raises(ClientError) as excinfo:
        cloud.client("datazone").delete_domain(identifier=domain["id"])
    assert error_of(excinfo) == (
        "ConflictException",
        f"Domain {domain['id']} has 1 project(s); delete them first or use cascadeDelete",
    )


def test_cascade_delete_removes_projects_and_stacks_in_every_account(
    cloud: Cloud, domain: dict[str, Any], two_accounts: list[str]
) -> None:
    datazone = cloud.client("datazone")
    assert datazone.delete_domain(identifier=domain["id"], cascadeDelete=True)["status"] == (
        "DELETING"
    )
    first = datazone.get_domain(identifier=domain["id"])
    assert first["status"] == "DELETING"
    progress = first["deleteProgress"]["successfullyDeletedProjectCount"]
    assert progress == len(two_accounts)
    wait_gone(lambda: datazone.get_domain(identifier=domain["id"]), "domain")

    assert live_stacks(cloud, DOMAIN_ACCOUNT) == {}
    assert live_stacks(cloud, CONSUMER_ACCOUNT) == {}
    for account in (DOMAIN_ACCOUNT, CONSUMER_ACCOUNT):
        roles = [r["RoleName"] for r in cloud.client("iam", account).list_roles()["Roles"]]
        assert not [r for r in roles if r.startswith("datazone_usr_role_")]
        assert cloud.client("glue", account).get_databases()["DatabaseList"] == []
    with pytest.raises(ClientError) as excinfo:
        cloud.client("datazone", CONSUMER_ACCOUNT).list_environment_blueprint_configurations(
            domainIdentifier=domain["id"]
        )
    assert error_of(excinfo) == ("ResourceNotFoundException", f"Domain {domain['id']} not found")


def test_skip_deletion_check_leaves_orphaned_stacks(
    cloud: Cloud, domain: dict[str, Any], two_accounts: list[str]
) -> None:
    datazone = cloud.client("datazone")
    before = {a: live_stacks(cloud, a) for a in (DOMAIN_ACCOUNT, CONSUMER_ACCOUNT)}
    datazone.delete_domain(identifier=domain["id"], skipDeletionCheck=True)
    wait_gone(lambda: datazone.get_domain(identifier=domain["id"]), "domain")
    # AWS: skipDeletionCheck "might leave orphaned resources" — the stacks stay.
    assert {a: live_stacks(cloud, a) for a in (DOMAIN_ACCOUNT, CONSUMER_ACCOUNT)} == before


def test_cascade_with_an_undeletable_stack_is_deletion_failed(
    cloud: Cloud, domain: dict[str, Any], project: dict[str, Any]
) -> None:
    datazone = cloud.client("datazone")
    tooling = environment_named(cloud, domain["id"], project["id"], "Tooling")
    pin_project_role(cloud, tooling)
    datazone.delete_domain(identifier=domain["id"], cascadeDelete=True)
    failed = poll(
        lambda: datazone.get_domain(identifier=domain["id"]),
        lambda d: d["status"] != "DELETING",
        "domain deletion",
    )
    assert failed["status"] == "DELETION_FAILED"
    assert failed["deleteProgress"] == {"successfullyDeletedProjectCount": 0}
    assert failed["failureReasons"] == [
        {
            "id": project["id"],
            "message": f"Environment {tooling['id']} (Tooling): CloudFormation stack "
            f"DataZone-Env-{tooling['id']} could not be deleted: The following resource(s) "
            "failed to delete: [UserRole].",
        }
    ]
    assert (
        datazone.get_project(domainIdentifier=domain["id"], identifier=project["id"])[
            "projectStatus"
        ]
        == "DELETE_FAILED"
    )
