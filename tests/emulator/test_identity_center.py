"""IAM Identity Center domains, driven with plain boto3 as AWS documents them (issue 15.1):
`CreateDomain singleSignOn {type: IAM_IDC, userAssignment, idcInstanceArn}` naming an
sso-admin instance, SSO user profiles of identity store users, group profiles, and project
memberships by `userIdentifier` / `groupIdentifier`."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.emulator.datazone_support import create_domain, identity_center
from tests.support import Cloud


def idc_domain(cloud: Cloud, arn: str, assignment: str, name: str = "idc") -> dict[str, Any]:
    return create_domain(
        cloud, name, sso={"type": "IAM_IDC", "userAssignment": assignment, "idcInstanceArn": arn}
    )


def members(cloud: Cloud, domain_id: str, project_id: str) -> list[dict[str, Any]]:
    return list(
        cloud.client("datazone").list_project_memberships(
            domainIdentifier=domain_id, projectIdentifier=project_id
        )["members"]
    )


def test_users_and_groups_of_identity_center_become_project_members(cloud: Cloud) -> None:
    arn, user, group = identity_center(cloud)
    domain = idc_domain(cloud, arn, "AUTOMATIC")
    assert domain["singleSignOn"] == {
        "type": "IAM_IDC",
        "userAssignment": "AUTOMATIC",
        "idcInstanceArn": arn,
    }
    datazone = cloud.client("datazone")
    project = datazone.create_project(domainIdentifier=domain["id"], name="sales")
    for member, designation in (
        ({"userIdentifier": user}, "PROJECT_CONTRIBUTOR"),
        ({"groupIdentifier": group}, "PROJECT_CATALOG_VIEWER"),
    ):
        datazone.create_project_membership(
            domainIdentifier=domain["id"],
            projectIdentifier=project["id"],
            member=member,
            designation=designation,
        )
    profile = datazone.get_user_profile(domainIdentifier=domain["id"], userIdentifier=user)
    assert (profile["type"], profile["details"]) == (
        "SSO",
        {"sso": {"username": "ana", "firstName": "Ana", "lastName": "Silva"}},
    )
    group_profile = datazone.get_group_profile(domainIdentifier=domain["id"], groupIdentifier=group)
    assert group_profile["groupName"] == "analysts"
    listed = {
        (next(iter(m["memberDetails"])), m["designation"])
        for m in members(cloud, domain["id"], project["id"])
    }
    assert listed == {
        ("user", "PROJECT_OWNER"),
        ("user", "PROJECT_CONTRIBUTOR"),
        ("group", "PROJECT_CATALOG_VIEWER"),
    }
    ids = {
        m["memberDetails"].get("group", {}).get("groupId")
        for m in members(cloud, domain["id"], project["id"])
    }
    assert group_profile["id"] in ids
    datazone.delete_project_membership(
        domainIdentifier=domain["id"],
        projectIdentifier=project["id"],
        member={"userIdentifier": user},
    )
    assert len(members(cloud, domain["id"], project["id"])) == 2


def test_manual_assignment_takes_only_users_given_a_profile(cloud: Cloud) -> None:
    arn, user, _ = identity_center(cloud)
    domain = idc_domain(cloud, arn, "MANUAL")
    datazone = cloud.client("datazone")
    project = datazone.create_project(domainIdentifier=domain["id"], name="sales")
    add = {
        "domainIdentifier": domain["id"],
        "projectIdentifier": project["id"],
        "member": {"userIdentifier": user},
        "designation": "PROJECT_CONTRIBUTOR",
    }
    with pytest.raises(ClientError) as refused:
        datazone.create_project_membership(**add)
    assert refused.value.response["Error"]["Code"] == "ResourceNotFoundException"
    assert user in refused.value.response["Error"]["Message"]
    created = datazone.create_user_profile(
        domainIdentifier=domain["id"], userIdentifier=user, userType="SSO_USER"
    )
    assert created["type"] == "SSO"
    datazone.create_project_membership(**add)
    assert created["id"] in {
        m["memberDetails"].get("user", {}).get("userId")
        for m in members(cloud, domain["id"], project["id"])
    }


def test_an_identity_center_domain_needs_an_instance_that_exists(cloud: Cloud) -> None:
    with pytest.raises(ClientError) as refused:
        idc_domain(cloud, "arn:aws:sso:::instance/ssoins-0000000000000000", "AUTOMATIC")
    assert refused.value.response["Error"] == {
        "Code": "ValidationException",
        "Message": "singleSignOn.idcInstanceArn arn:aws:sso:::instance/ssoins-0000000000000000: "
        "no such IAM Identity Center instance",
    }


def test_an_iam_domain_has_no_group_members(cloud: Cloud) -> None:
    _, _, group = identity_center(cloud)
    domain = create_domain(cloud)
    datazone = cloud.client("datazone")
    project = datazone.create_project(domainIdentifier=domain["id"], name="sales")
    with pytest.raises(ClientError) as refused:
        datazone.create_project_membership(
            domainIdentifier=domain["id"],
            projectIdentifier=project["id"],
            member={"groupIdentifier": group},
            designation="PROJECT_CONTRIBUTOR",
        )
    assert refused.value.response["Error"]["Code"] == "ValidationException"
    assert "IAM Identity Center domain" in refused.value.response["Error"]["Message"]


def test_a_group_given_a_profile_becomes_a_member_of_a_manual_domain(cloud: Cloud) -> None:
    arn, _, group = identity_center(cloud)
    domain = idc_domain(cloud, arn, "MANUAL")
    datazone = cloud.client("datazone")
    project = datazone.create_project(domainIdentifier=domain["id"], name="sales")
    add = {
        "domainIdentifier": domain["id"],
        "projectIdentifier": project["id"],
        "member": {"groupIdentifier": group},
        "designation": "PROJECT_CONTRIBUTOR",
    }
    with pytest.raises(ClientError) as refused:
        datazone.create_project_membership(**add)
    assert refused.value.response["Error"]["Code"] == "ResourceNotFoundException"
    assert group in refused.value.response["Error"]["Message"]
    created = datazone.create_group_profile(domainIdentifier=domain["id"], groupIdentifier=group)
    assert created["groupName"] == "analysts"
    read = datazone.get_group_profile(domainIdentifier=domain["id"], groupIdentifier=created["id"])
    assert read["id"] == created["id"]
    datazone.create_project_membership(**add)
    assert created["id"] in {
        m["memberDetails"].get("group", {}).get("groupId")
        for m in members(cloud, domain["id"], project["id"])
    }
