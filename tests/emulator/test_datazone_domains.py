"""DataZone domains' remaining operations: listing domains, tags and user profile search
(the domain lifecycle itself is exercised by every other DataZone suite)."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from tests.emulator.datazone_support import create_domain
from tests.support import CONSUMER_ACCOUNT, DOMAIN_ACCOUNT, Cloud


def test_list_domains_shows_the_accounts_domains_by_status(cloud: Cloud) -> None:
    datazone = cloud.client("datazone")
    assert datazone.list_domains()["items"] == []
    domain = create_domain(cloud)
    [item] = datazone.list_domains()["items"]
    assert (item["id"], item["name"], item["status"], item["managedAccountId"]) == (
        domain["id"],
        "corp",
        "AVAILABLE",
        DOMAIN_ACCOUNT,
    )
    assert datazone.list_domains(status="CREATING")["items"] == []
    assert cloud.client("datazone", CONSUMER_ACCOUNT).list_domains()["items"] == []


def test_domain_tags_round_trip(cloud: Cloud) -> None:
    domain = create_domain(cloud)
    datazone = cloud.client("datazone")
    datazone.tag_resource(resourceArn=domain["arn"], tags={"owner": "data-team", "env": "test"})
    tags = datazone.list_tags_for_resource(resourceArn=domain["arn"])["tags"]
    assert tags == {"owner": "data-team", "env": "test"}
    datazone.untag_resource(resourceArn=domain["arn"], tagKeys=["env"])
    assert datazone.list_tags_for_resource(resourceArn=domain["arn"])["tags"] == {
        "owner": "data-team"
    }
    unknown = domain["arn"].replace(domain["id"], "dzd_nothing")
    with pytest.raises(ClientError) as excinfo:
        datazone.list_tags_for_resource(resourceArn=unknown)
    error = excinfo.value.response["Error"]
    assert (error["Code"], error["Message"]) == (
        "ResourceNotFoundException",
        f"Resource {unknown} not found",
    )


def test_search_user_profiles_finds_the_domain_creator(cloud: Cloud) -> None:
    domain = create_domain(cloud)
    datazone = cloud.client("datazone")
    creator = f"arn:aws:iam::{DOMAIN_ACCOUNT}:role/OrganizationAccountAccessRole"
    found = datazone.search_user_profiles(
        domainIdentifier=domain["id"],
        userType="DATAZONE_IAM_USER",
        searchText="OrganizationAccountAccessRole",
    )["items"]
    assert [item["details"]["iam"]["arn"] for item in found] == [creator]
    assert (
        datazone.search_user_profiles(
            domainIdentifier=domain["id"], userType="DATAZONE_IAM_USER", searchText="nobody"
        )["items"]
        == []
    )
